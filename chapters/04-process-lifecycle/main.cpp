// Chapter 04 - Process lifecycle.
//
// Seeds: 000 §1.6-1.7, 001 §六 §七 §八, 004 §一 §五.
// The seeds' theory of processes, made observable on a real Linux system: a program run twice is
// two processes; a process is created by copying (fork) or by starting a program afresh (spawn);
// it ends in one of four ways, each with its own exit code; on the way it passes through the
// states of the five-state model, which /proc/PID/stat shows live; and processes form a tree,
// whose members can be signalled a whole process group at a time.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/event.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/semaphore.hpp"

namespace {

using wb::Json;

// ------------------------------------------------------------------------------------------------
// Tools of the chapter: reading /proc, a pipe, and the time limits of its waits.
// ------------------------------------------------------------------------------------------------

// What the kernel tells about a process in /proc/PID/stat (see proc(5)): field 2 its command
// name, 3 its state letter, 4 its parent, 5 its process group, and 52 the exit status a zombie
// keeps for its parent (in waitpid's encoding: exit code << 8, or the signal number).
struct ProcStat {
    pid_t pid = 0;
    std::string comm;
    char state = '?';
    pid_t ppid = 0;
    pid_t pgrp = 0;
    int exit_status = 0;
};

// Reads /proc/PID/stat; empty when the process no longer exists.
std::optional<ProcStat> read_proc_stat(pid_t pid) {
    const std::string path = fmt::format("/proc/{}/stat", pid);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ESRCH) return std::nullopt;
        wb::throw_errno("open " + path);
    }
    char buffer[1024];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    const int read_errno = errno;
    ::close(fd);
    if (n < 0) {
        if (read_errno == ESRCH) return std::nullopt;  // it was reaped between open and read
        wb::throw_errno("read " + path, read_errno);
    }
    const std::string line(buffer, static_cast<std::size_t>(n));
    // The name is in parentheses and may itself contain spaces or ')': the last ')' ends it.
    const auto open_paren = line.find('(');
    const auto close_paren = line.rfind(')');
    if (open_paren == std::string::npos || close_paren == std::string::npos) return std::nullopt;
    ProcStat s;
    s.pid = pid;
    s.comm = line.substr(open_paren + 1, close_paren - open_paren - 1);
    std::istringstream fields(line.substr(close_paren + 1));
    fields >> s.state >> s.ppid >> s.pgrp;  // fields 3, 4, 5
    std::string skipped;
    for (int field = 6; field <= 51; ++field) fields >> skipped;
    fields >> s.exit_status;  // field 52 (Linux 3.5 and later)
    return s;
}

// Every process of the machine, as /proc lists them now.
std::vector<ProcStat> all_processes() {
    DIR* dir = ::opendir("/proc");
    if (dir == nullptr) wb::throw_errno("opendir /proc");
    std::vector<pid_t> pids;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
            pids.push_back(static_cast<pid_t>(std::stol(name)));
        }
    }
    ::closedir(dir);
    std::vector<ProcStat> out;
    for (const pid_t pid : pids) {
        if (auto s = read_proc_stat(pid)) out.push_back(*s);  // a process may end meanwhile
    }
    return out;
}

// The pids of the processes in process group `pgid`, sorted.
std::vector<pid_t> members_of_group(pid_t pgid) {
    std::vector<pid_t> members;
    for (const auto& s : all_processes()) {
        if (s.pgrp == pgid) members.push_back(s.pid);
    }
    std::sort(members.begin(), members.end());
    return members;
}

// The program file behind /proc/PID/exe: its path, and (device, inode) to tell whether two
// processes run the very same file.
struct ExeFile {
    std::string path;
    dev_t device = 0;
    ino_t inode = 0;
};

