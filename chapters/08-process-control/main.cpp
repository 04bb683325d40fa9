// Chapter 08 - Process control.
//
// Seeds: 000 §2.2.6 (子进程的操作方法/属性, is_alive and terminate), 002 (terminate), 003 and
// 004 (守护进程, terminate, is_alive).
// What main can do to a child once it has started it: ask whether it is alive, end it
// (terminate = SIGTERM, kill = SIGKILL), read how it ended (exitcode), wait for it (join), and
// decide before start() that it is a daemon. Then the two ways a process outlives its
// relationship with its parent: a zombie (ended, not yet reaped) and an orphan (its parent died).
// Three claims of the seeds are wrong and corrected here: terminate() does not make zombies of
// the child's children, close() does not terminate a process, join() waits for one child.
// The orphan machinery (a subreaper, a lifeline pipe) is in family.cpp.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "family.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/event.hpp"
#include "wb/output.hpp"
#include "wb/proc.hpp"
#include "wb/process.hpp"

namespace {

using wb::Json;

Json field(const std::optional<int>& v) { return v ? Json(*v) : Json(nullptr); }

// Emits an event whose text is made from its fields (wb::from_fields), showing a null field the
// way Python prints it: a placeholder {name} of a null field becomes None.
void emit_py(std::string_view event, Json fields, std::string format) {
    for (const auto& [name, value] : fields.items()) {
        if (!value.is_null()) continue;
        const std::string placeholder = "{" + name + "}";
        for (auto at = format.find(placeholder); at != std::string::npos; at = format.find(placeholder, at)) {
            format.replace(at, placeholder.size(), "None");
        }
    }
    wb::emit(event, std::move(fields), wb::from_fields(format));
}

// A list of exit codes as Python prints its items: "0, -15, None".
std::string python_items(const Json& list) {
    std::string text;
    for (const Json& v : list) text += (text.empty() ? "" : ", ") + (v.is_null() ? std::string("None") : v.dump());
    return text;
}

// What /proc says of a process, in words. (Running or sleeping, R or S, is the scheduler's
// moment: the event's "state" field has the letter.)
std::string alive_or_zombie(const std::optional<wb::ProcStat>& s) {
    if (!s) return "gone";
    return s->state == 'Z' ? "a zombie (state Z)" : "alive (not a zombie)";
}

// ------------------------------------------------------------------------------------------------
// Demo 1 - pid, is_alive() and terminate() (000 §2.2.6 [6]).
//
// The seed starts five children; before start() a child has no pid (None). Child 3 is terminated
// right after its start, and the seed prints is_alive() before and after: "even without a sleep
// terminate ends the process, but is_alive still says True". That is the point: terminate() only
// SENDS SIGTERM; the child dies a moment later, and is_alive() turns false once the child has
// been reaped. Here every child waits for main's "go" before it works, so child 3 is certainly
// still waiting when the signal arrives: its exit code is -15 (SIGTERM), the others' 0.
// ------------------------------------------------------------------------------------------------
void demo_terminate() {
    wb::Event go;
    std::vector<wb::Process> children;
    for (int i = 0; i < 5; ++i) {
        children.emplace_back([&go](int n) {
            go.wait();
            wb::emit("work", {{"n", n}, {"pid", wb::current_process().pid}}, wb::from_fields("child {n} has pid {pid}"));
        }, i);
        wb::Process& p = children.back();
        const std::optional<pid_t> before = p.pid();
        emit_py("pid.before_start", {{"n", i}, {"pid", field(before)}}, "child {n}: pid before start() = {pid}");
        p.start();
        if (i == 3) {
            const bool alive_before = p.is_alive();
            p.terminate();
            const bool alive_right_after = p.is_alive();
            wb::emit("terminate", {{"n", i}, {"pid", *p.pid()}, {"alive_before", alive_before},
                                   {"alive_right_after", alive_right_after}},
                     wb::from_fields("child {n}: is_alive() = {alive_before}; terminate(); right after, is_alive() "
                                     "may be true or false (this time: {alive_right_after})"));
        }
    }
    go.set();
    children[3].join();
    emit_py("terminate.reaped", {{"n", 3}, {"alive", children[3].is_alive()}, {"exitcode", field(children[3].exitcode())}},
            "after join(): child {n} is_alive() = {alive}, exitcode = {exitcode}");
    for (auto& p : children) p.join();
    Json list = Json::array();
    for (auto& p : children) list.push_back(field(p.exitcode()));
    const std::string codes = python_items(list);  // the text is made from the field
    wb::emit("exitcodes", {{"exitcodes", std::move(list)}}, "exit codes of children 0-4: " + codes);
    wb::note("Right after terminate() is_alive() may still be true (the signal is on its way); it is\n"
             "false once the child has been reaped, and the exit code -15 says SIGTERM ended it.");
}

// ------------------------------------------------------------------------------------------------
// Demo 2 - exitcode (000 §2.2.6, 003, 004): None while the child runs, 0 after a normal end, and
// -N when signal N ended it. Three children wait for an event that never comes; main reads
// exitcode while they run, then ends them with three different signals.
// ------------------------------------------------------------------------------------------------
void demo_exitcode() {
    wb::Event never;
    struct Ending {
        const char* how;
        int signal;
    };
    const std::vector<Ending> endings{{"terminate()", SIGTERM}, {"kill()", SIGKILL}, {"os.kill(pid, SIGUSR1)", SIGUSR1}};
    std::vector<wb::Process> children;
    for (std::size_t i = 0; i < endings.size(); ++i) {
        children.emplace_back([&never] { never.wait(); });
        children.back().set_name(fmt::format("waiter-{}", i));
        children.back().start();
    }
    for (std::size_t i = 0; i < endings.size(); ++i) {
        wb::Process& p = children[i];
        const auto running = p.exitcode();
        if (endings[i].signal == SIGTERM) {
            p.terminate();
        } else if (endings[i].signal == SIGKILL) {
            p.kill();
        } else {
            wb::check(::kill(*p.pid(), endings[i].signal), "kill");
        }
        p.join();
        emit_py("exitcode",
                {{"name", p.name()}, {"running", field(running)}, {"how", endings[i].how}, {"signal", endings[i].signal},
                 {"exitcode", field(p.exitcode())}},
                "{name}: exitcode while running = {running}; after {how}: exitcode = {exitcode} (signal {signal})");
    }
    wb::Process normal([] {});
    normal.set_name("normal");
    normal.start();
    normal.join();
    emit_py("exitcode", {{"name", "normal"}, {"running", nullptr}, {"signal", 0}, {"exitcode", field(normal.exitcode())}},
            "{name}: ends by itself: exitcode = {exitcode}");
}

// ------------------------------------------------------------------------------------------------
// Demo 3 - join() waits for ONE child. Seed 000 says p1.join() makes "the main process wait for
// all children to end"; it waits for p1 only. p1 rests 1 s, p2 waits until main lets it go:
// when p1.join() returns, p2 is still alive.
// (The same list says p1.close() "terminates the child". It does not: in Python, close() releases
// the Process object's resources and raises ValueError if the process is still running. wb::Process
// has no close(); its destructor releases what it holds and never kills the child.)
// ------------------------------------------------------------------------------------------------
void demo_join_one() {
    wb::Event release;
    wb::Process p1([] { wb::rest(1); });
    p1.set_name("p1");
    wb::Process p2([&release] { release.wait(); });
    p2.set_name("p2");
    p1.start();
    p2.start();
    p1.join();
    const bool p2_alive = p2.is_alive();
    wb::emit("join.one", {{"p1_alive", p1.is_alive()}, {"p2_alive", p2_alive}},
             wb::from_fields("p1.join() returned: p1 alive = {p1_alive}, p2 alive = {p2_alive}"));
    release.set();
    p2.join();
    emit_py("join.two", {{"p2_exitcode", field(p2.exitcode())}}, "p2.join() returned: p2 exitcode = {p2_exitcode}");
}

// ------------------------------------------------------------------------------------------------
// Demo 4 - two children looping forever, stopped by main (002).
//
// Task 1 prints its pid and its parent's pid every 1 s, task 2 every 2 s with a name; neither
// ever returns. Main counts every 0.5 s and terminates both when its counter reaches the limit
// (the seed's limit is 100, i.e. 50 s; here 11, i.e. 5.5 s: half a second away from any task's
// line, so how many lines each task printed does not depend on who wins a race). The seed's loop
// goes on counting after it has terminated them (its `while True` never breaks); main stops there.
// ------------------------------------------------------------------------------------------------
constexpr int kLimit = 11;

void task1() {
    for (;;) {
        wb::clock::sleep(1);
        wb::emit("task", {{"task", 1}, {"pid", ::getpid()}, {"ppid", ::getppid()}},
                 wb::from_fields("this is task {task}, pid {pid}, parent pid {ppid}"));
    }
}

void task2(double interval, const std::string& name) {
    for (;;) {
        wb::clock::sleep(interval);
        wb::emit("task", {{"task", 2}, {"pid", ::getpid()}, {"ppid", ::getppid()}, {"label", name}},
                 wb::from_fields("this is task {task}, pid {pid}, parent pid {ppid}, {label}"));
    }
}

void demo_forever() {
    wb::emit("main.pid", {{"pid", ::getpid()}}, wb::from_fields("this is the main process, pid {pid}"));
    wb::Process p1(task1);
    p1.set_name("task-1");
    p1.start();
    wb::Process p2(task2, 2.0, std::string("process 2"));
    p2.set_name("task-2");
    p2.start();
    for (int number = 1;; ++number) {
        wb::clock::sleep(0.5);
        if (number == kLimit) {
            p1.terminate();
            p2.terminate();
            wb::emit("limit", {{"number", number}}, wb::from_fields("counter reached {number}: terminate both"));
            break;
        }
        wb::emit("count", {{"number", number}}, wb::from_fields("------- {number}"));
    }
    p1.join();
    p2.join();
    emit_py("forever.exitcodes", {{"task1", field(p1.exitcode())}, {"task2", field(p2.exitcode())}},
            "task 1 exitcode {task1}, task 2 exitcode {task2}");
}

// ------------------------------------------------------------------------------------------------
// Demo 5 - daemon children end when the main program ends (004 守护进程).
//
// daemon is set before start() (afterwards it is an error). The daemon prints "is alive" every
// 0.5 s; a non-daemon counts seconds 0-9; main sleeps 3 s and ends. The daemon ends with main's
// code (terminated, exit code -15); the non-daemon keeps counting, and the program waits for it.
// In the seed main's 3 s end exactly when the daemon's 7th line is due, so its output has 6 or 7
// of them. Here main counts its 3 s from the daemon's first line, less a quarter of the daemon's
// period: always 6 lines, and main's end is a quarter period away from any of them.
// ------------------------------------------------------------------------------------------------
void alive_printer(wb::Event& first_line) {
    for (;;) {
        wb::emit("daemon.alive", {}, "is alive");
        first_line.set();
        wb::clock::sleep(0.5);
    }
}

void counter() {
    for (int i = 0; i < 10; ++i) {
        wb::emit("counter.second", {{"second", i}}, wb::from_fields("second {second}"));
        wb::clock::sleep(1);
    }
}

void demo_daemon() {
    wb::Process counting(counter);
    counting.set_name("counter");
    counting.start();
    wb::Event first_line;
    wb::Process p([&first_line] { alive_printer(first_line); });
    p.set_name("alive-printer");
    p.set_daemon(true);  // p.daemon = True, before p.start()
    p.start();
    try {
        p.set_daemon(false);
    } catch (const std::logic_error& e) {
        wb::emit("daemon.after_start", {{"error", e.what()}}, wb::from_fields("set_daemon() after start(): {error}"));
    }
    if (!first_line.wait(ch08::safety_timeout())) throw std::runtime_error("the daemon never printed");
    wb::clock::sleep(3 - 0.25);  // time.sleep(3), counted from the daemon's first line (see above)
    wb::emit("main.end", {}, "main process: my code ends here");
    // Returning ends the demo as Python ends a program: the daemon is terminated, the counter
    // is joined.
}

// ------------------------------------------------------------------------------------------------
// Demo 6 - a daemon may not have children (004: AssertionError: daemonic processes are not
// allowed to have children). The daemon tries; start() throws; the daemon reports it.
// ------------------------------------------------------------------------------------------------
void demo_daemon_child() {
    wb::Process d([] {
        wb::Process grandchild([] {});
        try {
            grandchild.start();
            wb::emit("daemon.child", {{"error", nullptr}}, "started a child (this should not happen)");
        } catch (const std::logic_error& e) {
            wb::emit("daemon.child", {{"error", e.what()}}, wb::from_fields("start() of a child: {error}"));
        }
    });
    d.set_name("daemon");
    d.set_daemon(true);
    d.start();
    d.join();
}

// ------------------------------------------------------------------------------------------------
// Demo 7 - a zombie: a child that has exited and has not been reaped.
//
// The child exits at once with code 3. Main waits until it HAS exited without reaping it
// (waitid with WNOWAIT), and /proc shows the zombie: state Z, still main's child, its exit status
// kept for main. join() reaps it: the /proc entry is gone. (Python reaps finished children on
// join(), is_alive(), and whenever it starts a new Process.)
// ------------------------------------------------------------------------------------------------
void demo_zombie() {
    wb::Process p([] { wb::exit_process(3); });
    p.set_name("short-lived");
    p.start();
    const pid_t pid = *p.pid();
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0) {
        if (errno != EINTR) wb::throw_errno("waitid (WNOWAIT)");
    }
    const auto stat = wb::read_proc_stat(pid);
    if (!stat) throw std::runtime_error("the exited child vanished before main reaped it");
    wb::emit("zombie", {{"pid", pid}, {"state", std::string(1, stat->state)}, {"ppid", stat->ppid},
                        {"exitcode", stat->exit_status >> 8}},
             wb::from_fields("the child has exited: /proc says state {state}, parent {ppid}, exit code {exitcode} "
                             "kept for main"));
    p.join();
    const bool gone = !wb::read_proc_stat(pid).has_value();
    emit_py("zombie.reaped", {{"pid", pid}, {"gone", gone}, {"exitcode", field(p.exitcode())}},
            gone ? "after join(): exitcode {exitcode}, /proc entry gone"
                 : "after join(): exitcode {exitcode}, /proc entry still there");
}

