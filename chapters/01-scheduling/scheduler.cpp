// scheduler.cpp - the four policies of seed 000 §1.3 / seed 004 §二, one function each.
//
// Every policy works on the jobs in *arrival order* (equal arrivals by id), the order in which
// the kernel would learn about them, and records what it decides in a Recorder: which job ran
// from when to when, and at which level. The numbers the chapter prints (response, turnaround,
// wait, context switches) are all computed from that record afterwards, the same way for
// every policy, so a policy cannot get its own bookkeeping wrong.
#include "scheduler.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_set>

namespace scheduling {
namespace {

// ---------------------------------------------------------------------------------------------
// The bookkeeping every policy shares.
// ---------------------------------------------------------------------------------------------

// Jobs sorted the way they reach the ready queue: by arrival, equal arrivals by id. From here on
// a job is known by its index in this order, so "smaller index" means "came first".
std::vector<Job> in_arrival_order(std::vector<Job> jobs) {
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
        return a.arrival != b.arrival ? a.arrival < b.arrival : a.id < b.id;
    });
    return jobs;
}

// Records the schedule as the simulation makes it, then derives every number from it.
class Recorder {
public:
    explicit Recorder(const std::vector<Job>& jobs) : jobs_(jobs), first_run_(jobs.size(), -1),
                                                     finish_(jobs.size(), -1) {}

    // Job `index` had the CPU during [start, end) at `level`. A run that continues the previous
    // one (same job, same level, no gap) extends it: the timeline lists contiguous runs.
    void ran(std::size_t index, Time start, Time end, int level) {
        if (first_run_[index] < 0) first_run_[index] = start;
        const int id = jobs_[index].id;
        if (!timeline_.empty()) {
            Run& last = timeline_.back();
            if (last.job == id && last.level == level && last.end == start) {
                last.end = end;
                return;
            }
        }
        timeline_.push_back(Run{id, start, end, level});
    }

    void finished(std::size_t index, Time when) { finish_[index] = when; }

    Schedule result(Policy policy) const {
        Schedule s;
        s.policy = policy;
        s.timeline = timeline_;

        // Per job, straight from the definitions.
        for (std::size_t i = 0; i < jobs_.size(); ++i) {
            JobResult r;
            r.job = jobs_[i];
            r.first_run = first_run_[i];
            r.finish = finish_[i];
            r.response = r.first_run - r.job.arrival;
            r.turnaround = r.finish - r.job.arrival;
            r.wait = r.turnaround - r.job.length;
            s.jobs.push_back(r);
        }
        std::sort(s.jobs.begin(), s.jobs.end(),
                  [](const JobResult& a, const JobResult& b) { return a.job.id < b.job.id; });

        // The averages over all jobs.
        const auto n = static_cast<double>(s.jobs.size());
        for (const JobResult& r : s.jobs) {
            s.avg.response += static_cast<double>(r.response) / n;
            s.avg.turnaround += static_cast<double>(r.turnaround) / n;
            s.avg.wait += static_cast<double>(r.wait) / n;
        }

        // A context switch: the CPU passes to a job other than the one it ran last. Two
        // neighbouring runs of the same job (an MLFQ demotion while nobody else was ready) are
        // not a switch.
        for (std::size_t k = 1; k < timeline_.size(); ++k) {
            if (timeline_[k].job != timeline_[k - 1].job) ++s.context_switches;
        }
        return s;
    }

private:
    const std::vector<Job>& jobs_;
    std::vector<Time> first_run_;
    std::vector<Time> finish_;
    std::vector<Run> timeline_;
};

// Hands out the jobs in arrival order: admit(now, f) calls f for every job that has arrived by
// `now` and was not handed out yet.
class Arrivals {
public:
    explicit Arrivals(const std::vector<Job>& jobs) : jobs_(jobs) {}

    template <typename F>
    void admit(Time now, F&& f) {
        while (next_ < jobs_.size() && jobs_[next_].arrival <= now) f(next_++);
    }
    // When the CPU would otherwise be idle: the time the next job arrives. Requires pending().
    [[nodiscard]] Time next_arrival() const { return jobs_[next_].arrival; }
    [[nodiscard]] bool pending() const { return next_ < jobs_.size(); }

private:
    const std::vector<Job>& jobs_;
    std::size_t next_ = 0;
};

