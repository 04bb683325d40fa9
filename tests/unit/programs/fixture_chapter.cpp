// A chapter-shaped program for the unit tests of common/: it runs under wb::run_chapter like every
// chapter, so the tests can check the driver (options, --help, --trace, exit codes), the spawn
// start method (an EntryPoint and module_level), Ctrl-C clean-up and the output layer seen from
// outside (lines from many processes into a pipe or a file, printf before a fork).
//
// It is not a lesson: each demo exists to give one test something to observe.
//   hello        a note, an event, a rest span and a block; reports the time scale and seed
//   lines        --procs M children each emit --lines N numbered "line" events
//   printf-fork  printf() without a newline before forking children that printf() too
//   spawn        three spawned children (exit 0, exit 3, a throw) and one forked child
//   sleepers     --procs children resting --rest s, the first with a resting child of its own;
//                with --fail the demo throws while they rest (the driver's error path)
//
// With --hold-sigint, SIGINT stays blocked (as inherited from the test) until the sleepers have
// been started, so a test's SIGINT always lands while the children rest: it never depends on how
// fast the program started. Without it, module_level unblocks SIGINT.
//
// The chapter's mode (wb::Chapter::mode) does what --mode-exit, --mode-misuse and --mode-warn ask,
// so the tests can see a mode replace the demos, report a usage error and warn.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"

