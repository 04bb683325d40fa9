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
// How Catch2 prints a Run when a comparison fails.
std::ostream& operator<<(std::ostream& os, const Run& r) {
    return os << "{job " << r.job << " [" << r.start << "," << r.end << ") level " << r.level << "}";
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

TEST_CASE("MLFQ with a single level is RR with the same slice (tail or head alike)") {
    for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
        wb::Random rng(seed, 5);
        const auto jobs = random_jobs(rng, false);
        const Time q = rng.uniform_int(1, 6);
        INFO("seed " << seed << " jobs " << format_jobs(jobs) << " slice " << q);
        const Schedule r = simulate(jobs, rr(q));
        CHECK(simulate(jobs, mlfq({q}, PreemptedTo::tail)).timeline == r.timeline);
        CHECK(simulate(jobs, mlfq({q}, PreemptedTo::head)).timeline == r.timeline);
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
