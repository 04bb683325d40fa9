#include "wb/process.hpp"

#include <cxxabi.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <typeinfo>

#include <fmt/core.h>

#include "internal.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"
#include "wb/random.hpp"
#include "wb/temp_directory.hpp"

extern char** environ;

namespace wb {

namespace detail {
struct ChildState {
    pid_t pid = -1;
    int pidfd = -1;  // for join(timeout): becomes readable when the child ends
    bool reaped = false;
    std::optional<int> exitcode;
    bool daemon = false;
    std::string name;
};
}  // namespace detail

namespace {

constexpr const char* kSpawnVariable = "WORKBOOK_SPAWN";

// This process's identity, as Python's current_process() sees it.
std::string g_name = "MainProcess";
std::vector<int> g_identity;
bool g_daemon = false;
int g_counter = 0;  // children created so far by this process (Process-N)
std::string g_argv0 = "workbook";
std::vector<std::string> g_entry_points;

// Children started and not yet reaped. Process objects share their state with this list, so a
// child whose Process object is gone is still reaped at exit. Used from one thread at a time.
std::vector<std::shared_ptr<detail::ChildState>> g_children;

// The same pids in a form a signal handler may read: a fixed array of atomics.
constexpr std::size_t kMaxChildren = 1024;
std::array<std::atomic<pid_t>, kMaxChildren> g_signal_pids{};

void remember_pid(pid_t pid) {
    for (auto& slot : g_signal_pids) {
        pid_t empty = 0;
        if (slot.compare_exchange_strong(empty, pid)) return;
    }
    // More than kMaxChildren at once: the child is still reaped normally, only the signal
    // handler would not know it. The workbook never comes near this.
}

void forget_pid(pid_t pid) {
    for (auto& slot : g_signal_pids) {
        pid_t expected = pid;
        if (slot.compare_exchange_strong(expected, 0)) return;
    }
}

std::uint64_t stream_for(const std::vector<int>& identity) {
    std::uint64_t s = 0;
    for (int i : identity) s = s * 1000003u + static_cast<std::uint64_t>(i);
    return s;
}

std::string identity_text(const std::vector<int>& identity) {
    std::string out;
    for (int i : identity) out += (out.empty() ? "" : ":") + std::to_string(i);
    return out;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return -1;
}

// Waits for (block) or polls the child; records its exit code once reaped.
void reap(detail::ChildState& s, bool block) {
    if (s.reaped) return;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(s.pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r < 0) throw_errno(fmt::format("waitpid({})", s.pid));
    if (r == 0) return;  // still running
    s.reaped = true;
    s.exitcode = decode_status(status);
    if (s.pidfd >= 0) {
        ::close(s.pidfd);
        s.pidfd = -1;
    }
    forget_pid(s.pid);
    std::erase_if(g_children, [&](const auto& c) { return c.get() == &s; });
    emit("process.exit", {{"name", s.name}, {"pid", s.pid}, {"exitcode", *s.exitcode}}, {});
}

// --- signals ---------------------------------------------------------------------------------
// On SIGINT/SIGTERM a process first ends its own children (SIGTERM, then SIGKILL after 2 s of
// real time), reaps them, then exits: 130 for SIGINT (the shell convention), and for SIGTERM by
// dying of the signal again, so its parent still sees "killed by signal 15" (exit code -15).
// Only async-signal-safe calls here: kill, waitpid, clock_gettime, nanosleep, _exit, raise.
void end_children_from_signal() {
    for (auto& slot : g_signal_pids) {
        const pid_t p = slot.load();
        if (p > 0) {
            ::kill(p, SIGTERM);
            ::kill(p, SIGCONT);  // a stopped child would never act on the SIGTERM
        }
    }
    timespec start{};
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    bool killed = false;
    for (;;) {
        bool any = false;
        for (auto& slot : g_signal_pids) {
            const pid_t p = slot.load();
            if (p <= 0) continue;
            int status = 0;
            const pid_t r = ::waitpid(p, &status, WNOHANG);
            if (r == p || (r < 0 && errno == ECHILD)) {
                slot.store(0);
            } else {
                any = true;
            }
        }
        if (!any) return;
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        if (!killed && now.tv_sec - start.tv_sec >= 2) {
            for (auto& slot : g_signal_pids) {
                const pid_t p = slot.load();
                if (p > 0) ::kill(p, SIGKILL);
            }
            killed = true;
        }
        const timespec pause{0, 1'000'000};
        ::nanosleep(&pause, nullptr);
    }
}

extern "C" void on_terminating_signal(int sig) {
    const int saved = errno;
    end_children_from_signal();
    detail::remove_temp_directories_from_signal();
    if (sig == SIGINT) ::_exit(130);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    errno = saved;
}


pid_t start_spawned(const Process& p, const std::string& entry, const std::vector<std::string>& args,
                    const sigset_t& child_mask) {
    // The child learns what to run, and the settings of the run, from one environment variable.
    const OutputConfig& out = output_config();
    const Json description = {
        {"entry", entry},
        {"args", args},
        {"name", p.name()},
        {"identity", p.identity()},
        {"daemon", p.daemon()},
        {"seed", seed()},
        {"time_scale", clock::time_scale()},
        {"epoch_ns", clock::epoch()},
        {"format", static_cast<int>(out.format)},
        {"color", out.color},
        {"journal_fd", journal::fd()},
        {"parent_pid", ::getpid()},
        {"end_with_parent", p.ends_with_parent()},
    };
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::strncmp(*e, kSpawnVariable, std::strlen(kSpawnVariable)) == 0) continue;
        env_strings.emplace_back(*e);
    }
    env_strings.push_back(std::string(kSpawnVariable) + "=" + description.dump());
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string arg0 = g_argv0;
    std::array<char*, 2> argv{arg0.data(), nullptr};

