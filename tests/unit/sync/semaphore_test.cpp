// Unit tests of wb::Semaphore and wb::BoundedSemaphore (wb/semaphore.hpp).
#include "wb/semaphore.hpp"

#include <sched.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"
#include "wb/clock.hpp"
#include "wb/shared_memory.hpp"

using wb::test::Children;
using wb::test::eventually;

namespace {

// Who is inside the room right now, and the most ever seen at once.
struct Room {
    std::atomic<int> inside{0};
    std::atomic<int> max_inside{0};
    std::atomic<long> entries{0};
};

void raise_max(std::atomic<int>& max, int value) {
    int seen = max.load();
    while (seen < value && !max.compare_exchange_weak(seen, value)) {
    }
}

extern "C" void ignore_signal(int) {}

// Installs a do-nothing SIGUSR1 handler without SA_RESTART: blocking calls return EINTR.
void interrupt_on_sigusr1() {
    struct sigaction action {};
    action.sa_handler = ignore_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    wb::check(::sigaction(SIGUSR1, &action, nullptr), "sigaction");
}

}  // namespace

TEST_CASE("Semaphore(4) hammered by 16 processes: never more than 4 inside, and 4 is reached", "[semaphore]") {
    constexpr int permits = 4;
    constexpr int processes = 16;
    constexpr int rounds = 200;
    wb::Semaphore rooms(permits);
    wb::Shared<Room> room;
    Children children;
    for (int p = 0; p < processes; ++p) {
        children.fork([&] {
            for (int i = 0; i < rounds; ++i) {
                rooms.acquire();
                const int now = room->inside.fetch_add(1) + 1;
                raise_max(room->max_inside, now);
                room->entries.fetch_add(1);
                // Reaching 4 is made certain, not lucky: as long as the maximum is below 4,
                // nobody leaves. All 16 processes start by acquiring and nobody has released yet,
                // so the semaphore hands out its 4 permits and the 4 holders are inside together.
                // After that, nobody waits here any more (this cannot deadlock: the wait ends
                // exactly when 4 are inside).
                if (!eventually([&] { return room->max_inside.load() >= permits; })) return 3;
                for (int spin = 0; spin < 20; ++spin) ::sched_yield();  // stay a little
                room->inside.fetch_sub(1);
                rooms.release();
            }
            return 0;
        });
    }
    REQUIRE(children.wait_all_failures() == 0);
    CHECK(room->max_inside.load() <= permits);
    CHECK(room->max_inside.load() == permits);
    CHECK(room->entries.load() == static_cast<long>(processes) * rounds);
    CHECK(rooms.value() == permits);
}

