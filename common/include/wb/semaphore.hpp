// wb/semaphore.hpp - Semaphore and BoundedSemaphore shared by processes
// (multiprocessing.Semaphore / BoundedSemaphore).
//
// What it is
//   A counter of permits. acquire() takes one, waiting while there are none; release() gives one
//   back and wakes one waiter. Semaphore(4) lets at most four processes into a room (chapter 11's
//   KTV). It is a POSIX unnamed semaphore (sem_t, pshared = 1) in shared memory owned by the
//   handle, like wb::Lock: create it in the parent, fork, use it in every child.
//
//       wb::Semaphore rooms(4);
//       // in each singer process:
//       {
//           auto permit = rooms.hold();          // waits for a free room
//           sing();
//       }                                        // the room is free again
//
//   std::counting_semaphore is NOT an alternative across processes: libstdc++ builds it on
//   private futexes (atomic::wait), which never wake a waiter in another process.
//
// State model
//   value() >= 0 permits. acquire: value > 0 ? value - 1 : wait. release: value + 1, waking one
//   waiter if any. Permits have no owner: any process may release, including one that never
//   acquired (that is how a semaphore is used for signalling, see the ping-pong benchmark).
//   BoundedSemaphore(n) additionally never lets value exceed n: a release that would make it
//   n + 1 throws wb::ReleasedTooManyTimes (a std::logic_error; Python raises ValueError:
//   threading's "Semaphore released too many times", multiprocessing's "semaphore or lock
//   released too many times") and changes nothing.
//   Why the bound is sound under concurrency: releases of a bounded semaphore are serialised by a
//   robust process-shared mutex in the same shared memory, and checked (sem_getvalue < n) and
//   applied (sem_post) inside it; concurrent acquires can only lower the value in between, so
//   the value after the post is still <= n.
//
// Timeouts
//   acquire(timeout) takes logical seconds (wb/clock.hpp), waits with sem_clockwait on
//   CLOCK_MONOTONIC (resuming after signals, EINTR, until the same deadline) and returns false
//   when the deadline passes with no permit. timeout <= 0 tries once; +infinity waits forever.
//
// Process death
//   A process that dies holding a permit takes it with it: the value stays one lower for good
//   (as in Python; a semaphore does not know who holds what). A process killed while waiting
//   leaves nothing behind. A process killed inside a bounded release is detected through the
//   robust mutex; the count needs no repair (it lives in the sem_t, changed atomically).
// Errors
//   Initial value < 0 or > SEM_VALUE_MAX: std::invalid_argument. Failed calls: wb::SystemError
//   (e.g. sem_post's EOVERFLOW). adopt() of a descriptor that is not a semaphore's memory:
//   std::invalid_argument. A moved-from semaphore may only be destroyed or assigned to.
// Lifetime
//   As wb::Lock: the creating process destroys the sem_t with its handle; no process may be
//   waiting then. Children's copies only unmap.
//
// Memory ordering: a release() synchronises-with the acquire() that takes its permit, in any
//   process: what the releaser wrote before release() is visible to that acquirer afterwards.
#pragma once

#include <semaphore.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "wb/lock.hpp"
#include "wb/shared_memory.hpp"
#include "wb/sync_handle.hpp"

namespace wb {

// BoundedSemaphore::release() above the initial value (Python's ValueError).
class ReleasedTooManyTimes : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

namespace detail {
// What a semaphore's shared memory holds.
struct SemaphoreState {
    static constexpr std::uint32_t kMagic = 0x6d534277;  // "wBSm": checked by adopt()
    SemaphoreState(int value, int bound);                // bound < 0: unbounded
    ~SemaphoreState();
    SemaphoreState(const SemaphoreState&) = delete;
    SemaphoreState& operator=(const SemaphoreState&) = delete;

    std::uint32_t magic = kMagic;
    int bound;
    sem_t sem;
    SharedMutex release_mutex{Robustness::robust};  // serialises bounded releases
};
}  // namespace detail

class Semaphore : public detail::SyncHandle<detail::SemaphoreState> {
public:
    // Releases its permit when it goes out of scope (Python's `with sem:`). Move-only. The
    // Semaphore handle must outlive it and not be moved from meanwhile.
    class [[nodiscard]] Permit {
    public:
        Permit(Permit&& other) noexcept;
        Permit& operator=(Permit&&) = delete;
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        // Releases if still held; a failing release here terminates (noexcept): call release()
        // to handle errors.
        ~Permit();
        void release();  // once; throws std::logic_error the second time

    private:
        friend class Semaphore;
        explicit Permit(Semaphore& semaphore) noexcept : semaphore_(&semaphore) {}
        Semaphore* semaphore_;
    };

    // A semaphore with `value` permits (Python's default is 1).
    explicit Semaphore(int value = 1);
    // The semaphore created by another process, from its memory's descriptor (taken over).
    // Works for bounded ones too (the bound lives in the shared memory). The string form takes
    // what the creator's hand_over() returned (wb/sync_handle.hpp).
    [[nodiscard]] static Semaphore adopt(int fd);
    [[nodiscard]] static Semaphore adopt(std::string_view handed_over);

    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;
    Semaphore(Semaphore&&) noexcept = default;
    Semaphore& operator=(Semaphore&&) noexcept = default;
    ~Semaphore() = default;

    // Takes a permit, waiting as long as needed.
    void acquire();
    // Takes a permit, waiting at most `timeout` logical seconds; false on timeout.
    [[nodiscard]] bool acquire(double timeout);
    // Takes a permit if one is free now.
    [[nodiscard]] bool try_acquire();
    // Gives a permit back. BoundedSemaphore: throws ReleasedTooManyTimes above the bound.
    void release();
    // acquire() wrapped in a Permit.
    [[nodiscard]] Permit hold();

    // The number of free permits now (already stale when read while others run).
    [[nodiscard]] int value() const;
    // The bound of a BoundedSemaphore (its initial value), -1 for an unbounded Semaphore.
    [[nodiscard]] int bound() const noexcept;

    // fd(), set_inheritable() and hand_over(), for a spawned child: see wb/sync_handle.hpp.

protected:
    Semaphore(int value, bool bounded);
    explicit Semaphore(Shared<detail::SemaphoreState>&& state) noexcept;
};

// A Semaphore whose value never exceeds its initial value: releasing a permit that was never
// acquired is reported instead of silently enlarging the room.
class BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(int value = 1);
    // Throws std::invalid_argument if `fd` holds an unbounded semaphore.
    [[nodiscard]] static BoundedSemaphore adopt(int fd);
    [[nodiscard]] static BoundedSemaphore adopt(std::string_view handed_over);

private:
    explicit BoundedSemaphore(Semaphore&& adopted) noexcept : Semaphore(std::move(adopted)) {}
};

}  // namespace wb
