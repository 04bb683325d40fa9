// run_program.hpp - runs a chapter program as a user would, for the output checks.
//
// run_chapter({"--format", "jsonl", "--seed", "3"}) starts the program named by the
// WB_CHAPTER_EXE environment variable (set by tests/meson.build) with those arguments, collects
// its stdout and stderr, and parses stdout as JSON lines when it is jsonl.
//
// It also checks that nothing is left behind, the clean-exit convention of the workbook:
//   - no descendant process: the harness is a child subreaper (PR_SET_CHILD_SUBREAPER), so any
//     orphaned grandchild of the program is re-parented to it; after the program exits, every
//     remaining child of the harness is a leak (it is killed, reaped and reported);
//   - no new entry in /dev/shm;
//   - no file left in the private TMPDIR the program is given.
// The result's `leftovers` lists what was found; REQUIRE(r.leftovers.empty()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace harness {

using Json = nlohmann::json;

struct Result {
    int exit_code = -1;     // exit status, or -N when killed by signal N
    std::string out;        // stdout
    std::string err;        // stderr
    std::vector<Json> events;  // stdout parsed as JSON lines (when every line parses)
    bool jsonl_ok = false;     // every non-empty stdout line was one JSON object
    std::vector<std::string> leftovers;
    double wall_seconds = 0;   // real time the program took
};

struct Options {
    std::vector<std::string> env = {};  // extra "NAME=value" entries
    std::chrono::seconds timeout{120};  // the program is killed (and the test fails) after this
    int send_sigint_after_ms = -1;      // if >= 0: SIGINT the program after this many ms
    int send_sigkill_after_ms = -1;     // if >= 0: SIGKILL the program after this many ms
    std::string stdin_text = {};
    bool close_stdout = false;          // start the program with descriptor 1 closed (prog >&-)
    long nofile_limit = -1;             // if >= 0: RLIMIT_NOFILE of the program (prlimit --nofile)
    // After the program ended, how long its descendants may take to end by themselves before
    // those still there count as left behind. 0 for a normal run (it reaps its children before
    // it exits); a program that was SIGKILLed has its children end through their parent-death
    // signal, which takes the kernel a moment: "no child alive shortly after".
    std::chrono::milliseconds leftover_grace{0};
    // The program's TMPDIR. Empty: a fresh private one, checked for leftovers and removed. Given:
    // that directory, left as the program left it (for tests of what a later run does with it).
    std::string tmpdir = {};
};

// The chapter program under test (WB_CHAPTER_EXE).
[[nodiscard]] std::string chapter_exe();

// Runs `exe` with `args`.
[[nodiscard]] Result run_program(const std::string& exe, const std::vector<std::string>& args,
                                 const Options& options = {});
// Runs the chapter under test with `args`.
[[nodiscard]] Result run_chapter(const std::vector<std::string>& args, const Options& options = {});
// Runs the chapter with --format jsonl --seed N (and `extra`), requires a clean exit 0,
// parseable jsonl and no leftovers (Catch2 REQUIREs), and returns the result.
[[nodiscard]] Result run_jsonl(unsigned seed, const std::vector<std::string>& extra = {});

// The children of the calling process that still exist (running or zombie), read from /proc.
[[nodiscard]] std::vector<pid_t> children_of_this_process();

// Helpers for checks over events.
[[nodiscard]] std::vector<Json> select(const std::vector<Json>& events, const std::string& event_name);
[[nodiscard]] std::vector<Json> select_demo(const std::vector<Json>& events, const std::string& demo);

}  // namespace harness
