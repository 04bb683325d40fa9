// Unit tests of wb/process.hpp (and of wb/error.hpp, whose SystemError the process calls throw).
//
// How the tests stay deterministic
//   A child that must still be running when the test looks at it is blocked on a pipe read (a
//   Gate), never on a sleep that hopes to be long enough: the test releases it by writing a byte,
//   or ends it with a signal. A child that is going to be signalled first restores the default
//   signal actions (Catch2 installs its own handlers for SIGTERM, SIGINT, SIGSEGV, ..., and a
//   forked child inherits them) and only then tells the test it is ready, so the signal always
//   finds the state the test expects.
// How children end
//   Through wb::Process, whose children _exit and never return into Catch2; the two raw children
//   below exec at once (inside the harness). Every test reaps what it started: a ChildrenGuard
//   terminates and reaps leftovers if an assertion ends a test early.
// Output
//   The tests run with --format json semantics (events go to the journal only), so the children's
//   "error" events do not mix with Catch2's report on stdout.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

// Shows std::optional values (exit codes, pids) in failure messages.
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <catch2/catch.hpp>

#include "run_program.hpp"
#include "internal.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"
#include "wb/fd.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"

using wb::Json;

namespace {

// --- helpers ----------------------------------------------------------------------------------

// The toolkit's pipe (wb/fd.hpp) with the few reads these tests need on top: a line, or exactly n
// bytes, while the writers may stay alive (no end of file needed). r and w name the two ends.
struct Pipe : wb::Pipe {
    [[nodiscard]] int r() const noexcept { return read_end.get(); }
    [[nodiscard]] int w() const noexcept { return write_end.get(); }
    // Writes all of `s` (a child's report: small, so one atomic write).
    void send(const std::string& s) const {
        try {
            wb::write_all(w(), s);
        } catch (const wb::SystemError&) {
            wb::exit_process(99);
        }
    }
    [[nodiscard]] std::string read_all() const { return wb::read_all(r()); }
    [[nodiscard]] std::string read_line() const {
        std::string out;
        while (auto c = wb::read_some(r(), 1)) {
            if (c->empty() || *c == "\n") break;
            out += *c;
        }
        return out;
    }
    [[nodiscard]] std::string read_exactly(std::size_t n) const {
        std::string out;
        while (out.size() < n) {
            const auto c = wb::read_some(r(), 1);
            if (!c || c->empty()) break;
            out += *c;
        }
        return out;
    }
};

// Restores the default actions of the signals Catch2 handles, in a child about to be signalled.
void default_signal_actions() {
    for (const int sig : {SIGTERM, SIGINT, SIGSEGV, SIGABRT, SIGILL, SIGFPE}) ::signal(sig, SIG_DFL);
}

// The handshake with a blocked child: it says "ready" (one byte each) and waits to be released.
struct Gate {
    Pipe ready;
    Pipe release;
    // In the child: restore the signal defaults (unless told not to), say ready, block until
    // released (or until the test process is gone: then the read sees EOF, because the child
    // closed its own copy of the write end).
    void child_waits(bool restore_signal_defaults = true) {
        if (restore_signal_defaults) default_signal_actions();
        release.write_end.reset();
        ready.read_end.reset();
        if (::write(ready.w(), "r", 1) != 1) wb::exit_process(98);
        char c;
        while (::read(release.r(), &c, 1) < 0 && errno == EINTR) {
        }
    }
    // In the test: wait until `n` children are ready.
    void wait_ready(std::size_t n = 1) const { REQUIRE(ready.read_exactly(n).size() == n); }
    // In the test: let `n` waiting children go on.
    void open(std::size_t n = 1) const {
        const std::string bytes(n, 'g');
        REQUIRE(::write(release.w(), bytes.data(), bytes.size()) == static_cast<ssize_t>(n));
    }
};

// Children of this process that exist (running or zombie), from /proc: the harness's scan.
std::vector<pid_t> children_of_me() { return harness::children_of_this_process(); }

// Per test: journal-only output, a fast clock, and no child left behind even when a REQUIRE fails.
struct ChildrenGuard {
    wb::OutputConfig config = wb::output_config();
    double scale = wb::clock::time_scale();
    ChildrenGuard() {
        wb::OutputConfig quiet;
        quiet.format = wb::Format::json;
        wb::configure_output(quiet);
        wb::clock::set_time_scale(0.01);
        wb::journal::open();
    }
    ~ChildrenGuard() {
        if (wb::live_children() > 0) {
            try {
                wb::terminate_children();
            } catch (...) {
            }
        }
        wb::configure_output(config);
        wb::clock::set_time_scale(scale);
    }
};

std::string fixture() {
    const char* path = std::getenv("WB_UNIT_FIXTURE");
    if (path == nullptr) FAIL("WB_UNIT_FIXTURE is not set (run through meson test)");
    return path;
}

std::string report_of(const wb::CurrentProcess& me) {
    std::string ids;
    for (int i : me.identity) ids += (ids.empty() ? "" : ",") + std::to_string(i);
    return me.name + "|" + ids + "|" + (me.daemon ? "daemon" : "normal") + "|" + std::to_string(me.pid);
}

// A subclass, as in `class NewProcess(Process)`.
class NewProcess : public wb::Process {
public:
    explicit NewProcess(int write_fd) : write_fd_(write_fd) {}

protected:
    void run() override {
        const std::string me = wb::current_process().name;
        [[maybe_unused]] const auto n = ::write(write_fd_, me.data(), me.size());
    }

private:
    int write_fd_;
};

// A class template subclass: Python would call it after the class, Worker-N.
template <typename T>
class Worker : public wb::Process {
public:
    explicit Worker(T value) : value_(std::move(value)) {}

protected:
    void run() override {}

private:
    T value_;
};

// A callable object, and a plain function with arguments, for the template constructor.
struct Reporter {
    int fd;
    void operator()(const std::string& text, int number) const {
        const std::string s = text + ":" + std::to_string(number);
        [[maybe_unused]] const auto n = ::write(fd, s.data(), s.size());
    }
};

void report_args(int fd, std::string text, const char* literal, double x) {
    const std::string s = text + "|" + literal + "|" + std::to_string(x);
    [[maybe_unused]] const auto n = ::write(fd, s.data(), s.size());
}

}  // namespace

