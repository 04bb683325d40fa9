// Output checks of chapter 10 (tickets with a lock), run as a user would: --format jsonl.
// Every property checked here is certain by construction (gates made of a Semaphore and an Event,
// a kill that lands after the holder said it is inside), so each is asserted on every seed.
// The ticket file itself is removed by the program; its final content comes in the summaries.
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <set>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;
using harness::select_demo;

namespace {

constexpr int kBuyers = 10;

Json only(const std::vector<Json>& events, const std::string& name) {
    const auto found = select(events, name);
    REQUIRE(found.size() == 1);
    return found[0]["fields"];
}

// The final db.json the program reported: valid JSON holding {"count": N}; returns N.
int count_in_file(const Json& summary) {
    const Json file = Json::parse(summary["file"].get<std::string>());  // throws if it were not JSON
    REQUIRE(file.is_object());
    REQUIRE(file["count"].is_number_integer());
    return file["count"].get<int>();
}

// What the ten buyers of a with-lock / no-lock demo did.
struct Sale {
    Json summary;
    std::vector<Json> searches, bought, no_ticket;
    std::vector<check::Span> buys;
};

Sale read_sale(const std::vector<Json>& events, const std::string& demo) {
    const auto d = select_demo(events, demo);
    Sale s{only(d, "sale.summary"), select(d, "search"), select(d, "bought"), select(d, "no_ticket"),
           check::spans(d, "buy")};
    const long main = check::main_pid(events);
    std::set<long> pids;
    std::set<int> buyers;
    for (const auto& e : s.searches) {
        pids.insert(e["pid"].get<long>());
        buyers.insert(e["fields"]["buyer"].get<int>());
    }
    CHECK(s.searches.size() == kBuyers);
    CHECK(pids.size() == kBuyers);  // ten real processes...
    CHECK(pids.count(main) == 0);   // ...none of them main
    CHECK(buyers.size() == kBuyers);
    CHECK(s.buys.size() == kBuyers);
    for (const auto& e : select(d, "process.exit")) CHECK(e["fields"]["exitcode"] == 0);
    return s;
}

}  // namespace

TEST_CASE("with the lock: never oversold, remaining + sold = initial (20 seeds)", "[10]") {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        // Most seeds keep the seed's single ticket; some have more tickets than the first buyer.
        const int initial = seed % 4 == 0 ? 3 : seed % 5 == 0 ? 12 : 1;
        INFO("seed " << seed << ", tickets " << initial);
        const auto r = run_jsonl(seed, {"--demo", "with-lock", "--tickets", std::to_string(initial)});
        const Sale s = read_sale(r.events, "with-lock");
        const Json& f = s.summary;
        CHECK(f["locked"] == true);
        CHECK(f["initial"] == initial);
        const int remaining = f["remaining"];
        const int sold = f["sold"];
        CHECK(f["oversold"] == 0);
        CHECK(remaining + sold == initial);
        CHECK(sold == std::min(initial, kBuyers));
        CHECK(f["no_ticket"] == kBuyers - sold);
        CHECK(count_in_file(f) == remaining);
        CHECK(static_cast<int>(s.bought.size()) == sold);
        CHECK(static_cast<int>(s.no_ticket.size()) == kBuyers - sold);

        // Everyone searched before anyone bought (the window opens after all ten searches).
        for (const auto& e : s.searches) CHECK(e["fields"]["count"] == initial);
        // The first in the seeded line is certainly the first to buy (the others set off only
        // once it holds the lock).
        const Json line = only(select_demo(r.events, "with-lock"), "window.open")["line"];
        REQUIRE(line.size() == kBuyers);
        REQUIRE(!s.bought.empty());
        for (const auto& e : s.bought) {
            if (e["fields"]["left"] == initial - 1) CHECK(e["fields"]["buyer"] == line[0]);
        }

        // Under the lock every purchase saw the count the previous one left: the counts left
        // after the sales are initial-1, initial-2, ... each exactly once.
        std::multiset<int> left;
        for (const auto& e : s.bought) left.insert(e["fields"]["left"].get<int>());
        std::multiset<int> expected;
        for (int k = 1; k <= sold; ++k) expected.insert(initial - k);
        CHECK(left == expected);

        // And the purchases (read .. write, all inside the lock) never overlap in time.
        auto buys = s.buys;
        std::sort(buys.begin(), buys.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
        for (std::size_t i = 1; i < buys.size(); ++i) {
            CHECK(buys[i - 1].end >= 0);
            CHECK(buys[i].begin >= buys[i - 1].end);
        }
    }
}