    posix_spawnattr_t attr;
    check_pthread(::posix_spawnattr_init(&attr), "posix_spawnattr_init");
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    ::posix_spawnattr_setsigdefault(&attr, &defaults);
    ::posix_spawnattr_setsigmask(&attr, &child_mask);  // not the mask start() holds meanwhile
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, &attr, argv.data(), envp.data());
    ::posix_spawnattr_destroy(&attr);
    if (rc != 0) throw_errno("posix_spawn /proc/self/exe", rc);
    return pid;
}

}  // namespace

// --- Process -----------------------------------------------------------------------------------

void Process::assign_identity() {
    identity_ = g_identity;
    identity_.push_back(++g_counter);
}

Process Process::spawn(std::string entry, std::vector<std::string> args) {
    Process p([] {});
    p.method_ = StartMethod::spawn;
    p.entry_ = std::move(entry);
    p.entry_args_ = std::move(args);
    return p;
}

Process::Process(Process&&) noexcept = default;
Process& Process::operator=(Process&&) noexcept = default;
Process::~Process() = default;

std::string Process::name() const {
    if (!name_.empty()) return name_;
    // Python names a process after its class: Process-1, or NewProcess-1 for a subclass.
    std::string cls = "Process";
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(
        abi::__cxa_demangle(typeid(*this).name(), nullptr, nullptr, &status), std::free);
    if (status == 0 && demangled) {
        // The last "::" outside any <...> or (...): "shop::Worker<std::string>" -> "Worker<...>",
        // "f<int>()::Local" -> "Local"; then drop the template arguments, as Python has none.
        const std::string full = demangled.get();
        std::size_t start = 0;
        int depth = 0;
        for (std::size_t i = full.size(); i-- > 1;) {
            const char c = full[i];
            if (c == '>' || c == ')') ++depth;
            if (c == '<' || c == '(') --depth;
            if (depth == 0 && c == ':' && full[i - 1] == ':') {
                start = i + 1;
                break;
            }
        }
        cls = full.substr(start);
        if (const auto angle = cls.find('<'); angle != std::string::npos) cls.erase(angle);
    }
    return cls + "-" + identity_text(identity_);
}

void Process::set_name(std::string name) { name_ = std::move(name); }

void Process::set_end_with_parent(bool end_with_parent) {
    if (state_) throw std::logic_error("process has already started: set end_with_parent before start()");
    end_with_parent_ = end_with_parent;
}

void Process::set_daemon(bool daemon) {
    if (state_) throw std::logic_error("process has already started: set daemon before start()");
    daemon_ = daemon;
}

std::optional<pid_t> Process::pid() const noexcept {
    if (!state_) return std::nullopt;
    return state_->pid;
}

std::optional<int> Process::exitcode() const noexcept {
    if (!state_) return std::nullopt;
    return state_->exitcode;
}

void Process::run() {
    if (target_) target_();
}

