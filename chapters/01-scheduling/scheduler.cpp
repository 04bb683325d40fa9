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
                                                     finish_(jobs.size(), -1), io_(jobs.size(), 0) {}

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

    // Job `index` was blocked in I/O during [start, end).
    void blocked(std::size_t index, Time start, Time end) {
        io_[index] += end - start;
        io_spans_.push_back(Span{jobs_[index].id, start, end});
    }

    void finished(std::size_t index, Time when) { finish_[index] = when; }

    Schedule result(Policy policy) const {
        Schedule s;
        s.policy = policy;
        s.timeline = timeline_;
        s.io = io_spans_;

        // Per job, straight from the definitions.
        for (std::size_t i = 0; i < jobs_.size(); ++i) {
            JobResult r;
            r.job = jobs_[i];
            r.first_run = first_run_[i];
            r.finish = finish_[i];
            r.io = io_[i];
            r.response = r.first_run - r.job.arrival;
            r.turnaround = r.finish - r.job.arrival;
            r.wait = r.turnaround - r.job.length - r.io;
            s.jobs.push_back(r);
            if (r.job.io_freq > 0) s.has_io = true;
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
        // neighbouring runs of the same job (an MLFQ demotion while nobody else was ready, or a
        // job that comes back from its I/O to an idle CPU) are not a switch.
        for (std::size_t k = 1; k < timeline_.size(); ++k) {
            if (timeline_[k].job != timeline_[k - 1].job) ++s.context_switches;
        }

        // The CPU's use: busy time, and the idle gaps from 0 to the last finish.
        Time at = 0;
        for (const Run& run : timeline_) {
            if (run.start > at) s.idle.push_back(Span{-1, at, run.start});
            s.busy += run.end - run.start;
            at = run.end;
        }
        s.end = at;
        return s;
    }

private:
    const std::vector<Job>& jobs_;
    std::vector<Time> first_run_;
    std::vector<Time> finish_;
    std::vector<Time> io_;
    std::vector<Run> timeline_;
    std::vector<Span> io_spans_;
};

// Where ready jobs come from: arrivals (in arrival order) and I/O completions (in the order the
// I/Os started: every I/O takes the same time, so that is also the order they end).
// admit(now, f) calls f for every job that became ready by `now` and was not handed out yet, in
// time order; at one instant, arrivals before I/O completions.
class Events {
public:
    Events(const std::vector<Job>& jobs, Time io_time) : jobs_(jobs), io_time_(io_time) {}

    template <typename F>
    void admit(Time now, F&& f) {
        for (;;) {
            const bool arrival = next_ < jobs_.size() && jobs_[next_].arrival <= now;
            const bool io = !io_.empty() && io_.front().first <= now;
            if (arrival && (!io || jobs_[next_].arrival <= io_.front().first)) {
                f(next_++);
            } else if (io) {
                const std::size_t i = io_.front().second;
                io_.pop_front();
                f(i);
            } else {
                return;
            }
        }
    }
    // Job `index` starts an I/O at `now`: it will be ready again at now + io_time.
    void start_io(std::size_t index, Time now, Recorder& record) {
        record.blocked(index, now, now + io_time_);
        io_.emplace_back(now + io_time_, index);
    }
    // When the CPU would otherwise be idle: the time the next job becomes ready. Requires pending().
    [[nodiscard]] Time next() const {
        Time t = std::numeric_limits<Time>::max();
        if (next_ < jobs_.size()) t = jobs_[next_].arrival;
        if (!io_.empty()) t = std::min(t, io_.front().first);
        return t;
    }
    [[nodiscard]] bool pending() const { return next_ < jobs_.size() || !io_.empty(); }

private:
    const std::vector<Job>& jobs_;
    Time io_time_;
    std::size_t next_ = 0;
    std::deque<std::pair<Time, std::size_t>> io_;  // (completion time, job)
};

