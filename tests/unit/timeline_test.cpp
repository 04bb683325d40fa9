// Unit tests of wb/timeline.hpp: rows from span events, and their ASCII rendering.
//
// timeline_rows and render_timeline are pure functions, so the small cases are checked exactly,
// line by line; the expected charts were worked out by hand from the documented rules (column =
// (t1 - t0) / width, a bar covers the columns its [start, end) interval touches).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "internal.hpp"
#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/timeline.hpp"

using wb::Json;

namespace {

const wb::TimelineSymbols kRest{{"rest", '#'}};

Json span_event(double t, const std::string& actor, const std::string& name, const std::string& phase) {
    return Json{{"t", t},          {"pid", 100},      {"tid", 100}, {"actor", actor},
                {"event", name},   {"phase", phase},  {"fields", Json::object()}, {"text", ""}};
}

Json instant(double t, const std::string& actor, const std::string& name) {
    return Json{{"t", t},        {"pid", 100}, {"tid", 100},  {"actor", actor},
                {"event", name}, {"fields", Json::object()}, {"text", "an instant"}};
}

}  // namespace

TEST_CASE("timeline_rows: one row per actor in order of first span, bars from begin to end", "[timeline]") {
    const std::vector<Json> events = {
        instant(0.0, "MainProcess", "run.begin"),  // no phase: not a row
        span_event(0.0, "B", "rest", "begin"),     span_event(0.5, "A", "rest", "begin"),
        span_event(1.0, "B", "rest", "end"),       span_event(1.5, "A", "lock", "begin"),
        span_event(2.0, "A", "lock", "end"),       span_event(2.5, "A", "rest", "end"),
    };
    const auto rows = wb::timeline_rows(events);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].actor == "B");  // B's span began first in the list
    CHECK(rows[1].actor == "A");
    REQUIRE(rows[0].bars.size() == 1);
    CHECK(rows[0].bars[0].start == 0.0);
    CHECK(rows[0].bars[0].end == 1.0);
    CHECK(rows[0].bars[0].span == "rest");
    REQUIRE(rows[1].bars.size() == 2);
    // An end closes the open bar of the same span name, not simply the latest one.
    CHECK(rows[1].bars[0].span == "rest");
    CHECK(rows[1].bars[0].start == 0.5);
    CHECK(rows[1].bars[0].end == 2.5);
    CHECK(rows[1].bars[1].span == "lock");
    CHECK(rows[1].bars[1].start == 1.5);
    CHECK(rows[1].bars[1].end == 2.0);
}

TEST_CASE("timeline_rows: nested spans of one name close innermost first", "[timeline]") {
    const auto rows = wb::timeline_rows({span_event(0, "A", "wait", "begin"), span_event(1, "A", "wait", "begin"),
                                         span_event(2, "A", "wait", "end"), span_event(3, "A", "wait", "end")});
    REQUIRE(rows.size() == 1);
    REQUIRE(rows[0].bars.size() == 2);
    CHECK(rows[0].bars[0].start == 0);
    CHECK(rows[0].bars[0].end == 3);
    CHECK(rows[0].bars[1].start == 1);
    CHECK(rows[0].bars[1].end == 2);
}

TEST_CASE("timeline_rows: an unended span runs to the last time in the input", "[timeline]") {
    // A died inside its rest; the last event of all (an instant of C) is at t = 3.
    const std::vector<Json> events = {
        span_event(0.5, "A", "rest", "begin"), span_event(0.0, "B", "rest", "begin"),
        span_event(1.0, "B", "rest", "end"), instant(3.0, "C", "process.exit")};
    const auto rows = wb::timeline_rows(events);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].actor == "A");
    REQUIRE(rows[0].bars.size() == 1);
    CHECK(rows[0].bars[0].start == 0.5);
    CHECK(rows[0].bars[0].end == 3.0);

    CHECK(wb::render_timeline(rows, kRest, 12) == std::vector<std::string>{
                                               "timeline from t=0.00 to t=3.00 s, one column = 0.25 s (# = rest)",
                                               "A    |  ##########|",
                                               "B    |####        |",
                                               "     0.00    3.00 s",
                                           });
}

TEST_CASE("render_timeline: serial and parallel shapes, exactly", "[timeline]") {
    SECTION("serial: B starts when A ends") {
        const auto rows = wb::timeline_rows({span_event(0, "A", "rest", "begin"), span_event(1, "A", "rest", "end"),
                                             span_event(1, "B", "rest", "begin"), span_event(2, "B", "rest", "end")});
        CHECK(wb::render_timeline(rows, kRest, 16) == std::vector<std::string>{
                                                   "timeline from t=0.00 to t=2.00 s, one column = 0.125 s (# = rest)",
                                                   "A    |########        |",
                                                   "B    |        ########|",
                                                   "     0.00        2.00 s",
                                               });
    }
    SECTION("parallel: A and B at the same time") {
        const auto rows = wb::timeline_rows({span_event(0, "A", "rest", "begin"), span_event(0, "B", "rest", "begin"),
                                             span_event(2, "B", "rest", "end"), span_event(2, "A", "rest", "end")});
        CHECK(wb::render_timeline(rows, kRest, 16) == std::vector<std::string>{
                                                   "timeline from t=0.00 to t=2.00 s, one column = 0.125 s (# = rest)",
                                                   "A    |################|",
                                                   "B    |################|",
                                                   "     0.00        2.00 s",
                                               });
    }
    SECTION("two span kinds in one row, long actor names, a legend") {
        const auto rows = wb::timeline_rows(
            {span_event(1, "Process-1", "rest", "begin"), span_event(2, "Process-1", "rest", "end"),
             span_event(2, "Process-1", "lock", "begin"), span_event(3, "Process-1", "lock", "end"),
             span_event(3, "Process-22", "rest", "begin"), span_event(5, "Process-22", "rest", "end")});
        CHECK(wb::render_timeline(rows, {{"rest", '#'}, {"lock", 'l'}}, 8) == std::vector<std::string>{
                                                  "timeline from t=1.00 to t=5.00 s, one column = 0.5 s (l = lock, # = rest)",
                                                  "Process-1  |##ll    |",
                                                  "Process-22 |    ####|",
                                                  "           1.00 5.00 s",
                                              });
    }
}