ExeFile exe_of(const std::string& proc_entry) {  // "self" or a pid
    const std::string link = "/proc/" + proc_entry + "/exe";
    char target[4096];
    const ssize_t n = wb::check(::readlink(link.c_str(), target, sizeof target - 1), "readlink /proc/PID/exe");
    struct stat st {};
    wb::check(::stat(link.c_str(), &st), "stat /proc/PID/exe");
    return ExeFile{std::string(target, static_cast<std::size_t>(n)), st.st_dev, st.st_ino};
}

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A pipe: bytes written into write_end come out of read_end. Both ends close with the object.
struct Pipe {
    int read_end = -1;
    int write_end = -1;
    Pipe() {
        int fds[2];
        wb::check(::pipe2(fds, O_CLOEXEC), "pipe2");
        read_end = fds[0];
        write_end = fds[1];
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    ~Pipe() {
        close_read();
        close_write();
    }
    void close_read() noexcept {
        if (read_end >= 0) ::close(read_end);
        read_end = -1;
    }
    void close_write() noexcept {
        if (write_end >= 0) ::close(write_end);
        write_end = -1;
    }
    // Everything until every write end is closed.
    std::string read_all() const {
        std::string text;
        char buffer[512];
        for (;;) {
            const ssize_t n = ::read(read_end, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            wb::check(n, "read(pipe)");
            if (n == 0) return text;
            text.append(buffer, static_cast<std::size_t>(n));
        }
    }
};

// Time limits. The chapter's waits end by synchronisation (an Event, a Semaphore), never by luck;
// these limits are only safety nets for a machine that is far too slow. They are logical seconds,
// but never shorter than a few real seconds: at --time-scale 0.01, "10 s" would be 0.1 s of real
// time, which a loaded machine can need just to schedule a freshly forked child.
double safety_net(double logical_seconds, int at_least_real_seconds) {
    return std::max(logical_seconds, wb::clock::to_logical(std::chrono::seconds(at_least_real_seconds)));
}
// --hold S: main keeps each observed state, the tree and the group for S logical seconds, so that
// a reader can look at them with ps in another terminal. 0 (the default) moves straight on.
double g_hold = 0;
double sync_timeout() { return safety_net(10, 5); }              // main waiting for a child
double child_patience() { return safety_net(30 + g_hold, 20); }  // a child waiting for main
constexpr double kPollInterval = 0.01;  // logical seconds between two /proc reads

void hold(const std::string& what) {
    if (g_hold <= 0) return;
    wb::emit("hold", {{"seconds", g_hold}, {"what", what}},
             fmt::format("holding {} for {} s: try  ps -o pid,ppid,pgid,stat,comm --forest -s {}", what, g_hold,
                         ::getsid(0)));
    wb::clock::sleep(g_hold);
}

// Names the calling process in the kernel too (/proc/PID/comm, what ps and top show), so that a
// process tree read from /proc carries the names the workbook uses. At most 15 characters.
void name_in_kernel() {
    const std::string name = wb::current_process().name;
    wb::check(::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0), "prctl(PR_SET_NAME)");
}

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

// ------------------------------------------------------------------------------------------------
// Demo 1 - the same program run twice is two processes (004 §一).
//
//   "同一个程序执行两次，就会在操作系统中出现两个进程" - run the same program twice and the system
//   has two processes, so the same software can run twice at once doing different things.
//
// The spawn start method starts this very program file again (posix_spawn of /proc/self/exe),
// which is what double-clicking an icon twice does. Each run gets its own pid and its own memory:
// both write the same global variable, then - once both have written - each reads it back and
// finds its own value.
// ------------------------------------------------------------------------------------------------

int g_number = 0;  // one per program image

// The entry point each spawned run executes. args: index, the fd of the "wrote" semaphore, the fd
// of the "go" event (spawned children inherit the descriptors and map the shared memory again).
void instance(const std::vector<std::string>& args) {
    const int index = std::stoi(args.at(0));
    wb::Semaphore wrote = wb::Semaphore::adopt(std::stoi(args.at(1)));
    wb::Event go = wb::Event::adopt(std::stoi(args.at(2)));
    const ExeFile exe = exe_of("self");
    const int before = g_number;
    g_number = 111 * index;
    wb::emit("instance.wrote", {{"index", index}, {"before", before}, {"value", g_number}, {"exe", exe.path}},
             fmt::format("run {} of {}: g_number was {}, writes {}", index, base_name(exe.path), before, g_number));
    wrote.release();
    // Wait until the other run has written too: from here on both writes have happened.
    if (!go.wait(child_patience())) throw std::runtime_error("main never said go");
    wb::emit("instance.read", {{"index", index}, {"value", g_number}},
             fmt::format("run {} reads g_number = {}: the other run's write did not reach it", index, g_number));
}

void demo_two_runs() {
    wb::Semaphore wrote(0);
    wb::Event go;
    wrote.set_inheritable(true);  // the spawned runs inherit the descriptors
    go.set_inheritable(true);
    std::vector<wb::Process> runs;
    for (int index = 1; index <= 2; ++index) {
        runs.push_back(wb::Process::spawn(
            "instance", {std::to_string(index), std::to_string(wrote.fd()), std::to_string(go.fd())}));
        runs.back().set_name(fmt::format("run-{}", index));
    }
    for (auto& p : runs) p.start();
    for (std::size_t i = 0; i < runs.size(); ++i) {
        if (!wrote.acquire(sync_timeout())) throw std::runtime_error("a run did not report within the time limit");
    }

    // Both runs are alive now. Look at them from the outside, the way ps does: through /proc.
    const ExeFile mine = exe_of("self");
    Json pids = Json::array();
    bool all_same = true;
    for (auto& p : runs) {
        const ExeFile theirs = exe_of(std::to_string(*p.pid()));
        const bool same = theirs.device == mine.device && theirs.inode == mine.inode;
        all_same = all_same && same;
        pids.push_back(*p.pid());
        wb::emit("instance.seen",
                 {{"name", p.name()}, {"pid", *p.pid()}, {"exe", theirs.path}, {"main_exe", mine.path},
                  {"same_file", same}},
                 fmt::format("/proc/PID/exe of {} -> {} ({} file as main's)", p.name(), base_name(theirs.path),
                             same ? "the same" : "NOT the same"));
    }
    go.set();
    for (auto& p : runs) p.join();
    const bool distinct = pids[0] != pids[1];
    wb::emit("two-runs.summary", {{"pids", pids}, {"distinct_pids", distinct}, {"same_exe", all_same}},
             fmt::format("one program file, two runs: {} pids, {} program", distinct ? "two different" : "the same",
                         all_same ? "the same" : "a different"));
    wb::note("Same program, two processes: each run has its own pid and its own g_number.\n"
             "A program is the file on disk; a process is one run of it, with its own memory.");
}

// ------------------------------------------------------------------------------------------------
// Demo 2 - creation: fork copies, spawn starts afresh (000 §1.6.3, 001 §六).
//
//   UNIX: fork creates a copy identical to the parent - the same memory image, the same
//   environment strings, the same open files. Windows: CreateProcess creates the process and
//   loads the right program into it.
//
// posix_spawn is the POSIX relative of CreateProcess: a new process that starts the program from
// the beginning. Main changes a global variable and sets an environment variable, then creates
// one child each way. (Chapter 05 goes deeper into the two start methods.)
// ------------------------------------------------------------------------------------------------

std::string g_state = "initial value";
constexpr const char* kGreetingVariable = "WB04_GREETING";

void report_copy(const std::string& method) {
    const char* greeting = std::getenv(kGreetingVariable);
    const std::string env = greeting != nullptr ? greeting : "(unset)";
    wb::emit("copy.seen",
             {{"method", method}, {"memory", g_state}, {"environment", env}, {"ppid", ::getppid()}},
             fmt::format("{} child: g_state = \"{}\", {} = \"{}\"", method, g_state, kGreetingVariable, env));
}

void demo_fork_vs_spawn() {
    g_state = "changed by main";
    wb::check(::setenv(kGreetingVariable, "hello from main", 1), "setenv");
    wb::emit("copy.main", {{"memory", g_state}, {"environment", "hello from main"}},
             fmt::format("main: g_state = \"{}\", {} = \"hello from main\"", g_state, kGreetingVariable));

    wb::Process forked(report_copy, std::string("fork"));
    forked.start();
    forked.join();
    wb::Process spawned = wb::Process::spawn("report-copy", {"spawn"});
    spawned.start();
    spawned.join();

    wb::check(::unsetenv(kGreetingVariable), "unsetenv");
    g_state = "initial value";
    wb::note("fork copied main as it was at that moment: its memory (g_state) and its environment.\n"
             "spawn started the program from the beginning: g_state is back to its initial value.\n"
             "The environment was handed over explicitly (execve passes it), like CreateProcess does.");
}

// ------------------------------------------------------------------------------------------------
// Demo 3 - the four ways a process ends (000 §1.6.4, 001 §六, 004 §五).
//
//   1. normal exit (voluntary: the work is done, the program calls exit)
//   2. error exit (voluntary: `python a.py` when a.py does not exist; Python exits with 2 then)
//   3. fatal error (involuntary: an illegal instruction, a reference to memory that does not exist,
//      1/0)
//   4. killed by another process (involuntary: kill -9)
//
// The exit code tells the parent which: 0 for a normal exit, the program's chosen number for an
// error exit (Python uses 1 for an uncaught exception, sys.exit(N) for N), and -N when signal N
// ended the process (how Python's Process.exitcode and wb::Process::exitcode() report it).
// ------------------------------------------------------------------------------------------------

// Before faulting on purpose: no core file, and the signal's default action (end the process).
// A sanitizer build installs its own SIGSEGV/SIGFPE handlers to print a report; putting the
// default action back makes the child die of the signal exactly as in a normal build.
void die_quietly_of(int sig) {
    const rlimit no_core{0, 0};
    wb::check(::setrlimit(RLIMIT_CORE, &no_core), "setrlimit(RLIMIT_CORE)");
    wb::check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)");
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    wb::check(::sigaction(sig, &default_action, nullptr), "sigaction");
}

