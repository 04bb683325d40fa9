// wb/process_pool.hpp - ProcessPool: a fixed set of worker processes that run tasks
// (multiprocessing.Pool).
//
// What it is
//   ProcessPool(5) forks five worker processes at once and keeps them: each task is a plain
//   function and its arguments, run by whichever worker is idle, so a worker's pid shows up
//   again and again (the seed's output shows it). Chapter 14:
//
//       int task(int i) { ...; return i; }
//       wb::ProcessPool pool(5);                                    // Pool(5)
//       for (int i = 0; i < 8; ++i)
//           pool.apply_async(task, std::tuple{i},                   // apply_async(task, (i,),
//                            [](const int& n) { done(n); });        //   callback=callback_func)
//       pool.close();                                               // pool.close()
//       pool.join();                                                // pool.join()
//
//       int four = pool.apply(task, 4);                             // synchronous
//       std::vector<int> r = pool.map(task, std::vector{1, 2, 3});  // in order
//
//   The destructor terminates the pool (kills the workers, fails what did not finish), as
//   Python's `with Pool() as p:` does at the end of the block; close() + join() first to let the
//   queued tasks finish. terminate() does the same at any time.
//
// How tasks, arguments and results cross
//   The workers are forked from the pool's process, so they run the same program image at the
//   same addresses: a task is sent as the address of a plain function (a captureless lambda
//   converts to one with unary +) plus its arguments encoded as a JSON array; the result comes
//   back as JSON. Arguments and results may be any type nlohmann::json converts (numbers,
//   strings, bool, vectors, maps, tuples, your types with to_json/from_json) - Python's pickle,
//   readably. Each worker talks to the pool over its own socket pair (wb/connection.hpp), and
//   the pool always knows which task each worker is running.
//
// Where callbacks run, and what a slow one delays
//   There is no hidden thread. The pool is driven by the thread that owns it (the one that
//   created it; use it from that thread only), inside its calls: apply_async() hands the task to
//   an idle worker at once; get()/wait()/ready() on a result, apply(), map() and join() collect
//   results as they arrive, hand waiting tasks to the workers that became idle, and run the
//   callbacks - in the parent process, in that thread, in the order results arrive. So a result
//   that arrives while the owner is busy elsewhere waits (in the socket) for its next pool call,
//   and a slow callback delays handing out further tasks and running other callbacks (Python's
//   result-handler thread has the same effect: "callbacks should complete immediately").
//   A callback may submit new tasks but must not wait on the pool (that throws
//   std::logic_error). An exception thrown by a callback propagates out of the pool call that
//   ran it (Python loses it in a thread).
//
// States
//   running --close()--> closed --join()--> joined (every task done, every worker exited and
//   reaped); running/closed --terminate() or destruction--> terminated (workers SIGKILLed and
//   reaped; tasks not finished fail with PoolTerminated, without callbacks). apply/apply_async/map
//   need `running` (std::logic_error otherwise, Python's "Pool not running"); join() needs
//   closed or terminated.
//
// Guarantees
//   - Each task runs once, in one worker; results arrive in their AsyncResult; map() returns
//     results in the order of its inputs, whatever order the chunks ran in (chunksize items per
//     message; default as Python: ceil(len / (4 x processes))).
//   - A task that throws delivers its error to the caller: get() throws TaskError, whose what()
//     names the exception's type and message (the type itself does not cross processes), and
//     error_callback is called with it. The worker goes on with the next task.
//   - A worker that dies while running a task (killed by any signal, or exit() inside the task)
//     fails exactly that task with WorkerDied, naming the signal ("killed by signal 9
//     (SIGKILL)"), calls its error_callback, and is replaced by a new worker at once (new pid);
//     the other tasks run as usual. Nothing waits forever - CPython's Pool loses such a task
//     and its get() without timeout hangs for good.
//   - get(timeout) / wait(timeout) take logical seconds (wb/clock.hpp); get throws
//     PoolTimeout when the result is not there by then (multiprocessing.TimeoutError).
//   - Workers end with the pool's process (parent-death signal, armed in the worker before any
//     task runs; they are forked by the owning thread, which the signal is tied to), and are
//     known to the library's SIGINT/SIGTERM handler, which ends them with the other children.
// Errors
//   processes < 0: std::invalid_argument (0 means one worker per usable CPU). fork/socketpair failures: wb::SystemError (the pool is
//   then terminated by its destructor as usual). A task's arguments or result that JSON cannot
//   convert: a compile error, or TaskError when decoding fails.
// Process death (of the pool's process)
//   The workers die with it (see above); there is no shared memory to clean up.
//
// Memory ordering: a task sees what the parent wrote before the fork of its worker and nothing
//   the parent writes later (a separate process): pass what it needs as arguments.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstddef>
#include <ctime>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb {

// The task threw: what() is "<exception type>: <message>", as the worker saw it.
class TaskError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// The worker running the task died before answering; what() names the signal or exit code.
class WorkerDied : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// The pool was terminated before the task finished.
class PoolTerminated : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// get(timeout) ran out before the result arrived (multiprocessing.TimeoutError).
class PoolTimeout : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

