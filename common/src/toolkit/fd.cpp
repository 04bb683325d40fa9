#include "wb/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "wb/error.hpp"

namespace wb {

UniqueFd::UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        reset();
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

void UniqueFd::reset() noexcept {
    // close() may report EINTR or EIO, but on Linux the descriptor is released in every case:
    // retrying could close a descriptor another thread has just been given.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

int UniqueFd::release() noexcept { return std::exchange(fd_, -1); }

void UniqueFd::set_non_blocking(bool non_blocking) const {
    const int flags = check(::fcntl(fd_, F_GETFL), "fcntl(F_GETFL)");
    const int wanted = non_blocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    check(::fcntl(fd_, F_SETFL, wanted), "fcntl(F_SETFL, O_NONBLOCK)");
}

void UniqueFd::set_inheritable(bool inheritable) const {
    const int flags = check(::fcntl(fd_, F_GETFD), "fcntl(F_GETFD)");
    const int wanted = inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC);
    check(::fcntl(fd_, F_SETFD, wanted), "fcntl(F_SETFD)");
}

Pipe::Pipe() {
    int fds[2];
    check(::pipe2(fds, O_CLOEXEC), "pipe2");
    read_end = UniqueFd(fds[0]);
    write_end = UniqueFd(fds[1]);
}

void write_all(int fd, std::string_view bytes, const char* call) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(call);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::optional<std::string> read_some(int fd, std::size_t max_bytes, const char* call) {
    std::string buffer(max_bytes, '\0');
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n >= 0) {
            buffer.resize(static_cast<std::size_t>(n));
            return buffer;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
        throw_errno(call);
    }
}

std::string read_all(int fd, const char* call) {
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(call);
        }
        if (n == 0) return text;
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace wb
