// Helpers for the tests of the process-shared primitives: forking children that never return
// into Catch2, reaping every one of them (also when a REQUIRE fails in the parent), and waiting
// for conditions with a generous bound instead of sleeping for a guessed time.
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/proc.hpp"

namespace wb::test {

// The tests run at the scale meson gives them (WORKBOOK_TIME_SCALE=0.01), and at 0.01 when the
// binary is run by hand, so that logical timeouts of a few seconds stay short.
inline const bool time_scale_applied = [] {
    const char* text = std::getenv("WORKBOOK_TIME_SCALE");
    clock::set_time_scale(text != nullptr ? std::stod(text) : 0.01);
    return true;
}();

// Real time, for the safety bounds of the tests (not scaled: they only stop a broken test).
inline double real_seconds() { return static_cast<double>(clock::monotonic_ns()) / 1e9; }

inline void pause_briefly() {
    const timespec ts{0, 200'000};  // 0.2 ms
    ::nanosleep(&ts, nullptr);
}

// Polls `condition` until it holds or `limit_seconds` of real time pass; returns the last value.
template <typename Condition>
bool eventually(Condition condition, double limit_seconds = 20.0) {
    const double give_up = real_seconds() + limit_seconds;
    while (!condition()) {
        if (real_seconds() > give_up) return condition();
        pause_briefly();
    }
    return true;
}

// The scheduler state letter of a process from /proc/<pid>/stat: 'R' running, 'S' sleeping
// (blocked in a wait), 'Z' zombie, ...
inline char process_state(pid_t pid) {
    const auto stat = read_proc_stat(pid);
    return stat ? stat->state : '?';
}

// Every name in a directory (sorted), e.g. /dev/shm or /proc/self/fd.
inline std::vector<std::string> directory_entries(const std::string& path) {
    std::vector<std::string> names;
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) throw_errno("opendir " + path);
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

// Children forked by one test. The destructor SIGKILLs and reaps any child not yet reaped, so a
// failed REQUIRE in the parent never leaves processes behind.
class Children {
public:
    Children() = default;
    Children(const Children&) = delete;
    Children& operator=(const Children&) = delete;
    ~Children() {
        for (const pid_t pid : running_) {
            ::kill(pid, SIGKILL);
            int status = 0;
            while (::waitpid(pid, &status, 0) == -1 && errno == EINTR) {
            }
        }
    }

    // Forks a child that runs body() and _exit()s with its result: 0 means success. An exception
    // is printed and becomes exit code 101. The child never returns into Catch2 (do not use
    // REQUIRE/CHECK inside body: report through the exit code).
    template <typename Body>
    pid_t fork(Body body) {
        std::fflush(nullptr);  // nothing buffered is written twice
        const pid_t pid = check(::fork(), "fork");
        if (pid == 0) {
            int code = 100;
            try {
                code = body();
            } catch (const std::exception& error) {
                std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), error.what());
                code = 101;
            } catch (...) {
                code = 102;
            }
            std::fflush(nullptr);
            ::_exit(code);
        }
        running_.push_back(pid);
        return pid;
    }

    // Waits (at most `limit_seconds` of real time) for `pid` to end and reaps it. Returns its wait
    // status, or nothing if it is still running then (it stays registered, killed at the end).
    std::optional<int> wait(pid_t pid, double limit_seconds = 60.0) {
        const double give_up = real_seconds() + limit_seconds;
        for (;;) {
            int status = 0;
            const pid_t done = ::waitpid(pid, &status, WNOHANG);
            if (done == pid) {
                running_.erase(std::find(running_.begin(), running_.end(), pid));
                return status;
            }
            if (done == -1 && errno != EINTR) throw_errno("waitpid");
            if (real_seconds() > give_up) return std::nullopt;
            pause_briefly();
        }
    }

    // Waits for every child; returns how many did not exit with status 0 (killed ones count).
    int wait_all_failures(double limit_seconds = 120.0) {
        int failures = 0;
        const double give_up = real_seconds() + limit_seconds;
        for (const pid_t pid : std::vector<pid_t>(running_)) {
            const auto status = wait(pid, std::max(0.0, give_up - real_seconds()));
            if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) ++failures;
        }
        return failures;
    }

    // SIGKILLs `pid` and reaps it; returns its wait status.
    int kill(pid_t pid) {
        check(::kill(pid, SIGKILL), "kill");
        const auto status = wait(pid);
        return status.value_or(-1);
    }

private:
    std::vector<pid_t> running_;
};

inline bool exited_with(const std::optional<int>& status, int code) {
    return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

}  // namespace wb::test
