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
//
//   Which spans are drawn, and with which character, is given explicitly by the caller, next to
//   the title that explains them: show_timeline(mark, "who waited (w)", {{"wait", 'w'}}). A span
//   without a symbol is not drawn (the axis and the rows stay those of all the spans, so the
//   columns match wb/occupancy.hpp's), so a chart shows exactly what its title says, and two
//   spans can never share a letter by accident. The legend line repeats the symbols drawn.
// Guarantees
//   Pure function of its input: deterministic for a given list of events. A span with no end
//   (the process died inside it) is drawn up to the last time in the input.
#pragma once

#include <functional>
#include <map>
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

// The character each drawn span is shown with: span name -> symbol. Symbols must be distinct
// (std::invalid_argument otherwise).
using TimelineSymbols = std::map<std::string, char, std::less<>>;

// Renders rows into lines of at most `width` chart columns, drawing only the spans in `symbols`.
[[nodiscard]] std::vector<std::string> render_timeline(const std::vector<TimelineRow>& rows,
                                                       const TimelineSymbols& symbols, int width = 48);

// Emits event "timeline" (fields: title, rows with their bars, symbols) whose text is the rendered
// chart of the spans in `symbols` journaled since `mark` (see journal::mark()).
void show_timeline(std::size_t mark, std::string_view title, const TimelineSymbols& symbols);

}  // namespace wb
