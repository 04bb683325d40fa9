#include "internal.hpp"
#include "wb/temp_directory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <exception>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "wb/error.hpp"
#include "wb/process.hpp"

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

// Removes directories `<prefix><pid>-XXXXXX` of earlier runs that were SIGKILLed (nothing could
// remove them then): their creator is gone (kill(pid, 0) says ESRCH) and nobody holds the lock
// the creator (and the children it forked) held on the directory for as long as they used it.
// Both must hold, so a pid reused by another process, or a creator in another pid namespace
// sharing this TMPDIR, only delays the sweep; a directory in use is never removed.
void sweep_stale(const std::string& parent, const std::string& prefix) noexcept {
    DIR* d = ::opendir(parent.c_str());
    if (d == nullptr) return;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string rest = name.substr(prefix.size());
        const auto dash = rest.find('-');
        if (dash == std::string::npos || dash == 0 || rest.find_first_not_of("0123456789") != dash) continue;
        const long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
        if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
        const std::string path = parent + "/" + name;
        const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat st {};
        if (::fstat(fd, &st) == 0 && st.st_uid == ::geteuid() && ::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            std::error_code ignored;
            std::filesystem::remove_all(path, ignored);
        }
        ::close(fd);
    }
    ::closedir(d);
}

}  // namespace

TempDirectory::TempDirectory(const std::string& prefix)
    : creator_(::getpid()), uncaught_at_creation_(std::uncaught_exceptions()) {
    const char* tmp = std::getenv("TMPDIR");
    const std::string parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    sweep_stale(parent, prefix);
    std::string pattern = parent + "/" + prefix + std::to_string(creator_) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp " + pattern);
    path_ = pattern;
    try {
        // Held until this process and the children it forks have all let go of the descriptor:
        // the sign, for a later run's sweep, that the directory is in use.
        lock_fd_ = check(::open(pattern.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open (temp directory)");
        check(::flock(lock_fd_, LOCK_EX), "flock (temp directory)");
        slot_ = claim_slot(pattern);
    } catch (...) {
        if (lock_fd_ >= 0) ::close(lock_fd_);
        ::rmdir(pattern.c_str());
        throw;
    }
}

TempDirectory::~TempDirectory() {
    if (::getpid() != creator_) return;  // a forked copy: the creator removes it
    // Leaving through an exception (a failed fork, a failed write): the children may still be
    // using the directory. Stop them first, so none of them reports a vanished file as the error.
    if (std::uncaught_exceptions() > uncaught_at_creation_) {
        try {
            terminate_children();
        } catch (...) {
            // The original error is the one to report; the driver ends the rest.
        }
    }
    g_slots[static_cast<std::size_t>(slot_)].owner.store(0);
    g_slots[static_cast<std::size_t>(slot_)].used.store(false);
    std::error_code ignored;  // a destructor cannot report; the harness notices leftovers
    std::filesystem::remove_all(path_, ignored);
    ::close(lock_fd_);
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