// 1/0 with integers. C++ calls it undefined behaviour, so the compiler must not know either
// operand (volatile: it would fold the division, or compute 1/x without dividing at all) and
// UBSan must not stop it first (no_sanitize). Then it is a real division instruction, and on x86
// the CPU itself raises the fault that the kernel turns into SIGFPE.
__attribute__((noinline, no_sanitize("undefined"))) int divide_by_zero(int numerator) {
    volatile int dividend = numerator;
    volatile int divisor = 0;
#if defined(__x86_64__) || defined(__i386__)
    return dividend / divisor;
#else
    // On ARM an integer division by zero does not trap (it gives 0): send the signal instead.
    ::raise(SIGFPE);
    return dividend / (divisor + 1);
#endif
}

// A reference to memory that does not exist: a store to address 0, which no process has mapped.
// The CPU faults, the kernel sends SIGSEGV. (volatile, so that the store really happens.)
__attribute__((noinline, no_sanitize("address", "undefined"))) void write_to_address_zero() {
    volatile int* volatile nowhere = nullptr;
    *nowhere = 42;
}

struct Ending {
    std::string name;
    std::string how;     // how it ended, for the table
    std::string python;  // the same in Python
};

void demo_endings() {
    const std::vector<Ending> endings{
        {"normal", "returned from its work: normal exit", "end of the function / sys.exit(0)"},
        {"no-file", "an error it did not catch: error exit", "an uncaught exception"},
        {"exit-3", "chose to stop with code 3: error exit", "sys.exit(3)"},
        {"divide", "divided an int by zero: fatal error", "(ZeroDivisionError, an exception)"},
        {"nowhere", "wrote to address 0: fatal error", "ctypes.string_at(0)"},
        {"victim", "killed by main with SIGKILL", "p.kill() / kill -9 PID"},
    };
    std::map<std::string, int> codes;
    auto report = [&](wb::Process& p, const Ending& e) {
        const int code = *p.exitcode();
        codes[e.name] = code;
        const std::string by = code < 0 ? fmt::format("by signal {} ({})", -code, signal_name(-code)) : "by itself";
        wb::emit("ending", {{"name", e.name}, {"pid", *p.pid()}, {"exitcode", code}, {"how", e.how}},
                 fmt::format("{} ended {}: exit code {}", e.name, by, code));
    };

    // 1. Normal exit: the work is done, the function returns, the process exits with 0.
    {
        wb::Process p([] { wb::emit("ending.step", {{"kind", "normal"}}, "does its work and returns"); });
        p.set_name("normal");
        p.start();
        p.join();
        report(p, endings[0]);
    }

    // 2. Error exit. The seed's example is `python a.py` when a.py does not exist: the interpreter
    // says "can't open file" and exits with 2. The child does what a Python program does when its
    // own open('a.py') fails: the error escapes run(), the child prints it on stderr and exits
    // with 1 (an uncaught exception). Its stderr goes into a pipe here, so main can show it.
    {
        Pipe stderr_pipe;
        wb::Process p([&stderr_pipe] {
            wb::check(::dup2(stderr_pipe.write_end, STDERR_FILENO), "dup2");
            wb::emit("ending.step", {{"kind", "no-file"}}, "opens a.py, which does not exist");
            wb::check(::open("/nonexistent/a.py", O_RDONLY | O_CLOEXEC), "open a.py");
            wb::emit("ending.step", {{"kind", "no-file"}}, "never printed: the open failed");
        });
        p.set_name("no-file");
        p.start();
        p.join();
        stderr_pipe.close_write();
        std::string printed = stderr_pipe.read_all();
        while (!printed.empty() && printed.back() == '\n') printed.pop_back();
        wb::emit("child.stderr", {{"name", "no-file"}, {"stderr", printed}},
                 fmt::format("the child's stderr: {}", printed));
        report(p, endings[1]);
    }

    // The same kind of ending with a code the program chose (sys.exit(3)): a caller - a shell, a
    // build tool - reads the number to tell what went wrong.
    {
        wb::Process p([] {
            wb::emit("ending.step", {{"kind", "exit-3"}}, "finds something wrong and exits with code 3");
            wb::exit_process(3);
        });
        p.set_name("exit-3");
        p.start();
        p.join();
        report(p, endings[2]);
    }

    // 3. Fatal errors. In Python 1/0 raises ZeroDivisionError, an exception the program may catch.
    // In C++ an integer division by zero goes to the CPU, which refuses: the kernel sends SIGFPE,
    // whose default action ends the process on the spot - nothing runs after it, no exit code of
    // its own. The same for a store to memory that does not exist (SIGSEGV).
    {
        wb::Process p([] {
            die_quietly_of(SIGFPE);
            wb::emit("ending.step", {{"kind", "divide"}}, "computes 1 / 0 with ints");
            const int result = divide_by_zero(1);
            wb::emit("ending.step", {{"kind", "divide"}, {"result", result}}, "never printed: still alive");
        });
        p.set_name("divide");
        p.start();
        p.join();
        report(p, endings[3]);
    }
    {
        wb::Process p([] {
            die_quietly_of(SIGSEGV);
            wb::emit("ending.step", {{"kind", "nowhere"}}, "writes to address 0");
            write_to_address_zero();
            wb::emit("ending.step", {{"kind", "nowhere"}}, "never printed: still alive");
        });
        p.set_name("nowhere");
        p.start();
        p.join();
        report(p, endings[4]);
    }

    // 4. Killed by another process: the victim waits for something that never comes; main sends
    // it SIGKILL (kill -9), which cannot be caught, blocked or ignored.
    {
        wb::Event ready;
        wb::Event never;
        wb::Process p([&] {
            wb::emit("ending.step", {{"kind", "victim"}}, "waits for an event that never comes");
            ready.set();
            if (!never.wait(child_patience())) wb::emit("ending.step", {{"kind", "victim"}}, "gave up waiting");
        });
        p.set_name("victim");
        p.start();
        if (!ready.wait(sync_timeout())) throw std::runtime_error("the victim did not start waiting");
        wb::emit("kill.sent", {{"pid", *p.pid()}, {"signal", SIGKILL}, {"signal_name", "SIGKILL"}},
                 "main sends SIGKILL to victim (kill -9)");
        p.kill();
        p.join();
        report(p, endings[5]);
    }

    std::string table = fmt::format("{:<8}  {:<40}  {:>9}  {}\n", "child", "how it ended", "exit code", "in Python");
    Json rows = Json::array();
    for (const auto& e : endings) {
        table += fmt::format("{:<8}  {:<40}  {:>9}  {}\n", e.name, e.how, codes.at(e.name), e.python);
        rows.push_back({{"name", e.name}, {"how", e.how}, {"exitcode", codes.at(e.name)}});
    }
    table.pop_back();
    wb::emit_block("endings.table", {{"rows", rows}}, table);
    wb::note("Voluntary endings (normal, error) report a number the program chose: 0 means success.\n"
             "Involuntary ones (fatal error, killed) report the signal that ended the process, as -N:\n"
             "the process had no say and ran no code of its own after it.");
}

