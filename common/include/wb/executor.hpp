// wb/executor.hpp - ThreadPoolExecutor and Future: Python's concurrent.futures for threads, and
// named pools used as decorators (the seed's vthread.pool).
//
// What it is
//   A fixed-size pool of worker threads fed by one internal work queue. submit() puts a call in
//   the queue and returns at once with a Future for its result; an idle worker takes it out and
//   runs it. Chapter 20, after the seed's concurrent.futures examples:
//
//       wb::ThreadPoolExecutor ex(2, "worker");             // ThreadPoolExecutor(2, "worker")
//       wb::Future<int> f = ex.submit(square, 7);            // f = ex.submit(square, 7)
//       int r = f.result();                                  // 49, or the task's exception
//       auto [done, not_done] = wb::wait(fs);                // wait(fs)  (ALL_COMPLETED)
//       for (wb::Future<int> g : wb::as_completed(fs)) ...   // in the order they finished
//       std::vector<int> squares = ex.map(square, inputs);   // in the order of the inputs
//       ex.shutdown();                                       // or let the destructor do it
//
//   `with ThreadPoolExecutor(2) as ex:` is a scope: the destructor is shutdown(wait=true), so the
//   closing brace waits for every task submitted (Python's __exit__ does the same).
//
//   The seed's vthread decorator, `pool_1 = vthread.pool(5, gqueue=1)` then `@pool_1 def f(n)`:
//
//       auto crawl = wb::pool(5, "crawl")(fetch);   // each call of crawl runs fetch on pool "crawl"
//       crawl(url);                                 // returns a Future at once
//       wb::pool(5, "crawl").join();                // waits for every call made so far
//       wb::shutdown_named_pools();                 // what vthread does at exit: wait for all, end
//
//   Same name, same pool (vthread's gqueue): two functions decorated with pools of one name share
//   its workers and its queue.
//
// Workers
//   Started lazily as in Python: a submit() that finds no idle worker starts a new one while
//   fewer than max_workers run; workers live until shutdown. Each is a wb::Thread named
//   "<thread_name_prefix>_<N>" (N from 0, Python's naming; default prefix
//   "ThreadPoolExecutor-<K>"), so the events a task emits are attributed to its worker, and
//   enumerate_threads() lists the workers (being wb::Threads, they also advance the Thread-N count).
//   Failure to start one (EAGAIN) throws wb::SystemError("pthread_create") from that submit(),
//   and the call is not queued.
//
// States of a Future
//   pending --a worker takes it--> running --the call returns or throws--> finished
//   pending --cancel() or shutdown(cancel_futures=true)--> cancelled
//   done() is true when finished or cancelled; both are final. cancel() succeeds (returns true)
//   only while pending, or when already cancelled: a running call is never interrupted (threads
//   cannot be killed, Python's cannot either). A default-constructed Future has no state
//   (valid() is false; every other call throws std::logic_error).
//
// Guarantees
//   - Each submitted call runs at most once, in one worker, FIFO among the queued ones; it runs
//     unless cancelled first. Everything the call did happens before result() returns, and before
//     wait()/as_completed() report it done.
//   - result() returns the value (a reference into the shared state, valid while a Future of it
//     lives) or rethrows the exception the call threw - the same exception object, any type.
//     exception() returns it as std::exception_ptr (null after success).
//   - wait() returns two lists, done and not_done, each in the order of the input; done holds
//     every future done when it returned (cancelled ones included). first_completed returns once
//     one is done, first_exception once one finished by throwing (cancelled does not count) or all
//     are done, all_completed once all are done.
//   - as_completed() yields each distinct future once: those already done when it is called first
//     (in input order), then each as it becomes done, in the order they became done.
//   - map() returns the results in the order of its inputs, whatever order they ran in. If one
//     throws (or the timeout passes), the calls not yet started are cancelled and the exception
//     propagates.
//   - shutdown(wait=true) returns after every queued call has run (or was cancelled) and every
//     worker has ended. shutdown(wait=false) returns at once; the workers still run the queue
//     empty and end, and the destructor joins them (C++ cannot leave a thread behind its pool).
//     shutdown(cancel_futures=true) cancels every call still queued; running ones go on.
// Timeouts
//   In logical seconds (wb/clock.hpp), on the steady clock; wb::forever (the default) waits
//   without limit, <= 0 only looks. Running out throws wb::TimeoutError (concurrent.futures.
//   TimeoutError) from result(), exception(), as_completed's iteration and map(); wait() does not
//   throw, it returns what is done by then. A timeout never cancels or interrupts the call.
// Errors
//   submit()/map() after shutdown(): std::logic_error("cannot schedule new futures after
//   shutdown"), Python's RuntimeError. max_workers <= 0: std::invalid_argument. result() or
//   exception() of a cancelled future: wb::CancelledError. pool(n, name) with a size different
//   from the existing pool of that name: std::invalid_argument.
// Lifetime
//   The destructor is shutdown(wait=true). Do not destroy (or shutdown(wait=true)) an executor
//   from one of its own workers: it would wait for itself (std::logic_error). Futures may outlive
//   their executor. Named pools live until shutdown_named_pools(): call it before main returns.
// Thread-safety
//   Every member of ThreadPoolExecutor, Future and NamedPool may be called from any thread,
//   including from the pool's own tasks (a task may submit more tasks; waiting inside a task for
//   another task of the same pool deadlocks when every worker waits so - size the pool for it).
//
// Memory ordering: what submit()'s caller wrote before submit() is visible to the call; what
//   the call wrote is visible after result()/exception()/done()==true/wait()/as_completed()
//   reported it done (a mutex orders them).
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace wb {

class Thread;

// "No timeout": wait as long as it takes (Python's timeout=None).
inline constexpr double forever = std::numeric_limits<double>::infinity();

// concurrent.futures.TimeoutError: a result did not arrive within the timeout.
class TimeoutError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// concurrent.futures.CancelledError: the result of a call that was cancelled before it ran.
class CancelledError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class FutureStatus { pending, running, cancelled, finished };
[[nodiscard]] const char* to_string(FutureStatus status) noexcept;

// wait()'s return_when (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED).
enum class ReturnWhen { first_completed, first_exception, all_completed };

namespace detail {

struct Waiter;

// What every Future shares, whatever its result type: the state and the exception.
struct FutureCore {
    mutable std::mutex mutex;
    std::condition_variable changed;
    FutureStatus status = FutureStatus::pending;
    std::exception_ptr error;
    std::vector<std::shared_ptr<Waiter>> waiters;

    // A worker takes the call: pending -> running (true); false if it was cancelled.
    bool start_running();
    // pending -> cancelled (true); true if already cancelled; false when running or finished.
    bool cancel();
    // Waits until done; false on timeout.
    bool wait_done(double timeout) const;
    // running -> finished; `store` runs under the mutex to store the value. Notifies everyone.
    template <typename Store>
    void finish(std::exception_ptr e, Store&& store) {
        {
            std::lock_guard lock(mutex);
            if (!e) store();
            error = std::move(e);
            status = FutureStatus::finished;
            notify_waiters_locked();
        }
        changed.notify_all();
    }
    // Tells the registered waiters, under `mutex`: the order they record is the order of the
    // state changes (a call that waits for this one's result cannot be recorded before it).
    void notify_waiters_locked();
    // After wait_done: throws CancelledError for a cancelled future.
    void throw_if_cancelled() const;
};

template <typename R>
struct FutureData : FutureCore {
    std::conditional_t<std::is_void_v<R>, std::monostate, std::optional<R>> value;
};

// A call queued in an executor: runs it and completes its future.
struct WorkItem {
    virtual ~WorkItem() = default;
    virtual void run() = 0;
    virtual FutureCore& core() = 0;
};

template <typename R, typename F, typename Tuple>
struct WorkItemFor final : WorkItem {
    WorkItemFor(std::shared_ptr<FutureData<R>> d, F f, Tuple a)
        : data(std::move(d)), fn(std::move(f)), args(std::move(a)) {}
    void run() override {
        if (!data->start_running()) return;  // cancelled while queued
        try {
            if constexpr (std::is_void_v<R>) {
                std::apply(fn, args);
                data->finish(nullptr, [] {});
            } else {
                R r = std::apply(fn, args);
                data->finish(nullptr, [&] { data->value.emplace(std::move(r)); });
            }
        } catch (...) {
            data->finish(std::current_exception(), [] {});
        }
    }
    FutureCore& core() override { return *data; }
    std::shared_ptr<FutureData<R>> data;
    F fn;
    Tuple args;
};

// Registers a waiter on `cores` and waits as `when` says, at most `timeout`.
void wait_cores(const std::vector<FutureCore*>& cores, double timeout, ReturnWhen when);

// The completion order of a set of futures, for as_completed.
class CompletionQueue {
public:
    CompletionQueue(const std::vector<FutureCore*>& cores, double timeout);
    ~CompletionQueue();
    CompletionQueue(const CompletionQueue&) = delete;
    CompletionQueue& operator=(const CompletionQueue&) = delete;
    // The next future to become done (those already done first); nullptr when all were yielded.
    // Throws TimeoutError when the deadline passes first.
    FutureCore* next();

private:
    std::vector<FutureCore*> cores_;
    std::shared_ptr<Waiter> waiter_;
    std::size_t yielded_ = 0;
    std::chrono::steady_clock::time_point deadline_;
    bool limited_;
};

}  // namespace detail

// concurrent.futures.Future: the result of one submitted call. Copies share the same state.
template <typename R>
class Future {
public:
    Future() = default;
    explicit Future(std::shared_ptr<detail::FutureData<R>> data) : data_(std::move(data)) {}

    [[nodiscard]] bool valid() const noexcept { return data_ != nullptr; }
    [[nodiscard]] FutureStatus status() const {
        std::lock_guard lock(core().mutex);
        return data_->status;
    }
    [[nodiscard]] bool done() const {
        const FutureStatus s = status();
        return s == FutureStatus::finished || s == FutureStatus::cancelled;
    }
    [[nodiscard]] bool running() const { return status() == FutureStatus::running; }
    [[nodiscard]] bool cancelled() const { return status() == FutureStatus::cancelled; }
    // Cancels the call if it has not started; true if the future is (now) cancelled.
    bool cancel() { return core().cancel(); }

    // The call's value, or its exception rethrown. Waits at most `timeout` logical seconds
    // (TimeoutError); CancelledError if it was cancelled.
    decltype(auto) result(double timeout = forever) const {
        wait_or_throw(timeout);
        if (data_->error) std::rethrow_exception(data_->error);
        if constexpr (std::is_void_v<R>) {
            return;
        } else {
            return static_cast<const R&>(*data_->value);
        }
    }
    // The exception the call threw (null if it returned). Same waiting and errors as result().
    [[nodiscard]] std::exception_ptr exception(double timeout = forever) const {
        wait_or_throw(timeout);
        return data_->error;
    }

    // The shared state, for wait() and as_completed().
    [[nodiscard]] detail::FutureCore* core_ptr() const noexcept { return data_.get(); }
    friend bool operator==(const Future& a, const Future& b) noexcept { return a.data_ == b.data_; }

private:
    detail::FutureCore& core() const {
        if (!data_) throw std::logic_error("Future has no state");
        return *data_;
    }
    void wait_or_throw(double timeout) const {
        if (!core().wait_done(timeout)) throw TimeoutError("the future did not complete within the timeout");
        data_->throw_if_cancelled();
    }
    std::shared_ptr<detail::FutureData<R>> data_;
};

// wait()'s result: (done, not_done), each in input order.
template <typename R>
struct DoneAndNotDone {
    std::vector<Future<R>> done;
    std::vector<Future<R>> not_done;
};

// concurrent.futures.wait(fs, timeout, return_when).
template <typename R>
DoneAndNotDone<R> wait(const std::vector<Future<R>>& fs, double timeout = forever,
                       ReturnWhen return_when = ReturnWhen::all_completed) {
    std::vector<detail::FutureCore*> cores;
    for (const auto& f : fs) {
        if (!f.valid()) throw std::logic_error("wait(): a Future has no state");
        cores.push_back(f.core_ptr());
    }
    detail::wait_cores(cores, timeout, return_when);
    DoneAndNotDone<R> out;
    for (const auto& f : fs) (f.done() ? out.done : out.not_done).push_back(f);
    return out;
}

// concurrent.futures.as_completed(fs, timeout): a range over the futures in the order they
// become done. The timeout counts from the call; running out throws TimeoutError from the
// iteration. Iterate once.
template <typename R>
class AsCompleted {
public:
    AsCompleted(std::vector<Future<R>> fs, double timeout) : queue_(cores_of(fs), timeout) {
        for (auto& f : fs) by_core_.emplace(f.core_ptr(), std::move(f));
    }
    AsCompleted(const AsCompleted&) = delete;
    AsCompleted& operator=(const AsCompleted&) = delete;

    // The next future to complete; an invalid Future when all were yielded.
    Future<R> next() {
        detail::FutureCore* core = queue_.next();
        return core == nullptr ? Future<R>() : by_core_.at(core);
    }

    struct End {};
    class Iterator {
    public:
        using value_type = Future<R>;
        using difference_type = std::ptrdiff_t;
        Future<R> operator*() const { return current_; }
        Iterator& operator++() {
            current_ = owner_->next();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const Iterator& it, End) noexcept { return !it.current_.valid(); }

    private:
        friend class AsCompleted;
        explicit Iterator(AsCompleted* owner) : owner_(owner), current_(owner->next()) {}
        AsCompleted* owner_;
        Future<R> current_;
    };
    Iterator begin() { return Iterator(this); }
    End end() noexcept { return {}; }

private:
    static std::vector<detail::FutureCore*> cores_of(const std::vector<Future<R>>& fs) {
        std::vector<detail::FutureCore*> cores;
        for (const auto& f : fs) {
            if (!f.valid()) throw std::logic_error("as_completed(): a Future has no state");
            cores.push_back(f.core_ptr());
        }
        return cores;
    }
    detail::CompletionQueue queue_;
    std::unordered_map<detail::FutureCore*, Future<R>> by_core_;
};

template <typename R>
AsCompleted<R> as_completed(std::vector<Future<R>> fs, double timeout = forever) {
    return AsCompleted<R>(std::move(fs), timeout);
}

// concurrent.futures.ThreadPoolExecutor.
class ThreadPoolExecutor {
public:
    // Python's default size: min(32, CPUs + 4).
    ThreadPoolExecutor();
    // max_workers > 0 (std::invalid_argument otherwise); workers named <prefix>_0, <prefix>_1, ...
    explicit ThreadPoolExecutor(int max_workers, std::string thread_name_prefix = "");
    ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
    ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
    // shutdown(wait=true).
    ~ThreadPoolExecutor();

    // Schedules f(args...) (arguments copied now, as Thread does) and returns its Future.
    template <typename F, typename... Args>
        requires std::invocable<std::decay_t<F>&, std::decay_t<Args>&...>
    auto submit(F&& f, Args&&... args) {
        using R = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>;
        auto data = std::make_shared<detail::FutureData<R>>();
        auto tuple = std::make_tuple(std::forward<Args>(args)...);
        enqueue(std::make_unique<detail::WorkItemFor<R, std::decay_t<F>, decltype(tuple)>>(
            data, std::forward<F>(f), std::move(tuple)));
        return Future<R>(std::move(data));
    }

    // map(f, inputs, timeout): f(x) for every x, all submitted at once, results in input order.
    // The timeout (from the call) bounds the whole; on an exception or a timeout the calls not
    // started are cancelled and the error propagates.
    template <typename F, typename Range>
    auto map(F f, const Range& inputs, double timeout = forever) {
        using In = std::decay_t<decltype(*std::begin(inputs))>;
        using R = std::invoke_result_t<F&, In&>;
        static_assert(!std::is_void_v<R>, "map() needs a function that returns a value");
        std::vector<Future<R>> fs;
        for (const auto& x : inputs) fs.push_back(submit(f, x));
        const auto start = std::chrono::steady_clock::now();
        std::vector<R> out;
        out.reserve(fs.size());
        try {
            for (auto& fut : fs) out.push_back(fut.result(remaining(start, timeout)));
        } catch (...) {
            for (auto& fut : fs) fut.cancel();
            throw;
        }
        return out;
    }

    // Stops accepting work. wait: return only after the queue is empty and the workers ended.
    // cancel_futures: cancel every call still queued.
    void shutdown(bool wait = true, bool cancel_futures = false);

    // A workbook addition (Python's executor has none; vthread waits so at exit): waits until
    // every call submitted so far is done, without shutting down. False on timeout.
    bool join(double timeout = forever);

    [[nodiscard]] int max_workers() const noexcept { return max_workers_; }
    [[nodiscard]] const std::string& thread_name_prefix() const noexcept { return prefix_; }
    // Workers started so far (at most max_workers).
    [[nodiscard]] int worker_count() const;

private:
    static double remaining(std::chrono::steady_clock::time_point start, double timeout);
    void enqueue(std::unique_ptr<detail::WorkItem> item);
    void worker_loop();

    int max_workers_;
    std::string prefix_;
    mutable std::mutex mutex_;
    std::condition_variable work_;  // queue not empty, or shut down
    std::condition_variable idle_;  // unfinished_ fell to 0
    std::deque<std::unique_ptr<detail::WorkItem>> queue_;
    std::size_t unfinished_ = 0;  // submitted, not yet done (queued or running)
    int idle_workers_ = 0;        // workers waiting for a call
    bool shutdown_ = false;
    std::vector<std::unique_ptr<Thread>> workers_;
    std::mutex join_mutex_;  // one joiner of the workers at a time
};

// vthread.pool(n, gqueue=name): a process-wide pool of n workers (named <name>_0 ...) that
// decorates functions. pool(n, name)(f) is a callable: each call submits f(args...) to the pool
// and returns its Future at once. Copies refer to the same pool.
class NamedPool {
public:
    explicit NamedPool(std::shared_ptr<ThreadPoolExecutor> executor) : executor_(std::move(executor)) {}

    template <typename F>
    auto operator()(F f) const {
        return [executor = executor_, f = std::move(f)](auto&&... args) {
            return executor->submit(f, std::forward<decltype(args)>(args)...);
        };
    }
    // Waits until every call made through this pool so far is done (false on timeout).
    bool join(double timeout = forever) const { return executor_->join(timeout); }
    [[nodiscard]] std::string name() const { return executor_->thread_name_prefix(); }
    [[nodiscard]] int size() const noexcept { return executor_->max_workers(); }
    [[nodiscard]] ThreadPoolExecutor& executor() const noexcept { return *executor_; }

private:
    std::shared_ptr<ThreadPoolExecutor> executor_;
};

// The named pool `name`, started with `size` workers on first use (std::invalid_argument if it
// exists with another size, or size <= 0).
[[nodiscard]] NamedPool pool(int size, const std::string& name);
// What vthread does at exit: waits for every call of every named pool, ends their workers and
// forgets them (a later pool(n, name) starts afresh; decorated functions of the old pools then
// throw std::logic_error). Call it before main returns; the chapter does at the end of a demo.
void shutdown_named_pools();

}  // namespace wb
