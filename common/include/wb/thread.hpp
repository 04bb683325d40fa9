// wb/thread.hpp - Thread and Timer: Python's threading.Thread and threading.Timer over std::jthread.
//
// What it is
//   A Thread runs a callable (or an overridden run()) in a new OS thread of this process, with
//   the bookkeeping Python's threading module has and std::thread lacks: a name, the list of live
//   threads, join with a timeout, is_alive. The seed's three ways to make one:
//
//       wb::Thread t(loop, 0, 1.0);                 // Thread(target=loop, args=(0, 1))
//       wb::Thread u(ThreadFunc{loop, {1, 2.0}});   // Thread(target=ThreadFunc(...)): a callable object
//       class MyThread : public wb::Thread {        // class MyThread(threading.Thread)
//           void run() override { ... }
//       };
//       t.start();                                  // returns once the thread is running
//       if (!t.join(1.0)) { ... still running ... }  // join(timeout=1)
//
//   What the standard library already does is used as it is: the OS thread is a std::jthread,
//   locks are std::mutex / std::recursive_mutex / std::scoped_lock (chapter 17), one-shot
//   synchronisation is std::latch. This header adds only what Python has and C++ lacks.
//
// Names
//   Default "Thread-N", N counting the Threads (and Timers) created since the demo began (the
//   chapter driver restarts the count, as it restarts Process-N), or the name given. The name is
//   also set on the OS thread (pthread_setname_np), so `ps -L`, `top -H`, gdb and perf show it -
//   but the kernel keeps at most 15 bytes of it: "LoopThread" fits, "a-very-long-name-here" is
//   shown as "a-very-long-nam" there (name() keeps the whole name). The thread's events are
//   attributed to its name (wb::set_thread_actor).
//
// State model
//   created --start()--> alive --(run() returns or throws)--> ended. is_alive() is true exactly
//   while alive: start() returns only after the new thread has registered itself (as Python's
//   start() waits for the thread's "started" event), and the thread leaves the list of live
//   threads just before it ends. An exception escaping run() ends the thread, is reported as an
//   "error" event and on stderr ("Exception in thread NAME: ..."), and does not reach the caller
//   of join() (Python does the same); the thread still counts as ended.
//
// Daemon threads, translated honestly
//   Python kills daemon threads wherever they are when the interpreter exits. C++ has no way to
//   kill a thread (it would leave locks held and objects half-changed). Here a daemon is a thread
//   that is asked to stop: when a daemon Thread is destroyed (at the end of the scope that owns
//   it, typically the end of the demo) it requests a stop on its std::stop_token and then joins.
//   The thread must cooperate: wb::this_thread::sleep(), Timer, and ThreadEvent::wait(stop_token)
//   return early when a stop is requested, so a loop written with them ends promptly; a thread
//   that never looks at its stop token is simply joined (the owner waits for it, as for a
//   non-daemon). A non-daemon Thread's destructor joins without asking it to stop, as Python's
//   interpreter waits for non-daemon threads at exit.
//
// Guarantees
//   - join() and join(timeout) may be called from any thread except the thread itself, any number
//     of times; join(timeout) returns false when the timeout elapsed first (the thread runs on).
//   - Everything the thread did happens before a join() (or a join(timeout) returning true) returns.
//   - current_thread_name(), active_count() and enumerate_threads() may be called from any thread
//     at any time; the list is a snapshot, in start order, MainThread first.
// Timeouts
//   In logical seconds (wb/clock.hpp), waiting on the steady clock; <= 0 only looks.
// Errors
//   start() twice: std::logic_error("threads can only be started once"), as in Python.
//   join() of a thread never started: std::logic_error; join() from the thread itself:
//   std::logic_error ("cannot join current thread"). set_daemon()/set_name() after start():
//   std::logic_error for the daemon flag. The name may change at any time, but the OS thread's
//   name and the actor of the thread's events are the name it had when it started. Thread creation
//   failure (EAGAIN: too many threads) throws wb::SystemError("pthread_create").
// Lifetime
//   A Thread must outlive its OS thread: the destructor joins (after a stop request for daemons).
//   A subclass that overrides run() must join in its own destructor or before it is destroyed
//   (the base destructor runs after the subclass's members are gone). Not copyable, not movable:
//   the running thread refers to its Thread object.
// Thread-safety
//   One Thread object: start() from one thread; join(), is_alive(), name(), ident() from any.
//
// Timer
//   Timer(interval, function) is a Thread whose run() waits `interval` logical seconds and then
//   calls the function - unless cancel() was called first (threading.Timer). cancel() may be
//   called from any thread; a cancel after the function began changes nothing. fired() says
//   whether the function was called. A Timer honours a stop request like any daemon.
//
// Memory ordering: what start()'s caller wrote before start() is visible in the thread; what
//   the thread wrote is visible after join() returns (or is_alive() returns false).
#pragma once

#include <sys/types.h>

#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "wb/error.hpp"

namespace wb {

namespace detail {
struct ThreadState;
}

class Thread {
public:
    // Thread(target=f, args=(a, b)): a function or a callable object, and its arguments, copied
    // now (Python binds them when the Thread is made). A target whose first parameter is a
    // std::stop_token receives the thread's token, as with std::jthread.
    template <typename F, typename... Args>
        requires std::invocable<std::decay_t<F>&, std::decay_t<Args>&...> ||
                 std::invocable<std::decay_t<F>&, std::stop_token, std::decay_t<Args>&...>
    explicit Thread(F&& target, Args&&... args) : Thread() {
        target_ = [f = std::forward<F>(target), tup = std::make_tuple(std::forward<Args>(args)...)](
                      std::stop_token stop) mutable {
            if constexpr (std::invocable<std::decay_t<F>&, std::stop_token, std::decay_t<Args>&...>) {
                std::apply([&](auto&... a) { f(stop, a...); }, tup);
            } else {
                (void)stop;
                std::apply(f, tup);
            }
        };
    }

