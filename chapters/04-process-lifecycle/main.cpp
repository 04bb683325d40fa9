// Chapter 04 - Process lifecycle.
//
// Seeds: 000 §1.6-1.7, 001 §六 §七 §八, 004 §一 §五.
// The seeds' theory of processes, made observable on a real Linux system: a program run twice is
// two processes; it ends in one of four ways, each with its own exit code; on the way it passes
// through the states of the five-state model, which /proc/PID/stat shows live; and processes form
// a tree, whose members can be signalled a whole process group at a time. How a process is
// created - fork copies the parent, spawn starts the program afresh - is chapter 05's lesson.
// How main watches its children from outside is in observe.cpp, the deliberate crashes in faults.cpp.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "faults.hpp"
#include "observe.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/event.hpp"
#include "wb/fd.hpp"
#include "wb/output.hpp"
#include "wb/proc.hpp"
#include "wb/process.hpp"
#include "wb/start_gate.hpp"

namespace {

using wb::Json;

// ------------------------------------------------------------------------------------------------
// Demo 1 - the same program run twice is two processes (004 §一).
//
//   "同一个程序执行两次，就会在操作系统中出现两个进程" - run the same program twice and the system
//   has two processes, so the same software can run twice at once doing different things.
//
// The spawn start method starts this very program file again (posix_spawn of /proc/self/exe),
// which is what double-clicking an icon twice does. Each run gets its own pid and its own memory:
// both write the same global variable, then - once both have written - each reads it back and
// finds its own value. A start gate holds each run after its write until both have written.
// ------------------------------------------------------------------------------------------------

int g_number = 0;  // one per program image

// The entry point each spawned run executes. args: its index, and the start gate handed over
// (spawned children inherit the descriptors and map the shared memory again).
void instance(const std::vector<std::string>& args) {
    const int index = std::stoi(args.at(0));
    wb::StartGate both_wrote = wb::StartGate::adopt(args.at(1));
    const ch04::ExeFile exe = ch04::exe_of("self");
    const int before = g_number;
    g_number = 111 * index;
    wb::emit("instance.wrote",
             {{"index", index},
              {"before", before},
              {"value", g_number},
              {"exe", exe.path},
              {"program", ch04::base_name(exe.path)}},
             wb::from_fields("run {index} of {program}: g_number was {before}, writes {value}"));
    // Wait until the other run has written too: from here on both writes have happened.
    if (!both_wrote.arrive_and_wait(ch04::child_patience())) throw std::runtime_error("main never said go");
    wb::emit("instance.read", {{"index", index}, {"value", g_number}},
             wb::from_fields("run {index} reads g_number = {value}: the other run's write did not reach it"));
}

void demo_two_runs() {
    wb::StartGate both_wrote(2);
    const std::string gate = both_wrote.hand_over();  // the spawned runs inherit the descriptors
    std::vector<wb::Process> runs;
    for (int index = 1; index <= 2; ++index) {
        runs.push_back(wb::Process::spawn("instance", {std::to_string(index), gate}));
        runs.back().set_name(fmt::format("run-{}", index));
    }
    for (auto& p : runs) p.start();
    if (!both_wrote.wait_until_ready(ch04::sync_timeout())) {
        throw std::runtime_error("a run did not report within the time limit");
    }

    // Both runs are alive now. Look at them from the outside, the way ps does: through /proc.
    const ch04::ExeFile mine = ch04::exe_of("self");
    Json pids = Json::array();
    bool all_same = true;
    for (auto& p : runs) {
        const ch04::ExeFile theirs = ch04::exe_of(std::to_string(*p.pid()));
        const bool same = theirs.device == mine.device && theirs.inode == mine.inode;
        all_same = all_same && same;
        pids.push_back(*p.pid());
        wb::emit("instance.seen",
                 {{"name", p.name()}, {"pid", *p.pid()}, {"exe", theirs.path}, {"main_exe", mine.path},
                  {"same_file", same}, {"program", ch04::base_name(theirs.path)}},
                 wb::from_fields(same ? "/proc/PID/exe of {name} -> {program} (the same file as main's)"
                                      : "/proc/PID/exe of {name} -> {program} (NOT the same file as main's)"));
    }
    both_wrote.open();
    for (auto& p : runs) p.join();
    const bool distinct = pids[0] != pids[1];
    wb::emit("two-runs.summary", {{"pids", pids}, {"distinct_pids", distinct}, {"same_exe", all_same}},
             fmt::format("one program file, two runs: {} pids, {} program", distinct ? "two different" : "the same",
                         all_same ? "the same" : "a different"));
    wb::note("Same program, two processes: each run has its own pid and its own g_number.\n"
             "A program is the file on disk; a process is one run of it, with its own memory.\n"
             "(Both runs were spawned: the program started afresh. Chapter 05 compares that with fork.)");
}

// ------------------------------------------------------------------------------------------------
// Demo 2 - the four ways a process ends (000 §1.6.4, 001 §六, 004 §五).
//
//   1. normal exit (voluntary: the work is done, the program calls exit)
//   2. error exit (voluntary: `python a.py` when a.py does not exist)
//   3. fatal error (involuntary: an illegal instruction, a reference to memory that does not exist,
//      1/0)
//   4. killed by another process (involuntary: kill -9)
//
// The exit code tells the parent which: 0 for a normal exit, the program's chosen number for an
// error exit, and -N when signal N ended the process (how Python's Process.exitcode and
// wb::Process::exitcode() report it). Python itself exits with 1 for an uncaught exception and
// with 2 when the script to run is missing (`python a.py`: "can't open file"); the child here
// meets its missing file as an uncaught error, so it exits with 1.
//
// One table drives the demo: each row is a child, what it does, and how Python says the same.
// Every child's stderr goes into a pipe, so main can show what a dying child printed.
// ------------------------------------------------------------------------------------------------

void step(const char* kind, const std::string& text, Json extra = Json::object()) {
    extra["kind"] = kind;
    wb::emit("ending.step", std::move(extra), text);
}

struct Ending {
    std::string name;
    std::string how;     // how it ended, for the table
    std::string python;  // the same in Python
    std::function<void()> body;
    bool killed_by_main = false;  // main waits until it is ready, then sends SIGKILL
};

void demo_endings() {
    wb::Event victim_waits;  // the victim is where main may kill it
    wb::Event never;         // what the victim waits for: never set
    const std::vector<Ending> endings{
        // 1. Normal exit: the work is done, the function returns, the process exits with 0.
        {"normal", "returned from its work: normal exit", "end of the function / sys.exit(0)",
         [] { step("normal", "does its work and returns"); }},
        // 2. Error exit: the child opens a file that is not there; the error escapes run(), and
        // like Python the child prints it on stderr and exits with 1.
        {"no-file", "an error it did not catch: error exit", "an uncaught exception",
         [] {
             step("no-file", "opens a.py, which does not exist");
             wb::check(::open("/nonexistent/a.py", O_RDONLY | O_CLOEXEC), "open a.py");
             step("no-file", "never printed: the open failed");
         }},
        // The same kind of ending with a code the program chose: a caller - a shell, a build
        // tool - reads the number to tell what went wrong.
        {"exit-3", "chose to stop with code 3: error exit", "sys.exit(3)",
         [] {
             step("exit-3", "finds something wrong and exits with code 3");
             wb::exit_process(3);
         }},
        // 3. Fatal errors. In Python 1/0 raises ZeroDivisionError, an exception the program may
        // catch. In C++ an integer division by zero goes to the CPU, which refuses: the kernel
        // sends SIGFPE, whose default action ends the process on the spot - nothing runs after
        // it, no exit code of its own. The same for a store to memory that does not exist.
        {"divide", "divided an int by zero: fatal error", "(ZeroDivisionError, an exception)",
         [] {
             ch04::die_quietly_of(SIGFPE);
             step("divide", "computes 1 / 0 with ints");
             const int result = ch04::divide_by_zero(1);
             step("divide", "never printed: still alive", {{"result", result}});
         }},
        {"nowhere", "wrote to address 0: fatal error", "ctypes.string_at(0)",
         [] {
             ch04::die_quietly_of(SIGSEGV);
             step("nowhere", "writes to address 0");
             ch04::write_to_address_zero();
             step("nowhere", "never printed: still alive");
         }},
        // 4. Killed by another process: the victim waits for something that never comes; main
        // sends it SIGKILL (kill -9), which cannot be caught, blocked or ignored.
        {"victim", "killed by main with SIGKILL", "p.kill() / kill -9 PID",
         [&] {
             step("victim", "waits for an event that never comes");
             victim_waits.set();
             if (!never.wait(ch04::child_patience())) step("victim", "gave up waiting");
         },
         true},
    };

    Json rows = Json::array();
    for (const Ending& e : endings) {
        wb::Pipe stderr_pipe;
        wb::Process p([&] {
            wb::check(::dup2(stderr_pipe.write_end.get(), STDERR_FILENO), "dup2");
            e.body();
        });
        p.set_name(e.name);
        p.start();
        stderr_pipe.write_end.reset();  // the child's copy is the only writer: its exit is end of file
        if (e.killed_by_main) {
            if (!victim_waits.wait(ch04::sync_timeout())) throw std::runtime_error("the victim did not start waiting");
            wb::emit("kill.sent", {{"name", e.name}, {"pid", *p.pid()}, {"signal", SIGKILL}, {"signal_name", "SIGKILL"}},
                     wb::from_fields("main sends {signal_name} to {name} (kill -{signal})"));
            p.kill();
        }
        p.join();
        std::string printed = wb::read_all(stderr_pipe.read_end.get(), "read (child's stderr)");
        while (!printed.empty() && printed.back() == '\n') printed.pop_back();
        if (!printed.empty()) {
            wb::emit("child.stderr", {{"name", e.name}, {"stderr", printed}},
                     wb::from_fields("the child's stderr: {stderr}"));
        }
        const int code = *p.exitcode();
        Json ending{{"name", e.name}, {"pid", *p.pid()}, {"exitcode", code}, {"how", e.how}};
        if (code < 0) {
            ending["signal"] = -code;
            ending["signal_name"] = ch04::signal_name(-code);
        }
        wb::emit("ending", std::move(ending),
                 wb::from_fields(code < 0 ? "{name} ended by signal {signal} ({signal_name}): exit code {exitcode}"
                                          : "{name} ended by itself: exit code {exitcode}"));
        rows.push_back({{"name", e.name}, {"how", e.how}, {"exitcode", code}, {"python", e.python}});
    }
    // The table is drawn from the rows the event carries.
    std::string table = fmt::format("{:<8}  {:<40}  {:>9}  {}", "child", "how it ended", "exit code", "in Python");
    for (const Json& r : rows) {
        table += fmt::format("\n{:<8}  {:<40}  {:>9}  {}", r["name"].get<std::string>(), r["how"].get<std::string>(),
                             r["exitcode"].get<int>(), r["python"].get<std::string>());
    }
    wb::emit_block("endings.table", {{"rows", rows}}, table);
    wb::note("Voluntary endings (normal, error) report a number the program chose: 0 means success.\n"
             "Involuntary ones (fatal error, killed) report the signal that ended the process, as -N:\n"
             "the process had no say and ran no code of its own after it.");
}

// ------------------------------------------------------------------------------------------------
// Demo 3 - the states of a process, observed live (000 §1.7, 001 §八).
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

void demo_states() {
    // R: a child that computes without pause is always running or waiting for a CPU.
    {
        wb::Event spinning;
        wb::Event stop;
        wb::Process p([&] {
            ch04::name_in_kernel();  // so that ps, during --hold, shows "spinner"
            spinning.set();
            std::uint64_t turns = 0;
            const wb::clock::Stopwatch watch;
            while (!stop.is_set() && watch.elapsed() < ch04::child_patience()) ++turns;
            wb::emit("spinner.done", {{"turns", turns}}, "spinner stops computing");
        });
        p.set_name("spinner");
        p.start();
        if (!spinning.wait(ch04::sync_timeout())) throw std::runtime_error("spinner did not start");
        ch04::report_state(p, 'R', ch04::watch_for(*p.pid(), 'R'), "it computes in a loop");
        ch04::hold("the spinner in state R");
        stop.set();
        p.join();
    }

    // S: a child reading from an empty pipe is blocked until main writes a byte into it.
    {
        wb::Pipe pipe;
        wb::Event reading;
        wb::Process p([&] {
            ch04::name_in_kernel();
            reading.set();
            const std::string byte = wb::read_some(pipe.read_end.get(), 1, "read(pipe)").value();
            wb::emit("reader.done", {{"bytes", byte.size()}, {"byte", byte}}, wb::from_fields("reader got its byte '{byte}'"));
        });
        p.set_name("reader");
        p.start();
        if (!reading.wait(ch04::sync_timeout())) throw std::runtime_error("reader did not start");
        ch04::report_state(p, 'S', ch04::watch_for(*p.pid(), 'S'), "it waits in read() for the pipe");
        ch04::hold("the reader in state S");
        wb::write_all(pipe.write_end.get(), "x", "write(pipe)");
        p.join();
    }

    // T: SIGSTOP suspends a process whatever it was doing; SIGCONT lets it go on where it was.
    {
        wb::Event waiting;
        wb::Event release;
        wb::Process p([&] {
            ch04::name_in_kernel();
            waiting.set();
            if (!release.wait(ch04::child_patience())) throw std::runtime_error("main never released the sleeper");
            wb::emit("sleeper.done", {}, "sleeper was released and ends");
        });
        p.set_name("sleeper");
        p.start();
        if (!waiting.wait(ch04::sync_timeout())) throw std::runtime_error("sleeper did not start");
        ch04::report_state(p, 'S', ch04::watch_for(*p.pid(), 'S'), "it waits for an event");
        const ch04::ContinueOnExit guard{*p.pid()};
        wb::check(::kill(*p.pid(), SIGSTOP), "kill(SIGSTOP)");
        wb::emit("signal.sent", {{"name", p.name()}, {"pid", *p.pid()}, {"signal", SIGSTOP}, {"signal_name", "SIGSTOP"}},
                 wb::from_fields("main sends {signal_name} to {name}"));
        ch04::report_state(p, 'T', ch04::watch_for(*p.pid(), 'T'), "SIGSTOP took it off the CPU for good");
        ch04::hold("the sleeper in state T");
        wb::check(::kill(*p.pid(), SIGCONT), "kill(SIGCONT)");
        wb::emit("signal.sent", {{"name", p.name()}, {"pid", *p.pid()}, {"signal", SIGCONT}, {"signal_name", "SIGCONT"}},
                 wb::from_fields("main sends {signal_name} to {name}"));
        ch04::report_state(p, 'S', ch04::watch_for(*p.pid(), 'S'), "after SIGCONT it waits for its event again");
        release.set();
        p.join();
    }

    // Z: a child that has exited but that main has not reaped yet. wb::Process reaps only in
    // join() and is_alive(), so main calls neither until it has seen the zombie. What is left of
    // the process is its exit status, waiting for the parent: /proc shows it in field 52.
    {
        wb::Process p([] {
            ch04::name_in_kernel();
            constexpr int kCode = 4;
            wb::emit("zombie.exit", {{"exitcode", kCode}}, wb::from_fields("exits with code {exitcode}"));
            wb::exit_process(kCode);
        });
        p.set_name("exited");
        p.start();
        const ch04::Observation o = ch04::watch_for(*p.pid(), 'Z');
        ch04::report_state(p, 'Z', o, "it has exited, main has not reaped it");
        ch04::hold("the exited child in state Z");
        const int kept = o.last.exit_status;
        wb::emit("zombie.status", {{"pid", *p.pid()}, {"exit_status", kept}, {"exitcode", kept >> 8}},
                 wb::from_fields("the zombie keeps its exit status for main: exit code {exitcode}"));
        p.join();
        const bool gone = !wb::read_proc_stat(*p.pid()).has_value();
        wb::emit("zombie.reaped", {{"pid", *p.pid()}, {"exitcode", *p.exitcode()}, {"gone", gone}},
                 wb::from_fields(gone ? "join() reaped it: exit code {exitcode}, /proc entry gone"
                                      : "join() reaped it: exit code {exitcode}, /proc entry still there"));
    }

    Json rows = Json::array();
    for (const auto& [letter, child] : {std::pair{'R', "spinner (computes)"}, std::pair{'S', "reader (read on a pipe)"},
                                        std::pair{'T', "sleeper (after SIGSTOP)"}, std::pair{'Z', "exited (before join)"}}) {
        rows.push_back({{"letter", std::string(1, letter)}, {"model", ch04::model_state().at(letter)}, {"child", child}});
    }
    // The table is drawn from the rows the event carries.
    std::string table = fmt::format("{:<6}  {:<26}  {}", "letter", "five-state model", "child");
    for (const Json& r : rows) {
        table += fmt::format("\n{:<6}  {:<26}  {}", r["letter"].get<std::string>(), r["model"].get<std::string>(),
                             r["child"].get<std::string>());
    }
    wb::emit_block("states.table", {{"letters", {"R", "S", "T", "Z"}}, {"rows", rows}}, table);
    wb::note("R covers both 'ready' and 'running': the kernel moves a runnable process on and off a CPU\n"
             "many times a second. 'new' lasts only inside fork(), and 'terminated' is the zombie:\n"
             "the process has ended, only its exit status remains until the parent collects it.");
}

// ------------------------------------------------------------------------------------------------
// Demo 4 - the process tree (001 §七).
//
//   In UNIX every process has exactly one parent, and all of them form a tree rooted at init.
//
// Main starts two children; the first starts a child of its own. When all three are running,
// main reads the parent of every process on the machine from /proc and draws its own subtree.
// ------------------------------------------------------------------------------------------------

void tree_member(wb::StartGate& all_running, bool with_child) {
    ch04::name_in_kernel();
    std::optional<wb::Process> child;
    if (with_child) {
        child.emplace([&all_running] { tree_member(all_running, false); });
        child->start();
    }
    wb::emit("tree.member", {{"pid", ::getpid()}, {"ppid", ::getppid()}},
             with_child ? "running, with a child of its own" : "running");
    // Arrive, and stay alive until main has drawn the tree and opens the gate.
    if (!all_running.arrive_and_wait(ch04::child_patience())) throw std::runtime_error("main never said done");
    if (child) child->join();
}

void demo_tree() {
    wb::StartGate all_running(3);
    std::vector<wb::Process> children;
    children.emplace_back([&] { tree_member(all_running, true); });
    children.emplace_back([&] { tree_member(all_running, false); });
    for (auto& p : children) p.start();
    if (!all_running.wait_until_ready(ch04::sync_timeout())) {
        throw std::runtime_error("a member of the tree did not start");
    }
    ch04::show_tree();
    ch04::hold("the tree");

    all_running.open();
    for (auto& p : children) p.join();
    wb::note("Process-1:1 is main's grandchild: its parent is Process-1, not main. Each process has\n"
             "exactly one parent; following the parents upwards ends at init (pid 1) - or at parent 0\n"
             "for kernel threads, and at the first process of a pid namespace (a container's init).");
}

// ------------------------------------------------------------------------------------------------
// Demo 5 - a signal to a whole process group (001 §七).
//
//   Parent and children form a process group; a signal from the keyboard (Ctrl-C) is sent to every
//   member of the group attached to the terminal.
//
// killpg(pgid, sig) does the same from a program: one call, every member. Three children form a
// new group (setpgid) - the first is its leader, the group's id is the leader's pid - and a fourth
// child stays in main's group. main sends SIGTERM to the new group, never to its own: main's group
// is shared with the shell or the test harness that started it.
// ------------------------------------------------------------------------------------------------

void group_member(pid_t pgid, const std::string& how, wb::StartGate& formed) {
    if (pgid >= 0) {
        // A member in a background group that writes to the terminal would be stopped (SIGTTOU)
        // when the terminal has `stty tostop` set. Members here only write their event lines.
        ::signal(SIGTTOU, SIG_IGN);
        wb::check(::setpgid(0, pgid), "setpgid");
    }
    ch04::name_in_kernel();
    wb::emit("group.member", {{"pid", ::getpid()}, {"pgid", ::getpgrp()}, {"leader", pgid == 0}}, how);
    // Arrive, and wait until main says we may end (or the group's SIGTERM ends us first).
    if (!formed.arrive_and_wait(ch04::child_patience())) throw std::runtime_error("main never said done");
    wb::emit("group.done", {{"pid", ::getpid()}}, "was told it may end, and ends");
}

void demo_process_group() {
    wb::StartGate formed(4);  // the leader, two members and the outsider
    // The leader: setpgid(0, 0) makes a new group whose id is the leader's own pid.
    wb::Process leader([&] { group_member(0, "starts a new process group and leads it", formed); });
    leader.set_name("leader");
    leader.start();
    const pid_t pgid = *leader.pid();
    // Main makes the same setpgid call from its side, as a shell does: whichever of the two runs
    // first, the group exists before the next child is created.
    wb::check(::setpgid(pgid, pgid), "setpgid(leader)");
    std::vector<wb::Process> members;
    for (int i = 1; i <= 2; ++i) {
        members.emplace_back([&, pgid] { group_member(pgid, "joins the leader's group", formed); });
        members.back().set_name(fmt::format("member-{}", i));
        members.back().start();
        wb::check(::setpgid(*members.back().pid(), pgid), "setpgid(member)");
    }
    wb::Process outsider([&] { group_member(-1, "stays in main's group", formed); });
    outsider.set_name("outsider");
    outsider.start();
    if (!formed.wait_until_ready(ch04::sync_timeout())) throw std::runtime_error("a group member did not start");

    std::vector<pid_t> expected{pgid, *members[0].pid(), *members[1].pid()};
    std::sort(expected.begin(), expected.end());
    const std::vector<pid_t> found = wb::members_of_group(pgid);
    wb::emit("group.formed",
             {{"pgid", pgid}, {"members", found}, {"expected", expected}, {"main_pgid", ::getpgrp()},
              {"outsider_pgid", wb::read_proc_stat(*outsider.pid()).value_or(wb::ProcStat{}).pgrp},
              {"count", found.size()}},
             wb::from_fields(found == expected
                                 ? "/proc: the group led by leader has {count} members (leader, member-1, member-2), "
                                   "main's group is another"
                                 : "/proc: the group led by leader has {count} members (NOT the expected ones), "
                                   "main's group is another"));
    ch04::hold("the process group");

    // Never signal a group that is not ours to end: main's own group holds the shell or harness.
    if (pgid <= 1 || pgid == ::getpgrp()) throw std::logic_error("refusing to signal main's own process group");
    wb::check(::killpg(pgid, SIGTERM), "killpg");
    wb::emit("group.signal", {{"pgid", pgid}, {"signal", SIGTERM}, {"signal_name", "SIGTERM"}},
             wb::from_fields("main sends {signal_name} to the whole group with one killpg() call"));

    Json codes = Json::object();
    Json rows = Json::array();
    auto row = [&](wb::Process& p, const std::string& group) {
        codes[p.name()] = *p.exitcode();
        rows.push_back({{"name", p.name()}, {"group", group}, {"exitcode", *p.exitcode()}});
    };
    leader.join();
    row(leader, "leader's");
    for (auto& m : members) {
        m.join();
        row(m, "leader's");
    }
    // The outsider is in main's group: the signal never reached it, it is still waiting.
    const bool outsider_alive = outsider.is_alive();
    const std::vector<pid_t> left = wb::members_of_group(pgid);
    wb::emit("group.after",
             {{"pgid", pgid}, {"left", left}, {"outsider_alive", outsider_alive}, {"count_left", left.size()}},
             wb::from_fields(outsider_alive
                                 ? "after the signal: {count_left} processes left in the group, outsider still running"
                                 : "after the signal: {count_left} processes left in the group, outsider gone too"));
    formed.open();
    outsider.join();
    row(outsider, "main's");
    // The table is drawn from the rows the event carries.
    std::string table = fmt::format("{:<9}  {:<14}  {}", "child", "process group", "exit code");
    for (const Json& r : rows) {
        table += fmt::format("\n{:<9}  {:<14}  {}", r["name"].get<std::string>(), r["group"].get<std::string>(),
                             r["exitcode"].get<int>());
    }
    wb::emit_block("group.table", {{"exitcodes", codes}, {"rows", rows}}, table);
    wb::note("One killpg() ended all three members (exit code -15, SIGTERM) and nothing else: the\n"
             "outsider, in main's group, ended normally when told to. Ctrl-C does the same to the\n"
             "foreground group of a terminal, with SIGINT instead of SIGTERM.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "04-process-lifecycle",
        .title = "Process lifecycle",
        .description = "A process from birth to death, observed on Linux: the same program run twice is two\n"
                       "processes; the four ways to end and their exit codes;\n"
                       "the states R, S, T, Z read live from /proc/PID/stat; the process tree, and a signal\n"
                       "sent to a whole process group.",
        .demos = {
            {"two-runs", "the same program run twice is two processes", demo_two_runs},
            {"endings", "the four ways to end and their exit codes", demo_endings},
            {"states", "process states R, S, T, Z observed live in /proc", demo_states},
            {"tree", "the process tree, read from /proc", demo_tree},
            {"process-group", "one signal to a whole process group (killpg)", demo_process_group},
        },
        .options = {
            {"hold", "S",
             "keep each observed state, the tree and the process group for S logical seconds\n"
             "                      (0-3600, default 0), to look at them with ps in another terminal",
             [](std::string_view value) {
                 const double seconds = wb::parse_double(value, "hold");
                 if (seconds < 0 || seconds > 3600) throw std::invalid_argument("--hold must be between 0 and 3600");
                 ch04::g_hold = seconds;
             }},
        },
        .entry_points = {
            {"instance", instance},
        },
    });
}