// --- exit codes ---------------------------------------------------------------------------------

TEST_CASE("exit codes: 0, 1 on an exception, N from exit_process(N), -N when signal N ends it", "[process]") {
    ChildrenGuard guard;
    const std::size_t mark = wb::journal::mark();

    wb::Process ok([] {});
    wb::Process throws([] { throw std::runtime_error("deliberate failure"); });
    wb::Process throws_other([] { throw 42; });
    wb::Process seven([] { wb::exit_process(7); });
    wb::Process max([] { wb::exit_process(255); });
    wb::Process zero([] { wb::exit_process(0); });
    wb::Process raises([] {
        default_signal_actions();
        ::raise(SIGUSR1);
    });
    for (auto* p : {&ok, &throws, &throws_other, &seven, &max, &zero, &raises}) p->start();
    for (auto* p : {&ok, &throws, &throws_other, &seven, &max, &zero, &raises}) p->join();
    CHECK(ok.exitcode() == 0);
    CHECK(throws.exitcode() == 1);
    CHECK(throws_other.exitcode() == 1);
    CHECK(seven.exitcode() == 7);
    CHECK(max.exitcode() == 255);
    CHECK(zero.exitcode() == 0);
    CHECK(raises.exitcode() == -SIGUSR1);

    // The exception was reported as an "error" event by the child, naming the child.
    int errors = 0;
    for (const auto& e : wb::journal::events_since(mark)) {
        if (e["event"] != "error" || e["pid"] != *throws.pid()) continue;
        ++errors;
        CHECK(e["fields"]["error"] == "deliberate failure");
        CHECK(e["actor"] == throws.name());
        CHECK(e["text"].get<std::string>().find("deliberate failure") != std::string::npos);
    }
    CHECK(errors == 1);
    CHECK(wb::live_children() == 0);
}

TEST_CASE("exit codes: -9 after kill(), -15 after terminate()", "[process][signals]") {
    ChildrenGuard guard;
    Gate gate;
    wb::Process killed([&] { gate.child_waits(); });
    wb::Process terminated([&] { gate.child_waits(); });
    killed.start();
    terminated.start();
    gate.wait_ready(2);
    killed.kill();
    terminated.terminate();
    // Right after the signal the child may or may not be gone yet: both answers are allowed.
    [[maybe_unused]] const bool maybe = terminated.is_alive();
    killed.join();
    terminated.join();
    CHECK(killed.exitcode() == -SIGKILL);
    CHECK(terminated.exitcode() == -SIGTERM);
    CHECK_FALSE(killed.is_alive());
    CHECK_FALSE(terminated.is_alive());
    // Signalling a reaped child is a no-op (its pid may belong to someone else by now).
    CHECK_NOTHROW(terminated.terminate());
    CHECK_NOTHROW(killed.kill());
    CHECK(terminated.exitcode() == -SIGTERM);
}

// --- the state model ----------------------------------------------------------------------------