TEST_CASE("render_timeline: edge cases", "[timeline]") {
    CHECK(wb::render_timeline({}, kRest).empty());
    // Rows without bars (only unmatched ends): nothing to draw.
    CHECK(wb::render_timeline(wb::timeline_rows({span_event(1, "A", "rest", "end")}), kRest).empty());

    // A zero-length span still shows as one column, on a one-second axis.
    const auto point = wb::render_timeline(wb::timeline_rows({span_event(2, "A", "rest", "begin"),
                                                              span_event(2, "A", "rest", "end")}),
                                           kRest, 8);
    CHECK(point == std::vector<std::string>{"timeline from t=2.00 to t=3.00 s, one column = 0.125 s (# = rest)",
                                            "A    |#       |", "     2.00 3.00 s"});

    // Widths below 8 are raised to 8; every chart line has the same length at any width.
    const auto rows = wb::timeline_rows({span_event(0, "A", "rest", "begin"), span_event(0.3, "A", "rest", "end"),
                                         span_event(0.2, "Bee", "wait", "begin"), span_event(0.9, "Bee", "wait", "end")});
    CHECK(wb::render_timeline(rows, kRest, 1)[1].size() == std::string("A    |        |").size());
    for (const int width : {8, 13, 48, 100}) {
        const auto lines = wb::render_timeline(rows, kRest, width);
        REQUIRE(lines.size() == 4);
        CHECK(lines[1].size() == lines[2].size());
        CHECK(lines[1].size() == 4 + 2 + static_cast<std::size_t>(width) + 1);
        // The axis ends under the closing bar once both labels fit in the chart's width.
        if (width >= 13) CHECK(lines[3].size() == lines[1].size());
    }
    // Deterministic: the same input renders the same lines.
    CHECK(wb::render_timeline(rows, kRest) == wb::render_timeline(rows, kRest));
}

TEST_CASE("render_timeline draws only the spans given a symbol, each with its own", "[timeline]") {
    const std::vector<Json> events = {span_event(0, "A", "wait", "begin"), span_event(1, "A", "wait", "end"),
                                      span_event(1, "A", "work", "begin"), span_event(2, "A", "work", "end"),
                                      span_event(0, "B", "warm-up", "begin"), span_event(2, "B", "warm-up", "end")};
    const auto rows = wb::timeline_rows(events);
    // "work" and "wait" share their first letter: explicit symbols keep them apart; "warm-up"
    // has none, so B's row stays empty.
    CHECK(wb::render_timeline(rows, {{"wait", 'w'}, {"work", 'k'}}, 8) ==
          std::vector<std::string>{"timeline from t=0.00 to t=2.00 s, one column = 0.25 s (w = wait, k = work)",
                                   "A    |wwwwkkkk|", "B    |        |", "     0.00 2.00 s"});
    CHECK_THROWS_AS(wb::render_timeline(rows, {{"wait", 'w'}, {"work", 'w'}}), std::invalid_argument);
}

TEST_CASE("show_timeline emits the chart of the spans journaled since a mark", "[timeline][journal]") {
    const wb::OutputConfig saved = wb::output_config();
    const double scale = wb::clock::time_scale();
    wb::OutputConfig quiet;
    quiet.format = wb::Format::json;  // journal only, no stdout
    wb::configure_output(quiet);
    wb::clock::set_time_scale(0.001);
    wb::journal::open();
    const std::size_t mark = wb::journal::mark();
    wb::rest(1.0);
    {
        wb::Span wait("wait", {}, "waits");
        wb::clock::sleep(1.0);
    }
    wb::show_timeline(mark, "a test timeline", kRest);
    const auto events = wb::journal::events_since(mark);
    wb::configure_output(saved);
    wb::clock::set_time_scale(scale);

    REQUIRE(events.size() == 5);
    const Json& shown = events.back();
    CHECK(shown["event"] == "timeline");
    CHECK(shown["fields"]["title"] == "a test timeline");
    const Json& rows = shown["fields"]["rows"];
    REQUIRE(rows.size() == 1);
    CHECK(rows[0]["actor"] == "MainProcess");
    REQUIRE(rows[0]["bars"].size() == 2);
    CHECK(rows[0]["bars"][0]["span"] == "rest");
    CHECK(rows[0]["bars"][1]["span"] == "wait");
    // Serial spans: the wait began after the rest ended, each lasted at least 1 logical second.
    CHECK(rows[0]["bars"][1]["start"].get<double>() >= rows[0]["bars"][0]["end"].get<double>());
    for (const auto& bar : rows[0]["bars"]) CHECK(bar["end"].get<double>() - bar["start"].get<double>() >= 1.0 - 2e-4);
    const std::string text = shown["text"];
    CHECK(text.rfind("a test timeline\ntimeline from t=", 0) == 0);
    CHECK(text.find("MainProcess |") != std::string::npos);
}
