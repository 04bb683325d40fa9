#include "wb/connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
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

namespace {
void append_framed(std::string& out, std::string_view message) {
    if (message.size() > Connection::kMaxMessage) {
        throw std::length_error("Connection::send: a message of " + std::to_string(message.size()) +
                                " bytes is larger than the limit of " + std::to_string(Connection::kMaxMessage));
    }
    const std::uint32_t length = static_cast<std::uint32_t>(message.size());
    char header[sizeof length];
    std::memcpy(header, &length, sizeof length);
    out.append(header, sizeof header);
    out.append(message);
}
}  // namespace

void Connection::send(std::string_view message) {
    require(true);
    std::string framed;
    framed.reserve(4 + message.size());
    append_framed(framed, message);
    write_framed(framed);
}

void Connection::send_many(const std::vector<std::string_view>& messages) {
    require(true);
    std::string framed;
    for (const auto m : messages) append_framed(framed, m);
    write_framed(framed);
}

void Connection::write_framed(std::string_view framed) {
    const bool socket = mode_ == Mode::duplex;
    std::optional<SigpipeBlocked> blocked;
    if (!socket) blocked.emplace();
    while (!framed.empty()) {
        const ssize_t n = socket ? ::send(fd_.get(), framed.data(), framed.size(), MSG_NOSIGNAL)
                                 : ::write(fd_.get(), framed.data(), framed.size());
        if (n >= 0) {
            framed.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        const int error = errno;
        if (error == EINTR) continue;
        if (error == EPIPE || error == ECONNRESET) {
            if (blocked) blocked->raised();
            throw ConnectionClosed("Connection::send: the other end is closed");
        }
        throw_errno(socket ? "send (Connection::send)" : "write (Connection::send)", error);
    }
}

bool Connection::has_buffered_message() const noexcept {
    const std::size_t available = in_end_ - in_begin_;
    if (available < 4) return false;
    std::uint32_t length = 0;
    std::memcpy(&length, in_.data() + in_begin_, sizeof length);
    return available >= 4 + static_cast<std::size_t>(length);
}

std::string Connection::recv() {
    require(false);
    constexpr std::size_t kReadAhead = 64 * 1024;
    for (;;) {
        const std::size_t available = in_end_ - in_begin_;
        std::size_t needed = 4;
        if (available >= 4) {
            std::uint32_t length = 0;
            std::memcpy(&length, in_.data() + in_begin_, sizeof length);
            if (length > kMaxMessage) {
                throw std::length_error("Connection::recv: a message length of " + std::to_string(length) +
                                        " bytes: the other end does not speak this protocol");
            }
            needed = 4 + static_cast<std::size_t>(length);
            if (available >= needed) {
                std::string message(in_.data() + in_begin_ + 4, length);
                in_begin_ += needed;
                if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
                return message;
            }
        }
        // Room for the rest of this message (and read-ahead): move what is left to the front.
        if (in_.size() - in_begin_ < std::max(needed, kReadAhead)) {
            if (available > 0) std::memmove(in_.data(), in_.data() + in_begin_, available);  // never with null
            in_begin_ = 0;
            in_end_ = available;
            if (in_.size() < std::max(needed, kReadAhead)) in_.resize(std::max(needed, kReadAhead));
        }
        ssize_t n;
        do {
            n = ::read(fd_.get(), in_.data() + in_end_, in_.size() - in_end_);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno != ECONNRESET) throw_errno("read (Connection::recv)");
        if (n <= 0) {  // end of file (ECONNRESET: a socket whose peer died with unread data)
            if (available == 0) throw ConnectionClosed("Connection::recv: the other end is closed (end of file)");
            throw ConnectionClosed("Connection::recv: the other end was closed in the middle of a message");
        }
        in_end_ += static_cast<std::size_t>(n);
    }
}

bool Connection::poll(double timeout) {
    require(false);
    if (has_buffered_message()) return true;
    const auto deadline = detail::deadline_after(timeout, "Connection::poll");
    for (;;) {
        timespec left{0, 0};
        if (deadline) left = clock::time_left(*deadline);
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
