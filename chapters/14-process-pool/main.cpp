// Chapter 14 - The process pool.
//
// Seed: 002 (进程池: Pool(5), eight apply_async calls with a callback, close(), join()).
// Starting a process per task is expensive, and a thousand tasks should not mean a thousand
// processes. A pool starts a fixed number of worker processes once and hands them tasks: a task
// is a function and its arguments, its return value comes back to the caller, and a worker that
// has finished one task takes the next - the same pid, again and again.
// wb::ProcessPool forks its workers at once; tasks and results cross as JSON over one socket pair
// per worker, so the pool always knows which worker runs which task (demo worker-killed).
#include <algorithm>
#include <csignal>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/process_pool.hpp"
#include "wb/random.hpp"

namespace {

// The seed's task:
//     def task(task_name):
//         print(f"start process {task_name},process id {os.getpid()}")
//         start = time.time(); time.sleep(random.random() * 2); end = time.time()
//         print(f"resume time {end - start},process id {os.getpid()}")
//         return task_name
// The rest is seeded per task (0.1-2.0 s, in tenths): the same task rests as long in every run,
// whichever worker runs it. The worker prints its own pid, as the seed does. The lines are
// written as actor "task-N" (the bracket still shows the worker's pid): which of the five workers
// picks up tasks 5-7 depends on which finishes first, and two rests may be equal.
double rest_of(int task_name) {
    wb::Random random = wb::random_stream(100 + static_cast<std::uint64_t>(task_name));
    return static_cast<double>(random.uniform_int(1, 20)) / 10;
}

int task(int task_name) {
    const auto pid = static_cast<long>(::getpid());
    const std::string actor = fmt::format("task-{}", task_name);
    wb::emit_as(actor, "task.start", {{"task", task_name}, {"worker_pid", pid}, {"worker", wb::current_process().name}},
                wb::from_fields("start process {task}, process id {worker_pid}"));
    wb::clock::Stopwatch stopwatch;
    const double rest = rest_of(task_name);
    wb::Span resting("rest", {{"task", task_name}, {"rest", rest}}, {});
    wb::clock::sleep(rest);
    resting.end();
    const double resumed = stopwatch.elapsed();
    wb::emit_as(actor, "task.end",
                {{"task", task_name}, {"worker_pid", pid}, {"worker", wb::current_process().name}, {"rest", rest},
                 {"took", resumed}},
                wb::from_fields("resume time {took:.2f} s (rest {rest:g} s), process id {worker_pid}"));
    return task_name;
}

// Demo 1 - apply_async with a callback, as in the seed:
//     pool = Pool(5)
//     for i in range(8): pool.apply_async(task, args=(i,), callback=callback_func)
//     pool.close(); pool.join()
// Five workers start; tasks 0-4 go out at once, 5-7 wait for the first worker to be free. The
// callback runs in the parent (MainProcess below), as each result comes back.
void demo_apply_async() {
    wb::ProcessPool pool(5);                     // a1: five workers, forked now
    std::set<long> pids_used;
    std::vector<wb::AsyncResult<int>> results;
    for (int i = 0; i < 8; ++i) {
        results.push_back(pool.apply_async(task, std::tuple{i}, [&](const int& n) {  // a2
            // def callback_func(n): print(f"Complete task{n}")  - in the parent process
            wb::emit("callback", {{"task", n}}, wb::from_fields("Complete task {task}"));
        }));
    }
    pool.close();  // a3: no more tasks
    pool.join();   // a4: waits for the eight, runs the callbacks as the results arrive
    for (const auto& r : results) pids_used.insert(r.worker_pid());
    wb::emit("pool.summary", {{"tasks", 8}, {"workers", 5}, {"distinct_pids", pids_used.size()},
                              {"started", pool.workers_started()}},
             wb::from_fields("{tasks} tasks ran on {distinct_pids} distinct worker pids (Pool({workers})): finished "
                             "workers took the next tasks"));
    wb::note("Only five pids appear for eight tasks: tasks 5-7 ran in workers that had finished an\n"
             "earlier task. Each \"Complete task\" line comes from MainProcess: callbacks run in the\n"
             "parent (here inside join(), which collects the results as they arrive).");
}

// Demo 2 - the same tasks with apply: "改成pool.apply()改成同步" (change to apply: synchronous).
// apply() waits for each result before the next task is handed out: one worker is busy at a time,
// and the total is about the sum of the rests. Three tasks keep it short.
void demo_apply() {
    wb::ProcessPool pool(5);
    wb::clock::Stopwatch total;
    double sum = 0;
    for (int i = 0; i < 3; ++i) {
        const int n = pool.apply(task, i);  // s1: blocks until task i has returned
        sum += rest_of(i);
        wb::emit("apply.result", {{"task", n}}, wb::from_fields("apply returned {task}"));
    }
    const double took = total.elapsed();
    wb::emit("apply.total", {{"tasks", 3}, {"sum", sum}, {"total", took}, {"ratio", took / sum}},
             wb::from_fields("{tasks} tasks by apply took {total:.2f} s; their rests add up to {sum:g} s"));
    pool.close();
    pool.join();
    wb::note("apply is apply_async(...).get(): the caller waits for every task, so the pool runs one\n"
             "task at a time and the total is the sum. Use apply_async or map for parallel work.");
}

// Demo 3 - close, then join.
// close() says "no more tasks"; the queued ones still run, and join() waits for them and for the
// workers to exit. A task submitted after close() is refused (Python: ValueError: Pool not
// running). join() before close() is refused too.
int quick(int x) { return x + 1; }

void demo_close_join() {
    wb::ProcessPool pool(2);
    auto first = pool.apply_async(task, std::tuple{0});
    try {
        pool.join();
    } catch (const std::logic_error& e) {
        wb::emit("join.refused", {{"error", e.what()}}, wb::from_fields("join() before close(): {error}"));
    }
    pool.close();
    try {
        (void)pool.apply_async(quick, std::tuple{1});
    } catch (const std::logic_error& e) {
        wb::emit("submit.refused", {{"error", e.what()}}, wb::from_fields("apply_async after close(): {error}"));
    }
    const auto pids = pool.pids();
    pool.join();
    wb::emit("joined", {{"ready", first.ready()}, {"result", first.get()}, {"workers", pids.size()}},
             wb::from_fields("join() returned: task 0 is done (result {result}) and both workers have exited"));
}

// Demo 4 - map: Python's pool.map(func, iterable, chunksize).
// The inputs are cut into chunks (chunksize items per message to a worker); the results come back
// in the order of the inputs, whichever worker finished first.
long square(long x) { return x * x; }

void demo_map() {
    wb::ProcessPool pool(3);
    std::vector<long> inputs;
    for (long x = 0; x < 10; ++x) inputs.push_back(x);
    const std::vector<long> squares = pool.map(square, inputs, 2);  // m1: five chunks of two
    const wb::Json fields = {{"inputs", inputs}, {"results", squares}, {"chunksize", 2}};
    // The results field printed as Python prints a list: [0, 1, 4, ...].
    std::string list;
    for (const auto& s : fields["results"]) list += (list.empty() ? "" : ", ") + s.dump();
    wb::emit("map.result", fields,
             wb::format_fields("pool.map(square, range(10), chunksize={chunksize}) = ", fields) + "[" + list + "]");
    std::vector<long> many(1000);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<long>(i);
    const auto big = pool.map(square, many);  // default chunksize: ceil(1000 / (4 x 3)) = 84
    bool in_order = true;
    for (std::size_t i = 0; i < big.size(); ++i) in_order = in_order && big[i] == many[i] * many[i];
    // Python's default chunk size: ceil(inputs / (4 x workers)).
    const std::size_t default_chunk = (many.size() + 4 * 3 - 1) / (4 * 3);
    wb::emit("map.big",
             {{"inputs", many.size()}, {"chunksize", default_chunk}, {"items", big.size()}, {"in_order", in_order}},
             wb::from_fields(in_order ? "map over {inputs} inputs (default chunk size {chunksize}): {items} results, "
                                        "all in input order: yes"
                                      : "map over {inputs} inputs (default chunk size {chunksize}): {items} results, "
                                        "all in input order: no"));
    pool.close();
    pool.join();
}

// Demo 5 - a task that throws.
// The exception does not kill the worker: it is caught there and delivered to the caller.
// get() throws wb::TaskError naming the type and the message (the C++ type itself cannot cross
// processes; Python re-raises the unpickled exception), and error_callback runs in the parent.
int parse_price(std::string text) {
    return std::stoi(text);  // std::invalid_argument for "free"
}

void demo_task_throws() {
    wb::ProcessPool pool(2);
    auto good = pool.apply_async(parse_price, std::tuple{std::string("42")});
    auto bad = pool.apply_async(parse_price, std::tuple{std::string("free")}, {}, [](const std::exception& e) {
        wb::emit("error_callback", {{"error", e.what()}}, wb::from_fields("error_callback in the parent: {error}"));
    });
    wb::emit("task.good", {{"result", good.get()}}, wb::from_fields("parse_price('42') returned {result}"));
    try {
        (void)bad.get();
    } catch (const wb::TaskError& e) {
        wb::emit("task.error", {{"error", e.what()}, {"successful", bad.successful()}},
                 wb::from_fields("parse_price('free'): get() threw TaskError: {error} (successful() = {successful})"));
    }
    pool.close();
    pool.join();
}

// Demo 6 - a worker killed in the middle of a task.
// Python's Pool loses such a task: its worker is replaced, but the result never comes and get()
// without a timeout waits forever. Here the pool knows which task the dead worker was running:
// that task fails with WorkerDied naming the signal, a new worker takes the dead one's place, and
// the other tasks finish.
// WorkerDied's message names the worker and its pid; which of the three workers took the task is
// the scheduler's choice, so the printed line keeps only what happened to it.
std::string what_happened(const std::exception& e) {
    const std::string what = e.what();
    const auto at = what.find("died while");
    return at == std::string::npos ? what : "its worker " + what.substr(at);
}

int doomed(int) {
    wb::emit_as("doomed-task", "doomed.start", {{"worker_pid", static_cast<long>(::getpid())}},
                "this task will be killed (SIGKILL)");
    ::raise(SIGKILL);  // as if the OOM killer or a user's kill -9 struck
    return 0;
}

void demo_worker_killed() {
    wb::ProcessPool pool(3);
    const auto before = pool.pids();
    auto victim = pool.apply_async(doomed, std::tuple{0}, {}, [](const std::exception& e) {
        wb::emit("error_callback", {{"error", e.what()}, {"happened", what_happened(e)}},
                 wb::from_fields("error_callback: {happened}"));
    });
    std::vector<wb::AsyncResult<int>> others;
    for (int i = 0; i < 8; ++i) others.push_back(pool.apply_async(quick, std::tuple{i}));
    try {
        (void)victim.get(60.0);  // a safety timeout; WorkerDied comes at once
    } catch (const wb::WorkerDied& e) {
        wb::emit("worker.died", {{"error", e.what()}, {"happened", what_happened(e)}},
                 wb::from_fields("victim.get() threw WorkerDied: {happened}"));
    }
    int sum = 0;
    for (auto& r : others) sum += r.get(60.0);
    const auto after = pool.pids();
    int replaced = 0;
    for (const pid_t p : after) replaced += std::find(before.begin(), before.end(), p) == before.end() ? 1 : 0;
    wb::emit("pool.after", {{"completed", others.size()}, {"sum", sum}, {"replaced", replaced},
                            {"workers", after.size()}, {"started", pool.workers_started()}},
             wb::from_fields("the other {completed} tasks all completed (sum of results {sum}); {replaced} worker was "
                             "replaced, the pool has {workers} workers again"));
    pool.close();
    pool.join();
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "14-process-pool",
        .title = "Process pool",
        .description = "Pool(5) with eight apply_async tasks and a callback (worker pids reused, callbacks in the\n"
                       "parent); apply (serial); close then join; map in order; a task that throws; a worker\n"
                       "killed mid-task while the pool carries on.",
        .demos = {
            {"apply-async", "Pool(5), 8 tasks by apply_async with a callback: five pids, reused", demo_apply_async},
            {"apply", "the same task by apply: one at a time, the total is the sum", demo_apply},
            {"close-join", "close() then join(); submitting after close() is refused", demo_close_join},
            {"map", "map(square, range(10), chunksize=2): results in input order", demo_map},
            {"task-throws", "a task that throws: get() raises TaskError, error_callback runs", demo_task_throws},
            {"worker-killed", "a worker SIGKILLed mid-task: that task fails, a new worker, the rest complete", demo_worker_killed},
        },
    });
}
