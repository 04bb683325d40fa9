// Command-line checks every chapter must pass: --help, --list, --demo, bad options (exit 2),
// jsonl that parses with the common fields, text without colour when not on a terminal, --trace.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "run_program.hpp"

using harness::Json;
using harness::run_chapter;

namespace {
std::vector<std::string> demo_names() {
    const auto r = run_chapter({"--list"});
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> names;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        names.push_back(line.substr(0, line.find(' ')));
    }
    REQUIRE(!names.empty());
    return names;
}
}  // namespace

TEST_CASE("--help explains every option and demo and exits 0", "[cli]") {
    const auto r = run_chapter({"--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.leftovers.empty());
    for (const char* opt : {"--help", "--list", "--demo", "--time-scale", "--seed", "--format", "--trace", "--color",
                            "--no-color", "usage:"}) {
        CHECK(r.out.find(opt) != std::string::npos);
    }
    for (const auto& name : demo_names()) CHECK(r.out.find(name) != std::string::npos);
}

TEST_CASE("bad options give a clear message and exit code 2", "[cli]") {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--bogus"}, "unknown option"},
        {{"stray"}, "unexpected argument"},
        {{"--time-scale"}, "needs a value"},
        {{"--time-scale", "fast"}, "number"},
        {{"--time-scale", "0"}, "> 0"},
        {{"--seed", "-3"}, "between"},
        {{"--seed", "x"}, "whole number"},
        {{"--format", "xml"}, "--format"},
        {{"--demo", "no-such-demo"}, "no demo named"},
        {{"--help=yes"}, "takes no value"},
    };
    for (const auto& [args, expected] : cases) {
        INFO(args.front());
        const auto r = run_chapter(args);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find(expected) != std::string::npos);
        CHECK(r.err.find("--help") != std::string::npos);
        CHECK(r.out.empty());
        CHECK(r.leftovers.empty());
    }
}

TEST_CASE("each demo runs alone with --demo, and only that demo", "[cli]") {
    for (const auto& name : demo_names()) {
        INFO(name);
        const auto r = harness::run_jsonl(1, {"--demo", name});
        const auto begins = harness::select(r.events, "demo.begin");
        REQUIRE(begins.size() == 1);
        CHECK(begins[0]["fields"]["demo"] == name);
        CHECK(harness::select(r.events, "demo.end").size() == 1);
    }
}

TEST_CASE("jsonl: every line is an event with the common fields", "[cli]") {
    const auto r = harness::run_jsonl(3);
    REQUIRE(!r.events.empty());
    CHECK((r.events.front()["event"] == "module.level" || r.events.front()["event"] == "run.begin"));
    CHECK(r.events.back()["event"] == "run.end");
    for (const auto& e : r.events) {
        REQUIRE(e.contains("t"));
        CHECK(e["t"].is_number());
        CHECK(e["pid"].is_number_integer());
        CHECK(e["tid"].is_number_integer());
        CHECK(e["actor"].is_string());
        CHECK(e["event"].is_string());
        CHECK(e["fields"].is_object());
        CHECK(e["text"].is_string());
        if (e.contains("phase")) CHECK((e["phase"] == "begin" || e["phase"] == "end"));
    }
    CHECK(harness::select(r.events, "demo.begin").size() == harness::select(r.events, "demo.end").size());
    CHECK(harness::select(r.events, "demo.begin").size() == demo_names().size());
}

TEST_CASE("text output has no colour codes when stdout is not a terminal", "[cli]") {
    const auto r = run_chapter({"--seed", "1"});
    CHECK(r.exit_code == 0);
    CHECK(r.leftovers.empty());
    CHECK(r.out.find('\x1b') == std::string::npos);
    CHECK(r.out.find("== demo") != std::string::npos);
    // --color forces colour; NO_COLOR (set by the test environment) loses to an explicit --color.
    const auto forced = run_chapter({"--seed", "1", "--color", "--demo", demo_names().front()});
    CHECK(forced.out.find('\x1b') != std::string::npos);
}

TEST_CASE("--trace writes Chrome trace-event JSON", "[cli]") {
    char dir[] = "/tmp/wb-trace-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string path = std::string(dir) + "/trace.json";
    const auto r = run_chapter({"--format", "jsonl", "--trace", path, "--demo", demo_names().front()});
    CHECK(r.exit_code == 0);
    std::ifstream in(path);
    REQUIRE(in.good());
    const Json trace = Json::parse(in);
    REQUIRE(trace["traceEvents"].is_array());
    int begins = 0, ends = 0;
    for (const auto& e : trace["traceEvents"]) {
        CHECK(e.contains("ph"));
        begins += e["ph"] == "B";
        ends += e["ph"] == "E";
    }
    CHECK(begins == ends);
    CHECK(trace["traceEvents"].size() >= r.events.size());
    ::unlink(path.c_str());
    ::rmdir(dir);
}
