#include "observe.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/error.hpp"

namespace ch04 {

double g_hold = 0;

namespace {
constexpr double kPollInterval = 0.01;  // logical seconds between two /proc reads

}  // namespace

double sync_timeout() { return wb::clock::safety_timeout(10, std::chrono::seconds(5)); }
double child_patience() { return wb::clock::safety_timeout(30 + g_hold, std::chrono::seconds(20)); }

void hold(const std::string& what) {
    if (g_hold <= 0) return;
    wb::emit("hold", {{"seconds", g_hold}, {"what", what}},
             fmt::format("holding {} for {} s: try  ps -o pid,ppid,pgid,stat,comm --forest -s {}", what, g_hold,
                         ::getsid(0)));
    wb::clock::sleep(g_hold);
}

ExeFile exe_of(const std::string& proc_entry) {
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

void name_in_kernel() {
    const std::string name = wb::current_process().name;
    wb::check(::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0), "prctl(PR_SET_NAME)");
}

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
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

Observation watch_for(pid_t pid, char wanted) {
    Observation o;
    const double limit = sync_timeout();
    const wb::clock::Stopwatch watch;
    for (;;) {
        const auto s = wb::read_proc_stat(pid);
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

void report_state(const wb::Process& p, char wanted, const Observation& o, const std::string& what) {
    const std::string model = model_state().at(wanted);
    wb::emit("state.observed",
             {{"name", p.name()}, {"pid", *p.pid()}, {"wanted", std::string(1, wanted)},
              {"letter", std::string(1, o.last.state)}, {"seen", o.seen}, {"reached", o.reached},
              {"model", model}},
             o.reached ? fmt::format("/proc says {} is in state {} = {}: {}", p.name(), wanted, model, what)
                       : fmt::format("{} did not reach state {} within the time limit", p.name(), wanted));
}

ContinueOnExit::~ContinueOnExit() { ::kill(pid, SIGCONT); }

namespace {
void draw_tree(const std::map<pid_t, std::vector<wb::ProcStat>>& children, pid_t pid, const std::string& prefix,
               std::string& text, wb::Json& nodes, int depth) {
    const auto it = children.find(pid);
    if (it == children.end()) return;
    for (std::size_t i = 0; i < it->second.size(); ++i) {
        const wb::ProcStat& c = it->second[i];
        const bool last = i + 1 == it->second.size();
        text += fmt::format("\n{}{}{}[{}]", prefix, last ? "└── " : "├── ", c.comm, c.pid);
        nodes.push_back({{"pid", c.pid}, {"ppid", c.ppid}, {"name", c.comm}, {"depth", depth}});
        draw_tree(children, c.pid, prefix + (last ? "    " : "│   "), text, nodes, depth + 1);
    }
}
}  // namespace

void show_tree() {
    // Every process names its parent (field 4 of /proc/PID/stat); group them by parent.
    std::map<pid_t, std::vector<wb::ProcStat>> children_of;
    for (const auto& s : wb::all_processes()) children_of[s.ppid].push_back(s);
    for (auto& [parent, list] : children_of) {
        std::sort(list.begin(), list.end(),
                  [](const wb::ProcStat& a, const wb::ProcStat& b) { return a.comm < b.comm; });
    }
    const pid_t main_pid = ::getpid();
    std::string text = fmt::format("process tree from /proc (each line: name[pid], under its parent)\n{}[{}]",
                                   wb::current_process().name, main_pid);
    wb::Json nodes = wb::Json::array();
    nodes.push_back({{"pid", main_pid}, {"ppid", ::getppid()}, {"name", wb::current_process().name}, {"depth", 0}});
    draw_tree(children_of, main_pid, "", text, nodes, 1);
    wb::emit_block("tree", {{"nodes", nodes}}, text);
}

}  // namespace ch04
