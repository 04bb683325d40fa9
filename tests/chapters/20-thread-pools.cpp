// Output checks of chapter 20 (thread pools), from --format jsonl.
// Certain outcomes exactly (which calls ran, on which named workers, results in input order,
// as_completed in completion order, cancelled counts); the seed's timings as ratios with a
// tolerance (check::timing_scale), over several seeds.
#include <catch2/catch.hpp>
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;

namespace {

std::set<std::string> worker_names(const std::string& prefix, int n) {
    std::set<std::string> out;
    for (int i = 0; i < n; ++i) out.insert(prefix + "_" + std::to_string(i));
    return out;
}

// elapsed / ideal of a "timing" or "pool.done" event: at least the ideal, not much more.
void check_ideal(const Json& e, double upper) {
    const double ratio = e["fields"]["elapsed"].get<double>() / e["fields"]["ideal"].get<double>();
    INFO(e.dump());
    CHECK(ratio >= 0.99);
    CHECK(ratio <= upper);
}

const Json& timing(const std::vector<Json>& ts, const std::string& run) {
    for (const auto& t : ts) {
        if (t["fields"]["run"] == run) return t;
    }
    FAIL("no timing event for " << run);
    return ts.front();
}

}  // namespace

TEST_CASE("threadpool: 3 x 2 s on a pool of 5 take one rest, serially three", "[20]") {
    for (unsigned seed : {1u, 2u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "threadpool", "--time-scale", check::timing_scale(0.05)});
        const auto hellos = select(r.events, "hello");
        REQUIRE(hellos.size() == 6);
        const auto workers = worker_names("task_pool", 5);
        for (std::size_t i = 0; i < 3; ++i) CHECK(workers.count(hellos[i]["actor"].get<std::string>()) == 1);
        for (std::size_t i = 3; i < 6; ++i) CHECK(hellos[i]["actor"] == "MainThread");
        const auto ts = select(r.events, "timing");
        REQUIRE(ts.size() == 2);
        const Json& pool = timing(ts, "pool");
        const Json& serial = timing(ts, "serial");
        CHECK(pool["fields"]["ideal"] == 2.0);
        CHECK(serial["fields"]["ideal"] == 6.0);
        check_ideal(pool, 1.5);
        check_ideal(serial, 1.5);
        const double ratio = pool["fields"]["elapsed"].get<double>() / serial["fields"]["elapsed"].get<double>();
        CHECK(ratio <= 0.6);  // ideal 1/3
    }
}

TEST_CASE("executor timing: 7 x 0.8 s, pool of 2 about 4/7 of serial", "[20]") {
    for (unsigned seed : {1u, 2u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "executor-timing", "--time-scale", check::timing_scale(0.05)});
        const auto hellos = select(r.events, "hello");
        REQUIRE(hellos.size() == 14);
        const auto workers = worker_names("executor", 2);
        std::multiset<std::string> pooled_names;
        for (std::size_t i = 7; i < 14; ++i) {
            CHECK(workers.count(hellos[i]["actor"].get<std::string>()) == 1);
            pooled_names.insert(hellos[i]["fields"]["name"].get<std::string>());
        }
        CHECK(pooled_names == std::multiset<std::string>{"a", "b", "c", "e", "f", "g", "h"});
        const auto ts = select(r.events, "timing");
        REQUIRE(ts.size() == 2);
        check_ideal(timing(ts, "serial"), 1.5);
        check_ideal(timing(ts, "pool"), 1.5);
        CHECK(timing(ts, "pool")["fields"]["ideal"].get<double>() == Approx(3.2));
        const auto speedup = select(r.events, "speedup");
        REQUIRE(speedup.size() == 1);
        const double ratio = speedup[0]["fields"]["ratio"];
        CHECK(ratio >= 0.4);
        CHECK(ratio <= 0.8);  // ideal 4/7 = 0.57; serial would be 1
    }
}

