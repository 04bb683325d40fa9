// wb/condition.hpp - Condition: Python's threading.Condition for the threads of one process.
//
// What it is
//   A lock and a waiting room in one object. A thread that holds the lock may wait(): it gives the
//   lock up and sleeps until another thread, holding the lock, calls notify(); then it takes the
//   lock back and carries on. The seed's ping-pong, and `with cond:`:
//
//       wb::Condition cond;                       // threading.Condition()
//       cond.acquire();                           // con.acquire()
//       ... change shared state ...
//       cond.notify();                            // con.notify(): wake one waiter
//       cond.wait();                              // con.wait(): release, sleep, re-acquire
//       cond.release();                           // con.release()
//
//       {
//           std::unique_lock guard(cond);         // with cond:  (lock()/unlock() are acquire/release)
//           if (!cond.wait_for([&] { return ready; }, 2.0)) { ... still not ready after 2 s ... }
//       }
//
//   The standard's std::condition_variable is the raw mechanism; it lacks three things Python's
//   Condition has and the chapter teaches: the lock is part of the object, waiting or notifying
//   without holding it is an error that is reported (not undefined behaviour), and notify(n) wakes
//   exactly the n threads that have waited longest.
//
// Design (CPython's, translated)
//   The lock is recursive with an owner, as the RLock that threading.Condition() makes by default:
//   the holding thread may acquire() again (depth + 1) and must release() as often. wait() gives
//   the lock up COMPLETELY whatever the depth, and restores the same depth when it takes it back
//   (CPython's _release_save / _acquire_restore). There is no non-recursive variant: the seed only
//   uses Condition(), and a Python Lock acquired twice by one thread would simply hang.
//
//   The waiting room is a FIFO list of waiters, each with its own wake flag (CPython gives each
//   waiter its own lock). notify(n) takes the n waiters at the head of the list - the ones that have
//   waited longest - out of the list and sets their flags; a waiter whose timeout expires takes
//   itself out. One internal std::mutex guards the owner, the depth, the list and every flag, so
//   "notified" and "timed out" can never both happen to one waiter.
//
// State model
//   The lock: free, or owned by one thread at depth >= 1.
//   A waiter: waiting (in the list, lock given up) --notify--> notified (out of the list, lock
//   wanted) --lock free--> running again (owner, old depth); or waiting --timeout--> timed out (it
//   removed itself) --lock free--> running again.
//
// Guarantees
//   - notify(n) wakes exactly min(n, waiting()) threads, the longest-waiting first; notify_all()
//     wakes every thread waiting at that moment; a thread that starts waiting afterwards is not
//     woken by it (a notify with nobody waiting is lost, as in Python).
//   - No spurious wakeups: wait() returns true only when a notify chose this thread, false only
//     when its timeout expired. But being woken is not "the state is what I waited for": the
//     notified thread competes for the lock like any other, and a thread that gets in first may
//     change the state again. Wait for a state with wait_for(predicate), which checks it each time.
//   - wait() returns holding the lock at the depth it had, also when it returns false.
//   - The lock is not fair: a thread calling acquire() may take it before a notified waiter does.
// Timeouts
//   In logical seconds (wb/clock.hpp), measured on the steady clock; no argument waits forever;
//   <= 0 releases the lock, looks once (returns false: nobody can have notified yet) and takes the
//   lock back, as Python's wait(0). A huge timeout saturates (clock::to_real), NaN is rejected
//   (std::invalid_argument).
// Errors (std::logic_error, with Python's RuntimeError messages)
//   wait()/wait_for() by a thread that does not hold the lock: "cannot wait on un-acquired lock";
//   notify()/notify_all(): "cannot notify on un-acquired lock"; release()/unlock():
//   "cannot release un-acquired lock". notify(n) with n < 0: std::invalid_argument. Nothing fails
//   silently; no assert() is involved.
// Lifetime
//   Destroying a Condition while a thread holds it or waits on it is undefined: join the threads
//   first. Not copyable, not movable (threads refer to it).
// Thread-safety
//   Every member may be called from any thread at any time; waiting() and is_owned() are snapshots.
// Memory ordering
//   The lock orders memory like a mutex: what a thread wrote before release() (or before wait()
//   gave the lock up) is visible to the next thread that acquires it, including a waiter returning
//   from wait(). In particular what the notifier wrote while holding the lock is visible to the
//   waiter it woke once that waiter's wait() returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>
#include <thread>
#include <utility>

namespace wb {

class Condition {
public:
    Condition() = default;
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    // cond.acquire(): waits until the lock is free or already the caller's; depth + 1.
    void acquire();
    // cond.acquire(timeout=t): true if acquired within `timeout` logical seconds (<= 0: only tries).
    [[nodiscard]] bool acquire(double timeout);
    // cond.release(): depth - 1; at 0 the lock is free. std::logic_error if the caller does not hold it.
    void release();

    // BasicLockable / Lockable, so std::unique_lock and std::scoped_lock give Python's `with cond:`.
    void lock() { acquire(); }
    void unlock() { release(); }
    [[nodiscard]] bool try_lock() { return acquire(0.0); }

    // cond.wait(): gives the lock up, sleeps until notified, takes the lock back. Returns true.
    bool wait();
    // cond.wait(timeout): as wait(), at most `timeout` logical seconds: false if nobody notified.
    [[nodiscard]] bool wait(double timeout);

    // cond.wait_for(predicate): wait() until predicate() is true; the predicate runs with the lock
    // held, first before any waiting. Returns true.
    template <typename Predicate>
    bool wait_for(Predicate predicate) {
        while (!static_cast<bool>(predicate())) wait();
        return true;
    }
    // cond.wait_for(predicate, timeout): the same, for at most `timeout` logical seconds in all;
    // returns the predicate's last value (false: it still did not hold when the time was up).
    template <typename Predicate>
    [[nodiscard]] bool wait_for(Predicate predicate, double timeout) {
        const Deadline end = deadline_in(timeout);
        while (!static_cast<bool>(predicate())) {
            if (!wait_until(end)) return static_cast<bool>(predicate());
        }
        return true;
    }

    // cond.notify(n=1): wakes the n longest-waiting threads (fewer if fewer wait). Does not give the
    // lock up: the woken threads run once the caller releases it.
    void notify(int n = 1);
    // cond.notify_all(): wakes every thread waiting now.
    void notify_all();

    // Not in Python: how many threads are waiting and not yet notified (a snapshot). A test or a
    // demo that must know all its waiters are asleep before it notifies asks this while holding
    // the lock (then nobody can start or stop waiting meanwhile, except by a timeout).
    [[nodiscard]] std::size_t waiting() const;
    // Python's private _is_owned(): whether the calling thread holds the lock.
    [[nodiscard]] bool is_owned() const;

private:
    using Deadline = std::chrono::steady_clock::time_point;
    struct Waiter {
        std::condition_variable wake;
        bool notified = false;
    };
    static Deadline deadline_in(double timeout);
    static Deadline forever() { return Deadline::max(); }
    // One wait, until notified (true) or `end` (false). Checks ownership.
    bool wait_until(Deadline end);
    // Takes the lock for `me` with `depth`, waiting while another thread owns it (until `end`).
    bool take_lock(std::unique_lock<std::mutex>& guard, std::thread::id me, unsigned depth, Deadline end);

    mutable std::mutex mutex_;            // guards everything below
    std::condition_variable lock_freed_;  // signalled when owner_ becomes nobody
    std::thread::id owner_;               // std::thread::id{} when free
    unsigned depth_ = 0;
    std::list<Waiter*> waiters_;          // FIFO: the head has waited longest
};

}  // namespace wb