// ------------------------------------------------------------------------------------------------
// Demo 4 - the states of a process, observed live (000 §1.7, 001 §八).
//
// The five-state model: new (being created), ready (could run, waiting for a CPU), running (on a
// CPU), blocked (waiting for an event such as I/O), terminated (being torn down). Linux shows a
// state letter in field 3 of /proc/PID/stat. Each child below is put into one state on purpose;
// it tells main when it is about to enter it (an Event), and main then reads /proc until the
// letter appears (with a time limit), so what is printed is certain, not a lucky moment.
//
//   R  running or runnable: Linux does not tell the model's running and ready apart
//   S  sleeping: blocked, waiting for an event
//   T  stopped by SIGSTOP: suspended, a state outside the five-state model
//   Z  zombie: terminated, its exit status kept until the parent reaps it
// "new" lasts only inside fork(): no /proc entry exists yet, there is nothing to observe.
// ------------------------------------------------------------------------------------------------

struct Observation {
    bool reached = false;
    std::string seen;  // every letter seen while waiting, in order, repeats folded ("RS")
    ProcStat last;
};

// Reads /proc/PID/stat until the process is in state `wanted`, at most sync_timeout().
Observation watch_for(pid_t pid, char wanted) {
    Observation o;
    const double limit = sync_timeout();
    const wb::clock::Stopwatch watch;
    for (;;) {
        const auto s = read_proc_stat(pid);
        if (!s) break;
        o.last = *s;
        if (o.seen.empty() || o.seen.back() != s->state) o.seen += s->state;
        if (s->state == wanted) {
            o.reached = true;
            break;
        }
        if (watch.elapsed() > limit) break;
        wb::clock::sleep(kPollInterval);
    }
    return o;
}

