// Unit tests of wb/start_gate.hpp: nobody passes before open(), everybody after; timeouts give
// the arrivals back; spawned parties adopt the gate; threads use it too.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "../sync/process_test_support.hpp"
#include "wb/shared_memory.hpp"
#include "wb/start_gate.hpp"

namespace {
struct Tally {
    std::atomic<int> passed{0};
    std::atomic<int> opened_seen{0};  // parties that saw the opener's write after passing
    int opener_wrote = 0;             // written before open(), read by the parties after it
};
}  // namespace

TEST_CASE("StartGate: no party passes before open(); all pass after, and see what the opener wrote",
          "[start_gate][process]") {
    constexpr int kParties = 4;
    wb::test::Children children;
    wb::StartGate gate(kParties);
    CHECK(gate.parties() == kParties);
    CHECK_FALSE(gate.is_open());
    wb::Shared<Tally> tally;
    std::vector<pid_t> pids;
    for (int i = 0; i < kParties; ++i) {
        pids.push_back(children.fork([&] {
            gate.arrive_and_wait();
            if (tally->opener_wrote == 42) tally->opened_seen.fetch_add(1);
            tally->passed.fetch_add(1);
            return 0;
        }));
    }
    gate.wait_until_ready();
    // All have arrived and none may pass yet: give them every chance to (they are blocked).
    CHECK(wb::test::eventually([&] {
        return std::all_of(pids.begin(), pids.end(), [](pid_t p) { return wb::test::process_state(p) == 'S'; });
    }));
    CHECK(tally->passed.load() == 0);
    tally->opener_wrote = 42;
    gate.open();
    CHECK(gate.is_open());
    for (const pid_t pid : pids) {
        const auto status = children.wait(pid);
        REQUIRE(status.has_value());
        CHECK(WEXITSTATUS(*status) == 0);
    }
    CHECK(tally->passed.load() == kParties);
    CHECK(tally->opened_seen.load() == kParties);
    // Open for good: a late party passes at once.
    CHECK(gate.arrive_and_wait(0.0));
}

TEST_CASE("StartGate::wait_until_ready(timeout): false when a party is missing, arrivals kept", "[start_gate]") {
    wb::StartGate gate(3);
    gate.arrive();
    gate.arrive();
    CHECK_FALSE(gate.wait_until_ready(0.5));  // 5 ms at the test scale
    gate.arrive();
    CHECK(gate.wait_until_ready(0.5));  // the two earlier arrivals were given back
    CHECK_FALSE(gate.arrive_and_wait(0.5));  // still closed: times out
    gate.open();
    CHECK(gate.arrive_and_wait(0.5));
}

TEST_CASE("StartGate between threads: released together", "[start_gate][threads]") {
    constexpr int kThreads = 3;
    wb::StartGate gate(kThreads);
    std::atomic<int> passed{0};
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&] {
            gate.arrive_and_wait();
            passed.fetch_add(1);
        });
    }
    gate.wait_until_ready();
    CHECK(passed.load() == 0);
    gate.open();
    threads.clear();  // joins
    CHECK(passed.load() == kThreads);
}

TEST_CASE("StartGate::hand_over / adopt: a party that maps the gate again", "[start_gate][process]") {
    wb::test::Children children;
    wb::StartGate gate(1);
    const std::string text = gate.hand_over();
    const pid_t pid = children.fork([&] {
        // What a spawned child does with the text from its argument list.
        wb::StartGate adopted = wb::StartGate::adopt(text);
        CHECK_NOTHROW(adopted.parties());
        return adopted.arrive_and_wait(1000.0) ? 0 : 1;
    });
    REQUIRE(gate.wait_until_ready(1000.0));
    gate.open();
    const auto status = children.wait(pid);
    REQUIRE(status.has_value());
    CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("StartGate misuse", "[start_gate][errors]") {
    CHECK_THROWS_AS(wb::StartGate(0), std::invalid_argument);
    CHECK_THROWS_AS(wb::StartGate::adopt("12"), std::invalid_argument);
    CHECK_THROWS_AS(wb::StartGate::adopt("a,b"), std::invalid_argument);
}
