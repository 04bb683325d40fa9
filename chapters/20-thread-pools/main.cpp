// Chapter 20 - Thread pools.
//
// Seed: 003 0x04 (线程池: the threadpool module, concurrent.futures' ThreadPoolExecutor with
// submit, wait and `with`, and the vthread decorator).
// A thread per task lets the number of threads grow with the work; a pool keeps a fixed number
// of worker threads and a queue of calls for them. submit() returns at once with a Future - the
// call's result or its exception, later. wb::ThreadPoolExecutor (wb/executor.hpp) is Python's
// concurrent.futures.ThreadPoolExecutor; wb::pool(n, name) is vthread.pool.
// The seed's rests (2 s, 0.8 s, 1 s) are logical seconds: run with --time-scale to shorten them.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <latch>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/executor.hpp"
#include "wb/output.hpp"
#include "wb/random.hpp"
#include "wb/thread.hpp"
#include "wb/thread_event.hpp"

namespace {

// sayhello(a): print, remember, rest. `ll.append(a)` from several threads is safe in Python
// because of the GIL; a std::vector needs a lock.
std::mutex ll_lock;
std::vector<std::string> ll;

void sayhello(const std::string& a, double rest) {
    wb::emit("hello", {{"name", a}}, wb::from_fields("hello: {name}"));
    {
        std::scoped_lock guard(ll_lock);
        ll.push_back(a);
    }
    wb::clock::sleep(rest);
}

void report_timing(const std::string& run, int tasks, double each, int workers, double elapsed) {
    // What the run should take: the tasks in rounds of `workers`, each round one task long.
    const double ideal = std::ceil(static_cast<double>(tasks) / workers) * each;
    wb::emit("timing",
             {{"run", run}, {"tasks", tasks}, {"each", each}, {"workers", workers}, {"elapsed", elapsed},
              {"ideal", ideal}},
             wb::from_fields("{run}: {tasks} x {each:g} s on {workers} thread(s): {elapsed:.2f} s (ideal {ideal:g} s)"));
}

// Demo 1 - the threadpool module: three sayhello(2 s) on a pool of 5, then one after another.
// threadpool.ThreadPool(5) + makeRequests + putRequest + wait() is, in concurrent.futures terms,
// five workers, three submits, and waiting for all of them.
void demo_threadpool() {
    const std::vector<std::string> seed = {"a", "b", "c"};
    constexpr double kRest = 2.0;
    wb::clock::Stopwatch watch;
    {
        wb::ThreadPoolExecutor task_pool(5, "task_pool");  // threadpool.ThreadPool(5)
        for (const auto& each : seed) task_pool.submit(sayhello, each, kRest);  // putRequest
        task_pool.join();  // task_pool.wait()
    }
    report_timing("pool", 3, kRest, 5, watch.elapsed());  // time: ~2 s - the three rest together

    watch.restart();
    for (const auto& each : seed) sayhello(each, kRest);
    report_timing("serial", 3, kRest, 1, watch.elapsed());  // time1: ~6 s
}

// Demo 2 - concurrent.futures' main(): seven sayhello(0.8 s) one after another, then on a pool
// of 2 inside `with ThreadPoolExecutor(2) as executor:`. The block's end waits for every task,
// so the time includes them all: 4 rounds of 0.8 s (two at a time, the seventh alone).
void demo_executor_timing() {
    const std::vector<std::string> seed = {"a", "b", "c", "e", "f", "g", "h"};
    constexpr double kRest = 0.8;
    wb::clock::Stopwatch watch;
    for (const auto& each : seed) sayhello(each, kRest);
    const double serial = watch.elapsed();
    report_timing("serial", 7, kRest, 1, serial);

    watch.restart();
    {
        wb::ThreadPoolExecutor executor(2, "executor");  // with ThreadPoolExecutor(2) as executor:
        for (const auto& each : seed) executor.submit(sayhello, each, kRest);
    }  // __exit__: shutdown(wait=True)
    const double pooled = watch.elapsed();
    report_timing("pool", 7, kRest, 2, pooled);
    wb::emit("speedup",
             {{"serial", serial}, {"pooled", pooled}, {"ratio", pooled / serial}, {"ideal_ratio", 4.0 / 7.0},
              {"speedup", serial / pooled}},
             wb::from_fields("the pool of 2 was {speedup:.2f} x as fast as serial (ideal 7/4: 7 rests against 4 rounds)"));
}

// Demo 3 - main2() and main3(): keep the futures, wait(f_list) for all of them, print ll.
void demo_wait() {
    const std::vector<std::string> seed = {"a", "b", "c", "e", "f", "g", "h"};
    {
        std::scoped_lock guard(ll_lock);
        ll.clear();
    }
    // main2: max_workers=10, no `with`: the executor lives on after wait() (the seed never shuts
    // it down; Python waits for its threads at exit, here its destructor does).
    wb::ThreadPoolExecutor executor(10, "main2");
    std::vector<wb::Future<void>> f_list;
    for (const auto& each : seed) f_list.push_back(executor.submit(sayhello, each, 0.8));
    auto [done, not_done] = wb::wait(f_list);  // return_when=ALL_COMPLETED (the default)
    {
        std::scoped_lock guard(ll_lock);
        wb::emit("ll", {{"ll", ll}, {"done", done.size()}, {"not_done", not_done.size()}},
                 fmt::format("print(ll): [{}] - {} done, {} not done", fmt::join(ll, ", "), done.size(),
                             not_done.size()));
    }
    wb::emit("main.end", {{"program", "main2"}}, "主线程结束 (main thread ends)");

    // main3: the pool of 2 inside `with`, wait(f_list, return_when='ALL_COMPLETED'). And
    // FIRST_COMPLETED: wait returns as soon as one is done, with the rest not done.
    {
        std::scoped_lock guard(ll_lock);
        ll.clear();
    }
    {
        wb::ThreadPoolExecutor executor3(2, "main3");
        std::vector<wb::Future<void>> fs;
        for (const auto& each : seed) fs.push_back(executor3.submit(sayhello, each, 0.8));
        auto first = wb::wait(fs, wb::forever, wb::ReturnWhen::first_completed);
        wb::emit("wait.first", {{"done", first.done.size()}, {"not_done", first.not_done.size()}},
                 wb::from_fields("FIRST_COMPLETED returned with {done} done, {not_done} not done"));
        auto all = wb::wait(fs, wb::forever, wb::ReturnWhen::all_completed);
        std::scoped_lock guard(ll_lock);
        wb::emit("ll", {{"ll", ll}, {"done", all.done.size()}, {"not_done", all.not_done.size()}},
                 fmt::format("print(ll): [{}] - {} done, {} not done", fmt::join(ll, ", "), all.done.size(),
                             all.not_done.size()));
    }
    wb::emit("main.end", {{"program", "main3"}}, "主线程结束 (main thread ends)");
}

int fetch(int n) {
    wb::clock::sleep(0.5);
    return n * n;
}

// Demo 4 - a Future's life: pending (queued), running, finished with a result; a result that is
// not there yet makes result(timeout) give up; a pending call can be cancelled, a running one not.
void demo_futures() {
    wb::ThreadEvent release;  // outlives the pool
    std::latch started(1);
    wb::ThreadPoolExecutor executor(1, "futures");
    auto running = executor.submit([&] {
        started.count_down();
        release.wait();
        return 42;
    });
    auto queued = executor.submit(fetch, 3);
    auto doomed = executor.submit(fetch, 4);
    started.wait();  // the worker has taken it
    wb::emit("future.state", {{"future", "running"}, {"status", wb::to_string(running.status())}},
             wb::from_fields("the first call: {status}"));
    wb::emit("future.state", {{"future", "queued"}, {"status", wb::to_string(queued.status())}},
             wb::from_fields("the second call: {status} (one worker, it waits in the queue)"));
    const wb::clock::Stopwatch watch;
    try {
        (void)running.result(1.0);
    } catch (const wb::TimeoutError& e) {
        wb::emit("future.timeout", {{"timeout", 1.0}, {"waited", watch.elapsed()}, {"done", running.done()}},
                 wb::from_fields("result(timeout=1) gave up after {waited:.2f} s; the call runs on (done: {done})"));
    }
    const bool cancelled_running = running.cancel();
    const bool cancelled_doomed = doomed.cancel();
    wb::emit("future.cancel", {{"running", cancelled_running}, {"pending", cancelled_doomed}},
             wb::from_fields("cancel(): a running call {running}, a pending one {pending}"));
    release.set();
    wb::emit("future.result", {{"first", running.result()}, {"second", queued.result()}, {"third_cancelled", doomed.cancelled()}},
             wb::from_fields("results: {first}, {second}; the third was cancelled: {third_cancelled}"));
}

// Demo 5 - as_completed: futures in the order they finish, not the order they were submitted.
// Five "downloads" of seeded lengths; each rests its length. The rests make the finishing order
// likely; each task also waits for the one just shorter than it before it returns, so on a busy
// machine too the order is certain (and checkable).
void demo_as_completed() {
    std::vector<double> lengths = {0.2, 0.4, 0.6, 0.8, 1.0};
    wb::Random random = wb::random_stream(20);
    for (std::size_t i = lengths.size() - 1; i > 0; --i) {  // Fisher-Yates with the seeded stream
        std::swap(lengths[i], lengths[static_cast<std::size_t>(random.uniform_int(0, static_cast<std::int64_t>(i)))]);
    }
    wb::ThreadEvent all_submitted;
    std::vector<wb::Future<int>> fs;
    wb::ThreadPoolExecutor executor(5, "download");
    auto download = [&](int task) {
        all_submitted.wait();
        const double length = lengths[static_cast<std::size_t>(task)];
        wb::clock::sleep(length);
        for (std::size_t k = 0; k < lengths.size(); ++k) {
            if (std::abs(lengths[k] - (length - 0.2)) < 1e-9) (void)fs[k].result();  // the one just shorter
        }
        wb::emit("task.done", {{"task", task}, {"length", length}},
                 wb::from_fields("task {task} done after {length:g} s"));
        return task;
    };
    for (int task = 0; task < 5; ++task) fs.push_back(executor.submit(download, task));
    all_submitted.set();
    int position = 0;
    for (wb::Future<int> f : wb::as_completed(fs)) {
        const int task = f.result();
        wb::emit("completed", {{"task", task}, {"position", ++position}, {"length", lengths[static_cast<std::size_t>(task)]}},
                 wb::from_fields("as_completed #{position}: task {task} ({length:g} s)"));
    }
}

// Demo 6 - map: every input submitted at once, the results in the order of the inputs, however
// the calls finished.
void demo_map() {
    const std::vector<int> inputs = {5, 1, 4, 2, 3};
    wb::ThreadPoolExecutor executor(5, "map");
    const std::vector<int> results = executor.map(
        [](int n) {
            wb::clock::sleep(0.2 * n);  // the larger n, the later it finishes
            wb::emit("task.done", {{"input", n}}, wb::from_fields("square({input}) done"));
            return n * n;
        },
        inputs);
    wb::emit("map.result", {{"inputs", inputs}, {"results", results}},
             fmt::format("map(square, [{}]) = [{}]", fmt::join(inputs, ", "), fmt::join(results, ", ")));
}

// Demo 7 - a task that throws. A wb::Thread's exception is printed and lost (chapter 15); a
// pool's is kept in the future and thrown again by result() in the caller - the same exception.
void demo_exception() {
    wb::ThreadPoolExecutor executor(2, "exc");
    auto divide = [](int a, int b) {
        if (b == 0) throw std::domain_error("division by zero");  // ZeroDivisionError
        return a / b;
    };
    auto good = executor.submit(divide, 10, 2);
    auto bad = executor.submit(divide, 1, 0);
    wb::emit("result", {{"value", good.result()}}, wb::from_fields("10 / 2 = {value}"));
    try {
        (void)bad.result();
    } catch (const std::domain_error& e) {
        wb::emit("raised", {{"error", e.what()}, {"type", "std::domain_error"}},
                 wb::from_fields("1 / 0: result() raised {type}: {error}"));
    }
    wb::emit("exception", {{"has_exception", bad.exception() != nullptr}, {"done", bad.done()}},
             wb::from_fields("exception() holds it: {has_exception}; the future is done: {done}"));
    try {
        (void)executor.map([&](int b) { return divide(12, b); }, std::vector{1, 2, 0, 3});
    } catch (const std::domain_error& e) {
        wb::emit("map.raised", {{"error", e.what()}}, wb::from_fields("map(...) over [1, 2, 0, 3] raised: {error}"));
    }
}

// Demo 8 - shutdown: shutdown(cancel_futures=True) cancels what has not started, the running
// call finishes; a submit after shutdown is an error (RuntimeError in Python).
void demo_shutdown() {
    wb::ThreadEvent release;
    std::latch started(1);
    wb::ThreadPoolExecutor executor(1, "shutdown");
    auto running = executor.submit([&] {
        started.count_down();
        release.wait();
        return 1;
    });
    std::vector<wb::Future<int>> queued;
    for (int i = 0; i < 4; ++i) queued.push_back(executor.submit(fetch, i));
    started.wait();  // the one worker runs it; the four wait in the queue
    executor.shutdown(false, true);  // shutdown(wait=False, cancel_futures=True)
    const auto cancelled = std::count_if(queued.begin(), queued.end(), [](const auto& f) { return f.cancelled(); });
    release.set();
    wb::emit("shutdown.cancelled", {{"queued", queued.size()}, {"cancelled", cancelled}, {"running_result", running.result()}},
             wb::from_fields("shutdown(cancel_futures=True): {cancelled} of {queued} queued calls cancelled; "
                             "the running one returned {running_result}"));
    try {
        executor.submit(fetch, 9);
    } catch (const std::logic_error& e) {
        wb::emit("shutdown.submit", {{"error", e.what()}}, wb::from_fields("submit after shutdown: {error}"));
    }
}

// Demo 9 - vthread: pool_1 = vthread.pool(5, gqueue=1), pool_2 = vthread.pool(2, gqueue=2), and
// `@pool_1 def foolfunc1(num)`: calling the decorated function queues the call on the pool and
// returns at once. foolfunc2 and foolfunc3 share pool 2 (same name, same pool). 10 calls of 1 s
// on 5 threads take 2 s; 4 + 2 calls on 2 threads take 3 s.
void fool(int which, int num) {
    wb::clock::sleep(1.0);
    wb::emit("fool", {{"func", which}, {"num", num}},
             wb::from_fields("foolstring{func}, test3 foolnumb{func}:{num}"));
}

void demo_vthread() {
    const wb::clock::Stopwatch watch;
    auto foolfunc1 = wb::pool(5, "pool_1")([](int num) { fool(1, num); });
    auto foolfunc2 = wb::pool(2, "pool_2")([](int num) { fool(2, num); });
    auto foolfunc3 = wb::pool(2, "pool_2")([](int num) { fool(3, num); });  // the same pool 2
    for (int i = 0; i < 10; ++i) foolfunc1(i);
    for (int i = 0; i < 4; ++i) foolfunc2(i);
    for (int i = 0; i < 2; ++i) foolfunc3(i);
    wb::emit("vthread.queued", {{"calls", 16}, {"elapsed", watch.elapsed()}},
             wb::from_fields("16 calls queued in {elapsed:.2f} s: the decorated functions return at once"));
    for (const auto& [name, calls, workers] : {std::tuple{"pool_1", 10, 5}, std::tuple{"pool_2", 6, 2}}) {
        wb::pool(workers, name).join();
        const double elapsed = watch.elapsed();
        const double ideal = std::ceil(static_cast<double>(calls) / workers) * 1.0;
        wb::emit("pool.done", {{"pool", name}, {"calls", calls}, {"workers", workers}, {"elapsed", elapsed}, {"ideal", ideal}},
                 wb::from_fields("{pool}: {calls} calls of 1 s on {workers} threads done after {elapsed:.2f} s (ideal {ideal:g} s)"));
    }
    wb::shutdown_named_pools();  // vthread waits for its threads at exit
}

}  // namespace

