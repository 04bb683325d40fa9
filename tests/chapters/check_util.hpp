// Small helpers shared by the chapter output checks.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "run_program.hpp"

namespace check {

using harness::Json;

// The events of one actor.
inline std::vector<Json> by_actor(const std::vector<Json>& events, const std::string& actor) {
    std::vector<Json> out;
    for (const auto& e : events) {
        if (e.value("actor", "") == actor) out.push_back(e);
    }
    return out;
}

// A span (begin/end pair) of one actor, as read from its events.
struct Span {
    std::string actor;
    long pid;
    double begin;
    double end;
    Json fields;  // the end event's fields (they include the begin's)
};

// Pairs begin/end events named `name` per (pid, tid), in order.
inline std::vector<Span> spans(const std::vector<Json>& events, const std::string& name) {
    std::vector<Span> out;
    std::vector<std::pair<std::pair<long, long>, std::size_t>> open;
    for (const auto& e : events) {
        if (e.value("event", "") != name || !e.contains("phase")) continue;
        const auto key = std::make_pair(e["pid"].get<long>(), e["tid"].get<long>());
        if (e["phase"] == "begin") {
            open.emplace_back(key, out.size());
            out.push_back(Span{e["actor"], key.first, e["t"].get<double>(), -1, e["fields"]});
        } else {
            for (auto it = open.rbegin(); it != open.rend(); ++it) {
                if (it->first == key) {
                    out[it->second].end = e["t"].get<double>();
                    out[it->second].fields = e["fields"];
                    open.erase(std::next(it).base());
                    break;
                }
            }
        }
    }
    return out;
}

// The time scale for checks that compare durations: `normal` in a plain build, four times that
// (slower) in a sanitized build, where fork/exit/join cost several times more real time.
inline std::string timing_scale(double normal) {
    const char* slow = std::getenv("WB_SLOW_BUILD");
    const double scale = (slow != nullptr && std::string(slow) == "1") ? normal * 4 : normal;
    return std::to_string(scale);
}

inline long main_pid(const std::vector<Json>& events) {
    for (const auto& e : events) {
        if (e.value("event", "") == "run.begin") return e["pid"].get<long>();
    }
    return -1;
}

}  // namespace check