TEST_CASE("pid, exitcode and is_alive through created -> running -> reaped", "[process]") {
    ChildrenGuard guard;
    Gate gate;
    wb::Process p([&] { gate.child_waits(); });
    // created
    CHECK_FALSE(p.pid().has_value());
    CHECK_FALSE(p.exitcode().has_value());
    CHECK_FALSE(p.is_alive());
    CHECK(p.start_method() == wb::StartMethod::fork);
    // running
    p.start();
    REQUIRE(p.pid().has_value());
    CHECK(*p.pid() > 0);
    CHECK(*p.pid() != ::getpid());
    gate.wait_ready();
    CHECK(p.is_alive());
    CHECK_FALSE(p.exitcode().has_value());  // empty while running
    CHECK(wb::live_children() == 1);
    const auto mine = children_of_me();
    CHECK(std::find(mine.begin(), mine.end(), *p.pid()) != mine.end());
    // ended and reaped
    gate.open();
    p.join();
    CHECK(p.exitcode() == 0);
    CHECK_FALSE(p.is_alive());
    CHECK(p.pid().has_value());  // the pid stays known after the end, as in Python
    CHECK(wb::live_children() == 0);
    const auto after = children_of_me();
    CHECK(std::find(after.begin(), after.end(), *p.pid()) == after.end());  // no zombie left
}

TEST_CASE("is_alive reaps a child that has ended", "[process]") {
    ChildrenGuard guard;
    wb::Process p([] {});
    p.start();
    // Wait for the end without reaping: the pidfd-free way is waitid(WNOWAIT).
    siginfo_t info{};
    REQUIRE(::waitid(P_PID, static_cast<id_t>(*p.pid()), &info, WEXITED | WNOWAIT) == 0);
    CHECK(wb::live_children() == 1);  // ended, not reaped: a zombie
    CHECK_FALSE(p.is_alive());        // ... until is_alive() looks
    CHECK(p.exitcode() == 0);
    CHECK(wb::live_children() == 0);
}

TEST_CASE("join(timeout) returns false while the child runs and true once it has ended", "[process]") {
    ChildrenGuard guard;
    Gate gate;
    wb::Process p([&] { gate.child_waits(); });
    p.start();
    gate.wait_ready();
    CHECK_FALSE(p.join(0.0));
    // A timed-out join waits at least its (scaled) timeout: 5 logical s = 50 ms here.
    const std::int64_t before = wb::clock::monotonic_ns();
    CHECK_FALSE(p.join(5.0));
    CHECK(wb::clock::monotonic_ns() - before >= wb::clock::to_real(5.0).count());
    CHECK(p.is_alive());
    CHECK_FALSE(p.exitcode().has_value());

    gate.open();
    CHECK(p.join(100000.0));  // returns when the child ends, not when the timeout does
    CHECK(p.exitcode() == 0);
    CHECK(p.join(0.0));  // already reaped
    CHECK_NOTHROW(p.join());
}

TEST_CASE("a child's own children are joined before it ends", "[process]") {
    ChildrenGuard guard;
    Gate gate;
    wb::Process parent([&] {
        wb::Process grandchild([&] { gate.child_waits(); });
        grandchild.start();
        // run() returns without joining: the child still waits for its child before ending.
    });
    parent.start();
    gate.wait_ready();
    CHECK_FALSE(parent.join(2.0));  // the grandchild is blocked, so its parent is too
    gate.open();
    parent.join();
    CHECK(parent.exitcode() == 0);
}

TEST_CASE("a Process destroyed while its child runs leaves it registered; it is reaped at exit", "[process]") {
    ChildrenGuard guard;
    Gate gate;
    pid_t pid = 0;
    {
        wb::Process p([&] { gate.child_waits(); });
        p.start();
        pid = *p.pid();
    }
    gate.wait_ready();
    CHECK(wb::live_children() == 1);
    gate.open();
    wb::reap_children_at_exit();
    CHECK(wb::live_children() == 0);
    const auto mine = children_of_me();
    CHECK(std::find(mine.begin(), mine.end(), pid) == mine.end());
}

TEST_CASE("a moved Process keeps its child", "[process]") {
    ChildrenGuard guard;
    std::vector<wb::Process> all;
    wb::Process p([] { wb::exit_process(3); });
    const std::string name = p.name();
    all.push_back(std::move(p));
    all.reserve(16);  // moves again
    all.front().start();
    wb::Process moved = std::move(all.front());
    moved.join();
    CHECK(moved.exitcode() == 3);
    CHECK(moved.name() == name);
}

// --- misuse -------------------------------------------------------------------------------------

