// wb/lock.hpp - Lock: a mutual-exclusion lock shared by processes (multiprocessing.Lock), which
// by default survives the death of its holder.
//
// What it is
//   A pthread mutex with PTHREAD_PROCESS_SHARED in shared memory (wb/shared_memory.hpp). Create
//   it in the parent, fork, and every child locks the same mutex:
//
//       wb::Lock lock;                          // robust by default
//       wb::Shared<Tickets> db;
//       // in each buyer process:
//       {
//           auto guard = lock.hold();           // blocks until this process holds the lock
//           if (guard.previous_owner_died()) repair(*db);   // a buyer died mid-purchase
//           if (db->remaining > 0) { --db->remaining; ++db->sold; }
//       }                                       // released here, also on exceptions
//
// Where the mutex lives (a design choice)
//   A Lock owns its own small shared mapping (one page, one memfd) and the Lock object itself is
//   an ordinary handle that points into it. So `wb::Lock lock;` as a local variable in the parent
//   is all it takes: forked children inherit the handle and the mapping, as Python's
//   multiprocessing.Lock() just works in children. The alternative (a Lock object that must be
//   placed inside a Shared<...>) fails silently when someone forgets and declares it in private
//   memory: each process then locks its own copy and nothing is excluded. The price is one page
//   and one descriptor per lock, nothing for a workbook. A Lock handle must not be stored inside
//   a Shared<T> (it holds a private pointer); keep it next to the Shared<T> it protects.
//   Spawned children: pass fd() (made inheritable with set_inheritable(true)) and Lock::adopt(fd).
//
// State model
//   free <-> held by exactly one thread of one process. The owner is a *thread*: the mutex is of
//   type PTHREAD_MUTEX_ERRORCHECK, so
//     - release() by a thread that does not hold it throws wb::SystemError (EPERM). This is
//       stricter than Python, whose Lock may be released by anyone;
//     - acquire() by the thread already holding it throws wb::SystemError (EDEADLK) instead of
//       deadlocking (use a recursive lock if you mean re-entry; chapter 17 shows RLock).
//   A child forked while its parent holds the lock does not hold it.
//
// Robust (default) or not
//   Robustness::robust adds PTHREAD_MUTEX_ROBUST: when the holder dies (its process is killed,
//   or its thread ends) without releasing, the kernel marks the mutex "owner died" and the next
//   acquirer gets it, with previous_owner_died == true. The data it protects may be half-updated:
//   the new holder must repair it before releasing. The lock is made consistent
//   (pthread_mutex_consistent) on acquisition, so it stays usable whatever the new holder does.
//   Robustness::not_robust is a plain process-shared mutex, kept for chapter 10's demonstration
//   of the deadlock the Python tutorial warns about: a holder killed while holding it leaves it
//   locked forever; every other acquire() blocks forever and acquire(timeout) reports the timeout.
//
// Timeouts
//   acquire(timeout) takes logical seconds (wb/clock.hpp: real time = logical x time scale) and
//   waits with pthread_mutex_clocklock on CLOCK_MONOTONIC. It returns acquired == false when the
//   deadline passes first. timeout <= 0 tries once without blocking; +infinity waits forever.
//
// Errors
//   System call failures throw wb::SystemError (call name and errno text). adopt() of a
//   descriptor that is not a Lock's memory throws std::invalid_argument. A moved-from Lock may
//   only be destroyed or assigned to.
// Lifetime
//   The creating process destroys the mutex when its Lock is destroyed (see Shared<T>); it must
//   not be held or waited on then. Children's copies only unmap. Nothing outlives the processes.
//
// Memory ordering: release() synchronises-with the next acquire() that obtains the lock, in any
//   process: everything the previous holder wrote before release() is visible to the next holder
//   after acquire(). When the previous holder died, what it wrote before dying is visible, but
//   possibly only part of an update - hence the repair.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <ctime>

#include "wb/shared_memory.hpp"
#include "wb/sync_handle.hpp"

