// Benchmarks of starting and joining a process (wb/process.hpp), each next to the bare system
// calls in the same binary, so the library's cost reads as a ratio of two lines of one run:
//
//   process-fork/library    wb::Process p(noop); p.start(); p.join();        (start method fork)
//   process-fork/bare       fork(); the child _exit(0)s; waitpid()
//   process-spawn/library   wb::Process::spawn("noop").start(); join();      (start method spawn)
//   process-spawn/bare      posix_spawn() of this same binary with --bare-child, which makes it
//                           _exit(0) first thing in main(); waitpid()
//
// One iteration is one whole start+join, measured in real time (the waiting is in the kernel).
// The spawn figures execute the same program image on both sides: the library's child re-executes
// /proc/self/exe and runs the entry point "noop" through wb::run_chapter (the C++ "main guard"),
// the bare child stops at the top of main(). The difference is what the library adds: its
// description of the child in the environment, the signal mask dance, a pidfd, the events, and
// in the child the driver's start-up (parsing that description, signal handlers, clean exit).
//
// The program is a tiny chapter-like program so that spawned children find their entry point:
// main() hands every --benchmark_* option to Google Benchmark, the rest to wb::run_chapter, whose
// mode runs the benchmarks. Python's peers are bench/python/process_start.py; the table is
// made by bench/run_bench.py (./workbook bench).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>

#include "wb/chapter.hpp"
#include "wb/process.hpp"

extern char** environ;

namespace {

constexpr const char* kBareChildFlag = "--bare-child";

// The path of this binary for the bare posix_spawn (the library uses /proc/self/exe too).
constexpr const char* kSelf = "/proc/self/exe";

[[noreturn]] void fail(const char* call, int error) {
    throw std::system_error(error, std::generic_category(), call);
}

// waitpid until the child has ended; its status must be a normal exit 0.
void wait_for_clean_exit(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) fail("waitpid", errno);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("the child did not exit with status 0");
    }
}

// Runs `body` inside the benchmark; an exception becomes a benchmark error (the orchestrator and
// the smoke test then see "error_occurred" instead of a number).
template <typename Body>
void guarded(benchmark::State& state, Body body) {
    try {
        body();
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

void noop() {}

// ---- fork ---------------------------------------------------------------------------------

void BM_ProcessFork_Library(benchmark::State& state) {
    guarded(state, [&] {
        for (auto _ : state) {
            wb::Process p(noop);
            p.start();
            p.join();
            if (p.exitcode() != 0) throw std::runtime_error("the wb::Process child failed");
        }
    });
    state.SetItemsProcessed(state.iterations());
}

void BM_ProcessFork_Bare(benchmark::State& state) {
    guarded(state, [&] {
        for (auto _ : state) {
            const pid_t pid = ::fork();
            if (pid < 0) fail("fork", errno);
            if (pid == 0) ::_exit(0);
            wait_for_clean_exit(pid);
        }
    });
    state.SetItemsProcessed(state.iterations());
}

// ---- spawn --------------------------------------------------------------------------------

void BM_ProcessSpawn_Library(benchmark::State& state) {
    guarded(state, [&] {
        for (auto _ : state) {
            wb::Process p = wb::Process::spawn("noop");
            p.start();
            p.join();
            if (p.exitcode() != 0) throw std::runtime_error("the spawned wb::Process child failed");
        }
    });
    state.SetItemsProcessed(state.iterations());
}

void BM_ProcessSpawn_Bare(benchmark::State& state) {
    guarded(state, [&] {
        std::string arg0 = "process-bench";
        std::string flag = kBareChildFlag;
        char* argv[] = {arg0.data(), flag.data(), nullptr};
        for (auto _ : state) {
            pid_t pid = -1;
            const int rc = ::posix_spawn(&pid, kSelf, nullptr, nullptr, argv, environ);
            if (rc != 0) fail("posix_spawn", rc);
            wait_for_clean_exit(pid);
        }
    });
    state.SetItemsProcessed(state.iterations());
}

void register_benchmarks() {
    benchmark::RegisterBenchmark("process-fork/library", BM_ProcessFork_Library)->UseRealTime();
    benchmark::RegisterBenchmark("process-fork/bare", BM_ProcessFork_Bare)->UseRealTime();
    benchmark::RegisterBenchmark("process-spawn/library", BM_ProcessSpawn_Library)->UseRealTime();
    benchmark::RegisterBenchmark("process-spawn/bare", BM_ProcessSpawn_Bare)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
    // The bare spawn's child: the same image, ended before anything else runs.
    if (argc == 2 && std::strcmp(argv[1], kBareChildFlag) == 0) ::_exit(0);

    const wb::Chapter chapter{
        .id = "process-bench",
        .title = "Benchmarks: process start+join, fork and spawn",
        .description = "Google Benchmark figures of wb::Process next to bare fork/posix_spawn. "
                       "Every --benchmark_* option goes to Google Benchmark (see --benchmark_list_tests).",
        .demos = {},
        .entry_points = {{"noop", [](const std::vector<std::string>&) {}}},
        .mode = []() -> std::optional<int> {
            register_benchmarks();
            benchmark::RunSpecifiedBenchmarks();
            benchmark::Shutdown();
            return 0;
        },
    };
    // A child spawned by wb::Process goes straight to its entry point: the main guard.
    if (wb::is_spawned_child()) return wb::run_chapter(argc, argv, chapter);

    benchmark::Initialize(&argc, argv);  // takes the --benchmark_* options out of argv
    return wb::run_chapter(argc, argv, chapter);
}
