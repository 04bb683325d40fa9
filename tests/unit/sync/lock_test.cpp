// Unit tests of wb::Lock (wb/lock.hpp): mutual exclusion across processes, the robust lock after
// its holder is SIGKILLed, the plain lock's deadlock reported by a timeout, timed acquisition,
// ownership errors.
#include "wb/lock.hpp"

#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/shared_memory.hpp"

using wb::test::Children;
using wb::test::eventually;

namespace {

// Data protected by a lock, with an invariant a killed holder can break: a + b == 100.
struct Accounts {
    long a = 60;
    long b = 40;
    long transfers = 0;
};

// A flag a child raises once it holds the lock (atomics in shared memory are address-free).
struct Signal {
    std::atomic<int> holding{0};
    std::atomic<int> told_owner_died{0};
    std::atomic<int> cycles{0};
};

// A child that takes the lock, breaks the invariant half-way and then waits to be killed.
int hold_until_killed(wb::Lock& lock, Accounts& accounts, Signal& signal) {
    (void)lock.acquire();
    accounts.a -= 10;  // ... and b += 10 never happens
    signal.holding.store(1);
    for (;;) ::pause();
}

}  // namespace

TEST_CASE("8 processes x 10,000 increments under the Lock end exactly at 80,000", "[lock]") {
    constexpr int processes = 8;
    constexpr long increments = 10'000;
    wb::Lock lock;
    wb::Shared<long> counter;  // a plain long: only the lock makes ++ safe
    wb::Shared<std::atomic<int>> owner_died_reports;
    Children children;
    for (int p = 0; p < processes; ++p) {
        children.fork([&] {
            for (long i = 0; i < increments; ++i) {
                auto guard = lock.hold();
                if (guard.previous_owner_died()) owner_died_reports->fetch_add(1);
                const long seen = *counter;  // read-modify-write in three steps, on purpose
                *counter = seen + 1;
            }
            return 0;
        });
    }
    REQUIRE(children.wait_all_failures() == 0);
    CHECK(*counter == processes * increments);
    CHECK(owner_died_reports->load() == 0);
}

TEST_CASE("robust Lock: the holder is SIGKILLed, the next acquirer is told and repairs", "[lock][robust]") {
    wb::Lock lock;  // robust is the default
    REQUIRE(lock.robustness() == wb::Robustness::robust);
    wb::Shared<Accounts> accounts;
    wb::Shared<Signal> signal;
    Children children;

    const pid_t holder = children.fork([&] { return hold_until_killed(lock, *accounts, *signal); });
    REQUIRE(eventually([&] { return signal->holding.load() == 1; }));

    SECTION("the parent acquires after the death") {
        const int status = children.kill(holder);
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGKILL);

        // Timed, so that a lock that failed to notice the death fails the test instead of hanging.
        const wb::AcquireResult result = lock.acquire(1000.0);
        REQUIRE(result.acquired);
        REQUIRE(result.previous_owner_died);
        REQUIRE(lock.previous_owner_died());
        CHECK(accounts->a + accounts->b == 90);  // the half-done transfer is visible
        accounts->b += 10;                       // repair: finish it
        lock.release();
    }

    SECTION("an acquirer already blocked when the holder dies is told") {
        const pid_t waiter = children.fork([&] {
            const wb::AcquireResult result = lock.acquire(1000.0);
            if (!result.previous_owner_died) return 1;
            accounts->b += 10;  // repair
            lock.release();
            return 0;
        });
        // Blocked in pthread_mutex_lock: the only way that child can sleep.
        REQUIRE(eventually([&] { return wb::test::process_state(waiter) == 'S'; }));
        children.kill(holder);
        REQUIRE(wb::test::exited_with(children.wait(waiter), 0));
    }

    // Afterwards the lock is consistent and works for everyone, nobody else is told of a death.
    CHECK(accounts->a + accounts->b == 100);
    constexpr int processes = 4;
    constexpr int cycles = 1000;
    for (int p = 0; p < processes; ++p) {
        children.fork([&] {
            for (int i = 0; i < cycles; ++i) {
                const wb::AcquireResult result = lock.acquire();
                if (!result.acquired) return 1;
                if (result.previous_owner_died) signal->told_owner_died.fetch_add(1);
                accounts->a -= 1;
                accounts->b += 1;
                accounts->transfers += 1;
                lock.release();
            }
            return 0;
        });
    }
    REQUIRE(children.wait_all_failures() == 0);
    CHECK(signal->told_owner_died.load() == 0);
    CHECK(accounts->transfers == processes * cycles);
    CHECK(accounts->a + accounts->b == 100);
    const wb::AcquireResult last = lock.acquire();
    CHECK(last.acquired);
    CHECK_FALSE(last.previous_owner_died);
    CHECK_FALSE(lock.previous_owner_died());
    lock.release();
}

TEST_CASE("robust Lock: a dead holder is reported to try_acquire and timed acquire too", "[lock][robust]") {
    wb::Lock lock;
    wb::Shared<Accounts> accounts;
    wb::Shared<Signal> signal;
    Children children;
    for (const bool timed : {false, true}) {
        signal->holding = 0;
        const pid_t holder = children.fork([&] { return hold_until_killed(lock, *accounts, *signal); });
        REQUIRE(eventually([&] { return signal->holding.load() == 1; }));
        children.kill(holder);
        const wb::AcquireResult result = timed ? lock.acquire(5.0) : lock.try_acquire();
        CHECK(result.acquired);
        CHECK(result.previous_owner_died);
        accounts->b += 10;
        lock.release();
    }
    CHECK(accounts->a + accounts->b == 100);
}