const std::map<char, std::string>& model_state() {
    static const std::map<char, std::string> names{
        {'R', "running / ready"},
        {'S', "blocked"},
        {'T', "stopped (suspended)"},
        {'Z', "terminated, not yet reaped"},
    };
    return names;
}

void report_state(const wb::Process& p, char wanted, const Observation& o, const std::string& what) {
    const std::string model = model_state().at(wanted);
    wb::emit("state.observed",
             {{"name", p.name()}, {"pid", *p.pid()}, {"wanted", std::string(1, wanted)},
              {"letter", std::string(1, o.last.state)}, {"seen", o.seen}, {"reached", o.reached},
              {"model", model}},
             o.reached ? fmt::format("/proc says {} is in state {} = {}: {}", p.name(), wanted, model, what)
                       : fmt::format("{} did not reach state {} within the time limit", p.name(), wanted));
}

// Ends the SIGSTOP of a stopped child however the demo is left: a stopped process would not act
// on the SIGTERM that cleans up after an error.
struct ContinueOnExit {
    pid_t pid;
    ~ContinueOnExit() { ::kill(pid, SIGCONT); }
};

void demo_states() {
    // R: a child that computes without pause is always running or waiting for a CPU.
    {
        wb::Event spinning;
        wb::Event stop;
        wb::Process p([&] {
            name_in_kernel();  // so that ps, during --hold, shows "spinner"
            spinning.set();
            std::uint64_t turns = 0;
            const wb::clock::Stopwatch watch;
            while (!stop.is_set() && watch.elapsed() < child_patience()) ++turns;
            wb::emit("spinner.done", {{"turns", turns}}, "spinner stops computing");
        });
        p.set_name("spinner");
        p.start();
        if (!spinning.wait(sync_timeout())) throw std::runtime_error("spinner did not start");
        report_state(p, 'R', watch_for(*p.pid(), 'R'), "it computes in a loop");
        hold("the spinner in state R");
        stop.set();
        p.join();
    }

    // S: a child reading from an empty pipe is blocked until main writes a byte into it.
    {
        Pipe pipe;
        wb::Event reading;
        wb::Process p([&] {
            name_in_kernel();
            reading.set();
            char byte = 0;
            ssize_t n;
            do {
                n = ::read(pipe.read_end, &byte, 1);
            } while (n < 0 && errno == EINTR);
            wb::check(n, "read(pipe)");
            wb::emit("reader.done", {{"bytes", n}}, fmt::format("reader got its byte '{}'", byte));
        });
        p.set_name("reader");
        p.start();
        if (!reading.wait(sync_timeout())) throw std::runtime_error("reader did not start");
        report_state(p, 'S', watch_for(*p.pid(), 'S'), "it waits in read() for the pipe");
        hold("the reader in state S");
        wb::check(::write(pipe.write_end, "x", 1), "write(pipe)");
        p.join();
    }

    // T: SIGSTOP suspends a process whatever it was doing; SIGCONT lets it go on where it was.
    {
        wb::Event waiting;
        wb::Event release;
        wb::Process p([&] {
            name_in_kernel();
            waiting.set();
            if (!release.wait(child_patience())) throw std::runtime_error("main never released the sleeper");
            wb::emit("sleeper.done", {}, "sleeper was released and ends");
        });
        p.set_name("sleeper");
        p.start();
        if (!waiting.wait(sync_timeout())) throw std::runtime_error("sleeper did not start");
        report_state(p, 'S', watch_for(*p.pid(), 'S'), "it waits for an event");
        const ContinueOnExit guard{*p.pid()};
        wb::check(::kill(*p.pid(), SIGSTOP), "kill(SIGSTOP)");
        wb::emit("signal.sent", {{"pid", *p.pid()}, {"signal", SIGSTOP}, {"signal_name", "SIGSTOP"}},
                 "main sends SIGSTOP to sleeper");
        report_state(p, 'T', watch_for(*p.pid(), 'T'), "SIGSTOP took it off the CPU for good");
        hold("the sleeper in state T");
        wb::check(::kill(*p.pid(), SIGCONT), "kill(SIGCONT)");
        wb::emit("signal.sent", {{"pid", *p.pid()}, {"signal", SIGCONT}, {"signal_name", "SIGCONT"}},
                 "main sends SIGCONT to sleeper");
        report_state(p, 'S', watch_for(*p.pid(), 'S'), "after SIGCONT it waits for its event again");
        release.set();
        p.join();
    }

    // Z: a child that has exited but that main has not reaped yet. wb::Process reaps only in
    // join() and is_alive(), so main calls neither until it has seen the zombie. What is left of
    // the process is its exit status, waiting for the parent: /proc shows it in field 52.
    {
        wb::Process p([] {
            name_in_kernel();
            wb::emit("zombie.exit", {{"exitcode", 4}}, "exits with code 4");
            wb::exit_process(4);
        });
        p.set_name("exited");
        p.start();
        const Observation o = watch_for(*p.pid(), 'Z');
        report_state(p, 'Z', o, "it has exited, main has not reaped it");
        hold("the exited child in state Z");
        const int kept = o.last.exit_status;
        wb::emit("zombie.status", {{"pid", *p.pid()}, {"exit_status", kept}, {"exitcode", kept >> 8}},
                 fmt::format("the zombie keeps its exit status for main: exit code {}", kept >> 8));
        p.join();
        const bool gone = !read_proc_stat(*p.pid()).has_value();
        wb::emit("zombie.reaped", {{"pid", *p.pid()}, {"exitcode", *p.exitcode()}, {"gone", gone}},
                 fmt::format("join() reaped it: exit code {}, /proc entry {}", *p.exitcode(),
                             gone ? "gone" : "still there"));
    }

    std::string table = fmt::format("{:<6}  {:<26}  {}\n", "letter", "five-state model", "child");
    table += fmt::format("{:<6}  {:<26}  {}\n", "R", model_state().at('R'), "spinner (computes)");
    table += fmt::format("{:<6}  {:<26}  {}\n", "S", model_state().at('S'), "reader (read on a pipe)");
    table += fmt::format("{:<6}  {:<26}  {}\n", "T", model_state().at('T'), "sleeper (after SIGSTOP)");
    table += fmt::format("{:<6}  {:<26}  {}", "Z", model_state().at('Z'), "exited (before join)");
    wb::emit_block("states.table", {{"letters", {"R", "S", "T", "Z"}}}, table);
    wb::note("R covers both 'ready' and 'running': the kernel moves a runnable process on and off a CPU\n"
             "many times a second. 'new' lasts only inside fork(), and 'terminated' is the zombie:\n"
             "the process has ended, only its exit status remains until the parent collects it.");
}

