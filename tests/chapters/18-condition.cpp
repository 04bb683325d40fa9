// Output checks of chapter 18 (condition), from --format jsonl, over several seeds.
// Ping-pong: strict turns, whoever the scheduler favours. notify(n): exactly n woke, the n that had
// waited longest (places 1 and 2), before the rest. Misuse: every call reported with Python's
// message. The seed's example: the counters 1..10 in order whatever thread got the lock when,
// every notify woke the one previous printer, and exactly one wait - the last printer's - ended by
// the timeout, measured as a ratio with a tolerance; the wait_for fix ends all ten.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;

TEST_CASE("ping-pong: ping prints the odd counters, pong the even ones, in strict turns", "[18]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "ping-pong"});
        const auto prints = select(r.events, "pingpong.print");
        REQUIRE(prints.size() == 6);
        for (std::size_t i = 0; i < prints.size(); ++i) {
            CHECK(prints[i]["fields"]["counter"] == i + 1);
            CHECK(prints[i]["actor"] == (i % 2 == 0 ? "ping" : "pong"));
            CHECK(prints[i]["fields"]["round"] == i / 2 + 1);
        }
        // The lock is held across the 0.2 s sleep before each print: the prints are at least that far apart.
        for (std::size_t i = 1; i < prints.size(); ++i) {
            CHECK(prints[i]["t"].get<double>() - prints[i - 1]["t"].get<double>() >= 0.2 - 1e-3);
        }
        CHECK(select(r.events, "pingpong.timeout").empty());
    }
}

TEST_CASE("notify(2) wakes exactly the two longest-waiting of five; notify_all the other three", "[18]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "notify-n"});
        const auto waiting = select(r.events, "waiter.waiting");
        REQUIRE(waiting.size() == 5);
        for (std::size_t i = 0; i < waiting.size(); ++i) {
            CHECK(waiting[i]["fields"]["place"] == i + 1);
            CHECK(waiting[i]["actor"] == "waiter-" + std::to_string(i + 1));
        }
        // The order of the events as printed: woken ones, then notify(2)'s summary, then the rest.
        std::vector<int> woken_before_notify, woken_after_notify;
        bool notify_seen = false;
        for (const auto& e : r.events) {
            if (e["event"] == "notify") notify_seen = true;
            if (e["event"] != "waiter.woken") continue;
            CHECK(e["fields"]["notified"] == true);
            CHECK(e["actor"] == "waiter-" + std::to_string(e["fields"]["place"].get<int>()));
            (notify_seen ? woken_after_notify : woken_before_notify).push_back(e["fields"]["place"].get<int>());
        }
        CHECK(std::multiset<int>(woken_before_notify.begin(), woken_before_notify.end()) == std::multiset<int>{1, 2});
        CHECK(std::multiset<int>(woken_after_notify.begin(), woken_after_notify.end()) == std::multiset<int>{3, 4, 5});

        const auto notify = select(r.events, "notify");
        REQUIRE(notify.size() == 1);
        CHECK(notify[0]["fields"]["call"] == "notify(2)");
        CHECK(notify[0]["fields"]["waiting_before"] == 5);
        CHECK(notify[0]["fields"]["woke"] == 2);
        CHECK(notify[0]["fields"]["still_waiting"] == 3);
        const auto all = select(r.events, "notify_all");
        REQUIRE(all.size() == 1);
        CHECK(all[0]["fields"]["waiting_before"] == 3);
        CHECK(all[0]["fields"]["woke"] == 3);
        CHECK(all[0]["fields"]["still_waiting"] == 0);
    }
}

TEST_CASE("waiting or notifying without the lock is an error with Python's message", "[18]") {
    const auto r = run_jsonl(1, {"--demo", "without-lock"});
    const auto misuse = select(r.events, "misuse");
    REQUIRE(misuse.size() == 6);
    const std::map<std::string, std::string> message = {
        {"wait()", "cannot wait on un-acquired lock"},     {"wait(1)", "cannot wait on un-acquired lock"},
        {"notify()", "cannot notify on un-acquired lock"}, {"notify_all()", "cannot notify on un-acquired lock"},
        {"release()", "cannot release un-acquired lock"},
    };
    std::multiset<std::string> calls;
    for (const auto& e : misuse) {
        const std::string call = e["fields"]["call"];
        calls.insert(call);
        REQUIRE(message.count(call) == 1);
        CHECK(e["fields"]["error"] == message.at(call));
    }
    CHECK(calls == std::multiset<std::string>{"wait()", "wait(1)", "notify()", "notify_all()", "release()", "notify()"});
    CHECK(misuse.back()["fields"]["lock"] == "held by holder");
}

TEST_CASE("the seed's example: each notify wakes the previous printer; the last one waits until the timeout", "[18]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "seed-hang"});
        const auto prints = select(r.events, "seed.print");
        REQUIRE(prints.size() == 10);
        std::set<std::string> names;
        std::map<int, std::string> printer;  // counter -> thread name
        std::map<int, double> printed_at;
        for (std::size_t i = 0; i < prints.size(); ++i) {
            const int counter = prints[i]["fields"]["counter"];
            CHECK(counter == static_cast<int>(i + 1));  // one at a time, under the lock
            CHECK(prints[i]["fields"]["woke"] == (counter == 1 ? 0 : 1));
            names.insert(prints[i]["actor"].get<std::string>());
            printer[counter] = prints[i]["actor"];
            printed_at[counter] = prints[i]["t"].get<double>();
        }
        CHECK(names == std::set<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"});

        // Printers 1..9 were notified, each by the next one: after the next print, by the same thread.
        const auto woken = select(r.events, "seed.woken");
        REQUIRE(woken.size() == 9);
        std::set<int> woken_counters;
        for (const auto& w : woken) {
            const int counter = w["fields"]["counter"];
            woken_counters.insert(counter);
            CHECK(w["actor"] == printer[counter]);
            REQUIRE(printed_at.count(counter + 1) == 1);
            CHECK(w["t"].get<double>() >= printed_at[counter + 1]);
        }
        CHECK(woken_counters == std::set<int>{1, 2, 3, 4, 5, 6, 7, 8, 9});

        // The last printer: nobody notified it.
        const auto hang = select(r.events, "seed.hang");
        REQUIRE(hang.size() == 1);
        CHECK(hang[0]["fields"]["counter"] == 10);
        CHECK(hang[0]["actor"] == printer[10]);
        const double ratio = hang[0]["fields"]["waited"].get<double>() / hang[0]["fields"]["timeout"].get<double>();
        CHECK(ratio >= 0.99);
        CHECK(ratio <= 1.5);

        const auto fixed = select(r.events, "fixed.done");
        REQUIRE(fixed.size() == 1);
        CHECK(fixed[0]["fields"]["threads"] == 10);
        CHECK(fixed[0]["fields"]["ended"] == 10);
    }
}
