// Unit tests of wb/occupancy.hpp.
#include <stdexcept>

#include <catch2/catch.hpp>

#include "wb/occupancy.hpp"
#include "wb/timeline.hpp"

TEST_CASE("occupancy counts the bars covering each column's middle, aligned with the timeline", "[occupancy]") {
    // 0..8 s over 8 columns of 1 s: in-room bars [0,4), [2,6), [4,8) and a waiting bar [0,2).
    const std::vector<wb::TimelineRow> rows{
        {"person-0", {{0, 2, "waiting"}, {2, 6, "in-room"}}},
        {"person-1", {{0, 4, "in-room"}}},
        {"p2", {{4, 8, "in-room"}}},
    };
    const wb::Occupancy occ = wb::occupancy(rows, "in-room", 8);
    CHECK(occ.t0 == 0);
    CHECK(occ.t1 == 8);
    CHECK(occ.counts == std::vector<int>{1, 1, 2, 2, 2, 2, 1, 1});
    const std::string row = wb::occupancy_row(rows, occ, "rooms");
    CHECK(row == "rooms    |11222211|");
    // Same width as a chart row of render_timeline for the same rows and width.
    const auto lines = wb::render_timeline(rows, {{"in-room", 'i'}, {"waiting", 'w'}}, 8);
    REQUIRE(lines.size() >= 2);
    CHECK(lines[1].size() == row.size());
    CHECK(lines[1].find('|') == row.find('|'));
    CHECK(wb::occupancy({}, "in-room").counts.empty());
}

TEST_CASE("occupancy above 9 is drawn as +", "[occupancy]") {
    std::vector<wb::TimelineRow> rows;
    for (int i = 0; i < 12; ++i) rows.push_back({"r" + std::to_string(i), {{0, 1, "busy"}}});
    const auto occ = wb::occupancy(rows, "busy", 8);
    CHECK(occ.counts.front() == 12);
    CHECK(wb::occupancy_row(rows, occ, "busy").find("|++++++++|") != std::string::npos);
}

TEST_CASE("gauge draws exactly `used` of `capacity`, and refuses impossible values", "[occupancy]") {
    CHECK(wb::gauge(0, 4) == "|....|");
    CHECK(wb::gauge(3, 4) == "|###.|");
    CHECK(wb::gauge(4, 4) == "|####|");
    CHECK(wb::gauge(0, 0) == "||");
    CHECK_THROWS_AS(wb::gauge(5, 4), std::invalid_argument);
    CHECK_THROWS_AS(wb::gauge(-1, 4), std::invalid_argument);
}
