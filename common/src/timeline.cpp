#include "wb/timeline.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include <fmt/core.h>

namespace wb {

std::vector<TimelineRow> timeline_rows(const std::vector<Json>& events) {
    std::vector<TimelineRow> rows;
    std::map<std::string, std::size_t> row_of;  // actor -> index in rows
    double last_t = 0;
    for (const Json& e : events) {
        last_t = std::max(last_t, e.value("t", 0.0));
        const std::string phase = e.value("phase", "");
        if (phase.empty()) continue;
        const std::string actor = e.value("actor", "");
        const std::string span = e.value("event", "");
        const double t = e.value("t", 0.0);
        auto [it, inserted] = row_of.try_emplace(actor, rows.size());
        if (inserted) rows.push_back(TimelineRow{actor, {}});
        auto& bars = rows[it->second].bars;
        if (phase == "begin") {
            bars.push_back({t, -1.0, span});
        } else {
            // Close the most recent open bar of the same span name.
            for (auto b = bars.rbegin(); b != bars.rend(); ++b) {
                if (b->end < 0 && b->span == span) {
                    b->end = t;
                    break;
                }
            }
        }
    }
    for (auto& row : rows) {
        for (auto& bar : row.bars) {
            if (bar.end < 0) bar.end = last_t;  // never ended: the process died inside it
        }
    }
    return rows;
}

namespace {
void check_symbols(const TimelineSymbols& symbols) {
    std::map<char, std::string> owner;
    for (const auto& [span, c] : symbols) {
        if (auto [it, fresh] = owner.emplace(c, span); !fresh) {
            throw std::invalid_argument(fmt::format("timeline: spans '{}' and '{}' both use the symbol '{}'", it->second,
                                                    span, c));
        }
    }
}

}  // namespace

std::vector<std::string> render_timeline(const std::vector<TimelineRow>& rows, const TimelineSymbols& symbols,
                                         int width) {
    check_symbols(symbols);
    std::vector<std::string> lines;
    if (rows.empty()) return lines;
    width = std::max(width, 8);
    double t0 = 1e300, t1 = -1e300;
    std::map<std::string, char> legend;
    std::size_t name_width = 4;
    for (const auto& row : rows) {
        name_width = std::max(name_width, row.actor.size());
        for (const auto& bar : row.bars) {
            t0 = std::min(t0, bar.start);
            t1 = std::max(t1, bar.end);
            if (const auto s = symbols.find(bar.span); s != symbols.end()) legend[bar.span] = s->second;
        }
    }
    if (t0 > t1) return lines;
    if (t1 - t0 < 1e-9) t1 = t0 + 1;
    const double col = (t1 - t0) / width;
    std::string legend_text;
    for (const auto& [span, c] : legend) legend_text += fmt::format("{}{} = {}", legend_text.empty() ? "" : ", ", c, span);
    lines.push_back(fmt::format("timeline from t={:.2f} to t={:.2f} s, one column = {:.3g} s ({})", t0, t1, col,
                                legend_text));
    for (const auto& row : rows) {
        std::string chart(static_cast<std::size_t>(width), ' ');
        for (const auto& bar : row.bars) {
            const auto symbol = symbols.find(bar.span);
            if (symbol == symbols.end()) continue;
            auto first = static_cast<int>(std::floor((bar.start - t0) / col + 1e-9));
            auto last = static_cast<int>(std::ceil((bar.end - t0) / col - 1e-9));
            first = std::clamp(first, 0, width - 1);
            last = std::clamp(last, first + 1, width);
            for (int c = first; c < last; ++c) chart[static_cast<std::size_t>(c)] = symbol->second;
        }
        lines.push_back(fmt::format("{:<{}} |{}|", row.actor, name_width, chart));
    }
    const std::string left = fmt::format("{:.2f}", t0);
    const std::string right = fmt::format("{:.2f} s", t1);
    const int gap = std::max(1, width + 2 - static_cast<int>(left.size()) - static_cast<int>(right.size()));
    lines.push_back(fmt::format("{:<{}} {}{}{}", "", name_width, left, std::string(static_cast<std::size_t>(gap), ' '),
                                right));
    return lines;
}

void show_timeline(std::size_t mark, std::string_view title, const TimelineSymbols& symbols) {
    const auto rows = timeline_rows(journal::events_since(mark));
    Json data = Json::array();
    for (const auto& row : rows) {
        Json bars = Json::array();
        for (const auto& bar : row.bars) bars.push_back({{"span", bar.span}, {"start", bar.start}, {"end", bar.end}});
        data.push_back({{"actor", row.actor}, {"bars", std::move(bars)}});
    }
    std::string text = std::string(title);
    for (const auto& line : render_timeline(rows, symbols)) text += "\n" + line;
    Json drawn = Json::object();
    for (const auto& [span, c] : symbols) drawn[span] = std::string(1, c);
    emit_block("timeline", {{"title", std::string(title)}, {"rows", std::move(data)}, {"symbols", std::move(drawn)}},
               text);
}

}  // namespace wb
