// Chapter 08's props for the orphan demos; see family.hpp.
#include "family.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"

namespace ch08 {

double safety_timeout() { return std::max(10.0, 5.0 / wb::clock::time_scale()); }

ChildSubreaper::ChildSubreaper() { wb::check(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)"); }
ChildSubreaper::~ChildSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); }

void PidMailbox::send(pid_t pid) {
    wb::write_all(pipe_.write_end.get(), std::string_view(reinterpret_cast<const char*>(&pid), sizeof pid),
                  "write (pid mailbox)");
}

std::optional<pid_t> PidMailbox::receive() {
    std::string bytes;
    while (bytes.size() < sizeof(pid_t)) {
        const auto some = wb::read_some(pipe_.read_end.get(), sizeof(pid_t) - bytes.size(), "read (pid mailbox)");
        if (!some || some->empty()) return std::nullopt;
        bytes += *some;
    }
    pid_t pid = 0;
    std::memcpy(&pid, bytes.data(), sizeof pid);
    return pid;
}

namespace {
// poll(2) on one descriptor for `real_ms` (-1: forever); true when it became readable (or hung up).
bool readable(int fd, int real_ms) {
    pollfd p{fd, POLLIN, 0};
    for (;;) {
        const int r = ::poll(&p, 1, real_ms);
        if (r >= 0) return r > 0;
        if (errno != EINTR) wb::throw_errno("poll");
    }
}

int real_ms(double logical_seconds) {
    const auto ns = wb::clock::to_real(logical_seconds).count();
    return static_cast<int>(std::min<long long>(ns / 1'000'000 + 1, 1LL << 30));
}
}  // namespace

bool Lifeline::main_gone(double logical_seconds) const { return readable(pipe_.read_end.get(), real_ms(logical_seconds)); }

void orphan_to_be(const Lifeline& lifeline, PidMailbox& mailbox, wb::Event& adopted, wb::Event& ticked) {
    const pid_t parent = ::getppid();
    wb::emit("orphan.start", {{"ppid", parent}}, wb::from_fields("grandchild running, parent pid {ppid}"));
    // A pidfd of the parent becomes readable when the parent has exited - after the kernel has
    // re-parented the parent's children, so getppid() then names the new parent.
    const wb::UniqueFd parent_fd(
        wb::check(static_cast<int>(::syscall(SYS_pidfd_open, parent, 0)), "pidfd_open (parent)"));
    mailbox.send(::getpid());  // main may kill the parent now
    pollfd watch[2] = {{parent_fd.get(), POLLIN, 0}, {lifeline.read_fd(), POLLIN, 0}};
    for (;;) {
        const int r = ::poll(watch, 2, -1);
        if (r < 0 && errno == EINTR) continue;
        wb::check(r, "poll (parent pidfd)");
        if (watch[1].revents != 0) return;  // main is gone: leave with it
        if (watch[0].revents != 0) break;
    }
    const pid_t now = ::getppid();
    wb::emit("orphan.adopted", {{"old_ppid", parent}, {"ppid", now}},
             wb::from_fields("my parent {old_ppid} has died; I keep running, adopted by pid {ppid}"));
    adopted.set();
    for (int tick = 1;; ++tick) {
        if (lifeline.main_gone(0.5)) return;
        wb::emit("orphan.tick", {{"tick", tick}, {"ppid", ::getppid()}},
                 wb::from_fields("still running, parent pid {ppid}"));
        if (tick == 2) ticked.set();
    }
}

int end_and_reap(pid_t pid) {
    if (::kill(pid, SIGTERM) != 0 && errno != ESRCH) wb::throw_errno(fmt::format("kill({}, SIGTERM)", pid));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) wb::throw_errno(fmt::format("waitpid({})", pid));
    }
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace ch08