// How far each job has got: the work left and the work done, and how long it may run before it
// must stop for an I/O or because it is done.
struct Progress {
    explicit Progress(const std::vector<Job>& jobs) : jobs(jobs), remaining(jobs.size()), done(jobs.size(), 0) {
        for (std::size_t i = 0; i < jobs.size(); ++i) remaining[i] = jobs[i].length;
    }
    // The units until job i finishes or starts its next I/O: its next CPU burst.
    [[nodiscard]] Time burst(std::size_t i) const {
        const Time f = jobs[i].io_freq;
        return f > 0 ? std::min(remaining[i], f - done[i] % f) : remaining[i];
    }
    void run(std::size_t i, Time units) {
        remaining[i] -= units;
        done[i] += units;
    }
    // After a run: does job i start an I/O now? Never when it is done.
    [[nodiscard]] bool io_due(std::size_t i) const {
        return remaining[i] > 0 && jobs[i].io_freq > 0 && done[i] % jobs[i].io_freq == 0;
    }
    const std::vector<Job>& jobs;
    std::vector<Time> remaining;
    std::vector<Time> done;
};

// ---------------------------------------------------------------------------------------------
// FIFO (FCFS): whoever came first runs until it is done or blocks.
// ---------------------------------------------------------------------------------------------
// The seed: "FCFS favours long jobs and hurts short ones". A short job that arrives just after
// a long one waits for all of it (the convoy effect). With I/O, a job that blocks goes to the
// tail when its I/O completes, behind everyone who came meanwhile: an I/O-bound job waits for
// a CPU-bound job's whole burst after each of its I/Os.
//
// SJF is the same loop with another choice of whom to run: `sjf` picks the shortest next burst.
Schedule run_nonpreemptive(const std::vector<Job>& jobs, Time io_time, bool sjf) {
    Recorder record(jobs);
    Events events(jobs, io_time);
    Progress progress(jobs);
    std::deque<std::size_t> ready;
    const auto join_tail = [&](std::size_t i) { ready.push_back(i); };
    Time now = 0;
    for (std::size_t done = 0; done < jobs.size();) {
        // Everyone who became ready by now is in the queue; with nobody ready the CPU idles until
        // the next arrival or I/O completion (and never waits any longer for a shorter job).
        events.admit(now, join_tail);
        if (ready.empty()) {
            now = events.next();
            continue;
        }
        auto pick = ready.begin();
        if (sjf) {
            // The shortest next burst; equal bursts by arrival then id, which is the index order.
            pick = std::min_element(ready.begin(), ready.end(), [&](std::size_t a, std::size_t b) {
                const Time ba = progress.burst(a), bb = progress.burst(b);
                return ba != bb ? ba < bb : a < b;
            });
        }
        const std::size_t i = *pick;
        ready.erase(pick);
        // The job keeps the CPU for its whole burst: to its end, or to its next I/O.
        const Time burst = progress.burst(i);
        record.ran(i, now, now + burst, 0);
        now += burst;
        progress.run(i, burst);
        if (progress.remaining[i] == 0) {
            record.finished(i, now);
            ++done;
        } else {
            events.start_io(i, now, record);
        }
    }
    return record.result(sjf ? Policy::sjf : Policy::fifo);
}