TEST_CASE("misuse throws: start twice, join/terminate/kill before start, set_daemon after start", "[process]") {
    ChildrenGuard guard;
    wb::Process p([] {});
    CHECK_THROWS_AS(p.join(), std::logic_error);
    CHECK_THROWS_AS(p.join(1.0), std::logic_error);
    CHECK_THROWS_AS(p.terminate(), std::logic_error);
    CHECK_THROWS_AS(p.kill(), std::logic_error);
    p.start();
    CHECK_THROWS_AS(p.start(), std::logic_error);
    CHECK_THROWS_WITH(p.start(), Catch::Contains("twice"));
    CHECK_THROWS_AS(p.set_daemon(true), std::logic_error);
    CHECK_FALSE(p.daemon());
    p.join();
    CHECK_THROWS_AS(p.start(), std::logic_error);  // also after the end
    CHECK(wb::live_children() == 0);
}

// --- run() ----------------------------------------------------------------------------------------

TEST_CASE("run() called directly runs in the caller's process", "[process]") {
    ChildrenGuard guard;
    pid_t ran_in = 0;
    wb::Process p([&] { ran_in = ::getpid(); });
    p.run();
    CHECK(ran_in == ::getpid());
    CHECK_FALSE(p.pid().has_value());
    CHECK(wb::live_children() == 0);

    Pipe out;
    NewProcess sub(out.w());
    static_cast<wb::Process&>(sub).run();  // the override, here: reports this process's name
    out.write_end.reset();
    CHECK(out.read_all() == "MainProcess");
}

// --- names and identity ---------------------------------------------------------------------------

TEST_CASE("names follow Python: Process-N, <Class>-N, set_name, Process-N:M for a child's child", "[process]") {
    ChildrenGuard guard;
    wb::detail::reset_for_demo();  // numbering starts again at 1, as in each demo
    const auto main = wb::current_process();
    CHECK(main.name == "MainProcess");
    CHECK(main.identity.empty());
    CHECK_FALSE(main.daemon);
    CHECK(main.pid == ::getpid());

    Pipe out;
    wb::Process first([&] { out.send(report_of(wb::current_process()) + "\n"); });
    wb::Process second([] {});
    NewProcess sub(out.w());
    wb::Process renamed([] {});
    renamed.set_name("worker");
    CHECK(first.name() == "Process-1");
    CHECK(first.identity() == std::vector<int>{1});
    CHECK(second.name() == "Process-2");
    CHECK(sub.name() == "NewProcess-3");
    CHECK(renamed.name() == "worker");
    CHECK(renamed.identity() == std::vector<int>{4});

    first.start();
    first.join();
    CHECK(out.read_line() == "Process-1|1|normal|" + std::to_string(*first.pid()));
    sub.start();
    sub.join();
    CHECK(out.read_exactly(12) == "NewProcess-3");
    renamed.start();
    renamed.join();
    // A child's child: Process-<parent>:<n>, numbered from 1 inside each process.
    wb::Process parent([&] {
        wb::Process inner([&] { out.send(report_of(wb::current_process()) + "\n"); });
        inner.start();
        inner.join();
        out.send(std::to_string(*inner.pid()) + "\n");
    });
    parent.start();
    parent.join();
    CHECK(parent.name() == "Process-5");
    CHECK(parent.exitcode() == 0);
    const std::string inner_report = out.read_line();
    const std::string inner_pid = out.read_line();
    CHECK(inner_report == "Process-5:1|5,1|normal|" + inner_pid);
    CHECK(wb::live_children() == 0);
}

TEST_CASE("a class template subclass is named after its class template", "[process]") {
    wb::detail::reset_for_demo();
    // Either form is a fair C++ reading of Python's "<Class>-N": with or without the arguments.
    auto named_after_worker = [](const std::string& name, const std::string& n) {
        return (name.rfind("Worker-", 0) == 0 || name.rfind("Worker<", 0) == 0) &&
               name.size() > n.size() && name.compare(name.size() - n.size(), n.size(), n) == 0;
    };
    Worker<int> plain(1);
    INFO(plain.name());
    CHECK(named_after_worker(plain.name(), "-1"));
    // With a namespaced template argument the last "::" of the demangled name is inside the
    // argument list, and the name came out as "allocator<char> > >-2". See the report: strip the
    // template arguments before looking for the namespace separator.
    Worker<std::string> text("x");
    INFO(text.name());
    CHECK(named_after_worker(text.name(), "-2"));
}

