// Chapter 05 - Process basics.
//
// Seeds: 000 §2.1-2.2.2 and §2.2.6, 002 (进程创建, 自定义进程), 003 0x05, 004 §六.
// Python's multiprocessing.Process, made of a real fork() (or posix_spawn()) underneath:
// a process from a function, a process from a subclass, start() versus run(), the name
// pitfall, pids, and the two start methods.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>


#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"

namespace {

// The seeds' child function: rest a random 1-3 s, saying so before and after.
//     def work(name):
//         rest = random.randint(1, 3)
//         print(f'{name}开始休息{rest}秒'); time.sleep(rest); print(f'{name}结束休息')
// Each child draws from its own random stream (seed, child index), so the rests do not depend on
// which child the kernel runs first.
void work(const std::string& name) {
    const auto seconds = wb::rng().uniform_int(1, 3);
    wb::Span rest("rest", {{"who", name}, {"seconds", seconds}}, wb::from_fields("{who} starts resting {seconds} s"));
    wb::clock::sleep(static_cast<double>(seconds));
    rest.end(wb::from_fields("{who} finished resting"));
}

// Demo 1 - a process from a function (method one in the seed).
// p1 = Process(target=work, args=('one',)); p1.start()
void demo_function() {
    wb::emit("main.begin", {}, "main program starts");
    // Creating the Process objects starts nothing yet: they are descriptions of children.
    wb::Process p1(work, std::string("one"));
    wb::Process p2(work, std::string("two"));
    // start() forks: from here on two more processes run work() at the same time as main.
    p1.start();
    p2.start();
    // main does not wait, so its last line comes first, exactly as in the seed's output.
    wb::emit("main.end", {}, "main program ends");
    wb::note("main printed its last line before either child finished resting: start() returns at once.\n"
             "(The children are still joined before the next demo, as Python joins them at exit.)");
}

// Demo 2 - run() instead of start(): no new process at all.
// run() is simply the method that calls the target; called directly it runs in the caller, one
// after the other. Watch the pid: it is main's own.
void demo_run() {
    wb::emit("main.begin", {}, "main program starts");
    wb::Process p1(work, std::string("one"));
    wb::Process p2(work, std::string("two"));
    p1.run();
    p2.run();
    wb::emit("main.end", {}, "main program ends");
    wb::note("Every line came from the main process's pid, one rest after the other: run() is serial.\n"
             "Neither object was started, so both pids are still empty.");
    const auto pid_or_null = [](const wb::Process& p) { return p.pid() ? wb::Json(*p.pid()) : wb::Json(nullptr); };
    wb::emit("pids",
             {{"p1", pid_or_null(p1)},
              {"p2", pid_or_null(p2)},
              {"p1_started", p1.pid().has_value()},
              {"p2_started", p2.pid().has_value()}},
             wb::from_fields(p1.pid() || p2.pid() ? "p1.pid() = {p1}, p2.pid() = {p2}"
                                                  : "p1.pid() = empty, p2.pid() = empty"));
}

// Demo 3 - a process from a subclass that overrides run() (method two in the seed).
//
// The seed's class sets self.name = name BEFORE calling super().__init__(), and the base
// constructor overwrites it: the output says NewProcess-1, not one. C++ cannot reproduce that
// order (a base is always constructed first), but the same mistake has a C++ shape: keeping the
// name in a field of your own instead of giving it to the base. The process's name - what
// current_process().name, the events and the error messages use - stays NewProcess-N.
class NewProcess : public wb::Process {
public:
    explicit NewProcess(std::string label) : label_(std::move(label)) {}  // p1: the pitfall

protected:
    void run() override {
        const auto seconds = wb::rng().uniform_int(1, 3);
        // self.name in the seed: the process's own name, not the label we kept.
        const std::string me = name();
        wb::Span rest("rest", {{"who", me}, {"label", label_}, {"seconds", seconds}},
                      wb::from_fields("{who} starts resting {seconds} s"));
        wb::clock::sleep(static_cast<double>(seconds));
        rest.end(wb::from_fields("{who} finished resting"));
    }

private:
    std::string label_;
};

// The fix: hand the name to the base (Python: call super().__init__() first, then set self.name).
class NamedProcess : public wb::Process {
public:
    explicit NamedProcess(const std::string& label) { set_name(label); }

protected:
    void run() override { work(name()); }
};

void demo_subclass() {
    wb::emit("main.begin", {}, "main program starts");
    NewProcess p1("one");
    NewProcess p2("two");
    p1.start();
    p2.start();
    wb::emit("main.end", {}, "main program ends");
    p1.join();
    p2.join();
    wb::note("The pitfall: the labels 'one' and 'two' never reached the base, so the processes are\n"
             "called after their class, NewProcess-N, as in the seed's output. The fix:");
    NamedProcess p3("one");
    NamedProcess p4("two");
    p3.start();
    p4.start();
    p3.join();
    p4.join();
}

// Demo 4 - pids: empty before start(), the child's own pid and its parent's.
// current_process().pid and getpid() agree; a child's getppid() is main's pid.
void report_ids(const std::string& label) {
    const auto me = wb::current_process();
    wb::emit("ids", {{"label", label}, {"pid", me.pid}, {"getpid", ::getpid()}, {"ppid", ::getppid()}},
             wb::from_fields("child {label}: current_process().pid = {pid}, getpid() = {getpid}, getppid() = {ppid}"));
}

void demo_pids() {
    std::vector<wb::Process> children;
    for (int i = 1; i <= 2; ++i) {
        children.emplace_back(report_ids, std::to_string(i));
        wb::emit("pid.before_start", {{"name", children.back().name()}, {"pid", nullptr}},
                 wb::from_fields("{name}.pid() before start(): empty (Python: None)"));
    }
    for (auto& p : children) p.start();
    for (auto& p : children) {
        wb::emit("pid.after_start", {{"name", p.name()}, {"pid", *p.pid()}},
                 wb::from_fields("{name}.pid() after start(): {pid}"));
    }
    wb::emit("ids", {{"label", "main"}, {"pid", ::getpid()}, {"getpid", ::getpid()}, {"ppid", ::getppid()}},
             wb::from_fields("{label}: pid = {pid}"));
    for (auto& p : children) p.join();
}

// Demo 5 - two start methods: fork and spawn (000 §1.6.3, 001 §六: UNIX fork vs Windows
// CreateProcess; the seeds' main guard).
//
// fork() copies the running parent: the child starts with main's memory - and its environment,
// its open files - as they are now. spawn re-executes this program from the start (posix_spawn
// of /proc/self/exe, the POSIX relative of CreateProcess) and runs a registered entry point:
// memory starts from scratch, and only what is handed over explicitly arrives - the environment
// strings (execve passes them), descriptors made inheritable. Everything before the "main guard"
// runs again in the child: in Python that is the module's top level; here it is
// Chapter::module_level (see main() below), which prints "module-level code runs" once per
// program image. That is why the seeds wrap Process() in `if __name__ == '__main__':`. The seeds
// say that without the guard each spawned child would start children of its own, endlessly; real
// Python 3 stops that at the first level: the child's Process.start() raises RuntimeError ("An
// attempt has been made to start a new process before the current process has finished its
// bootstrapping phase") and the child exits with code 1.
std::string g_setting = "initial value";  // changed by main before the children start
constexpr const char* kGreetingVariable = "WB05_GREETING";

void show_setting(const std::string& how) {
    const char* greeting = std::getenv(kGreetingVariable);
    const std::string env = greeting != nullptr ? greeting : "(unset)";
    wb::emit("setting",
             {{"method", how},
              {"setting", g_setting},
              {"variable", kGreetingVariable},
              {"environment", env},
              {"ppid", ::getppid()}},
             wb::from_fields("{method} child sees g_setting = \"{setting}\", {variable} = \"{environment}\""));
}

void demo_spawn() {
    g_setting = "changed by main()";
    wb::check(::setenv(kGreetingVariable, "hello from main", 1), "setenv");
    wb::Process forked(show_setting, std::string("fork"));
    forked.start();
    forked.join();
    // The spawned child runs the entry point "show-setting" in a fresh image of the program.
    wb::Process spawned = wb::Process::spawn("show-setting", {"spawn"});
    spawned.start();
    spawned.join();
    wb::check(::unsetenv(kGreetingVariable), "unsetenv");
    wb::note("The fork child saw main's change; the spawned child started from scratch and saw the\n"
             "initial value, after printing the module-level line again (it re-ran the top level).\n"
             "Both saw the environment variable: execve hands the environment over, as CreateProcess does.");
    wb::emit("exitcodes", {{"fork", *forked.exitcode()}, {"spawn", *spawned.exitcode()}},
             wb::from_fields("exit codes: fork child {fork}, spawned child {spawn}"));
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "05-process-basics",
        .title = "Process basics",
        .description = "Python's multiprocessing.Process on real fork()/posix_spawn(): a process from a\n"
                       "function and from a subclass, start() vs run(), the name pitfall, pids, and the\n"
                       "fork and spawn start methods with the main guard.",
        .demos = {
            {"function", "Process from a function: start() returns at once, main ends before any child", demo_function},
            {"run", "run() instead of start(): serial, in the main process", demo_run},
            {"subclass", "Process from a subclass overriding run(), and the name pitfall", demo_subclass},
            {"pids", "pid empty before start(); current pid and parent pid", demo_pids},
            {"spawn", "fork vs spawn: the spawned child re-runs the program's top level", demo_spawn},
        },
        .entry_points = {{"show-setting", [](const std::vector<std::string>& args) { show_setting(args.at(0)); }}},
        // Python's module level: runs in the program and again in every spawned child.
        .module_level = [] {
            wb::emit("module.level", {{"pid", ::getpid()}},
                     wb::from_fields("module-level code runs (pid {pid})"));
        },
    });
}
