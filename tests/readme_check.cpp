// Checks that the output sample in a chapter's README is what the program prints today.
//
// The sample is a fenced block whose first line is `$ ./build/chapters/<id>/<id> ARGS...`; the
// lines after it are the output. The check runs the program with ARGS and compares the two
// outputs as multisets of lines (concurrent lines may come in another order), after masking the
// fields that are *measured* - read from a clock or decided by the scheduler - and nothing else:
//
//   m1  the time column at the start of an event line (`  3.52  child-1[812]`);
//   m2  pids: `[812]` after an actor, and the same numbers wherever else they are printed;
//   m3  durations read from a clock, printed with two decimals and a unit: `after 1.26 s`;
//   m4  shares and ratios of measured values: `CPU 0.99 of the time`, `0.99 CPUs were busy`,
//       `1.01 x the timeout`, `wait / interval = 3.01`, `about 5.01 wasted`, the calibrated
//       speed of chapter 02's loop (`577.30 million steps`), and chapter 16's speed-ups
//       (`1.93 x as fast as serial`);
//   m5  timelines: the header (`timeline from t=... one column = ... s`), the time axis under the
//       bars, and the bars' contents (a row `label |....|` keeps its label and its width);
//   m6  a gauge at the end of a line (`rooms |##..|`) keeps its width and must be some `#`s then
//       some `.`s: how full it is at that moment is the scheduler's doing, its shape is not.
//   m7  counts decided by the scheduler: chapter 17's free-running race, `counter = 1066961
//       after 2000000 increments, 933039 updates lost` (the forced race's counts are computed
//       and stay).
//   m8  a port after `127.0.0.1:` (`listens on 127.0.0.1:40123`): with --port 0 (the default) the
//       kernel picks it.
//   m9  an outcome the program itself labels as the scheduler's, `(this time: true)`: chapter 08's
//       is_alive() right after terminate() is true or false depending on who ran first.
//
// One more rule, for a verdict that follows from a measurement (chapter 02: were two CPUs busy
// at once, or did other programs take them?). The README lists every allowed verdict in full, in
// a comment after the sample:
//
//     <!-- sample-variants
//     More than one CPU was busy at once: ...
//     ...
//     ---
//     Hardly more than one CPU was busy on average, ...
//     -->
//
// Each side (README and run) must then contain exactly one of those verdicts, every line of it,
// and the rest of the lines must match as usual. A verdict the program no longer prints, or a
// line that belongs to no verdict, fails as before.
//
// Everything else must match exactly: rests, names, counts, exit codes, and every computed
// number - an average in chapter 01's table, a gauge one cell too wide, a constant such as
// `every 0.5 s` (printed with {:g}, so it is not mistaken for a measured `0.50 s`). A rule that
// would hide a computed number is a bug in this file: keep each rule to one measured quantity.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "run_program.hpp"