void Process::start() {
    if (state_) throw std::logic_error("cannot start a process twice");
    if (g_daemon) throw std::logic_error("daemonic processes are not allowed to have children");
    if (method_ == StartMethod::spawn &&
        std::find(g_entry_points.begin(), g_entry_points.end(), entry_) == g_entry_points.end()) {
        throw std::invalid_argument(fmt::format("no entry point named '{}' in this chapter", entry_));
    }
    auto state = std::make_shared<detail::ChildState>();
    state->daemon = daemon_;
    state->name = name();

    // Anything still in a stdio buffer would be copied into the child and printed twice.
    std::fflush(nullptr);

    // SIGINT/SIGTERM wait until the new child is known to this process's handler (or, in the
    // child, until it has forgotten its parent's children): otherwise a Ctrl-C right after fork()
    // leaks the child, and a terminate() right after start() makes the child's inherited handler
    // terminate its siblings.
    wb::detail::SignalsHeld held;
    if (method_ == StartMethod::spawn) {
        state->pid = start_spawned(*this, entry_, entry_args_, held.previous());
    } else {
        const pid_t parent = ::getpid();
        const pid_t pid = check(::fork(), "fork");
        if (pid == 0) {
            if (end_with_parent_) detail::end_with_parent(parent);
            detail::become_child(state->name, identity_, daemon_);
            held.release();
            const int code = detail::run_child_body([this] { run(); });
            reap_children_at_exit();
            detail::child_exit(code);
        }
        state->pid = pid;
    }
    // From here on the child exists: register it before anything else can fail, so that whatever
    // goes wrong below, the child is still terminated and reaped by the error path (or Ctrl-C).
    remember_pid(state->pid);
    try {
        g_children.push_back(state);
    } catch (...) {
        ::kill(state->pid, SIGKILL);
        int status = 0;
        while (::waitpid(state->pid, &status, 0) < 0 && errno == EINTR) {
        }
        forget_pid(state->pid);
        throw;
    }
    // A pidfd lets join(timeout) sleep in poll() until the child ends. Without one (an old kernel,
    // or no descriptor left: EMFILE/ENFILE) join(timeout) polls waitpid in 1 ms steps instead:
    // slower to notice, never wrong, and no reason to fail a start that has already happened.
    state->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, state->pid, 0));
    if (state->pidfd >= 0) {
        ::fcntl(state->pidfd, F_SETFD, FD_CLOEXEC);
    }
    held.release();  // a pending SIGINT/SIGTERM is handled here, with the child registered
    state_ = std::move(state);
    emit("process.start",
         {{"name", state_->name}, {"pid", state_->pid}, {"daemon", daemon_},
          {"method", method_ == StartMethod::fork ? "fork" : "spawn"}},
         {});
}

void Process::join() {
    if (!state_) throw std::logic_error("can only join a started process");
    reap(*state_, true);
}

bool Process::join(double logical_timeout) {
    if (!state_) throw std::logic_error("can only join a started process");
    if (state_->reaped) return true;
    reap(*state_, false);
    if (state_->reaped) return true;
    if (state_->pidfd < 0) {
        // Kernels before 5.3 have no pidfd: poll the child in small steps instead.
        const auto until = clock::monotonic_ns() + clock::to_real(logical_timeout).count();
        while (clock::monotonic_ns() < until) {
            const timespec step{0, 1'000'000};
            ::nanosleep(&step, nullptr);
            reap(*state_, false);
            if (state_->reaped) return true;
        }
        return false;
    }
    const timespec until = clock::deadline(logical_timeout);
    for (;;) {
        const timespec wait = clock::time_left(until);
        pollfd pfd{state_->pidfd, POLLIN, 0};
        const int r = ::ppoll(&pfd, 1, &wait, nullptr);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("ppoll(pidfd)");
        }
        if (r > 0) {
            reap(*state_, true);  // the child has ended: this does not block
            return true;
        }
        return false;
    }
}

bool Process::is_alive() {
    if (!state_ || state_->reaped) return false;
    reap(*state_, false);
    return !state_->reaped;
}

namespace {
void send(const std::shared_ptr<detail::ChildState>& s, int sig, const char* what) {
    if (!s) throw std::logic_error(fmt::format("cannot {} a process that has not started", what));
    if (s->reaped) return;  // already gone; its pid may belong to someone else now
    if (::kill(s->pid, sig) != 0 && errno != ESRCH) throw_errno(fmt::format("kill({}, {})", s->pid, sig));
}
}  // namespace

void Process::terminate() { send(state_, SIGTERM, "terminate"); }
void Process::kill() { send(state_, SIGKILL, "kill"); }

void exit_process(int code) { throw ExitProcess{code}; }

CurrentProcess current_process() { return CurrentProcess{g_name, ::getpid(), g_daemon, g_identity}; }

void reap_children_at_exit() {
    // As Python at exit: terminate the daemonic children, then join every child.
    const auto children = g_children;  // reap() edits g_children
    for (const auto& c : children) {
        if (c->daemon && !c->reaped) {
            ::kill(c->pid, SIGTERM);
            ::kill(c->pid, SIGCONT);  // as shells do: a stopped child must run to die of SIGTERM
        }
    }
    for (const auto& c : children) reap(*c, true);
}

