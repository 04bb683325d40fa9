// Output checks of chapter 07 (join ordering). Timing is checked only as ratios with tolerance.
// The scale is 0.1 (a 1 s rest lasts 100 ms) so that the fixed cost of fork()/exit/join - a few
// milliseconds, up to ~10 ms on a loaded 2-core machine - stays small next to the rests measured.
#include <catch2/catch.hpp>
#include <algorithm>
#include <numeric>

#include "../chapters/check_util.hpp"

using harness::run_jsonl;
using harness::select;
using harness::select_demo;

namespace {
const std::vector<std::string> kArgs{"--time-scale", check::timing_scale(0.1)};

struct Demo {
    std::vector<check::Span> rests;
    check::Span timed;
    double printed_total;
};

Demo read(const std::vector<harness::Json>& events, const std::string& name) {
    const auto demo = select_demo(events, name);
    Demo d{check::spans(demo, "rest"), {}, 0};
    const auto timed = check::spans(demo, "timed");
    REQUIRE(timed.size() == 1);
    d.timed = timed[0];
    d.printed_total = d.timed.fields["seconds"].get<double>();
    REQUIRE(d.rests.size() == 5);
    for (const auto& s : d.rests) {
        const int seconds = s.fields["seconds"];
        CHECK(seconds >= 1);
        CHECK(seconds <= 3);
    }
    return d;
}

// When the last child finished resting, measured from when main started its timer: an
// independent view of a joined total (from the children's events, not main's stopwatch).
double last_rest_end_after_start(const Demo& d) {
    double last = 0;
    for (const auto& s : d.rests) last = std::max(last, s.end);
    return last - d.timed.begin;
}

double sum_of(const std::vector<check::Span>& rests) {
    return std::accumulate(rests.begin(), rests.end(), 0.0,
                           [](double a, const check::Span& s) { return a + s.fields["seconds"].get<double>(); });
}

double max_of(const std::vector<check::Span>& rests) {
    double m = 0;
    for (const auto& s : rests) m = std::max(m, s.fields["seconds"].get<double>());
    return m;
}
}  // namespace

TEST_CASE("join ordering: none, one by one, all then join", "[07]") {
    for (unsigned seed : {1u, 2u, 3u, 4u}) {
        INFO("seed " << seed);
        auto args = kArgs;
        const auto r = run_jsonl(seed, args);

        // No join: main did not wait. Starting five children costs a small fraction of what they
        // rest in all, and main's last line comes before the children have finished.
        const Demo none = read(r.events, "no-join");
        CHECK(none.printed_total < 0.5 * sum_of(none.rests));
        const auto main_end = select(select_demo(r.events, "no-join"), "main.end");
        REQUIRE(main_end.size() == 1);
        double last_end = 0;
        for (const auto& s : none.rests) last_end = std::max(last_end, s.end);
        CHECK(main_end[0]["t"].get<double>() < last_end);

        // One by one: the rests do not overlap, and the total is the sum of the rests (+15%).
        Demo serial = read(r.events, "one-by-one");
        std::sort(serial.rests.begin(), serial.rests.end(), [](auto& a, auto& b) { return a.begin < b.begin; });
        for (std::size_t i = 1; i < serial.rests.size(); ++i) CHECK(serial.rests[i].begin >= serial.rests[i - 1].end);
        const double sum = sum_of(serial.rests);
        CHECK(serial.printed_total >= sum);
        CHECK(serial.printed_total <= sum * 1.15);
        // Main waited for the last rest to end: the printed total covers it.
        CHECK(serial.printed_total >= last_rest_end_after_start(serial) - 0.01);

        // All, then join: every rest overlaps the longest; the total is the longest rest plus the
        // time it took to start them (the overhead), within 15%.
        const Demo parallel = read(r.events, "all-then-join");
        const double longest = max_of(parallel.rests);
        double last_start = 0;
        for (const auto& s : parallel.rests) last_start = std::max(last_start, s.begin);
        const double overhead = last_start - parallel.timed.begin;
        CHECK(parallel.printed_total >= longest);
        CHECK(parallel.printed_total <= (longest + overhead) * 1.15);
        CHECK(parallel.printed_total < sum_of(parallel.rests));
        CHECK(parallel.printed_total >= last_rest_end_after_start(parallel) - 0.01);

        // Each of the two timelines drew main plus the five children.
        const auto timelines = select(r.events, "timeline");
        REQUIRE(timelines.size() == 2);
        for (const auto& t : timelines) CHECK(t["fields"]["rows"].size() == 6);
    }
}

TEST_CASE("join(timeout) returns while the child is still running", "[07]") {
    for (unsigned seed : {1u, 9u}) {
        const auto r = run_jsonl(seed, {"--demo", "join-timeout", "--time-scale", check::timing_scale(0.1)});
        const auto timeout = select(r.events, "join.timeout");
        REQUIRE(timeout.size() == 1);
        const auto& f = timeout[0]["fields"];
        CHECK(f["ended"] == false);
        CHECK(f["alive"] == true);
        const double ratio = f["waited"].get<double>() / f["timeout"].get<double>();
        CHECK(ratio >= 0.99);
        CHECK(ratio <= 1.5);
        const auto done = select(r.events, "join.done");
        REQUIRE(done.size() == 1);
        CHECK(done[0]["fields"]["exitcode"] == 0);
        // join() returned only after the child's rest ended, and its total wait covers the time
        // from the stopwatch's start to that end. (Not ">= 3 s": the child may begin its rest
        // before main starts the stopwatch, most of all in a slow sanitized build.)
        const auto rests = select(r.events, "rest");
        double rest_end = -1;
        for (const auto& e : rests) {
            if (e.value("phase", "") == "end") rest_end = e["t"].get<double>();
        }
        REQUIRE(rest_end > 0);
        const double watch_start = timeout[0]["t"].get<double>() - f["waited"].get<double>();
        CHECK(done[0]["t"].get<double>() >= rest_end - 1e-3);
        CHECK(done[0]["fields"]["waited"].get<double>() >= rest_end - watch_start - 2e-3);
    }
}
