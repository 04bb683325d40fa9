#include "wb/occupancy.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <fmt/core.h>

#include "wb/output.hpp"

namespace wb {

Occupancy occupancy(const std::vector<TimelineRow>& rows, std::string_view span, int width) {
    width = std::max(width, 8);  // as render_timeline
    Occupancy occ;
    double t0 = 1e300, t1 = -1e300;
    for (const auto& row : rows) {
        for (const auto& bar : row.bars) {
            t0 = std::min(t0, bar.start);
            t1 = std::max(t1, bar.end);
        }
    }
    if (t0 > t1) return occ;
    if (t1 - t0 < 1e-9) t1 = t0 + 1;
    occ.t0 = t0;
    occ.t1 = t1;
    const double column = (t1 - t0) / width;
    for (int c = 0; c < width; ++c) {
        const double middle = t0 + (c + 0.5) * column;
        int count = 0;
        for (const auto& row : rows) {
            for (const auto& bar : row.bars) {
                count += bar.span == span && bar.start <= middle && middle < bar.end ? 1 : 0;
            }
        }
        occ.counts.push_back(count);
    }
    return occ;
}

std::string occupancy_row(const std::vector<TimelineRow>& rows, const Occupancy& occ, std::string_view label) {
    std::size_t name_width = 4;  // as render_timeline
    for (const auto& row : rows) name_width = std::max(name_width, row.actor.size());
    std::string digits;
    for (const int count : occ.counts) digits += count > 9 ? '+' : static_cast<char>('0' + count);
    return fmt::format("{:<{}} |{}|", label, name_width, digits);
}

void show_occupancy(std::size_t mark, std::string_view span, std::string_view label, std::string_view title) {
    const auto rows = timeline_rows(journal::events_since(mark));
    const Occupancy occ = occupancy(rows, span);
    if (occ.counts.empty()) return;
    emit_block("occupancy",
               {{"span", std::string(span)}, {"t0", occ.t0}, {"t1", occ.t1}, {"counts", occ.counts}},
               fmt::format("{}\n{}", title, occupancy_row(rows, occ, label)));
}

std::string gauge(int used, int capacity) {
    if (capacity < 0 || used < 0 || used > capacity) {
        throw std::invalid_argument(fmt::format("gauge: {} used of {} places", used, capacity));
    }
    return fmt::format("|{}{}|", std::string(static_cast<std::size_t>(used), '#'),
                       std::string(static_cast<std::size_t>(capacity - used), '.'));
}

}  // namespace wb