namespace {

struct Sample {
    std::vector<std::string> args;
    std::vector<std::string> lines;
    std::vector<std::vector<std::string>> variants;  // each allowed verdict, line by line
};

std::vector<Sample> read_samples(const std::string& readme) {
    std::ifstream in(readme);
    REQUIRE(in.good());
    std::vector<Sample> samples;
    std::string line;
    bool in_block = false;
    Sample* current = nullptr;
    bool in_variants = false;
    while (std::getline(in, line)) {
        if (!in_block && line.rfind("<!-- sample-variants", 0) == 0 && !samples.empty()) {
            in_variants = true;
            samples.back().variants.emplace_back();
            continue;
        }
        if (in_variants) {
            if (line.rfind("-->", 0) == 0) {
                in_variants = false;
            } else if (line == "---") {
                samples.back().variants.emplace_back();
            } else {
                samples.back().variants.back().push_back(line);
            }
            continue;
        }
        if (line.rfind("```", 0) == 0) {
            in_block = !in_block;
            current = nullptr;
            continue;
        }
        if (!in_block) continue;
        if (current == nullptr && line.rfind("$ ./build/chapters/", 0) == 0) {
            samples.emplace_back();
            current = &samples.back();
            std::istringstream words(line.substr(2));
            std::string w;
            words >> w;  // the program
            while (words >> w) current->args.push_back(w);
            continue;
        }
        if (current != nullptr) current->lines.push_back(line);
    }
    return samples;
}

std::set<std::string> pids_in(const std::vector<std::string>& lines) {
    static const std::regex actor(R"(\[(\d+)\])");
    std::set<std::string> pids;
    for (const auto& l : lines) {
        for (std::sregex_iterator it(l.begin(), l.end(), actor), end; it != end; ++it) pids.insert((*it)[1]);
    }
    return pids;
}

// A regex replacement whose replacement depends on the match.
template <typename F>
std::string replace_each(const std::string& line, const std::regex& re, F&& replacement) {
    std::string result;
    std::size_t last = 0;
    for (auto it = std::sregex_iterator(line.begin(), line.end(), re); it != std::sregex_iterator(); ++it) {
        result += line.substr(last, static_cast<std::size_t>(it->position()) - last);
        result += replacement(*it);
        last = static_cast<std::size_t>(it->position() + it->length());
    }
    return result + line.substr(last);
}

std::string mask_fields(std::string l, const std::set<std::string>& pids) {
    // m5: a timeline's header and its time axis are clock readings through and through.
    static const std::regex timeline_header(R"(^(\s*)timeline from t=.*$)");
    static const std::regex time_axis(R"(^\s*\d+\.\d+\s+\d+\.\d+ s$)");
    if (std::regex_match(l, timeline_header)) return std::regex_replace(l, timeline_header, "$1timeline from T");
    if (std::regex_match(l, time_axis)) return "AXIS";
    // m5: a bar row, `label |....|` and nothing else: the label and the width stay.
    static const std::regex bar_row(R"(^(\s*[^\s|]+\s*)\|([^|]*)\|$)");
    std::smatch m;
    if (std::regex_match(l, m, bar_row)) return m[1].str() + "|" + std::string(m[2].str().size(), '~') + "|";
    // m6: a gauge at the end of a line keeps its width and its shape.
    static const std::regex gauge(R"(\|(#*\.*)\|$)");
    l = replace_each(l, gauge, [](const std::smatch& g) { return "|" + std::string(g[1].str().size(), '=') + "|"; });
    // m1: the time column.
    static const std::regex time_column(R"(^\s*\d+\.\d\d(?=\s+\S+\[\d+\]))");
    l = std::regex_replace(l, time_column, "T");
    // m3: clock durations: two decimals and the unit.
    static const std::regex duration(R"(\b\d+\.\d\d s\b)");
    l = std::regex_replace(l, duration, "D s");
    // m4: shares and ratios of measured values.
    static const std::regex ratio(
        R"(\b\d+\.\d\d(?= of the time| CPUs were busy| x the timeout| million steps| wasted| x as fast))");
    static const std::regex after_equals(R"((wait / interval = )\d+\.\d\d)");
    l = std::regex_replace(l, ratio, "R");
    l = std::regex_replace(l, after_equals, "$1R");
    // m7: lost updates of a free-running race (with the counter they were read from).
    static const std::regex lost(R"(counter = \d+ after \d+ increments, \d+ updates lost)");
    l = std::regex_replace(l, lost, "counter = N after N increments, N updates lost");
    // m8: a port the kernel picked.
    static const std::regex port(R"(127\.0\.0\.1:\d+)");
    l = std::regex_replace(l, port, "127.0.0.1:PORT");
    // m9: an outcome labelled as this run's.
    static const std::regex this_time(R"(\(this time: [^)]*\))");
    l = std::regex_replace(l, this_time, "(this time: S)");
    // m2: whole numbers that are pids of this run.
    static const std::regex number(R"(\d+)");
    return replace_each(l, number,
                        [&pids](const std::smatch& n) { return pids.count(n.str()) ? std::string("PID") : n.str(); });
}

std::string mask_line(const std::string& line, const std::set<std::string>& pids) {
    std::string l = mask_fields(line, pids);
    // Padding after a masked pid or time varies with its width.
    l.erase(std::unique(l.begin(), l.end(), [](char a, char b) { return a == ' ' && b == ' '; }), l.end());
    return l;
}

std::string trimmed(const std::string& l) {
    const auto first = l.find_first_not_of(' ');
    return first == std::string::npos ? std::string() : l.substr(first);
}

// Takes the one allowed verdict out of `lines`: returns how many complete verdicts were found
// (the check wants exactly 1), and removes their lines.
int take_variant(std::vector<std::string>& lines, const std::vector<std::vector<std::string>>& variants) {
    int found = 0;
    for (const auto& variant : variants) {
        if (variant.empty()) continue;
        for (std::size_t i = 0; i + variant.size() <= lines.size(); ++i) {
            bool match = true;
            for (std::size_t k = 0; k < variant.size() && match; ++k) {
                match = trimmed(lines[i + k]) == trimmed(variant[k]);
            }
            if (!match) continue;
            lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i),
                        lines.begin() + static_cast<std::ptrdiff_t>(i + variant.size()));
            ++found;
            break;
        }
    }
    return found;
}