TEST_CASE("not_robust Lock: after the holder is killed, a timed acquire reports the timeout", "[lock]") {
    wb::Lock lock(wb::Robustness::not_robust);
    REQUIRE(lock.robustness() == wb::Robustness::not_robust);
    wb::Shared<Accounts> accounts;
    wb::Shared<Signal> signal;
    Children children;
    const pid_t holder = children.fork([&] { return hold_until_killed(lock, *accounts, *signal); });
    REQUIRE(eventually([&] { return signal->holding.load() == 1; }));
    children.kill(holder);

    // Nobody will ever release it: the deadlock of the seed, ended by the timeout.
    constexpr double timeout = 10.0;  // logical seconds: 0.1 s of real time at scale 0.01
    const wb::clock::Stopwatch stopwatch;
    const wb::AcquireResult result = lock.acquire(timeout);
    const double ratio = stopwatch.elapsed() / timeout;
    CHECK_FALSE(result.acquired);
    CHECK_FALSE(result.previous_owner_died);
    CHECK(ratio >= 0.9);
    CHECK(ratio <= 3.0);
    CHECK_FALSE(lock.try_acquire().acquired);

    // Also another process waiting for it gives up, it does not hang.
    const pid_t other = children.fork([&] { return lock.acquire(2.0).acquired ? 1 : 0; });
    CHECK(wb::test::exited_with(children.wait(other), 0));
}

TEST_CASE("timed acquire of a held Lock returns false after about the timeout", "[lock][timing]") {
    for (const wb::Robustness robustness : {wb::Robustness::robust, wb::Robustness::not_robust}) {
        wb::Lock lock(robustness);
        wb::Shared<std::atomic<int>> stage;
        Children children;
        const pid_t holder = children.fork([&] {
            (void)lock.acquire();
            stage->store(1);
            while (stage->load() != 2) wb::test::pause_briefly();
            lock.release();
            return 0;
        });
        REQUIRE(eventually([&] { return stage->load() == 1; }));

        for (const double timeout : {5.0, 20.0}) {  // logical seconds
            const wb::clock::Stopwatch stopwatch;
            const wb::AcquireResult result = lock.acquire(timeout);
            const double ratio = stopwatch.elapsed() / timeout;
            CHECK_FALSE(result.acquired);
            CHECK(ratio >= 0.9);
            CHECK(ratio <= 3.0);
        }
        // A timeout of 0 only tries.
        CHECK_FALSE(lock.acquire(0.0).acquired);
        CHECK_FALSE(lock.acquire(-1.0).acquired);

        stage->store(2);
        REQUIRE(wb::test::exited_with(children.wait(holder), 0));
        // Free now: a timed acquire succeeds at once.
        const wb::AcquireResult result = lock.acquire(5.0);
        CHECK(result.acquired);
        CHECK_FALSE(result.previous_owner_died);
        lock.release();
    }
}

TEST_CASE("Lock ownership errors", "[lock]") {
    wb::Lock lock;
    Children children;

    SECTION("release without holding it: SystemError EPERM") {
        try {
            lock.release();
            FAIL("release of a free lock did not throw");
        } catch (const wb::SystemError& error) {
            CHECK(error.code().value() == EPERM);
        }
    }

    SECTION("release by another process than the holder: SystemError EPERM, lock still held") {
        (void)lock.acquire();
        const pid_t other = children.fork([&] {
            try {
                lock.release();
                return 1;
            } catch (const wb::SystemError& error) {
                return error.code().value() == EPERM ? 0 : 2;
            }
        });
        CHECK(wb::test::exited_with(children.wait(other), 0));
        const pid_t prober = children.fork([&] { return lock.try_acquire().acquired ? 1 : 0; });
        CHECK(wb::test::exited_with(children.wait(prober), 0));
        lock.release();
    }

    SECTION("the holder acquiring again: SystemError EDEADLK, not a deadlock; try_acquire is false") {
        for (const wb::Robustness robustness : {wb::Robustness::robust, wb::Robustness::not_robust}) {
            wb::Lock other_lock(robustness);
            (void)other_lock.acquire();
            try {
                (void)other_lock.acquire();
                FAIL("second acquire did not throw");
            } catch (const wb::SystemError& error) {
                CHECK(error.code().value() == EDEADLK);
            }
            CHECK_FALSE(other_lock.try_acquire().acquired);
            other_lock.release();
        }
    }

    SECTION("a NaN timeout is rejected") {
        CHECK_THROWS_AS((void)lock.acquire(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
    }
}

TEST_CASE("Lock::hold, std::lock_guard and threads", "[lock]") {
    wb::Lock lock;
    auto held_by_someone_else = [&] {
        bool acquired = false;
        std::thread([&] {
            acquired = lock.try_lock();
            if (acquired) lock.unlock();
        }).join();
        return !acquired;
    };
    {
        auto guard = lock.hold();
        CHECK_FALSE(guard.previous_owner_died());
        CHECK(held_by_someone_else());
        auto moved = std::move(guard);  // ownership of the release moves along
        CHECK(held_by_someone_else());
    }
    CHECK_FALSE(held_by_someone_else());
    {
        std::lock_guard<wb::Lock> guard(lock);
        CHECK(held_by_someone_else());
    }
    CHECK_FALSE(held_by_someone_else());
    {
        auto guard = lock.hold();
        guard.release();
        CHECK_FALSE(held_by_someone_else());
        CHECK_THROWS_AS(guard.release(), std::logic_error);
    }
    // Infinity means no deadline.
    const wb::AcquireResult result = lock.acquire(std::numeric_limits<double>::infinity());
    CHECK(result.acquired);
    lock.release();

    // A moved Lock is the same lock.
    wb::Lock moved = std::move(lock);
    CHECK(moved.try_acquire().acquired);
    moved.release();
}
