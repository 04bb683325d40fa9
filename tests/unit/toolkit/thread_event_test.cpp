// Unit tests of wb/thread_event.hpp.
#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "../sync/process_test_support.hpp"
#include "wb/thread_event.hpp"

TEST_CASE("ThreadEvent: created clear; wait(timeout) false while clear, true once set", "[thread_event]") {
    wb::ThreadEvent e;
    CHECK_FALSE(e.is_set());
    CHECK_FALSE(e.wait(0.0));
    CHECK_FALSE(e.wait(1.0));  // 10 ms at the test scale
    e.set();
    CHECK(e.is_set());
    CHECK(e.wait(0.0));
    CHECK(e.wait());
    e.clear();
    CHECK_FALSE(e.is_set());
}

TEST_CASE("ThreadEvent: one set() wakes every waiting thread, and what was written before is seen",
          "[thread_event][threads]") {
    constexpr int kWaiters = 4;
    wb::ThreadEvent e;
    int payload = 0;  // written before set(), read after wait(): ordered by the event
    std::latch started(kWaiters);
    std::atomic<int> woke{0}, saw_payload{0};
    {
        std::vector<std::jthread> waiters;
        for (int i = 0; i < kWaiters; ++i) {
            waiters.emplace_back([&] {
                started.count_down();
                if (e.wait(1e6)) woke.fetch_add(1);
                if (payload == 7) saw_payload.fetch_add(1);
            });
        }
        started.wait();
        payload = 7;
        e.set();
    }
    CHECK(woke.load() == kWaiters);
    CHECK(saw_payload.load() == kWaiters);
}

TEST_CASE("ThreadEvent::wait(stop_token) returns false when a stop is requested", "[thread_event][threads]") {
    wb::ThreadEvent e;
    std::atomic<int> result{-1};
    std::jthread waiter([&](std::stop_token stop) { result = e.wait(stop) ? 1 : 0; });
    waiter.request_stop();
    waiter.join();
    CHECK(result.load() == 0);
    e.set();
    std::jthread again([&](std::stop_token stop) { result = e.wait(stop) ? 1 : 0; });
    again.join();
    CHECK(result.load() == 1);
    CHECK_THROWS_AS(e.wait(std::nan("")), std::invalid_argument);
}
