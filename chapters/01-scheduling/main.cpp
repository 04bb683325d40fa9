// Chapter 01 - Scheduling.
//
// Seeds: 000 §1.3 (进程的调度算法) and 004 §二 (进程调度).
// Jobs can do I/O (ARRIVAL:LENGTH:IOFREQ): the later demos show what the seeds say about I/O-bound
// work, the ready queue and starvation.
// The seeds open with theory: how the operating system decides which ready process gets the CPU,
// and what four classic policies - first come first served, shortest job first, round robin and
// the multi-level feedback queue - are good and bad at. They have no code, and no user program can
// drive the kernel's scheduler, so this chapter is a simulator (scheduler.hpp, in the spirit of
// the OSTEP homework simulators): jobs of known length arrive, a policy hands out the one CPU, and
// every claim of the seeds becomes a Gantt chart and a table of numbers you can check.
//
// Run with no options, it plays the demos below in order. With --policy it runs one simulation of
// your own instead (single_run.cpp), OSTEP-style: it echoes its arguments (ARG policy rr ...),
// then prints the chart and the table (drawn in report.cpp), or, with --format json, one JSON
// document and nothing else. --quiz prints a workload to work out by hand; --answers checks it.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "report.hpp"
#include "scheduler.hpp"
#include "single_run.hpp"
#include "wb/chapter.hpp"
#include "wb/output.hpp"