std::vector<std::string> masked(const std::vector<std::string>& lines) {
    const auto pids = pids_in(lines);
    std::vector<std::string> out;
    out.reserve(lines.size());
    for (const auto& l : lines) out.push_back(mask_line(l, pids));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("the masks hide measured fields and nothing computed", "[readme]") {
    const std::set<std::string> pids{"812"};
    // Measured: the time column, pids, clock durations, shares, timelines, a gauge's fill.
    CHECK(mask_line("  13.95  MainProcess[812]  got it after 1.26 s", pids) == "T MainProcess[PID] got it after D s");
    CHECK(mask_line("   1.02  A[812]  (it had the CPU 0.99 of the time)", pids) ==
          "T A[PID] (it had the CPU R of the time)");
    CHECK(mask_line("    child-0     |#####      |", pids) == " child-0 |~~~~~~~~~~~|");
    CHECK(mask_line("    timeline from t=3.53 to t=14.89 s, one column = 0.237 s", pids) == " timeline from T");
    CHECK(mask_line("                3.53                                       14.89 s", pids) == "AXIS");
    CHECK(mask_line("  walks in   rooms |##..|", pids) == " walks in rooms |====|");
    CHECK(mask_line("  the serial server listens on 127.0.0.1:40123 (backlog 5)", pids) ==
          " the serial server listens on 127.0.0.1:PORT (backlog 5)");
    CHECK(mask_line("  right after: is_alive() may be true or false (this time: false)", pids) ==
          " right after: is_alive() may be true or false (this time: S)");
    CHECK(mask_line("  threads: took 0.26 s, 1.93 x as fast as serial", pids) ==
          " threads: took D s, R x as fast as serial");
    CHECK(mask_line("  2 threads for 0.2 s: counter = 1066961 after 2000000 increments, 933039 updates lost", pids) ==
          " 2 threads for 0.2 s: counter = N after N increments, N updates lost");
    // Computed: an average, a constant printed with {:g}, a gauge of the wrong width or shape.
    CHECK(mask_line("    average      0.33        8.00  3.67    1.61", pids) == " average 0.33 8.00 3.67 1.61");
    CHECK(mask_line("  polling every 0.5 s", pids) == " polling every 0.5 s");
    CHECK(mask_line("  walks in   rooms |#####|", pids) == " walks in rooms |=====|");
    CHECK(mask_line("  walks in   rooms |#.#.|", pids) == " walks in rooms |#.#.|");
    CHECK(mask_line("  6 increments, counter = 3: every round lost one", pids) ==
          " 6 increments, counter = 3: every round lost one");
    CHECK(mask_line("  with the lock: 2 threads x 1000000 increments: counter = 2000000", pids) ==
          " with the lock: 2 threads x 1000000 increments: counter = 2000000");
}

TEST_CASE("a declared verdict is taken out whole, and only one", "[readme]") {
    const std::vector<std::vector<std::string>> variants{{"busy: yes", "really"}, {"busy: no"}};
    std::vector<std::string> lines{"  0.1  A[1]  ran", "  busy: yes", "  really", "  after"};
    CHECK(take_variant(lines, variants) == 1);
    CHECK(lines == std::vector<std::string>{"  0.1  A[1]  ran", "  after"});
    std::vector<std::string> half{"  busy: yes", "  not really"};  // an incomplete verdict is none
    CHECK(take_variant(half, variants) == 0);
    std::vector<std::string> both{"busy: yes", "really", "busy: no"};
    CHECK(take_variant(both, variants) == 2);
}

TEST_CASE("the README output sample matches a real run", "[readme]") {
    const char* readme = std::getenv("WB_CHAPTER_README");
    REQUIRE(readme != nullptr);
    const auto samples = read_samples(readme);
    REQUIRE(!samples.empty());
    for (const auto& sample : samples) {
        std::string cmd;
        for (const auto& a : sample.args) cmd += " " + a;
        INFO("sample:" << cmd);
        // Sanitized builds run the same command four times slower: the printed text is in
        // logical seconds, so the lines are the same, and the scheduling margins stay as wide.
        // A program that echoes its time scale (02: `at time scale 0.05`) then echoes the new one.
        std::vector<std::string> args = sample.args;
        std::vector<std::string> expected = sample.lines;
        const char* slow = std::getenv("WB_SLOW_BUILD");
        if (slow != nullptr && std::string(slow) == "1") {
            for (std::size_t i = 0; i + 1 < args.size(); ++i) {
                if (args[i] != "--time-scale") continue;
                const double scale = std::stod(args[i + 1]);
                args[i + 1] = std::to_string(scale * 4);
                std::ostringstream was, now;  // as the programs print it ({:g})
                was << "time scale " << scale;
                now << "time scale " << scale * 4;
                for (auto& l : expected) {
                    for (auto at = l.find(was.str()); at != std::string::npos; at = l.find(was.str(), at + 1)) {
                        l.replace(at, was.str().size(), now.str());
                    }
                }
            }
        }
        const auto r = harness::run_chapter(args);
        REQUIRE(r.exit_code == 0);
        CHECK(r.leftovers.empty());
        std::vector<std::string> actual;
        std::istringstream in(r.out);
        std::string line;
        while (std::getline(in, line)) actual.push_back(line);
        while (!expected.empty() && expected.back().empty()) expected.pop_back();
        while (!actual.empty() && actual.back().empty()) actual.pop_back();
        if (!sample.variants.empty()) {
            CHECK(take_variant(expected, sample.variants) == 1);  // the README shows one verdict
            INFO("the run printed no allowed verdict, or more than one:\n" << r.out);
            CHECK(take_variant(actual, sample.variants) == 1);
        }
        const auto want = masked(expected);
        const auto got = masked(actual);
        if (want != got) {
            std::string diff;
            for (const auto& l : want) {
                if (!std::binary_search(got.begin(), got.end(), l)) diff += "  only in README: " + l + "\n";
            }
            for (const auto& l : got) {
                if (!std::binary_search(want.begin(), want.end(), l)) diff += "  only in the run: " + l + "\n";
            }
            FAIL("README sample is stale; refresh it with tools/refresh-samples\n" << diff);
        }
    }
}

TEST_CASE("docs/events.md carries the chapter's Events section", "[readme]") {
    const std::string readme = std::getenv("WB_CHAPTER_README");
    std::ifstream in(readme);
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    const auto start = all.find("\n## Events\n");
    REQUIRE(start != std::string::npos);
    auto body_start = start + std::string("\n## Events\n").size();
    auto end = all.find("\n## ", body_start);
    std::string body = all.substr(body_start, end == std::string::npos ? std::string::npos : end - body_start);
    auto trim = [](std::string s) {
        s.erase(0, s.find_first_not_of(" \n"));
        s.erase(s.find_last_not_of(" \n") + 1);
        return s;
    };
    body = trim(body);
    const std::string docs_path = readme.substr(0, readme.rfind("/chapters/")) + "/docs/events.md";
    std::ifstream docs(docs_path);
    REQUIRE(docs.good());
    std::stringstream docs_text;
    docs_text << docs.rdbuf();
    INFO("run tools/gen-events-doc to bring docs/events.md up to date");
    CHECK(docs_text.str().find(body) != std::string::npos);
}
