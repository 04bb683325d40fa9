// Unit tests of wb/emulated_gil.hpp: one holder at a time, turns that alternate every switch
// interval while two threads compete, no switch for a lone thread, blocking calls without it.
#include <atomic>
#include <cstdint>
#include <latch>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "wb/clock.hpp"
#include "wb/emulated_gil.hpp"
#include "wb/thread_event.hpp"

TEST_CASE("EmulatedGil: one holder at a time; plain data under it needs nothing else", "[gil]") {
    constexpr std::uint64_t kSteps = 200'000;
    wb::EmulatedGil gil(1'000);
    std::uint64_t shared = 0;  // a plain integer: the GIL alone orders the two threads' writes
    std::atomic<int> inside{0};
    std::atomic<int> most_inside{0};
    auto work = [&] {
        wb::EmulatedGil::Holder held(gil);
        for (std::uint64_t i = 0; i < kSteps; ++i) {
            const int now = inside.fetch_add(1) + 1;
            if (now > most_inside) most_inside = now;
            shared = shared + 1;
            inside.fetch_sub(1);
            held.step();
        }
    };
    {
        std::jthread a(work), b(work);
    }
    CHECK(shared == 2 * kSteps);
    CHECK(most_inside == 1);
}

TEST_CASE("EmulatedGil: two competing threads take turns of exactly one interval", "[gil]") {
    constexpr std::uint64_t kInterval = 500;
    constexpr std::uint64_t kSteps = 100 * kInterval;
    wb::EmulatedGil gil(kInterval);
    std::vector<int> turns;  // who held the GIL at each switch point: written only under the GIL
    std::atomic<int> holders{0};
    auto work = [&](int who) {
        wb::EmulatedGil::Holder held(gil);
        // The first holder starts counting only once the other thread waits for the GIL, so the
        // two compete from the first step (it looks until then; no sleep).
        if (holders.fetch_add(1) == 0) {
            while (gil.waiting() == 0) std::this_thread::yield();
        }
        for (std::uint64_t i = 1; i <= kSteps; ++i) {
            if (i % kInterval == 0) turns.push_back(who);
            held.step();
        }
    };
    {
        std::jthread a(work, 0), b(work, 1);
    }
    REQUIRE(turns.size() == 2 * kSteps / kInterval);
    // Runs of one thread's turns: they alternate one by one, except the last, the survivor
    // finishing alone.
    std::vector<int> runs;
    for (std::size_t i = 0; i < turns.size(); ++i) {
        if (i == 0 || turns[i] != turns[i - 1]) runs.push_back(0);
        runs.back() += 1;
    }
    for (std::size_t r = 0; r + 1 < runs.size(); ++r) {
        INFO("run " << r << " of " << runs.size());
        CHECK(runs[r] == 1);
    }
    CHECK(gil.switches() >= runs.size() - 1);
    CHECK(gil.switches() > 0);
}

TEST_CASE("EmulatedGil: a lone thread never switches", "[gil]") {
    wb::EmulatedGil gil(10);
    {
        wb::EmulatedGil::Holder held(gil);
        for (int i = 0; i < 10'000; ++i) held.step();
    }
    CHECK(gil.switches() == 0);
}

TEST_CASE("EmulatedGil: blocking calls run without it, so another thread can hold it", "[gil]") {
    wb::EmulatedGil gil(1);
    wb::ThreadEvent other_ran;
    std::atomic<bool> saw{false};
    {
        std::jthread blocker([&] {
            wb::EmulatedGil::Holder held(gil);
            // If released() kept the GIL, the other thread could never set the event: a deadlock.
            saw = held.released([&] { return other_ran.wait(1e6); });
            held.released([] {});  // the void form
        });
        std::jthread other([&] {
            wb::EmulatedGil::Holder held(gil);
            other_ran.set();
        });
    }
    CHECK(saw);  // Catch2's assertions belong to the main thread
}

TEST_CASE("EmulatedGil: a zero interval and a nested holder are errors", "[gil]") {
    CHECK_THROWS_AS(wb::EmulatedGil(0), std::invalid_argument);
    wb::EmulatedGil gil(5);
    wb::EmulatedGil::Holder held(gil);
    CHECK_THROWS_AS(wb::EmulatedGil::Holder(gil), std::logic_error);
}
