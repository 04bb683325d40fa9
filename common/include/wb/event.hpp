// wb/event.hpp - Event: a flag that processes wait for (multiprocessing.Event).
//
// What it is
//   One boolean flag in shared memory. set() raises it and wakes every process waiting for it,
//   clear() lowers it, wait() blocks until it is raised. Chapter 12's traffic light sets it on
//   green and clears it on red; the car processes wait for it:
//
//       wb::Event green;                              // created clear, before the fork
//       // a car process:
//       if (!green.wait(30)) complain("no green light for 30 s");
//       cross();
//       // the light process:
//       green.set(); wb::clock::sleep(2); green.clear(); wb::clock::sleep(2); ...
//
//   Like wb::Lock, the handle owns its own shared memory: create it in the parent, fork, use it
//   everywhere; spawned children use fd() and Event::adopt().
//
// State model
//   clear <-> set. set() on a set event and clear() on a clear one change nothing. Internally
//   one 32-bit word: bit 0 is the flag, the other bits count how often set() raised it, so that a
//   waiter can tell that the flag was raised even if it was lowered again before the waiter ran.
//
// Guarantees
//   - set() wakes every waiter of every process that is blocked in wait().
//   - wait() returns true; wait(timeout) returns true when the flag was set at any moment between
//     the call and the return - including when it is already set on entry, and when a set() is
//     followed by a clear() before the waiter gets to run (Python's threading.Event.wait says
//     the same; multiprocessing.Event.wait, which looks at the flag again after waking, can miss
//     such a short pulse). It returns false only when the flag stayed clear for the whole wait.
//   - A set() that happens before wait() is entered is never lost: wait() sees the flag.
//
// Timeouts
//   wait(timeout) takes logical seconds (wb/clock.hpp) and sleeps until an absolute
//   CLOCK_MONOTONIC deadline (resuming after signals). timeout <= 0 only looks at the flag;
//   +infinity waits forever.
//
// Process death, and why this is not a mutex + condition variable
//   The obvious construction (a robust process-shared mutex, a process-shared condvar with
//   CLOCK_MONOTONIC, broadcast on set) wedges in glibc 2.36: a waiter SIGKILLed while blocked in
//   pthread_cond_wait keeps its reference on the condvar's waiter group, and the second
//   pthread_cond_broadcast after that waits for the reference forever - while holding the
//   event's mutex, so every process hangs (reproduced by event_test.cpp, "a waiter killed while
//   waiting"). The Event therefore waits directly on a process-shared futex word (Linux futex(2)
//   without FUTEX_PRIVATE_FLAG, keyed by the shared page, so it wakes other processes - unlike
//   libstdc++'s atomic::wait, std::latch and std::counting_semaphore, which use private futexes).
//   A futex keeps no per-waiter state in user memory and there is no internal lock: whichever
//   process dies wherever, set(), clear() and wait() of the others are unaffected.
// Errors
//   Unexpected futex failures throw wb::SystemError. adopt() of a descriptor that is not an
//   event's memory throws std::invalid_argument. A moved-from Event may only be destroyed or
//   assigned to.
// Lifetime
//   As wb::Lock: the creating process owns the memory's contents; children's copies only unmap.
//
// Memory ordering: set() is a release operation, and a wait() or is_set() that returns true
//   because of it is an acquire operation: what the setter wrote before set() is visible to the
//   waiter after wait() returns true. clear() orders nothing.
#pragma once

#include <atomic>
#include <cstdint>

#include "wb/shared_memory.hpp"
#include "wb/sync_handle.hpp"

namespace wb {

namespace detail {
// What an event's shared memory holds.
struct EventState {
    static constexpr std::uint32_t kMagic = 0x76454277;  // "wBEv": checked by adopt()
    static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free,
                  "the futex word must be a lock-free (address-free) atomic");
    std::uint32_t magic = kMagic;
    // Bit 0: the flag. Bits 1-31: how many times set() raised it (wrapping). The futex word.
    alignas(std::atomic_ref<std::uint32_t>::required_alignment) std::uint32_t word = 0;
};
}  // namespace detail

class Event : public detail::SyncHandle<detail::EventState> {
public:
    // A new event, clear.
    Event();
    // The event created by another process, from its memory's descriptor (taken over), or from
    // the text its creator's hand_over() returned (wb/sync_handle.hpp).
    [[nodiscard]] static Event adopt(int fd);
    [[nodiscard]] static Event adopt(std::string_view handed_over);

    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    Event(Event&&) noexcept = default;
    Event& operator=(Event&&) noexcept = default;
    ~Event() = default;

    // Raises the flag and wakes all waiters in all processes.
    void set();
    // Lowers the flag. Waiters woken by an earlier set() still return true.
    void clear() noexcept;
    [[nodiscard]] bool is_set() const noexcept;

    // Blocks until the flag is set. Returns true (for symmetry with Python).
    bool wait();
    // Blocks at most `timeout` logical seconds. true: the flag was set during the wait (see the
    // guarantees above); false: it stayed clear until the deadline.
    [[nodiscard]] bool wait(double timeout);

    // fd(), set_inheritable() and hand_over(), for a spawned child: see wb/sync_handle.hpp.

private:
    explicit Event(Shared<detail::EventState>&& state) noexcept;
    bool wait_until(const timespec* monotonic_deadline);
};

}  // namespace wb
