// Unit tests of chapter 01's simulator (chapters/01-scheduling/scheduler.hpp), linked directly:
// hand-worked schedules for every policy and every tie rule, then properties checked on
// thousands of random job sets. The checks of the program's output are in 01-scheduling.cpp.
#include "../../chapters/01-scheduling/scheduler.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <ostream>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "wb/random.hpp"

namespace scheduling {
// How Catch2 prints a Run and a Span when a comparison fails.
std::ostream& operator<<(std::ostream& os, const Run& r) {
    return os << "{job " << r.job << " [" << r.start << "," << r.end << ") level " << r.level << "}";
}
std::ostream& operator<<(std::ostream& os, const Span& s) {
    return os << "{job " << s.job << " [" << s.start << "," << s.end << ")}";
}
}  // namespace scheduling

namespace {

using namespace scheduling;

// Jobs from {arrival, length} pairs; ids 0, 1, ... in the order given.
std::vector<Job> make_jobs(std::initializer_list<std::pair<Time, Time>> specs) {
    std::vector<Job> jobs;
    for (auto [arrival, length] : specs) jobs.push_back(Job{static_cast<int>(jobs.size()), arrival, length});
    return jobs;
}

Config fifo() { return Config{Policy::fifo}; }
Config sjf() { return Config{Policy::sjf}; }
Config rr(Time q) {
    Config c{Policy::rr};
    c.quantum = q;
    return c;
}
Config mlfq(std::vector<Time> quanta, PreemptedTo where = PreemptedTo::tail) {
    Config c{Policy::mlfq};
    c.quanta = std::move(quanta);
    c.preempted_to = where;
    return c;
}

// The same configuration with I/O taking `io_time` units (and, for MLFQ, a boost every `boost`).
Config with_io(Config c, Time io_time, Time boost = 0) {
    c.io_time = io_time;
    c.boost = boost;
    return c;
}

// Jobs from {arrival, length, io_freq}; ids 0, 1, ... in the order given.
std::vector<Job> make_io_jobs(std::initializer_list<std::tuple<Time, Time, Time>> specs) {
    std::vector<Job> jobs;
    for (auto [arrival, length, io_freq] : specs) {
        jobs.push_back(Job{static_cast<int>(jobs.size()), arrival, length, io_freq});
    }
    return jobs;
}

// The expected numbers of one job: id, first run, finish, response, turnaround, wait.
using Row = std::tuple<int, Time, Time, Time, Time, Time>;

void require_rows(const Schedule& s, const std::vector<Row>& rows) {
    REQUIRE(s.jobs.size() == rows.size());
    for (std::size_t k = 0; k < rows.size(); ++k) {
        const JobResult& r = s.jobs[k];
        INFO("job " << r.job.id);
        CHECK(Row{r.job.id, r.first_run, r.finish, r.response, r.turnaround, r.wait} == rows[k]);
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Hand-worked schedules.
// ---------------------------------------------------------------------------------------------

TEST_CASE("fifo runs jobs in arrival order, each to the end, idling until an arrival") {
    // J0 0-3, J1 3-8, J2 8-10, then the CPU idles until J3 arrives at 10.
    const Schedule s = simulate(make_jobs({{0, 3}, {1, 5}, {2, 2}, {10, 1}}), fifo());
    CHECK(s.timeline == std::vector<Run>{{0, 0, 3, 0}, {1, 3, 8, 0}, {2, 8, 10, 0}, {3, 10, 11, 0}});
    require_rows(s, {{0, 0, 3, 0, 3, 0}, {1, 3, 8, 2, 7, 2}, {2, 8, 10, 6, 8, 6}, {3, 10, 11, 0, 1, 0}});
    CHECK(s.avg.response == Approx(2.0));
    CHECK(s.avg.turnaround == Approx(4.75));
    CHECK(s.avg.wait == Approx(2.0));
    CHECK(s.context_switches == 3);
    CHECK(s.policy == Policy::fifo);
}

TEST_CASE("fifo: equal arrivals run by id, whatever order the jobs are given in") {
    std::vector<Job> jobs{{2, 0, 3}, {0, 0, 4}, {1, 0, 2}};
    const Schedule s = simulate(jobs, fifo());
    CHECK(s.timeline == std::vector<Run>{{0, 0, 4, 0}, {1, 4, 6, 0}, {2, 6, 9, 0}});
    // Results come back sorted by id.
    require_rows(s, {{0, 0, 4, 0, 4, 0}, {1, 4, 6, 4, 6, 4}, {2, 6, 9, 6, 9, 6}});
}

TEST_CASE("fifo: the convoy effect - short jobs behind a long one (the seed's claim)") {
    const Schedule s = simulate(make_jobs({{0, 8}, {0, 1}, {0, 1}}), fifo());
    require_rows(s, {{0, 0, 8, 0, 8, 0}, {1, 8, 9, 8, 9, 8}, {2, 9, 10, 9, 10, 9}});
    CHECK(s.avg.turnaround == Approx(9.0));
}

TEST_CASE("sjf picks the shortest ready job and never preempts") {
    // Only J0 is there at 0, so it runs to 8 although shorter jobs arrive meanwhile.
    // At 8: J2 (1), J3 (2), J1 (4).
    const Schedule s = simulate(make_jobs({{0, 8}, {1, 4}, {2, 1}, {3, 2}}), sjf());
    CHECK(s.timeline == std::vector<Run>{{0, 0, 8, 0}, {2, 8, 9, 0}, {3, 9, 11, 0}, {1, 11, 15, 0}});
    require_rows(s, {{0, 0, 8, 0, 8, 0}, {1, 11, 15, 10, 14, 10}, {2, 8, 9, 6, 7, 6}, {3, 9, 11, 6, 8, 6}});
    CHECK(s.avg.turnaround == Approx(37.0 / 4));
    CHECK(s.context_switches == 3);
}

TEST_CASE("sjf ties: equal lengths by arrival, then by id") {
    SECTION("by arrival before id") {
        // J1 alone at 0 runs 0-5. At 5, J0 (arrived 2) and J2 (arrived 1) both need 3: J2 first.
        const Schedule s = simulate(make_jobs({{2, 3}, {0, 5}, {1, 3}}), sjf());
        CHECK(s.timeline == std::vector<Run>{{1, 0, 5, 0}, {2, 5, 8, 0}, {0, 8, 11, 0}});
    }
    SECTION("by id") {
        const Schedule s = simulate(make_jobs({{0, 3}, {0, 2}, {0, 3}}), sjf());
        CHECK(s.timeline == std::vector<Run>{{1, 0, 2, 0}, {0, 2, 5, 0}, {2, 5, 8, 0}});
    }
    SECTION("the CPU idles until the first arrival") {
        const Schedule s = simulate(make_jobs({{5, 2}, {9, 1}}), sjf());
        CHECK(s.timeline == std::vector<Run>{{0, 5, 7, 0}, {1, 9, 10, 0}});
        require_rows(s, {{0, 5, 7, 0, 2, 0}, {1, 9, 10, 0, 1, 0}});
    }
}

TEST_CASE("sjf reverses the convoy: short jobs first, the long one waits") {
    const Schedule s = simulate(make_jobs({{0, 8}, {0, 1}, {0, 1}}), sjf());
    require_rows(s, {{0, 2, 10, 2, 10, 2}, {1, 0, 1, 0, 1, 0}, {2, 1, 2, 1, 2, 1}});
    CHECK(s.avg.turnaround == Approx(13.0 / 3));
}

TEST_CASE("rr: the README's example, --quantum 2 --jobs 0:5,1:3") {
    // J0 0-2; at 2 J1 (arrived at 1) is ahead of J0: J1 2-4, J0 4-6, J1 6-7 done, J0 7-8 done.
    const Schedule s = simulate(make_jobs({{0, 5}, {1, 3}}), rr(2));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 2, 0}, {1, 2, 4, 0}, {0, 4, 6, 0}, {1, 6, 7, 0}, {0, 7, 8, 0}});
    require_rows(s, {{0, 0, 8, 0, 8, 3}, {1, 2, 7, 1, 6, 3}});
    CHECK(s.avg.response == Approx(0.5));
    CHECK(s.avg.turnaround == Approx(7.0));
    CHECK(s.avg.wait == Approx(3.0));
    CHECK(s.context_switches == 4);
}