// ------------------------------------------------------------------------------------------------
// Demo 5 - the process tree (001 §七).
//
//   In UNIX every process has exactly one parent, and all of them form a tree rooted at init.
//
// Main starts two children; the first starts a child of its own. When all three are running,
// main reads the parent of every process on the machine from /proc and draws its own subtree.
// ------------------------------------------------------------------------------------------------

void tree_member(wb::Semaphore& ready, wb::Event& done, bool with_child) {
    name_in_kernel();
    std::optional<wb::Process> child;
    if (with_child) {
        child.emplace([&ready, &done] { tree_member(ready, done, false); });
        child->start();
    }
    wb::emit("tree.member", {{"pid", ::getpid()}, {"ppid", ::getppid()}},
             with_child ? "running, with a child of its own" : "running");
    ready.release();
    if (!done.wait(child_patience())) throw std::runtime_error("main never said done");
    if (child) child->join();
}

void draw_tree(const std::map<pid_t, std::vector<ProcStat>>& children, pid_t pid, const std::string& prefix,
               std::string& text, Json& nodes, int depth) {
    const auto it = children.find(pid);
    if (it == children.end()) return;
    for (std::size_t i = 0; i < it->second.size(); ++i) {
        const ProcStat& c = it->second[i];
        const bool last = i + 1 == it->second.size();
        text += fmt::format("\n{}{}{}[{}]", prefix, last ? "└── " : "├── ", c.comm, c.pid);
        nodes.push_back({{"pid", c.pid}, {"ppid", c.ppid}, {"name", c.comm}, {"depth", depth}});
        draw_tree(children, c.pid, prefix + (last ? "    " : "│   "), text, nodes, depth + 1);
    }
}

