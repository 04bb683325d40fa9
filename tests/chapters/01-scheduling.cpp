// Output checks of chapter 01 (scheduling), through the built program: the hand-worked schedules
// of every policy against its --format json document, properties over many seeds (fewer than the
// simulator's unit test, 01-scheduling-simulator.cpp, since each run here costs a process), the
// demos' claims read from the jsonl events, and the command line's errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "run_program.hpp"
#include "wb/random.hpp"

using harness::Json;

namespace {

// Runs one simulation with --format json and returns the document. Requires a clean exit, nothing
// on stderr, nothing left behind, and stdout to be exactly one JSON document.
Json simulate(std::vector<std::string> args) {
    args.insert(args.end(), {"--format", "json"});
    const harness::Result r = harness::run_chapter(args);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    INFO("args: " << shown << "\nstderr:\n" << r.err << "\nstdout:\n" << r.out);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.err.empty());
    REQUIRE(r.leftovers.empty());
    Json doc;
    REQUIRE_NOTHROW(doc = Json::parse(r.out));  // throws on anything after the one document
    REQUIRE(doc.is_object());
    return doc;
}

// The expected numbers of one job: id, arrival, length, first run, finish, response,
// turnaround, wait.
struct Row {
    int id, arrival, length, first_run, finish, response, turnaround, wait;
};
// One expected run of the timeline: job, start, end, level.
struct Bar {
    int job, start, end, level;
};

void require_jobs(const Json& doc, const std::vector<Row>& rows) {
    REQUIRE(doc["jobs"].size() == rows.size());
    for (std::size_t k = 0; k < rows.size(); ++k) {
        const Json& j = doc["jobs"][k];
        const Row& e = rows[k];
        INFO("job " << j.dump());
        CHECK(j["id"] == e.id);
        CHECK(j["arrival"] == e.arrival);
        CHECK(j["length"] == e.length);
        CHECK(j["first_run"] == e.first_run);
        CHECK(j["finish"] == e.finish);
        CHECK(j["response"] == e.response);
        CHECK(j["turnaround"] == e.turnaround);
        CHECK(j["wait"] == e.wait);
    }
}

void require_timeline(const Json& doc, const std::vector<Bar>& bars) {
    INFO("timeline " << doc["timeline"].dump());
    REQUIRE(doc["timeline"].size() == bars.size());
    for (std::size_t k = 0; k < bars.size(); ++k) {
        const Json& t = doc["timeline"][k];
        CHECK(t["job"] == bars[k].job);
        CHECK(t["start"] == bars[k].start);
        CHECK(t["end"] == bars[k].end);
        CHECK(t["level"] == bars[k].level);
    }
}

void require_avg(const Json& doc, double response, double turnaround, double wait) {
    CHECK(doc["avg"]["response"].get<double>() == Approx(response));
    CHECK(doc["avg"]["turnaround"].get<double>() == Approx(turnaround));
    CHECK(doc["avg"]["wait"].get<double>() == Approx(wait));
}

// The properties every schedule must have, checked on a document. With I/O (the document then has
// "io", "idle" and "cpu_utilisation"), a job's wait leaves out its time in I/O.
void check_valid(const Json& doc) {
    std::map<int, Json> jobs;
    for (const Json& j : doc["jobs"]) jobs[j["id"].get<int>()] = j;
    std::map<int, long> in_io;
    if (doc.contains("io")) {
        long busy = 0, end = 0, idle = 0;
        for (const Json& t : doc["timeline"]) {
            busy += t["end"].get<long>() - t["start"].get<long>();
            end = std::max(end, t["end"].get<long>());
        }
        for (const Json& gap : doc["idle"]) idle += gap["end"].get<long>() - gap["start"].get<long>();
        CHECK(busy + idle == end);
        CHECK(doc["cpu_utilisation"].get<double>() == Approx(static_cast<double>(busy) / static_cast<double>(end)));
        for (const Json& io : doc["io"]) in_io[io["job"].get<int>()] += io["end"].get<long>() - io["start"].get<long>();
    }
    std::map<int, long> ran, first, last;
    long previous_end = -1;
    int previous_job = -1, switches = 0;
    for (const Json& t : doc["timeline"]) {
        const int id = t["job"].get<int>();
        const long start = t["start"].get<long>();
        const long end = t["end"].get<long>();
        REQUIRE(jobs.count(id) == 1);
        CHECK(start < end);
        CHECK(start >= previous_end);  // one CPU: no two jobs at once
        CHECK(start >= jobs[id]["arrival"].get<long>());
        if (previous_job != -1 && previous_job != id) ++switches;
        if (ran.count(id) == 0) first[id] = start;
        ran[id] += end - start;
        last[id] = end;
        previous_end = end;
        previous_job = id;
    }
    CHECK(doc["context_switches"] == switches);
    double response = 0, turnaround = 0, wait = 0;
    for (const auto& [id, j] : jobs) {
        INFO("job " << j.dump());
        const long arrival = j["arrival"].get<long>();
        const long length = j["length"].get<long>();
        CHECK(ran[id] == length);  // every job runs exactly its length
        CHECK(j["first_run"] == first[id]);
        CHECK(j["finish"] == last[id]);
        CHECK(j["finish"].get<long>() >= arrival + length);
        CHECK(j["response"].get<long>() == j["first_run"].get<long>() - arrival);
        CHECK(j["turnaround"].get<long>() == j["finish"].get<long>() - arrival);
        CHECK(j["wait"].get<long>() == j["turnaround"].get<long>() - length - in_io[id]);
        response += j["response"].get<double>();
        turnaround += j["turnaround"].get<double>();
        wait += j["wait"].get<double>();
    }
    const auto n = static_cast<double>(jobs.size());
    require_avg(doc, response / n, turnaround / n, wait / n);
}

