#include "run_program.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "wb/proc.hpp"

extern char** environ;

namespace harness {
namespace {

std::set<std::string> list_dir(const std::string& path) {
    std::set<std::string> names;
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return names;
    while (const dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") names.insert(n);
    }
    ::closedir(d);
    return names;
}

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Reads what is available now; returns false at EOF.
bool drain(int fd, std::string& into) {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            into.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        return true;  // EAGAIN: nothing more for now
    }
}

}  // namespace

// Children of this (subreaper) process that are still there: alive, or zombies (the library's
// /proc reader, wb/proc.hpp).
std::vector<pid_t> children_of_this_process() { return wb::children_of(::getpid()); }

std::string chapter_exe() {
    const char* exe = std::getenv("WB_CHAPTER_EXE");
    if (exe == nullptr) throw std::runtime_error("WB_CHAPTER_EXE is not set (run through meson test)");
    return exe;
}

Result run_program(const std::string& exe, const std::vector<std::string>& args, const Options& options) {
    // Orphaned descendants of the program are re-parented to us, so we can see and count them.
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw std::runtime_error("prctl(PR_SET_CHILD_SUBREAPER) failed");
    Result r;
    const auto shm_before = list_dir("/dev/shm");
    char tmpl[] = "/tmp/wb-test-XXXXXX";
    const bool own_tmpdir = options.tmpdir.empty();
    if (own_tmpdir && ::mkdtemp(tmpl) == nullptr) {
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    const std::string tmpdir = own_tmpdir ? std::string(tmpl) : options.tmpdir;

    int out[2], err[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe2 failed");
    }
    std::vector<std::string> env_strings;
    // The extra entries replace inherited ones of the same name (getenv finds the first).
    const auto overridden = [&](std::string_view entry) {
        const auto name = entry.substr(0, entry.find('=') + 1);
        if (name == "TMPDIR=") return true;
        return std::any_of(options.env.begin(), options.env.end(),
                           [&](const std::string& e) { return e.rfind(name, 0) == 0; });
    };
    for (char** e = environ; *e != nullptr; ++e) {
        if (!overridden(*e)) env_strings.emplace_back(*e);
    }
    env_strings.push_back("TMPDIR=" + tmpdir);
    for (const auto& e : options.env) env_strings.push_back(e);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings{exe};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    const std::int64_t start = now_ns();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        if (options.close_stdout) ::close(1);
        if (options.nofile_limit >= 0) {
            const rlimit limit{static_cast<rlim_t>(options.nofile_limit), static_cast<rlim_t>(options.nofile_limit)};
            if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
        }
        ::execve(exe.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (!options.stdin_text.empty()) {
        [[maybe_unused]] const auto n = ::write(in[1], options.stdin_text.data(), options.stdin_text.size());
    }
    ::close(in[1]);
    set_nonblocking(out[0]);
    set_nonblocking(err[0]);
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) throw std::runtime_error("pidfd_open failed");

    const std::int64_t deadline = start + std::chrono::nanoseconds(options.timeout).count();
    bool sigint_sent = options.send_sigint_after_ms < 0;
    bool sigkill_sent = options.send_sigkill_after_ms < 0;
    bool out_open = true, err_open = true, exited = false, timed_out = false;
    while (!exited) {
        pollfd fds[3] = {{pidfd, POLLIN, 0}, {out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
        int wait_ms = static_cast<int>((deadline - now_ns()) / 1'000'000);
        for (const auto& [sent, after_ms] : {std::pair{sigint_sent, options.send_sigint_after_ms},
                                            std::pair{sigkill_sent, options.send_sigkill_after_ms}}) {
            if (sent) continue;
            const std::int64_t at = start + static_cast<std::int64_t>(after_ms) * 1'000'000;
            wait_ms = std::min(wait_ms, static_cast<int>(std::max<std::int64_t>(0, (at - now_ns()) / 1'000'000)));
        }
        if (wait_ms < 0) wait_ms = 0;
        const int n = ::poll(fds, 3, wait_ms);
        if (n < 0 && errno != EINTR) throw std::runtime_error("poll failed");
        if (out_open && (fds[1].revents & (POLLIN | POLLHUP))) out_open = drain(out[0], r.out);
        if (err_open && (fds[2].revents & (POLLIN | POLLHUP))) err_open = drain(err[0], r.err);
        if (fds[0].revents & POLLIN) exited = true;
        if (!sigint_sent && now_ns() >= start + static_cast<std::int64_t>(options.send_sigint_after_ms) * 1'000'000) {
            ::kill(pid, SIGINT);
            sigint_sent = true;
        }
        if (!sigkill_sent && now_ns() >= start + static_cast<std::int64_t>(options.send_sigkill_after_ms) * 1'000'000) {
            ::kill(pid, SIGKILL);
            sigkill_sent = true;
        }
        if (!exited && now_ns() >= deadline) {
            ::kill(pid, SIGKILL);
            timed_out = true;
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.wall_seconds = static_cast<double>(now_ns() - start) / 1e9;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1000;
    if (timed_out) r.leftovers.push_back("the program did not finish within the timeout and was killed");
    // Whatever the program wrote is in the pipes now; a descendant that still holds them open
    // is a leak (found below), so do not wait for EOF.
    if (out_open) drain(out[0], r.out);
    if (err_open) drain(err[0], r.err);
    ::close(out[0]);
    ::close(err[0]);
    ::close(pidfd);

    // Descendants that end within the grace period are reaped here (they are ours: we are the
    // subreaper); whatever is still running after it was left behind.
    const std::int64_t grace_end = now_ns() + std::chrono::nanoseconds(options.leftover_grace).count();
    while (now_ns() < grace_end) {
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        if (children_of_this_process().empty()) break;
        const timespec step{0, 2'000'000};
        ::nanosleep(&step, nullptr);
    }
    // Leftover processes: anything still parented to us is a descendant the program left behind.
    for (const pid_t child : children_of_this_process()) {
        const auto stat = wb::read_proc_stat(child);
        r.leftovers.push_back("process left behind: pid " + std::to_string(child) +
                              (stat ? " (" + stat->comm + ", state " + stat->state + ")" : std::string()));
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
    }
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    for (const auto& name : list_dir("/dev/shm")) {
        if (!shm_before.count(name)) r.leftovers.push_back("new /dev/shm entry: " + name);
    }
    if (own_tmpdir) {
        for (const auto& name : list_dir(tmpdir)) r.leftovers.push_back("temp file left behind: " + name);
        std::error_code ignored;
        std::filesystem::remove_all(tmpdir, ignored);
    }

    // Parse stdout as JSON lines.
    r.jsonl_ok = true;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        try {
            Json j = Json::parse(line);
            if (!j.is_object()) r.jsonl_ok = false;
            r.events.push_back(std::move(j));
        } catch (const std::exception&) {
            r.jsonl_ok = false;
        }
    }
    return r;
}

Result run_chapter(const std::vector<std::string>& args, const Options& options) {
    return run_program(chapter_exe(), args, options);
}

Result run_jsonl(unsigned seed, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"--format", "jsonl", "--seed", std::to_string(seed)};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = run_chapter(args);
    INFO("seed " << seed << "\nstderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.jsonl_ok);
    INFO("leftovers: " << r.leftovers.size() << (r.leftovers.empty() ? "" : " first: " + r.leftovers.front()));
    REQUIRE(r.leftovers.empty());
    REQUIRE(r.err.empty());
    return r;
}

std::vector<Json> select(const std::vector<Json>& events, const std::string& event_name) {
    std::vector<Json> out;
    for (const auto& e : events) {
        if (e.value("event", "") == event_name) out.push_back(e);
    }
    return out;
}

std::vector<Json> select_demo(const std::vector<Json>& events, const std::string& demo) {
    std::vector<Json> out;
    bool inside = false;
    for (const auto& e : events) {
        const std::string name = e.value("event", "");
        if (name == "demo.begin") inside = e["fields"].value("demo", "") == demo;
        if (inside) out.push_back(e);
        if (name == "demo.end" && inside) inside = false;
    }
    return out;
}

}  // namespace harness
