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
    wb::emit("hold", {{"seconds", g_hold}, {"what", what}, {"sid", ::getsid(0)}},
             wb::from_fields("holding {what} for {seconds} s: try  ps -o pid,ppid,pgid,stat,comm --forest -s {sid}"));
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
              {"model", model}, {"what", what}},
             wb::from_fields(o.reached ? "/proc says {name} is in state {wanted} = {model}: {what}"
                                       : "{name} did not reach state {wanted} within the time limit"));
}

ContinueOnExit::~ContinueOnExit() { ::kill(pid, SIGCONT); }

namespace {
// The subtree under `pid`, depth first, each parent's children by name.
void collect_tree(const std::map<pid_t, std::vector<wb::ProcStat>>& children, pid_t pid, wb::Json& nodes, int depth) {
    const auto it = children.find(pid);
    if (it == children.end()) return;
    for (const wb::ProcStat& c : it->second) {
        nodes.push_back({{"pid", c.pid}, {"ppid", c.ppid}, {"name", c.comm}, {"depth", depth}});
        collect_tree(children, c.pid, nodes, depth + 1);
    }
}

// The drawing, made from the nodes the event carries (depth first, main at depth 0): a node is
// its parent's last child when no node of the same depth follows before one of a smaller depth.
std::string draw_tree(const wb::Json& nodes) {
    std::string text = fmt::format("process tree from /proc (each line: name[pid], under its parent)\n{}[{}]",
                                   nodes[0]["name"].get<std::string>(), nodes[0]["pid"].get<long>());
    std::vector<bool> ancestor_last;  // [k]: the latest node at depth k + 1 was its parent's last child
    for (std::size_t i = 1; i < nodes.size(); ++i) {
        const int depth = nodes[i]["depth"].get<int>();
        bool last = true;
        for (std::size_t j = i + 1; j < nodes.size(); ++j) {
            const int d = nodes[j]["depth"].get<int>();
            if (d < depth) break;
            if (d == depth) {
                last = false;
                break;
            }
        }
        ancestor_last.resize(static_cast<std::size_t>(depth));
        ancestor_last[static_cast<std::size_t>(depth) - 1] = last;
        std::string prefix;
        for (int k = 0; k + 1 < depth; ++k) prefix += ancestor_last[static_cast<std::size_t>(k)] ? "    " : "│   ";
        text += fmt::format("\n{}{}{}[{}]", prefix, last ? "└── " : "├── ", nodes[i]["name"].get<std::string>(),
                            nodes[i]["pid"].get<long>());
    }
    return text;
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
    wb::Json nodes = wb::Json::array();
    nodes.push_back({{"pid", main_pid}, {"ppid", ::getppid()}, {"name", wb::current_process().name}, {"depth", 0}});
    collect_tree(children_of, main_pid, nodes, 1);
    std::string text = draw_tree(nodes);
    wb::emit_block("tree", {{"nodes", nodes}}, text);
}

}  // namespace ch04