TEST_CASE("rr tie rule: a job arriving as a slice ends joins the queue before the preempted job") {
    // At 2, J0's slice ends and J2 arrives: the queue becomes [J1, J2, J0], not [J1, J0, J2].
    const Schedule s = simulate(make_jobs({{0, 4}, {0, 2}, {2, 1}}), rr(2));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 2, 0}, {1, 2, 4, 0}, {2, 4, 5, 0}, {0, 5, 7, 0}});
    require_rows(s, {{0, 0, 7, 0, 7, 3}, {1, 2, 4, 2, 4, 2}, {2, 4, 5, 2, 3, 2}});
    CHECK(s.context_switches == 3);
}

TEST_CASE("rr with a slice of 1 alternates at every tick") {
    const Schedule s = simulate(make_jobs({{0, 3}, {1, 2}}), rr(1));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 1, 0}, {1, 1, 2, 0}, {0, 2, 3, 0}, {1, 3, 4, 0}, {0, 4, 5, 0}});
    require_rows(s, {{0, 0, 5, 0, 5, 2}, {1, 1, 4, 0, 3, 1}});
    CHECK(s.context_switches == 4);
}

TEST_CASE("rr: a job alone keeps the CPU - one timeline entry, no switch") {
    const Schedule s = simulate(make_jobs({{0, 5}}), rr(2));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 5, 0}});
    CHECK(s.context_switches == 0);
}

TEST_CASE("mlfq: demotion after a whole slice, and RR at the lowest level") {
    // Slices 1 (top) and 2 (lowest). Both jobs use their top slice and drop; at the lowest level
    // they take turns of 2 until done.
    const Schedule s = simulate(make_jobs({{0, 4}, {0, 4}}), mlfq({1, 2}));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 1, 0}, {1, 1, 2, 0}, {0, 2, 4, 1},
                                         {1, 4, 6, 1}, {0, 6, 7, 1}, {1, 7, 8, 1}});
    require_rows(s, {{0, 0, 7, 0, 7, 3}, {1, 1, 8, 1, 8, 4}});
    CHECK(s.context_switches == 5);
}

TEST_CASE("mlfq: a job alone sinks level by level without a context switch") {
    const Schedule s = simulate(make_jobs({{0, 10}}), mlfq({1, 2, 4}));
    // 1 tick at level 0, 2 at level 1, then level 2 (RR with itself) for the remaining 7.
    CHECK(s.timeline == std::vector<Run>{{0, 0, 1, 0}, {0, 1, 3, 1}, {0, 3, 10, 2}});
    CHECK(s.context_switches == 0);
}

TEST_CASE("mlfq: an arrival at the same level does not preempt") {
    // J1 arrives at 1 in the top queue while J0 (top queue, slice 2) runs: J0 finishes its slice.
    const Schedule s = simulate(make_jobs({{0, 3}, {1, 1}}), mlfq({2, 4}));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 2, 0}, {1, 2, 3, 0}, {0, 3, 4, 1}});
    require_rows(s, {{0, 0, 4, 0, 4, 1}, {1, 2, 3, 1, 2, 1}});
}