TEST_CASE("wait: ll holds every name once when wait returns; FIRST_COMPLETED returns early", "[20]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "wait", "--time-scale", check::timing_scale(0.05)});
        const auto lls = select(r.events, "ll");
        REQUIRE(lls.size() == 2);
        const std::multiset<std::string> names{"a", "b", "c", "e", "f", "g", "h"};
        for (const auto& l : lls) {
            const auto v = l["fields"]["ll"].get<std::vector<std::string>>();
            CHECK(std::multiset<std::string>(v.begin(), v.end()) == names);
            CHECK(l["fields"]["done"] == 7);
            CHECK(l["fields"]["not_done"] == 0);
        }
        const auto first = select(r.events, "wait.first");
        REQUIRE(first.size() == 1);
        const int done = first[0]["fields"]["done"];
        CHECK(done >= 1);
        CHECK(done + first[0]["fields"]["not_done"].get<int>() == 7);
        CHECK(done < 7);  // a pool of 2 for 7 calls: at most 2 done when the first is
        CHECK(select(r.events, "main.end").size() == 2);
        // main3's calls ran on its two workers only.
        const auto workers = worker_names("main3", 2);
        for (const auto& h : select(r.events, "hello")) {
            const std::string a = h["actor"];
            if (a.rfind("main3", 0) == 0) CHECK(workers.count(a) == 1);
        }
    }
}

TEST_CASE("futures: states, a result(timeout) that gives up, cancel only while pending", "[20]") {
    const auto r = run_jsonl(1, {"--demo", "futures", "--time-scale", check::timing_scale(0.05)});
    const auto states = select(r.events, "future.state");
    REQUIRE(states.size() == 2);
    CHECK(states[0]["fields"]["status"] == "running");
    CHECK(states[1]["fields"]["status"] == "pending");
    const auto timeout = select(r.events, "future.timeout");
    REQUIRE(timeout.size() == 1);
    CHECK(timeout[0]["fields"]["done"] == false);
    const double ratio = timeout[0]["fields"]["waited"].get<double>() / timeout[0]["fields"]["timeout"].get<double>();
    CHECK(ratio >= 0.99);
    CHECK(ratio <= 1.5);
    const auto cancel = select(r.events, "future.cancel");
    REQUIRE(cancel.size() == 1);
    CHECK(cancel[0]["fields"]["running"] == false);
    CHECK(cancel[0]["fields"]["pending"] == true);
    const auto result = select(r.events, "future.result");
    REQUIRE(result.size() == 1);
    CHECK(result[0]["fields"]["first"] == 42);
    CHECK(result[0]["fields"]["second"] == 9);
    CHECK(result[0]["fields"]["third_cancelled"] == true);
}

TEST_CASE("as_completed yields in completion order, not submit order", "[20]") {
    std::set<std::vector<int>> orders;
    for (unsigned seed : {1u, 2u, 3u, 4u, 5u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "as-completed"});
        const auto done = select(r.events, "task.done");
        const auto completed = select(r.events, "completed");
        REQUIRE(done.size() == 5);
        REQUIRE(completed.size() == 5);
        std::vector<int> done_order, yield_order;
        for (const auto& d : done) done_order.push_back(d["fields"]["task"]);
        for (std::size_t i = 0; i < completed.size(); ++i) {
            CHECK(completed[i]["fields"]["position"] == i + 1);
            yield_order.push_back(completed[i]["fields"]["task"]);
            if (i > 0) {
                CHECK(completed[i]["fields"]["length"].get<double>() > completed[i - 1]["fields"]["length"].get<double>());
            }
        }
        CHECK(yield_order == done_order);
        std::vector<int> sorted = yield_order;
        std::sort(sorted.begin(), sorted.end());
        CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4});
        for (const auto& d : done) CHECK(worker_names("download", 5).count(d["actor"].get<std::string>()) == 1);
        orders.insert(yield_order);
    }
    CHECK(orders.size() >= 2);  // the seed changes the lengths, and so the order
}