// What a worker executes for one message: decodes the arguments, calls `function`, encodes the
// result. Instantiated (and so present at the same address) in the pool's program image.
using TaskInvoker = std::string (*)(void (*function)(), std::string_view arguments);

template <typename R, typename... P>
std::string invoke_task(void (*function)(), std::string_view arguments) {
    auto* f = reinterpret_cast<R (*)(P...)>(function);
    auto args = nlohmann::json::parse(arguments).get<std::tuple<std::decay_t<P>...>>();
    return nlohmann::json(std::apply(f, std::move(args))).dump();
}

template <typename R, typename P>
std::string invoke_chunk(void (*function)(), std::string_view arguments) {
    auto* f = reinterpret_cast<R (*)(P)>(function);
    const auto inputs = nlohmann::json::parse(arguments);
    nlohmann::json results = nlohmann::json::array();
    for (const auto& input : inputs) results.push_back(f(input.get<std::decay_t<P>>()));
    return results.dump();
}

// One submitted task, as the pool tracks it.
struct TaskSlot {
    std::string request;            // what is sent to a worker
    bool done = false;
    std::string result;             // JSON, when it succeeded
    std::exception_ptr error;       // when it failed
    pid_t worker = 0;               // who ran it (0 before it was handed out)
    std::function<void(TaskSlot&)> on_done;  // runs the callbacks; set by the typed layer
};

class PoolCore;

// Encodes a request: the invoker and the function as addresses, then the JSON arguments.
[[nodiscard]] std::string encode_request(TaskInvoker invoker, void (*function)(), std::string_view arguments);

}  // namespace detail

// The handle apply_async returns (multiprocessing.pool.AsyncResult). Copyable: copies share the
// task. Its pool may be destroyed first: get() then throws PoolTerminated if it had not finished.
template <typename R>
class AsyncResult {
public:
    // Whether the task has finished (succeeded or failed). Collects results that have arrived.
    [[nodiscard]] bool ready() const;
    // Requires ready(); otherwise throws std::logic_error (Python: ValueError).
    [[nodiscard]] bool successful() const;
    // Waits until ready.
    void wait() const;
    // Waits at most `timeout` logical seconds; true if ready.
    bool wait(double timeout) const;
    // The result, waiting for it; rethrows TaskError / WorkerDied / PoolTerminated.
    [[nodiscard]] R get() const;
    // The same, giving up after `timeout` logical seconds with PoolTimeout.
    [[nodiscard]] R get(double timeout) const;
    // The pid of the worker the task was handed to (0 while it waits for a worker).
    [[nodiscard]] pid_t worker_pid() const noexcept { return slot_->worker; }

private:
    friend class ProcessPool;
    AsyncResult(std::shared_ptr<detail::PoolCore> core, std::shared_ptr<detail::TaskSlot> slot)
        : core_(std::move(core)), slot_(std::move(slot)) {}
    R value() const;
    std::shared_ptr<detail::PoolCore> core_;
    std::shared_ptr<detail::TaskSlot> slot_;
};

class ProcessPool {
public:
    // Forks `processes` workers now (Pool(processes)); default: the number of CPUs usable.
    // tasks_in_flight_per_worker: 1 (default) is Python's rule - a worker is handed a task only
    // when it is free, so the next task goes to whichever worker finishes first. N > 1 pipelines:
    // once every worker has a task, up to N are sent to each, so a worker starts its next task
    // without waiting for the pool's round trip (several times the tasks per second for tiny
    // tasks), at the price that a queued task may wait behind a long one while another worker
    // is free. A worker that dies fails only the task it was running; the ones queued behind it
    // had not started and are handed out again.
    explicit ProcessPool(int processes = 0, int tasks_in_flight_per_worker = 1);
    ProcessPool(const ProcessPool&) = delete;
    ProcessPool& operator=(const ProcessPool&) = delete;
    ProcessPool(ProcessPool&&) noexcept = default;
    ProcessPool& operator=(ProcessPool&&) = delete;
    // terminate(): the scoped form. Never throws.
    ~ProcessPool();

    // Python's apply_async(func, args, callback=..., error_callback=...). The callbacks run in
    // this process, in the owning thread, inside a later pool call (see above).
    template <typename R, typename... P, typename... A>
    AsyncResult<R> apply_async(R (*function)(P...), std::tuple<A...> args,
                               std::type_identity_t<std::function<void(const R&)>> callback = {},
                               std::function<void(const std::exception&)> error_callback = {}) {
        static_assert(!std::is_void_v<R>, "a pool task returns a value (Python's None: return a bool or 0)");
        static_assert(sizeof...(P) == sizeof...(A), "apply_async: as many arguments as the function takes");
        const nlohmann::json encoded = std::tuple<std::decay_t<P>...>(std::move(args));
        auto slot = std::make_shared<detail::TaskSlot>();
        slot->request = detail::encode_request(&detail::invoke_task<R, P...>,
                                               reinterpret_cast<void (*)()>(function), encoded.dump());
        if (callback || error_callback) {
            slot->on_done = [callback = std::move(callback), error_callback = std::move(error_callback)](
                                detail::TaskSlot& s) {
                if (!s.error) {
                    if (callback) callback(nlohmann::json::parse(s.result).get<R>());
                } else if (error_callback) {
                    try {
                        std::rethrow_exception(s.error);
                    } catch (const std::exception& e) {
                        error_callback(e);
                    }
                }
            };
        }
        submit(slot);
        return AsyncResult<R>(core_, std::move(slot));
    }

