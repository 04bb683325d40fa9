// wb/cpu.hpp - burning and measuring CPU time, and pinning a process to CPUs.
//
// What it is
//   The other chapters make time visible by sleeping, and a sleep of "2 s" lasts 2 s x time_scale
//   of real time. CPU-bound work cannot be scaled like that: a loop of N steps takes as long as
//   the processor needs for N steps, whatever --time-scale says. So the loop is calibrated once:
//   steps_per_cpu_second() measures how many steps this processor does per second of CPU time,
//   and burn_cpu(s) then does s x time_scale x (steps per second) steps - about s x time_scale
//   seconds of real CPU time, which prints as s logical seconds. Chapter 02 runs its tasks A, B, C
//   on it (serially, pinned to one CPU, on all cores); chapter 16 compares threads and processes.
//
//       wb::pin_to_cpu(wb::allowed_cpus().front());     // this process: one CPU only
//       const auto before = wb::thread_cpu_time();
//       wb::burn_cpu(2.0);                              // 2 logical s of CPU work
//       double used = wb::clock::to_logical(wb::thread_cpu_time() - before);   // about 2
//
// Guarantees
//   - The counting loop (xorshift steps, each depending on the last, its result stored in a
//     volatile) cannot be skipped or shortened by the compiler.
//   - Calibration runs on first use, about 50 ms of real CPU time, measured with the calling
//     thread's CPU clock: being preempted by other programs meanwhile does not make the processor
//     look slower. The rate is kept for the process; children forked afterwards inherit it, so
//     every task of a run counts at the same rate. It is a measurement: frequency scaling or a
//     sibling hyper-thread can still make a later step slower or faster by some percent.
//   - Threads may burn and calibrate at the same time (each counts in its own variable).
//   - thread_cpu_time() counts only the CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID),
//     not the time it waited for a CPU.
// Errors
//   Failed calls (clock_gettime, sched_setaffinity with a CPU not allowed, ...) throw
//   wb::SystemError. pin_to_cpu(cpu) with cpu outside 0..CPU_SETSIZE-1: std::invalid_argument.
// Process death: nothing to clean up. Affinity is per thread and inherited by fork: pin in the
//   child, not in the parent, unless the parent means to be pinned too.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace wb {

// CPU time the calling thread has used so far (real time, not logical).
[[nodiscard]] std::chrono::nanoseconds thread_cpu_time();
// How often the kernel has taken the CPU away from the calling thread because its time slice
// was used up (getrusage RUSAGE_THREAD, ru_nivcsw). Large when several tasks share one CPU.
[[nodiscard]] long involuntary_switches();

// The counting loop: `steps` dependent xorshift steps. Returns the state (kept in a volatile).
std::uint64_t burn_steps(std::uint64_t steps);
// Steps per second of CPU time, calibrated on first use (see above).
[[nodiscard]] double steps_per_cpu_second();
// Whether steps_per_cpu_second() has been measured in this process (or inherited).
[[nodiscard]] bool cpu_calibrated() noexcept;
// Burns about `logical_seconds` x time_scale of real CPU time (see above).
void burn_cpu(double logical_seconds);

// The CPUs this process may run on (its affinity mask: a container or taskset can narrow it).
[[nodiscard]] std::vector<int> allowed_cpus();
// Restricts the calling process (its calling thread, and what it forks later) to `cpu`.
void pin_to_cpu(int cpu);
// The CPU the calling thread runs on right now (sched_getcpu: already stale when read).
[[nodiscard]] int current_cpu();

}  // namespace wb
