// Chapter 08's props: what main needs to watch a grandchild become an orphan and to clean it up.
//
// A grandchild is not main's child: main cannot join it, and wb::Process does not know it. To
// show an orphan and still leave nothing behind, main
//   - becomes a child subreaper for the demo (ChildSubreaper): an orphan among its descendants is
//     then re-parented to main instead of to init (pid 1), so main can end it and reap it;
//   - learns the grandchild's pid from the middle child (PidMailbox, a pipe);
//   - holds a Lifeline: a pipe whose only write end is main's. A grandchild that outlives its
//     parent watches the read end and leaves by itself when main is gone (end of file), so an
//     orphan never outlives the program, even when main is SIGKILLed.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "wb/event.hpp"
#include "wb/fd.hpp"

namespace ch08 {

// The chapter's safety net for waits that normally end by synchronisation: 10 logical seconds,
// but never less than 5 s of real time (a loaded machine at --time-scale 0.01).
[[nodiscard]] double safety_timeout();

// prctl(PR_SET_CHILD_SUBREAPER) for the lifetime of the object: orphaned descendants of this
// process are re-parented to it, not to init.
class ChildSubreaper {
public:
    ChildSubreaper();
    ChildSubreaper(const ChildSubreaper&) = delete;
    ChildSubreaper& operator=(const ChildSubreaper&) = delete;
    ~ChildSubreaper();
};

// One pid sent from a child to main through a pipe.
class PidMailbox {
public:
    void send(pid_t pid);                            // in the child
    [[nodiscard]] std::optional<pid_t> receive();    // in main: nullopt if the sender died first
    void close_sending_end() { pipe_.write_end.reset(); }   // main, after the fork
    void close_receiving_end() { pipe_.read_end.reset(); }  // the child

private:
    wb::Pipe pipe_;
};

// Main holds the write end; descendants poll the read end and see end of file when main is gone.
class Lifeline {
public:
    // In a descendant, right after the fork: drop its copy of main's end.
    void let_go() { pipe_.write_end.reset(); }
    // In a descendant: waits at most `logical_seconds`; true if main is gone (end of file).
    [[nodiscard]] bool main_gone(double logical_seconds) const;
    [[nodiscard]] int read_fd() const noexcept { return pipe_.read_end.get(); }
    // In main: cut it (descendants see end of file).
    void cut() { pipe_.write_end.reset(); }

private:
    wb::Pipe pipe_;
};

// The body of a grandchild that outlives its parent (start it with set_end_with_parent(false)).
// It reports its parent, opens a pidfd of it, and only then sends its own pid to main through
// `mailbox` (so main kills the parent only once the grandchild is watching it). It waits until
// that parent has died (the pidfd becomes readable once the kernel has re-parented the parent's
// children), reports its new parent, sets `adopted`, prints "still running" every 0.5 s, sets
// `ticked` after two ticks, and keeps going until it is signalled or main is gone.
void orphan_to_be(const Lifeline& lifeline, PidMailbox& mailbox, wb::Event& adopted, wb::Event& ticked);

// Main's clean-up of a process it adopted: SIGTERM, then waitpid. Returns the exit code in
// Python's form (-15). Throws wb::SystemError (waitpid) if it is not main's child.
[[nodiscard]] int end_and_reap(pid_t pid);

}  // namespace ch08
