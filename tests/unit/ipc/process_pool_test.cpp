// Unit tests of wb::ProcessPool (wb/process_pool.hpp): map in order, apply/apply_async with
// callbacks and error callbacks, reused workers, a worker killed mid-task (only its task fails,
// a replacement takes over), timeouts, close/join/terminate, and nothing left behind.
#include "wb/process_pool.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"
#include "wb/clock.hpp"
#include "wb/process.hpp"

namespace {

long square(long x) { return x * x; }
int pid_of_worker(int) { return static_cast<int>(::getpid()); }
int rest_then_echo(int i, double seconds) {
    wb::clock::sleep(seconds);
    return i;
}
int fails(int i) {
    if (i % 3 == 0) throw std::invalid_argument("bad input " + std::to_string(i));
    return i;
}
int die_by(int sig) {
    if (sig == 0) wb::exit_process(3);
    // The worker is a fork of this test program: Catch2's own handlers would catch the signal.
    ::signal(sig, SIG_DFL);
    if (sig == SIGABRT) std::abort();
    ::raise(sig);
    return -1;
}
std::string join_words(std::string a, std::vector<int> b) { return a + ":" + std::to_string(b.size()); }

// A reaped (or never existing) child: waitpid reports ECHILD.
bool reaped(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) == -1 && errno == ECHILD; }

}  // namespace