// ---------------------------------------------------------------------------------------------
// FIFO (FCFS): whoever came first runs to the end.
// ---------------------------------------------------------------------------------------------
// The seed: "FCFS favours long jobs and hurts short ones". A short job that arrives just after
// a long one waits for all of it (the convoy effect).
Schedule run_fifo(const std::vector<Job>& jobs) {
    Recorder record(jobs);
    Time now = 0;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        // The CPU idles until the job arrives, then the job keeps it until it is done.
        now = std::max(now, jobs[i].arrival);
        record.ran(i, now, now + jobs[i].length, 0);
        now += jobs[i].length;
        record.finished(i, now);
    }
    return record.result(Policy::fifo);
}

// ---------------------------------------------------------------------------------------------
// SJF: whenever the CPU is free, the shortest ready job runs, to the end.
// ---------------------------------------------------------------------------------------------
// The seed: good for short jobs, bad for long ones, and "the lengths are only estimated": a real
// kernel does not know them. The simulator does, which is what makes SJF possible here.
Schedule run_sjf(const std::vector<Job>& jobs) {
    Recorder record(jobs);
    Arrivals arrivals(jobs);
    std::vector<std::size_t> ready;
    Time now = 0;
    for (std::size_t done = 0; done < jobs.size(); ++done) {
        // Everyone who has arrived by now is a candidate.
        arrivals.admit(now, [&](std::size_t i) { ready.push_back(i); });
        // Nobody is ready: the CPU idles until the next arrival (and does not wait any longer
        // for a shorter job that might come later: SJF here is non-preemptive and greedy).
        if (ready.empty()) {
            now = arrivals.next_arrival();
            arrivals.admit(now, [&](std::size_t i) { ready.push_back(i); });
        }
        // The shortest; equal lengths by arrival then id, which is the index order.
        const auto pick = std::min_element(ready.begin(), ready.end(), [&](auto a, auto b) {
            return jobs[a].length != jobs[b].length ? jobs[a].length < jobs[b].length : a < b;
        });
        const std::size_t i = *pick;
        ready.erase(pick);
        record.ran(i, now, now + jobs[i].length, 0);
        now += jobs[i].length;
        record.finished(i, now);
    }
    return record.result(Policy::sjf);
}

// ---------------------------------------------------------------------------------------------
// RR: one queue, everybody gets at most one slice at a time.
// ---------------------------------------------------------------------------------------------
// The seed: a job that used up its slice "releases the CPU and goes to the end of the ready
// queue". A huge slice (one the longest job finishes within) turns RR back into FCFS; a tiny
// slice gives a quick first response but costs a context switch at nearly every tick.
Schedule run_rr(const std::vector<Job>& jobs, Time quantum) {
    Recorder record(jobs);
    Arrivals arrivals(jobs);
    std::vector<Time> remaining(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) remaining[i] = jobs[i].length;
    std::deque<std::size_t> ready;
    const auto join_tail = [&](std::size_t i) { ready.push_back(i); };

    Time now = 0;
    std::size_t done = 0;
    while (done < jobs.size()) {
        // Whoever has arrived by now joins the tail; with nobody ready, jump to the next arrival.
        arrivals.admit(now, join_tail);
        if (ready.empty()) {
            now = arrivals.next_arrival();
            continue;
        }
        // The head of the queue runs for one slice, or less if it finishes sooner.
        const std::size_t i = ready.front();
        ready.pop_front();
        const Time slice = std::min(quantum, remaining[i]);
        record.ran(i, now, now + slice, 0);
        now += slice;
        remaining[i] -= slice;
        if (remaining[i] == 0) {
            record.finished(i, now);
            ++done;
            continue;
        }
        // Not done: back to the tail. Tie rule: jobs that arrived during the slice, or exactly as
        // it ended, were in line first and join before it. If nobody else is ready it is at the
        // head again and runs on (no context switch).
        arrivals.admit(now, join_tail);
        ready.push_back(i);
    }
    return record.result(Policy::rr);
}

