// Unit tests of wb/proc.hpp: /proc/PID/stat parsing and the process lists built on it.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include <catch2/catch.hpp>

#include "../sync/process_test_support.hpp"
#include "wb/fd.hpp"
#include "wb/proc.hpp"

namespace {
bool contains(const std::vector<pid_t>& pids, pid_t pid) { return std::find(pids.begin(), pids.end(), pid) != pids.end(); }
}  // namespace

TEST_CASE("parse_proc_stat: a name with spaces and parentheses ends at the last ')'", "[proc]") {
    std::string line = "42 (a) b (c)) S 7 9 9 0 -1";
    for (int field = 9; field <= 51; ++field) line += " 0";
    line += " 768\n";  // field 52: exit code 3, in waitpid's encoding
    const auto s = wb::parse_proc_stat(42, line);
    REQUIRE(s.has_value());
    CHECK(s->pid == 42);
    CHECK(s->comm == "a) b (c)");
    CHECK(s->state == 'S');
    CHECK(s->ppid == 7);
    CHECK(s->pgrp == 9);
    CHECK(s->exit_status == 768);

    CHECK_FALSE(wb::parse_proc_stat(1, "garbage").has_value());
    const auto short_line = wb::parse_proc_stat(1, "1 (init) S 0 1");  // no field 52: 0
    REQUIRE(short_line.has_value());
    CHECK(short_line->exit_status == 0);
}

TEST_CASE("read_proc_stat of this process agrees with getppid and getpgrp", "[proc]") {
    const auto me = wb::read_proc_stat(::getpid());
    REQUIRE(me.has_value());
    CHECK(me->state == 'R');  // it is running: it is reading its own stat
    CHECK(me->ppid == ::getppid());
    CHECK(me->pgrp == ::getpgrp());
    CHECK(wb::members_of_group(::getpgrp()).size() >= 1);
    CHECK(contains(wb::members_of_group(::getpgrp()), ::getpid()));
    const auto all = wb::all_processes();
    CHECK(std::is_sorted(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; }));
}

TEST_CASE("a child: named, listed under its parent, a zombie with its exit status, then gone", "[proc][process]") {
    wb::test::Children children;
    wb::Pipe go;
    const pid_t child = children.fork([&] {
        go.write_end.reset();
        ::prctl(PR_SET_NAME, "wb proc (test)", 0, 0, 0);
        (void)wb::read_all(go.read_end.get());  // blocked: state S
        return 5;
    });
    go.read_end.reset();
    CHECK(contains(wb::children_of(::getpid()), child));
    REQUIRE(wb::test::eventually([&] {
        const auto s = wb::read_proc_stat(child);
        return s && s->state == 'S' && s->comm == "wb proc (test)";
    }));
    go.write_end.reset();  // end of file: the child exits with 5
    REQUIRE(wb::test::eventually([&] {
        const auto s = wb::read_proc_stat(child);
        return s && s->state == 'Z';
    }));
    const auto zombie = wb::read_proc_stat(child);
    REQUIRE(zombie.has_value());
    CHECK(zombie->exit_status >> 8 == 5);
    CHECK(zombie->ppid == ::getpid());
    const auto status = children.wait(child);
    REQUIRE(status.has_value());
    CHECK(WEXITSTATUS(*status) == 5);
    CHECK_FALSE(wb::read_proc_stat(child).has_value());
    CHECK_FALSE(contains(wb::children_of(::getpid()), child));
}
