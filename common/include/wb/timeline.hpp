// wb/timeline.hpp - an ASCII chart of spans, so the reader sees who ran when.
//
// What it is
//   Takes the span events (phase begin/end, see wb/output.hpp) of part of the journal and draws one
//   row per actor, time running left to right:
//
//       timeline (each column 0.25 s, # = rest)
//       Process-1  |########        |
//       Process-2  |        ########|
//                  0                4 s
//
//   Chapter 07 uses it to show serial vs parallel joins; chapter 11 draws room occupancy.
// Guarantees
//   Pure function of its input: deterministic for a given list of events. A span with no end
//   (the process died inside it) is drawn up to the last time in the input.
#pragma once

#include <string>
#include <vector>

#include "wb/output.hpp"

namespace wb {

struct TimelineRow {
    std::string actor;
    struct Bar {
        double start;
        double end;
        std::string span;  // span name, e.g. "rest"
    };
    std::vector<Bar> bars;
};

// Collects the rows from journal events (only events with a "phase"), in order of first start.
[[nodiscard]] std::vector<TimelineRow> timeline_rows(const std::vector<Json>& events);

// Renders rows into lines of at most `width` chart columns.
[[nodiscard]] std::vector<std::string> render_timeline(const std::vector<TimelineRow>& rows, int width = 48);

// Emits event "timeline" (fields: rows with their bars) whose text is the rendered chart, for the
// spans journaled since `mark` (see journal::mark()).
void show_timeline(std::size_t mark, std::string_view title);

}  // namespace wb
