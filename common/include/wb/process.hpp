// wb/process.hpp - Process: a real child process with Python's multiprocessing.Process interface.
//
// What it is
//   A Process runs a callable (or an overridden run()) in a new OS process:
//
//       wb::Process p(work, std::string("one"));   // Process(target=work, args=('one',))
//       p.start();                                  // fork; the child calls run(), then exits
//       p.join();                                   // wait for it and reap it
//
//   or, by subclassing (class NewProcess(Process)):
//
//       class NewProcess : public wb::Process { void run() override { ... } };
//
// Start methods
//   fork (default): the child is a copy of the parent; the callable and its arguments are already
//     in its memory. Before forking, stdio is flushed so nothing buffered is printed twice.
//   spawn: posix_spawn() re-executes this program (/proc/self/exe) with a description of the
//     child in the environment; wb::run_chapter() (the "main guard") sees it and runs the named
//     EntryPoint with string arguments instead of the demos. Everything main() does before
//     run_chapter, and Chapter::module_level, runs again in the child - the reason Python needs
//     `if __name__ == "__main__":`.
//
// States
//   created --start()--> running --(child ends)--> ended, not reaped (a zombie) --join/is_alive-->
//   reaped. pid() is empty before start(); exitcode() is empty until the child has been reaped.
//   Exit codes follow Python: 0 for a normal end, 1 when run() threw (the error is printed as an
//   "error" event and on stderr), N for exit_process(N), and -N when signal N ended the child.
//
// Guarantees
//   - Every child is reaped: by join(), by is_alive() once it ended, and at the latest when the
//     demo (or the child's own run()) ends: daemon children are then terminated (SIGTERM) and
//     joined, the others joined, as Python does at interpreter exit.
//   - A daemon process may not start children: start() in a daemon throws std::logic_error
//     ("daemonic processes are not allowed to have children").
//   - join(timeout) returns false (and leaves the child running) when the logical timeout
//     elapses first. It waits on a pidfd with poll(), no sleeping loop.
//   - terminate() sends SIGTERM, kill() SIGKILL. Right after either, is_alive() may still be true:
//     the signal is delivered asynchronously; it becomes false once the child has been reaped.
//   - SIGTERM to a process running this library also terminates and reaps its own children first
//     (then the process dies of SIGTERM, exit code -15).
//   - Children end with their parent. SIGKILL cannot be caught, so a killed parent cannot clean
//     up; instead every child arms a parent-death signal (prctl PR_SET_PDEATHSIG, SIGKILL) as the
//     first thing it does, before it runs any of the program's code, and exits at once if its
//     parent is already gone by then (getppid() no longer names it). Grandchildren do the same
//     towards their parent, so killing main ends the whole tree. Python does not do this (the
//     children of a killed Python program run on as orphans); a demo that shows an orphan on
//     purpose opts out with set_end_with_parent(false) and cleans up itself.
//     Caveat: the kernel sends the signal when the *thread* that started the child ends, not the
//     process. Start children from a thread that lives at least as long as they do (the main
//     thread, or one the demo joins after joining its children).
// Errors
//   fork/posix_spawn/waitpid failures throw wb::SystemError. start() twice throws std::logic_error;
//   set_daemon() after start() throws std::logic_error; join() before start() throws.
// Process death
//   A Process object destroyed while its child runs does not kill it; the child stays registered
//   and is reaped at the end of the demo.
#pragma once

#include <sys/types.h>

#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace wb {

enum class StartMethod { fork, spawn };

// Thrown inside a child to end it with a given exit code (Python's sys.exit(N) in a child).
struct ExitProcess {
    int code;
};
[[noreturn]] void exit_process(int code);

namespace detail {
struct ChildState;
}

class Process {
public:
    // Process(target=f, args=(a, b)): the arguments are copied now, like Python binds them.
    template <typename F, typename... Args>
        requires std::invocable<std::decay_t<F>&, std::decay_t<Args>&...>
    explicit Process(F&& target, Args&&... args)
        : target_([f = std::forward<F>(target), tup = std::make_tuple(std::forward<Args>(args)...)]() mutable {
              std::apply(f, tup);
          }) {
        assign_identity();
    }

    // A spawned process: runs the chapter's EntryPoint `entry` with `args` in a fresh image.
    [[nodiscard]] static Process spawn(std::string entry, std::vector<std::string> args = {});

    Process(Process&&) noexcept;
    Process& operator=(Process&&) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    virtual ~Process();

    // Starts the child. Throws std::logic_error when started twice or called in a daemon.
    void start();
    // What the child executes. The default calls the target; subclasses override it. Calling it
    // directly runs it here, in the caller's process (Python's p.run(): serial, no new process).
    virtual void run();

    // Waits for the child to end and reaps it.
    void join();
    // Waits at most `logical_timeout` seconds; true if the child ended (and was reaped).
    bool join(double logical_timeout);
    // True from start() until the child has been reaped. Reaps it if it has ended.
    [[nodiscard]] bool is_alive();
    void terminate();  // SIGTERM
    void kill();       // SIGKILL

    [[nodiscard]] std::optional<pid_t> pid() const noexcept;
    [[nodiscard]] std::optional<int> exitcode() const noexcept;
    [[nodiscard]] std::string name() const;
    void set_name(std::string name);
    [[nodiscard]] bool daemon() const noexcept { return daemon_; }
    void set_daemon(bool daemon);
    // Whether the child is killed when its parent dies (default true, see Guarantees). Set before
    // start(); false lets the child outlive its parent as an orphan (chapter 08 shows one).
    [[nodiscard]] bool ends_with_parent() const noexcept { return end_with_parent_; }
    void set_end_with_parent(bool end_with_parent);
    [[nodiscard]] StartMethod start_method() const noexcept { return method_; }
    // Python-style identity: {3} for Process-3, {1, 2} for the second child of Process-1.
    [[nodiscard]] const std::vector<int>& identity() const noexcept { return identity_; }

protected:
    // For subclasses that override run().
    Process() { assign_identity(); }

private:
    void assign_identity();
    std::function<void()> target_;
    std::string name_;
    std::vector<int> identity_;
    bool daemon_ = false;
    bool end_with_parent_ = true;
    StartMethod method_ = StartMethod::fork;
    std::string entry_;
    std::vector<std::string> entry_args_;
    std::shared_ptr<detail::ChildState> state_;
};

// The calling process, as Python's multiprocessing.current_process() describes it.
struct CurrentProcess {
    std::string name;  // "MainProcess" in the main program
    pid_t pid;
    bool daemon;
    std::vector<int> identity;  // empty in the main process
};
[[nodiscard]] CurrentProcess current_process();

// Ends the demo like a Python program ends: terminates daemon children, joins the others.
// The driver calls it after every demo; a child calls it after run().
void reap_children_at_exit();
// Sends SIGTERM to every child of this process that has not been reaped, then reaps them all;
// a child still there after 2 s of real time gets SIGKILL (the error path of the driver; Ctrl-C
// does the same from the signal handler).
void terminate_children();
// How many children of this process are started and not yet reaped.
[[nodiscard]] std::size_t live_children();

namespace detail {
// Used by the chapter driver (wb/chapter.hpp); not for chapters.
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
}  // namespace detail

}  // namespace wb
