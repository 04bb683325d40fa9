// wb/fd.hpp - UniqueFd and Pipe: file descriptors that close themselves.
//
// What it is
//   UniqueFd owns one file descriptor and closes it when destroyed (std::unique_ptr for fds).
//   Pipe is the pair pipe2(2) returns: bytes written to write_end come out of read_end, in order.
//   Chapters 03 and 04 use them for a clerk's request and reply pipes and for catching a child's
//   stderr; chapter 10, sockets and the tests use UniqueFd on its own:
//
//       wb::Pipe pipe;                              // both ends close-on-exec
//       wb::Process child([&] {
//           pipe.read_end.reset();                  // the child only writes
//           wb::write_all(pipe.write_end.get(), "hello");
//       });
//       child.start();
//       pipe.write_end.reset();                     // so that read_all() sees end of file
//       std::string text = wb::read_all(pipe.read_end.get());   // "hello"
//
// States
//   UniqueFd: empty (get() == -1) or owning. reset() closes and empties; release() hands the
//   number back without closing. A moved-from UniqueFd is empty.
// Guarantees
//   - Every descriptor is created close-on-exec (O_CLOEXEC), so a spawned child inherits only
//     what is made inheritable on purpose (set_inheritable).
//   - A forked child has a copy of every descriptor: each process closes its own copies, and a
//     pipe's reader sees end of file only when every copy of the write end, in every process,
//     is closed. That is why both sides reset() the end they do not use.
//   - Reads and writes resume after EINTR. write_all() loops over partial writes; a write of at
//     most PIPE_BUF (4096) bytes to a pipe is one atomic write(2), never interleaved with others.
// Errors
//   Every failed call throws wb::SystemError naming the call and errno text, in every build type;
//   `call` arguments name the call in the message ("read (reply)"). close() in the destructor
//   cannot report anything and does not try: the descriptor is gone either way on Linux.
// Process death
//   The kernel closes a dead process's descriptors. A reader of a pipe whose writers all died
//   sees end of file. A writer whose readers all died gets SIGPIPE, whose default action ends it
//   like any program; with SIGPIPE ignored, write_all throws SystemError (EPIPE) instead.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wb {

class UniqueFd {
public:
    UniqueFd() noexcept = default;
    // Takes ownership of `fd` (-1: empty).
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept;
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
    // Closes the descriptor (if any) and becomes empty.
    void reset() noexcept;
    // Gives up ownership without closing; the caller closes the returned number.
    [[nodiscard]] int release() noexcept;

    // O_NONBLOCK on or off: a read with nothing to read then returns at once (EAGAIN).
    void set_non_blocking(bool non_blocking = true) const;
    // Clears (true) or sets (false) FD_CLOEXEC: whether a spawned program inherits it.
    void set_inheritable(bool inheritable) const;

private:
    int fd_ = -1;
};

// pipe2(O_CLOEXEC): bytes written to write_end come out of read_end.
struct Pipe {
    Pipe();
    UniqueFd read_end;
    UniqueFd write_end;
};

// Writes all of `bytes` (looping over partial writes and EINTR). Throws SystemError(call).
void write_all(int fd, std::string_view bytes, const char* call = "write");

// One read(2) of at most `max_bytes`: the bytes read, "" at end of file, or std::nullopt when a
// non-blocking descriptor has nothing yet (EAGAIN). Resumes after EINTR. Throws SystemError(call).
[[nodiscard]] std::optional<std::string> read_some(int fd, std::size_t max_bytes = 4096, const char* call = "read");

// Everything until end of file (every write end closed). Throws SystemError(call).
[[nodiscard]] std::string read_all(int fd, const char* call = "read");

}  // namespace wb