TEST_CASE("target arguments are copied when the Process is made, as Python binds them", "[process]") {
    ChildrenGuard guard;
    Pipe out;
    std::string text = "before";
    wb::Process from_function(report_args, out.w(), text, "literal", 2.5);
    wb::Process from_object(Reporter{out.w()}, text, 7);
    const std::function<void()> wrapped = [fd = out.w()] {
        [[maybe_unused]] const auto n = ::write(fd, "wrapped", 7);
    };
    wb::Process from_std_function(wrapped);
    text = "after";  // too late: the children got copies
    from_function.start();
    from_function.join();
    from_object.start();
    from_object.join();
    from_std_function.start();
    from_std_function.join();
    out.write_end.reset();
    CHECK(out.read_all() == "before|literal|2.500000before:7wrapped");
}

// --- daemons --------------------------------------------------------------------------------------

TEST_CASE("daemon children are terminated and reaped by reap_children_at_exit()", "[process][daemon]") {
    ChildrenGuard guard;
    Gate gate;
    wb::Process daemon([&] { gate.child_waits(); });  // would wait forever
    daemon.set_daemon(true);
    CHECK(daemon.daemon());
    wb::Process ordinary([] { wb::exit_process(5); });
    daemon.start();
    ordinary.start();
    gate.wait_ready();
    wb::reap_children_at_exit();
    CHECK(daemon.exitcode() == -SIGTERM);
    CHECK(ordinary.exitcode() == 5);  // joined, not terminated
    CHECK_FALSE(daemon.is_alive());
    CHECK(wb::live_children() == 0);
}

TEST_CASE("a daemon may not start children: std::logic_error with Python's message", "[process][daemon]") {
    ChildrenGuard guard;
    // The child reports through its exit code: 42 = the expected error, 43 = another message,
    // 44 = no error at all, 45 = it did not know it was a daemon.
    wb::Process daemon([] {
        if (!wb::current_process().daemon) wb::exit_process(45);
        try {
            wb::Process child([] {});
            child.start();
            child.join();
        } catch (const std::logic_error& e) {
            wb::exit_process(std::string(e.what()) == "daemonic processes are not allowed to have children" ? 42
                                                                                                           : 43);
        }
        wb::exit_process(44);
    });
    daemon.set_daemon(true);
    daemon.start();
    daemon.join();
    CHECK(daemon.exitcode() == 42);

    // A non-daemon child may (the contrast).
    wb::Process ordinary([] {
        wb::Process child([] { wb::exit_process(9); });
        child.start();
        child.join();
        wb::exit_process(*child.exitcode() == 9 ? 0 : 1);
    });
    ordinary.start();
    ordinary.join();
    CHECK(ordinary.exitcode() == 0);
}

// --- signals and the process tree -----------------------------------------------------------------

TEST_CASE("SIGTERM to a child with children of its own terminates and reaps them (-15)", "[process][signals]") {
    ChildrenGuard guard;
    // As a subreaper, this process would adopt any grandchild its child left behind.
    REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    Gate gate;
    Pipe pids;
    wb::Process child([&] {
        default_signal_actions();
        // What every process of a chapter has: run_chapter installs the handlers and forked
        // children inherit them.
        wb::detail::install_signal_handlers();
        std::string list;
        std::vector<wb::Process> grandchildren;
        for (int i = 0; i < 2; ++i) grandchildren.emplace_back([] { ::pause(); });
        for (auto& g : grandchildren) {
            g.start();
            list += std::to_string(*g.pid()) + " ";
        }
        pids.send(list + "\n");
        gate.child_waits(false);  // keep the handlers just installed
    });
    child.start();
    gate.wait_ready();
    pids.write_end.reset();
    std::istringstream in(pids.read_line());
    std::vector<int> pidfds;
    pid_t g = 0;
    while (in >> g) pidfds.push_back(static_cast<int>(::syscall(SYS_pidfd_open, g, 0)));
    REQUIRE(pidfds.size() == 2);
    for (const int fd : pidfds) REQUIRE(fd >= 0);

    child.terminate();
    child.join();
    CHECK(child.exitcode() == -SIGTERM);
    // Both grandchildren had ended before their parent died (their pidfds are readable now)...
    for (const int fd : pidfds) {
        pollfd p{fd, POLLIN, 0};
        CHECK(::poll(&p, 1, 0) == 1);
        ::close(fd);
    }
    // ... and were reaped by it: none was orphaned to us.
    CHECK(children_of_me().empty());
    CHECK(wb::live_children() == 0);
}