// ---------------------------------------------------------------------------------------------
// MLFQ: several RR queues, higher ones first; a job's behaviour decides its level.
// ---------------------------------------------------------------------------------------------
// Seed 004 §二, rules (1)-(3): queue i+1's slice is twice queue i's; a new job enters the tail of
// the first queue; a job that does not finish within its slice drops to the tail of the next
// queue, and the last queue is plain RR; queue i runs only when queues 0..i-1 are empty, and a new
// job arriving in a higher queue preempts the running one, which goes back to the end of its
// queue. Short jobs therefore finish in the top queues quickly, long ones sink: the scheduler
// approximates SJF without knowing any length.
//
// The simulation goes tick by tick (a tick is one time unit) because a preemption can happen at
// any tick.
Schedule run_mlfq(const std::vector<Job>& jobs, const std::vector<Time>& quanta, PreemptedTo preempted_to) {
    Recorder record(jobs);
    Arrivals arrivals(jobs);
    const int lowest = static_cast<int>(quanta.size()) - 1;
    std::vector<std::deque<std::size_t>> queues(quanta.size());

    // Per job: the work left, its level, and what is left of its slice at that level.
    std::vector<Time> remaining(jobs.size());
    std::vector<int> level(jobs.size(), 0);
    std::vector<Time> slice_left(jobs.size(), quanta[0]);
    for (std::size_t i = 0; i < jobs.size(); ++i) remaining[i] = jobs[i].length;

    // New jobs enter the tail of the top queue with the top level's slice.
    const auto enter_top = [&](std::size_t i) { queues[0].push_back(i); };
    // The highest non-empty queue, or -1.
    const auto highest_ready = [&]() -> int {
        for (int l = 0; l <= lowest; ++l) {
            if (!queues[static_cast<std::size_t>(l)].empty()) return l;
        }
        return -1;
    };

    constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    std::size_t running = none;
    Time now = 0;
    std::size_t done = 0;
    while (done < jobs.size()) {
        // Step 1: arrivals join the top queue.
        arrivals.admit(now, enter_top);

        // Step 2: an arrival in a queue above the running job's preempts it. It goes back to the
        // tail of its queue (the seed's rule) or to the head (the rule of the OSTEP simulator,
        // where the running job never leaves its queue), and keeps what is left of its slice
        // (this simulator's choice: the seed does not say).
        if (running != none) {
            const int above = highest_ready();
            if (above != -1 && above < level[running]) {
                auto& own = queues[static_cast<std::size_t>(level[running])];
                if (preempted_to == PreemptedTo::tail) {
                    own.push_back(running);
                } else {
                    own.push_front(running);
                }
                running = none;
            }
        }

        // Step 3: a free CPU takes the head of the highest non-empty queue. With every queue
        // empty it idles until the next arrival.
        if (running == none) {
            const int l = highest_ready();
            if (l == -1) {
                now = arrivals.next_arrival();
                continue;
            }
            running = queues[static_cast<std::size_t>(l)].front();
            queues[static_cast<std::size_t>(l)].pop_front();
        }

        // Step 4: one tick of work.
        const std::size_t i = running;
        record.ran(i, now, now + 1, level[i]);
        ++now;
        --remaining[i];
        --slice_left[i];
        if (remaining[i] == 0) {
            record.finished(i, now);
            ++done;
            running = none;
        } else if (slice_left[i] == 0) {
            // The whole slice used: one level down (the lowest level stays), with a fresh slice,
            // at the tail of that queue. Tie rule, as in RR: jobs arriving at this very instant
            // are in line first, so with a single level MLFQ is exactly RR.
            arrivals.admit(now, enter_top);
            level[i] = std::min(level[i] + 1, lowest);
            slice_left[i] = quanta[static_cast<std::size_t>(level[i])];
            queues[static_cast<std::size_t>(level[i])].push_back(i);
            running = none;
        }
        // Otherwise the job keeps the CPU for its next tick, unless step 2 preempts it.
    }
    return record.result(Policy::mlfq);
}

// ---------------------------------------------------------------------------------------------
// Input checks and the small parsers of the command line.
// ---------------------------------------------------------------------------------------------