TEST_CASE("Semaphore basics: value, try_acquire, Permit, release by anyone", "[semaphore]") {
    wb::Semaphore semaphore(2);
    CHECK(semaphore.value() == 2);
    CHECK(semaphore.bound() == -1);
    semaphore.acquire();
    CHECK(semaphore.value() == 1);
    CHECK(semaphore.try_acquire());
    CHECK(semaphore.value() == 0);
    CHECK_FALSE(semaphore.try_acquire());
    semaphore.release();
    {
        auto permit = semaphore.hold();
        CHECK(semaphore.value() == 0);
        auto moved = std::move(permit);
    }
    CHECK(semaphore.value() == 1);
    {
        auto permit = semaphore.hold();
        permit.release();
        CHECK(semaphore.value() == 1);
        CHECK_THROWS_AS(permit.release(), std::logic_error);
    }
    // An unbounded semaphore may grow past its initial value (a release by anyone is allowed).
    semaphore.release();
    semaphore.release();
    CHECK(semaphore.value() == 3);

    CHECK_THROWS_AS(wb::Semaphore(-1), std::invalid_argument);
    CHECK_THROWS_AS(wb::BoundedSemaphore(-1), std::invalid_argument);
    wb::Semaphore zero(0);
    CHECK(zero.value() == 0);
    CHECK_THROWS_AS((void)zero.acquire(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
}

TEST_CASE("Semaphore: a release in one process wakes an acquirer blocked in another", "[semaphore]") {
    wb::Semaphore semaphore(0);
    Children children;
    const pid_t blocking = children.fork([&] {
        semaphore.acquire();
        return 0;
    });
    const pid_t timed = children.fork([&] { return semaphore.acquire(1000.0) ? 0 : 1; });
    // Both are asleep in sem_wait / sem_clockwait before we release.
    REQUIRE(eventually([&] {
        return wb::test::process_state(blocking) == 'S' && wb::test::process_state(timed) == 'S';
    }));
    semaphore.release();
    semaphore.release();
    CHECK(wb::test::exited_with(children.wait(blocking), 0));
    CHECK(wb::test::exited_with(children.wait(timed), 0));
    CHECK(semaphore.value() == 0);
}

TEST_CASE("Semaphore: timed acquire with no permit returns false after about the timeout", "[semaphore][timing]") {
    wb::Semaphore semaphore(0);
    for (const double timeout : {5.0, 20.0}) {  // logical seconds (0.05 s and 0.2 s at scale 0.01)
        const wb::clock::Stopwatch stopwatch;
        const bool acquired = semaphore.acquire(timeout);
        const double ratio = stopwatch.elapsed() / timeout;
        CHECK_FALSE(acquired);
        CHECK(ratio >= 0.9);
        CHECK(ratio <= 3.0);
    }
    CHECK_FALSE(semaphore.acquire(0.0));
    semaphore.release();
    CHECK(semaphore.acquire(0.0));  // a free permit is taken even with no time to wait
}

TEST_CASE("Semaphore: signals (EINTR) neither end a timed wait early nor lose it", "[semaphore][timing]") {
    wb::Semaphore semaphore(0);
    wb::Shared<std::atomic<int>> ready;
    Children children;
    constexpr double timeout = 20.0;
    const pid_t waiter = children.fork([&] {
        interrupt_on_sigusr1();
        ready->store(1);
        const wb::clock::Stopwatch stopwatch;
        const bool acquired = semaphore.acquire(timeout);
        const double ratio = stopwatch.elapsed() / timeout;
        if (acquired) return 1;
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

TEST_CASE("BoundedSemaphore: releasing above the initial value is an error", "[semaphore][bounded]") {
    wb::BoundedSemaphore semaphore(2);
    CHECK(semaphore.bound() == 2);
    try {
        semaphore.release();
        FAIL("over-release did not throw");
    } catch (const wb::ReleasedTooManyTimes& error) {
        CHECK_THAT(error.what(), Catch::Contains("semaphore released too many times"));
    }
    CHECK(semaphore.value() == 2);  // unchanged
    semaphore.acquire();
    semaphore.release();  // fine: it was acquired
    CHECK_THROWS_AS(semaphore.release(), std::logic_error);
    CHECK(semaphore.value() == 2);

    wb::BoundedSemaphore zero(0);
    CHECK_THROWS_AS(zero.release(), wb::ReleasedTooManyTimes);

    // Still a Semaphore when used through the base class: the bound lives in shared memory.
    wb::Semaphore& base = semaphore;
    CHECK_THROWS_AS(base.release(), wb::ReleasedTooManyTimes);
}

TEST_CASE("BoundedSemaphore: the bound holds against concurrent releases from many processes",
          "[semaphore][bounded]") {
    constexpr int bound = 4;
    constexpr int releasers = 8;
    constexpr int exit_released = 0;
    constexpr int exit_refused = 10;
    for (int round = 0; round < 10; ++round) {
        wb::BoundedSemaphore semaphore(bound);
        for (int i = 0; i < bound; ++i) semaphore.acquire();  // value 0: room for 4 releases
        wb::Shared<std::atomic<int>> start;
        wb::Shared<std::atomic<int>> lined_up;
        Children children;
        std::vector<pid_t> pids;
        for (int p = 0; p < releasers; ++p) {
            pids.push_back(children.fork([&] {
                lined_up->fetch_add(1);
                while (start->load() == 0) ::sched_yield();  // all release at about the same time
                try {
                    semaphore.release();
                    return exit_released;
                } catch (const wb::ReleasedTooManyTimes&) {
                    return exit_refused;
                }
            }));
        }
        REQUIRE(eventually([&] { return lined_up->load() == releasers; }));
        start->store(1);
        int released = 0;
        int refused = 0;
        for (const pid_t pid : pids) {
            const auto status = children.wait(pid);
            if (wb::test::exited_with(status, exit_released)) ++released;
            if (wb::test::exited_with(status, exit_refused)) ++refused;
        }
        CHECK(released == bound);
        CHECK(refused == releasers - bound);
        CHECK(semaphore.value() == bound);
    }
}
