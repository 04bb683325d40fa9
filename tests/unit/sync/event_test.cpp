// Unit tests of wb::Event (wb/event.hpp).
#include "wb/event.hpp"

#include <signal.h>

#include <atomic>
#include <limits>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"
#include "wb/clock.hpp"
#include "wb/shared_memory.hpp"

using wb::test::Children;
using wb::test::eventually;

namespace {

struct Waiting {
    std::atomic<int> about_to_wait{0};
    std::atomic<int> woken{0};
    long message = 0;  // plain: written before set(), read after wait() returned true
};

// Forks `count` children that announce themselves, then wait(timeout) and report the result
// (exit 0: woken, i.e. wait returned true; exit 1: timed out; exit 2: the message was not seen).
std::vector<pid_t> fork_waiters(Children& children, wb::Event& event, Waiting& waiting, int count,
                                double timeout) {
    std::vector<pid_t> pids;
    for (int i = 0; i < count; ++i) {
        pids.push_back(children.fork([&] {
            waiting.about_to_wait.fetch_add(1);
            if (!event.wait(timeout)) return 1;
            waiting.woken.fetch_add(1);
            return waiting.message == 42 ? 0 : 2;
        }));
    }
    return pids;
}

// True once every pid is asleep. After announcing itself a waiter's only blocking call is the
// futex wait inside Event::wait, so 'S' means it is really waiting (not merely about to).
bool all_asleep(const std::vector<pid_t>& pids) {
    for (const pid_t pid : pids) {
        if (wb::test::process_state(pid) != 'S') return false;
    }
    return true;
}

extern "C" void ignore_signal(int) {}

}  // namespace

TEST_CASE("Event: set() wakes the waiters of 8 processes", "[event]") {
    constexpr int processes = 8;
    wb::Event event;
    wb::Shared<Waiting> waiting;
    Children children;
    const auto pids = fork_waiters(children, event, *waiting, processes, 1e6);
    // Counters, not sleeps: all 8 have announced themselves. Even if one had not reached its
    // wait yet, wait() would see the flag set and return true - set() cannot be missed. The
    // 'S' check only makes the test exercise the wake-up path, not the fast path.
    REQUIRE(eventually([&] { return waiting->about_to_wait.load() == processes; }));
    REQUIRE(eventually([&] { return all_asleep(pids); }));
    CHECK_FALSE(event.is_set());
    waiting->message = 42;
    event.set();
    CHECK(event.is_set());
    CHECK(children.wait_all_failures() == 0);
    CHECK(waiting->woken.load() == processes);
}

TEST_CASE("Event: wait(timeout) on a clear event returns false after about the timeout", "[event][timing]") {
    wb::Event event;
    for (const double timeout : {5.0, 20.0}) {  // logical seconds
        const wb::clock::Stopwatch stopwatch;
        const bool result = event.wait(timeout);
        const double ratio = stopwatch.elapsed() / timeout;
        CHECK_FALSE(result);
        CHECK(ratio >= 0.9);
        CHECK(ratio <= 3.0);
    }
    CHECK_FALSE(event.wait(0.0));
    CHECK_FALSE(event.wait(-1.0));
    CHECK_THROWS_AS((void)event.wait(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

TEST_CASE("Event: flag semantics (set, clear, is_set, wait on a set event)", "[event]") {
    wb::Event event;
    CHECK_FALSE(event.is_set());
    event.set();
    CHECK(event.is_set());
    event.set();  // idempotent
    CHECK(event.is_set());
    CHECK(event.wait(0.0));
    CHECK(event.wait(1.0));
    CHECK(event.wait());
    event.clear();
    CHECK_FALSE(event.is_set());
    event.clear();
    CHECK_FALSE(event.is_set());
    CHECK_FALSE(event.wait(0.0));

    // Seen by other processes, both ways.
    Children children;
    const pid_t setter = children.fork([&] {
        event.set();
        return 0;
    });
    REQUIRE(wb::test::exited_with(children.wait(setter), 0));
    CHECK(event.is_set());
    const pid_t clearer = children.fork([&] {
        event.clear();
        return 0;
    });
    REQUIRE(wb::test::exited_with(children.wait(clearer), 0));
    CHECK_FALSE(event.is_set());
}

TEST_CASE("Event: a set() immediately followed by clear() still wakes every waiter", "[event]") {
    constexpr int processes = 4;
    wb::Event event;
    wb::Shared<Waiting> waiting;
    Children children;
    const auto pids = fork_waiters(children, event, *waiting, processes, 1e6);
    REQUIRE(eventually([&] { return waiting->about_to_wait.load() == processes; }));
    // Here the waiters must really be asleep before the pulse: a wait() that only starts after
    // set()+clear() finds the flag clear and rightly times out.
    REQUIRE(eventually([&] { return all_asleep(pids); }));
    waiting->message = 42;
    event.set();
    event.clear();
    CHECK(children.wait_all_failures() == 0);
    CHECK(waiting->woken.load() == processes);
    CHECK_FALSE(event.is_set());
}

TEST_CASE("Event: a waiter killed while waiting does not wedge the event", "[event][death]") {
    // With a glibc 2.36 process-shared condition variable this hangs in the second broadcast
    // (see wb/event.hpp). Each round kills a waiter in the middle of its wait, then sets, clears.
    wb::Event event;
    wb::Shared<Waiting> waiting;
    waiting->message = 42;
    Children children;
    for (int round = 0; round < 4; ++round) {
        waiting->about_to_wait = 0;
        const auto pids = fork_waiters(children, event, *waiting, 2, 1e6);
        REQUIRE(eventually([&] { return waiting->about_to_wait.load() == 2; }));
        REQUIRE(eventually([&] { return all_asleep(pids); }));
        children.kill(pids[0]);
        // set() must not block: run it in a process of its own so that a hang fails the test
        // instead of hanging it.
        const pid_t setter = children.fork([&] {
            event.set();
            return 0;
        });
        REQUIRE(wb::test::exited_with(children.wait(setter, 20.0), 0));
        REQUIRE(wb::test::exited_with(children.wait(pids[1], 20.0), 0));
        event.clear();
    }
}

TEST_CASE("Event: signals (EINTR) neither end a timed wait early nor lose a set", "[event][timing]") {
    wb::Event event;
    wb::Shared<std::atomic<int>> ready;
    Children children;
    constexpr double timeout = 20.0;
    const pid_t waiter = children.fork([&] {
        struct sigaction action {};
        action.sa_handler = ignore_signal;
        sigemptyset(&action.sa_mask);
        wb::check(::sigaction(SIGUSR1, &action, nullptr), "sigaction");
        ready->store(1);
        const wb::clock::Stopwatch stopwatch;
        const bool result = event.wait(timeout);
        const double ratio = stopwatch.elapsed() / timeout;
        if (result) return 1;
        return (ratio >= 0.9 && ratio <= 3.0) ? 0 : 2;
    });
    REQUIRE(eventually([&] { return ready->load() == 1; }));
    int signals = 0;
    std::optional<int> status;
    while (!(status = children.wait(waiter, 0.001))) {
        ::kill(waiter, SIGUSR1);
        ++signals;
    }
    CHECK(signals > 5);
    CHECK(wb::test::exited_with(status, 0));
}