// ------------------------------------------------------------------------------------------------
// Demo 8 - an orphan: its parent is SIGKILLed, it keeps running, and another process adopts it.
//
// A middle child starts a grandchild that does NOT end with its parent (set_end_with_parent(false):
// this library normally arms PR_SET_PDEATHSIG so children die with their parent; Python does not).
// Main kills the middle child with SIGKILL. The grandchild runs on; the kernel re-parents it to the
// nearest child subreaper - main, for this demo - or else to init (pid 1). Its parent pid changes.
// Main finds it among its own children, ends it and reaps it.
// ------------------------------------------------------------------------------------------------
void demo_orphan() {
    ch08::ChildSubreaper subreaper;
    ch08::Lifeline lifeline;
    ch08::PidMailbox mailbox;
    wb::Event adopted, ticked;
    wb::Process parent([&] {
        lifeline.let_go();
        mailbox.close_receiving_end();
        wb::emit("parent.start", {}, "starts a child that does not end with its parent");
        wb::Process grandchild([&] { ch08::orphan_to_be(lifeline, mailbox, adopted, ticked); });
        grandchild.set_name("grandchild");
        grandchild.set_end_with_parent(false);
        grandchild.start();  // the grandchild sends main its pid once it watches this process
        (void)lifeline.main_gone(1e9);  // wait to be killed
    });
    parent.set_name("parent");
    parent.start();
    mailbox.close_sending_end();
    const auto orphan = mailbox.receive();
    if (!orphan) throw std::runtime_error("the middle child died before it started the grandchild");
    parent.kill();
    parent.join();
    emit_py("orphan.parent_killed", {{"pid", *parent.pid()}, {"exitcode", field(parent.exitcode())}},
            "main killed the parent (pid {pid}): exitcode {exitcode}");
    if (!adopted.wait(ch08::safety_timeout()) || !ticked.wait(ch08::safety_timeout())) {
        throw std::runtime_error("the orphan did not report its adoption in time");
    }
    const auto stat = wb::read_proc_stat(*orphan);
    const auto mine = wb::children_of(::getpid());
    const bool found = std::find(mine.begin(), mine.end(), *orphan) != mine.end();
    wb::emit("orphan.found",
             {{"pid", *orphan}, {"state", stat ? std::string(1, stat->state) : "?"}, {"condition", alive_or_zombie(stat)},
              {"ppid", stat ? stat->ppid : 0}, {"main", ::getpid()}, {"found", found}},
             wb::from_fields(found ? "/proc: orphan {pid} is {condition}, parent {ppid} (main is {main}); among main's "
                                     "children: yes"
                                   : "/proc: orphan {pid} is {condition}, parent {ppid} (main is {main}); among main's "
                                     "children: no"));
    const int code = ch08::end_and_reap(*orphan);
    wb::emit("orphan.reaped", {{"pid", *orphan}, {"exitcode", code}},
             wb::from_fields("main ended the orphan with SIGTERM and reaped it: exit code {exitcode}"));
}

