// Output checks of chapter 13 (process queues and pipes), from --format jsonl, over several seeds.
// Properties, never one interleaving: which consumer gets which item is the scheduler's choice;
// that every item comes out once, in its producer's order, and after it was put is the queue's.
// The one ratio (get(timeout=5) ending the saver) runs at --time-scale 0.1 (4x that in sanitized
// builds), so that wake-up latency stays small next to the timeout.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../chapters/check_util.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;
using harness::select_demo;

TEST_CASE("download-save: each file saved once, after its download; get(timeout=5) ends the saver", "[13]") {
    for (unsigned seed : {1u, 2u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "download-save", "--time-scale", check::timing_scale(0.1)});
        const auto downloads = select(r.events, "download");
        const auto saves = select(r.events, "save");
        const std::vector<std::string> files{"1.jpg", "5.exe", "6.csv"};
        REQUIRE(downloads.size() == 3);
        REQUIRE(saves.size() == 3);
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK(downloads[i]["fields"]["file"] == files[i]);
            CHECK(saves[i]["fields"]["file"] == files[i]);  // one queue, one producer: FIFO
            CHECK(downloads[i]["actor"] == "downloader");
            CHECK(saves[i]["actor"] == "saver");
            CHECK(saves[i]["pid"] != downloads[i]["pid"]);  // two processes
            CHECK(saves[i]["t"].get<double>() >= downloads[i]["t"].get<double>());
        }
        const auto timeout = select(r.events, "save.timeout");
        REQUIRE(timeout.size() == 1);
        CHECK(timeout[0]["fields"]["saved"] == 3);
        const double ratio = timeout[0]["fields"]["waited"].get<double>() / timeout[0]["fields"]["timeout"].get<double>();
        CHECK(ratio >= 0.99);
        CHECK(ratio <= 1.5);
        // The saver stopped about 5 s after the last file, not earlier.
        CHECK(timeout[0]["t"].get<double>() - saves[2]["t"].get<double>() >= 5.0 - 1e-3);
    }
}

TEST_CASE("producers-consumers: every item exactly once, in its producer's order, sentinels end both", "[13]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "producers-consumers"});
        const long main = check::main_pid(r.events);
        const auto produced = select(r.events, "produce");
        const auto consumed = select(r.events, "consume");
        REQUIRE(produced.size() == 12);
        REQUIRE(consumed.size() == 12);
        std::map<std::pair<int, int>, double> put_at;
        for (const auto& e : produced) put_at[{e["fields"]["producer"].get<int>(), e["fields"]["n"].get<int>()}] = e["t"];
        CHECK(put_at.size() == 12);
        std::map<std::pair<int, int>, int> times;
        std::map<std::pair<long, int>, int> last;  // (consumer pid, producer) -> last n
        std::set<long> consumer_pids;
        for (const auto& e : consumed) {
            const int p = e["fields"]["producer"], n = e["fields"]["n"];
            times[{p, n}] += 1;
            const long pid = e["pid"];
            CHECK(pid != main);
            consumer_pids.insert(pid);
            const auto key = std::make_pair(pid, p);
            if (last.count(key) != 0) CHECK(n > last[key]);
            last[key] = n;
        }
        CHECK(times.size() == 12);
        for (const auto& [item, count] : times) CHECK(count == 1);
        CHECK(consumer_pids.size() <= 2);
        const auto done = select(r.events, "consumer.done");
        REQUIRE(done.size() == 2);  // both consumers ended, by their sentinel
        CHECK(done[0]["fields"]["items"].get<int>() + done[1]["fields"]["items"].get<int>() == 12);
        std::set<std::string> actors{done[0]["actor"], done[1]["actor"]};
        CHECK(actors == std::set<std::string>{"consumer-0", "consumer-1"});
        const auto check_event = select(r.events, "main.check");
        REQUIRE(check_event.size() == 1);
        CHECK(check_event[0]["fields"]["exactly_once"] == 12);
        CHECK(check_event[0]["fields"]["in_order"] == true);
        // The spawned consumer really is a new program image: its process.start says spawn.
        bool spawned = false;
        for (const auto& e : select(r.events, "process.start")) {
            spawned = spawned || (e["fields"]["name"] == "consumer-1" && e["fields"]["method"] == "spawn");
        }
        CHECK(spawned);
    }
}