int main(int argc, char** argv) {
    wb::set_thread_actor("MainThread");
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "20-thread-pools",
        .title = "Thread pools",
        .description = "A fixed set of worker threads and a queue of calls: the seed's timings (3 x 2 s on a pool of 5,\n"
                       "7 x 0.8 s on a pool of 2, each against serial), submit and futures, wait, as_completed (in\n"
                       "completion order), map (in input order), a task that throws, shutdown cancelling queued\n"
                       "calls, and named pools used as decorators (vthread).",
        .demos = {
            {"threadpool", "threadpool module: 3 x 2 s on a pool of 5, then serially", demo_threadpool},
            {"executor-timing", "7 x 0.8 s serially, then with ThreadPoolExecutor(2)", demo_executor_timing},
            {"wait", "keep the futures, wait for all (and for the first), print ll", demo_wait},
            {"futures", "a future's states; result(timeout) gives up; cancel", demo_futures},
            {"as-completed", "futures in the order they finish", demo_as_completed},
            {"map", "results in the order of the inputs", demo_map},
            {"exception", "a task that throws: the exception reaches result()", demo_exception},
            {"shutdown", "shutdown(cancel_futures) cancels queued calls; submit after it fails", demo_shutdown},
            {"vthread", "named pools as decorators: vthread.pool(5) and pool(2)", demo_vthread},
        },
    });
}