// One job of --jobs: ARRIVAL:LENGTH, with :IOFREQ when it does I/O.
std::string fmt_job(long arrival, long length, long io_freq) {
    return std::to_string(arrival) + ":" + std::to_string(length) + (io_freq > 0 ? ":" + std::to_string(io_freq) : "");
}

std::string join(const std::vector<long>& values) {
    std::string out;
    for (long v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Hand-worked schedules, checked exactly against the JSON document.
// ---------------------------------------------------------------------------------------------

TEST_CASE("the JSON document has the documented shape", "[01]") {
    const Json doc = simulate({"--policy", "fifo", "--jobs", "10"});
    std::set<std::string> keys;
    for (const auto& [key, value] : doc.items()) keys.insert(key);
    CHECK(keys == std::set<std::string>{"policy", "jobs", "avg", "timeline", "context_switches"});
    const Json expected = Json::parse(R"({"policy":"fifo",
        "jobs":[{"id":0,"arrival":0,"length":10,"first_run":0,"finish":10,"response":0,"turnaround":10,"wait":0}],
        "avg":{"response":0.0,"turnaround":10.0,"wait":0.0},
        "timeline":[{"job":0,"start":0,"end":10,"level":0}],
        "context_switches":0})");
    CHECK(doc == expected);
}

TEST_CASE("fifo: arrival order, run to the end, idle until the next arrival", "[01]") {
    const Json doc = simulate({"--policy", "fifo", "--jobs", "0:3,1:5,2:2,10:1"});
    CHECK(doc["policy"] == "fifo");
    require_timeline(doc, {{0, 0, 3, 0}, {1, 3, 8, 0}, {2, 8, 10, 0}, {3, 10, 11, 0}});
    require_jobs(doc, {{0, 0, 3, 0, 3, 0, 3, 0}, {1, 1, 5, 3, 8, 2, 7, 2}, {2, 2, 2, 8, 10, 6, 8, 6},
                       {3, 10, 1, 10, 11, 0, 1, 0}});
    require_avg(doc, 2.0, 4.75, 2.0);
    CHECK(doc["context_switches"] == 3);

    // Equal arrivals by id; LEN-only jobs all arrive at 0.
    const Json ties = simulate({"--policy", "fifo", "--jobs", "4,2,3"});
    require_timeline(ties, {{0, 0, 4, 0}, {1, 4, 6, 0}, {2, 6, 9, 0}});
}

TEST_CASE("sjf: shortest ready job, non-preemptive; ties by arrival then id", "[01]") {
    const Json doc = simulate({"--policy", "sjf", "--jobs", "0:8,1:4,2:1,3:2"});
    CHECK(doc["policy"] == "sjf");
    require_timeline(doc, {{0, 0, 8, 0}, {2, 8, 9, 0}, {3, 9, 11, 0}, {1, 11, 15, 0}});
    require_jobs(doc, {{0, 0, 8, 0, 8, 0, 8, 0}, {1, 1, 4, 11, 15, 10, 14, 10}, {2, 2, 1, 8, 9, 6, 7, 6},
                       {3, 3, 2, 9, 11, 6, 8, 6}});
    require_avg(doc, 5.5, 9.25, 5.5);

    // At 5, jobs 0 (arrived 2) and 2 (arrived 1) both need 3: the earlier arrival goes first.
    require_timeline(simulate({"--policy", "sjf", "--jobs", "2:3,0:5,1:3"}), {{1, 0, 5, 0}, {2, 5, 8, 0}, {0, 8, 11, 0}});
    // Equal lengths and arrivals: by id.
    require_timeline(simulate({"--policy", "sjf", "--jobs", "3,2,3"}), {{1, 0, 2, 0}, {0, 2, 5, 0}, {2, 5, 8, 0}});
}

TEST_CASE("rr: the README example and the arrival-before-preempted tie rule", "[01]") {
    const Json doc = simulate({"--policy", "rr", "--quantum", "2", "--jobs", "0:5,1:3"});
    CHECK(doc["policy"] == "rr");
    require_timeline(doc, {{0, 0, 2, 0}, {1, 2, 4, 0}, {0, 4, 6, 0}, {1, 6, 7, 0}, {0, 7, 8, 0}});
    require_jobs(doc, {{0, 0, 5, 0, 8, 0, 8, 3}, {1, 1, 3, 2, 7, 1, 6, 3}});
    require_avg(doc, 0.5, 7.0, 3.0);
    CHECK(doc["context_switches"] == 4);

    // Job 2 arrives at 2, exactly when job 0's slice ends: it is queued before job 0.
    const Json tie = simulate({"--policy", "rr", "--quantum", "2", "--jobs", "0:4,0:2,2:1"});
    require_timeline(tie, {{0, 0, 2, 0}, {1, 2, 4, 0}, {2, 4, 5, 0}, {0, 5, 7, 0}});
    require_jobs(tie, {{0, 0, 4, 0, 7, 0, 7, 3}, {1, 0, 2, 2, 4, 2, 4, 2}, {2, 2, 1, 4, 5, 2, 3, 2}});
    CHECK(tie["context_switches"] == 3);

    // The default slice is 1.
    const Json one = simulate({"--policy", "rr", "--jobs", "0:3,1:2"});
    require_timeline(one, {{0, 0, 1, 0}, {1, 1, 2, 0}, {0, 2, 3, 0}, {1, 3, 4, 0}, {0, 4, 5, 0}});
}

TEST_CASE("mlfq: demotion, and RR at the lowest level", "[01]") {
    // Slices 1 and 2: both jobs drop after one tick, then take turns of 2 at the lowest level.
    const std::vector<Bar> bars{{0, 0, 1, 0}, {1, 1, 2, 0}, {0, 2, 4, 1}, {1, 4, 6, 1}, {0, 6, 7, 1}, {1, 7, 8, 1}};
    const Json explicit_quanta = simulate({"--policy", "mlfq", "--quanta", "1,2", "--jobs", "4,4"});
    CHECK(explicit_quanta["policy"] == "mlfq");
    require_timeline(explicit_quanta, bars);
    require_jobs(explicit_quanta, {{0, 0, 4, 0, 7, 0, 7, 3}, {1, 0, 4, 1, 8, 1, 8, 4}});
    CHECK(explicit_quanta["context_switches"] == 5);
    // --quantum 1 --levels 2 doubles to the same slices.
    require_timeline(simulate({"--policy", "mlfq", "--quantum", "1", "--levels", "2", "--jobs", "4,4"}), bars);
    // A job alone sinks level by level: 1 tick, 2 ticks, then the rest at the bottom.
    require_timeline(simulate({"--policy", "mlfq", "--quanta", "1,2,4", "--jobs", "10"}),
                     {{0, 0, 1, 0}, {0, 1, 3, 1}, {0, 3, 10, 2}});
    // An arrival at the same level does not preempt.
    require_timeline(simulate({"--policy", "mlfq", "--quanta", "2,4", "--jobs", "0:3,1:1"}),
                     {{0, 0, 2, 0}, {1, 2, 3, 0}, {0, 3, 4, 1}});
}

TEST_CASE("mlfq: preemption by an arrival, the preempted job to the tail (seed) or the head", "[01]") {
    // Slices 1, 2, 4 (the default). At 3 job 2 arrives and preempts job 0, which has 1 tick of its
    // level-1 slice left.
    const std::vector<std::string> jobs{"--jobs", "0:6,0:6,3:1"};
    auto args = [&](std::vector<std::string> a) {
        a.insert(a.begin(), {"--policy", "mlfq"});
        a.insert(a.end(), jobs.begin(), jobs.end());
        return a;
    };
    const std::vector<Bar> tail_bars{{0, 0, 1, 0}, {1, 1, 2, 0}, {0, 2, 3, 1}, {2, 3, 4, 0},
                                     {1, 4, 6, 1}, {0, 6, 7, 1}, {1, 7, 10, 2}, {0, 10, 13, 2}};
    const Json tail = simulate(args({}));
    require_timeline(tail, tail_bars);
    require_jobs(tail, {{0, 0, 6, 0, 13, 0, 13, 7}, {1, 0, 6, 1, 10, 1, 10, 4}, {2, 3, 1, 3, 4, 0, 1, 0}});
    require_avg(tail, 1.0 / 3, 8.0, 11.0 / 3);
    CHECK(tail["context_switches"] == 7);
    require_timeline(simulate(args({"--preempted-to", "tail", "--quanta", "1,2,4"})), tail_bars);

    const Json head = simulate(args({"--preempted-to", "head"}));
    require_timeline(head, {{0, 0, 1, 0}, {1, 1, 2, 0}, {0, 2, 3, 1}, {2, 3, 4, 0},
                            {0, 4, 5, 1}, {1, 5, 7, 1}, {0, 7, 10, 2}, {1, 10, 13, 2}});
    require_jobs(head, {{0, 0, 6, 0, 10, 0, 10, 4}, {1, 0, 6, 1, 13, 1, 13, 7}, {2, 3, 1, 3, 4, 0, 1, 0}});
    CHECK(head["context_switches"] == 7);

    // Preempted at the lowest level: job 0 keeps the 2 ticks left of its slice of 3.
    require_timeline(simulate({"--policy", "mlfq", "--quanta", "1,3", "--jobs", "0:6,2:2"}),
                     {{0, 0, 1, 0}, {0, 1, 2, 1}, {1, 2, 3, 0}, {0, 3, 5, 1}, {1, 5, 6, 1}, {0, 6, 8, 1}});
}

// ---------------------------------------------------------------------------------------------
// Properties over many seeds.
// ---------------------------------------------------------------------------------------------

TEST_CASE("generated jobs: every schedule is valid, for every policy, over many seeds", "[01]") {
    const std::vector<std::vector<std::string>> policies{
        {"--policy", "fifo"}, {"--policy", "sjf"}, {"--policy", "rr", "--quantum", "2"},
        {"--policy", "mlfq"}, {"--policy", "mlfq", "--quanta", "2,3", "--preempted-to", "head"}};
    for (int seed = 1; seed <= 12; ++seed) {
        for (auto args : policies) {
            args.insert(args.end(), {"--count", "6", "--seed", std::to_string(seed)});
            const Json doc = simulate(args);
            INFO("seed " << seed << " " << doc.dump());
            CHECK(doc["jobs"].size() == 6);
            check_valid(doc);
        }
    }
}

TEST_CASE("jobs arriving together: SJF's average turnaround is never worse than FIFO's", "[01]") {
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        wb::Random rng(seed, 1);
        std::vector<long> lengths;
        for (int i = 0; i < 6; ++i) lengths.push_back(rng.uniform_int(1, 15));
        const std::string jobs = join(lengths);
        INFO("jobs " << jobs);
        const Json s = simulate({"--policy", "sjf", "--jobs", jobs});
        const Json f = simulate({"--policy", "fifo", "--jobs", jobs});
        check_valid(s);
        CHECK(s["avg"]["turnaround"].get<double>() <= f["avg"]["turnaround"].get<double>() + 1e-9);
    }
}

