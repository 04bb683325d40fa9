// Output checks of chapter 08 (process control), from --format jsonl.
// Every seed claim is checked on what the run reports, over several seeds; where the scheduler
// decides (is_alive() right after terminate(), how many lines a looping child printed before it
// was stopped) the check accepts every allowed outcome.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;

namespace {
// The library's process.exit event of the child named `name`.
Json exit_of(const std::vector<Json>& events, const std::string& name) {
    for (const auto& e : select(events, "process.exit")) {
        if (e["fields"]["name"] == name) return e;
    }
    FAIL("no process.exit event for " << name);
    return {};
}
}  // namespace

TEST_CASE("pid is empty before start; is_alive after terminate may be true, false once reaped; -15", "[08]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "terminate"});
        const auto before = select(r.events, "pid.before_start");
        REQUIRE(before.size() == 5);
        for (const auto& e : before) CHECK(e["fields"]["pid"].is_null());
        const auto t = select(r.events, "terminate");
        REQUIRE(t.size() == 1);
        CHECK(t[0]["fields"]["alive_before"] == true);
        CHECK(t[0]["fields"]["alive_right_after"].is_boolean());  // either outcome is allowed
        const auto reaped = select(r.events, "terminate.reaped");
        REQUIRE(reaped.size() == 1);
        CHECK(reaped[0]["fields"]["alive"] == false);
        CHECK(reaped[0]["fields"]["exitcode"] == -15);
        // Child 3 never worked (it was waiting for "go" when SIGTERM came); the four others did.
        const auto work = select(r.events, "work");
        CHECK(work.size() == 4);
        for (const auto& w : work) CHECK(w["fields"]["n"] != 3);
        CHECK(select(r.events, "exitcodes")[0]["fields"]["exitcodes"] == Json::parse("[0, 0, 0, -15, 0]"));
    }
}

TEST_CASE("exitcode: None while running, -N after signal N, 0 after a normal end", "[08]") {
    const auto r = run_jsonl(1, {"--demo", "exitcode"});
    const auto codes = select(r.events, "exitcode");
    REQUIRE(codes.size() == 4);
    for (const auto& c : codes) {
        CHECK(c["fields"]["running"].is_null());
        CHECK(c["fields"]["exitcode"] == -c["fields"]["signal"].get<int>());
    }
    CHECK(codes[0]["fields"]["exitcode"] == -15);
    CHECK(codes[1]["fields"]["exitcode"] == -9);
    CHECK(codes[2]["fields"]["exitcode"] == -10);
    CHECK(codes[3]["fields"]["exitcode"] == 0);
}

TEST_CASE("join() waits for one child: p2 is still alive when p1.join() returns", "[08]") {
    const auto r = run_jsonl(1, {"--demo", "join-one"});
    const auto one = select(r.events, "join.one");
    REQUIRE(one.size() == 1);
    CHECK(one[0]["fields"]["p1_alive"] == false);
    CHECK(one[0]["fields"]["p2_alive"] == true);
    CHECK(select(r.events, "join.two")[0]["fields"]["p2_exitcode"] == 0);
}

TEST_CASE("the looping tasks print their own pid and main's, and end by SIGTERM at the limit", "[08]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        // 0.05: task 1's first line comes 50 ms after its start, well before main's limit (250 ms).
        const auto r = run_jsonl(seed, {"--demo", "forever", "--time-scale", check::timing_scale(0.05)});
        const long main = check::main_pid(r.events);
        REQUIRE(select(r.events, "main.pid")[0]["fields"]["pid"] == main);
        const auto counts = select(r.events, "count");
        REQUIRE(counts.size() == 10);
        for (int i = 0; i < 10; ++i) CHECK(counts[i]["fields"]["number"] == i + 1);
        REQUIRE(select(r.events, "limit").size() == 1);
        CHECK(select(r.events, "limit")[0]["fields"]["number"] == 11);
        int task1 = 0;
        for (const auto& t : select(r.events, "task")) {
            CHECK(t["fields"]["pid"] == t["pid"]);
            CHECK(t["pid"] != main);
            CHECK(t["fields"]["ppid"] == main);
            task1 += t["fields"]["task"] == 1;
        }
        CHECK(task1 >= 1);
        const auto codes = select(r.events, "forever.exitcodes");
        REQUIRE(codes.size() == 1);
        CHECK(codes[0]["fields"]["task1"] == -15);
        CHECK(codes[0]["fields"]["task2"] == -15);
    }
}

