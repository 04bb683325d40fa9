#include "wb/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "wb/clock.hpp"
#include "wb/error.hpp"

namespace wb {

SharedMemory::SharedMemory(std::size_t size, const char* name) {
    if (size == 0) throw std::invalid_argument("SharedMemory: the size must be > 0");
    const int fd = check(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create");
    try {
        check(::ftruncate(fd, static_cast<off_t>(size)), "ftruncate");
        // Fix the size for good: nobody can shrink the file under another process's mapping.
        check(::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), "fcntl(F_ADD_SEALS)");
        *this = SharedMemory(fd, size);
    } catch (...) {
        ::close(fd);
        throw;
    }
}

SharedMemory::SharedMemory(int fd, std::size_t size) {
    void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) throw_errno("mmap");
    data_ = data;
    size_ = size;
    fd_ = fd;
}

SharedMemory SharedMemory::adopt(int fd) {
    struct stat st {};
    check(::fstat(fd, &st), "fstat");
    if (st.st_size <= 0) {
        throw std::invalid_argument("SharedMemory::adopt: fd " + std::to_string(fd) + " is an empty file");
    }
    return SharedMemory(fd, static_cast<std::size_t>(st.st_size));
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      fd_(std::exchange(other.fd_, -1)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
    if (this != &other) {
        reset();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

SharedMemory::~SharedMemory() { reset(); }

void SharedMemory::reset() noexcept {
    // munmap/close of a mapping and descriptor we own cannot fail in a way we could act on in a
    // destructor; the kernel frees the pages when the last process lets go.
    if (data_ != nullptr) ::munmap(data_, size_);
    if (fd_ >= 0) ::close(fd_);
    data_ = nullptr;
    size_ = 0;
    fd_ = -1;
}

void SharedMemory::set_inheritable(bool inheritable) {
    if (fd_ < 0) throw std::logic_error("SharedMemory::set_inheritable on an empty (moved-from) object");
    const int flags = check(::fcntl(fd_, F_GETFD), "fcntl(F_GETFD)");
    const int wanted = inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC);
    check(::fcntl(fd_, F_SETFD, wanted), "fcntl(F_SETFD)");
}

namespace detail {

std::optional<timespec> deadline_after(double timeout, const char* operation) {
    if (std::isnan(timeout)) throw std::invalid_argument(std::string(operation) + ": the timeout is NaN");
    // Beyond about 30 years of real time the nanosecond count would overflow: treat as forever.
    constexpr double forever_real_seconds = 1e9;
    if (timeout > 0.0 && timeout * clock::time_scale() > forever_real_seconds) return std::nullopt;
    return clock::deadline(timeout);  // <= 0 gives the current instant
}

}  // namespace detail
}  // namespace wb