// ------------------------------------------------------------------------------------------------
// Demo 9 - what terminate() does to the child's own children. Seeds 000, 003 and 004: "if p
// created children, they become zombies". They become ORPHANS (alive, adopted by another
// process), not zombies (dead, not reaped). Two runs of the same family:
//   library: this library's SIGTERM handler ends and reaps the child's children first, then
//     the child dies of SIGTERM: nothing is left;
//   Python: a Python child dies of SIGTERM at once (default action); its child keeps running,
//     re-parented (here to main, a subreaper for the demo), and must be found and ended.
// ------------------------------------------------------------------------------------------------
void family_run(bool python_style) {
    const char* style = python_style ? "python" : "library";
    ch08::ChildSubreaper subreaper;
    ch08::Lifeline lifeline;
    ch08::PidMailbox mailbox;
    wb::Event adopted, ticked;
    wb::Process child([&] {
        lifeline.let_go();
        mailbox.close_receiving_end();
        if (python_style) {
            ::signal(SIGTERM, SIG_DFL);  // what a Python child does on SIGTERM: die at once
        }
        wb::emit("parent.start", {{"style", style}},
                 python_style ? "SIGTERM kills me at once (Python's default); I start a child"
                              : "my SIGTERM handler will end my children first; I start a child");
        wb::Process grandchild([&] {
            if (python_style) {
                ch08::orphan_to_be(lifeline, mailbox, adopted, ticked);
            } else {
                (void)lifeline.main_gone(1e9);
            }
        });
        grandchild.set_name("grandchild");
        grandchild.set_end_with_parent(!python_style);
        grandchild.start();
        if (!python_style) mailbox.send(*grandchild.pid());  // (the Python-style one sends its own)
        (void)lifeline.main_gone(1e9);
    });
    child.set_name(fmt::format("child-{}", style));
    child.start();
    mailbox.close_sending_end();
    const auto grandchild = mailbox.receive();
    if (!grandchild) throw std::runtime_error("the child died before it started its own child");
    child.terminate();
    child.join();
    std::optional<wb::ProcStat> after;
    if (python_style) {
        if (!adopted.wait(ch08::safety_timeout())) throw std::runtime_error("the orphan did not report its adoption in time");
        after = wb::read_proc_stat(*grandchild);
    } else {
        after = wb::read_proc_stat(*grandchild);
    }
    const std::string state = after ? std::string(1, after->state) : "gone";
    emit_py("terminate.family",
            {{"style", style}, {"child_exitcode", field(child.exitcode())}, {"grandchild", *grandchild}, {"state", state},
             {"condition", alive_or_zombie(after)}, {"ppid", after ? after->ppid : 0}, {"main", ::getpid()}},
            after ? "{style}: child terminated (exitcode {child_exitcode}); its child {grandchild} is {condition}, "
                    "parent {ppid}: an orphan"
                  : "{style}: child terminated (exitcode {child_exitcode}); its own child was ended and reaped first: "
                    "{condition}");
    if (after) {
        const int code = ch08::end_and_reap(*grandchild);
        wb::emit("terminate.orphan_reaped", {{"pid", *grandchild}, {"exitcode", code}},
                 wb::from_fields("main ended the orphan and reaped it: exit code {exitcode}"));
    }
}