TEST_CASE("mlfq: an arrival preempts a lower level; the preempted job goes to the tail (seed)") {
    // Slices 1, 2, 4. A and B drop to level 1 after one tick each. A starts its level-1 slice at
    // 2; at 3 C arrives in the top queue and preempts A, which has 1 tick of its slice left.
    // Seed rule: A goes behind B. B runs its 2 ticks (4-6) and drops; A finishes its slice (6-7)
    // and drops; level 2 is RR with slices of 4: B 7-10 (done), A 10-13 (done).
    const Schedule s = simulate(make_jobs({{0, 6}, {0, 6}, {3, 1}}), mlfq({1, 2, 4}, PreemptedTo::tail));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 1, 0}, {1, 1, 2, 0}, {0, 2, 3, 1}, {2, 3, 4, 0},
                                         {1, 4, 6, 1}, {0, 6, 7, 1}, {1, 7, 10, 2}, {0, 10, 13, 2}});
    require_rows(s, {{0, 0, 13, 0, 13, 7}, {1, 1, 10, 1, 10, 4}, {2, 3, 4, 0, 1, 0}});
    CHECK(s.context_switches == 7);
}

TEST_CASE("mlfq: with --preempted-to head the preempted job resumes first (OSTEP)") {
    // The same jobs; A goes back to the head of level 1 and resumes at 4 with its last tick.
    const Schedule s = simulate(make_jobs({{0, 6}, {0, 6}, {3, 1}}), mlfq({1, 2, 4}, PreemptedTo::head));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 1, 0}, {1, 1, 2, 0}, {0, 2, 3, 1}, {2, 3, 4, 0},
                                         {0, 4, 5, 1}, {1, 5, 7, 1}, {0, 7, 10, 2}, {1, 10, 13, 2}});
    require_rows(s, {{0, 0, 10, 0, 10, 4}, {1, 1, 13, 1, 13, 7}, {2, 3, 4, 0, 1, 0}});
    CHECK(s.context_switches == 7);
}

TEST_CASE("mlfq: a job preempted at the lowest level keeps the rest of its slice") {
    // Slices 1, 3. J0 drops to level 1 at 1 and runs 1-2; J1 arrives at 2 and preempts it with 2
    // ticks of its slice left. J1 uses its top tick and drops behind J0 (tail rule). J0 then runs
    // its 2 remaining ticks (3-5), is at the end of its slice and goes behind J1.
    const Schedule s = simulate(make_jobs({{0, 6}, {2, 2}}), mlfq({1, 3}));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 1, 0}, {0, 1, 2, 1}, {1, 2, 3, 0}, {0, 3, 5, 1},
                                         {1, 5, 6, 1}, {0, 6, 8, 1}});
    require_rows(s, {{0, 0, 8, 0, 8, 2}, {1, 2, 6, 0, 4, 2}});
}

TEST_CASE("mlfq lets a short job finish fast without knowing lengths (the seed's claim)") {
    const auto jobs = make_jobs({{0, 20}, {5, 2}, {9, 3}});
    const Schedule m = simulate(jobs, mlfq({1, 2, 4}));
    const Schedule f = simulate(jobs, fifo());
    // Under MLFQ the short jobs start the moment they arrive (they preempt the long one, which
    // has sunk to the bottom), under FIFO they wait for it.
    CHECK(m.jobs[1].response == 0);
    CHECK(m.jobs[2].response == 0);
    CHECK(m.jobs[1].turnaround == 2);
    CHECK(m.jobs[2].turnaround == 3);
    CHECK(f.jobs[1].turnaround == 17);
    CHECK(m.avg.turnaround < f.avg.turnaround);
}

// ---------------------------------------------------------------------------------------------
// I/O and the MLFQ boost: hand-worked schedules. The MLFQ cases with --preempted-to head were
// worked by hand from the rules of OSTEP's mlfq.py (scheduler.hpp, steps 1-6).
// ---------------------------------------------------------------------------------------------

TEST_CASE("io: an arrival and an I/O completion at the same instant - the arrival first") {
    // J0 runs 0-1 and blocks (I/O 1-3); J1 runs 1-5. At 3 J2 arrives and J0's I/O completes: J2
    // is queued first. FIFO and RR with a slice of 4 agree.
    const auto jobs = make_io_jobs({{0, 2, 1}, {0, 4, 0}, {3, 1, 0}});
    for (const Config& c : {with_io(fifo(), 2), with_io(rr(4), 2)}) {
        const Schedule s = simulate(jobs, c);
        CHECK(s.timeline == std::vector<Run>{{0, 0, 1, 0}, {1, 1, 5, 0}, {2, 5, 6, 0}, {0, 6, 7, 0}});
        CHECK(s.io == std::vector<Span>{{0, 1, 3}});
        CHECK(s.idle.empty());
        CHECK(s.has_io);
        // J0 waited 3..6 only: its 2 units in I/O are not wait.
        require_rows(s, {{0, 0, 7, 0, 7, 3}, {1, 1, 5, 1, 5, 1}, {2, 5, 6, 2, 3, 2}});
        CHECK(s.jobs[0].io == 2);
    }
}

TEST_CASE("rr io: a job whose I/O completes as a slice ends joins the tail before the preempted job") {
    // J0 0-2; J1 2-3 blocks (I/O 3-5); J0 3-5, its slice ends at 5 as J1's I/O completes: J1 goes
    // first (5-6, done), then J0 (6-8).
    const Schedule s = simulate(make_io_jobs({{0, 6, 0}, {0, 2, 1}}), with_io(rr(2), 2));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 2, 0}, {1, 2, 3, 0}, {0, 3, 5, 0}, {1, 5, 6, 0}, {0, 6, 8, 0}});
    CHECK(s.io == std::vector<Span>{{1, 3, 5}});
    require_rows(s, {{0, 0, 8, 0, 8, 2}, {1, 2, 6, 2, 6, 2}});
}