    // Python's apply(func, args): apply_async(...).get().
    template <typename R, typename... P, typename... A>
    R apply(R (*function)(P...), A&&... args) {
        return apply_async(function, std::tuple<std::decay_t<A>...>(std::forward<A>(args)...)).get();
    }

    // Python's map(func, iterable, chunksize): the results in the order of `inputs`. If a task
    // throws, map waits for the other chunks and throws the first error (in input order).
    template <typename R, typename P, typename A>
    std::vector<R> map(R (*function)(P), const std::vector<A>& inputs, std::size_t chunksize = 0) {
        static_assert(!std::is_void_v<R>, "a pool task returns a value");
        if (chunksize == 0) chunksize = default_chunksize(inputs.size());
        std::vector<std::shared_ptr<detail::TaskSlot>> chunks;
        for (std::size_t first = 0; first < inputs.size(); first += chunksize) {
            nlohmann::json part = nlohmann::json::array();
            for (std::size_t i = first; i < std::min(inputs.size(), first + chunksize); ++i) {
                part.push_back(static_cast<std::decay_t<P>>(inputs[i]));
            }
            auto slot = std::make_shared<detail::TaskSlot>();
            slot->request = detail::encode_request(&detail::invoke_chunk<R, P>,
                                                   reinterpret_cast<void (*)()>(function), part.dump());
            submit(slot);
            chunks.push_back(std::move(slot));
        }
        std::vector<R> results;
        results.reserve(inputs.size());
        std::exception_ptr first_error;
        for (const auto& chunk : chunks) {
            wait_for(*chunk, nullptr);
            if (chunk->error) {
                if (!first_error) first_error = chunk->error;
                continue;
            }
            for (auto& r : nlohmann::json::parse(chunk->result)) results.push_back(r.get<R>());
        }
        if (first_error) std::rethrow_exception(first_error);
        return results;
    }

    // No more tasks may be submitted; the queued ones still run (pool.close()).
    void close();
    // Requires close() or terminate() first. Waits until every task has finished and the workers
    // have exited, and reaps them (pool.join()).
    void join();
    // Kills the workers (SIGKILL), reaps them, fails every unfinished task with PoolTerminated.
    // Python sends SIGTERM; SIGKILL is used because a task may block or catch SIGTERM, and
    // terminate() must not wait for it. Idempotent, never throws.
    void terminate() noexcept;

    [[nodiscard]] int processes() const noexcept;
    // The pids of the current workers (a replaced worker's pid is gone from the list).
    [[nodiscard]] std::vector<pid_t> pids() const;
    // How many workers were started in all (processes() + replacements).
    [[nodiscard]] int workers_started() const noexcept;

private:
    template <typename R>
    friend class AsyncResult;
    void submit(const std::shared_ptr<detail::TaskSlot>& slot);
    void wait_for(detail::TaskSlot& slot, const timespec* deadline);
    [[nodiscard]] std::size_t default_chunksize(std::size_t items) const noexcept;
    std::shared_ptr<detail::PoolCore> core_;
};

namespace detail {
// The parts of AsyncResult that need the pool's internals.
[[nodiscard]] bool pool_ready(PoolCore& core, TaskSlot& slot);
// Waits (collecting results, running callbacks) until `slot` is done or `deadline` passes.
bool pool_wait(PoolCore& core, TaskSlot& slot, const timespec* deadline);
[[nodiscard]] std::optional<timespec> pool_deadline(double timeout);
}  // namespace detail

template <typename R>
bool AsyncResult<R>::ready() const {
    return detail::pool_ready(*core_, *slot_);
}
template <typename R>
bool AsyncResult<R>::successful() const {
    if (!ready()) throw std::logic_error("AsyncResult::successful: the task has not finished");
    return !slot_->error;
}
template <typename R>
void AsyncResult<R>::wait() const {
    (void)detail::pool_wait(*core_, *slot_, nullptr);
}
template <typename R>
bool AsyncResult<R>::wait(double timeout) const {
    const auto deadline = detail::pool_deadline(timeout);
    return detail::pool_wait(*core_, *slot_, deadline ? &*deadline : nullptr);
}
template <typename R>
R AsyncResult<R>::get() const {
    wait();
    return value();
}
template <typename R>
R AsyncResult<R>::get(double timeout) const {
    if (!wait(timeout)) throw PoolTimeout("AsyncResult::get: the result did not arrive in time");
    return value();
}
template <typename R>
R AsyncResult<R>::value() const {
    if (slot_->error) std::rethrow_exception(slot_->error);
    return nlohmann::json::parse(slot_->result).get<R>();
}

}  // namespace wb