TEST_CASE("map of 10,000 tasks: results in order and correct, with any chunk size", "[pool]") {
    wb::ProcessPool pool(4, GENERATE(1, 4));
    std::vector<long> inputs(10'000);
    for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i] = static_cast<long>(i);
    for (const std::size_t chunksize : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{20'000}}) {
        INFO("chunksize " << chunksize);
        const std::vector<long> results = pool.map(square, inputs, chunksize);
        REQUIRE(results.size() == inputs.size());
        bool all = true;
        for (std::size_t i = 0; i < results.size(); ++i) all = all && results[i] == inputs[i] * inputs[i];
        CHECK(all);
    }
    CHECK(pool.map(square, std::vector<long>{}).empty());
    CHECK(pool.workers_started() == 4);  // nobody died
    pool.close();
    pool.join();
}

TEST_CASE("apply_async: callbacks and error callbacks run in the parent, in arrival order", "[pool]") {
    wb::ProcessPool pool(3);
    std::vector<int> completed;
    std::vector<std::string> errors;
    std::vector<wb::AsyncResult<int>> results;
    for (int i = 0; i < 12; ++i) {
        results.push_back(pool.apply_async(
            fails, std::tuple{i}, [&](const int& n) { completed.push_back(n); },
            [&](const std::exception& e) { errors.emplace_back(e.what()); }));
    }
    pool.close();
    pool.join();
    CHECK(completed.size() == 8);
    CHECK(errors.size() == 4);  // 0, 3, 6, 9
    for (const auto& e : errors) {
        CHECK(e.find("std::invalid_argument: bad input") == 0);
    }
    for (int i = 0; i < 12; ++i) {
        REQUIRE(results[static_cast<std::size_t>(i)].ready());
        if (i % 3 == 0) {
            CHECK_FALSE(results[static_cast<std::size_t>(i)].successful());
            CHECK_THROWS_AS((void)results[static_cast<std::size_t>(i)].get(), wb::TaskError);
        } else {
            CHECK(results[static_cast<std::size_t>(i)].successful());
            CHECK(results[static_cast<std::size_t>(i)].get() == i);
        }
    }
}

TEST_CASE("apply is synchronous; arguments and results of JSON types cross; workers are reused", "[pool]") {
    wb::ProcessPool pool(2);
    CHECK(pool.apply(join_words, std::string("abc"), std::vector<int>{1, 2, 3}) == "abc:3");
    std::set<int> pids;
    std::vector<wb::AsyncResult<int>> results;
    for (int i = 0; i < 10; ++i) results.push_back(pool.apply_async(pid_of_worker, std::tuple{i}));
    for (auto& r : results) pids.insert(r.get());
    CHECK(pids.size() == 2);  // ten tasks, the same two processes
    const auto workers = pool.pids();
    CHECK(std::set<int>(workers.begin(), workers.end()) == pids);
    CHECK(pids.count(static_cast<int>(::getpid())) == 0);
}

TEST_CASE("a worker that dies mid-task fails only that task, naming the signal; a new worker takes over", "[pool][death]") {
    struct Case {
        int sig;
        const char* expected;
    };
    for (const int in_flight : {1, 3}) {  // 3: tasks queued behind the dying one are handed out again
    for (const Case c : {Case{SIGKILL, "killed by signal 9 (SIGKILL)"}, Case{SIGSEGV, "(SIGSEGV)"},
                         Case{SIGABRT, "(SIGABRT)"}, Case{SIGTERM, "(SIGTERM)"}, Case{0, "exited with code 3"}}) {
        INFO(c.expected << ", tasks in flight per worker " << in_flight);
        wb::ProcessPool pool(2, in_flight);
        const auto before = pool.pids();
        std::vector<wb::AsyncResult<int>> others;
        for (int i = 0; i < 6; ++i) others.push_back(pool.apply_async(rest_then_echo, std::tuple{i, 0.5}));
        std::string error_seen;
        auto doomed = pool.apply_async(die_by, std::tuple{c.sig}, {}, [&](const std::exception& e) { error_seen = e.what(); });
        for (int i = 6; i < 12; ++i) others.push_back(pool.apply_async(rest_then_echo, std::tuple{i, 0.5}));
        try {
            (void)doomed.get(1000.0);
            FAIL("the task of a dead worker returned");
        } catch (const wb::WorkerDied& e) {
            CHECK(std::string(e.what()).find(c.expected) != std::string::npos);
        }
        for (int i = 0; i < 12; ++i) CHECK(others[static_cast<std::size_t>(i)].get(1000.0) == i);
        CHECK(error_seen.find(c.expected) != std::string::npos);
        CHECK(pool.workers_started() == 3);  // one replacement
        CHECK(pool.pids().size() == 2);
        pool.close();
        pool.join();
        for (const pid_t p : before) CHECK(reaped(p));
    }
    }
}

TEST_CASE("a worker SIGKILLed from outside while it runs a task", "[pool][death]") {
    wb::ProcessPool pool(2);
    auto victim = pool.apply_async(rest_then_echo, std::tuple{1, 1000.0});
    auto other = pool.apply_async(rest_then_echo, std::tuple{2, 1.0});
    REQUIRE(victim.worker_pid() > 0);
    REQUIRE(::kill(victim.worker_pid(), SIGKILL) == 0);
    CHECK_THROWS_WITH((void)victim.get(1000.0), Catch::Contains("SIGKILL"));
    CHECK(other.get(1000.0) == 2);
    CHECK(pool.apply(square, 12L) == 144);
}

TEST_CASE("get(timeout) throws PoolTimeout after about the timeout; wait(timeout) returns false", "[pool][timing]") {
    wb::ProcessPool pool(1);
    auto slow = pool.apply_async(rest_then_echo, std::tuple{7, 1000.0});
    for (const double timeout : {5.0, 20.0}) {
        const wb::clock::Stopwatch stopwatch;
        CHECK_THROWS_AS((void)slow.get(timeout), wb::PoolTimeout);
        const double ratio = stopwatch.elapsed() / timeout;
        CHECK(ratio >= 0.99);
        CHECK(ratio <= 3.0);
    }
    CHECK_FALSE(slow.wait(1.0));
    CHECK_FALSE(slow.ready());
    CHECK_THROWS_AS((void)slow.successful(), std::logic_error);
}

TEST_CASE("close, join and terminate: states, and no process left behind", "[pool]") {
    SECTION("close then join runs the queued tasks; submitting after close is refused") {
        wb::ProcessPool pool(2);
        std::vector<wb::AsyncResult<int>> results;
        for (int i = 0; i < 6; ++i) results.push_back(pool.apply_async(rest_then_echo, std::tuple{i, 1.0}));
        CHECK_THROWS_AS(pool.join(), std::logic_error);  // still running
        pool.close();
        CHECK_THROWS_AS((void)pool.apply_async(square, std::tuple{1L}), std::logic_error);
        const auto pids = pool.pids();
        pool.join();
        for (auto& r : results) CHECK(r.ready());
        for (const pid_t p : pids) CHECK(reaped(p));
    }
    SECTION("terminate with tasks in flight and queued: they fail, every worker is gone") {
        wb::ProcessPool pool(3);
        std::vector<wb::AsyncResult<int>> results;
        int callbacks = 0;
        for (int i = 0; i < 8; ++i) {
            results.push_back(pool.apply_async(rest_then_echo, std::tuple{i, 1000.0}, [&](const int&) { ++callbacks; },
                                               [&](const std::exception&) { ++callbacks; }));
        }
        const auto pids = pool.pids();
        REQUIRE(pids.size() == 3);
        pool.terminate();
        for (const pid_t p : pids) CHECK(reaped(p));
        for (auto& r : results) CHECK_THROWS_AS((void)r.get(), wb::PoolTerminated);
        CHECK(callbacks == 0);  // terminate runs no callbacks
        pool.join();            // allowed after terminate
        CHECK(wb::live_children() == 0);
    }
    SECTION("the scoped form: leaving the block terminates; results outlive the pool") {
        std::vector<pid_t> pids;
        std::optional<wb::AsyncResult<int>> late;
        {
            wb::ProcessPool pool(2);
            pids = pool.pids();
            late = pool.apply_async(rest_then_echo, std::tuple{1, 1000.0});
        }
        for (const pid_t p : pids) CHECK(reaped(p));
        CHECK_THROWS_AS((void)late->get(), wb::PoolTerminated);
    }
}

TEST_CASE("a callback may submit tasks but not wait on the pool", "[pool]") {
    wb::ProcessPool pool(2);
    std::optional<wb::AsyncResult<long>> chained;
    auto first = pool.apply_async(square, std::tuple{3L}, [&](const long& n) { chained = pool.apply_async(square, std::tuple{n}); });
    CHECK(first.get() == 9);
    REQUIRE(chained.has_value());
    CHECK(chained->get() == 81);

    auto waits = pool.apply_async(square, std::tuple{2L}, [&](const long&) { (void)pool.apply(square, 1L); });
    CHECK_THROWS_AS(waits.wait(), std::logic_error);
}
