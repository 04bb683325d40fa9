// Output checks of chapter 15 (threads basics), from --format jsonl.
// Properties, never one interleaving: which of two threads prints first at the same moment is the
// scheduler's choice. Checks that compare durations run at --time-scale 0.05 (check::timing_scale:
// four times that in sanitized builds), so that wake-up latency stays small next to a 0.5 s step.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;
using harness::select_demo;

namespace {
// Every event of the run comes from one process: threads, not processes.
void check_one_process(const std::vector<Json>& events) {
    const long main = check::main_pid(events);
    for (const auto& e : events) CHECK(e["pid"] == main);
}
}  // namespace

TEST_CASE("music and download: two threads of one process, each in its order, interleaving", "[15]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "music-and-download", "--time-scale", check::timing_scale(0.05)});
        check_one_process(r.events);
        const auto downloads = select(r.events, "download");
        const auto musics = select(r.events, "music");
        REQUIRE(downloads.size() == 3);
        REQUIRE(musics.size() == 4);
        const std::vector<std::string> files = {"1.jpg", "5.exe", "6.csv"};
        for (std::size_t i = 0; i < downloads.size(); ++i) {
            CHECK(downloads[i]["actor"] == "aa");
            CHECK(downloads[i]["fields"]["file"] == files[i]);
            CHECK(downloads[i]["fields"]["n"] == i + 1);
            CHECK(downloads[i]["tid"] == downloads[0]["tid"]);
        }
        for (std::size_t i = 0; i < musics.size(); ++i) {
            CHECK(musics[i]["actor"] == "bb");
            CHECK(musics[i]["fields"]["n"] == i + 1);
            CHECK(musics[i]["tid"] == musics[0]["tid"]);
        }
        // Two threads, neither of them main.
        CHECK(downloads[0]["tid"] != musics[0]["tid"]);
        CHECK(downloads[0]["tid"] != check::main_pid(r.events));
        // Interleaving: the first song (at 0.5 s) comes while downloads are still going (the last
        // starts at 1.0 s), and the last song (2.0 s) after the last download began.
        CHECK(musics.front()["t"].get<double>() < downloads.back()["t"].get<double>());
        CHECK(musics.back()["t"].get<double>() > downloads.back()["t"].get<double>());
    }
}

TEST_CASE("three ways: four threads each; every total is about the longest loop", "[15]") {
    const auto r = run_jsonl(1, {"--demo", "three-ways", "--time-scale", check::timing_scale(0.05)});
    check_one_process(r.events);
    const auto ends = select(r.events, "way.end");
    REQUIRE(ends.size() == 3);
    CHECK(ends[0]["fields"]["way"] == "a function");
    CHECK(ends[1]["fields"]["way"] == "a callable object");
    CHECK(ends[2]["fields"]["way"] == "a subclass");
    for (const auto& e : ends) {
        CHECK(e["fields"]["threads"] == 4);
        const double took = e["fields"]["seconds"];
        // In parallel: at least the longest loop (4 s), far below the sum (10 s).
        CHECK(took >= 4.0 - 1e-3);
        CHECK(took < 6.0);
    }
    // Each way: loops 0-3 begin and end once, each sleeping loops[i] = i + 1 seconds, each in its
    // own thread; the first way's threads are unnamed (Thread-1 ... Thread-4), the others "loop".
    const auto begins = select(r.events, "loop.begin");
    const auto loop_ends = select(r.events, "loop.end");
    REQUIRE(begins.size() == 12);
    REQUIRE(loop_ends.size() == 12);
    std::set<std::string> first_way_actors;
    std::set<long> tids;
    for (std::size_t i = 0; i < begins.size(); ++i) {
        const int nloop = begins[i]["fields"]["nloop"];
        CHECK(begins[i]["fields"]["seconds"] == nloop + 1);
        tids.insert(begins[i]["tid"].get<long>());
        if (i < 4) {
            first_way_actors.insert(begins[i]["actor"]);
        } else {
            CHECK(begins[i]["actor"] == "loop");
        }
    }
    CHECK(first_way_actors == std::set<std::string>{"Thread-1", "Thread-2", "Thread-3", "Thread-4"});
    // Each end comes after its thread's begin by at least the loop's seconds.
    for (const auto& b : begins) {
        for (const auto& e : loop_ends) {
            if (e["tid"] == b["tid"]) {
                CHECK(e["t"].get<double>() - b["t"].get<double>() >= b["fields"]["seconds"].get<double>() - 1e-3);
            }
        }
    }
}

