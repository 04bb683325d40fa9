// Unit tests of wb/cpu.hpp: the calibrated loop burns about the CPU time asked for; pinning.
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "../sync/process_test_support.hpp"
#include "wb/clock.hpp"
#include "wb/cpu.hpp"

TEST_CASE("burn_cpu(s) uses about s x time_scale of the thread's CPU time", "[cpu]") {
    CHECK(wb::steps_per_cpu_second() > 1e6);  // any machine of this century
    CHECK(wb::cpu_calibrated());
    const double wanted = 2.0;  // 20 ms of real CPU at the test scale
    // A ratio, with slack for frequency changes and a loaded machine; the best of three runs.
    double best = 1e9;
    for (int attempt = 0; attempt < 3; ++attempt) {
        const auto before = wb::thread_cpu_time();
        wb::burn_cpu(wanted);
        const double used = wb::clock::to_logical(wb::thread_cpu_time() - before);
        best = std::min(best, std::abs(used / wanted - 1.0));
    }
    CHECK(best < 0.5);
    const auto t = wb::thread_cpu_time();
    wb::burn_cpu(0);
    wb::burn_cpu(-1);
    CHECK(wb::thread_cpu_time() - t < std::chrono::milliseconds(5));
    CHECK(wb::involuntary_switches() >= 0);
}

TEST_CASE("burn_steps depends on every step (different counts, different results)", "[cpu]") {
    CHECK(wb::burn_steps(1000) != wb::burn_steps(1001));
}

TEST_CASE("pin_to_cpu: the process runs only on that CPU afterwards", "[cpu][process]") {
    const auto cpus = wb::allowed_cpus();
    REQUIRE_FALSE(cpus.empty());
    wb::test::Children children;
    const int target = cpus.back();
    const pid_t pid = children.fork([&] {
        wb::pin_to_cpu(target);
        if (wb::allowed_cpus() != std::vector<int>{target}) return 1;
        for (int i = 0; i < 20; ++i) {
            wb::burn_steps(10000);
            if (wb::current_cpu() != target) return 2;
        }
        return 0;
    });
    const auto status = children.wait(pid);
    REQUIRE(status.has_value());
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(wb::allowed_cpus() == cpus);  // the parent is not affected
    CHECK_THROWS_AS(wb::pin_to_cpu(-1), std::invalid_argument);
}

TEST_CASE("threads burn CPU at the same time, each on its own clock", "[cpu][threads]") {
    std::atomic<int> done{0};
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 2; ++i) {
            threads.emplace_back([&] {
                const auto before = wb::thread_cpu_time();
                wb::burn_cpu(1.0);
                if (wb::thread_cpu_time() > before) done.fetch_add(1);
            });
        }
    }
    CHECK(done.load() == 2);
}