TEST_CASE("sjf io: the shortest next CPU burst runs first; the CPU idles while the only job is in I/O") {
    // J1's bursts are 2 units: it runs first (0-2), blocks 2-3; J0 (a 6-unit burst) runs 2-8 without
    // preemption; J1 8-10, I/O 10-11 with nobody else: the CPU idles; J1 11-13.
    const Schedule s = simulate(make_io_jobs({{0, 6, 0}, {0, 6, 2}}), with_io(sjf(), 1));
    CHECK(s.timeline == std::vector<Run>{{1, 0, 2, 0}, {0, 2, 8, 0}, {1, 8, 10, 0}, {1, 11, 13, 0}});
    CHECK(s.io == std::vector<Span>{{1, 2, 3}, {1, 10, 11}});
    CHECK(s.idle == std::vector<Span>{{-1, 10, 11}});
    CHECK(s.busy == 12);
    CHECK(s.end == 13);
    CHECK(s.cpu_utilisation() == Approx(12.0 / 13.0));
    require_rows(s, {{0, 2, 8, 2, 8, 2}, {1, 0, 13, 0, 13, 5}});
    // A job never does I/O on its last unit: J1 did 6 units with an I/O every 2, so 2 I/Os.
}

TEST_CASE("idle before the first arrival counts against CPU utilisation") {
    const Schedule s = simulate(make_jobs({{2, 3}}), fifo());
    CHECK(s.idle == std::vector<Span>{{-1, 0, 2}});
    CHECK(s.cpu_utilisation() == Approx(0.6));
    CHECK_FALSE(s.has_io);
}

TEST_CASE("mlfq io: demotion while blocked - the job comes back to the lower queue") {
    // Slices 2, 4; I/O takes 3. J0 runs 0-2 at level 0: its slice is used up on the very tick it
    // starts an I/O, so it is demoted while blocked. J1 runs 2-4 at level 0, drops to level 1 and
    // runs 4-8. At 5 J0's I/O completes: it returns to level 1, not 0, so it does not preempt J1.
    // J0 8-10 at level 1 (I/O 10-13), J1 10-12 done, the CPU idles 12-13, J0 13-15 done.
    for (PreemptedTo where : {PreemptedTo::tail, PreemptedTo::head}) {
        const Schedule s = simulate(make_io_jobs({{0, 6, 2}, {0, 8, 0}}), with_io(mlfq({2, 4}, where), 3));
        CHECK(s.timeline == std::vector<Run>{{0, 0, 2, 0}, {1, 2, 4, 0}, {1, 4, 8, 1}, {0, 8, 10, 1},
                                             {1, 10, 12, 1}, {0, 13, 15, 1}});
        CHECK(s.io == std::vector<Span>{{0, 2, 5}, {0, 10, 13}});
        CHECK(s.idle == std::vector<Span>{{-1, 12, 13}});
        require_rows(s, {{0, 0, 15, 0, 15, 3}, {1, 2, 12, 2, 12, 4}});
    }
}

TEST_CASE("mlfq io: a job keeps the unused rest of its slice across an I/O (no -S)") {
    // Slices 3, 3; I/O takes 1. J0 runs 0-2 (1 unit of its slice left) and blocks 2-3; J1 runs 2-5
    // at level 0 (J0 returning at 3 is at the same level: no preemption). J0 comes back with the 1
    // unit it had left, not a fresh slice: it runs 5-6 and drops to level 1. Then J1 6-7, J0 7-8.
    const Schedule s = simulate(make_io_jobs({{0, 4, 2}, {0, 4, 0}}), with_io(mlfq({3, 3}), 1));
    CHECK(s.timeline == std::vector<Run>{{0, 0, 2, 0}, {1, 2, 5, 0}, {0, 5, 6, 0}, {1, 6, 7, 1}, {0, 7, 8, 1}});
    require_rows(s, {{0, 0, 8, 0, 8, 3}, {1, 2, 7, 2, 7, 3}});
}

TEST_CASE("mlfq boost: a running job at the top gets a fresh slice and runs on") {
    // Slices 3, 6. Alone, a 5-unit job uses its 3 units at level 0 and finishes at level 1. With a
    // boost every 2, at time 2 (1 unit of its slice left) its slice is reset to 3: it finishes at
    // level 0.
    const auto jobs = make_jobs({{0, 5}});
    CHECK(simulate(jobs, mlfq({3, 6})).timeline == std::vector<Run>{{0, 0, 3, 0}, {0, 3, 5, 1}});
    for (PreemptedTo where : {PreemptedTo::tail, PreemptedTo::head}) {
        CHECK(simulate(jobs, with_io(mlfq({3, 6}, where), 5, 2)).timeline == std::vector<Run>{{0, 0, 5, 0}});
    }
}

TEST_CASE("mlfq boost: queue 0 keeps its order, then the lowest queue's jobs, then the next lowest's") {
    // Slices 1, 1, 1; boost every 3; OSTEP's rule (head). J0 0-1 at level 0, 1-2 at level 1 (now at
    // level 2); J1 arrives at 2 and runs 2-3 at level 0 (now at level 1). Boost at 3: J0 (from the
    // lowest queue) is put ahead of J1 (from level 1), as mlfq.py does: J0 3-4, J1 4-5 at level 0.
    // J0 5-6 at level 1; boost at 6: J0 (level 2 again) ahead of J1 (level 1).
    const Schedule s = simulate(make_jobs({{0, 10}, {2, 10}}), with_io(mlfq({1, 1, 1}, PreemptedTo::head), 5, 3));
    REQUIRE(s.timeline.size() >= 8);
    const std::vector<Run> start(s.timeline.begin(), s.timeline.begin() + 8);
    CHECK(start == std::vector<Run>{{0, 0, 1, 0}, {0, 1, 2, 1}, {1, 2, 3, 0}, {0, 3, 4, 0}, {1, 4, 5, 0},
                                    {0, 5, 6, 1}, {0, 6, 7, 0}, {1, 7, 8, 0}});
    require_rows(s, {{0, 0, 15, 0, 15, 5}, {1, 2, 20, 0, 18, 8}});
}