void check_jobs(const std::vector<Job>& jobs) {
    if (jobs.empty()) throw std::invalid_argument("there are no jobs to schedule");
    std::unordered_set<int> ids;
    for (const Job& job : jobs) {
        if (!ids.insert(job.id).second) {
            throw std::invalid_argument("two jobs have the id " + std::to_string(job.id));
        }
        if (job.arrival < 0) {
            throw std::invalid_argument("job " + std::to_string(job.id) + " arrives before time 0");
        }
        if (job.length < 1) {
            throw std::invalid_argument("job " + std::to_string(job.id) + " has length " +
                                        std::to_string(job.length) + " (at least 1)");
        }
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A whole number in [lo, hi]; `what` names it in the error message.
Time parse_number(std::string_view text, std::string_view what, Time lo, Time hi) {
    text = trim(text);
    Time value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error == std::errc::invalid_argument || end != text.data() + text.size()) {
        throw std::invalid_argument(std::string(what) + " '" + std::string(text) + "' is not a whole number");
    }
    if (error == std::errc::result_out_of_range || value < lo || value > hi) {
        throw std::invalid_argument(std::string(what) + " " + std::string(text) + " is out of range (" +
                                    std::to_string(lo) + " to " + std::to_string(hi) + ")");
    }
    return value;
}

// Splits "a,b,c" into its items; an empty item is an error.
std::vector<std::string_view> split_list(std::string_view text, std::string_view what) {
    std::vector<std::string_view> items;
    for (;;) {
        const auto comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        if (item.empty()) throw std::invalid_argument("empty " + std::string(what) + " in the list");
        items.push_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return items;
}

}  // namespace

void check_total_length(const std::vector<Job>& jobs) {
    Time total = 0;
    for (const Job& j : jobs) total += j.length;  // each <= max_length, at most max_jobs: no overflow
    if (total > max_total_length) {
        throw std::invalid_argument("the jobs need " + std::to_string(total) + " units of CPU in all; the limit is " +
                                    std::to_string(max_total_length) + " (it bounds one run's time and memory)");
    }
}

Schedule simulate(const std::vector<Job>& jobs, const Config& config) {
    check_jobs(jobs);
    check_total_length(jobs);
    const std::vector<Job> ordered = in_arrival_order(jobs);
    switch (config.policy) {
    case Policy::fifo:
        return run_fifo(ordered);
    case Policy::sjf:
        return run_sjf(ordered);
    case Policy::rr:
        if (config.quantum < 1) throw std::invalid_argument("the RR time slice must be at least 1");
        return run_rr(ordered, config.quantum);
    case Policy::mlfq:
        if (config.quanta.empty()) throw std::invalid_argument("MLFQ needs at least one level");
        for (Time q : config.quanta) {
            if (q < 1) throw std::invalid_argument("every MLFQ time slice must be at least 1");
        }
        return run_mlfq(ordered, config.quanta, config.preempted_to);
    }
    throw std::invalid_argument("unknown policy");
}

std::vector<Time> doubling_quanta(Time top, int levels) {
    if (top < 1 || top > max_quantum) throw std::invalid_argument("the top time slice is out of range");
    if (levels < 1 || levels > max_levels) throw std::invalid_argument("the number of levels is out of range");
    std::vector<Time> quanta;
    for (int l = 0; l < levels; ++l) quanta.push_back(top << l);
    return quanta;
}

std::string_view to_string(Policy policy) noexcept {
    switch (policy) {
    case Policy::fifo: return "fifo";
    case Policy::sjf: return "sjf";
    case Policy::rr: return "rr";
    case Policy::mlfq: return "mlfq";
    }
    return "?";
}

Policy parse_policy(std::string_view text) {
    for (Policy p : {Policy::fifo, Policy::sjf, Policy::rr, Policy::mlfq}) {
        if (text == to_string(p)) return p;
    }
    throw std::invalid_argument("unknown policy '" + std::string(text) + "' (choose fifo, sjf, rr or mlfq)");
}

std::string_view to_string(PreemptedTo where) noexcept {
    return where == PreemptedTo::tail ? "tail" : "head";
}

PreemptedTo parse_preempted_to(std::string_view text) {
    if (text == "tail") return PreemptedTo::tail;
    if (text == "head") return PreemptedTo::head;
    throw std::invalid_argument("'" + std::string(text) + "' is neither tail nor head");
}

std::vector<Job> parse_jobs(std::string_view text) {
    const auto items = split_list(text, "job");
    if (items.size() > static_cast<std::size_t>(max_jobs)) {
        throw std::invalid_argument("more than " + std::to_string(max_jobs) + " jobs");
    }
    std::vector<Job> jobs;
    for (std::string_view item : items) {
        Job job;
        job.id = static_cast<int>(jobs.size());
        // "LENGTH" arrives at 0; "ARRIVAL:LENGTH" at ARRIVAL.
        const auto colon = item.find(':');
        if (colon != std::string_view::npos) {
            job.arrival = parse_number(item.substr(0, colon), "arrival", 0, max_arrival);
            job.length = parse_number(item.substr(colon + 1), "length", 1, max_length);
        } else {
            job.length = parse_number(item, "length", 1, max_length);
        }
        jobs.push_back(job);
    }
    check_total_length(jobs);
    return jobs;
}

std::vector<Time> parse_quanta(std::string_view text) {
    const auto items = split_list(text, "time slice");
    if (items.size() > static_cast<std::size_t>(max_levels)) {
        throw std::invalid_argument("more than " + std::to_string(max_levels) + " levels");
    }
    std::vector<Time> quanta;
    for (std::string_view item : items) quanta.push_back(parse_number(item, "time slice", 1, max_quantum));
    return quanta;
}

std::string format_jobs(const std::vector<Job>& jobs) {
    std::string out;
    for (const Job& job : jobs) {
        if (!out.empty()) out += ',';
        out += std::to_string(job.arrival) + ':' + std::to_string(job.length);
    }
    return out;
}

}  // namespace scheduling