TEST_CASE("without the lock: every buyer buys, oversold on every run", "[10]") {
    for (unsigned seed = 1; seed <= 6; ++seed) {
        const int initial = seed == 6 ? 4 : 1;
        INFO("seed " << seed << ", tickets " << initial);
        const auto r = run_jsonl(seed, {"--demo", "no-lock", "--tickets", std::to_string(initial)});
        const Sale s = read_sale(r.events, "no-lock");
        const Json& f = s.summary;
        CHECK(f["locked"] == false);
        // Every buyer read the initial count and believed it bought; each wrote initial - 1.
        CHECK(f["sold"] == kBuyers);
        CHECK(f["remaining"] == initial - 1);
        CHECK(f["oversold"] == kBuyers - 1);
        CHECK(f["oversold"].get<int>() > 0);
        CHECK(count_in_file(f) == initial - 1);  // a valid file with the wrong number
        CHECK(s.bought.size() == kBuyers);
        CHECK(s.no_ticket.empty());
        for (const auto& b : s.buys) CHECK(b.fields["saw"] == initial);
        // Why it is certain: every read happened before any write.
        double last_read = 0, first_write = 1e300;
        for (const auto& b : s.buys) {
            last_read = std::max(last_read, b.begin);
            REQUIRE(b.end >= 0);
            first_write = std::min(first_write, b.end);
        }
        CHECK(last_read < first_write);
        const auto all_read = select(select_demo(r.events, "no-lock"), "all_read");
        REQUIRE(all_read.size() == 1);
        CHECK(all_read[0]["t"].get<double>() >= last_read);
    }
}

TEST_CASE("killed holder: a plain lock times out, a robust one recovers consistently", "[10]") {
    for (unsigned seed : {1u, 2u, 3u, 4u}) {
        const int initial = seed == 4 ? 3 : 1;
        INFO("seed " << seed << ", tickets " << initial);
        const auto r = run_jsonl(seed, {"--demo", "killed-holder", "--time-scale", "0.05", "--tickets",
                                        std::to_string(initial)});
        const auto demo = select_demo(r.events, "killed-holder");
        const auto summaries = select(demo, "killed.summary");
        REQUIRE(summaries.size() == 2);
        const Json plain = summaries[0]["fields"];
        const Json robust = summaries[1]["fields"];
        REQUIRE(plain["robust"] == false);
        REQUIRE(robust["robust"] == true);

        // The victim was killed by SIGKILL (exit code -9) after it said it was inside the
        // critical section, and its purchase never ended.
        const auto kills = select(demo, "holder.kill");
        const auto stalls = select(demo, "stall");
        REQUIRE(kills.size() == 2);
        REQUIRE(stalls.size() == 2);
        for (int part = 0; part < 2; ++part) {
            CHECK(kills[part]["t"].get<double>() >= stalls[part]["t"].get<double>());
            const long victim = kills[part]["fields"]["pid"];
            CHECK(stalls[part]["pid"].get<long>() == victim);
            bool exited = false;
            for (const auto& e : select(demo, "process.exit")) {
                if (e["fields"]["pid"].get<long>() != victim) continue;
                CHECK(e["fields"]["exitcode"] == -9);
                exited = true;
            }
            CHECK(exited);
            for (const auto& b : check::spans(demo, "buy")) {
                if (b.pid == victim) CHECK(b.end < 0);
            }
        }
        CHECK(plain["victim_exitcode"] == -9);
        CHECK(robust["victim_exitcode"] == -9);

        // Plain lock: the next buyer gave up after its timeout; the lock stays held for good.
        CHECK(plain["timed_out"] == 1);
        CHECK(plain["previous_owner_died"] == false);
        const auto timeouts = select(demo, "lock.timeout");
        REQUIRE(timeouts.size() == 1);
        const double ratio =
            timeouts[0]["fields"]["waited"].get<double>() / timeouts[0]["fields"]["timeout"].get<double>();
        CHECK(ratio >= 0.99);
        CHECK(ratio <= 1.5);
        CHECK(only(demo, "lock.stuck")["acquired"] == false);
        CHECK(count_in_file(plain) == initial);  // the dead buyer's write never landed
        CHECK(plain["remaining"] == initial);

        // Robust lock: the next buyer was told, repaired, and the result adds up.
        CHECK(robust["timed_out"] == 0);
        CHECK(robust["previous_owner_died"] == true);
        CHECK(robust["consistent"] == true);
        const int remaining = robust["remaining"];
        const int sold = robust["sold"];
        CHECK(remaining + sold == initial);
        CHECK(count_in_file(robust) == remaining);
        CHECK(sold == std::min(initial, 2));  // buyer-1 and buyer-2 (the dead buyer-0 bought nothing)
        const Json repair = only(demo, "repair");
        CHECK(repair["removed_temp_files"] == 1);
        CHECK(repair["file_valid"] == true);
        CHECK(repair["count"] == initial);
        CHECK(repair["sold_before"] == 1);
        CHECK(repair["sold_after"] == 0);
        std::vector<bool> told;
        for (const auto& e : select(demo, "lock.acquired")) {
            if (e["fields"]["buyer"] != 0) told.push_back(e["fields"]["previous_owner_died"].get<bool>());
        }
        CHECK(told == std::vector<bool>{true, false});  // buyer-1 told; buyer-2 finds an ordinary lock
    }
}

