// Output checks of chapter 05 (process basics), run as a user would: --format jsonl.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;
using harness::select_demo;

TEST_CASE("function demo: children run concurrently and main ends before any child finishes", "[05]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        const auto r = run_jsonl(seed, {"--demo", "function", "--time-scale", check::timing_scale(0.1)});
        const auto demo = select_demo(r.events, "function");
        const long main = check::main_pid(r.events);
        const auto rests = check::spans(demo, "rest");
        REQUIRE(rests.size() == 2);
        std::set<std::string> who;
        for (const auto& s : rests) {
            who.insert(s.fields["who"].get<std::string>());
            CHECK(s.pid != main);  // a real child process did the work
            const auto seconds = s.fields["seconds"].get<int>();
            CHECK(seconds >= 1);
            CHECK(seconds <= 3);
            CHECK((s.end - s.begin) / seconds >= 0.95);  // it really rested that long (scaled)
        }
        CHECK(who == std::set<std::string>{"one", "two"});
        CHECK(rests[0].pid != rests[1].pid);
        // main's last line comes before either child finishes: start() does not wait.
        // (A ratio, not luck: two fork()s take milliseconds, the shortest rest 100 ms at this scale.)
        const auto end = select(demo, "main.end");
        REQUIRE(end.size() == 1);
        const double shortest = std::min(rests[0].fields["seconds"].get<double>(), rests[1].fields["seconds"].get<double>());
        CHECK(end[0]["t"].get<double>() - select(demo, "main.begin")[0]["t"].get<double>() < shortest);
        CHECK(end[0]["t"].get<double>() < std::min(rests[0].end, rests[1].end));
        // The two rests overlap in time: they ran at once.
        CHECK(std::max(rests[0].begin, rests[1].begin) < std::min(rests[0].end, rests[1].end));
    }
}

TEST_CASE("the same seed gives the same rests, whatever the scheduling", "[05]") {
    auto rests_of = [](unsigned seed) {
        std::map<std::string, int> out;
        const auto r = run_jsonl(seed, {"--demo", "function"});
        for (const auto& s : check::spans(r.events, "rest")) out[s.fields["who"]] = s.fields["seconds"];
        return out;
    };
    CHECK(rests_of(7) == rests_of(7));
    // Across seeds the rests are not all equal (seeds 1..8 cannot all draw the same pair).
    std::set<std::map<std::string, int>> seen;
    for (unsigned seed = 1; seed <= 8; ++seed) seen.insert(rests_of(seed));
    CHECK(seen.size() > 1);
}

TEST_CASE("run demo: run() is serial and stays in the main process", "[05]") {
    const auto r = run_jsonl(4, {"--demo", "run"});
    const auto demo = select_demo(r.events, "run");
    const long main = check::main_pid(r.events);
    for (const auto& e : demo) CHECK(e["pid"].get<long>() == main);
    CHECK(select(demo, "process.start").empty());
    const auto rests = check::spans(demo, "rest");
    REQUIRE(rests.size() == 2);
    CHECK(rests[0].fields["who"] == "one");
    CHECK(rests[1].fields["who"] == "two");
    CHECK(rests[1].begin >= rests[0].end);  // one after the other
    const auto pids = select(demo, "pids");
    REQUIRE(pids.size() == 1);
    CHECK(pids[0]["fields"]["p1"].is_null());
}

TEST_CASE("subclass demo: the name pitfall gives NewProcess-N, the fix gives the label", "[05]") {
    const auto r = run_jsonl(2, {"--demo", "subclass"});
    const auto demo = select_demo(r.events, "subclass");
    std::set<std::string> actors;
    for (const auto& s : check::spans(demo, "rest")) actors.insert(s.actor);
    CHECK(actors == std::set<std::string>{"NewProcess-1", "NewProcess-2", "one", "two"});
    for (const auto& s : check::spans(demo, "rest")) {
        if (s.actor.rfind("NewProcess-", 0) == 0) CHECK(s.fields["who"] == s.actor);
    }
}

TEST_CASE("pids demo: empty before start, the child's parent is main", "[05]") {
    const auto r = run_jsonl(1, {"--demo", "pids"});
    const auto demo = select_demo(r.events, "pids");
    const long main = check::main_pid(r.events);
    const auto before = select(demo, "pid.before_start");
    REQUIRE(before.size() == 2);
    for (const auto& e : before) CHECK(e["fields"]["pid"].is_null());
    std::set<long> started;
    for (const auto& e : select(demo, "pid.after_start")) started.insert(e["fields"]["pid"].get<long>());
    REQUIRE(started.size() == 2);
    std::set<long> reported;
    for (const auto& e : select(demo, "ids")) {
        const auto& f = e["fields"];
        CHECK(f["pid"] == f["getpid"]);
        CHECK(f["pid"].get<long>() == e["pid"].get<long>());
        if (f["label"] != "main") {
            CHECK(f["ppid"].get<long>() == main);
            reported.insert(f["pid"].get<long>());
        }
    }
    CHECK(reported == started);
}

TEST_CASE("spawn demo: the spawned child re-runs the top level and starts from scratch", "[05]") {
    const auto r = run_jsonl(1, {"--demo", "spawn"});
    const long main = check::main_pid(r.events);
    // module_level ran in the program and once more in the spawned child - not in the fork child.
    const auto module = select(r.events, "module.level");
    REQUIRE(module.size() == 2);
    CHECK(module[0]["pid"].get<long>() == main);
    CHECK(module[1]["pid"].get<long>() != main);
    const auto settings = select(r.events, "setting");
    REQUIRE(settings.size() == 2);
    std::map<std::string, std::string> seen;
    std::map<std::string, long> pid_of;
    for (const auto& e : settings) {
        seen[e["fields"]["method"]] = e["fields"]["setting"];
        pid_of[e["fields"]["method"]] = e["pid"];
    }
    CHECK(seen["fork"] == "changed by main()");
    CHECK(seen["spawn"] == "initial value");
    // The environment reaches both: fork copies it, execve hands it over.
    for (const auto& e : settings) {
        CHECK(e["fields"]["environment"] == "hello from main");
        CHECK(e["fields"]["ppid"].get<long>() == main);
    }
    CHECK(pid_of["spawn"] == module[1]["pid"].get<long>());
    std::map<std::string, int> methods;
    for (const auto& e : select(r.events, "process.start")) methods[e["fields"]["method"]]++;
    CHECK(methods == std::map<std::string, int>{{"fork", 1}, {"spawn", 1}});
    const auto codes = select(r.events, "exitcodes");
    REQUIRE(codes.size() == 1);
    CHECK(codes[0]["fields"]["fork"] == 0);
    CHECK(codes[0]["fields"]["spawn"] == 0);
}

TEST_CASE("every started child is reaped with exit code 0 in a full run", "[05]") {
    for (unsigned seed : {1u, 5u}) {
        const auto r = run_jsonl(seed);
        std::set<long> started, exited;
        for (const auto& e : select(r.events, "process.start")) started.insert(e["fields"]["pid"].get<long>());
        for (const auto& e : select(r.events, "process.exit")) {
            exited.insert(e["fields"]["pid"].get<long>());
            CHECK(e["fields"]["exitcode"] == 0);
        }
        CHECK(started == exited);
        CHECK(started.size() == 10);  // function 2, subclass 4, pids 2, spawn 2
    }
}
