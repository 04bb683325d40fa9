// Checks that the output sample in a chapter's README is what the program prints today.
//
// The sample is a fenced block whose first line is `$ ./build/chapters/<id>/<id> ARGS...`; the
// lines after it are the output. The check runs the program with ARGS and compares the two
// outputs as multisets of lines (concurrent lines may come in another order), after masking what
// legitimately changes between runs: measured times (numbers with decimals), pids, and the bars of
// timeline charts. Rests, names, counts and every deterministic line must match exactly.
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
};

std::vector<Sample> read_samples(const std::string& readme) {
    std::ifstream in(readme);
    REQUIRE(in.good());
    std::vector<Sample> samples;
    std::string line;
    bool in_block = false;
    Sample* current = nullptr;
    while (std::getline(in, line)) {
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

std::vector<std::string> masked(const std::vector<std::string>& lines) {
    const auto pids = pids_in(lines);
    static const std::regex decimal(R"(\d+\.\d+)");
    static const std::regex number(R"(\d+)");
    static const std::regex chart(R"(\|[^|]*\|$)");
    std::vector<std::string> out;
    for (std::string l : lines) {
        l = std::regex_replace(l, decimal, "D");
        // Replace whole numbers that are pids of this run.
        std::string result;
        auto begin = std::sregex_iterator(l.begin(), l.end(), number);
        std::size_t last = 0;
        for (auto it = begin; it != std::sregex_iterator(); ++it) {
            result += l.substr(last, static_cast<std::size_t>(it->position()) - last);
            result += pids.count(it->str()) ? "PID" : it->str();
            last = static_cast<std::size_t>(it->position() + it->length());
        }
        result += l.substr(last);
        result = std::regex_replace(result, chart, "|chart|");
        // Padding after a masked pid varies with its width.
        result.erase(std::unique(result.begin(), result.end(), [](char a, char b) { return a == ' ' && b == ' '; }),
                     result.end());
        out.push_back(result);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

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
        std::vector<std::string> args = sample.args;
        const char* slow = std::getenv("WB_SLOW_BUILD");
        if (slow != nullptr && std::string(slow) == "1") {
            for (std::size_t i = 0; i + 1 < args.size(); ++i) {
                if (args[i] == "--time-scale") args[i + 1] = std::to_string(std::stod(args[i + 1]) * 4);
            }
        }
        const auto r = harness::run_chapter(args);
        REQUIRE(r.exit_code == 0);
        CHECK(r.leftovers.empty());
        std::vector<std::string> actual;
        std::istringstream in(r.out);
        std::string line;
        while (std::getline(in, line)) actual.push_back(line);
        std::vector<std::string> expected = sample.lines;
        while (!expected.empty() && expected.back().empty()) expected.pop_back();
        while (!actual.empty() && actual.back().empty()) actual.pop_back();
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