namespace {

long long g_procs = 8;
long long g_lines = 1000;
double g_rest = 1.0;
bool g_hold_sigint = false;
bool g_fail = false;
std::optional<int> g_mode_exit;  // --mode-exit N: the mode runs instead of the demos, exit status N
bool g_mode_misuse = false;      // --mode-misuse: the mode finds options that do not go together
bool g_mode_warn = false;        // --mode-warn: the mode warns, and the demos run

std::optional<int> fixture_mode() {
    if (g_mode_warn) wb::warn("--mode-warn: a warning, and the run goes on");
    if (g_mode_misuse) return wb::usage_error("--mode-misuse: options that do not go together");
    if (g_mode_exit) {
        wb::emit("mode.ran", {{"status", *g_mode_exit}}, "the mode ran instead of the demos");
        return *g_mode_exit;
    }
    return std::nullopt;
}

void unblock_sigint() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

void demo_hello() {
    wb::note("a note from the fixture");
    wb::emit("hello",
             {{"time_scale", wb::clock::time_scale()},
              {"seed", wb::seed()},
              {"first_random", wb::rng().uniform_int(1, 100)}},
             "hello from the fixture");
    wb::rest(1.0);
    wb::emit_block("table", {{"rows", 2}}, "row one\nrow two");
}

void emit_lines(int proc) {
    for (long long seq = 0; seq < g_lines; ++seq) {
        wb::emit("line", {{"proc", proc}, {"seq", seq}}, fmt::format("line {} of process {}", seq, proc));
    }
}

void demo_lines() {
    std::vector<wb::Process> children;
    for (int i = 0; i < g_procs; ++i) children.emplace_back(emit_lines, i);
    for (auto& p : children) p.start();
    for (auto& p : children) p.join();
}

// stdout through stdio: line-buffered on a terminal, fully buffered on a pipe or a file. Whatever is
// still in the buffer at fork() would be copied into every child and printed once more by each,
// unless start() flushes first.
void printf_child(int i) {
    std::printf("MARK-CHILD-%d\n", i);
    std::printf("MARK-CHILD-TAIL-%d", i);  // no newline: flushed by the child's exit
}

void demo_printf_fork() {
    std::printf("MARK-BEFORE-FORK ");  // no newline, still in the buffer when the children start
    std::printf("MARK-SECOND-BEFORE-FORK\n");
    std::vector<wb::Process> children;
    for (int i = 0; i < 3; ++i) children.emplace_back(printf_child, i);
    for (auto& p : children) p.start();
    std::printf("MARK-AFTER-START\n");
    for (auto& p : children) p.join();
    std::printf("MARK-AFTER-JOIN\n");
}

// The entry point of the spawned children: args[0] is the exit code, or "throw" with a message.
void entry(const std::vector<std::string>& args) {
    const auto me = wb::current_process();
    wb::emit("entry.ran",
             {{"args", args},
              {"name", me.name},
              {"identity", me.identity},
              {"pid", static_cast<long>(::getpid())},
              {"ppid", static_cast<long>(::getppid())},
              {"time_scale", wb::clock::time_scale()},
              {"seed", wb::seed()},
              {"first_random", wb::rng().next()}},
             fmt::format("entry ran with {} argument(s)", args.size()));
    if (args.at(0) == "throw") throw std::runtime_error(args.at(1));
    wb::exit_process(std::stoi(args.at(0)));
}

void demo_spawn() {
    std::vector<wb::Process> children;
    children.push_back(wb::Process::spawn("entry", {"0"}));
    children.push_back(wb::Process::spawn("entry", {"3"}));
    children.push_back(wb::Process::spawn("entry", {"throw", "boom from a spawned child"}));
    children.emplace_back([] { wb::emit("forked.ran", {}, "the forked child ran"); });
    for (auto& p : children) p.start();
    for (auto& p : children) p.join();
    for (auto& p : children) {
        wb::emit("spawn.result",
                 {{"name", p.name()},
                  {"pid", static_cast<long>(*p.pid())},
                  {"method", p.start_method() == wb::StartMethod::spawn ? "spawn" : "fork"},
                  {"exitcode", *p.exitcode()}},
                 fmt::format("{} ended with exit code {}", p.name(), *p.exitcode()));
    }
}

// Each sleeper writes one byte here once it is set up (the first after starting its own child), so
// main knows when the whole tree is in place.
int g_ready_fd = -1;

void say_ready() {
    if (::write(g_ready_fd, "r", 1) != 1) throw std::runtime_error("write (ready pipe) failed");
}

void rest_alone() {
    wb::Span rest("rest", {{"seconds", g_rest}}, fmt::format("starts resting {} s", g_rest));
    say_ready();  // after the begin event: main's "sleepers.ready" comes after every sleeper's
    wb::clock::sleep(g_rest);
    rest.end("finished resting");
}

void rest_with_child() {
    wb::Process grandchild(rest_alone);
    grandchild.start();
    rest_alone();
    grandchild.join();
}

void demo_sleepers() {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    g_ready_fd = ready[1];
    std::vector<wb::Process> children;
    children.emplace_back(rest_with_child);
    for (int i = 1; i < g_procs; ++i) children.emplace_back(rest_alone);
    for (auto& p : children) p.start();
    // Wait until every child and the grandchild is set up: a byte from each.
    for (long long n = 0; n < g_procs + 1;) {
        char c;
        const ssize_t got = ::read(ready[0], &c, 1);
        if (got == 1) ++n;
        if (got == 0 || (got < 0 && errno != EINTR)) throw std::runtime_error("read (ready pipe) failed");
    }
    ::close(ready[0]);
    ::close(ready[1]);
    wb::emit("sleepers.ready", {{"children", children.size()}}, "all sleepers started");
    unblock_sigint();  // a pending SIGINT is delivered here, with the whole tree resting
    if (g_fail) throw std::runtime_error("deliberate failure with sleepers still resting");
    for (auto& p : children) p.join();
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "unit-fixture",
        .title = "Fixture chapter for the unit tests of common/",
        .description = "Not a lesson: each demo gives one unit test of common/ something to observe.",
        .demos = {
            {"hello", "a note, an event, a rest and a block", demo_hello},
            {"lines", "--procs children each emit --lines numbered lines", demo_lines},
            {"printf-fork", "printf() before fork() is printed once", demo_printf_fork},
            {"spawn", "spawned children run the entry point", demo_spawn},
            {"sleepers", "children resting --rest s, one with a child of its own", demo_sleepers},
        },
        .options = {
            {"procs", "M", "how many children (1-64, default 8)",
             [](std::string_view v) { g_procs = wb::parse_int(v, "procs", 1, 64); }},
            {"lines", "N", "lines per child in the lines demo (1-100000, default 1000)",
             [](std::string_view v) { g_lines = wb::parse_int(v, "lines", 1, 100000); }},
            {"rest", "S", "logical seconds each sleeper rests (default 1)",
             [](std::string_view v) {
                 g_rest = wb::parse_double(v, "rest");
                 if (g_rest < 0) throw std::invalid_argument("--rest must be >= 0");
             }},
            {"hold-sigint", "", "keep SIGINT blocked until the sleepers have started",
             [](std::string_view) { g_hold_sigint = true; }},
            {"fail", "", "the sleepers demo throws once its children have started",
             [](std::string_view) { g_fail = true; }},
            {"mode-exit", "N", "the mode runs instead of the demos and exits with N (0-100)",
             [](std::string_view v) { g_mode_exit = static_cast<int>(wb::parse_int(v, "mode-exit", 0, 100)); }},
            {"mode-misuse", "", "the mode reports a usage error", [](std::string_view) { g_mode_misuse = true; }},
            {"mode-warn", "", "the mode warns, then the demos run", [](std::string_view) { g_mode_warn = true; }},
        },
        .entry_points = {{"entry", entry}},
        .module_level = [] {
            if (!g_hold_sigint) unblock_sigint();
            wb::emit("module_level", {{"pid", static_cast<long>(::getpid())}, {"name", wb::current_process().name}},
                     "module level runs");
        },
        .mode = fixture_mode,
    });
}
