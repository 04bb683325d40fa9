// wb/socket.hpp - TCP on the loopback interface: a listening socket, connect, send and receive
// with timeouts. Only 127.0.0.1: nothing here can listen on or connect to another address.
//
// What it is
//   The socket plumbing chapter 09's echo servers and clients stand on, so that the chapter shows
//   the servers' structure (serial, a process per connection, a thread per connection) and not
//   error handling:
//
//       wb::LoopbackListener listener(0, 5);          // bind 127.0.0.1, port chosen by the kernel
//       fmt::print("port {}\n", listener.port());
//       wb::UniqueFd conn = listener.accept();         // blocks for the next client
//       wb::Received r = wb::receive_some(conn.get(), 1024, 10.0);   // at most 10 logical s
//       if (r.status == wb::Received::data) wb::send_all(conn.get(), r.bytes);
//
//       wb::UniqueFd client = wb::connect_loopback(listener.port());
//
// States
//   A LoopbackListener is bound and listening from construction until destruction (the
//   descriptor closes then; the port becomes free again). A connection is a UniqueFd.
// Guarantees
//   - Every descriptor is close-on-exec (SOCK_CLOEXEC); a forked child still has copies, and a
//     connection only ends (the peer sees end of file) once every process closed its copy.
//   - The listener sets SO_REUSEADDR, like the seed: a port whose previous owner's connections
//     are in TIME_WAIT can be bound again at once. It never sets SO_REUSEPORT, so a port another
//     listener holds is refused (AddressInUse).
//   - send_all() uses MSG_NOSIGNAL: writing to a connection the peer has closed returns EPIPE
//     (thrown as SystemError, or reported as `false` by try_send_all) instead of raising SIGPIPE,
//     which would kill the whole process.
//   - Every wait resumes after EINTR and keeps its deadline. Timeouts are logical seconds
//     (wb/clock.hpp), except accept_for's, which is real time (a server's polling period).
// Listen backlog (what the seeds' `listen(5)` really does on Linux)
//   The backlog bounds the queue of connections the kernel has completed and the program has not
//   yet accepted (backlog + 1 of them on Linux). A client beyond that is not refused: its SYN is
//   dropped and its connect() keeps retrying, so it simply waits (for minutes) until the queue
//   has room. Chapter 09 shows it with start_connect().
// Process death
//   The kernel closes a dead process's sockets: its peer sees end of file (or a reset, when data
//   it had not read was still queued), and a dead listener's port is free again. A connection
//   shared with a forked child stays open while either process holds it.
// Errors
//   Failed calls throw wb::SystemError naming the call; a port already in use throws
//   wb::AddressInUse (a SystemError with errno EADDRINUSE) so a program can say so clearly.
//   A connection reset by the peer (ECONNRESET) is not an exception for receive_some: it is a
//   status, because a server must expect it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wb/error.hpp"
#include "wb/fd.hpp"

namespace wb {

// bind() failed because another socket holds the port.
class AddressInUse : public SystemError {
public:
    explicit AddressInUse(std::uint16_t port) : SystemError("bind(127.0.0.1:" + std::to_string(port) + ")", EADDRINUSE), port_(port) {}
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

private:
    std::uint16_t port_;
};

class LoopbackListener {
public:
    // socket + SO_REUSEADDR + bind(127.0.0.1:port) + listen(backlog). Port 0: the kernel picks a
    // free one (port() says which). Throws AddressInUse or SystemError.
    LoopbackListener(std::uint16_t port, int backlog);
    LoopbackListener(LoopbackListener&&) noexcept = default;
    LoopbackListener& operator=(LoopbackListener&&) noexcept = default;
    LoopbackListener(const LoopbackListener&) = delete;
    LoopbackListener& operator=(const LoopbackListener&) = delete;
    ~LoopbackListener() = default;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] int backlog() const noexcept { return backlog_; }

    // The next connection, waiting as long as it takes.
    [[nodiscard]] UniqueFd accept();
    // The next connection, or an empty UniqueFd when none came within `real_timeout`.
    // A connection that was reset before it was accepted (ECONNABORTED) is skipped.
    [[nodiscard]] UniqueFd accept_for(std::chrono::milliseconds real_timeout);
    // Closes the socket: new connections are refused from now on.
    void close() noexcept { fd_.reset(); }

private:
    UniqueFd fd_;
    std::uint16_t port_ = 0;
    int backlog_ = 0;
};

// A blocking connect to 127.0.0.1:port. Throws SystemError ("connect", ECONNREFUSED when no one
// listens).
[[nodiscard]] UniqueFd connect_loopback(std::uint16_t port);

// A non-blocking connect that has been started: the socket and whether the handshake already
// completed. finish_connect() waits for the rest.
struct PendingConnect {
    UniqueFd fd;
    bool connected = false;
};
[[nodiscard]] PendingConnect start_connect(std::uint16_t port);
// Waits at most `logical_timeout` for a started connect. Returns true when it completed, false
// when it is still in progress (the socket is then left as it is); throws SystemError for a
// failure (ECONNREFUSED...). After true the socket is blocking again.
[[nodiscard]] bool finish_connect(PendingConnect& pending, double logical_timeout);

// Sends every byte (MSG_NOSIGNAL, loops over partial sends). Throws SystemError("send").
void send_all(int fd, std::string_view bytes);
// The same, returning false instead of throwing when the peer is gone (EPIPE, ECONNRESET).
[[nodiscard]] bool try_send_all(int fd, std::string_view bytes);

// One recv(2) of at most max_bytes, waiting at most `logical_timeout` for something to arrive.
struct Received {
    enum Status { data, closed, timeout, reset };
    Status status = closed;
    std::string bytes;  // the bytes, when status == data
};
[[nodiscard]] Received receive_some(int fd, std::size_t max_bytes, double logical_timeout);
// Exactly `n` bytes (as many recv calls as it takes), within one deadline of `logical_timeout`.
// The status is data when all came; otherwise closed/timeout/reset with what came so far.
[[nodiscard]] Received receive_exact(int fd, std::size_t n, double logical_timeout);
// One line ending in '\n' (the '\n' is kept), within one deadline. Bytes after the line stay in
// `pending` for the next call. A line longer than max_bytes is returned cut at max_bytes.
[[nodiscard]] Received receive_line(int fd, std::string& pending, std::size_t max_bytes, double logical_timeout);

// Makes the next close() of `fd` send a reset (RST) instead of a normal end: SO_LINGER {on, 0}.
// Tests and demos use it to play a client that disconnects abruptly.
void set_abortive_close(int fd);

}  // namespace wb
