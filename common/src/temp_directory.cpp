#include "wb/temp_directory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "wb/error.hpp"

namespace wb {
namespace {

// A fixed table a signal handler can read: a path is published by setting `used` last.
struct Slot {
    std::atomic<bool> used{false};
    std::atomic<pid_t> owner{0};
    char path[512]{};
};
std::array<Slot, 16> g_slots;

int claim_slot(const std::string& path) {
    if (path.size() >= sizeof(Slot::path)) throw std::length_error("temp directory path too long");
    for (std::size_t i = 0; i < g_slots.size(); ++i) {
        bool expected = false;
        if (g_slots[i].used.load() || !g_slots[i].used.compare_exchange_strong(expected, true)) continue;
        // Not yet visible to the handler until owner is set: the handler checks both.
        std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
        g_slots[i].owner.store(::getpid());
        return static_cast<int>(i);
    }
    throw std::length_error("more than 16 temp directories at once");
}

// getdents64 records (the kernel's struct linux_dirent64): u64 ino, s64 off, u16 reclen,
// u8 type, then the NUL-terminated name.
constexpr std::size_t kRecLenOffset = 16;
constexpr std::size_t kNameOffset = 19;

void remove_flat(const char* path) noexcept {
    const int dir = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        alignas(8) char buf[4096];
        for (;;) {
            const long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
            if (n <= 0) break;
            for (long off = 0; off < n;) {
                unsigned short reclen = 0;
                std::memcpy(&reclen, buf + off + kRecLenOffset, sizeof reclen);
                const char* name = buf + off + kNameOffset;
                if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))) {
                    ::unlinkat(dir, name, 0);
                }
                off += reclen;
            }
        }
        ::close(dir);
    }
    ::rmdir(path);
}

}  // namespace

TempDirectory::TempDirectory(const std::string& prefix) : creator_(::getpid()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp " + pattern);
    path_ = pattern;
    try {
        slot_ = claim_slot(pattern);
    } catch (...) {
        ::rmdir(pattern.c_str());
        throw;
    }
}

TempDirectory::~TempDirectory() {
    if (::getpid() != creator_) return;  // a forked copy: the creator removes it
    g_slots[static_cast<std::size_t>(slot_)].owner.store(0);
    g_slots[static_cast<std::size_t>(slot_)].used.store(false);
    std::error_code ignored;  // a destructor cannot report; the harness notices leftovers
    std::filesystem::remove_all(path_, ignored);
}

namespace detail {
void remove_temp_directories_from_signal() noexcept {
    const pid_t me = ::getpid();
    for (auto& slot : g_slots) {
        if (slot.used.load() && slot.owner.load() == me) remove_flat(slot.path);
    }
}
}  // namespace detail

}  // namespace wb
