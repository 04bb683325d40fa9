// Unit tests of wb/condition.hpp: Condition (threading.Condition).
// Misuse is reported; notify(n) wakes exactly n, the longest-waiting first; notify_all wakes all;
// a timed-out waiter leaves the waiting room; wait_for re-checks its predicate; the lock is
// recursive and wait() gives all of it up. Waiters are known to be asleep before anyone notifies
// (Condition::waiting(), read under the lock); the one measured timeout is a ratio with a tolerance.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "wb/clock.hpp"
#include "wb/condition.hpp"
#include "wb/thread.hpp"

namespace {

// 0.05: a "1 s" timeout lasts 50 ms, long next to a loaded machine's wake-up latency.
const bool scale_set = [] {
    wb::clock::set_time_scale(0.05);
    return true;
}();

// Polls `done` until it holds, for at most 20 s of real time (a safety net: a broken Condition
// fails the test instead of hanging it). Returns whether it held.
// The safety net of the waits that only a broken Condition would not end: 20 s of real time.
constexpr double kSafety = 400.0;

template <typename Done>
bool eventually(Done done) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

std::size_t waiting(wb::Condition& cond) {
    std::scoped_lock guard(cond);
    return cond.waiting();
}

}  // namespace

TEST_CASE("Condition: waiting, notifying or releasing without the lock is an error", "[condition]") {
    wb::Condition cond;
    CHECK_THROWS_WITH(cond.wait(), "cannot wait on un-acquired lock");
    CHECK_THROWS_WITH(cond.wait(1.0), "cannot wait on un-acquired lock");
    CHECK_THROWS_WITH(cond.wait_for([] { return false; }, 1.0), "cannot wait on un-acquired lock");
    CHECK_THROWS_WITH(cond.notify(), "cannot notify on un-acquired lock");
    CHECK_THROWS_WITH(cond.notify_all(), "cannot notify on un-acquired lock");
    CHECK_THROWS_WITH(cond.release(), "cannot release un-acquired lock");
    CHECK_THROWS_AS(cond.wait(), std::logic_error);

    // Held by another thread is not held by the caller.
    cond.acquire();
    bool wait_failed = false, notify_failed = false, release_failed = false, owned_there = true;
    std::thread other([&] {
        try { (void)cond.wait(0.1); } catch (const std::logic_error&) { wait_failed = true; }
        try { cond.notify(); } catch (const std::logic_error&) { notify_failed = true; }
        try { cond.release(); } catch (const std::logic_error&) { release_failed = true; }
        owned_there = cond.is_owned();
    });
    other.join();
    CHECK(wait_failed);
    CHECK(notify_failed);
    CHECK(release_failed);
    CHECK_FALSE(owned_there);
    CHECK(cond.is_owned());

    // Bad arguments, with the lock held.
    CHECK_THROWS_AS(cond.notify(-1), std::invalid_argument);
    CHECK_THROWS_AS(cond.wait(std::nan("")), std::invalid_argument);
    CHECK(cond.is_owned());  // a failed call leaves the lock as it was
    cond.release();
    CHECK_FALSE(cond.is_owned());
}

TEST_CASE("Condition: the lock is recursive; wait() gives all of it up and restores the depth", "[condition]") {
    wb::Condition cond;
    cond.acquire();
    cond.acquire();  // depth 2, as an RLock
    CHECK(cond.is_owned());

    // While main waits, another thread can take the lock (so wait() released both levels).
    std::atomic<bool> other_got_it{false};
    wb::Thread other([&] {
        const bool saw_main_waiting = eventually([&] { return waiting(cond) == 1; });
        std::scoped_lock guard(cond);  // with cond:
        other_got_it = saw_main_waiting;
        cond.notify();
    });
    other.start();
    CHECK(cond.wait());
    CHECK(other_got_it);
    other.join();

    // Depth 2 again: one release leaves it owned, the second frees it.
    cond.release();
    CHECK(cond.is_owned());
    cond.release();
    CHECK_FALSE(cond.is_owned());
    CHECK_THROWS_AS(cond.release(), std::logic_error);

    // try_lock / acquire(timeout) while another thread holds it.
    cond.acquire();
    bool tried = true, timed = true;
    std::thread t([&] {
        tried = cond.try_lock();
        timed = cond.acquire(0.2);
    });
    t.join();
    CHECK_FALSE(tried);
    CHECK_FALSE(timed);
    cond.release();
    CHECK(cond.try_lock());
    cond.unlock();
}