// ---------------------------------------------------------------------------------------------
// RR: one queue, everybody gets at most one slice at a time.
// ---------------------------------------------------------------------------------------------
// The seed: a job that used up its slice "releases the CPU and goes to the end of the ready
// queue". A huge slice (one the longest job finishes within) turns RR back into FCFS; a tiny
// slice gives a quick first response but costs a context switch at nearly every tick. Seed 004
// names the three ways into the ready queue: a new process, a process whose slice ran out, and a
// blocked process whose I/O completed.
Schedule run_rr(const std::vector<Job>& jobs, Time quantum, Time io_time) {
    Recorder record(jobs);
    Events events(jobs, io_time);
    Progress progress(jobs);
    std::deque<std::size_t> ready;
    const auto join_tail = [&](std::size_t i) { ready.push_back(i); };

    Time now = 0;
    std::size_t done = 0;
    while (done < jobs.size()) {
        // Whoever became ready by now joins the tail; with nobody ready, jump to the next event.
        events.admit(now, join_tail);
        if (ready.empty()) {
            now = events.next();
            continue;
        }
        // The head of the queue runs for one slice, or less if it finishes or blocks sooner.
        const std::size_t i = ready.front();
        ready.pop_front();
        const Time slice = std::min(quantum, progress.burst(i));
        record.ran(i, now, now + slice, 0);
        now += slice;
        progress.run(i, slice);
        if (progress.remaining[i] == 0) {
            record.finished(i, now);
            ++done;
            continue;
        }
        if (progress.io_due(i)) {
            // Blocked: off the CPU until its I/O completes, then to the tail like a newcomer.
            events.start_io(i, now, record);
            continue;
        }
        // Slice used up: back to the tail. Tie rule: jobs that became ready during the slice, or
        // exactly as it ended, were in line first and join before it. If nobody else is ready it
        // is at the head again and runs on (no context switch).
        events.admit(now, join_tail);
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
// approximates SJF without knowing any length. OSTEP adds rule 5, the priority boost: every so
// often all jobs go back to the top, so a long job cannot starve behind a stream of short ones.
//
// The simulation goes tick by tick (a tick is one time unit) because a preemption can happen at
// any tick. The steps are numbered as in scheduler.hpp.
Schedule run_mlfq(const std::vector<Job>& jobs, const Config& config) {
    const std::vector<Time>& quanta = config.quanta;
    const PreemptedTo preempted_to = config.preempted_to;
    Recorder record(jobs);
    Events events(jobs, config.io_time);
    Progress progress(jobs);
    const int lowest = static_cast<int>(quanta.size()) - 1;
    std::vector<std::deque<std::size_t>> queues(quanta.size());
    const auto queue_of = [&](int l) -> std::deque<std::size_t>& { return queues[static_cast<std::size_t>(l)]; };

    // Per job: its level, and what is left of its slice at that level.
    std::vector<int> level(jobs.size(), 0);
    std::vector<Time> slice_left(jobs.size(), quanta[0]);
    std::vector<bool> finished(jobs.size(), false);

    // A job that becomes ready joins the tail of its level's queue (new jobs are at level 0).
    const auto join_tail = [&](std::size_t i) { queue_of(level[i]).push_back(i); };
    // The highest non-empty queue, or -1.
    const auto highest_ready = [&]() -> int {
        for (int l = 0; l <= lowest; ++l) {
            if (!queue_of(l).empty()) return l;
        }
        return -1;
    };
    // A running job put back in its queue: at the tail (the seed) or the head (OSTEP).
    const auto put_back = [&](std::size_t i) {
        if (preempted_to == PreemptedTo::tail) {
            queue_of(level[i]).push_back(i);
        } else {
            queue_of(level[i]).push_front(i);
        }
    };

    constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    std::size_t running = none;
    std::size_t expired = none;  // the job whose slice ran out at `now`, not queued yet (tail rule)

    // Step 2: the boost. Every unfinished job to level 0 with a fresh slice; the queues merge into
    // queue 0 in mlfq.py's order: queue 0 first, then the lowest queue up to queue 1.
    const auto boost = [&]() {
        if (running != none && level[running] > 0) {
            put_back(running);
            running = none;
        }
        for (int l = lowest; l >= 1; --l) {
            for (std::size_t i : queue_of(l)) queues[0].push_back(i);
            queue_of(l).clear();
        }
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            if (finished[i]) continue;
            level[i] = 0;
            slice_left[i] = quanta[0];
        }
    };
    const auto boost_due = [&](Time t) { return config.boost > 0 && t > 0 && t % config.boost == 0; };

    Time now = 0;
    std::size_t done = 0;
    while (done < jobs.size()) {
        // Step 2: boost at every multiple of the period.
        if (boost_due(now)) boost();

        // Step 3: arrivals join the top queue, I/O completions their level's; then (tail rule)
        // the job whose slice ran out at this instant, behind them.
        events.admit(now, join_tail);
        if (expired != none) {
            join_tail(expired);
            expired = none;
        }

        // Step 4: a job in a queue above the running job's preempts it. It goes back to the tail
        // of its queue (the seed's rule) or to the head (the rule of the OSTEP simulator, where
        // the running job never leaves its queue), and keeps what is left of its slice.
        if (running != none) {
            const int above = highest_ready();
            if (above != -1 && above < level[running]) {
                put_back(running);
                running = none;
            }
        }

        // Step 5: a free CPU takes the head of the highest non-empty queue. With every queue
        // empty it idles until the next arrival or I/O completion; a boost due meanwhile only
        // resets levels and slices (all queues are empty), so one boost stands for them all.
        if (running == none) {
            const int l = highest_ready();
            if (l == -1) {
                const Time next = events.next();
                if (config.boost > 0 && next / config.boost > now / config.boost) boost();
                now = next;
                continue;
            }
            running = queue_of(l).front();
            queue_of(l).pop_front();
        }

        // Step 6: one tick of work.
        const std::size_t i = running;
        record.ran(i, now, now + 1, level[i]);
        ++now;
        progress.run(i, 1);
        --slice_left[i];
        if (progress.remaining[i] == 0) {
            record.finished(i, now);
            finished[i] = true;
            ++done;
            running = none;
            continue;
        }
        const bool io = progress.io_due(i);
        if (io) {
            // Blocked: it keeps its level and the rest of its slice for when it comes back.
            events.start_io(i, now, record);
            running = none;
        }
        if (slice_left[i] == 0) {
            // The whole slice used: one level down (the lowest level stays), with a fresh slice.
            // A job that also started an I/O this tick is demoted while blocked.
            level[i] = std::min(level[i] + 1, lowest);
            slice_left[i] = quanta[static_cast<std::size_t>(level[i])];
            if (!io) {
                // Step 1 (head rule: queued at once, before whatever becomes ready at this
                // instant) or step 3 (tail rule: after them).
                if (preempted_to == PreemptedTo::head) {
                    queue_of(level[i]).push_back(i);
                } else {
                    expired = i;
                }
                running = none;
            }
        }
        // Otherwise the job keeps the CPU for its next tick, unless step 2 or 4 takes it.
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
        if (job.io_freq < 0) {
            throw std::invalid_argument("job " + std::to_string(job.id) + " has a negative I/O frequency");
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
    const bool io = std::any_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.io_freq > 0; });
    if (io && (config.io_time < 1 || config.io_time > max_io_time)) {
        throw std::invalid_argument("the I/O time must be 1 to " + std::to_string(max_io_time));
    }
    if (config.boost < 0) throw std::invalid_argument("the boost period cannot be negative");
    switch (config.policy) {
    case Policy::fifo:
        return run_nonpreemptive(ordered, config.io_time, false);
    case Policy::sjf:
        return run_nonpreemptive(ordered, config.io_time, true);
    case Policy::rr:
        if (config.quantum < 1) throw std::invalid_argument("the RR time slice must be at least 1");
        return run_rr(ordered, config.quantum, config.io_time);
    case Policy::mlfq:
        if (config.quanta.empty()) throw std::invalid_argument("MLFQ needs at least one level");
        for (Time q : config.quanta) {
            if (q < 1) throw std::invalid_argument("every MLFQ time slice must be at least 1");
        }
        return run_mlfq(ordered, config);
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
        // "LENGTH" arrives at 0; "ARRIVAL:LENGTH" at ARRIVAL; "ARRIVAL:LENGTH:IOFREQ" does I/O.
        const auto colon = item.find(':');
        if (colon != std::string_view::npos) {
            job.arrival = parse_number(item.substr(0, colon), "arrival", 0, max_arrival);
            std::string_view rest = item.substr(colon + 1);
            const auto second = rest.find(':');
            if (second != std::string_view::npos) {
                job.io_freq = parse_number(rest.substr(second + 1), "I/O frequency", 0, max_length);
                rest = rest.substr(0, second);
            }
            job.length = parse_number(rest, "length", 1, max_length);
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
        if (job.io_freq > 0) out += ':' + std::to_string(job.io_freq);
    }
    return out;
}

}  // namespace scheduling
