// wb/connection.hpp - Connection and make_pipe(): whole messages between two processes
// (multiprocessing.Pipe and its Connection objects).
//
// What it is
//   make_pipe() returns two connected ends. What one end send()s, the other recv()s - as whole
//   messages, never a part of one or two glued together:
//
//       auto [parent_end, child_end] = wb::make_pipe();      // Pipe(): duplex
//       wb::Process child([&] {
//           parent_end.close();                               // the child keeps its own end
//           child_end.send("hello from the child");
//       });
//       child.start();
//       child_end.close();                                    // or recv() never sees the EOF
//       std::string text = parent_end.recv();                 // "hello from the child"
//       parent_end.recv();                                    // throws wb::ConnectionClosed
//
//   (Named Connection, not Pipe: wb::Pipe in wb/fd.hpp is the raw pipe2() pair of descriptors.)
//   make_pipe(true) (duplex, the default) is a socketpair(AF_UNIX, SOCK_STREAM): both ends send
//   and receive. make_pipe(false) is a pipe2(): the first end only receives, the second only
//   sends, as Python's Pipe(duplex=False) returns (receive end, send end).
//
// Messages
//   Each message travels as a 4-byte length followed by its bytes; recv() reads exactly one. Any
//   bytes are fine (std::string holds them). send_json()/recv_json() carry a wb::Json document
//   (Python's send() pickles any object; JSON is the readable cousin). A message may be up to
//   kMaxMessage (64 MiB); recv() of a larger length throws std::length_error (not a peer of ours).
//
// States
//   open -> closed (close(), or destruction). Each end is one descriptor, which fork() copies: as
//   with any pipe, the reader sees end of file only when every copy of the other end, in every
//   process, is closed - so each process closes the end it does not use (the example above).
// Guarantees
//   - recv() blocks until a whole message is there and returns it. When the other end is closed
//     (by close() or because its process ended, however it ended: the kernel closes a dead
//     process's descriptors) and every message sent before has been received, recv() throws
//     ConnectionClosed (Python's EOFError). A sender that died in the middle of a message leaves
//     a partial one: recv() throws ConnectionClosed too, saying so; nothing is half-delivered.
//   - send() writes the whole message, blocking while the kernel buffer is full (about 200 KB for
//     a socket pair, 64 KB for a pipe). When the receiving end is gone it throws ConnectionClosed
//     instead of killing the process with SIGPIPE (MSG_NOSIGNAL for sockets; for pipes SIGPIPE is
//     blocked for the write and the pending signal consumed).
//   - poll(timeout) waits at most `timeout` logical seconds (0: just look; infinity: forever) and
//     returns true when recv() would not block: a message has (started to) arrive, or the other
//     end is closed. Resumes after signals until the same deadline.
//   - recv() reads ahead: one read(2) takes everything available (up to 64 KiB) and later recv()
//     calls return the rest without a system call. So hand an end over (or fork) only before it
//     has received anything, or the bytes it has read ahead stay behind with it.
//   - One sender per end at a time: two processes sending on the same end concurrently may
//     interleave their bytes (Python's Connection has the same rule). Use a wb::Queue for many
//     producers.
// Errors
//   Unexpected system call failures throw wb::SystemError; send() on a receive-only end (and recv()
//   on a send-only end) throws std::logic_error; any use of a closed end throws std::logic_error.
// Spawned children
//   fd() is the descriptor; hand_over() makes it inheritable and returns it as text; the child
//   calls Connection::adopt(text, mode).
//
// Memory ordering: what the sender wrote before send() is visible to the receiver after the recv()
//   that returns that message (the kernel's pipe buffer orders them, as any write/read pair).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/fd.hpp"

namespace wb {

// The other end was closed (or its process died) and no complete message is left (EOFError).
class ConnectionClosed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Connection {
public:
    enum class Mode { duplex, receive_only, send_only };
    static constexpr std::uint32_t kMaxMessage = 64u << 20;

    // Takes ownership of a connected descriptor (a socket for duplex, a pipe end otherwise).
    Connection(UniqueFd fd, Mode mode) noexcept : fd_(std::move(fd)), mode_(mode) {}
    // The end another process handed over (hand_over()'s text), taken over.
    [[nodiscard]] static Connection adopt(std::string_view handed_over, Mode mode);

    Connection(Connection&&) noexcept = default;
    Connection& operator=(Connection&&) noexcept = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() = default;

    // Sends one whole message. Throws ConnectionClosed when the other end is gone.
    void send(std::string_view message);
    // Sends several whole messages with one write (as if send() were called for each, in order).
    void send_many(const std::vector<std::string_view>& messages);
    // Receives one whole message, waiting for it. Throws ConnectionClosed at end of file.
    [[nodiscard]] std::string recv();
    // Whether recv() would return (or throw) without waiting, after waiting at most `timeout`
    // logical seconds for that.
    [[nodiscard]] bool poll(double timeout = 0);

    void send_json(const nlohmann::json& document) { send(document.dump()); }
    [[nodiscard]] nlohmann::json recv_json() { return nlohmann::json::parse(recv()); }

    // Closes this end (idempotent). The other end's recv() then reports end of file, once every
    // copy of this end (forked children hold copies) is closed.
    void close() noexcept { fd_.reset(); }
    [[nodiscard]] bool closed() const noexcept { return !fd_; }
    [[nodiscard]] Mode mode() const noexcept { return mode_; }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] std::string hand_over();

    // Whether a whole message has already been read from the descriptor (recv() returns it at once).
    [[nodiscard]] bool has_buffered_message() const noexcept;

private:
    void require(bool sending) const;
    void write_framed(std::string_view framed);
    UniqueFd fd_;
    Mode mode_;
    // recv() reads what the descriptor has (up to 64 KiB at once) and keeps what it has not
    // returned yet: several small messages cost one read(2).
    std::vector<char> in_;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
};

// Python's Pipe(duplex): two connected ends. duplex: both send and receive (socketpair);
// otherwise first = receive end, second = send end (pipe2). Descriptors are close-on-exec.
[[nodiscard]] std::pair<Connection, Connection> make_pipe(bool duplex = true);

}  // namespace wb