TEST_CASE("full-queue: puts 3-5 block until the consumer's gets make room", "[13]") {
    for (unsigned seed : {1u, 2u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "full-queue"});
        const auto puts = select(r.events, "put");
        const auto gets = select(r.events, "got");
        REQUIRE(puts.size() == 6);
        REQUIRE(gets.size() == 6);
        for (int k = 0; k < 6; ++k) CHECK(gets[static_cast<std::size_t>(k)]["fields"]["item"] == k);  // FIFO
        // When the consumer *called* get() for the k-th time (the span's begin): the "got" line
        // may be written after the producer's line, but the call certainly came before the room.
        const auto get_calls = check::spans(select_demo(r.events, "full-queue"), "get");
        REQUIRE(get_calls.size() == 6);
        std::map<int, double> got_at;
        for (int k = 0; k < 6; ++k) got_at[k] = get_calls[static_cast<std::size_t>(k)].begin;
        for (const auto& p : puts) {
            const int item = p["fields"]["item"];
            CHECK(p["fields"]["blocked"] == (item >= 3));
            // A put into a queue of 3 can only complete once get() of item - 3 was called.
            if (item >= 3) CHECK(p["t"].get<double>() >= got_at[item - 3] - 1e-3);
        }
        CHECK(check::spans(select_demo(r.events, "full-queue"), "blocked").size() == 3);
        CHECK(select(r.events, "timeline").size() == 1);
    }
}

TEST_CASE("pipe: the duplex exchange, then EOF when the writer is killed", "[13]") {
    for (unsigned seed : {1u, 2u}) {
        const auto r = run_jsonl(seed, {"--demo", "pipe"});
        std::vector<std::string> received;
        for (const auto& e : select(r.events, "pipe.recv")) received.push_back(e["fields"]["message"]);
        CHECK(received == std::vector<std::string>{"hello, child", "hello, parent", "message 1", "message 2",
                                                   "message 3"});
        const auto eof = select(r.events, "pipe.eof");
        REQUIRE(eof.size() == 1);
        CHECK(eof[0]["fields"]["eof"] == true);
        CHECK(eof[0]["fields"]["writer_exitcode"] == -9);
    }
}

TEST_CASE("message-passing: both ways count to 400", "[13]") {
    const auto r = run_jsonl(1, {"--demo", "message-passing"});
    const auto file = select(r.events, "figure.file");
    const auto queue = select(r.events, "figure.queue");
    REQUIRE(file.size() == 1);
    REQUIRE(queue.size() == 1);
    CHECK(file[0]["fields"]["count"] == 400);
    CHECK(queue[0]["fields"]["count"] == 400);
    CHECK(file[0]["fields"]["real_seconds"].get<double>() > 0);
    CHECK(queue[0]["fields"]["real_seconds"].get<double>() > 0);
    // The bars draw both times on one 30-cell scale: the longer time fills it, the other is no
    // longer, and each line ends with its own bar.
    const auto cells = [](const Json& e) {
        const std::string bar = e["fields"]["bar"];
        CHECK(bar.size() == 32);
        const std::string text = e["text"];
        CHECK(text.substr(text.size() - bar.size()) == bar);
        return std::count(bar.begin(), bar.end(), '#');
    };
    const double file_s = file[0]["fields"]["real_seconds"], queue_s = queue[0]["fields"]["real_seconds"];
    const auto file_cells = cells(file[0]), queue_cells = cells(queue[0]);
    CHECK((file_s >= queue_s ? file_cells : queue_cells) == 30);
}
