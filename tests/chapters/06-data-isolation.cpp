// Output checks of chapter 06 (data isolation).
#include <catch2/catch.hpp>
#include <set>

#include "../chapters/check_util.hpp"

using harness::run_jsonl;
using harness::select;
using harness::select_demo;

TEST_CASE("processes: each child turns its own 99 into 100, the parent keeps 99", "[06]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        const auto r = run_jsonl(seed);
        const long main = check::main_pid(r.events);
        const auto demo = select_demo(r.events, "processes");
        const auto before = select(demo, "money.before");
        const auto after = select(demo, "money.after");
        REQUIRE(before.size() == 3);
        REQUIRE(after.size() == 3);
        std::set<long> pids;
        for (const auto& e : before) {
            CHECK(e["fields"]["money"] == 99);
            CHECK(e["pid"].get<long>() != main);
            pids.insert(e["pid"].get<long>());
        }
        for (const auto& e : after) CHECK(e["fields"]["money"] == 100);
        CHECK(pids.size() == 3);  // three different processes
        const auto parent = select(demo, "money.parent");
        REQUIRE(parent.size() == 1);
        CHECK(parent[0]["fields"]["money"] == 99);
        CHECK(parent[0]["pid"].get<long>() == main);

        // Threads share: 1000 - 2 x 100.
        const auto threads = select(select_demo(r.events, "threads"), "ticket.threads");
        REQUIRE(threads.size() == 1);
        CHECK(threads[0]["fields"]["ticket"] == 800);

        // The same work in processes: each child has 900, the parent 1000.
        const auto contrast = select_demo(r.events, "contrast");
        const auto children = select(contrast, "ticket.child");
        REQUIRE(children.size() == 2);
        for (const auto& e : children) CHECK(e["fields"]["ticket"] == 900);
        const auto p = select(contrast, "ticket.parent");
        REQUIRE(p.size() == 1);
        CHECK(p[0]["fields"]["ticket"] == 1000);
    }
}