    Thread(const Thread&) = delete;
    Thread& operator=(const Thread&) = delete;
    Thread(Thread&&) = delete;
    Thread& operator=(Thread&&) = delete;
    // Joins; for a daemon, requests a stop first (see "Daemon threads").
    virtual ~Thread();

    // Starts the thread and returns once it is alive. Throws std::logic_error when started twice.
    void start();
    // What the thread executes. The default calls the target; subclasses override it. Calling it
    // directly runs it in the caller's thread (Python's t.run(): no new thread).
    virtual void run();

    // Waits for the thread to end.
    void join();
    // Waits at most `timeout` logical seconds; true if the thread has ended.
    [[nodiscard]] bool join(double timeout);
    [[nodiscard]] bool is_alive() const;

    [[nodiscard]] std::string name() const;
    void set_name(std::string name);
    [[nodiscard]] bool daemon() const noexcept { return daemon_; }
    // Before start() only (std::logic_error after).
    void set_daemon(bool daemon);
    // The kernel's id of the thread (gettid(), Python's native_id); 0 before start().
    [[nodiscard]] pid_t native_id() const;

    // Asks the thread to stop (what the destructor of a daemon does). The thread decides.
    void request_stop() noexcept;
    // The thread's stop token, for a subclass's run() or a target that loops.
    [[nodiscard]] std::stop_token stop_token() const noexcept;

protected:
    // For subclasses that override run(): named Thread-N until set_name().
    Thread();
    // What the destructor does: a stop request for a daemon, then join if started. For the
    // destructor of a subclass, which must stop using its members before they are destroyed.
    void stop_and_join() noexcept;

private:
    void bootstrap(std::stop_token stop);
    std::function<void(std::stop_token)> target_;
    std::shared_ptr<detail::ThreadState> state_;
    bool daemon_ = false;
    std::jthread thread_;  // last member: destroyed (joined) before the rest
};

// threading.Timer: calls `function` after `interval` logical seconds unless cancelled first.
class Timer : public Thread {
public:
    Timer(double interval, std::function<void()> function);
    ~Timer() override;

    // Stops the timer if it is still waiting; the function will then never run.
    void cancel();
    // Whether the function was called (false until it was; false for good after a cancel).
    [[nodiscard]] bool fired() const;
    [[nodiscard]] double interval() const noexcept { return interval_; }

    void run() override;

private:
    double interval_;
    std::function<void()> function_;
    mutable std::mutex mutex_;
    std::condition_variable_any wake_;
    bool cancelled_ = false;
    bool fired_ = false;
};

// One entry of enumerate_threads().
struct ThreadInfo {
    std::string name;
    pid_t native_id;  // gettid()
    bool daemon;
};

// threading.current_thread().name: the wb::Thread's name in one of its threads, "MainThread"
// in the process's main thread, otherwise the OS thread's name (at most 15 bytes; a bare
// std::thread inherits its creator's) - Python calls those "Dummy-N".
[[nodiscard]] std::string current_thread_name();
// threading.active_count(): the main thread plus every wb::Thread that is alive.
[[nodiscard]] std::size_t active_count();
// threading.enumerate(): the main thread first, then the live wb::Threads in start order.
[[nodiscard]] std::vector<ThreadInfo> enumerate_threads();

namespace this_thread {
// The stop token of the calling wb::Thread (a token that never stops elsewhere).
[[nodiscard]] std::stop_token stop_token() noexcept;
// Sleeps `logical_seconds` (wb/clock.hpp) unless a stop is requested for the calling wb::Thread
// first. Returns true after a full sleep, false when it was cut short by a stop request.
[[nodiscard]] bool sleep(double logical_seconds);
}  // namespace this_thread

namespace detail {
// The chapter driver restarts Thread-N at every demo (as Process-N).
void reset_thread_numbering() noexcept;
}  // namespace detail

// Starts several threads that wait for each other (at a std::latch, a std::barrier, a flag).
// If one of them cannot be started - out of threads: wb::SystemError("pthread_create") - the ones
// already running would wait for it forever, and their owner's join (or a destructor's) with
// them. So before the error propagates, release(started) is called with how many did start, to
// let those finish: count the latch down for the missing ones, drop them from the barrier, set
// the stop flag. Then the error is rethrown. `threads` is a range of wb::Thread pointers or
// std::unique_ptr<wb::Thread>s (or of a class derived from it), started in order.
//
//     std::latch all_there(10);
//     wb::start_all(threads, [&](std::size_t started) { all_there.count_down(10 - started); });
template <typename Threads, typename Release>
void start_all(Threads&& threads, Release&& release) {
    std::size_t started = 0;
    try {
        for (auto& t : threads) {
            t->start();
            ++started;
        }
    } catch (...) {
        release(started);
        throw;
    }
}

// std::jthread(f, args...) for code that uses the standard thread directly (chapters 03 and 12):
// the same thread, but a failure to create it (EAGAIN: the process or user is out of threads)
// is reported as wb::SystemError("pthread_create: Resource temporarily unavailable") rather than
// the standard's bare "Resource temporarily unavailable", which names no call.
template <typename F, typename... Args>
[[nodiscard]] std::jthread start_jthread(F&& f, Args&&... args) {
    try {
        return std::jthread(std::forward<F>(f), std::forward<Args>(args)...);
    } catch (const std::system_error& e) {
        throw_errno("pthread_create", e.code().value());
    }
}

}  // namespace wb
