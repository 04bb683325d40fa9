// Chapter 02's props: the tasks A, B and C, and how a run of them is measured and reported.
// The lesson (main.cpp) runs them serially, on one CPU and on all cores; the counting itself is
// the common toolkit's calibrated loop (wb/cpu.hpp).
#pragma once

#include <array>
#include <string>

namespace ch02 {

// How much work one task is, in logical seconds of CPU time (--work; default 2, which keeps the
// whole chapter under 20 s at the seeds' pace).
extern double g_work;
inline const std::array<std::string, 3> kTasks{"A", "B", "C"};

// Calibrates the counting loop on first use (wb::steps_per_cpu_second) and says so once, with
// what a task of g_work logical seconds means at this time scale.
void calibrate();

// One task: counts for g_work logical seconds of CPU in four quarters, each a span named after
// it ("1st-quarter", ...), so the timeline draws a task's row with the digits 1 to 4. It notes the
// CPUs it ran on and ends with "task.done": its CPU time against its wall time. Returns the CPU
// time it used, in logical seconds.
double task(const std::string& name);

// The summary line of a run: its wall time and how many CPUs were busy on average (CPU time of
// all tasks / wall time). Returns that average.
double report_total(const std::string& mode, double seconds, const std::array<double, 3>& cpu);

}  // namespace ch02
