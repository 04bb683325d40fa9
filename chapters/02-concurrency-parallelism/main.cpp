// Chapter 02 - Concurrency vs parallelism.
//
// Seeds: 000 §1.4, 001 §三, 004 §三.
// Three CPU-bound tasks A, B and C, run three ways:
//   串行 serial:     执行完A,再执行B,再执行C - one after the other, in one process;
//   并发 concurrent: 交替执行ABC - three processes sharing ONE CPU (pinned with sched_setaffinity),
//                    the kernel switching between them every few milliseconds;
//   并行 parallel:   同时执行ABC - three processes free to run on every core at the same instant.
// A timeline after each run shows its shape, and the wall time of each run is printed.
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/event.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/semaphore.hpp"
#include "wb/shared_memory.hpp"
#include "wb/timeline.hpp"

namespace {

// How much work one task is, in logical seconds of CPU time (--work; the seeds' tasks are
// abstract, two seconds each keeps the whole chapter under 20 s at the default pace).
double g_work = 2.0;
const std::array<std::string, 3> kTasks{"A", "B", "C"};

// ---------------------------------------------------------------------------------------------
// The work, and why it needs calibrating.
//
// The other chapters make time visible by sleeping, and a sleep of "2 s" lasts 2 s x time_scale
// of real time. A CPU-bound task cannot be scaled like that: a loop of N steps takes as long as
// the processor needs for N steps, whatever --time-scale says. So the program measures once how
// many steps this processor does per second of CPU time, and a task of `work` logical seconds
// then does work x time_scale x (steps per second) steps: about work x time_scale seconds of
// real CPU time, which prints as `work` logical seconds. The time is measured with
// CLOCK_THREAD_CPUTIME_ID, the CPU time of the calling thread, so that being interrupted by
// other programs during the calibration does not make the processor look slower than it is.

// The counting loop: xorshift steps, each depending on the last, so the compiler can neither skip
// nor shorten it. Its result goes to a volatile variable, which the compiler must write.
std::uint64_t count_steps(std::uint64_t steps, std::uint64_t x) {
    for (std::uint64_t i = 0; i < steps; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}
volatile std::uint64_t g_sink = 88172645463325252ULL;

// CPU time the calling thread has used, in real nanoseconds.
std::int64_t thread_cpu_ns() {
    timespec ts{};
    wb::check(::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts), "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Steps per second of CPU time, measured on first use (about 50 ms of real CPU time). Children
// forked afterwards inherit the value: every task of a run counts at the same rate.
double steps_per_cpu_second() {
    static double rate = 0;
    if (rate > 0) return rate;
    constexpr std::uint64_t kBatch = 1 << 16;
    std::uint64_t steps = 0;
    const std::int64_t start = thread_cpu_ns();
    std::int64_t used = 0;
    while (used < 50'000'000) {
        g_sink = count_steps(kBatch, g_sink | 1);
        steps += kBatch;
        used = thread_cpu_ns() - start;
    }
    rate = static_cast<double>(steps) / (static_cast<double>(used) / 1e9);
    wb::emit("calibrate",
             {{"steps_per_cpu_second", rate}, {"work", g_work}, {"time_scale", wb::clock::time_scale()},
              {"steps_per_task", rate * g_work * wb::clock::time_scale()}},
             fmt::format("calibrated the counting loop: {:.2f} million steps per second of CPU time, so a task\n"
                         "of {:g} logical s is {:.2f} million steps at time scale {:g}",
                         rate / 1e6, g_work, rate * g_work * wb::clock::time_scale() / 1e6,
                         wb::clock::time_scale()));
    return rate;
}

// ---------------------------------------------------------------------------------------------
// One task: count for `g_work` logical seconds of CPU, in four quarters. Each quarter is a span
// named after it ("1st-quarter", ...), so the timeline draws a task's row with the digits 1 to 4
// and shows how far each task had got at any moment. After every hundredth of the work the task
// notes the CPU it is running on (sched_getcpu), and at the end it compares the CPU time it got
// with the wall time it took: alone on a CPU the two are equal; on a CPU shared by three, the
// wall time is about three times the CPU time.
struct TaskResult {
    double cpu = 0;   // logical seconds of CPU time used
    double wall = 0;  // logical seconds from start to end
};

const std::array<std::string, 4> kQuarters{"1st-quarter", "2nd-quarter", "3rd-quarter", "4th-quarter"};

TaskResult task(const std::string& name) {
    const double total_steps = steps_per_cpu_second() * g_work * wb::clock::time_scale();
    constexpr int kChunks = 100;  // 25 per quarter
    const auto chunk = static_cast<std::uint64_t>(total_steps / kChunks) + 1;

    rusage before{};
    wb::check(::getrusage(RUSAGE_THREAD, &before), "getrusage");
    const std::int64_t cpu_start = thread_cpu_ns();
    const wb::clock::Stopwatch watch;
    std::set<int> cpus;
    for (int q = 0; q < 4; ++q) {
        // Only the first quarter's begin and each quarter's end are printed.
        wb::Span quarter(kQuarters[q], {{"task", name}, {"quarter", q + 1}, {"work", g_work}},
                         q == 0 ? fmt::format("{} starts: {:g} s of counting", name, g_work) : std::string());
        int cpu = -1;
        for (int c = 0; c < kChunks / 4; ++c) {
            g_sink = count_steps(chunk, g_sink | 1);
            cpu = wb::check(::sched_getcpu(), "sched_getcpu");
            cpus.insert(cpu);
        }
        quarter.end(fmt::format("{} is {}% done", name, 25 * (q + 1)), {{"percent", 25 * (q + 1)}, {"cpu", cpu}});
    }
    TaskResult result;
    result.wall = watch.elapsed();
    result.cpu = wb::clock::to_logical(std::chrono::nanoseconds(thread_cpu_ns() - cpu_start));
    rusage after{};
    wb::check(::getrusage(RUSAGE_THREAD, &after), "getrusage");
    // ru_nivcsw: how often the kernel took the CPU away from this thread (its time slice was used
    // up and another task's turn came). Large when three tasks share one CPU.
    wb::emit("task.done",
             {{"task", name},
              {"cpu", result.cpu},
              {"wall", result.wall},
              {"share", result.cpu / result.wall},
              {"cpus", std::vector<int>(cpus.begin(), cpus.end())},
              {"involuntary_switches", after.ru_nivcsw - before.ru_nivcsw}},
             fmt::format("{} done: {:.2f} s of CPU time in {:.2f} s of wall time (it had the CPU {:.2f} of the time)",
                         name, result.cpu, result.wall, result.cpu / result.wall));
    return result;
}

// The CPUs this program may run on (its affinity mask; a container or `taskset` can narrow it).
std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    wb::check(::sched_getaffinity(0, sizeof set, &set), "sched_getaffinity");
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    return cpus;
}

// The summary line of a run: its wall time, and how many CPUs were busy on average
// (CPU time of all tasks / wall time): at most 1 on one CPU, up to min(cores, 3) in parallel.
void report_total(const std::string& mode, double seconds, const std::array<double, 3>& cpu) {
    const double cpu_sum = cpu[0] + cpu[1] + cpu[2];
    wb::emit("total",
             {{"mode", mode},
              {"seconds", seconds},
              {"tasks", 3},
              {"work", g_work},
              {"cpu", cpu_sum},
              {"busy_cpus", cpu_sum / seconds},
              {"cores", allowed_cpus().size()},
              {"hardware_concurrency", std::thread::hardware_concurrency()}},
             fmt::format("{}: 3 tasks of {:g} s of work took {:.2f} s; on average {:.2f} CPUs were busy", mode, g_work,
                         seconds, cpu_sum / seconds));
}

// ---------------------------------------------------------------------------------------------
// Demo 1 - serial (串行): A, then B, then C, in the main process itself.
// Each task runs in the main process's one thread; only the actor name changes (A, B, C), so the
// timeline has a row per task. Same pid everywhere: no new process.
void demo_serial() {
    steps_per_cpu_second();  // calibrate before the clock starts
    const std::size_t mark = wb::journal::mark();
    std::array<double, 3> cpu{};
    const wb::clock::Stopwatch watch;
    for (std::size_t i = 0; i < kTasks.size(); ++i) {
        wb::set_thread_actor(kTasks[i]);
        cpu[i] = task(kTasks[i]).cpu;
    }
    wb::set_thread_actor({});
    const double total = watch.elapsed();
    wb::show_timeline(mark, "serial: one task after the other");
    report_total("serial", total, cpu);
    wb::note("A staircase: B starts when A is done, C when B is done. The total is the sum of the three,\n"
             "and on an otherwise idle machine each task had the CPU almost all of its time.");
}

// The two other demos run the tasks in three child processes. `pin_cpu` decides where they may
// run: all three on that one CPU (concurrency), or, when it is -1, anywhere (parallelism).
//
// A start barrier makes the comparison fair: each child announces it is ready (a semaphore
// release), then waits for the `go` event; main starts the clock and sets `go` only when all three
// are ready, so fork() costs are not counted and the three tasks really start together.
struct Results {
    std::array<double, 3> cpu{};  // written by each child before it exits, read by main after join
};

double run_three_processes(const std::string& mode, int pin_cpu /* -1: not pinned */,
                           std::array<double, 3>& cpu) {
    steps_per_cpu_second();
    wb::Semaphore ready(0);
    wb::Event go;
    wb::Shared<Results> results;
    std::vector<wb::Process> children;
    for (std::size_t i = 0; i < kTasks.size(); ++i) {
        children.emplace_back([&ready, &go, &results, i, pin_cpu] {
            try {
                if (pin_cpu >= 0) {
                    // sched_setaffinity(0, ...): this process may run on `pin_cpu` only.
                    cpu_set_t set;
                    CPU_ZERO(&set);
                    CPU_SET(pin_cpu, &set);
                    wb::check(::sched_setaffinity(0, sizeof set, &set), "sched_setaffinity");
                    wb::emit("pinned", {{"task", kTasks[i]}, {"cpu", pin_cpu}, {"allowed", allowed_cpus().size()}},
                             fmt::format("{} pinned to one CPU with sched_setaffinity", kTasks[i]));
                }
            } catch (...) {
                ready.release();  // main must not wait forever for a child that failed
                throw;
            }
            ready.release();
            go.wait();
            results->cpu[i] = task(kTasks[i]).cpu;
        });
        children.back().set_name(kTasks[i]);
    }
    for (auto& p : children) p.start();
    for (std::size_t i = 0; i < children.size(); ++i) ready.acquire();
    const wb::clock::Stopwatch watch;
    wb::emit("go", {{"mode", mode}}, "all three ready: go!");
    go.set();
    for (auto& p : children) p.join();
    const double total = watch.elapsed();
    for (auto& p : children) {
        if (p.exitcode() != 0) throw std::runtime_error(fmt::format("task {} failed", p.name()));
    }
    cpu = results->cpu;
    return total;
}

// Demo 2 - concurrent on ONE CPU (并发, 伪并行): the three processes are pinned to the same CPU.
// Only one of them can run at any instant; the kernel's scheduler gives each a time slice of a
// few milliseconds in turn (多道技术: 每个进程各自运行几十或几百毫秒). Seen from outside all three
// make progress "at the same time" - the progress lines interleave - but the total is still the
// sum, and each task had the CPU only about a third of its time.
void demo_one_cpu() {
    const std::size_t mark = wb::journal::mark();
    const int cpu = allowed_cpus().front();
    std::array<double, 3> cpu_used{};
    const double total = run_three_processes("one CPU", cpu, cpu_used);
    wb::show_timeline(mark, "concurrent on one CPU: the three advance together, quarter by quarter");
    report_total("one CPU", total, cpu_used);
    wb::note("The progress lines interleave (A 25%, B 25%, C 25%, A 50%, ...): the kernel switches between\n"
             "the three every few milliseconds. Yet the total is about the serial total and at most one CPU\n"
             "was busy: concurrency without parallelism, 并发 but not 并行.");
}

// Demo 3 - parallel on all cores (并行): the same three processes, not pinned. With two or more
// cores the kernel runs tasks truly at the same instant on different CPUs (the `cpus` field of
// each task lists where it ran). With N cores, min(N, 3) tasks run at once, and the total drops
// towards serial / min(N, 3). On a one-core machine this is the one-CPU demo again.
void demo_parallel() {
    const auto cpus = allowed_cpus();
    wb::emit("cores",
             {{"cores", cpus.size()}, {"cpus", cpus}, {"hardware_concurrency", std::thread::hardware_concurrency()}},
             cpus.size() > 1 ? "this program may use several cores (sched_getaffinity): up to min(cores, 3) tasks run at once"
                             : "this program may use only one core (sched_getaffinity): parallel is no faster here");
    const std::size_t mark = wb::journal::mark();
    std::array<double, 3> cpu_used{};
    const double total = run_three_processes("parallel", -1, cpu_used);
    wb::show_timeline(mark, "parallel on all cores: the same shape, in less time");
    report_total("parallel", total, cpu_used);
    if (cpus.size() > 1) {
        wb::note("More than one CPU was busy at once: real parallelism (只有多个CPU才能实现并行). With two cores,\n"
                 "for example, three tasks share two CPUs and the total is about 3/2 of one task; with three\n"
                 "or more, about one task. Where tasks share a CPU they still interleave: 并行肯定算并发.");
    } else {
        wb::note("With one core there is no parallelism to be had: this was the one-CPU run again\n"
                 "(单核的计算机不能实现并行,但是可以实现并发).");
    }
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "02-concurrency-parallelism",
        .title = "Concurrency vs parallelism",
        .description = "Three CPU-bound tasks A, B, C: serially in one process (the sum), concurrently on ONE\n"
                       "CPU (three processes pinned with sched_setaffinity: interleaved, still the sum) and in\n"
                       "parallel on all cores (shorter). CPU work does not scale with --time-scale: the loop is\n"
                       "calibrated at start, and a task counts for --work logical seconds x time scale of CPU.",
        .demos = {
            {"serial", "A, then B, then C in one process: the total is the sum", demo_serial},
            {"one-cpu", "three processes pinned to one CPU: interleaved, the total is still the sum", demo_one_cpu},
            {"parallel", "three processes on all cores: truly at once, the total is shorter", demo_parallel},
        },
        .options = {
            {"work", "S", "logical seconds of CPU work per task (default 2)",
             [](std::string_view v) {
                 const double s = wb::parse_double(v, "work");
                 if (!(s > 0 && s <= 60)) throw std::invalid_argument("--work must be > 0 and <= 60");
                 g_work = s;
             }},
        },
    });
}