TEST_CASE("terminate() right after start() ends only that child, never a sibling", "[process][signals]") {
    // Chapter 08's move: start a child and terminate it at once. In a process with the workbook's
    // signal handlers (every chapter process), the new child inherits the handler *and* the
    // parent's list of children to end on SIGTERM. If the SIGTERM lands before the child has
    // forgotten that list, its handler terminates its siblings. A correct start() blocks the
    // signals across fork() until the child has taken its own identity, so this always passes;
    // without that, the sibling dies within the first few rounds.
    ChildrenGuard guard;
    wb::Process main_like([] {
        default_signal_actions();
        wb::detail::install_signal_handlers();  // as run_chapter does for every chapter
        Pipe hold;
        wb::Process sibling([&] {
            char c;
            while (::read(hold.r(), &c, 1) < 0 && errno == EINTR) {
            }
        });
        sibling.start();
        int rounds = 0;
        for (; rounds < 200 && sibling.is_alive(); ++rounds) {
            wb::Process doomed([] { ::pause(); });
            doomed.start();
            doomed.terminate();
            doomed.join();
            if (doomed.exitcode() != -SIGTERM) wb::exit_process(3);
        }
        const bool survived = sibling.is_alive();
        [[maybe_unused]] const auto n = ::write(hold.w(), "g", 1);
        sibling.join();
        wb::exit_process(survived ? 0 : 10);
    });
    main_like.start();
    main_like.join();
    INFO("exit code 10: the sibling was terminated by the doomed child's inherited handler");
    CHECK(main_like.exitcode() == 0);
}

TEST_CASE("SIGKILL of a parent ends its children, except one that opted out and is orphaned",
          "[process][signals]") {
    // SIGKILL cannot be caught, so the killed child cannot clean up: its own children end through
    // the parent-death signal they armed when they started. The one that opted out
    // (set_end_with_parent(false), what chapter 08's orphan demo does) is adopted by the nearest
    // subreaper: this test process.
    ChildrenGuard guard;
    REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    Gate gate;
    Pipe pids;
    wb::Process child([&] {
        wb::Process ends([] {
            default_signal_actions();
            ::pause();
        });
        wb::Process orphan([] {
            default_signal_actions();
            ::pause();
        });
        orphan.set_end_with_parent(false);
        ends.start();
        orphan.start();
        pids.send(std::to_string(*ends.pid()) + " " + std::to_string(*orphan.pid()) + "\n");
        gate.child_waits();
    });
    child.start();
    gate.wait_ready();
    pids.write_end.reset();
    std::istringstream in(pids.read_line());
    pid_t ends = 0;
    pid_t orphan = 0;
    in >> ends >> orphan;
    REQUIRE(ends > 0);
    REQUIRE(orphan > 0);
    child.kill();
    child.join();
    CHECK(child.exitcode() == -SIGKILL);
    // Both grandchildren are now ours (we are the subreaper). The one that ends with its parent
    // was sent SIGKILL by the kernel: waiting for it returns that, without our sending anything.
    int status = 0;
    REQUIRE(::waitpid(ends, &status, 0) == ends);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    // The one that opted out is still running, adopted by us. End and reap it ourselves.
    const auto mine = children_of_me();
    CHECK(std::find(mine.begin(), mine.end(), orphan) != mine.end());
    CHECK(::waitpid(orphan, &status, WNOHANG) == 0);
    ::kill(orphan, SIGKILL);
    CHECK(::waitpid(orphan, &status, 0) == orphan);
    CHECK(children_of_me().empty());
}

TEST_CASE("a child started when descriptors have run out is still tracked, joined and reaped",
          "[process]") {
    // fork() needs no descriptor, pidfd_open() does. With none left, start() must not fail after
    // the fork has happened (the child would run on, untracked): join(timeout) falls back to
    // polling waitpid, and the child is joined, terminated and reaped as usual.
    ChildrenGuard guard;
    wb::Process probe([] {
        const rlimit limit{64, 64};
        wb::check(::setrlimit(RLIMIT_NOFILE, &limit), "setrlimit");
        while (::dup(0) >= 0) {
        }
        if (errno != EMFILE) wb::exit_process(2);
        wb::Process quick([] {});
        quick.start();
        if (!quick.join(60.0 / wb::clock::time_scale())) wb::exit_process(3);
        if (quick.exitcode() != 0) wb::exit_process(4);
        wb::Process stuck([] { ::pause(); });
        stuck.start();
        if (stuck.join(0.5)) wb::exit_process(5);  // still running: the timeout must be honoured
        stuck.terminate();
        stuck.join();
        if (stuck.exitcode() != -SIGTERM) wb::exit_process(6);
        if (wb::live_children() != 0) wb::exit_process(7);
    });
    probe.start();
    probe.join();
    INFO("exit code N: the step that failed in the child, see the code above");
    CHECK(probe.exitcode() == 0);
    CHECK(children_of_me().empty());
}

