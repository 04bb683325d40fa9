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
//   --help, --list, --demo NAME (repeatable), --time-scale X, --seed N, --format F (the chapter's
//   `formats`: text and jsonl unless it says otherwise), --trace FILE, --color, --no-color.
//   Chapter options come after them in --help.
//   Unknown or malformed options: "<program>: <problem>" and "try '<program> --help'" on stderr,
//   exit 2 (usage_error() below prints the same for a problem the chapter finds itself).
//   The WORKBOOK_TIME_SCALE environment variable sets the default time scale (the tests use it);
//   --time-scale overrides it.
//
// What a run does
//   1. Configures the clock (epoch = now), the seed, the output and the journal.
//   2. Installs the SIGINT/SIGTERM handlers: on Ctrl-C every child is sent SIGTERM, reaped (SIGKILL
//      after 2 s), and the program exits with 130.
//   3. Runs `module_level` (what Python runs at import time, in the parent and in every spawned
//      child), then the chapter's `mode` if it has one (Chapter::mode: a program with a second way
//      to run decides there whether it takes it), then each selected demo under a heading. Each
//      demo starts like a fresh program: Process numbering restarts at 1 and main's random stream
//      restarts, so a demo prints the same values whether it runs alone (--demo) or with the
//      others. After each demo, like a Python program at exit, daemon children are terminated and
//      the other children are joined, so a demo never leaks a child into the next one.
//   4. Writes the --trace file, if asked, and returns 0 (or the status the mode returned). An
//      exception from a demo prints "<program>: error: <what>" on stderr, cleans up the children
//      and returns 1.
//
// A program with another way to run (chapter 01's single simulation with --policy, chapter 09's
// --serve) describes it with the same generic pieces every chapter can use - its own options, the
// `formats` it offers, a `mode`, usage_error() and warn() - so the driver names no chapter and
// grows no hook for one: the chapter's main() says which mode runs, the driver only when.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wb/output.hpp"

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
    // The values --format accepts, in the order --help and the usage error list them. Text is
    // the default, so list it. Format::json means the program prints one JSON document of its own
    // and events go to the journal only: offer it only with a `mode` that prints that document.
    std::vector<Format> formats = {Format::text, Format::jsonl};
    // The program's other way to run, if it has one, chosen by its own options (one simulation of
    // the user's jobs instead of the demos, a server run alone until Ctrl-C).
    //   When: once, in the program the user started (never in a spawned child), after the options
    //     are parsed and applied, the run configured (clock, seed, output, journal, signal
    //     handlers) and `module_level` run; before anything is printed and before any demo.
    //   Returns std::nullopt to let the demos run, or the exit status of the run it did instead;
    //     the demos are then skipped, the --trace file is still written, and that status is
    //     run_chapter's. For options that do not go together it calls usage_error() and returns
    //     its 2. If it returns std::nullopt with --format json, nothing would print the document:
    //     the driver reports that as a usage error (exit 2).
    //   Errors: an exception ends the run like one from a demo: "<program>: error: <what>",
    //     children cleaned up, exit 1.
    std::function<std::optional<int>()> mode = {};
};

// Runs the chapter as described above; returns the process exit status.
int run_chapter(int argc, char** argv, const Chapter& chapter);

// True in a process started by Process with the spawn method, before run_chapter takes over.
[[nodiscard]] bool is_spawned_child() noexcept;

// Reports a problem with the command line that the chapter finds itself (options that do not go
// together, found by its `mode`): writes "<program>: <problem>" and "try '<program> --help'" on
// stderr, exactly as the driver does for a malformed option, and returns 2, the exit status of a
// usage error, so a mode can `return wb::usage_error("give either --jobs or --count, not both");`.
// <program> is the name run_chapter was started under (argv[0] without its directory).
// Never throws; a failed write to stderr is ignored.
[[nodiscard]] int usage_error(std::string_view problem) noexcept;

// Warns about something that does not stop the run (an option with no effect): writes
// "<program>: warning: <problem>" on stderr. Never throws; a failed write is ignored.
void warn(std::string_view problem) noexcept;

// Narrow helpers for chapter options.
[[nodiscard]] double parse_double(std::string_view text, std::string_view option);
[[nodiscard]] long long parse_int(std::string_view text, std::string_view option, long long min, long long max);

}  // namespace wb
