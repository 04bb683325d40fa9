// Chapter 02 - Concurrency vs parallelism.
//
// Seeds: 000 §1.4, 001 §三, 004 §三.
// Three CPU-bound tasks A, B and C, run three ways:
//   串行 serial:     执行完A,再执行B,再执行C - one after the other, in one process;
//   并发 concurrent: 交替执行ABC - three processes sharing ONE CPU (pinned with sched_setaffinity),
//                    the kernel switching between them every few milliseconds;
//   并行 parallel:   同时执行ABC - three processes free to run on every core at the same instant.
// A timeline after each run shows its shape, and the wall time of each run is printed. A task is
// a calibrated counting loop (wb/cpu.hpp): CPU work does not shrink with --time-scale the way a
// sleep does, so the loop is measured once and a task counts for --work x time scale seconds.
// The tasks and the reports are in tasks.cpp.
#include <array>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "tasks.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/cpu.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/shared_memory.hpp"
#include "wb/start_gate.hpp"
#include "wb/timeline.hpp"

namespace {

using ch02::kTasks;

// The timelines draw a task's four quarters with the digits 1 to 4 (see ch02::run_task).
const wb::TimelineSymbols kQuarterSymbols{
    {"1st-quarter", '1'}, {"2nd-quarter", '2'}, {"3rd-quarter", '3'}, {"4th-quarter", '4'}};

// Demo 1 - serial (串行): A, then B, then C, in the main process itself.
// Each task runs in the main process's one thread; only the actor name changes (A, B, C), so the
// timeline has a row per task. Same pid everywhere: no new process.
void demo_serial() {
    ch02::calibrate();  // before the clock starts
    const std::size_t mark = wb::journal::mark();
    std::array<double, 3> cpu{};
    const wb::clock::Stopwatch watch;
    for (std::size_t i = 0; i < kTasks.size(); ++i) {
        wb::set_thread_actor(kTasks[i]);
        cpu[i] = ch02::task(kTasks[i]);
    }
    wb::set_thread_actor({});
    const double total = watch.elapsed();
    wb::show_timeline(mark, "serial: one task after the other", kQuarterSymbols);
    ch02::report_total("serial", total, cpu);
    wb::note("A staircase: B starts when A is done, C when B is done. The total is the sum of the three,\n"
             "and on an otherwise idle machine each task had the CPU almost all of its time.");
}

// The two other demos run the tasks in three child processes. `pin_cpu` decides where they may
// run: all three on that one CPU (concurrency), or, when it is -1, anywhere (parallelism).
//
// A start gate makes the comparison fair: each child pins itself, arrives at the gate and waits;
// main starts the clock and opens the gate only when all three are there, so fork() costs are
// not counted and the three tasks really start together.
struct Results {
    std::array<double, 3> cpu{};  // written by each child before it exits, read by main after join
};

double run_three_processes(const std::string& mode, int pin_cpu /* -1: not pinned */,
                           std::array<double, 3>& cpu) {
    ch02::calibrate();  // before the fork: every child inherits the same rate
    wb::StartGate gate(static_cast<int>(kTasks.size()));
    wb::Shared<Results> results;
    std::vector<wb::Process> children;
    for (std::size_t i = 0; i < kTasks.size(); ++i) {
        children.emplace_back([&gate, &results, i, pin_cpu] {
            if (pin_cpu >= 0) {
                try {
                    wb::pin_to_cpu(pin_cpu);  // sched_setaffinity(0, ...): this process, that CPU only
                } catch (...) {
                    gate.arrive();  // main must not wait forever for a child that failed
                    throw;
                }
                wb::emit("pinned", {{"task", kTasks[i]}, {"cpu", pin_cpu}, {"allowed", wb::allowed_cpus().size()}},
                         wb::from_fields("{task} pinned to one CPU with sched_setaffinity"));
            }
            gate.arrive_and_wait();
            results->cpu[i] = ch02::task(kTasks[i]);
        });
        children.back().set_name(kTasks[i]);
    }
    for (auto& p : children) p.start();
    gate.wait_until_ready();
    const wb::clock::Stopwatch watch;
    wb::emit("go", {{"mode", mode}}, "all three ready: go!");
    gate.open();
    for (auto& p : children) p.join();
    const double total = watch.elapsed();
    for (auto& p : children) {
        if (p.exitcode() != 0) throw std::runtime_error(fmt::format("task {} failed", p.name()));
    }
    cpu = results->cpu;
    return total;
}

// Demo 2 - concurrent on ONE CPU (并发, 伪并行): the three processes are pinned to the same CPU.
// Only one of them can run at any instant; the kernel's scheduler gives each a time slice in
// turn. The seed says tens or hundreds of milliseconds per slice (多道技术: 每个进程各自运行几十或几百
// 毫秒); today's Linux scheduler slices a few milliseconds, as the task.done lines' count of
// involuntary switches shows. Seen from outside all three make progress "at the same time" - the
// progress lines interleave - but the total is still the sum, and each task had the CPU only
// about a third of its time.
void demo_one_cpu() {
    const std::size_t mark = wb::journal::mark();
    const int cpu = wb::allowed_cpus().front();
    std::array<double, 3> cpu_used{};
    const double total = run_three_processes("one CPU", cpu, cpu_used);
    wb::show_timeline(mark, "concurrent on one CPU: the three advance together, quarter by quarter", kQuarterSymbols);
    ch02::report_total("one CPU", total, cpu_used);
    wb::note("The progress lines interleave (A 25%, B 25%, C 25%, A 50%, ...): the kernel switches between\n"
             "the three every few milliseconds. Yet the total is about the serial total and at most one CPU\n"
             "was busy: concurrency without parallelism, 并发 but not 并行.");
}

// Demo 3 - parallel on all cores (并行): the same three processes, not pinned. With two or more
// cores the kernel runs tasks truly at the same instant on different CPUs (the `cpus` field of
// each task lists where it ran). With N cores, min(N, 3) tasks run at once, and the total drops
// towards serial / min(N, 3). Whether that happened is read from the measurement - the average
// number of busy CPUs - not from how many cores the program may use: a machine busy with other
// work can leave a many-core program one CPU.
void demo_parallel() {
    const auto cpus = wb::allowed_cpus();
    wb::emit("cores",
             {{"cores", cpus.size()}, {"cpus", cpus}, {"hardware_concurrency", std::thread::hardware_concurrency()}},
             cpus.size() > 1 ? "this program may use several cores (sched_getaffinity): up to min(cores, 3) tasks run at once"
                             : "this program may use only one core (sched_getaffinity): parallel is no faster here");
    const std::size_t mark = wb::journal::mark();
    std::array<double, 3> cpu_used{};
    const double total = run_three_processes("parallel", -1, cpu_used);
    wb::show_timeline(mark, "parallel on all cores: the same shape, in less time", kQuarterSymbols);
    const double busy = ch02::report_total("parallel", total, cpu_used);
    if (busy > 1.1) {
        wb::note("More than one CPU was busy at once: real parallelism (只有多个CPU才能实现并行). With two cores,\n"
                 "for example, three tasks share two CPUs and the total is about 3/2 of one task; with three\n"
                 "or more, about one task. Where tasks share a CPU they still interleave: 并行肯定算并发.");
    } else if (cpus.size() > 1) {
        wb::note("Hardly more than one CPU was busy on average, although the program may use several: other\n"
                 "programs had the other cores. Parallelism needs free CPUs, not only several of them.");
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
                 ch02::g_work = s;
             }},
        },
    });
}