TEST_CASE("map: results in the order of the inputs", "[20]") {
    for (unsigned seed : {1u, 2u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "map"});
        const auto result = select(r.events, "map.result");
        REQUIRE(result.size() == 1);
        const auto inputs = result[0]["fields"]["inputs"].get<std::vector<int>>();
        const auto results = result[0]["fields"]["results"].get<std::vector<int>>();
        REQUIRE(inputs.size() == results.size());
        for (std::size_t i = 0; i < inputs.size(); ++i) CHECK(results[i] == inputs[i] * inputs[i]);
        CHECK(select(r.events, "task.done").size() == inputs.size());
    }
}

TEST_CASE("a task that throws: result() rethrows it, map stops at it", "[20]") {
    const auto r = run_jsonl(1, {"--demo", "exception"});
    const auto result = select(r.events, "result");
    REQUIRE(result.size() == 1);
    CHECK(result[0]["fields"]["value"] == 5);
    const auto raised = select(r.events, "raised");
    REQUIRE(raised.size() == 1);
    CHECK(raised[0]["fields"]["error"] == "division by zero");
    const auto ex = select(r.events, "exception");
    REQUIRE(ex.size() == 1);
    CHECK(ex[0]["fields"]["has_exception"] == true);
    CHECK(ex[0]["fields"]["done"] == true);
    const auto map = select(r.events, "map.raised");
    REQUIRE(map.size() == 1);
    CHECK(map[0]["fields"]["error"] == "division by zero");
    CHECK(select(r.events, "error").empty());  // nothing escaped a worker
}

TEST_CASE("shutdown(cancel_futures): the queued calls cancelled, the running one finishes", "[20]") {
    for (unsigned seed : {1u, 2u}) {
        const auto r = run_jsonl(seed, {"--demo", "shutdown"});
        const auto s = select(r.events, "shutdown.cancelled");
        REQUIRE(s.size() == 1);
        CHECK(s[0]["fields"]["cancelled"] == 4);
        CHECK(s[0]["fields"]["queued"] == 4);
        CHECK(s[0]["fields"]["running_result"] == 1);
        const auto submit = select(r.events, "shutdown.submit");
        REQUIRE(submit.size() == 1);
        CHECK(submit[0]["fields"]["error"] == "cannot schedule new futures after shutdown");
    }
}

TEST_CASE("vthread: named pools as decorators, on their own named workers, in ceil(calls/size) rests", "[20]") {
    for (unsigned seed : {1u, 2u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "vthread", "--time-scale", check::timing_scale(0.05)});
        const auto fools = select(r.events, "fool");
        REQUIRE(fools.size() == 16);
        std::multiset<int> nums[4];
        const auto pool1 = worker_names("pool_1", 5);
        const auto pool2 = worker_names("pool_2", 2);
        for (const auto& f : fools) {
            const int func = f["fields"]["func"];
            REQUIRE(func >= 1);
            REQUIRE(func <= 3);
            nums[func].insert(f["fields"]["num"].get<int>());
            const std::string actor = f["actor"];
            CHECK((func == 1 ? pool1 : pool2).count(actor) == 1);
        }
        CHECK(nums[1] == std::multiset<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        CHECK(nums[2] == std::multiset<int>{0, 1, 2, 3});
        CHECK(nums[3] == std::multiset<int>{0, 1});
        const auto queued = select(r.events, "vthread.queued");
        REQUIRE(queued.size() == 1);
        // The calls return at once: queuing all 16 (which also starts the pools' 7 threads) takes
        // less than one call's 1 s rest. A decorator that ran the call would take 16 s or more;
        // a tighter bound only measures how fast a loaded machine creates threads.
        CHECK(queued[0]["fields"]["elapsed"].get<double>() < 1.0);
        const auto done = select(r.events, "pool.done");
        REQUIRE(done.size() == 2);
        CHECK(done[0]["fields"]["pool"] == "pool_1");
        CHECK(done[0]["fields"]["ideal"] == 2.0);
        CHECK(done[1]["fields"]["ideal"] == 3.0);
        for (const auto& d : done) check_ideal(d, 1.5);
    }
}