void terminate_children() {
    const auto children = g_children;
    for (const auto& c : children) {
        if (!c->reaped) {
            ::kill(c->pid, SIGTERM);
            ::kill(c->pid, SIGCONT);
        }
    }
    // A child that does not act on SIGTERM within 2 s of real time (it blocked the signal, or a
    // sanitizer runtime deferred its handler) is killed: error clean-up must never hang.
    const std::int64_t give_up = clock::monotonic_ns() + 2'000'000'000;
    for (const auto& c : children) {
        while (!c->reaped && clock::monotonic_ns() < give_up) {
            reap(*c, false);
            if (!c->reaped) {
                const timespec step{0, 1'000'000};
                ::nanosleep(&step, nullptr);
            }
        }
        if (!c->reaped) {
            ::kill(c->pid, SIGKILL);
            reap(*c, true);
        }
    }
}

std::size_t live_children() { return g_children.size(); }

namespace detail {

void end_with_parent(pid_t parent) noexcept {
    // The kernel sends SIGKILL to this process when the thread that created it ends. If the parent
    // is already gone, the signal was never armed for it: getppid() then names a reaper instead.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::raise(SIGKILL);  // as if the signal had been armed in time
}


void track_child_for_signals(pid_t pid) noexcept { remember_pid(pid); }
void untrack_child_for_signals(pid_t pid) noexcept { forget_pid(pid); }

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_terminating_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    check(::sigaction(SIGINT, &sa, nullptr), "sigaction(SIGINT)");
    check(::sigaction(SIGTERM, &sa, nullptr), "sigaction(SIGTERM)");
    // A reader piping the output into `head` must not kill the program with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
}

void set_program(std::string argv0, std::vector<std::string> entry_point_names) {
    g_argv0 = std::move(argv0);
    g_entry_points = std::move(entry_point_names);
}

void reset_for_demo() {
    g_counter = 0;
    reset_rng(0);
}

void become_child(std::string name, std::vector<int> identity, bool daemon) {
    g_name = std::move(name);
    set_process_actor(g_name);
    g_identity = std::move(identity);
    g_daemon = daemon;
    g_counter = 0;
    // The parent's children are not ours: forget them (without touching them).
    g_children.clear();
    // Only the slots in use are written: a write to each of the 1024 slots would touch every page of
    // the table and make the kernel copy them (copy-on-write) in every new child.
    for (auto& slot : g_signal_pids) {
        if (slot.load(std::memory_order_relaxed) != 0) slot.store(0);
    }
    set_thread_actor({});
    reset_rng(stream_for(g_identity));
}

int run_child_body(const std::function<void()>& body) {
    try {
        body();
        return 0;
    } catch (const ExitProcess& e) {
        return e.code;
    } catch (const std::exception& e) {
        // Python prints the traceback on stderr and the child's exit code becomes 1.
        emit("error", {{"error", e.what()}}, fmt::format("error in {}: {}", g_name, e.what()));
        const std::string line = fmt::format("Process {}: error: {}\n", g_name, e.what());
        [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line.data(), line.size());
        return 1;
    } catch (...) {
        const std::string line = fmt::format("Process {}: error: unknown exception\n", g_name);
        [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line.data(), line.size());
        return 1;
    }
}

void child_exit(int code) {
    std::fflush(nullptr);
    ::_exit(code & 0xff);
}

std::optional<SpawnDescription> adopt_spawn_description() {
    const char* raw = std::getenv(kSpawnVariable);
    if (raw == nullptr) return std::nullopt;
    const Json d = Json::parse(raw);
    ::unsetenv(kSpawnVariable);  // the child's own spawned children get their own description
    clock::set_time_scale(d.at("time_scale").get<double>());
    clock::set_epoch(d.at("epoch_ns").get<std::int64_t>());
    set_seed(d.at("seed").get<std::uint64_t>());
    OutputConfig out;
    out.format = static_cast<Format>(d.at("format").get<int>());
    out.color = d.at("color").get<bool>();
    configure_output(out);
    if (d.value("end_with_parent", true)) end_with_parent(d.at("parent_pid").get<pid_t>());
    journal::adopt(d.at("journal_fd").get<int>());
    become_child(d.at("name").get<std::string>(), d.at("identity").get<std::vector<int>>(),
                 d.at("daemon").get<bool>());
    return SpawnDescription{d.at("entry").get<std::string>(), d.at("args").get<std::vector<std::string>>()};
}

}  // namespace detail
}  // namespace wb
