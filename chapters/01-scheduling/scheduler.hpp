// scheduler.hpp - a simulator of four CPU scheduling policies: FIFO, SJF, RR and MLFQ.
//
// What it is
//   Seed 000 §1.3 and seed 004 §二 describe how an operating system chooses which ready process
//   gets the one CPU: first come first served (FCFS, called FIFO here), shortest job first (SJF),
//   round robin with a time slice (RR) and the multi-level feedback queue (MLFQ). A user program
//   cannot run the kernel's scheduler, so this chapter simulates it, the way the OSTEP homework
//   simulators (scheduler.py, mlfq.py) do: jobs are (id, arrival, length, I/O frequency) in integer
//   time units, and one CPU runs one job at a time. A job with an I/O frequency f > 0 starts an
//   I/O after every f units of running (never on its last unit: a finished job does no I/O); the
//   I/O takes Config::io_time units, during which the job is blocked and the CPU runs another
//   job (or idles). A job with f == 0 never blocks (CPU-bound).
//
//   This file is pure logic: no input or output, no clock, no randomness. main.cpp draws the results.
//
// Definitions (as in OSTEP, chapter "Scheduling: Introduction")
//   response   = first_run - arrival   how long until the job first gets the CPU
//   turnaround = finish - arrival      how long from arrival to completion
//   wait       = turnaround - length - io   time spent ready but not running (io: the time the
//                                           job spent blocked in I/O, which is not waiting for
//                                           the CPU)
//   CPU utilisation = the time the CPU ran a job / the time from 0 to the last finish.
//   A context switch is counted each time the CPU is handed to a job other than the last job it
//   ran (an idle gap in between does not reset that). A job that keeps the CPU because nobody
//   else is ready is not switched out: no switch is counted, and its runs are one timeline entry.
//
// The tie rules (the README repeats them)
//   Everything that becomes ready at one instant joins its queue in this order: jobs arriving
//   (equal arrivals by id), then jobs whose I/O completes (in the order their I/Os started, which
//   is the order they end: every I/O takes io_time). A job whose I/O completes joins the tail of
//   the ready queue (of its level, for MLFQ), like any newcomer.
//   FIFO  non-preemptive; the ready queue in the order jobs became ready. A job keeps the CPU
//         until it finishes or starts an I/O.
//   SJF   non-preemptive; when the CPU is free, the ready job with the shortest next CPU burst
//         runs (the whole job without I/O, otherwise the units until its next I/O or its end);
//         equal bursts by arrival, then by id. The CPU never waits for a shorter job that is not
//         ready yet.
//   RR    one ready queue. A job runs for at most one slice (a fresh one every time it gets the
//         CPU); if it starts an I/O it leaves the CPU at once; if its slice ends first it goes to
//         the tail, and the jobs that became ready up to and including that instant join the
//         tail *before* it. A job alone in the queue simply runs on.
//   MLFQ  runs in ticks of 1. Queue 0 is the top (highest priority). At every instant, in order:
//         1. (--preempted-to head only) the job whose slice ran out at this instant joins its
//            (new) queue: OSTEP's mlfq.py queues it as the tick ends;
//         2. boost (Config::boost = N > 0, at N, 2N, ...): every unfinished job - queued, running,
//            blocked in I/O or not arrived yet - moves to level 0 with a fresh slice of level 0.
//            Queue 0 keeps its order; behind it come the jobs of the lowest queue, then of the
//            next lowest, ..., then of queue 1 (mlfq.py's order). A running job below level 0 is
//            first put back in its queue as if preempted (step 4); one at level 0 runs on, with
//            the fresh slice;
//         3. arrivals join the tail of queue 0, then I/O completions join the tail of their level;
//            (--preempted-to tail) then the job whose slice ran out at this instant joins its
//            queue, after them (as in RR);
//         4. if the running job's level is below a non-empty queue, it is preempted: back to the
//            tail of its own queue (the seed's rule: "to the end of queue i"), or to the head with
//            PreemptedTo::head (mlfq.py, where the running job never leaves its queue). Either
//            way it keeps what is left of its slice;
//         5. if the CPU is free, the head of the highest non-empty queue runs;
//         6. the job runs one tick. If it is done it leaves. If it has used its whole slice, it
//            drops one level (the lowest level keeps it) with a fresh slice of the new level. If
//            it starts an I/O it leaves the CPU; it keeps its level and what is left of its slice
//            (mlfq.py without -S), and if that tick also used up its slice it is demoted while
//            blocked, returning to the lower queue.
//         With PreemptedTo::head and one slice per level this is mlfq.py with allotment 1 and
//         neither -S nor -I.
//
// Errors
//   simulate() and the parse_* helpers throw std::invalid_argument for impossible input: a job
//   of length < 1, a negative arrival, a negative I/O frequency, an I/O time < 1 (when some job
//   does I/O), a negative boost, two jobs with the same id, a slice < 1, no MLFQ level,
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
    Time io_freq = 0; // an I/O after every io_freq units of running; 0: never
};

enum class Policy { fifo, sjf, rr, mlfq };

// Where MLFQ puts a job preempted by an arrival at a higher level.
enum class PreemptedTo { tail, head };

struct Config {
    Policy policy = Policy::fifo;
    Time quantum = 1;                        // RR: the time slice
    std::vector<Time> quanta = {1, 2, 4};    // MLFQ: the slice of each level, top first
    PreemptedTo preempted_to = PreemptedTo::tail;
    Time io_time = 5;                        // how long each I/O takes (mlfq.py's default)
    Time boost = 0;                          // MLFQ: every `boost` units all jobs to the top; 0: never
};

// One job's outcome.
struct JobResult {
    Job job;
    Time first_run = 0;
    Time finish = 0;
    Time response = 0;
    Time turnaround = 0;
    Time wait = 0;
    Time io = 0;  // the time spent blocked in I/O (not part of wait)
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

// A span of time [start, end): a job's I/O, or (job -1) the CPU idle.
struct Span {
    int job = -1;
    Time start = 0;
    Time end = 0;

    friend bool operator==(const Span&, const Span&) = default;
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
    bool has_io = false;          // some job does I/O
    std::vector<Span> io;         // every I/O, in the order they start
    std::vector<Span> idle;       // the gaps of the timeline in [0, end)
    Time busy = 0;                // the time the CPU ran a job
    Time end = 0;                 // the last finish
    [[nodiscard]] double cpu_utilisation() const {
        return end > 0 ? static_cast<double>(busy) / static_cast<double>(end) : 0.0;
    }
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
inline constexpr Time max_io_time = 10'000;    // one I/O
inline constexpr Time max_boost = 1'000'000;   // the boost period

// The seed's MLFQ slices: the top level gets `top`, each level below twice the one above.
// Requires 1 <= top <= max_quantum and 1 <= levels <= max_levels.
[[nodiscard]] std::vector<Time> doubling_quanta(Time top, int levels);

// "5,3,1" (all arriving at 0), "0:5,1:3" (ARRIVAL:LENGTH) or "0:5:2" (ARRIVAL:LENGTH:IOFREQ, an
// I/O every IOFREQ units of running, 0 for none), mixable. Ids are 0, 1, ... in the order given.
[[nodiscard]] std::vector<Job> parse_jobs(std::string_view text);
// "1,2,4": one slice per MLFQ level, top first.
[[nodiscard]] std::vector<Time> parse_quanta(std::string_view text);
// The inverse of parse_jobs: "0:5,1:3", ARRIVAL:LENGTH:IOFREQ for a job that does I/O ("0:5:2").
[[nodiscard]] std::string format_jobs(const std::vector<Job>& jobs);

}  // namespace scheduling
