// wb/chapter.hpp - the driver every chapter program runs under, and the options they share.
//
// What it is
//   A chapter program describes itself (id, title, its demos in the seed's order, its own options,
//   the entry points spawned children may run) and hands control to run_chapter():
//
//       int main(int argc, char** argv) {
//           return wb::run_chapter(argc, argv, wb::Chapter{
//               .id = "05-process-basics", .title = "Process basics", ...,
//               .demos = {{"function", "a process from a function", demo_function}, ...}});
//       }
//
//   run_chapter is the C++ form of Python's `if __name__ == "__main__":` guard. In the program the
//   user started it parses the options and runs the demos; in a child started with the spawn
//   method (which re-executes this same program) it runs the requested entry point instead and
//   never reaches the demos.
//
// Shared options (every chapter)
//   --help, --list, --demo NAME (repeatable), --time-scale X, --seed N, --format text|jsonl,
//   --trace FILE, --color, --no-color. Chapter options come after them in --help.
//   Unknown or malformed options: one line "<program>: <problem>" + "try --help" on stderr, exit 2.
//   The WORKBOOK_TIME_SCALE environment variable sets the default time scale (the tests use it);
//   --time-scale overrides it.
//
// What a run does
//   1. Configures the clock (epoch = now), the seed, the output and the journal.
//   2. Installs the SIGINT/SIGTERM handlers: on Ctrl-C every child is sent SIGTERM, reaped (SIGKILL
//      after 2 s), and the program exits with 130.
//   3. Runs `module_level` (what Python runs at import time, in the parent and in every spawned
//      child), then each selected demo under a heading. Each demo starts like a fresh program:
//      Process numbering restarts at 1 and main's random stream restarts, so a demo prints the
//      same values whether it runs alone (--demo) or with the others. After each demo, like a Python program
//      at exit, daemon children are terminated and the other children are joined, so a demo never
//      leaks a child into the next one.
//   4. Writes the --trace file, if asked, and returns 0. An exception from a demo prints
//      "<program>: error: <what>" on stderr, cleans up the children and returns 1.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wb {

struct Demo {
    std::string name;     // for --demo, e.g. "start-vs-run"
    std::string summary;  // one line for --list and the heading
    std::function<void()> run;
};

// A chapter-specific option. With an empty `metavar` it is a flag and `set` receives "".
// `set` throws std::invalid_argument (or anything derived from std::exception) to reject a value:
// the driver turns that into a usage error (exit 2).
struct Option {
    std::string name;     // without the dashes: "quantum" for --quantum
    std::string metavar;  // "Q", or "" for a flag
    std::string help;
    std::function<void(std::string_view)> set;
};

// What a spawned child can run: a name and a function of string arguments (the C++ stand-in for
// pickling a function and its arguments).
struct EntryPoint {
    std::string name;
    std::function<void(const std::vector<std::string>&)> run;
};

struct Chapter {
    std::string id;           // directory name, e.g. "05-process-basics"
    std::string title;        // "Process basics"
    std::string description;  // a paragraph for --help
    std::vector<Demo> demos;
    std::vector<Option> options = {};
    std::vector<EntryPoint> entry_points = {};
    // Runs in the parent and in every spawned child, before the guard decides what to run.
    std::function<void()> module_level = {};
    // If set and it returns a value, the demos are skipped and that value is the exit status
    // (chapter 01 runs a single simulation when --policy is given).
    std::function<std::optional<int>()> custom_main = {};
    // Whether "--format json" (one JSON document for the whole run) is offered.
    bool json_document = false;
};

// Runs the chapter as described above; returns the process exit status.
int run_chapter(int argc, char** argv, const Chapter& chapter);

// True in a process started by Process with the spawn method, before run_chapter takes over.
[[nodiscard]] bool is_spawned_child() noexcept;

// Narrow helpers for chapter options.
[[nodiscard]] double parse_double(std::string_view text, std::string_view option);
[[nodiscard]] long long parse_int(std::string_view text, std::string_view option, long long min, long long max);

}  // namespace wb
