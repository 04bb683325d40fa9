// wb/thread_event.hpp - ThreadEvent: a flag that the threads of ONE process wait for
// (threading.Event).
//
// What it is
//   What CPython's threading.Event is made of: a boolean flag guarded by a mutex, and a condition
//   variable that set() notifies. Chapter 12's thread variant of the traffic light waits on one:
//
//       wb::ThreadEvent green;
//       std::jthread car([&](std::stop_token stop) {
//           while (!stop.stop_requested()) {
//               if (!green.wait(stop)) return;   // woken by request_stop(): the program ends
//               drive();
//           }
//       });
//       green.set();
//
//   Why not wb::Event: that one lives in shared memory for processes, and its wait cannot be
//   interrupted. This one is private memory (copying it into a fork gives the child its own,
//   unrelated flag) and its wait(stop_token) wakes up when a stop is requested
//   (std::condition_variable_any), so endless loops like the seed's can end cleanly.
//
// State model
//   clear <-> set, as wb::Event. Created clear.
// Guarantees
//   - set() wakes every waiting thread; a wait() entered while the flag is set returns at once.
//   - wait(...) returns true when it saw the flag set, false when it gave up (stop requested or
//     timeout). Like Python's threading.Event it returns the flag as it found it on waking: a
//     set() quickly followed by clear() may be missed by a thread that had not woken yet.
// Timeouts
//   wait(timeout) takes logical seconds (wb/clock.hpp) and waits on the steady clock; a timeout
//   <= 0 only looks at the flag.
// Errors: none beyond std::system_error from the standard mutex (which does not happen in
//   practice). Destroying a ThreadEvent while threads wait on it is undefined: join them first.
// Memory ordering: what a thread wrote before set() is visible to a thread whose wait() returns
//   true because of it (the mutex orders them).
#pragma once

#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace wb {

class ThreadEvent {
public:
    ThreadEvent() = default;
    ThreadEvent(const ThreadEvent&) = delete;
    ThreadEvent& operator=(const ThreadEvent&) = delete;

    void set();
    void clear();
    [[nodiscard]] bool is_set() const;

    // Waits until the flag is set. Returns true.
    bool wait();
    // Waits until the flag is set (true) or a stop is requested on `stop` (false).
    [[nodiscard]] bool wait(std::stop_token stop);
    // Waits at most `timeout` logical seconds: true if the flag is set, false on timeout.
    [[nodiscard]] bool wait(double timeout);

private:
    mutable std::mutex mutex_;
    std::condition_variable_any changed_;
    bool flag_ = false;
};

}  // namespace wb