TEST_CASE("Condition: notify(n) wakes exactly the n longest-waiting threads; notify_all the rest", "[condition]") {
    constexpr int kWaiters = 5;
    wb::Condition cond;
    std::vector<int> woken;  // guarded by cond
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (int i = 0; i < kWaiters; ++i) {
        threads.push_back(std::make_unique<wb::Thread>([&cond, &woken, i] {
            std::scoped_lock guard(cond);
            const bool notified = cond.wait(kSafety);
            if (notified) woken.push_back(i);
        }));
        threads.back()->start();
        // Start the next one only when this one waits: the waiting order is 0, 1, 2, 3, 4.
        REQUIRE(eventually([&] { return waiting(cond) == static_cast<std::size_t>(i + 1); }));
    }

    {
        std::scoped_lock guard(cond);
        cond.notify(2);
        // Exactly two left the waiting room; the others are still in it.
        CHECK(cond.waiting() == kWaiters - 2);
        cond.notify(0);  // nothing
        CHECK(cond.waiting() == kWaiters - 2);
    }
    REQUIRE(eventually([&] {
        std::scoped_lock guard(cond);
        return woken.size() == 2;
    }));
    {
        std::scoped_lock guard(cond);
        std::vector<int> first = woken;
        std::sort(first.begin(), first.end());
        CHECK(first == std::vector<int>{0, 1});  // FIFO: the two that waited longest
        CHECK(cond.waiting() == kWaiters - 2);   // and nobody else woke up
        cond.notify(1);
        CHECK(cond.waiting() == kWaiters - 3);
    }
    REQUIRE(eventually([&] {
        std::scoped_lock guard(cond);
        return woken.size() == 3;
    }));
    {
        std::scoped_lock guard(cond);
        CHECK(woken.back() == 2);
        cond.notify(100);  // more than wait: wakes those that do
        CHECK(cond.waiting() == 0);
    }
    for (auto& t : threads) t->join();
    std::sort(woken.begin(), woken.end());
    CHECK(woken == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("Condition: notify_all wakes every waiter; a notify with nobody waiting is lost", "[condition]") {
    constexpr int kWaiters = 6;
    wb::Condition cond;
    int woken = 0;  // guarded by cond
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (int i = 0; i < kWaiters; ++i) {
        threads.push_back(std::make_unique<wb::Thread>([&] {
            std::scoped_lock guard(cond);
            if (cond.wait(kSafety)) ++woken;
        }));
        threads.back()->start();
    }
    REQUIRE(eventually([&] { return waiting(cond) == kWaiters; }));
    {
        std::scoped_lock guard(cond);
        cond.notify_all();
        CHECK(cond.waiting() == 0);
    }
    for (auto& t : threads) t->join();
    CHECK(woken == kWaiters);

    // Nobody waits: the notify is not remembered, the next wait times out.
    std::scoped_lock guard(cond);
    cond.notify();
    cond.notify_all();
    CHECK_FALSE(cond.wait(0.2));
    CHECK_FALSE(cond.wait(0));  // <= 0 only looks
    CHECK(cond.is_owned());
}

TEST_CASE("Condition: wait(timeout) returns false after the timeout, holding the lock again", "[condition]") {
    constexpr double kTimeout = 1.0;
    wb::Condition cond;
    std::scoped_lock guard(cond);
    const wb::clock::Stopwatch watch;
    const bool notified = cond.wait(kTimeout);
    const double waited = watch.elapsed();
    CHECK_FALSE(notified);
    CHECK(cond.is_owned());
    CHECK(cond.waiting() == 0);  // the timed-out waiter took itself out
    INFO("waited " << waited << " logical s for a timeout of " << kTimeout);
    CHECK(waited / kTimeout >= 0.99);
    CHECK(waited / kTimeout <= 3.0);  // generous: a loaded machine or a sanitizer wakes late
}

TEST_CASE("Condition: a timed-out waiter does not swallow a later notify", "[condition]") {
    wb::Condition cond;
    std::atomic<bool> a_notified{true}, b_notified{false};
    // A times out first and leaves; the notify that follows goes to B, the only waiter.
    wb::Thread a([&] {
        std::scoped_lock guard(cond);
        a_notified = cond.wait(0.1);
    });
    a.start();
    a.join();
    CHECK_FALSE(a_notified);
    wb::Thread b([&] {
        std::scoped_lock guard(cond);
        b_notified = cond.wait(kSafety);
    });
    b.start();
    REQUIRE(eventually([&] { return waiting(cond) == 1; }));
    {
        std::scoped_lock guard(cond);
        cond.notify();
    }
    b.join();
    CHECK(b_notified);
}

TEST_CASE("Condition: wait_for checks the predicate first, after each wake-up, and until the timeout", "[condition]") {
    wb::Condition cond;
    bool ready = false;  // guarded by cond
    int checks = 0;

    {
        // Already true: no waiting at all (nobody will notify).
        std::scoped_lock guard(cond);
        ready = true;
        CHECK(cond.wait_for([&] { ++checks; return ready; }, 1.0));
        CHECK(checks == 1);
        ready = false;
    }

    // Becomes true after a wake-up that was not for it (a notify with ready still false).
    checks = 0;
    // (No Catch2 assertion in another thread: Catch2 v2 is not thread-safe.)
    std::atomic<bool> setter_saw_waiters{true};
    wb::Thread setter([&] {
        if (!eventually([&] { return waiting(cond) == 1; })) setter_saw_waiters = false;
        {
            std::scoped_lock guard(cond);
            cond.notify();  // ready is still false: the waiter must wait again
        }
        if (!eventually([&] { return waiting(cond) == 1; })) setter_saw_waiters = false;
        std::scoped_lock guard(cond);
        ready = true;
        cond.notify();
    });
    setter.start();
    {
        std::scoped_lock guard(cond);
        CHECK(cond.wait_for([&] { ++checks; return ready; }));
        CHECK(checks == 3);  // before waiting, after the first notify, after the second
    }
    setter.join();
    CHECK(setter_saw_waiters);

    // Never true: false after about the timeout, with the lock held.
    constexpr double kTimeout = 1.0;
    std::scoped_lock guard(cond);
    const wb::clock::Stopwatch watch;
    CHECK_FALSE(cond.wait_for([] { return false; }, kTimeout));
    const double waited = watch.elapsed();
    INFO("waited " << waited);
    CHECK(waited / kTimeout >= 0.99);
    CHECK(waited / kTimeout <= 3.0);
    CHECK(cond.is_owned());
}

TEST_CASE("Condition: ping-pong between two threads, many rounds, nothing lost", "[condition]") {
    constexpr int kRounds = 2000;
    wb::Condition cond;
    int turn = 0;  // even: ping's turn, odd: pong's; guarded by cond
    std::vector<int> seen;
    auto player = [&](int parity) {
        for (int k = 0; k < kRounds; ++k) {
            std::scoped_lock guard(cond);
            if (!cond.wait_for([&] { return turn % 2 == parity; }, kSafety)) return;  // seen.size() tells
            seen.push_back(turn);
            ++turn;
            cond.notify();
        }
    };
    wb::Thread ping(player, 0), pong(player, 1);
    ping.start();
    pong.start();
    ping.join();
    pong.join();
    REQUIRE(seen.size() == 2 * kRounds);
    for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<int>(i));
}