TEST_CASE("mlfq boost rescues a job starved by a stream of short arrivals") {
    // Slices 1, 2, 4. A 4-unit job, then a 1-unit job arriving at every tick 1..12. Without a
    // boost job 0 runs at 0 and then not before the stream ends at 13 (done at 16). With a boost
    // every 3 it is back in the top queue at 3, 6 and 9, behind the short jobs already queued
    // there: it runs at 3, 7 and 11 and is done at 12.
    std::vector<Job> jobs = {Job{0, 0, 4}};
    for (int t = 1; t <= 12; ++t) jobs.push_back(Job{t, t, 1});
    const Schedule starved = simulate(jobs, mlfq({1, 2, 4}));
    CHECK(starved.jobs[0].finish == 16);
    const Schedule rescued = simulate(jobs, with_io(mlfq({1, 2, 4}), 5, 3));
    CHECK(rescued.jobs[0].finish == 12);
    std::vector<Time> starts;
    for (const Run& r : rescued.timeline) {
        if (r.job == 0) starts.push_back(r.start);
    }
    CHECK(starts == std::vector<Time>{0, 3, 7, 11});
}

TEST_CASE("mlfq head: a job whose slice ran out is queued before a job arriving at that instant (mlfq.py)") {
    // One level, slice 2: J0's slice ends at 2 as J1 arrives. mlfq.py queues J0 first, so J0 runs
    // on; the seed's rule (tail), like RR, queues J1 first.
    const auto jobs = make_jobs({{0, 4}, {2, 2}});
    CHECK(simulate(jobs, mlfq({2}, PreemptedTo::head)).timeline == std::vector<Run>{{0, 0, 4, 0}, {1, 4, 6, 0}});
    CHECK(simulate(jobs, mlfq({2}, PreemptedTo::tail)).timeline ==
          std::vector<Run>{{0, 0, 2, 0}, {1, 2, 4, 0}, {0, 4, 6, 0}});
    CHECK(simulate(jobs, rr(2)).timeline == std::vector<Run>{{0, 0, 2, 0}, {1, 2, 4, 0}, {0, 4, 6, 0}});
}

// ---------------------------------------------------------------------------------------------
// The parsers and the error cases.
// ---------------------------------------------------------------------------------------------

TEST_CASE("parse_jobs accepts LENGTH, ARRIVAL:LENGTH and ARRIVAL:LENGTH:IOFREQ, and rejects the rest") {
    const auto jobs = parse_jobs("5, 1:3,2");
    REQUIRE(jobs.size() == 3);
    CHECK((jobs[0].id == 0 && jobs[0].arrival == 0 && jobs[0].length == 5));
    CHECK((jobs[1].id == 1 && jobs[1].arrival == 1 && jobs[1].length == 3));
    CHECK((jobs[2].id == 2 && jobs[2].arrival == 0 && jobs[2].length == 2));
    CHECK(format_jobs(jobs) == "0:5,1:3,0:2");
    const auto io = parse_jobs("0:5:2,1:3:0");
    CHECK((io[0].arrival == 0 && io[0].length == 5 && io[0].io_freq == 2));
    CHECK((io[1].arrival == 1 && io[1].length == 3 && io[1].io_freq == 0));
    CHECK(format_jobs(io) == "0:5:2,1:3");
    for (const char* bad : {"", "1,,2", "0", "-1:3", "1:x", "x", "1:2:3:4", "1:2:x", "1:2:-1", "1:2:", "3,", "1:0", "1e3", "99999999999999999999"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_jobs(bad), std::invalid_argument);
    }
}

TEST_CASE("parse_quanta, parse_policy, parse_preempted_to, doubling_quanta") {
    CHECK(parse_quanta("1,2,4") == std::vector<Time>{1, 2, 4});
    CHECK(parse_quanta("3") == std::vector<Time>{3});
    for (const char* bad : {"", "0", "1,,2", "a", "1,-2"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_quanta(bad), std::invalid_argument);
    }
    CHECK(parse_policy("rr") == Policy::rr);
    CHECK(to_string(parse_policy("mlfq")) == "mlfq");
    CHECK_THROWS_AS(parse_policy("lottery"), std::invalid_argument);
    CHECK(parse_preempted_to("head") == PreemptedTo::head);
    CHECK_THROWS_AS(parse_preempted_to("middle"), std::invalid_argument);
    CHECK(doubling_quanta(2, 4) == std::vector<Time>{2, 4, 8, 16});
    CHECK_THROWS_AS(doubling_quanta(0, 3), std::invalid_argument);
    CHECK_THROWS_AS(doubling_quanta(1, 0), std::invalid_argument);
}