TEST_CASE("the ticket file: missing is created, a write is atomic, damage is a clear error", "[10]") {
    for (const int tickets : {1, 7}) {
        INFO("tickets " << tickets);
        const auto r = run_jsonl(2, {"--demo", "db-file", "--tickets", std::to_string(tickets)});
        const auto demo = select_demo(r.events, "db-file");
        const auto errors = select(demo, "db.error");
        REQUIRE(errors.size() == 4);
        CHECK(errors[0]["fields"]["kind"] == "missing");
        CHECK(errors[1]["fields"]["kind"] == "corrupt");
        CHECK(errors[1]["fields"]["error"].get<std::string>().find("not valid JSON") != std::string::npos);
        CHECK(errors[2]["fields"]["kind"] == "invalid");
        CHECK(errors[3]["fields"]["kind"] == "invalid");
        CHECK(only(demo, "db.missing")["default"] == tickets);
        CHECK(only(demo, "db.created")["count"] == tickets);
        const auto reads = select(demo, "db.read");
        REQUIRE(reads.size() == 2);
        CHECK(reads[0]["fields"]["count"] == tickets);
        // Half-way through writing tickets + 4, db.json still reads the old, whole file.
        CHECK(reads[1]["fields"]["during_write"] == true);
        CHECK(reads[1]["fields"]["count"] == tickets);
        const auto writes = select(demo, "db.written");
        REQUIRE(writes.size() == 2);
        CHECK(writes[0]["fields"]["count"] == tickets + 4);
        CHECK(writes[1]["fields"]["count"] == tickets);
        CHECK(Json::parse(writes[1]["fields"]["content"].get<std::string>())["count"] == tickets);
    }
}

TEST_CASE("lock basics: a second process waits while main holds the key", "[10]") {
    const auto r = run_jsonl(1, {"--demo", "lock-basics", "--time-scale", "0.05"});
    const auto demo = select_demo(r.events, "lock-basics");
    CHECK(select(demo, "lock.acquire").size() == 2);
    CHECK(select(demo, "lock.release").size() == 2);
    const auto holds = check::spans(demo, "hold");
    const auto waits = check::spans(demo, "wait");
    REQUIRE(holds.size() == 1);
    REQUIRE(waits.size() == 1);
    CHECK(waits[0].pid != holds[0].pid);
    // The visitor got the key only after main gave it back, and it waited all that time.
    CHECK(waits[0].end >= holds[0].end);
    CHECK(waits[0].fields["waited"].get<double>() >= holds[0].end - waits[0].begin - 0.001);
    CHECK(holds[0].end - holds[0].begin >= 1.0);
}

TEST_CASE("--tickets takes a whole number from 1 to 100", "[10]") {
    for (const char* bad : {"0", "101", "many"}) {
        INFO(bad);
        const auto r = harness::run_chapter({"--tickets", bad});
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("--tickets") != std::string::npos);
        CHECK(r.err.find("---") == std::string::npos);  // the option named once, not "----tickets"
        CHECK(r.out.empty());
        CHECK(r.leftovers.empty());
    }
}

TEST_CASE("a run killed with SIGKILL leaves its ticket directory; the next run removes it", "[10]") {
    // Nothing can remove a directory when its program is SIGKILLed. The next run sweeps it: its
    // creator's pid is gone and nobody holds the directory's lock any more.
    char dir[] = "/tmp/wb-sweep-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string tmpdir = dir;
    auto ticket_dirs = [&] {
        std::vector<std::string> found;
        for (const auto& e : std::filesystem::directory_iterator(tmpdir)) {
            if (e.path().filename().string().rfind("wb-tickets-", 0) == 0) found.push_back(e.path());
        }
        return found;
    };
    // Kill runs at growing delays until one dies while its directory exists.
    for (int after_ms = 20; after_ms < 2000 && ticket_dirs().empty(); after_ms *= 2) {
        const auto killed = harness::run_chapter(
            {"--seed", "1"},
            {.send_sigkill_after_ms = after_ms, .leftover_grace = std::chrono::milliseconds(3000), .tmpdir = tmpdir});
        for (const auto& l : killed.leftovers) CHECK(l.rfind("process left behind", 0) != 0);
    }
    REQUIRE(!ticket_dirs().empty());
    const auto next = harness::run_chapter({"--seed", "1", "--demo", "with-lock"}, {.tmpdir = tmpdir});
    CHECK(next.exit_code == 0);
    CHECK(ticket_dirs().empty());
    std::error_code ignored;
    std::filesystem::remove_all(tmpdir, ignored);
}
