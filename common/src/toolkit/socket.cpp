// TCP on the loopback interface; see wb/socket.hpp.
#include "wb/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "wb/clock.hpp"

namespace wb {

namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // 127.0.0.1, and nothing else
    return a;
}

UniqueFd tcp_socket(bool non_blocking = false) {
    return UniqueFd(check(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (non_blocking ? SOCK_NONBLOCK : 0), 0),
                          "socket"));
}

// Real milliseconds left until `deadline_ns` (CLOCK_MONOTONIC), for poll(); 0 when past.
int ms_until(std::int64_t deadline_ns) {
    const std::int64_t left = deadline_ns - clock::monotonic_ns();
    if (left <= 0) return 0;
    return static_cast<int>(std::min<std::int64_t>((left + 999'999) / 1'000'000, 1 << 30));
}

std::int64_t deadline_ns(double logical_timeout) { return clock::monotonic_ns() + clock::to_real(logical_timeout).count(); }

// Waits until `fd` has `events` or the deadline passes; true when ready.
bool wait_for(int fd, short events, std::int64_t deadline, const char* call) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, ms_until(deadline));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) throw_errno(call);
    }
}

}  // namespace

LoopbackListener::LoopbackListener(std::uint16_t port, int backlog) : fd_(tcp_socket()), backlog_(backlog) {
    const int on = 1;
    check(::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), "setsockopt(SO_REUSEADDR)");
    const sockaddr_in a = loopback(port);
    if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
        if (errno == EADDRINUSE) throw AddressInUse(port);
        throw_errno("bind(127.0.0.1:" + std::to_string(port) + ")");
    }
    check(::listen(fd_.get(), backlog), "listen");
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    check(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&bound), &len), "getsockname");
    port_ = ntohs(bound.sin_port);
}

UniqueFd LoopbackListener::accept() {
    for (;;) {
        const int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) return UniqueFd(c);
        if (errno == EINTR || errno == ECONNABORTED) continue;
        throw_errno("accept");
    }
}

UniqueFd LoopbackListener::accept_for(std::chrono::milliseconds real_timeout) {
    const std::int64_t deadline = clock::monotonic_ns() + std::chrono::nanoseconds(real_timeout).count();
    for (;;) {
        if (!wait_for(fd_.get(), POLLIN, deadline, "poll (accept)")) return UniqueFd();
        const int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c >= 0) {
            UniqueFd conn(c);
            conn.set_non_blocking(false);
            return conn;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
        throw_errno("accept");
    }
}

UniqueFd connect_loopback(std::uint16_t port) {
    UniqueFd fd = tcp_socket();
    const sockaddr_in a = loopback(port);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return fd;
    if (errno != EINTR) throw_errno("connect(127.0.0.1:" + std::to_string(port) + ")");
    // Interrupted: the handshake goes on in the background; wait for its outcome.
    PendingConnect pending{std::move(fd), false};
    while (!finish_connect(pending, 1e9)) {
    }
    return std::move(pending.fd);
}

PendingConnect start_connect(std::uint16_t port) {
    PendingConnect p{tcp_socket(true), false};
    const sockaddr_in a = loopback(port);
    if (::connect(p.fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
        p.connected = true;
        p.fd.set_non_blocking(false);
        return p;
    }
    if (errno != EINPROGRESS && errno != EINTR) throw_errno("connect(127.0.0.1:" + std::to_string(port) + ")");
    return p;
}

bool finish_connect(PendingConnect& pending, double logical_timeout) {
    if (pending.connected) return true;
    if (!wait_for(pending.fd.get(), POLLOUT, deadline_ns(logical_timeout), "poll (connect)")) return false;
    int error = 0;
    socklen_t len = sizeof error;
    check(::getsockopt(pending.fd.get(), SOL_SOCKET, SO_ERROR, &error, &len), "getsockopt(SO_ERROR)");
    if (error != 0) throw_errno("connect", error);
    pending.connected = true;
    pending.fd.set_non_blocking(false);
    return true;
}

bool try_send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE || errno == ECONNRESET) return false;
            throw_errno("send");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("send");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

namespace {
// One recv after waiting until the deadline; appends to `out`.
Received::Status receive_into(int fd, std::string& out, std::size_t max_bytes, std::int64_t deadline) {
    if (!wait_for(fd, POLLIN, deadline, "poll (recv)")) return Received::timeout;
    std::string buffer(max_bytes, '\0');
    for (;;) {
        const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n > 0) {
            out.append(buffer.data(), static_cast<std::size_t>(n));
            return Received::data;
        }
        if (n == 0) return Received::closed;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return Received::data;  // woken without data: the caller looks again
        if (errno == ECONNRESET) return Received::reset;
        throw_errno("recv");
    }
}
}  // namespace

Received receive_some(int fd, std::size_t max_bytes, double logical_timeout) {
    const std::int64_t deadline = deadline_ns(logical_timeout);
    Received r;
    do {
        r.status = receive_into(fd, r.bytes, max_bytes, deadline);
    } while (r.status == Received::data && r.bytes.empty());
    return r;
}

Received receive_exact(int fd, std::size_t n, double logical_timeout) {
    const std::int64_t deadline = deadline_ns(logical_timeout);
    Received r;
    r.status = Received::data;
    while (r.bytes.size() < n) {
        r.status = receive_into(fd, r.bytes, n - r.bytes.size(), deadline);
        if (r.status != Received::data) return r;
    }
    return r;
}

Received receive_line(int fd, std::string& pending, std::size_t max_bytes, double logical_timeout) {
    const std::int64_t deadline = deadline_ns(logical_timeout);
    Received r;
    for (;;) {
        const auto newline = pending.find('\n');
        if (newline != std::string::npos || pending.size() >= max_bytes) {
            const std::size_t take = std::min(newline == std::string::npos ? max_bytes : newline + 1, max_bytes);
            r.status = Received::data;
            r.bytes = pending.substr(0, take);
            pending.erase(0, take);
            return r;
        }
        const auto status = receive_into(fd, pending, max_bytes - pending.size(), deadline);
        if (status != Received::data) {
            r.status = status;
            r.bytes = std::move(pending);
            pending.clear();
            return r;
        }
    }
}

void set_abortive_close(int fd) {
    const linger l{1, 0};
    check(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l), "setsockopt(SO_LINGER)");
}

}  // namespace wb