TEST_CASE("simulate rejects impossible input") {
    CHECK_THROWS_AS(simulate({}, fifo()), std::invalid_argument);
    CHECK_THROWS_AS(simulate({{0, 0, 0}}, fifo()), std::invalid_argument);
    CHECK_THROWS_AS(simulate({{0, -1, 3}}, fifo()), std::invalid_argument);
    CHECK_THROWS_AS(simulate({{0, 0, 3}, {0, 1, 2}}, fifo()), std::invalid_argument);
    CHECK_THROWS_AS(simulate(make_jobs({{0, 3}}), rr(0)), std::invalid_argument);
    CHECK_THROWS_AS(simulate(make_jobs({{0, 3}}), mlfq({})), std::invalid_argument);
    CHECK_THROWS_AS(simulate(make_jobs({{0, 3}}), mlfq({1, 0})), std::invalid_argument);
    CHECK_THROWS_AS(simulate(make_io_jobs({{0, 3, -1}}), fifo()), std::invalid_argument);
    CHECK_THROWS_AS(simulate(make_io_jobs({{0, 3, 1}}), with_io(fifo(), 0)), std::invalid_argument);
    CHECK_THROWS_AS(simulate(make_io_jobs({{0, 3, 1}}), with_io(rr(1), max_io_time + 1)), std::invalid_argument);
    CHECK_THROWS_AS(simulate(make_jobs({{0, 3}}), with_io(mlfq({1}), 5, -1)), std::invalid_argument);
    // Without I/O the I/O time does not matter.
    CHECK_NOTHROW(simulate(make_jobs({{0, 3}}), with_io(fifo(), 0)));
}

// ---------------------------------------------------------------------------------------------
// Properties over many random job sets.
// ---------------------------------------------------------------------------------------------

namespace {

// 1 to 8 jobs of length 1-12; arrivals spread over 0-30, or all at 0.
std::vector<Job> random_jobs(wb::Random& rng, bool together) {
    const auto n = static_cast<int>(rng.uniform_int(1, 8));
    std::vector<Job> jobs;
    for (int id = 0; id < n; ++id) {
        jobs.push_back(Job{id, together ? 0 : rng.uniform_int(0, 30), rng.uniform_int(1, 12)});
    }
    return jobs;
}

std::vector<Config> random_configs(wb::Random& rng) {
    std::vector<Time> quanta;
    const auto levels = rng.uniform_int(1, 4);
    for (int l = 0; l < levels; ++l) quanta.push_back(rng.uniform_int(1, 6));
    return {fifo(), sjf(), rr(rng.uniform_int(1, 6)), mlfq(quanta, PreemptedTo::tail),
            mlfq(quanta, PreemptedTo::head)};
}

// The properties every schedule of every policy must have.
void check_valid(const std::vector<Job>& jobs, const Schedule& s) {
    std::map<int, Job> by_id;
    for (const Job& j : jobs) by_id[j.id] = j;
    REQUIRE(s.jobs.size() == jobs.size());
    REQUIRE_FALSE(s.timeline.empty());

    // The timeline: runs are non-empty, in time order, never overlapping (one CPU: no two jobs
    // at once), never before the job's arrival, and fully merged.
    std::map<int, Time> ran;
    int switches = 0;
    for (std::size_t k = 0; k < s.timeline.size(); ++k) {
        const Run& r = s.timeline[k];
        REQUIRE(by_id.count(r.job) == 1);
        REQUIRE(r.start < r.end);
        REQUIRE(r.start >= by_id[r.job].arrival);
        ran[r.job] += r.end - r.start;
        if (k > 0) {
            const Run& prev = s.timeline[k - 1];
            REQUIRE(prev.end <= r.start);
            REQUIRE_FALSE((prev.job == r.job && prev.level == r.level && prev.end == r.start));
            if (prev.job != r.job) ++switches;
        }
    }
    CHECK(s.context_switches == switches);

    // Every job runs exactly its length; first run and finish match the timeline, and the numbers
    // follow the definitions.
    for (const JobResult& r : s.jobs) {
        const Job& j = by_id.at(r.job.id);
        CHECK(ran[j.id] == j.length);
        Time first = -1, last = -1;
        for (const Run& run : s.timeline) {
            if (run.job != j.id) continue;
            if (first < 0) first = run.start;
            last = run.end;
        }
        CHECK(r.first_run == first);
        CHECK(r.finish == last);
        CHECK(r.finish >= j.arrival + j.length);
        CHECK(r.response == r.first_run - j.arrival);
        CHECK(r.turnaround == r.finish - j.arrival);
        CHECK(r.wait == r.turnaround - j.length);
        CHECK(r.response >= 0);
        CHECK(r.wait >= r.response);
    }
    CHECK(std::is_sorted(s.jobs.begin(), s.jobs.end(),
                         [](const JobResult& a, const JobResult& b) { return a.job.id < b.job.id; }));

    // No policy here leaves the CPU idle while a job is ready: in every gap of the timeline (and
    // before its first run) every job has either finished or not arrived yet.
    Time idle_from = 0;
    for (const Run& r : s.timeline) {
        if (r.start > idle_from) {
            for (const JobResult& jr : s.jobs) {
                CHECK((jr.finish <= idle_from || jr.job.arrival >= r.start));
            }
        }
        idle_from = r.end;
    }

    double response = 0, turnaround = 0, wait = 0;
    for (const JobResult& r : s.jobs) {
        response += static_cast<double>(r.response);
        turnaround += static_cast<double>(r.turnaround);
        wait += static_cast<double>(r.wait);
    }
    const auto n = static_cast<double>(s.jobs.size());
    CHECK(s.avg.response == Approx(response / n));
    CHECK(s.avg.turnaround == Approx(turnaround / n));
    CHECK(s.avg.wait == Approx(wait / n));
}

// What only MLFQ must satisfy.
void check_mlfq(const std::vector<Job>& jobs, const Schedule& s, const std::vector<Time>& quanta) {
    const int lowest = static_cast<int>(quanta.size()) - 1;
    for (const Job& j : jobs) {
        // A job's runs: it starts at the top, its level never rises, it never skips a level, and
        // it leaves a level (other than the lowest) only after using exactly that level's slice.
        std::vector<const Run*> runs;
        for (const Run& r : s.timeline) {
            if (r.job == j.id) runs.push_back(&r);
        }
        REQUIRE_FALSE(runs.empty());
        CHECK(runs.front()->level == 0);
        std::map<int, Time> at_level;
        for (std::size_t k = 0; k < runs.size(); ++k) {
            CHECK(runs[k]->level <= lowest);
            at_level[runs[k]->level] += runs[k]->end - runs[k]->start;
            if (k > 0) {
                CHECK(runs[k]->level >= runs[k - 1]->level);
                CHECK(runs[k]->level <= runs[k - 1]->level + 1);
            }
        }
        const int last_level = runs.back()->level;
        for (auto [level, used] : at_level) {
            if (level < last_level) {
                CHECK(used == quanta[static_cast<std::size_t>(level)]);
            } else if (level < lowest) {
                CHECK(used <= quanta[static_cast<std::size_t>(level)]);
            }
        }
    }

    // Priority: while a job runs at level L, every other ready job is at level L or below. A
    // waiting job's level is the level of its next run (a demoted job has already dropped).
    const Time end = s.timeline.back().end;
    for (Time t = 0; t < end; ++t) {
        const Run* now = nullptr;
        for (const Run& r : s.timeline) {
            if (r.start <= t && t < r.end) now = &r;
        }
        if (now == nullptr) continue;
        for (const JobResult& jr : s.jobs) {
            if (jr.job.id == now->job || jr.job.arrival > t || jr.finish <= t) continue;
            for (const Run& r : s.timeline) {
                if (r.job == jr.job.id && r.start > t) {
                    INFO("t=" << t << " running " << *now << ", waiting job " << jr.job.id);
                    CHECK(r.level >= now->level);
                    break;
                }
            }
        }
    }
}

}  // namespace

