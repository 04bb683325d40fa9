// wb/occupancy.hpp - how many were inside at each moment: the occupancy row under a timeline,
// and a gauge for one line.
//
// What it is
//   A timeline (wb/timeline.hpp) draws one row per actor. When the question is "how many at
//   once?" - how many singers are in the KTV's four rooms (chapter 11), how many workers of a
//   pool are busy - the answer is one more row: for each column of the chart, how many bars of
//   one span name cover the middle of the column, as a digit:
//
//       person-0 |iiiiiiii        |
//       person-1 |    iiiiiiiiiiii|
//       rooms    |1111222222221111|             <- show_occupancy(mark, "in-room", "rooms", ...)
//
//   The middle of the column, not "any part of it": columns are a fraction of a second wide, so
//   a leave and the next enter can both draw in one column; the count at the middle is honest.
//   gauge(2, 4) is the one-line picture of the same thing: "|##..|".
//
// Guarantees
//   - Pure functions of their input; the columns are exactly those render_timeline() draws for
//     the same rows and width, so the row lines up under the chart.
//   - A count above 9 is drawn as '+' (the field carries the number).
// Errors
//   gauge(used, capacity) with capacity < 0, or used outside 0..capacity: std::invalid_argument
//   (a gauge that would draw one '#' too many is a bug to report, not to draw).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "wb/timeline.hpp"

namespace wb {

struct Occupancy {
    double t0 = 0;            // start of the first column (the earliest bar's start)
    double t1 = 0;            // end of the last column
    std::vector<int> counts;  // one per column: bars of the span covering the column's middle
};

// The occupancy of `span` over `width` columns spanning all the rows' bars. Empty counts when
// there are no bars.
[[nodiscard]] Occupancy occupancy(const std::vector<TimelineRow>& rows, std::string_view span, int width = 48);

// The row as text: "<label padded to the timeline's name column> |1122..|".
[[nodiscard]] std::string occupancy_row(const std::vector<TimelineRow>& rows, const Occupancy& occ,
                                        std::string_view label);

// Emits event "occupancy" (fields: span, t0, t1, counts) whose text is `title` and the row, for
// the spans journaled since `mark`.
void show_occupancy(std::size_t mark, std::string_view span, std::string_view label, std::string_view title);

// "|##..|": `used` of `capacity` places taken.
[[nodiscard]] std::string gauge(int used, int capacity);

}  // namespace wb
