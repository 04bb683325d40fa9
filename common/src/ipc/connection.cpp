#include "wb/connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <pthread.h>

#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/shared_memory.hpp"

namespace wb {
namespace {

// SIGPIPE blocked for the lifetime of one pipe write; a SIGPIPE that write raised is consumed,
// so that EPIPE becomes an exception instead of the end of the process. One that was already
// pending before (someone else's) is left pending.
class SigpipeBlocked {
public:
    SigpipeBlocked() {
        sigset_t pipe_only;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        check_pthread(::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous_), "pthread_sigmask");
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;
    ~SigpipeBlocked() {
        if (raised_ && !was_pending_) {
            sigset_t pipe_only;
            sigemptyset(&pipe_only);
            sigaddset(&pipe_only, SIGPIPE);
            const timespec zero{0, 0};
            while (::sigtimedwait(&pipe_only, nullptr, &zero) == -1 && errno == EINTR) {
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    void raised() noexcept { raised_ = true; }

private:
    sigset_t previous_{};
    bool was_pending_ = false;
    bool raised_ = false;
};

// Reads exactly `size` bytes; returns how many it got before end of file.
std::size_t read_exactly(int fd, char* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::read(fd, out + done, size - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n == 0) {
            return done;
        } else if (errno == ECONNRESET) {
            return done;  // a socket whose peer died with unread data: end of file too
        } else if (errno != EINTR) {
            throw_errno("read (Connection::recv)");
        }
    }
    return done;
}

}  // namespace

Connection Connection::adopt(std::string_view handed_over, Mode mode) {
    int fd = -1;
    const auto [end, error] = std::from_chars(handed_over.data(), handed_over.data() + handed_over.size(), fd);
    if (error != std::errc() || end != handed_over.data() + handed_over.size() || fd < 0) {
        throw std::invalid_argument("Connection::adopt: '" + std::string(handed_over) +
                                    "' is not a descriptor handed over by hand_over()");
    }
    UniqueFd owned(fd);
    owned.set_inheritable(false);
    return Connection(std::move(owned), mode);
}

std::string Connection::hand_over() {
    if (closed()) throw std::logic_error("Connection::hand_over: the connection is closed");
    fd_.set_inheritable(true);
    return std::to_string(fd_.get());
}

void Connection::require(bool sending) const {
    if (closed()) throw std::logic_error(sending ? "Connection::send: the connection is closed"
                                                 : "Connection::recv: the connection is closed");
    if (sending && mode_ == Mode::receive_only) throw std::logic_error("Connection::send: this end only receives");
    if (!sending && mode_ == Mode::send_only) throw std::logic_error("Connection::recv: this end only sends");
}

void Connection::send(std::string_view message) {
    require(true);
    if (message.size() > kMaxMessage) {
        throw std::length_error("Connection::send: a message of " + std::to_string(message.size()) +
                                " bytes is larger than the limit of " + std::to_string(kMaxMessage));
    }
    const std::uint32_t length = static_cast<std::uint32_t>(message.size());
    char header[sizeof length];
    std::memcpy(header, &length, sizeof length);
    iovec parts[2] = {{header, sizeof header}, {const_cast<char*>(message.data()), message.size()}};
    std::size_t total = sizeof header + message.size();
    std::size_t sent = 0;
    const bool socket = mode_ == Mode::duplex;
    std::optional<SigpipeBlocked> blocked;
    if (!socket) blocked.emplace();
    while (sent < total) {
        // Skip what was already sent of the two parts.
        iovec rest[2];
        int count = 0;
        std::size_t skip = sent;
        for (const iovec& part : parts) {
            if (skip >= part.iov_len) {
                skip -= part.iov_len;
                continue;
            }
            rest[count++] = {static_cast<char*>(part.iov_base) + skip, part.iov_len - skip};
            skip = 0;
        }
        ssize_t n;
        if (socket) {
            msghdr msg{};
            msg.msg_iov = rest;
            msg.msg_iovlen = static_cast<std::size_t>(count);
            n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
        } else {
            n = ::writev(fd_.get(), rest, count);
        }
        if (n >= 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        const int error = errno;
        if (error == EINTR) continue;
        if (error == EPIPE || error == ECONNRESET) {
            if (blocked) blocked->raised();
            throw ConnectionClosed("Connection::send: the other end is closed");
        }
        throw_errno(socket ? "sendmsg (Connection::send)" : "writev (Connection::send)", error);
    }
}

std::string Connection::recv() {
    require(false);
    std::uint32_t length = 0;
    char header[sizeof length];
    const std::size_t got = read_exactly(fd_.get(), header, sizeof header);
    if (got == 0) throw ConnectionClosed("Connection::recv: the other end is closed (end of file)");
    if (got < sizeof header) {
        throw ConnectionClosed("Connection::recv: the other end was closed in the middle of a message");
    }
    std::memcpy(&length, header, sizeof length);
    if (length > kMaxMessage) {
        throw std::length_error("Connection::recv: a message length of " + std::to_string(length) +
                                " bytes: the other end does not speak this protocol");
    }
    std::string message(length, '\0');
    if (read_exactly(fd_.get(), message.data(), length) < length) {
        throw ConnectionClosed("Connection::recv: the other end was closed in the middle of a message");
    }
    return message;
}

bool Connection::poll(double timeout) {
    require(false);
    const auto deadline = detail::deadline_after(timeout, "Connection::poll");
    for (;;) {
        timespec left{0, 0};
        if (deadline) {
            timespec now{};
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            std::int64_t ns = (static_cast<std::int64_t>(deadline->tv_sec) - now.tv_sec) * 1'000'000'000 +
                              (deadline->tv_nsec - now.tv_nsec);
            if (ns < 0) ns = 0;
            left = {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        }
        pollfd pfd{fd_.get(), POLLIN, 0};
        const int r = ::ppoll(&pfd, 1, deadline ? &left : nullptr, nullptr);
        if (r > 0) return true;  // data, or POLLHUP/POLLERR: recv() returns or throws at once
        if (r == 0) return false;
        if (errno != EINTR) throw_errno("ppoll (Connection::poll)");
    }
}

std::pair<Connection, Connection> make_pipe(bool duplex) {
    int fds[2];
    if (duplex) {
        check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), "socketpair");
        return {Connection(UniqueFd(fds[0]), Connection::Mode::duplex),
                Connection(UniqueFd(fds[1]), Connection::Mode::duplex)};
    }
    check(::pipe2(fds, O_CLOEXEC), "pipe2");
    return {Connection(UniqueFd(fds[0]), Connection::Mode::receive_only),
            Connection(UniqueFd(fds[1]), Connection::Mode::send_only)};
}

}  // namespace wb