TEST_CASE("properties of every policy on 3000 random job sets") {
    for (std::uint64_t seed = 1; seed <= 3000; ++seed) {
        wb::Random rng(seed, 0);
        const bool together = seed % 3 == 0;
        const auto jobs = random_jobs(rng, together);
        for (const Config& config : random_configs(rng)) {
            INFO("seed " << seed << " policy " << to_string(config.policy) << " jobs " << format_jobs(jobs));
            const Schedule s = simulate(jobs, config);
            CHECK(s.policy == config.policy);
            check_valid(jobs, s);
            if (config.policy == Policy::mlfq) check_mlfq(jobs, s, config.quanta);
            if (config.policy == Policy::sjf) {
                // Non-preemptive: one run per job.
                CHECK(s.timeline.size() == jobs.size());
            }
        }
    }
}

TEST_CASE("fifo: jobs finish in arrival order, each in one run") {
    for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
        wb::Random rng(seed, 1);
        const auto jobs = random_jobs(rng, false);
        const Schedule s = simulate(jobs, fifo());
        REQUIRE(s.timeline.size() == jobs.size());
        for (std::size_t k = 1; k < s.timeline.size(); ++k) {
            const Job& a = jobs[static_cast<std::size_t>(s.timeline[k - 1].job)];
            const Job& b = jobs[static_cast<std::size_t>(s.timeline[k].job)];
            CHECK((a.arrival < b.arrival || (a.arrival == b.arrival && a.id < b.id)));
        }
    }
}

TEST_CASE("jobs arriving together: SJF's average turnaround is never worse than any other policy's") {
    for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
        wb::Random rng(seed, 2);
        const auto jobs = random_jobs(rng, true);
        const double sjf_turnaround = simulate(jobs, sjf()).avg.turnaround;
        for (const Config& config : random_configs(rng)) {
            INFO("seed " << seed << " policy " << to_string(config.policy) << " jobs " << format_jobs(jobs));
            CHECK(sjf_turnaround <= simulate(jobs, config).avg.turnaround + 1e-9);
        }
    }
}

TEST_CASE("jobs arriving together: RR never makes a job's first response later than FIFO") {
    for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
        wb::Random rng(seed, 3);
        const auto jobs = random_jobs(rng, true);
        const Schedule f = simulate(jobs, fifo());
        const Schedule r = simulate(jobs, rr(rng.uniform_int(1, 6)));
        for (std::size_t k = 0; k < jobs.size(); ++k) CHECK(r.jobs[k].response <= f.jobs[k].response);
    }
}

TEST_CASE("RR with a slice at least the longest job is FIFO; so is MLFQ with such a top slice") {
    for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
        wb::Random rng(seed, 4);
        const auto jobs = random_jobs(rng, seed % 2 == 0);
        Time longest = 0;
        for (const Job& j : jobs) longest = std::max(longest, j.length);
        const Time huge = longest + rng.uniform_int(0, 5);
        const Schedule f = simulate(jobs, fifo());
        const Schedule r = simulate(jobs, rr(huge));
        const Schedule m = simulate(jobs, mlfq({huge, 2 * huge}));
        INFO("seed " << seed << " jobs " << format_jobs(jobs) << " slice " << huge);
        CHECK(r.timeline == f.timeline);
        CHECK(m.timeline == f.timeline);
        CHECK(r.avg.turnaround == f.avg.turnaround);
        CHECK(r.context_switches == f.context_switches);
    }
}

TEST_CASE("MLFQ with a single level is RR with the same slice (head: when no arrival meets a slice end)") {
    // With --preempted-to head MLFQ follows mlfq.py, which queues a job whose slice ran out before
    // the jobs arriving at that instant; RR (and the tail rule) queue it after them. With every job
    // arriving at 0 the two never meet.
    for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
        wb::Random rng(seed, 5);
        const bool together = seed % 2 == 0;
        const auto jobs = random_jobs(rng, together);
        const Time q = rng.uniform_int(1, 6);
        INFO("seed " << seed << " jobs " << format_jobs(jobs) << " slice " << q);
        const Schedule r = simulate(jobs, rr(q));
        CHECK(simulate(jobs, mlfq({q}, PreemptedTo::tail)).timeline == r.timeline);
        if (together) CHECK(simulate(jobs, mlfq({q}, PreemptedTo::head)).timeline == r.timeline);
    }
}