TEST_CASE("the daemon ends when main's code ends; the non-daemon counts to the end", "[08]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "daemon", "--time-scale", check::timing_scale(0.05)});
        const auto after = select(r.events, "daemon.after_start");
        REQUIRE(after.size() == 1);
        CHECK(after[0]["fields"]["error"].get<std::string>().find("start") != std::string::npos);
        // Event order in the stream: how many "is alive" lines before and after main's end.
        int alive_before = 0, alive_after = 0, seconds_after = 0;
        bool ended = false;
        std::vector<int> seconds;
        for (const auto& e : r.events) {
            const std::string name = e["event"];
            if (name == "main.end") ended = true;
            if (name == "daemon.alive") (ended ? alive_after : alive_before)++;
            if (name == "counter.second") {
                seconds.push_back(e["fields"]["second"]);
                seconds_after += ended;
            }
        }
        REQUIRE(ended);
        // Main ends 2.75 s after the daemon's first line, which comes every 0.5 s: six lines, and
        // main's end a quarter period away from the next (one more allowed for a loaded machine).
        CHECK(alive_before >= 6);
        CHECK(alive_before <= 7);
        CHECK(alive_after <= 1);  // one already on its way when main ended
        CHECK(seconds == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
        CHECK(seconds_after >= 5);  // the counter kept counting after main's end
        CHECK(exit_of(r.events, "alive-printer")["fields"]["exitcode"] == -15);
        CHECK(exit_of(r.events, "counter")["fields"]["exitcode"] == 0);
    }
}

TEST_CASE("a daemon may not start children: a clear error", "[08]") {
    const auto r = run_jsonl(1, {"--demo", "daemon-child"});
    const auto e = select(r.events, "daemon.child");
    REQUIRE(e.size() == 1);
    REQUIRE(e[0]["fields"]["error"].is_string());
    CHECK(e[0]["fields"]["error"] == "daemonic processes are not allowed to have children");
    CHECK(exit_of(r.events, "daemon")["fields"]["exitcode"] == 0);
}

TEST_CASE("a zombie is seen in state Z with its exit code, and is gone once joined", "[08]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "zombie"});
        const long main = check::main_pid(r.events);
        const auto z = select(r.events, "zombie");
        REQUIRE(z.size() == 1);
        CHECK(z[0]["fields"]["state"] == "Z");
        CHECK(z[0]["fields"]["ppid"] == main);
        CHECK(z[0]["fields"]["exitcode"] == 3);
        const auto reaped = select(r.events, "zombie.reaped");
        REQUIRE(reaped.size() == 1);
        CHECK(reaped[0]["fields"]["gone"] == true);
        CHECK(reaped[0]["fields"]["exitcode"] == 3);
    }
}

TEST_CASE("an orphan runs on after its parent is SIGKILLed, is adopted by main, and is cleaned up", "[08]") {
    for (unsigned seed : {1u, 2u, 3u, 4u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "orphan"});
        const long main = check::main_pid(r.events);
        const auto start = select(r.events, "orphan.start");
        REQUIRE(start.size() == 1);
        const long parent = start[0]["fields"]["ppid"];
        CHECK(parent != main);
        const auto killed = select(r.events, "orphan.parent_killed");
        REQUIRE(killed.size() == 1);
        CHECK(killed[0]["fields"]["pid"] == parent);
        CHECK(killed[0]["fields"]["exitcode"] == -9);
        const auto adopted = select(r.events, "orphan.adopted");
        REQUIRE(adopted.size() == 1);
        CHECK(adopted[0]["fields"]["old_ppid"] == parent);
        CHECK(adopted[0]["fields"]["ppid"] == main);  // main is the subreaper
        const auto ticks = select(r.events, "orphan.tick");
        CHECK(ticks.size() >= 2);
        for (const auto& t : ticks) CHECK(t["fields"]["ppid"] == main);
        const auto found = select(r.events, "orphan.found");
        REQUIRE(found.size() == 1);
        CHECK(found[0]["fields"]["pid"] == start[0]["pid"]);
        CHECK(found[0]["fields"]["ppid"] == main);
        CHECK(found[0]["fields"]["found"] == true);
        CHECK(found[0]["fields"]["state"] != "Z");
        const auto reaped = select(r.events, "orphan.reaped");
        REQUIRE(reaped.size() == 1);
        CHECK(reaped[0]["fields"]["exitcode"] == -15);
    }
}

TEST_CASE("terminate(): the library reaps the grandchild first; Python's way leaves an orphan", "[08]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "terminate-family"});
        const long main = check::main_pid(r.events);
        const auto f = select(r.events, "terminate.family");
        REQUIRE(f.size() == 2);
        CHECK(f[0]["fields"]["style"] == "library");
        CHECK(f[0]["fields"]["child_exitcode"] == -15);
        CHECK(f[0]["fields"]["state"] == "gone");
        CHECK(f[1]["fields"]["style"] == "python");
        CHECK(f[1]["fields"]["child_exitcode"] == -15);
        CHECK(f[1]["fields"]["state"] != "Z");
        CHECK(f[1]["fields"]["state"] != "gone");
        CHECK(f[1]["fields"]["ppid"] == main);
        const auto reaped = select(r.events, "terminate.orphan_reaped");
        REQUIRE(reaped.size() == 1);
        CHECK(reaped[0]["fields"]["pid"] == f[1]["fields"]["grandchild"]);
        CHECK(reaped[0]["fields"]["exitcode"] == -15);
    }
}
