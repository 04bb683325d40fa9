// Unit tests of wb/chapter.hpp: the option helpers directly, and the driver through the fixture
// chapter (tests/unit/programs/fixture_chapter.cpp, path in WB_UNIT_FIXTURE), run as a user runs it
// by the test harness, which also checks that nothing is left behind.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "run_program.hpp"
#include "wb/chapter.hpp"
#include "wb/random.hpp"

using harness::Json;

namespace {

std::string fixture() {
    const char* path = std::getenv("WB_UNIT_FIXTURE");
    if (path == nullptr) FAIL("WB_UNIT_FIXTURE is not set (run through meson test)");
    return path;
}

std::string fixture_name() {
    const std::string path = fixture();
    return path.substr(path.rfind('/') + 1);
}

harness::Result run(const std::vector<std::string>& args) { return harness::run_program(fixture(), args); }

std::string leftovers_of(const harness::Result& r) {
    std::string all;
    for (const auto& l : r.leftovers) all += l + "\n";
    return all;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

std::vector<std::string> demos_run(const std::vector<Json>& events) {
    std::vector<std::string> names;
    for (const auto& e : harness::select(events, "demo.begin")) names.push_back(e["fields"]["demo"]);
    return names;
}

// Sets (or unsets) an environment variable for the programs this test starts; restores it after.
class ScopedEnv {
public:
    ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) old_ = old;
        if (value) {
            ::setenv(name_.c_str(), value->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }

private:
    std::string name_;
    std::optional<std::string> old_;
};

const std::vector<std::string> kDemos = {"hello", "lines", "printf-fork", "spawn", "sleepers"};

}  // namespace

// --- parse_int / parse_double -------------------------------------------------------------------

TEST_CASE("parse_int accepts whole numbers inside [min, max] and names the option otherwise", "[chapter][options]") {
    CHECK(wb::parse_int("5", "n", 1, 10) == 5);
    CHECK(wb::parse_int("1", "n", 1, 10) == 1);    // both ends included
    CHECK(wb::parse_int("10", "n", 1, 10) == 10);
    CHECK(wb::parse_int("-3", "n", -5, 5) == -3);
    CHECK(wb::parse_int("0", "n", 0, 0) == 0);
    constexpr auto kMax = std::numeric_limits<long long>::max();
    CHECK(wb::parse_int(std::to_string(kMax), "n", 0, kMax) == kMax);

    CHECK_THROWS_WITH(wb::parse_int("0", "procs", 1, 10), "--procs must be between 1 and 10, got 0");
    CHECK_THROWS_WITH(wb::parse_int("11", "procs", 1, 10), "--procs must be between 1 and 10, got 11");
    CHECK_THROWS_WITH(wb::parse_int("-6", "n", -5, 5), "--n must be between -5 and 5, got -6");
    for (const char* bad : {"", "abc", "5x", " 5", "5 ", "+5", "1.5", "0x10", "99999999999999999999"}) {
        INFO("'" << bad << "'");
        CHECK_THROWS_AS(wb::parse_int(bad, "seed", 0, 100), std::invalid_argument);
        CHECK_THROWS_WITH(wb::parse_int(bad, "seed", 0, 100),
                          "--seed needs a whole number, got '" + std::string(bad) + "'");
    }
}

TEST_CASE("parse_double accepts finite numbers only", "[chapter][options]") {
    CHECK(wb::parse_double("1.5", "x") == 1.5);
    CHECK(wb::parse_double("-2", "x") == -2.0);
    CHECK(wb::parse_double("0", "x") == 0.0);
    CHECK(wb::parse_double("1e-3", "x") == 1e-3);
    CHECK(wb::parse_double("0.01", "x") == 0.01);
    for (const char* bad : {"", "abc", "1.5s", "nan", "inf", "-inf", "1e400", " 1", "1,5"}) {
        INFO("'" << bad << "'");
        CHECK_THROWS_AS(wb::parse_double(bad, "time-scale"), std::invalid_argument);
        CHECK_THROWS_WITH(wb::parse_double(bad, "time-scale"),
                          "--time-scale needs a number, got '" + std::string(bad) + "'");
    }
}

TEST_CASE("is_spawned_child is false in a program the user started", "[chapter]") {
    CHECK_FALSE(wb::is_spawned_child());
}

// --- the driver, from outside -------------------------------------------------------------------

TEST_CASE("--help exits 0 and lists the options and the demos", "[chapter][cli]") {
    const auto r = run({"--help"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.leftovers.empty());
    CHECK(r.out.rfind("unit-fixture - Fixture chapter for the unit tests of common/\n", 0) == 0);
    CHECK(r.out.find("usage: " + fixture_name() + " [options]") != std::string::npos);
    for (const char* option : {"--help", "--list", "--demo NAME", "--time-scale X", "--seed N", "--format F",
                               "--trace FILE", "--color", "--no-color", "WORKBOOK_TIME_SCALE",
                               // the chapter's own options, after the shared ones
                               "--procs M", "--lines N", "--rest S", "--hold-sigint", "--fail"}) {
        INFO(option);
        CHECK(r.out.find(option) != std::string::npos);
    }
    CHECK(r.out.find("chapter options:") > r.out.find("--no-color"));
    const auto demos_at = r.out.find("\ndemos:\n");
    REQUIRE(demos_at != std::string::npos);
    std::size_t last = demos_at;
    for (const auto& demo : kDemos) {
        INFO(demo);
        const auto at = r.out.find("\n  " + demo + " ", demos_at);
        CHECK(at != std::string::npos);
        CHECK(at >= last);  // in the chapter's order
        last = at;
    }
    CHECK(r.out.find("130") != std::string::npos);  // the exit statuses are explained
    // Only help: no demo ran.
    CHECK(r.out.find("== demo") == std::string::npos);
}

TEST_CASE("--list names every demo with its summary, in order", "[chapter][cli]") {
    const auto r = run({"--list"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    const auto lines = split_lines(r.out);
    REQUIRE(lines.size() == kDemos.size());
    for (std::size_t i = 0; i < kDemos.size(); ++i) {
        INFO(lines[i]);
        CHECK(lines[i].rfind(kDemos[i] + " ", 0) == 0);
        CHECK(lines[i].size() > 21);  // name column, then the summary
    }
    CHECK(lines[0] == "hello                a note, an event, a rest and a block");
}

TEST_CASE("with no --demo every demo runs, in order, and the program ends by itself", "[chapter][cli]") {
    const auto r = run({"--procs", "2", "--lines", "3", "--rest", "0.5"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    INFO(leftovers_of(r));
    CHECK(r.leftovers.empty());
    CHECK(r.err.find("boom from a spawned child") != std::string::npos);  // the spawn demo's own error
    std::size_t last = 0;
    for (const auto& demo : kDemos) {
        INFO(demo);
        const auto at = r.out.find("== demo " + demo + ":");
        REQUIRE(at != std::string::npos);
        CHECK(at > last);
        last = at;
    }
}

TEST_CASE("--demo NAME runs only that demo (repeatable)", "[chapter][cli]") {
    SECTION("one") {
        const auto r = run({"--demo", "hello", "--format", "jsonl"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        REQUIRE(r.jsonl_ok);
        CHECK(r.leftovers.empty());
        CHECK(demos_run(r.events) == std::vector<std::string>{"hello"});
        CHECK(harness::select(r.events, "run.begin").size() == 1);
        CHECK(harness::select(r.events, "run.end").size() == 1);
        CHECK(harness::select(r.events, "module_level").size() == 1);
        CHECK(harness::select(r.events, "hello").size() == 1);
        CHECK(harness::select(r.events, "line").empty());
    }
    SECTION("two, and the --name=value form") {
        const auto r = run({"--demo=lines", "--demo", "hello", "--format=jsonl", "--procs=2", "--lines=4"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        REQUIRE(r.jsonl_ok);
        const auto demos = demos_run(r.events);
        CHECK(std::multiset<std::string>(demos.begin(), demos.end()) == std::multiset<std::string>{"hello", "lines"});
        CHECK(harness::select(r.events, "line").size() == 8);
        CHECK(harness::select(r.events, "demo.end").size() == 2);
    }
}

TEST_CASE("bad options: exit 2, nothing on stdout, one line naming the problem on stderr", "[chapter][cli]") {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--bogus"}, "unknown option '--bogus'"},
        {{"--seed"}, "--seed needs a value"},
        {{"--demo"}, "--demo needs a value"},
        {{"--procs"}, "--procs needs a value"},
        {{"--time-scale", "abc"}, "--time-scale needs a number, got 'abc'"},
        {{"--time-scale=fast"}, "--time-scale needs a number, got 'fast'"},
        {{"--time-scale", "0"}, "--time-scale must be between 0.001 and 1000, got 0"},
        {{"--time-scale", "-1"}, "--time-scale must be between 0.001 and 1000, got -1"},
        {{"--time-scale", "1e308"}, "--time-scale must be between 0.001 and 1000, got 1e308"},
        {{"--seed", "x"}, "--seed needs a whole number, got 'x'"},
        {{"--seed", "-1"}, "--seed must be between 0 and"},
        {{"--format", "xml"}, "--format must be text or jsonl, got 'xml'"},
        {{"--format", "json"}, "--format must be text or jsonl, got 'json'"},  // no json document here
        {{"--demo", "nope"}, "no demo named 'nope' (see --list)"},
        {{"--procs", "0"}, "--procs must be between 1 and 64, got 0"},
        {{"--procs", "many"}, "--procs needs a whole number, got 'many'"},
        {{"--rest", "-1"}, "--rest must be >= 0"},
        {{"--help=yes"}, "--help takes no value"},
        {{"--hold-sigint=1"}, "--hold-sigint takes no value"},
        {{"--trace="}, "--trace needs a file name"},
        {{"stray"}, "unexpected argument 'stray'"},
        {{"--demo", "hello", "-x"}, "unexpected argument '-x'"},
    };
    const std::string prog = fixture_name();
    for (const auto& [args, problem] : cases) {
        std::string shown;
        for (const auto& a : args) shown += a + " ";
        INFO("args: " << shown);
        const auto r = run(args);
        INFO("stderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK(r.err.rfind(prog + ": " + problem, 0) == 0);
        CHECK(r.err.find("try '" + prog + " --help'") != std::string::npos);
        CHECK(r.leftovers.empty());
    }
}

TEST_CASE("a chapter's mode runs instead of the demos, or lets them run", "[chapter][cli]") {
    const std::string prog = fixture_name();
    SECTION("its exit status is the program's, and no demo runs") {
        const auto r = run({"--mode-exit", "3", "--format", "jsonl"});
        INFO(r.err);
        CHECK(r.exit_code == 3);
        REQUIRE(r.jsonl_ok);
        CHECK(harness::select(r.events, "module_level").size() == 1);  // before the mode
        CHECK(harness::select(r.events, "mode.ran").size() == 1);
        CHECK(harness::select(r.events, "run.begin").empty());
        CHECK(demos_run(r.events).empty());
        CHECK(r.leftovers.empty());
    }
    SECTION("usage_error: the driver's usage message, exit 2, no demo") {
        const auto r = run({"--mode-misuse", "--demo", "hello", "--format", "jsonl"});
        CHECK(r.exit_code == 2);
        REQUIRE(r.jsonl_ok);
        CHECK(demos_run(r.events).empty());  // stdout has only what module_level printed
        CHECK(r.err == prog + ": --mode-misuse: options that do not go together\ntry '" + prog + " --help'\n");
        CHECK(r.leftovers.empty());
    }
    SECTION("warn: one line on stderr, and the demos still run") {
        const auto r = run({"--mode-warn", "--demo", "hello", "--format", "jsonl"});
        CHECK(r.exit_code == 0);
        CHECK(r.err == prog + ": warning: --mode-warn: a warning, and the run goes on\n");
        REQUIRE(r.jsonl_ok);
        CHECK(demos_run(r.events) == std::vector<std::string>{"hello"});
    }
}

TEST_CASE("the time scale: WORKBOOK_TIME_SCALE sets the default, --time-scale overrides it", "[chapter][cli]") {
    auto scale_of = [](const harness::Result& r) {
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        REQUIRE(r.jsonl_ok);
        const auto begin = harness::select(r.events, "run.begin");
        REQUIRE(begin.size() == 1);
        return begin[0]["fields"]["time_scale"].get<double>();
    };
    const std::vector<std::string> quick = {"--demo", "lines", "--procs", "1", "--lines", "1", "--format", "jsonl"};
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = quick;
        args.insert(args.end(), extra.begin(), extra.end());
        return run(args);
    };
    {
        ScopedEnv env("WORKBOOK_TIME_SCALE", "0.25");
        CHECK(scale_of(with({})) == 0.25);
        CHECK(scale_of(with({"--time-scale", "0.5"})) == 0.5);
        CHECK(scale_of(with({"--time-scale=2"})) == 2.0);
    }
    {
        ScopedEnv env("WORKBOOK_TIME_SCALE", std::nullopt);
        CHECK(scale_of(with({})) == 1.0);
    }
    {
        ScopedEnv env("WORKBOOK_TIME_SCALE", "");
        CHECK(scale_of(with({})) == 1.0);  // empty counts as unset
    }
    {
        // The demo sees the same scale (and a forked child inherits it: see the lines demo's t).
        ScopedEnv env("WORKBOOK_TIME_SCALE", "0.01");
        const auto r = run({"--demo", "hello", "--format", "jsonl"});
        REQUIRE(r.exit_code == 0);
        const auto hello = harness::select(r.events, "hello");
        REQUIRE(hello.size() == 1);
        CHECK(hello[0]["fields"]["time_scale"] == 0.01);
        // The rest lasted its logical second, whatever the scale.
        const auto rest = harness::select(r.events, "rest");
        REQUIRE(rest.size() == 2);
        CHECK(rest[1]["t"].get<double>() - rest[0]["t"].get<double>() >= 1.0 - 2e-4);
    }
}

TEST_CASE("a malformed WORKBOOK_TIME_SCALE is a usage error (exit 2)", "[chapter][cli]") {
    for (const std::string bad : {"abc", "0", "-1", "nan", "1e308", "1e-6"}) {
        INFO("WORKBOOK_TIME_SCALE=" << bad);
        ScopedEnv env("WORKBOOK_TIME_SCALE", bad);
        const auto r = run({"--demo", "hello"});
        INFO("exit " << r.exit_code << ", stderr: " << r.err);
        // "0" and "-1" parse as numbers and used to slip through to clock::set_time_scale, which
        // threw inside the run: "error: time scale must be a number > 0", exit 1 (see the report).
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("WORKBOOK_TIME_SCALE must be a number between 0.001 and 1000, got '" + bad + "'") !=
              std::string::npos);
        CHECK(r.out.empty());
    }
}

TEST_CASE("--seed makes the random choices reproducible: main draws from stream (seed, 0)", "[chapter][cli]") {
    auto first_random = [](const std::string& seed) {
        const auto r = run({"--demo", "hello", "--format", "jsonl", "--seed", seed});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const auto hello = harness::select(r.events, "hello");
        REQUIRE(hello.size() == 1);
        CHECK(hello[0]["fields"]["seed"] == std::stoll(seed));
        return hello[0]["fields"]["first_random"].get<std::int64_t>();
    };
    for (const std::string seed : {"7", "8", "0"}) {
        INFO("seed " << seed);
        const auto value = first_random(seed);
        CHECK(first_random(seed) == value);
        wb::Random expected(std::stoull(seed), 0);
        CHECK(value == expected.uniform_int(1, 100));
    }
    // No --seed: seed 1.
    const auto r = run({"--demo", "hello", "--format", "jsonl"});
    const auto hello = harness::select(r.events, "hello");
    REQUIRE(hello.size() == 1);
    CHECK(hello[0]["fields"]["seed"] == 1);
}

TEST_CASE("--format jsonl: every line is an event; text mode has colour only when asked", "[chapter][cli]") {
    const auto jsonl = run({"--demo", "hello", "--format", "jsonl", "--color"});
    REQUIRE(jsonl.exit_code == 0);
    CHECK(jsonl.jsonl_ok);
    CHECK(jsonl.out.find('\x1b') == std::string::npos);  // never colour in jsonl

    const auto plain = run({"--demo", "hello"});  // a pipe, and NO_COLOR=1 from the test environment
    REQUIRE(plain.exit_code == 0);
    CHECK(plain.out.find('\x1b') == std::string::npos);
    CHECK(plain.out.find("== demo hello: a note, an event, a rest and a block ==") != std::string::npos);
    CHECK(plain.out.find("  a note from the fixture\n") != std::string::npos);
    CHECK(plain.out.find("hello from the fixture\n") != std::string::npos);
    CHECK(plain.out.find("starts resting 1 s\n") != std::string::npos);
    CHECK(plain.out.find("\n    row one\n    row two\n") != std::string::npos);

    const auto no_color = run({"--demo", "hello", "--no-color"});
    CHECK(no_color.out.find('\x1b') == std::string::npos);

    const auto forced = run({"--demo", "hello", "--color"});  // an explicit --color wins
    REQUIRE(forced.exit_code == 0);
    CHECK(forced.out.find("\x1b[") != std::string::npos);
}

TEST_CASE("--trace FILE writes Chrome trace JSON of every process of the run", "[chapter][cli][trace]") {
    // Not in the program's TMPDIR (the harness would count the file as left behind).
    char dir_template[] = "/tmp/wb-unit-chapter-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    const std::string path = dir + "/run.trace.json";
    const auto r = run({"--demo", "hello", "--demo", "lines", "--procs", "2", "--lines", "2", "--format", "jsonl",
                        "--trace", path});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.leftovers.empty());
    Json doc;
    {
        std::ifstream in(path);
        REQUIRE(in.good());
        REQUIRE_NOTHROW(doc = Json::parse(in));
    }
    CHECK_FALSE(std::ifstream(path + ".tmp").good());
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());

    REQUIRE(doc["traceEvents"].is_array());
    std::map<long, std::string> process_names;
    std::map<std::pair<long, long>, std::vector<std::string>> open;
    std::multiset<std::string> spans;
    std::size_t instants = 0;
    for (const auto& t : doc["traceEvents"]) {
        const std::string ph = t["ph"];
        const long pid = t["pid"].get<long>();
        if (ph == "M") {
            process_names[pid] = t["args"]["name"];
            continue;
        }
        REQUIRE(process_names.count(pid) == 1);
        const auto key = std::make_pair(pid, t["tid"].get<long>());
        if (ph == "B") open[key].push_back(t["name"]);
        if (ph == "E") {
            REQUIRE_FALSE(open[key].empty());
            CHECK(open[key].back() == t["name"]);
            open[key].pop_back();
            spans.insert(t["name"].get<std::string>());
        }
        if (ph == "i") ++instants;
    }
    for (const auto& [key, stack] : open) CHECK(stack.empty());
    CHECK(spans.count("rest") == 1);
    CHECK(instants == r.events.size() - 2);  // every event of the run, the rest's two as B and E
    // The main process and both children are there, under their process names.
    std::set<std::string> names;
    for (const auto& [pid, name] : process_names) names.insert(name);
    CHECK(names == std::set<std::string>{"MainProcess", "Process-1", "Process-2"});
}

TEST_CASE("an exception in a demo: message on stderr, children ended, exit 1", "[chapter][cli]") {
#if defined(__SANITIZE_THREAD__)
    // Under ThreadSanitizer a child asleep in clock_nanosleep runs its SIGTERM handler late, so
    // it ends by the 2 s SIGKILL fallback (-9), not -15. The other builds run this test.
    WARN("skipped under ThreadSanitizer: signal handlers are deferred in a sleeping child");
    return;
#endif
    const auto r = run({"--demo", "sleepers", "--procs", "3", "--rest", "1000000", "--fail", "--format", "jsonl"});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.rfind(fixture_name() + ": error: deliberate failure with sleepers still resting", 0) == 0);
    INFO(leftovers_of(r));
    CHECK(r.leftovers.empty());
    const auto exits = harness::select(r.events, "process.exit");
    CHECK(exits.size() == 3);
    for (const auto& e : exits) CHECK(e["fields"]["exitcode"] == -15);
}