void demo_tree() {
    wb::Semaphore ready(0);
    wb::Event done;
    std::vector<wb::Process> children;
    children.emplace_back([&] { tree_member(ready, done, true); });
    children.emplace_back([&] { tree_member(ready, done, false); });
    for (auto& p : children) p.start();
    for (int i = 0; i < 3; ++i) {
        if (!ready.acquire(sync_timeout())) throw std::runtime_error("a member of the tree did not start");
    }

    // Every process names its parent (field 4 of /proc/PID/stat); group them by parent.
    std::map<pid_t, std::vector<ProcStat>> children_of;
    for (const auto& s : all_processes()) children_of[s.ppid].push_back(s);
    for (auto& [parent, list] : children_of) {
        std::sort(list.begin(), list.end(), [](const ProcStat& a, const ProcStat& b) { return a.comm < b.comm; });
    }
    const pid_t main_pid = ::getpid();
    std::string text = fmt::format("process tree from /proc (each line: name[pid], under its parent)\n{}[{}]",
                                   wb::current_process().name, main_pid);
    Json nodes = Json::array();
    nodes.push_back({{"pid", main_pid}, {"ppid", ::getppid()}, {"name", wb::current_process().name}, {"depth", 0}});
    draw_tree(children_of, main_pid, "", text, nodes, 1);
    wb::emit_block("tree", {{"nodes", nodes}}, text);
    hold("the tree");

    done.set();
    for (auto& p : children) p.join();
    wb::note("Process-1:1 is main's grandchild: its parent is Process-1, not main. Each process has\n"
             "exactly one parent; following the parents upwards ends at pid 1: init, or in a container\n"
             "the first process of its pid namespace. (Kernel threads hang under kthreadd, pid 2.)");
}

// ------------------------------------------------------------------------------------------------
// Demo 6 - a signal to a whole process group (001 §七).
//
//   Parent and children form a process group; a signal from the keyboard (Ctrl-C) is sent to every
//   member of the group attached to the terminal.
//
// killpg(pgid, sig) does the same from a program: one call, every member. Three children form a
// new group (setpgid) - the first is its leader, the group's id is the leader's pid - and a fourth
// child stays in main's group. main sends SIGTERM to the new group, never to its own: main's group
// is shared with the shell or the test harness that started it.
// ------------------------------------------------------------------------------------------------

void group_member(pid_t pgid, const std::string& how, wb::Semaphore& ready, wb::Event& done) {
    if (pgid >= 0) {
        // A member in a background group that writes to the terminal would be stopped (SIGTTOU)
        // when the terminal has `stty tostop` set. Members here only write their event lines.
        ::signal(SIGTTOU, SIG_IGN);
        wb::check(::setpgid(0, pgid), "setpgid");
    }
    name_in_kernel();
    wb::emit("group.member", {{"pid", ::getpid()}, {"pgid", ::getpgrp()}, {"leader", pgid == 0}}, how);
    ready.release();
    if (!done.wait(child_patience())) throw std::runtime_error("main never said done");
    wb::emit("group.done", {{"pid", ::getpid()}}, "was told it may end, and ends");
}