namespace {

using ch01::Compared, ch01::compare, ch01::job, ch01::show, ch01::stretch;
using scheduling::Config, scheduling::Policy, scheduling::PreemptedTo, scheduling::Schedule, scheduling::Time;

// The policies as the demos configure them.
Config fifo() { return {.policy = Policy::fifo}; }
Config sjf() { return {.policy = Policy::sjf}; }
Config rr(Time quantum) { return {.policy = Policy::rr, .quantum = quantum}; }
Config mlfq(std::vector<Time> quanta, PreemptedTo preempted_to = PreemptedTo::tail) {
    return {.policy = Policy::mlfq, .quanta = std::move(quanta), .preempted_to = preempted_to};
}
// The same policy with each I/O taking `io_time` units.
Config with_io(Config c, Time io_time) {
    c.io_time = io_time;
    return c;
}

// Demo 1 - FCFS (seed: "FCFS算法比较有利于长作业, 而不利于短作业").
// One long job and two short ones, all arriving at time 0. FIFO runs them in the order they came:
// if the long one came first, the short ones wait for all of it (the convoy effect).
void demo_fcfs() {
    wb::note("Job 0 needs 8 units, jobs 1 and 2 one unit each; all arrive at 0, job 0 first:");
    const Schedule convoy = show(scheduling::parse_jobs("8,1,1"), fifo());
    wb::note(fmt::format(
        "The long job 0 never waited: its turnaround equals its length (ta/len {:.2f}). The short jobs 1\n"
        "and 2 each need 1 unit but waited {} and {} units behind it: ta/len {:.2f} and {:.2f}. That is\n"
        "what the seed means by \"FCFS favours long jobs and hurts short ones\". The short jobs stand for\n"
        "I/O-bound processes, which need the CPU only briefly between I/Os: behind a CPU-bound process\n"
        "they wait for its whole burst, hence \"suited to CPU-bound jobs, bad for I/O-bound ones\".",
        stretch(job(convoy, 0)), job(convoy, 1).wait, job(convoy, 2).wait, stretch(job(convoy, 1)),
        stretch(job(convoy, 2))));

    // The same three jobs, the long one last: FIFO's result depends on the luck of the arrival order.
    wb::note("The same jobs, the long one queued last:");
    const Schedule lucky = show(scheduling::parse_jobs("1,1,8"), fifo());
    wb::note(fmt::format("Same jobs, the long one arriving last: average turnaround {:.2f} instead of {:.2f}.\n"
                         "FIFO does not look at lengths, so it cannot avoid the bad order.",
                         lucky.avg.turnaround, convoy.avg.turnaround));
}

// Demo 2 - SJF (seed: "短作业优先 ... 对长作业不利; 作业的长短只是被估算出来的").
// The convoy again, now under SJF: the short jobs go first. Then the reverse side: a long job and
// a stream of short ones that keep overtaking it.
void demo_sjf() {
    const auto jobs = scheduling::parse_jobs("8,1,1");
    wb::note("The convoy of the fcfs demo (8, 1, 1, all at 0) under SJF:");
    const Schedule s = show(jobs, sjf());
    const Schedule f = scheduling::simulate(jobs, fifo());
    wb::note(fmt::format(
        "SJF runs the two 1-unit jobs first: average turnaround {:.2f} against FIFO's {:.2f}. With every\n"
        "job arriving together, no order does better (the shortest-first order minimises the average).\n"
        "The long job pays: it now waits {} units (ta/len {:.2f}).",
        s.avg.turnaround, f.avg.turnaround, job(s, 0).wait, stretch(job(s, 0))));

    // A long job (1) that is ready at 0, and short jobs arriving every 2 units. Whenever the CPU
    // is free there is a shorter job than job 1, so job 1 waits until the stream dries up.
    const auto stream = scheduling::parse_jobs("0:2,0:6,1:2,3:2,5:2,7:2");
    wb::note("Job 1 needs 6 units and is ready at 0; 2-unit jobs keep arriving. SJF, then FIFO:");
    const Schedule starved = show(stream, sjf());
    const Schedule served = show(stream, fifo());
    wb::note(fmt::format(
        "Under SJF the 6-unit job 1 was ready at time 0 but first ran at {}: every short job that arrived\n"
        "meanwhile went ahead of it. Under FIFO it ran at {}. If short jobs never stopped coming it would\n"
        "wait forever (starvation): SJF \"is bad for long jobs\". And SJF needs the lengths in advance: the\n"
        "simulator knows them, a real kernel can only estimate them (\"作业的长短只是被估算出来的\").",
        job(starved, 1).first_run, job(served, 1).first_run));
}

// Demo 3 - RR with a slice at least as long as the longest job (seed: "如果时间片长度选择过长 ...
// 则轮转法变成了先来先服务法").
void demo_rr_huge_slice() {
    const auto jobs = scheduling::parse_jobs("0:5,1:3,2:4");
    wb::note("Three jobs, the longest needs 5 units. First RR with a slice of 5, then FIFO:");
    const Schedule r = show(jobs, rr(5));
    const Schedule f = show(jobs, fifo());
    const bool same = r.timeline == f.timeline;
    wb::emit_block("same_schedule", {{"rr_quantum", 5}, {"same", same}},
                   wb::from_fields(same ? "RR with slice {rr_quantum} and FIFO: identical schedules"
                                        : "RR with slice {rr_quantum} and FIFO: different schedules"));
    wb::note("Every job finishes within its first slice, so no job is ever sent back to the queue: RR\n"
             "degenerates into FCFS, exactly as the seed says. The slice only matters when it is shorter\n"
             "than the jobs.");
}

// Demo 4 - the length of the slice (seed: "时间片长度过短, 则调度程序抢占处理机的次数增多 ... 上下文切换
// 次数也大大增加"). Three jobs of 6 units arriving together, under slices from 6 down to 1.
void demo_rr_slice() {
    const auto jobs = scheduling::parse_jobs("6,6,6");
    wb::note("Three jobs of 6 units, all at 0, with a slice of 1:");
    const Schedule tiny = show(jobs, rr(1));
    wb::note("The same jobs with slices from 6 down to 1:");
    std::vector<Compared> runs;
    for (Time q : {6, 3, 2, 1}) runs.push_back({fmt::format("RR slice {}", q), scheduling::simulate(jobs, rr(q))});
    compare(runs);
    wb::note(fmt::format(
        "With a slice of 1 every job gets the CPU within {} units (average response {:.2f}, against {:.2f}\n"
        "with a slice of 6), but the CPU changes hands {} times instead of {}. Each switch costs real time\n"
        "in a kernel (saving and loading registers, cold caches), which the simulator does not even\n"
        "charge. And turnaround gets worse: every job is now finished only near the very end. The slice\n"
        "is a trade-off between response time and overhead.",
        job(tiny, 2).response, tiny.avg.response, runs.front().schedule.avg.response, tiny.context_switches,
        runs.front().schedule.context_switches));
}

// Demo 7 - CPU-bound and I/O-bound work (seed 000: "FCFS ... 有利于CPU繁忙型作业, 而不利于I/O繁忙型作业").
// Job 0 computes for 12 units; job 1 needs only 4 units of CPU but starts an I/O (2 units) after
// each one, like a program that reads a little, works a little. FIFO, then RR with a slice of 2.
void demo_io_mix() {
    const auto wait_ratio = [](const scheduling::JobResult& j) {
        return static_cast<double>(j.wait) / static_cast<double>(j.job.length);
    };
    const auto jobs = scheduling::parse_jobs("0:12,0:4:1");
    wb::note("Job 0 is CPU-bound (12 units); job 1 is I/O-bound: an I/O of 2 units after every unit of CPU.\n"
             "FIFO first, then RR with a slice of 2:");
    const Schedule f = show(jobs, with_io(fifo(), 2));
    const Schedule r = show(jobs, with_io(rr(2), 2));
    wb::note(fmt::format(
        "Under FIFO the I/O-bound job 1 first ran at {} (response {}) and finished at {} (ta/len {:.2f}): it waited\n"
        "for the CPU-bound job's whole burst, and afterwards the CPU idled during each of its I/Os (CPU\n"
        "utilisation {:.0f}%). Under RR it got the CPU at {}, and its I/Os overlapped job 0's computing: the\n"
        "CPU was never idle (utilisation {:.0f}%), job 1 finished at {}, and even job 0 only lost {} units.\n"
        "That is the seed's \"FCFS suits CPU-bound jobs and is bad for I/O-bound ones\" - and why it wastes\n"
        "the machine: while the CPU-bound job runs, the I/O device waits, and then the CPU does.\n"
        "And RR's idea, \"each process waits in proportion to the service it gets\": wait / length is {:.2f}\n"
        "and {:.2f} under RR, {:.2f} and {:.2f} under FIFO.",
        job(f, 1).first_run, job(f, 1).response, job(f, 1).finish, stretch(job(f, 1)), 100 * f.cpu_utilisation(),
        job(r, 1).first_run, 100 * r.cpu_utilisation(), job(r, 1).finish, job(r, 0).finish - job(f, 0).finish,
        wait_ratio(job(r, 0)), wait_ratio(job(r, 1)), wait_ratio(job(f, 0)), wait_ratio(job(f, 1))));
}

// Demo 8 - back into the ready queue after an I/O (seed 004 §二: a process enters RR's ready queue
// when it is new, when its slice ran out, or when the I/O it blocked on completes).
void demo_rr_io_rejoin() {
    const auto jobs = scheduling::parse_jobs("0:6:2,0:6,1:4");
    wb::note("RR, slice 3, I/O takes 2. Job 0 starts an I/O after every 2 units; jobs 1 and 2 never do:");
    const Schedule s = show(jobs, with_io(rr(3), 2));
    // Job 0's first I/O, and when it ran again.
    const scheduling::Span io = *std::find_if(s.io.begin(), s.io.end(), [](const auto& x) { return x.job == 0; });
    Time again = 0;
    for (const auto& run : s.timeline) {
        if (run.job == 0 && run.start >= io.end) {
            again = run.start;
            break;
        }
    }
    wb::note(fmt::format(
        "Job 0 ran 0-{} and blocked before its slice was over: it left the CPU at once, and job 1 ran\n"
        "meanwhile. Its I/O completed at {} and it rejoined the ready queue at the tail, behind job 2, which\n"
        "had arrived at 1; at 5 job 1's slice ran out and it went behind job 0. Job 0 ran again at {}.\n"
        "The three ways into the queue, all in one run: a new job (2), a job back from its I/O (0), a job\n"
        "whose slice ran out (1). Job 0's {} units in I/O are not waiting for the CPU: its wait is {}.",
        io.start, io.end, again, job(s, 0).io, job(s, 0).wait));
}

// Demo 5 - MLFQ (seed 004 §二: "多级反馈队列调度算法则不必事先知道各种进程所需的执行时间").
// A long job starts alone; two short jobs arrive while it runs. Nobody tells the scheduler any
// length.
void demo_mlfq() {
    const auto jobs = scheduling::parse_jobs("0:20,5:2,9:3");
    wb::note("A 20-unit job starts at 0; short jobs arrive at 5 and 9. MLFQ with slices 1, 2, 4, then FIFO:");
    const Schedule m = show(jobs, mlfq({1, 2, 4}));
    const Schedule f = show(jobs, fifo());
    compare({{"FIFO", f}, {"SJF", scheduling::simulate(jobs, sjf())}, {"MLFQ 1,2,4", m}});
    wb::note(fmt::format(
        "Under MLFQ the long job used up its slice at levels 0 and 1 and sank to level 2. When a short\n"
        "job arrived it entered the top queue and preempted the long one at once: jobs 1 and 2 had\n"
        "response times {} and {} and turnarounds {} and {}, against {} and {} under FIFO.\n"
        "SJF cannot help here: it does not preempt, and job 0 was alone when it started. MLFQ treats every\n"
        "new job as if it were short, and learns that a job is long by watching it use whole slices.",
        job(m, 1).response, job(m, 2).response, job(m, 1).turnaround, job(m, 2).turnaround,
        job(f, 1).turnaround, job(f, 2).turnaround));
}

// Demo 6 - where does the preempted job go? The seed: "由调度程序把正在运行的进程放回到第i队列的末尾"
// (back to the tail of its queue). The OSTEP simulator keeps it at the head. Same jobs, both rules.
void demo_mlfq_preempted() {
    const auto jobs = scheduling::parse_jobs("0:6,0:6,3:1");
    wb::note("Jobs 0 and 1 need 6 units each, job 2 arrives at 3. Slices 1, 2, 4; first the seed's rule:");
    const Schedule tail = show(jobs, mlfq({1, 2, 4}, PreemptedTo::tail));
    wb::note("Then the OSTEP rule:");
    const Schedule head = show(jobs, mlfq({1, 2, 4}, PreemptedTo::head));
    wb::note(fmt::format(
        "At time 3 job 2 arrives in the top queue and preempts job 0, which had used 1 of its 2 units at\n"
        "level 1. With the seed's rule job 0 goes to the tail of level 1, behind job 1: job 1 runs next\n"
        "and finishes first (at {}, job 0 at {}). With the OSTEP rule job 0 goes back to the head, resumes\n"
        "at 4 with the rest of its slice, and finishes first (at {}, job 1 at {}). Either way the preempted\n"
        "job keeps what is left of its slice; only its place in the queue differs.",
        job(tail, 1).finish, job(tail, 0).finish, job(head, 0).finish, job(head, 1).finish));
}

// Demo 9 - starvation and the priority boost (OSTEP's rule 5; the seed's MLFQ has no boost).
// A 4-unit job, then a 1-unit job arriving at every tick from 1 to 12: each newcomer enters the
// top queue and goes ahead of the long job, which has sunk. Then the same with a boost every 3.
void demo_mlfq_boost() {
    std::string list = "0:4";
    for (int t = 1; t <= 12; ++t) list += fmt::format(",{}:1", t);
    const auto jobs = scheduling::parse_jobs(list);
    // The longest time job 0 was ready without running.
    const auto longest_wait = [](const Schedule& s) {
        Time ready_from = job(s, 0).job.arrival, longest = 0;
        for (const auto& run : s.timeline) {
            if (run.job != 0) continue;
            longest = std::max(longest, run.start - ready_from);
            ready_from = run.end;
        }
        return longest;
    };
    wb::note("A 4-unit job 0, and a 1-unit job arriving at every tick from 1 to 12. MLFQ 1, 2, 4 without a boost:");
    const Schedule starved = show(jobs, mlfq({1, 2, 4}));
    wb::note("The same with a boost every 3 units (every job back to the top queue, with a fresh slice):");
    Config boosted = mlfq({1, 2, 4});
    boosted.boost = 3;
    const Schedule rescued = show(jobs, boosted);
    wb::note(fmt::format(
        "Without the boost job 0 ran once, sank to level 1, and then waited {} units while the short jobs\n"
        "took the top queue: it finished at {}. Were the stream endless, it would never run again\n"
        "(starvation). With the boost it went back to the top queue every 3 units: it never waited more\n"
        "than {} units and finished at {}. The short jobs paid a little (average turnaround {:.2f} instead\n"
        "of {:.2f}). The seed's MLFQ has no boost; OSTEP adds it as rule 5, for exactly this.",
        longest_wait(starved), job(starved, 0).finish, longest_wait(rescued), job(rescued, 0).finish,
        rescued.avg.turnaround, starved.avg.turnaround));
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "01-scheduling",
        .title = "Scheduling",
        .description =
            "A simulator of the CPU scheduling policies of the seeds: FCFS (fifo), SJF, round robin (rr) and the\n"
            "multi-level feedback queue (mlfq), with I/O and MLFQ's priority boost. The demos show the seeds'\n"
            "claims; with --policy it runs one simulation of your own jobs and prints a Gantt chart and the\n"
            "per-job response, turnaround and wait times (or, with --format json, one JSON document); --quiz\n"
            "asks you to predict a schedule, --quiz --answers checks it. Time is in whole units.",
        .demos = {
            {"fcfs", "FCFS: short jobs behind a long one wait for all of it", demo_fcfs},
            {"sjf", "SJF: short jobs first, and a long job that keeps being overtaken", demo_sjf},
            {"rr-huge-slice", "RR with a slice as long as the longest job is FCFS", demo_rr_huge_slice},
            {"rr-slice", "RR: a tiny slice answers fast but switches all the time", demo_rr_slice},
            {"io-mix", "CPU-bound and I/O-bound jobs: FCFS idles the CPU, RR overlaps the I/O", demo_io_mix},
            {"rr-io-rejoin", "RR: a job back from its I/O rejoins the ready queue at the tail", demo_rr_io_rejoin},
            {"mlfq", "MLFQ: short jobs finish fast without anyone knowing lengths", demo_mlfq},
            {"mlfq-preempted", "MLFQ: the preempted job to the tail (seed) or the head (OSTEP)", demo_mlfq_preempted},
            {"mlfq-boost", "MLFQ: a long job starved by short ones, rescued by a priority boost", demo_mlfq_boost},
        },
        // One simulation of your own (--policy ...) instead of the demos: single_run.cpp.
        .options = ch01::single_run_options(),
        .formats = {wb::Format::text, wb::Format::jsonl, wb::Format::json},
        .mode = ch01::single_run,
    });
}