TEST_CASE("RR with a slice at least the longest job is FIFO", "[01]") {
    for (int seed = 1; seed <= 10; ++seed) {
        // Generated lengths are at most 10.
        const std::string s = std::to_string(seed);
        const Json r = simulate({"--policy", "rr", "--quantum", std::to_string(10 + seed % 3), "--count", "6", "--seed", s});
        const Json f = simulate({"--policy", "fifo", "--count", "6", "--seed", s});
        CHECK(r["timeline"] == f["timeline"]);
        CHECK(r["jobs"] == f["jobs"]);
        CHECK(r["context_switches"] == f["context_switches"]);
    }
}

TEST_CASE("the same seed gives the same jobs and the same schedule", "[01]") {
    const Json a = simulate({"--policy", "mlfq", "--count", "8", "--seed", "42"});
    const Json b = simulate({"--policy", "mlfq", "--count", "8", "--seed", "42"});
    CHECK(a == b);
    // The default is 3 generated jobs.
    CHECK(simulate({"--policy", "fifo"})["jobs"].size() == 3);
}

// ---------------------------------------------------------------------------------------------
// The single-run output in text and jsonl.
// ---------------------------------------------------------------------------------------------

TEST_CASE("a single run echoes its arguments, then the chart and the table", "[01]") {
    const harness::Result r = harness::run_chapter({"--policy", "rr", "--quantum", "2", "--jobs", "0:5,1:3", "--no-color"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const auto arg_policy = r.out.find("ARG policy rr");
    const auto arg_jobs = r.out.find("ARG jobs 0:5,1:3");
    const auto arg_quantum = r.out.find("ARG quantum 2");
    const auto chart = r.out.find("job 0   ##..##.#");
    const auto table = r.out.find("average");
    REQUIRE(arg_policy != std::string::npos);
    REQUIRE(arg_jobs != std::string::npos);
    REQUIRE(arg_quantum != std::string::npos);
    REQUIRE(chart != std::string::npos);
    REQUIRE(table != std::string::npos);
    CHECK(arg_policy < arg_jobs);
    CHECK(arg_quantum < chart);
    CHECK(chart < table);
    CHECK(r.out.find("context switches: 4") != std::string::npos);
    CHECK(r.out.find("0.50        7.00  3.00") != std::string::npos);  // the averages
}

TEST_CASE("a single run in jsonl: args, gantt and result events carrying the document", "[01]") {
    const auto r = harness::run_jsonl(5, {"--policy", "mlfq", "--count", "5", "--preempted-to", "head"});
    const auto args = harness::select(r.events, "args");
    REQUIRE(args.size() == 1);
    CHECK(args[0]["fields"]["policy"] == "mlfq");
    CHECK(args[0]["fields"]["seed"] == 5);
    CHECK(args[0]["fields"]["count"] == 5);
    CHECK(args[0]["fields"]["quanta"] == Json::array({1, 2, 4}));
    CHECK(args[0]["fields"]["preempted_to"] == "head");
    REQUIRE(harness::select(r.events, "gantt").size() == 1);
    const auto result = harness::select(r.events, "result");
    REQUIRE(result.size() == 1);
    const Json doc = simulate({"--policy", "mlfq", "--count", "5", "--seed", "5", "--preempted-to", "head"});
    for (const char* key : {"policy", "jobs", "avg", "timeline", "context_switches"}) {
        CHECK(result[0]["fields"][key] == doc[key]);
    }
}

// ---------------------------------------------------------------------------------------------
// The demos and the seed's claims.
// ---------------------------------------------------------------------------------------------

namespace {

// The "result" events of one demo, in order.
std::vector<Json> results_of(const std::vector<Json>& events, const std::string& demo) {
    std::vector<Json> out;
    for (const Json& e : harness::select(harness::select_demo(events, demo), "result")) out.push_back(e["fields"]);
    return out;
}

long number(const Json& result, int job, const char* what) {
    return result["jobs"][static_cast<std::size_t>(job)][what].get<long>();
}

}  // namespace

TEST_CASE("the demos show the seed's claims", "[01]") {
    const auto r = harness::run_jsonl(1);
    const std::vector<std::string> demos{"fcfs",           "sjf",  "rr-huge-slice",  "rr-slice",  "io-mix",
                                         "rr-io-rejoin",   "mlfq", "mlfq-preempted", "mlfq-boost"};
    for (const auto& demo : demos) {
        INFO(demo);
        CHECK_FALSE(harness::select_demo(r.events, demo).empty());
        CHECK_FALSE(harness::select(harness::select_demo(r.events, demo), "gantt").empty());
        CHECK_FALSE(harness::select(harness::select_demo(r.events, demo), "note").empty());
        for (const Json& result : results_of(r.events, demo)) check_valid(result);
    }

    SECTION("FCFS favours the long job and hurts the short ones behind it") {
        const auto res = results_of(r.events, "fcfs");
        REQUIRE(res.size() == 2);
        CHECK(res[0]["policy"] == "fifo");
        CHECK(number(res[0], 0, "wait") == 0);
        CHECK(number(res[0], 1, "wait") == 8);
        CHECK(number(res[0], 2, "wait") == 9);
        // The lucky order: the long job last.
        CHECK(res[1]["avg"]["turnaround"].get<double>() < res[0]["avg"]["turnaround"].get<double>());
    }
    SECTION("SJF: short jobs first, the long job waits and can be overtaken again and again") {
        const auto fcfs = results_of(r.events, "fcfs");
        const auto res = results_of(r.events, "sjf");
        REQUIRE(res.size() == 3);
        CHECK(res[0]["policy"] == "sjf");
        CHECK(res[0]["avg"]["turnaround"].get<double>() < fcfs[0]["avg"]["turnaround"].get<double>());
        CHECK(number(res[0], 0, "wait") > number(fcfs[0], 0, "wait"));  // the long job pays
        CHECK(number(res[0], 1, "wait") < number(fcfs[0], 1, "wait"));  // the short ones gain
        // The stream of short jobs: the long job 1 starts at 10 under SJF, at 2 under FIFO.
        CHECK(res[1]["policy"] == "sjf");
        CHECK(res[2]["policy"] == "fifo");
        CHECK(number(res[1], 1, "first_run") == 10);
        CHECK(number(res[2], 1, "first_run") == 2);
    }
    SECTION("RR with a huge slice is FCFS") {
        const auto res = results_of(r.events, "rr-huge-slice");
        REQUIRE(res.size() == 2);
        CHECK(res[0]["policy"] == "rr");
        CHECK(res[1]["policy"] == "fifo");
        CHECK(res[0]["timeline"] == res[1]["timeline"]);
        const auto same = harness::select(harness::select_demo(r.events, "rr-huge-slice"), "same_schedule");
        REQUIRE(same.size() == 1);
        CHECK(same[0]["fields"]["same"] == true);
    }
    SECTION("a tiny slice: faster response, many more context switches") {
        const auto comparison = harness::select(harness::select_demo(r.events, "rr-slice"), "comparison");
        REQUIRE(comparison.size() == 1);
        const Json& rows = comparison[0]["fields"]["rows"];
        REQUIRE(rows.size() == 4);  // slices 6, 3, 2, 1
        for (std::size_t k = 1; k < rows.size(); ++k) {
            CHECK(rows[k]["context_switches"].get<int>() > rows[k - 1]["context_switches"].get<int>());
            CHECK(rows[k]["avg"]["response"].get<double>() < rows[k - 1]["avg"]["response"].get<double>());
        }
        CHECK(rows[3]["context_switches"] == 17);
        CHECK(rows[0]["context_switches"] == 2);
    }
    SECTION("MLFQ: short jobs finish fast without knowing lengths") {
        const auto res = results_of(r.events, "mlfq");
        REQUIRE(res.size() == 2);
        CHECK(res[0]["policy"] == "mlfq");
        CHECK(res[1]["policy"] == "fifo");
        for (int job : {1, 2}) {
            CHECK(number(res[0], job, "response") == 0);
            CHECK(number(res[0], job, "turnaround") == number(res[0], job, "length"));
            CHECK(number(res[1], job, "turnaround") > 10);
        }
        // The long job sank to the lowest level.
        std::set<int> levels;
        for (const Json& t : res[0]["timeline"]) {
            if (t["job"] == 0) levels.insert(t["level"].get<int>());
        }
        CHECK(levels == std::set<int>{0, 1, 2});
    }
    SECTION("MLFQ: tail versus head for the preempted job") {
        const auto res = results_of(r.events, "mlfq-preempted");
        REQUIRE(res.size() == 2);
        CHECK(res[0]["preempted_to"] == "tail");
        CHECK(res[1]["preempted_to"] == "head");
        CHECK(number(res[0], 1, "finish") < number(res[0], 0, "finish"));
        CHECK(number(res[1], 0, "finish") < number(res[1], 1, "finish"));
    }
    SECTION("CPU-bound and I/O-bound: FCFS makes the I/O-bound job wait and the CPU idle; RR does not") {
        const auto res = results_of(r.events, "io-mix");
        REQUIRE(res.size() == 2);
        CHECK(res[0]["policy"] == "fifo");
        CHECK(res[1]["policy"] == "rr");
        // Job 1 is the I/O-bound one: under FIFO it waits for job 0's whole 12 units.
        CHECK(number(res[0], 1, "response") == 12);
        CHECK(number(res[1], 1, "response") < number(res[0], 1, "response"));
        CHECK(number(res[1], 1, "turnaround") < number(res[0], 1, "turnaround"));
        CHECK(res[0]["idle"].size() > 0);
        CHECK(res[1]["idle"].empty());
        CHECK(res[0]["cpu_utilisation"].get<double>() < 0.8);
        CHECK(res[1]["cpu_utilisation"].get<double>() == Approx(1.0));
        // RR keeps wait in proportion to service: wait / length of the two jobs within a factor of
        // 2 under RR; under FIFO the CPU-bound job never waits and the I/O-bound one waits 3 times
        // its length.
        const auto ratio = [](const Json& s, int j) {
            return static_cast<double>(number(s, j, "wait")) / static_cast<double>(number(s, j, "length"));
        };
        CHECK(ratio(res[1], 1) <= 2 * ratio(res[1], 0));
        CHECK(ratio(res[1], 0) <= 2 * ratio(res[1], 1));
        CHECK(ratio(res[0], 0) == 0);
        CHECK(ratio(res[0], 1) == Approx(3.0));
        // And the CPU-bound job loses little under RR.
        CHECK(number(res[1], 0, "finish") - number(res[0], 0, "finish") <= 4);
    }
    SECTION("RR: a job whose I/O completes rejoins the ready queue at the tail") {
        const auto res = results_of(r.events, "rr-io-rejoin");
        REQUIRE(res.size() == 1);
        const Json& s = res[0];
        // Job 0's first I/O: right after its first run (0-2), before its slice of 3 was over.
        REQUIRE(s["io"].size() >= 1);
        CHECK(s["io"][0]["job"] == 0);
        CHECK(s["io"][0]["start"] == 2);
        CHECK(s["io"][0]["end"] == 4);
        // Back at 4, it is queued behind job 2 (arrived at 1) and ahead of job 1 (slice over at 5).
        std::vector<int> order;
        for (const Json& t : s["timeline"]) {
            if (t["start"].get<long>() >= 5) order.push_back(t["job"].get<int>());
        }
        REQUIRE(order.size() >= 3);
        CHECK(order[0] == 2);
        CHECK(order[1] == 0);
        CHECK(order[2] == 1);
    }
    SECTION("MLFQ: a long job starved by a stream of short ones, rescued by the boost") {
        const auto res = results_of(r.events, "mlfq-boost");
        REQUIRE(res.size() == 2);
        CHECK_FALSE(res[0].contains("boost"));
        CHECK(res[1]["boost"] == 3);
        const auto longest_wait = [](const Json& s) {
            long ready_from = 0, longest = 0;
            for (const Json& t : s["timeline"]) {
                if (t["job"] != 0) continue;
                longest = std::max(longest, t["start"].get<long>() - ready_from);
                ready_from = t["end"].get<long>();
            }
            return longest;
        };
        CHECK(longest_wait(res[0]) >= 12);  // as long as the stream lasts
        CHECK(longest_wait(res[1]) <= 3);
        CHECK(number(res[1], 0, "finish") < number(res[0], 0, "finish"));
    }
}

TEST_CASE("the demos in text mode: headings, charts, tables; one demo alone", "[01]") {
    const harness::Result all = harness::run_chapter({"--no-color"});
    INFO(all.err);
    REQUIRE(all.exit_code == 0);
    CHECK(all.err.empty());
    CHECK(all.leftovers.empty());
    for (const char* heading : {"== demo fcfs:", "== demo sjf:", "== demo rr-huge-slice:", "== demo rr-slice:",
                                "== demo io-mix:", "== demo rr-io-rejoin:", "== demo mlfq:", "== demo mlfq-preempted:",
                                "== demo mlfq-boost:"}) {
        CHECK(all.out.find(heading) != std::string::npos);
    }
    CHECK(all.out.find("context switches:") != std::string::npos);

    const harness::Result one = harness::run_chapter({"--demo", "rr-huge-slice", "--no-color"});
    REQUIRE(one.exit_code == 0);
    CHECK(one.out.find("RR with slice 5 and FIFO: identical schedules") != std::string::npos);
    CHECK(one.out.find("== demo fcfs:") == std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The command line.
// ---------------------------------------------------------------------------------------------

TEST_CASE("bad options: a clear message and exit status 2", "[01]") {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--policy", "lottery"}, "lottery"},
        {{"--policy", "rr", "--quantum", "0"}, "--quantum"},
        {{"--policy", "rr", "--quantum", "two"}, "--quantum"},
        {{"--policy", "rr", "--jobs", "1:x"}, "--jobs"},
        {{"--policy", "rr", "--jobs", "1,,2"}, "--jobs"},
        {{"--policy", "rr", "--jobs", "0"}, "--jobs"},
        {{"--policy", "rr", "--jobs", "-1:3"}, "--jobs"},
        {{"--policy", "mlfq", "--quanta", "1,0"}, "--quanta"},
        {{"--policy", "mlfq", "--levels", "0"}, "--levels"},
        {{"--policy", "mlfq", "--preempted-to", "middle"}, "--preempted-to"},
        {{"--policy", "fifo", "--count", "0"}, "--count"},
        {{"--policy", "fifo", "--jobs", "3", "--count", "2"}, "--count"},
        {{"--policy", "mlfq", "--quanta", "1,2", "--levels", "3"}, "--levels"},
        {{"--policy", "mlfq", "--quanta", "1,2", "--quantum", "3"}, "--quanta"},
        {{"--quantum", "2"}, "--policy"},
        {{"--format", "json"}, "--policy"},
        {{"--policy", "rr", "--jobs", "0:3:-1"}, "--jobs"},
        {{"--policy", "rr", "--jobs", "0:3:x"}, "--jobs"},
        {{"--policy", "rr", "--jobs", "0:3:1:1"}, "--jobs"},
        {{"--policy", "rr", "--jobs", "0:3:1", "--io-time", "0"}, "--io-time"},
        {{"--policy", "rr", "--jobs", "0:3:1", "--io-time", "10001"}, "--io-time"},
        {{"--policy", "rr", "--jobs", "0:3:1", "--io-time", "99999999999999999999999"}, "--io-time"},
        {{"--policy", "mlfq", "--boost", "0"}, "--boost"},
        {{"--policy", "mlfq", "--boost", "-3"}, "--boost"},
        {{"--policy", "mlfq", "--boost", "1000001"}, "--boost"},
        {{"--io-time", "3"}, "--policy"},
        {{"--answers"}, "--quiz"},
        {{"--quiz", "--format", "json"}, "--quiz"},
        {{"--quiz", "--count", "21"}, "--quiz"},
        // Past the bound on one run's work: 11 jobs x 10,000 units > 100,000 in all.
        {{"--policy", "rr", "--quantum", "1", "--jobs", "10000,10000,10000,10000,10000,10000,10000,10000,10000,10000,10000"},
         "limit is 100000"},
    };
    for (const auto& [args, mention] : cases) {
        std::string shown;
        for (const auto& a : args) shown += a + " ";
        const harness::Result r = harness::run_chapter(args);
        INFO(shown << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find(mention) != std::string::npos);
        CHECK(r.leftovers.empty());
    }
}

TEST_CASE("the largest accepted run stays bounded: RR, slice 1, 100,000 units of work", "[01]") {
    // The limit is there so that every accepted input is cheap; this is the worst case for the
    // timeline (one entry per unit). No timing is asserted: only that it completes, its document
    // is whole, and it accounts for all of the work.
    std::string jobs;
    for (int i = 0; i < 10; ++i) jobs += (i ? ",10000" : "10000");
    const harness::Result r = harness::run_chapter({"--policy", "rr", "--quantum", "1", "--jobs", jobs, "--format", "json"});
    REQUIRE(r.exit_code == 0);
    const auto doc = harness::Json::parse(r.out);
    long long busy = 0;
    for (const auto& run : doc["timeline"]) busy += run["end"].get<long long>() - run["start"].get<long long>();
    CHECK(busy == 100'000);
    CHECK(r.leftovers.empty());
}

TEST_CASE("the largest accepted I/O run stays bounded: an I/O after every unit, the longest I/O, a boost every unit", "[01]") {
    // 100,000 units of work, 99,990 I/Os of 10,000 units each: a makespan near a billion units,
    // which the simulator jumps over (it never steps through idle time tick by tick).
    std::string jobs;
    for (int i = 0; i < 10; ++i) jobs += (i ? ",0:10000:1" : "0:10000:1");
    const harness::Result r = harness::run_chapter({"--policy", "mlfq", "--boost", "1", "--io-time", "10000", "--jobs",
                                                    jobs, "--format", "json"});
    REQUIRE(r.exit_code == 0);
    const auto doc = harness::Json::parse(r.out);
    long long busy = 0;
    for (const auto& run : doc["timeline"]) busy += run["end"].get<long long>() - run["start"].get<long long>();
    CHECK(busy == 100'000);
    CHECK(doc["io"].size() == 99'990);
    CHECK(r.leftovers.empty());
}

TEST_CASE("an option that does not apply to the policy is reported, and the run goes on", "[01]") {
    const harness::Result r = harness::run_chapter({"--policy", "fifo", "--quantum", "3", "--jobs", "2,1", "--format", "json"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("--quantum has no effect") != std::string::npos);
    const Json doc = Json::parse(r.out);
    CHECK(doc["policy"] == "fifo");
}

// ---------------------------------------------------------------------------------------------
// I/O, the boost and the quiz.
// ---------------------------------------------------------------------------------------------

TEST_CASE("with I/O the document adds io, idle and cpu_utilisation; the per-job fields stay", "[01]") {
    // SJF, I/O of 1: job 1 (bursts of 2) runs 0-2, blocks 2-3; job 0 runs 2-8; job 1 8-10, blocks
    // 10-11 with nobody else ready (the CPU idles), then 11-13.
    const Json doc = simulate({"--policy", "sjf", "--io-time", "1", "--jobs", "0:6,0:6:2"});
    std::set<std::string> keys;
    for (const auto& [key, value] : doc.items()) keys.insert(key);
    CHECK(keys == std::set<std::string>{"policy", "jobs", "avg", "timeline", "context_switches", "io", "idle",
                                        "cpu_utilisation"});
    for (const Json& j : doc["jobs"]) {
        std::set<std::string> fields;
        for (const auto& [key, value] : j.items()) fields.insert(key);
        CHECK(fields == std::set<std::string>{"id", "arrival", "length", "first_run", "finish", "response",
                                              "turnaround", "wait"});
    }
    require_timeline(doc, {{1, 0, 2, 0}, {0, 2, 8, 0}, {1, 8, 10, 0}, {1, 11, 13, 0}});
    require_jobs(doc, {{0, 0, 6, 2, 8, 2, 8, 2}, {1, 0, 6, 0, 13, 0, 13, 5}});  // job 1's 2 units in I/O are not wait
    CHECK(doc["io"] == Json::parse(R"([{"job":1,"start":2,"end":3},{"job":1,"start":10,"end":11}])"));
    CHECK(doc["idle"] == Json::parse(R"([{"start":10,"end":11}])"));
    CHECK(doc["cpu_utilisation"].get<double>() == Approx(12.0 / 13.0));
    check_valid(doc);
}

TEST_CASE("the MLFQ boost and I/O through the command line: demotion while blocked, boost", "[01]") {
    // Hand-worked (see the simulator's unit test): J0 is demoted as it blocks at 2 and comes back
    // at 5 to level 1, where it does not preempt J1.
    const Json doc = simulate({"--policy", "mlfq", "--quanta", "2,4", "--io-time", "3", "--jobs", "0:6:2,0:8"});
    require_timeline(doc, {{0, 0, 2, 0}, {1, 2, 4, 0}, {1, 4, 8, 1}, {0, 8, 10, 1}, {1, 10, 12, 1}, {0, 13, 15, 1}});
    check_valid(doc);
    // A boost every 2 resets the running job's slice: it finishes at level 0.
    require_timeline(simulate({"--policy", "mlfq", "--quanta", "3,6", "--boost", "2", "--jobs", "5"}), {{0, 0, 5, 0}});
    require_timeline(simulate({"--policy", "mlfq", "--quanta", "3,6", "--jobs", "5"}), {{0, 0, 3, 0}, {0, 3, 5, 1}});
}

TEST_CASE("I/O for every policy over many generated workloads: valid documents", "[01]") {
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        wb::Random rng(seed, 11);
        std::string jobs;
        for (int k = 0; k < 4; ++k) {
            jobs += fmt_job(rng.uniform_int(0, 6), rng.uniform_int(1, 9), rng.uniform_int(0, 3)) + (k < 3 ? "," : "");
        }
        const std::string io_time = std::to_string(rng.uniform_int(1, 4));
        for (std::vector<std::string> policy : {std::vector<std::string>{"--policy", "fifo"}, {"--policy", "sjf"},
                                                {"--policy", "rr", "--quantum", "2"},
                                                {"--policy", "mlfq", "--boost", "5", "--preempted-to", "head"}}) {
            policy.insert(policy.end(), {"--jobs", jobs, "--io-time", io_time});
            INFO("jobs " << jobs << " io " << io_time);
            check_valid(simulate(policy));
        }
    }
}

TEST_CASE("--quiz asks without answering; --answers answers with the numbers of --format json", "[01]") {
    for (int seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
        INFO("seed " << seed);
        const auto ask = harness::run_jsonl(seed, {"--quiz"});
        const auto quiz = harness::select(ask.events, "quiz");
        REQUIRE(quiz.size() == 1);
        CHECK(quiz[0]["fields"]["answers"] == false);
        CHECK(harness::select(ask.events, "result").empty());
        CHECK(harness::select(ask.events, "gantt").empty());
        REQUIRE(quiz[0]["fields"]["jobs"].size() == 3);

        const auto answer = harness::run_jsonl(seed, {"--quiz", "--answers"});
        const auto again = harness::select(answer.events, "quiz");
        REQUIRE(again.size() == 1);
        // The same workload, and the answers are the document of the command the quiz names.
        CHECK(again[0]["fields"]["jobs"] == quiz[0]["fields"]["jobs"]);
        CHECK(again[0]["fields"]["command"] == quiz[0]["fields"]["command"]);
        const auto result = harness::select(answer.events, "result");
        REQUIRE(result.size() == 1);
        std::vector<std::string> args;
        std::string command = quiz[0]["fields"]["command"].get<std::string>();
        for (std::size_t at = 0; at < command.size();) {
            const auto space = command.find(' ', at);
            args.push_back(command.substr(at, space - at));
            at = space == std::string::npos ? command.size() : space + 1;
        }
        const Json doc = simulate(args);
        for (const auto& [key, value] : doc.items()) CHECK(result[0]["fields"][key] == value);
        check_valid(doc);
    }
    // Text: the questions, then (with --answers) the chart and the table.
    const harness::Result text = harness::run_chapter({"--quiz", "--seed", "3", "--no-color"});
    REQUIRE(text.exit_code == 0);
    CHECK(text.out.find("QUIZ (seed 3)") != std::string::npos);
    CHECK(text.out.find("Predict:") != std::string::npos);
    CHECK(text.out.find("average") == std::string::npos);
    const harness::Result answered = harness::run_chapter({"--quiz", "--seed", "3", "--answers", "--no-color"});
    REQUIRE(answered.exit_code == 0);
    CHECK(answered.out.find("average") != std::string::npos);
    CHECK(answered.out.find("CPU utilisation:") != std::string::npos);

    // What the command line gives, the quiz uses; an MLFQ-only option asks for MLFQ.
    const auto given = harness::run_jsonl(2, {"--quiz", "--boost", "4", "--jobs", "0:5:2,1:3", "--io-time", "2"});
    const auto q = harness::select(given.events, "quiz");
    REQUIRE(q.size() == 1);
    const std::string command = q[0]["fields"]["command"].get<std::string>();
    CHECK(command.find("--policy mlfq") == 0);
    CHECK(command.find("--boost 4") != std::string::npos);
    CHECK(command.find("--io-time 2 --jobs 0:5:2,1:3") != std::string::npos);
}
