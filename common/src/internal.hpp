// internal.hpp - the hooks between the layers of common/ and the chapter driver.
//
// Not a public header: chapters never include it (it lives in src/, outside the include path
// chapters get). The driver (chapter.cpp) calls these to set a run up; the layers use them to
// reach each other without a cycle: output knows nothing of processes (the process layer tells it
// the current process's actor name), the process layer emits events through output. The library's
// own unit tests include it (wb_internal_dep) for white-box checks of these hooks.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wb/error.hpp"
#include "wb/output.hpp"

namespace wb::detail {

// --- output ---------------------------------------------------------------------------------
// Emits an event with an optional span phase ("begin"/"end", or empty).
void emit_event(std::string_view actor, std::string_view event, Json fields, std::string_view text,
                std::string_view phase, bool block = false);
// The actor of this process's events when no thread named its own ("MainProcess", "Process-3");
// set by the process layer when a child takes its identity.
void set_process_actor(std::string name);

// --- process and driver ------------------------------------------------------------------------
void install_signal_handlers();
void set_program(std::string argv0, std::vector<std::string> entry_point_names);
// Each demo starts like a fresh program: Process numbering from 1, main's random stream anew.
void reset_for_demo();
void become_child(std::string name, std::vector<int> identity, bool daemon);
// In a new child, before anything else: arms SIGKILL on the death of `parent` (the pid that
// forked or spawned it) and exits at once if that parent is already gone.
void end_with_parent(pid_t parent) noexcept;
// Runs `body` as a child's run(): returns the exit code (0, ExitProcess's code, or 1 on an
// exception, which is reported as an "error" event and on stderr).
int run_child_body(const std::function<void()>& body);
// Flushes stdio and ends the process with _exit(code) (no atexit handlers, no double flush).
[[noreturn]] void child_exit(int code);
// In a spawned child: the description the parent put in the environment (then removed from it),
// or null in a process the user started.
struct SpawnDescription {
    std::string entry;
    std::vector<std::string> args;
};
std::optional<SpawnDescription> adopt_spawn_description();

// For a library piece that forks children of its own (wb::ProcessPool's workers): the SIGINT and
// SIGTERM handler then ends `pid` together with the Process children; forget it once reaped.
void track_child_for_signals(pid_t pid) noexcept;
void untrack_child_for_signals(pid_t pid) noexcept;

// Blocks SIGINT and SIGTERM for its lifetime (or until release()), restoring the previous mask:
// held across fork() and the registration of the child, so a Ctrl-C in between cannot leak it
// (Process::start, ProcessPool's workers).
class SignalsHeld {
public:
    SignalsHeld() {
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        wb::check_pthread(::pthread_sigmask(SIG_BLOCK, &block, &previous_), "pthread_sigmask");
    }
    SignalsHeld(const SignalsHeld&) = delete;
    SignalsHeld& operator=(const SignalsHeld&) = delete;
    ~SignalsHeld() { release(); }
    void release() noexcept {
        if (held_) ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
        held_ = false;
    }
    [[nodiscard]] const sigset_t& previous() const noexcept { return previous_; }

private:
    sigset_t previous_{};
    bool held_ = true;
};

// --- temp directories ---------------------------------------------------------------------------
// Called from the signal handler: removes every registered directory. Async-signal-safe.
void remove_temp_directories_from_signal() noexcept;

}  // namespace wb::detail

namespace wb::journal {
// Opens the journal (driver, main process) or adopts an inherited one (spawned child).
void open();
void adopt(int fd);
}  // namespace wb::journal