TEST_CASE("LoopThread prints the seed's lines in order", "[15]") {
    for (unsigned seed : {1u, 2u}) {
        const auto r = run_jsonl(seed, {"--demo", "loop-thread"});
        std::vector<std::string> texts;
        for (const auto& e : r.events) {
            const std::string ev = e["event"];
            if (ev == "thread.running" || ev == "loop.tick" || ev == "thread.ended") texts.push_back(e["text"]);
        }
        const std::vector<std::string> want = {
            "thread MainThread is running...", "thread LoopThread is running...",
            "thread LoopThread >>> 1", "thread LoopThread >>> 2", "thread LoopThread >>> 3",
            "thread LoopThread >>> 4", "thread LoopThread >>> 5", "thread LoopThread ended.",
            "thread MainThread ended."};
        CHECK(texts == want);
    }
}

TEST_CASE("introspection: active_count, enumerate, and the states the kernel reports", "[15]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "introspection"});
        const auto counts = select(r.events, "count");
        REQUIRE(counts.size() == 2);
        CHECK(counts[0]["fields"]["active_count"] == 1);
        CHECK(counts[1]["fields"]["active_count"] == 1);
        const auto en = select(r.events, "enumerate");
        REQUIRE(en.size() == 1);
        CHECK(en[0]["fields"]["active_count"] == 4);
        CHECK(en[0]["fields"]["threads"] == Json::array({"MainThread", "worker-1", "worker-2", "worker-3"}));
        CHECK(en[0]["actor"] == "MainThread");

        const auto states = select(r.events, "thread.state");
        REQUIRE(states.size() == 4);
        CHECK(states[0]["fields"]["state"] == "new");
        CHECK(states[0]["fields"]["alive"] == false);
        CHECK(states[0]["fields"]["proc_state"] == "");
        CHECK(states[1]["fields"]["state"] == "running");
        CHECK(states[1]["fields"]["alive"] == true);
        CHECK(states[1]["fields"]["proc_state"] == "R");  // a computing thread is runnable
        CHECK(states[2]["fields"]["state"] == "blocked");
        CHECK(states[2]["fields"]["alive"] == true);
        CHECK(states[2]["fields"]["proc_state"] == "S");
        CHECK(states[3]["fields"]["state"] == "ended");
        CHECK(states[3]["fields"]["alive"] == false);
    }
}

TEST_CASE("join(timeout) returns after the timeout, the thread still alive", "[15]") {
    const auto r = run_jsonl(1, {"--demo", "join-timeout", "--time-scale", check::timing_scale(0.1)});
    const auto t = select(r.events, "join.timeout");
    REQUIRE(t.size() == 1);
    CHECK(t[0]["fields"]["ended"] == false);
    CHECK(t[0]["fields"]["alive"] == true);
    const double ratio = t[0]["fields"]["waited"].get<double>() / t[0]["fields"]["timeout"].get<double>();
    CHECK(ratio >= 0.99);
    CHECK(ratio <= 1.5);
    const auto done = select(r.events, "join.done");
    REQUIRE(done.size() == 1);
    CHECK(done[0]["fields"]["alive"] == false);
    // The rest began as start() returned, a moment before the stopwatch: allow that moment.
    CHECK(done[0]["fields"]["waited"].get<double>() >= 3.0 - 0.05);
}

TEST_CASE("daemon: asked to stop when main is done, it ends on its own", "[15]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "daemon"});
        const auto ticks = select(r.events, "tick");
        REQUIRE(ticks.size() >= 2);  // main waits for two; a third only if main was slow
        for (std::size_t i = 0; i < ticks.size(); ++i) {
            CHECK(ticks[i]["fields"]["n"] == i + 1);
            CHECK(ticks[i]["actor"] == "ticker");
        }
        const auto end = select(r.events, "main.end");
        REQUIRE(end.size() == 1);
        CHECK(end[0]["fields"]["daemon_alive"] == true);
        const auto stopped = select(r.events, "daemon.stopped");
        REQUIRE(stopped.size() == 1);
        CHECK(stopped[0]["fields"]["ticks"] == ticks.size());
        CHECK(stopped[0]["t"].get<double>() >= end[0]["t"].get<double>());
        // Stopped, not slept out: it ended well before its 1 s sleep would have.
        CHECK(stopped[0]["t"].get<double>() - ticks.back()["t"].get<double>() < 1.0);
    }
}

TEST_CASE("Timer: fires after its interval; the cancelled one never fires", "[15]") {
    const auto r = run_jsonl(1, {"--demo", "timer", "--time-scale", check::timing_scale(0.1)});
    const auto hellos = select(r.events, "hello");
    REQUIRE(hellos.size() == 1);
    CHECK(hellos[0]["actor"] == "timer");
    const auto fired = select(r.events, "timer.fired");
    REQUIRE(fired.size() == 1);
    CHECK(fired[0]["fields"]["fired"] == true);
    const double ratio = fired[0]["fields"]["waited"].get<double>() / 1.0;
    CHECK(ratio >= 0.99);
    CHECK(ratio <= 1.5);
    const auto cancelled = select(r.events, "timer.cancelled");
    REQUIRE(cancelled.size() == 1);
    CHECK(cancelled[0]["fields"]["fired"] == false);
    CHECK(cancelled[0]["fields"]["interval"] == 5.0);
}
