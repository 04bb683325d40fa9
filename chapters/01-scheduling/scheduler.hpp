// scheduler.hpp - a simulator of four CPU scheduling policies: FIFO, SJF, RR and MLFQ.
//
// What it is
//   Seed 000 §1.3 and seed 004 §二 describe how an operating system chooses which ready process
//   gets the one CPU: first come first served (FCFS, called FIFO here), shortest job first (SJF),
//   round robin with a time slice (RR) and the multi-level feedback queue (MLFQ). A user program
//   cannot run the kernel's scheduler, so this chapter simulates it, the way the OSTEP homework
//   simulators (scheduler.py, mlfq.py) do: jobs are (id, arrival, length) in integer time units,
//   no job ever blocks (they are all CPU-bound), and one CPU runs one job at a time.
//
//   This file is pure logic: no I/O, no clock, no randomness. main.cpp draws the results.
//
// Definitions (as in OSTEP, chapter "Scheduling: Introduction")
//   response   = first_run - arrival   how long until the job first gets the CPU
//   turnaround = finish - arrival      how long from arrival to completion
//   wait       = turnaround - length   time spent ready but not running
//   A context switch is counted each time the CPU is handed to a job other than the last job it
//   ran (an idle gap in between does not reset that). A job that keeps the CPU because nobody
//   else is ready is not switched out: no switch is counted, and its runs are one timeline entry.
//
// The tie rules (the README repeats them)
//   FIFO  non-preemptive; jobs run in order of arrival, equal arrivals by id.
//   SJF   non-preemptive; when the CPU is free, the ready job with the shortest length runs;
//         equal lengths by arrival, then by id. The CPU never waits for a shorter job that has
//         not arrived yet.
//   RR    one ready queue in arrival order (equal arrivals by id). A job runs for at most one
//         slice; if it is not done it goes to the tail of the queue, and jobs that arrived up to
//         and including that instant join the tail *before* it. A job alone in the queue simply
//         runs on.
//   MLFQ  runs in ticks of 1. Queue 0 is the top (highest priority). At every tick, in order:
//         1. jobs arriving now join the tail of queue 0 (equal arrivals by id);
//         2. if the running job's level is below a non-empty queue (an arrival), it is
//            preempted: it goes back to the tail of its own queue (the seed's rule: "to the end
//            of queue i"), or to the head with PreemptedTo::head (the OSTEP rule). Either way it
//            keeps what is left of its slice: that is this simulator's choice, the seed is silent;
//         3. if the CPU is free, the head of the highest non-empty queue runs;
//         4. the job runs one tick. If it is done it leaves. If it has used its whole slice, it
//            drops one level (the lowest level keeps it: that level is plain RR) with a fresh
//            slice of the new level, joining that queue's tail after the jobs that arrived at
//            that instant (so one level is exactly RR).
//
// Errors
//   simulate() and the parse_* helpers throw std::invalid_argument for impossible input: a job
//   of length < 1, a negative arrival, two jobs with the same id, a slice < 1, no MLFQ level,
//   and for input past the limits below (more than max_total_length units of work in all).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scheduling {

// Time is counted in whole units (think: milliseconds of CPU).
using Time = std::int64_t;

struct Job {
    int id = 0;
    Time arrival = 0;
    Time length = 1;  // the CPU time it needs; SJF is the only policy allowed to look at it
};

enum class Policy { fifo, sjf, rr, mlfq };

// Where MLFQ puts a job preempted by an arrival at a higher level.
enum class PreemptedTo { tail, head };

struct Config {
    Policy policy = Policy::fifo;
    Time quantum = 1;                        // RR: the time slice
    std::vector<Time> quanta = {1, 2, 4};    // MLFQ: the slice of each level, top first
    PreemptedTo preempted_to = PreemptedTo::tail;
};

// One job's outcome.
struct JobResult {
    Job job;
    Time first_run = 0;
    Time finish = 0;
    Time response = 0;
    Time turnaround = 0;
    Time wait = 0;
};

// A contiguous stretch of CPU time given to one job at one MLFQ level (level 0 for the
// policies without levels), [start, end).
struct Run {
    int job = 0;
    Time start = 0;
    Time end = 0;
    int level = 0;

    friend bool operator==(const Run&, const Run&) = default;
};

struct Averages {
    double response = 0;
    double turnaround = 0;
    double wait = 0;
};

struct Schedule {
    Policy policy = Policy::fifo;
    std::vector<JobResult> jobs;  // sorted by job id
    Averages avg;
    std::vector<Run> timeline;    // in time order; neighbours of the same job and level merged
    int context_switches = 0;
};

// Runs the jobs under the configured policy. Requires at least one job.
[[nodiscard]] Schedule simulate(const std::vector<Job>& jobs, const Config& config);

// The seed's MLFQ slices: the top level gets `top`, each level below twice the one above.

// "fifo" / "sjf" / "rr" / "mlfq" and back.
[[nodiscard]] std::string_view to_string(Policy policy) noexcept;
[[nodiscard]] Policy parse_policy(std::string_view text);
[[nodiscard]] std::string_view to_string(PreemptedTo where) noexcept;
[[nodiscard]] PreemptedTo parse_preempted_to(std::string_view text);

// The limits of the command line. They bound the work and memory of one run whatever the policy
// and slice: the timeline has at most one run per unit of CPU time, so max_total_length bounds
// it (and the JSON document, a few MB at most), and MLFQ's tick loop runs at most
// max_arrival + max_total_length ticks. Measured: the worst accepted input (RR, slice 1,
// 100,000 units in all) takes well under a second. simulate() enforces max_total_length too.
inline constexpr Time max_length = 10'000;
inline constexpr Time max_total_length = 100'000;  // the sum of all jobs' lengths
inline constexpr Time max_arrival = 1'000'000;
inline constexpr Time max_quantum = 1'000'000;
inline constexpr int max_jobs = 1'000;
inline constexpr int max_levels = 16;

// The seed's MLFQ slices: the top level gets `top`, each level below twice the one above.
// Requires 1 <= top <= max_quantum and 1 <= levels <= max_levels.
[[nodiscard]] std::vector<Time> doubling_quanta(Time top, int levels);

// "5,3,1" (all arriving at 0) or "0:5,1:3" (ARRIVAL:LENGTH), mixable. Ids are 0, 1, ... in the
// order given.
[[nodiscard]] std::vector<Job> parse_jobs(std::string_view text);
// "1,2,4": one slice per MLFQ level, top first.
[[nodiscard]] std::vector<Time> parse_quanta(std::string_view text);
// The inverse of parse_jobs, always in the ARRIVAL:LENGTH form: "0:5,1:3".
[[nodiscard]] std::string format_jobs(const std::vector<Job>& jobs);

}  // namespace scheduling
