#include "tasks.hpp"

#include <set>
#include <thread>
#include <vector>


#include "wb/clock.hpp"
#include "wb/cpu.hpp"
#include "wb/output.hpp"

namespace ch02 {

double g_work = 2.0;

void calibrate() {
    if (wb::cpu_calibrated()) return;
    const double rate = wb::steps_per_cpu_second();
    const double steps = rate * g_work * wb::clock::time_scale();
    wb::emit("calibrate",
             {{"steps_per_cpu_second", rate}, {"work", g_work}, {"time_scale", wb::clock::time_scale()},
              {"steps_per_task", steps}, {"million_steps_per_cpu_second", rate / 1e6},
              {"million_steps_per_task", steps / 1e6}},
             wb::from_fields("calibrated the counting loop: {million_steps_per_cpu_second:.2f} million steps per "
                             "second of CPU time, so a task\nof {work:g} logical s is {million_steps_per_task:.2f} "
                             "million steps at time scale {time_scale:g}"));
}

namespace {
const std::array<std::string, 4> kQuarters{"1st-quarter", "2nd-quarter", "3rd-quarter", "4th-quarter"};
}  // namespace

double task(const std::string& name) {
    constexpr int kChunks = 100;  // 25 per quarter; after each, the task notes its CPU
    const double chunk = g_work / kChunks;
    const long switches_before = wb::involuntary_switches();
    const auto cpu_start = wb::thread_cpu_time();
    const wb::clock::Stopwatch watch;
    std::set<int> cpus;
    for (int q = 0; q < 4; ++q) {
        // Only the first quarter's begin and each quarter's end are printed.
        wb::Span quarter(kQuarters[q], {{"task", name}, {"quarter", q + 1}, {"work", g_work}},
                         wb::from_fields(q == 0 ? "{task} starts: {work:g} s of counting" : ""));
        int cpu = -1;
        for (int c = 0; c < kChunks / 4; ++c) {
            wb::burn_cpu(chunk);
            cpu = wb::current_cpu();
            cpus.insert(cpu);
        }
        quarter.end(wb::from_fields("{task} is {percent}% done"), {{"percent", 25 * (q + 1)}, {"cpu", cpu}});
    }
    const double wall = watch.elapsed();
    const double cpu = wb::clock::to_logical(wb::thread_cpu_time() - cpu_start);
    // Involuntary switches: how often the kernel took the CPU away because the time slice was
    // used up and another task's turn came. Large when three tasks share one CPU.
    wb::emit("task.done",
             {{"task", name},
              {"cpu", cpu},
              {"wall", wall},
              {"share", cpu / wall},
              {"cpus", std::vector<int>(cpus.begin(), cpus.end())},
              {"involuntary_switches", wb::involuntary_switches() - switches_before}},
             wb::from_fields("{task} done: {cpu:.2f} s of CPU time in {wall:.2f} s of wall time (it had the CPU "
                             "{share:.2f} of the time)"));
    return cpu;
}

double report_total(const std::string& mode, double seconds, const std::array<double, 3>& cpu) {
    const double cpu_sum = cpu[0] + cpu[1] + cpu[2];
    const double busy = cpu_sum / seconds;
    wb::emit("total",
             {{"mode", mode},
              {"seconds", seconds},
              {"tasks", 3},
              {"work", g_work},
              {"cpu", cpu_sum},
              {"busy_cpus", busy},
              {"cores", wb::allowed_cpus().size()},
              {"hardware_concurrency", std::thread::hardware_concurrency()}},
             wb::from_fields("{mode}: {tasks} tasks of {work:g} s of work took {seconds:.2f} s; on average "
                             "{busy_cpus:.2f} CPUs were busy"));
    return busy;
}

}  // namespace ch02