TEST_CASE("a child whose parent is already gone when it starts ends at once", "[process][signals]") {
    // The race the parent-death signal cannot cover by itself: the parent dies between fork() and
    // the child's prctl(). end_with_parent() then sees another parent and ends the child. Here a
    // raw child calls it with a pid that is not its parent, which is what that race looks like.
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        wb::detail::end_with_parent(::getppid() == 1 ? 2 : 1);
        ::_exit(0);  // not reached
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("terminate_children() ends and reaps every child", "[process][signals]") {
    ChildrenGuard guard;
    Gate gate;
    std::vector<wb::Process> children;
    for (int i = 0; i < 4; ++i) children.emplace_back([&] { gate.child_waits(); });
    for (auto& p : children) p.start();
    gate.wait_ready(4);
    CHECK(wb::live_children() == 4);
    wb::terminate_children();
    CHECK(wb::live_children() == 0);
    for (auto& p : children) CHECK(p.exitcode() == -SIGTERM);
    for (const pid_t c : children_of_me()) {
        for (auto& p : children) CHECK(c != *p.pid());
    }
}

// --- spawn ----------------------------------------------------------------------------------------

TEST_CASE("spawn: an unknown entry point is refused before anything starts", "[process][spawn]") {
    ChildrenGuard guard;
    wb::Process p = wb::Process::spawn("no-such-entry", {"x"});
    CHECK(p.start_method() == wb::StartMethod::spawn);
    CHECK_THROWS_AS(p.start(), std::invalid_argument);
    CHECK_THROWS_WITH(p.start(), Catch::Contains("no-such-entry"));
    CHECK_FALSE(p.pid().has_value());
    CHECK(wb::live_children() == 0);
}

TEST_CASE("spawn: the child re-runs the program, module_level included, and runs the entry point",
          "[process][spawn]") {
    const auto r = harness::run_program(fixture(), {"--demo", "spawn", "--format", "jsonl", "--seed", "5"});
    INFO("stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.jsonl_ok);
    INFO("leftovers: " << r.leftovers.size());
    CHECK(r.leftovers.empty());

    const auto starts = harness::select(r.events, "process.start");
    const auto entries = harness::select(r.events, "entry.ran");
    const auto modules = harness::select(r.events, "module_level");
    const auto results = harness::select(r.events, "spawn.result");
    const auto run_begin = harness::select(r.events, "run.begin");
    REQUIRE(run_begin.size() == 1);
    const long main_pid = run_begin[0]["pid"].get<long>();
    REQUIRE(starts.size() == 4);
    REQUIRE(results.size() == 4);
    REQUIRE(entries.size() == 3);  // the forked child does not run the entry point

    // module_level ran in the program and once more in each spawned child (not in the fork).
    std::set<long> module_pids;
    for (const auto& m : modules) module_pids.insert(m["pid"].get<long>());
    CHECK(modules.size() == 4);
    CHECK(module_pids.size() == 4);
    CHECK(module_pids.count(main_pid) == 1);

    std::map<std::string, Json> result_by_name;
    for (const auto& res : results) result_by_name[res["fields"]["name"].get<std::string>()] = res["fields"];
    REQUIRE(result_by_name.size() == 4);
    CHECK(result_by_name["Process-1"]["method"] == "spawn");
    CHECK(result_by_name["Process-1"]["exitcode"] == 0);
    CHECK(result_by_name["Process-2"]["exitcode"] == 3);
    CHECK(result_by_name["Process-3"]["exitcode"] == 1);  // the entry threw
    CHECK(result_by_name["Process-4"]["method"] == "fork");
    CHECK(result_by_name["Process-4"]["exitcode"] == 0);
    CHECK(r.err.find("boom from a spawned child") != std::string::npos);

    for (const auto& e : entries) {
        const Json& f = e["fields"];
        const std::string name = f["name"];
        INFO(e.dump());
        REQUIRE(result_by_name.count(name) == 1);
        CHECK(f["pid"] == result_by_name[name]["pid"]);  // the spawned process itself ran it
        CHECK(e["pid"] == f["pid"]);
        CHECK(f["ppid"].get<long>() == main_pid);
        CHECK(module_pids.count(f["pid"].get<long>()) == 1);  // and re-ran module_level
        CHECK(e["actor"] == name);
        // The parent's settings travelled with it: time scale, seed, and its own random stream.
        CHECK(f["time_scale"] == run_begin[0]["fields"]["time_scale"]);
        CHECK(f["seed"] == 5);
        const int index = f["identity"][0].get<int>();
        CHECK(f["identity"] == Json::array({index}));
        CHECK(name == "Process-" + std::to_string(index));
        CHECK(f["first_random"].get<std::uint64_t>() == wb::Random(5, static_cast<std::uint64_t>(index)).next());
        // Its logical clock shares the parent's epoch.
        CHECK(e["t"].get<double>() >= run_begin[0]["t"].get<double>());
    }
    std::set<Json> args;
    for (const auto& e : entries) args.insert(e["fields"]["args"]);
    CHECK(args == std::set<Json>{Json::array({"0"}), Json::array({"3"}), Json::array({"throw", "boom from a spawned child"})});
}

// --- Ctrl-C ---------------------------------------------------------------------------------------

TEST_CASE("SIGINT: children and grandchildren are ended, exit status 130, nothing left behind",
          "[process][signals]") {
#if defined(__SANITIZE_THREAD__)
    // Under ThreadSanitizer a child asleep in a long clock_nanosleep runs its SIGTERM handler
    // late (TSan defers handlers to its next interception point), so the parent's 2 s SIGKILL
    // fallback ends the child before it has ended its own child, which the harness then finds
    // orphaned. The address/undefined and plain builds run this test; TSan's job here is the
    // threads, not the signal path.
    WARN("skipped under ThreadSanitizer: signal handlers are deferred in a sleeping child");
    return;
#endif
    // SIGINT is blocked here while the fixture starts (the mask is inherited through fork and
    // exec) and the fixture keeps it blocked (--hold-sigint) until its three sleepers and the
    // grandchild have all said they are resting: the SIGINT the harness sends always arrives
    // with the whole tree in place, however slow the start is.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
    harness::Options options;
    options.send_sigint_after_ms = 200;
    options.timeout = std::chrono::seconds(60);
    const auto r = harness::run_program(
        fixture(), {"--demo", "sleepers", "--format", "jsonl", "--procs", "3", "--rest", "1000000", "--hold-sigint"},
        options);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);

    INFO("stderr:\n" << r.err << "\nstdout:\n" << r.out);
    CHECK(r.exit_code == 130);
    std::string leftovers;
    for (const auto& l : r.leftovers) leftovers += l + "\n";
    INFO("leftovers:\n" << leftovers);
    CHECK(r.leftovers.empty());  // the harness is a subreaper: orphans would show up here
    REQUIRE(r.jsonl_ok);
    CHECK(harness::select(r.events, "sleepers.ready").size() == 1);
    const auto ready = harness::select(r.events, "sleepers.ready");
    const long main_pid = ready.empty() ? -1 : ready[0]["pid"].get<long>();
    int started_by_main = 0;
    for (const auto& e : harness::select(r.events, "process.start")) started_by_main += e["pid"] == main_pid;
    CHECK(started_by_main == 3);
    CHECK(harness::select(r.events, "run.end").empty());
    // Three children and a grandchild were resting (their begin events precede "ready"), and
    // nobody finished.
    const auto rests = harness::select(r.events, "rest");
    CHECK(rests.size() == 4);
    std::set<long> resting_pids;
    for (const auto& e : rests) {
        CHECK(e["phase"] == "begin");
        resting_pids.insert(e["pid"].get<long>());
    }
    CHECK(resting_pids.size() == 4);
    CHECK(resting_pids.count(main_pid) == 0);
}

// --- wb/error.hpp -------------------------------------------------------------------------------

TEST_CASE("check() passes results through and throws SystemError with the call and errno text", "[error]") {
    CHECK(wb::check(0, "call") == 0);
    CHECK(wb::check(5, "call") == 5);
    CHECK(wb::check(static_cast<ssize_t>(12), "read") == 12);
    CHECK(wb::check(static_cast<long>(-2), "odd") == -2);  // only -1 means failure
    CHECK(wb::check(static_cast<pid_t>(1234), "fork") == 1234);

    errno = 0;
    const int fd = ::open("/nonexistent-directory/file", O_RDONLY);
    try {
        wb::check(fd, "open");
        FAIL("check(-1) did not throw");
    } catch (const wb::SystemError& e) {
        CHECK(e.call() == "open");
        CHECK(e.code().value() == ENOENT);
        CHECK(std::string(e.what()) == std::string("open: ") + std::strerror(ENOENT));
    }
    errno = EACCES;
    CHECK_THROWS_AS(wb::check(static_cast<ssize_t>(-1), "write"), wb::SystemError);
    CHECK_THROWS_WITH(wb::throw_errno("waitpid", ECHILD), std::string("waitpid: ") + std::strerror(ECHILD));
    CHECK_NOTHROW(wb::check_pthread(0, "pthread_mutex_lock"));
    try {
        wb::check_pthread(EINVAL, "pthread_mutex_lock");
        FAIL("check_pthread(EINVAL) did not throw");
    } catch (const std::system_error& e) {  // SystemError is a std::system_error
        CHECK(e.code().value() == EINVAL);
        CHECK(std::string(e.what()).rfind("pthread_mutex_lock: ", 0) == 0);
    }
}