void demo_process_group() {
    wb::Semaphore ready(0);
    wb::Event done;
    // The leader: setpgid(0, 0) makes a new group whose id is the leader's own pid.
    wb::Process leader([&] { group_member(0, "starts a new process group and leads it", ready, done); });
    leader.set_name("leader");
    leader.start();
    const pid_t pgid = *leader.pid();
    // Main makes the same setpgid call from its side, as a shell does: whichever of the two runs
    // first, the group exists before the next child is created.
    wb::check(::setpgid(pgid, pgid), "setpgid(leader)");
    std::vector<wb::Process> members;
    for (int i = 1; i <= 2; ++i) {
        members.emplace_back([&, pgid] { group_member(pgid, "joins the leader's group", ready, done); });
        members.back().set_name(fmt::format("member-{}", i));
        members.back().start();
        wb::check(::setpgid(*members.back().pid(), pgid), "setpgid(member)");
    }
    wb::Process outsider([&] { group_member(-1, "stays in main's group", ready, done); });
    outsider.set_name("outsider");
    outsider.start();
    for (int i = 0; i < 4; ++i) {
        if (!ready.acquire(sync_timeout())) throw std::runtime_error("a group member did not start");
    }

    std::vector<pid_t> expected{pgid, *members[0].pid(), *members[1].pid()};
    std::sort(expected.begin(), expected.end());
    const std::vector<pid_t> found = members_of_group(pgid);
    wb::emit("group.formed",
             {{"pgid", pgid}, {"members", found}, {"expected", expected}, {"main_pgid", ::getpgrp()},
              {"outsider_pgid", read_proc_stat(*outsider.pid()).value_or(ProcStat{}).pgrp}},
             fmt::format("/proc: the group led by leader has {} members ({}), main's group is another",
                         found.size(), found == expected ? "leader, member-1, member-2" : "NOT the expected ones"));
    hold("the process group");

    // Never signal a group that is not ours to end: main's own group holds the shell or harness.
    if (pgid <= 1 || pgid == ::getpgrp()) throw std::logic_error("refusing to signal main's own process group");
    wb::check(::killpg(pgid, SIGTERM), "killpg");
    wb::emit("group.signal", {{"pgid", pgid}, {"signal", SIGTERM}, {"signal_name", "SIGTERM"}},
             "main sends SIGTERM to the whole group with one killpg() call");

    Json codes = Json::object();
    std::string table = fmt::format("{:<9}  {:<14}  {}", "child", "process group", "exit code");
    auto row = [&](wb::Process& p, const std::string& group) {
        codes[p.name()] = *p.exitcode();
        table += fmt::format("\n{:<9}  {:<14}  {}", p.name(), group, *p.exitcode());
    };
    leader.join();
    row(leader, "leader's");
    for (auto& m : members) {
        m.join();
        row(m, "leader's");
    }
    // The outsider is in main's group: the signal never reached it, it is still waiting.
    const bool outsider_alive = outsider.is_alive();
    const std::vector<pid_t> left = members_of_group(pgid);
    wb::emit("group.after", {{"pgid", pgid}, {"left", left}, {"outsider_alive", outsider_alive}},
             fmt::format("after the signal: {} processes left in the group, outsider {}", left.size(),
                         outsider_alive ? "still running" : "gone too"));
    done.set();
    outsider.join();
    row(outsider, "main's");
    wb::emit_block("group.table", {{"exitcodes", codes}}, table);
    wb::note("One killpg() ended all three members (exit code -15, SIGTERM) and nothing else: the\n"
             "outsider, in main's group, ended normally when told to. Ctrl-C reaches a terminal's\n"
             "foreground group the same way, but with SIGINT, not SIGTERM.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "04-process-lifecycle",
        .title = "Process lifecycle",
        .description = "A process from birth to death, observed on Linux: the same program run twice is two\n"
                       "processes; fork copies, spawn starts afresh; the four ways to end and their exit codes;\n"
                       "the states R, S, T, Z read live from /proc/PID/stat; the process tree, and a signal\n"
                       "sent to a whole process group.",
        .demos = {
            {"two-runs", "the same program run twice is two processes", demo_two_runs},
            {"fork-vs-spawn", "creation: fork copies the parent, spawn starts the program afresh",
             demo_fork_vs_spawn},
            {"endings", "the four ways to end and their exit codes", demo_endings},
            {"states", "process states R, S, T, Z observed live in /proc", demo_states},
            {"tree", "the process tree, read from /proc", demo_tree},
            {"process-group", "one signal to a whole process group (killpg)", demo_process_group},
        },
        .options = {
            {"hold", "S",
             "keep each observed state, the tree and the process group for S logical seconds\n"
             "                      (default 0), to look at them with ps in another terminal",
             [](std::string_view value) {
                 const double seconds = wb::parse_double(value, "hold");
                 if (seconds < 0) throw std::invalid_argument("--hold must be >= 0");
                 g_hold = seconds;
             }},
        },
        .entry_points = {
            {"instance", instance},
            {"report-copy", [](const std::vector<std::string>& args) { report_copy(args.at(0)); }},
        },
    });
}
