// Output checks of chapter 14 (process pool), from --format jsonl, over several seeds.
// Which worker runs which task is the scheduler's (and the rests') doing; the checks hold for any
// assignment: five workers, reused pids, callbacks in the parent after their task, results in
// order, errors delivered. The one ratio (apply's total against the sum of rests) runs at
// --time-scale 0.1 (4x in sanitized builds).
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;
using harness::select_demo;

TEST_CASE("apply-async: 8 tasks on 5 reused workers, callbacks in the parent after each task", "[14]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "apply-async"});
        const long main = check::main_pid(r.events);
        const auto starts = select(r.events, "task.start");
        const auto ends = select(r.events, "task.end");
        const auto callbacks = select(r.events, "callback");
        REQUIRE(starts.size() == 8);
        REQUIRE(ends.size() == 8);
        REQUIRE(callbacks.size() == 8);
        std::map<int, Json> start_of, end_of;
        std::set<long> pids;
        for (const auto& e : starts) {
            start_of[e["fields"]["task"].get<int>()] = e;
            CHECK(e["pid"] != main);
            CHECK(e["fields"]["worker_pid"] == e["pid"]);  // the pid the line prints is the worker's
            pids.insert(e["pid"].get<long>());
            CHECK(e["actor"] == "task-" + std::to_string(e["fields"]["task"].get<int>()));
            CHECK(e["fields"]["worker"].get<std::string>().rfind("ForkPoolWorker-", 0) == 0);
        }
        for (const auto& e : ends) end_of[e["fields"]["task"].get<int>()] = e;
        CHECK(start_of.size() == 8);
        CHECK(pids.size() == 5);  // Pool(5): five processes for eight tasks
        // The first five tasks went to five different workers at once.
        std::set<long> first_five;
        for (int i = 0; i < 5; ++i) first_five.insert(start_of[i]["pid"].get<long>());
        CHECK(first_five.size() == 5);
        for (const auto& c : callbacks) {
            CHECK(c["pid"] == main);  // callbacks run in the parent
            CHECK(c["actor"] == "MainProcess");
            const int task = c["fields"]["task"];
            REQUIRE(end_of.count(task) == 1);
            CHECK(c["t"].get<double>() >= end_of[task]["t"].get<double>());
            // The task ran in the worker its start line names and ended there.
            CHECK(end_of[task]["pid"] == start_of[task]["pid"]);
        }
        // Tasks 5-7 reused a worker: each started in a pid that had already finished a task.
        for (int i = 5; i < 8; ++i) {
            bool reused = false;
            for (int j = 0; j < 5; ++j) {
                reused = reused || (start_of[i]["pid"] == start_of[j]["pid"] &&
                                    start_of[i]["t"].get<double>() >= end_of[j]["t"].get<double>());
            }
            CHECK(reused);
        }
        const auto summary = select(r.events, "pool.summary");
        REQUIRE(summary.size() == 1);
        CHECK(summary[0]["fields"]["distinct_pids"] == 5);
        CHECK(summary[0]["fields"]["started"] == 5);
    }
}

TEST_CASE("apply: one task at a time, the total is about the sum of the rests", "[14]") {
    for (unsigned seed : {1u, 2u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "apply", "--time-scale", check::timing_scale(0.1)});
        const auto starts = select(r.events, "task.start");
        const auto ends = select(r.events, "task.end");
        REQUIRE(starts.size() == 3);
        REQUIRE(ends.size() == 3);
        for (std::size_t i = 0; i + 1 < 3; ++i) CHECK(starts[i + 1]["t"].get<double>() >= ends[i]["t"].get<double>());
        const auto total = select(r.events, "apply.total");
        REQUIRE(total.size() == 1);
        const double ratio = total[0]["fields"]["ratio"];
        CHECK(ratio >= 0.99);
        CHECK(ratio <= 1.5);
    }
}

TEST_CASE("close-join, map, task-throws, worker-killed", "[14]") {
    for (unsigned seed : {1u, 2u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "close-join", "--demo", "map", "--demo", "task-throws",
                                        "--demo", "worker-killed"});
        const long main = check::main_pid(r.events);
        CHECK(select(r.events, "join.refused").size() == 1);
        CHECK(select(r.events, "submit.refused").size() == 1);
        const auto joined = select(r.events, "joined");
        REQUIRE(joined.size() == 1);
        CHECK(joined[0]["fields"]["result"] == 0);

        const auto map = select(r.events, "map.result");
        REQUIRE(map.size() == 1);
        CHECK(map[0]["fields"]["results"] == Json({0, 1, 4, 9, 16, 25, 36, 49, 64, 81}));
        const auto big = select(r.events, "map.big");
        REQUIRE(big.size() == 1);
        CHECK(big[0]["fields"]["items"] == 1000);
        CHECK(big[0]["fields"]["in_order"] == true);

        const auto error = select(r.events, "task.error");
        REQUIRE(error.size() == 1);
        CHECK(error[0]["fields"]["error"].get<std::string>().rfind("std::invalid_argument: ", 0) == 0);
        CHECK(error[0]["fields"]["successful"] == false);
        const auto callbacks = select(select_demo(r.events, "task-throws"), "error_callback");
        REQUIRE(callbacks.size() == 1);
        CHECK(callbacks[0]["pid"] == main);

        const auto died = select(r.events, "worker.died");
        REQUIRE(died.size() == 1);
        CHECK(died[0]["fields"]["error"].get<std::string>().find("killed by signal 9 (SIGKILL)") != std::string::npos);
        const auto after = select(r.events, "pool.after");
        REQUIRE(after.size() == 1);
        CHECK(after[0]["fields"]["completed"] == 8);
        CHECK(after[0]["fields"]["sum"] == 36);  // quick(i) = i + 1 for i = 0..7
        CHECK(after[0]["fields"]["replaced"] == 1);
        CHECK(after[0]["fields"]["workers"] == 3);
        CHECK(after[0]["fields"]["started"] == 4);
        // The dead worker's exit is recorded: -9.
        int killed = 0;
        for (const auto& e : select(select_demo(r.events, "worker-killed"), "process.exit")) {
            killed += e["fields"]["exitcode"] == -9 ? 1 : 0;
        }
        CHECK(killed == 1);
    }
}