TEST_CASE("a smaller RR slice never means fewer context switches for jobs arriving together") {
    for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
        wb::Random rng(seed, 6);
        const auto jobs = random_jobs(rng, true);
        int previous = -1;
        for (Time q = 12; q >= 1; --q) {
            const int switches = simulate(jobs, rr(q)).context_switches;
            INFO("seed " << seed << " jobs " << format_jobs(jobs) << " slice " << q);
            CHECK(switches >= previous);
            previous = switches;
        }
    }
}

TEST_CASE("the simulation is deterministic and does not depend on the order jobs are given in") {
    for (std::uint64_t seed = 1; seed <= 500; ++seed) {
        wb::Random rng(seed, 7);
        auto jobs = random_jobs(rng, false);
        const auto configs = random_configs(rng);
        std::vector<Job> reversed(jobs.rbegin(), jobs.rend());
        for (const Config& config : configs) {
            const Schedule a = simulate(jobs, config);
            const Schedule b = simulate(reversed, config);
            CHECK(a.timeline == b.timeline);
            CHECK(a.context_switches == b.context_switches);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties with I/O (and the MLFQ boost) over many random job sets.
// ---------------------------------------------------------------------------------------------

TEST_CASE("with I/O, every policy: runs, I/Os and idle time fit together on 3000 random job sets") {
    for (std::uint64_t seed = 1; seed <= 3000; ++seed) {
        wb::Random rng(seed, 8);
        auto jobs = random_jobs(rng, seed % 3 == 0);
        for (Job& j : jobs) j.io_freq = rng.uniform_int(0, 1) == 0 ? 0 : rng.uniform_int(1, 5);
        const Time io_time = rng.uniform_int(1, 6);
        std::vector<Config> configs = random_configs(rng);
        const Time boost = rng.uniform_int(0, 1) == 0 ? 0 : rng.uniform_int(1, 12);
        for (Config& c : configs) c = with_io(c, io_time, c.policy == Policy::mlfq ? boost : 0);
        for (const Config& config : configs) {
            INFO("seed " << seed << " policy " << to_string(config.policy) << " jobs " << format_jobs(jobs)
                         << " io " << io_time << " boost " << config.boost);
            const Schedule s = simulate(jobs, config);
            REQUIRE(s.jobs.size() == jobs.size());
            // One CPU: runs in time order, never overlapping; idle spans are exactly the gaps.
            std::vector<Span> gaps;
            Time at = 0, busy = 0;
            for (const Run& r : s.timeline) {
                REQUIRE(r.start < r.end);
                REQUIRE(r.start >= at);
                if (r.start > at) gaps.push_back(Span{-1, at, r.start});
                busy += r.end - r.start;
                at = r.end;
            }
            CHECK(s.idle == gaps);
            CHECK(s.busy == busy);
            CHECK(s.end == at);
            for (const JobResult& r : s.jobs) {
                const Job& j = r.job;
                // Its runs add up to its length; after every io_freq units, unless done, an I/O of
                // io_time starts at once, and the job does not run until it ends.
                Time done = 0;
                std::size_t next_io = 0;
                std::vector<Span> own_io;
                for (const Span& io : s.io) {
                    if (io.job == j.id) own_io.push_back(io);
                }
                Time ready_from = j.arrival;
                for (const Run& run : s.timeline) {
                    if (run.job != j.id) continue;
                    CHECK(run.start >= ready_from);
                    done += run.end - run.start;
                    if (j.io_freq > 0) CHECK((run.end - run.start) <= j.io_freq);
                    if (j.io_freq > 0 && done % j.io_freq == 0 && done < j.length) {
                        REQUIRE(next_io < own_io.size());
                        CHECK(own_io[next_io].start == run.end);
                        CHECK(own_io[next_io].end == run.end + io_time);
                        ready_from = own_io[next_io].end;
                        ++next_io;
                    }
                }
                CHECK(done == j.length);
                CHECK(next_io == own_io.size());
                CHECK(static_cast<Time>(own_io.size()) == (j.io_freq > 0 ? (j.length - 1) / j.io_freq : 0));
                CHECK(r.io == static_cast<Time>(own_io.size()) * io_time);
                CHECK(r.wait == r.turnaround - j.length - r.io);
                CHECK(r.response >= 0);
                CHECK(r.wait >= r.response);
            }
            // The CPU never idles while a job is ready (arrived, not finished, not in I/O).
            for (const Span& gap : s.idle) {
                for (Time t = gap.start; t < gap.end; ++t) {
                    for (const JobResult& r : s.jobs) {
                        if (r.job.arrival > t || r.finish <= t) continue;
                        bool blocked = false;
                        for (const Span& io : s.io) blocked = blocked || (io.job == r.job.id && io.start <= t && t < io.end);
                        CHECK(blocked);
                    }
                }
            }
            if (config.policy == Policy::fifo || config.policy == Policy::sjf) {
                // Non-preemptive: every run ends with the job's end or an I/O.
                for (const Run& run : s.timeline) {
                    const JobResult& r = s.jobs[static_cast<std::size_t>(run.job)];
                    bool io_after = false;
                    for (const Span& io : s.io) io_after = io_after || (io.job == run.job && io.start == run.end);
                    CHECK((run.end == r.finish || io_after));
                }
            }
        }
    }
}

TEST_CASE("without I/O and boost the new options change nothing") {
    for (std::uint64_t seed = 1; seed <= 500; ++seed) {
        wb::Random rng(seed, 9);
        const auto jobs = random_jobs(rng, false);
        for (const Config& config : random_configs(rng)) {
            CHECK(simulate(jobs, config).timeline == simulate(jobs, with_io(config, rng.uniform_int(1, 9))).timeline);
        }
    }
}