namespace wb {

enum class Robustness {
    robust,      // the next acquirer is told when the holder died, and the lock stays usable
    not_robust,  // a holder's death leaves the lock held forever (the seed's warning)
};

// What an acquisition achieved. Must be looked at: a robust lock may have been inherited from a
// dead owner, and a timed acquire may have failed.
struct [[nodiscard]] AcquireResult {
    bool acquired = false;             // this thread now holds the lock
    bool previous_owner_died = false;  // ... taken over from a holder that died (robust only)
    explicit operator bool() const noexcept { return acquired; }
};

namespace detail {

// The process-shared, error-checking pthread mutex that Lock is made of, also used inside
// BoundedSemaphore. It lives in shared memory: construct it there (placement), never copy it.
// Every operation reports EOWNERDEAD as previous_owner_died after making the mutex consistent.
class SharedMutex {
public:
    explicit SharedMutex(Robustness robustness);
    ~SharedMutex();
    SharedMutex(const SharedMutex&) = delete;
    SharedMutex& operator=(const SharedMutex&) = delete;

    AcquireResult lock();
    AcquireResult lock_until(const timespec& monotonic_deadline);
    AcquireResult try_lock();
    void unlock();

private:
    AcquireResult settle(int rc, const char* call);
    pthread_mutex_t native_;
};

// What a Lock's shared memory holds.
struct LockState {
    static constexpr std::uint32_t kMagic = 0x6b4c4277;  // "wBLk": checked by Lock::adopt
    explicit LockState(Robustness r) : robustness(r), mutex(r) {}
    std::uint32_t magic = kMagic;
    Robustness robustness;
    bool previous_owner_died = false;  // written and read only by the holder
    SharedMutex mutex;
};

}  // namespace detail

class Lock : public detail::SyncHandle<detail::LockState> {
public:
    // Releases the lock when it goes out of scope (Python's `with lock:`). Move-only. It refers
    // to the Lock handle, which must outlive it and not be moved from meanwhile.
    class [[nodiscard]] Guard {
    public:
        Guard(Guard&& other) noexcept;
        Guard& operator=(Guard&&) = delete;
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;
        // Releases if still held. A failing release in the destructor terminates the program
        // (it is noexcept); call release() to handle that error yourself.
        ~Guard();
        // Whether this acquisition took the lock over from a holder that died.
        [[nodiscard]] bool previous_owner_died() const noexcept { return previous_owner_died_; }
        // Releases now (once); the destructor then does nothing.
        void release();

    private:
        friend class Lock;
        Guard(Lock& lock, bool previous_owner_died) noexcept
            : lock_(&lock), previous_owner_died_(previous_owner_died) {}
        Lock* lock_;
        bool previous_owner_died_;
    };

    // A new, free lock in its own shared memory. Throws SystemError.
    explicit Lock(Robustness robustness = Robustness::robust);
    // The lock created by another process, from the descriptor of its memory (taken over), or
    // from the text its creator's hand_over() returned (see wb/sync_handle.hpp).
    [[nodiscard]] static Lock adopt(int fd);
    [[nodiscard]] static Lock adopt(std::string_view handed_over);

    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    Lock(Lock&&) noexcept = default;
    Lock& operator=(Lock&&) noexcept = default;
    ~Lock() = default;

    // Blocks until the calling thread holds the lock. acquired is always true.
    AcquireResult acquire();
    // Waits at most `timeout` logical seconds; acquired == false on timeout.
    AcquireResult acquire(double timeout);
    // Never blocks; acquired == false when another thread holds the lock.
    AcquireResult try_acquire();
    // Requires: the calling thread holds the lock; otherwise throws SystemError (EPERM).
    void release();
    // acquire() wrapped in a Guard.
    [[nodiscard]] Guard hold();

    // Lockable, so std::lock_guard / std::unique_lock / std::scoped_lock work. lock() tells of a
    // dead previous owner only through previous_owner_died() below.
    void lock() { (void)acquire(); }
    [[nodiscard]] bool try_lock() { return try_acquire().acquired; }
    void unlock() { release(); }

    // Whether the current holder's acquisition found the previous owner dead. Meaningful only to
    // the thread holding the lock (it is reset by every acquisition).
    [[nodiscard]] bool previous_owner_died() const noexcept;
    [[nodiscard]] Robustness robustness() const noexcept;

    // fd(), set_inheritable() and hand_over(), for a spawned child: see wb/sync_handle.hpp.

private:
    explicit Lock(Shared<detail::LockState>&& state) noexcept;
    AcquireResult record(AcquireResult result) noexcept;
};

}  // namespace wb