void demo_terminate_family() {
    family_run(false);
    family_run(true);
    wb::note("terminate() sends SIGTERM to one process. Whether its children die too is that process's\n"
             "choice: this library's handler ends them first; Python's default leaves them running as\n"
             "orphans. A zombie is something else: a process that has ENDED and was not reaped yet.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "08-process-control",
        .title = "Process control",
        .description = "What main can do to a started child: is_alive, terminate, kill, exitcode, join, daemon.\n"
                       "Then a zombie (ended, not reaped) and an orphan (its parent died), both made visible\n"
                       "in /proc and cleaned up, and what terminate() really does to a child's children.",
        .demos = {
            {"terminate", "pid before start, is_alive right after terminate(), exit code -15", demo_terminate},
            {"exitcode", "exitcode: None while running, -N after signal N", demo_exitcode},
            {"join-one", "join() waits for one child, not all", demo_join_one},
            {"forever", "two children looping forever, terminated when main's counter reaches 11", demo_forever},
            {"daemon", "a daemon ends with main's code, a non-daemon keeps counting", demo_daemon},
            {"daemon-child", "a daemon may not start children", demo_daemon_child},
            {"zombie", "a child that exited and was not reaped: state Z", demo_zombie},
            {"orphan", "a grandchild whose parent was SIGKILLed is adopted and runs on", demo_orphan},
            {"terminate-family", "terminate() leaves the child's children as orphans, not zombies", demo_terminate_family},
        },
    });
}
