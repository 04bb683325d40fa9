// Unit tests of wb/clock.hpp: the scaled clock.
//
// Logical time is checked exactly, by bracketing: a value computed from CLOCK_MONOTONIC between two
// readings taken before and after must lie between the values those readings give. Real sleeps are
// checked from below exactly (a sleep is never shorter than asked) and from above only as a ratio
// with generous slack, on the median of several samples.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "wb/clock.hpp"

namespace clk = wb::clock;

namespace {

// Restores the process-wide scale and epoch when a test ends, whatever it set.
struct ClockGuard {
    double scale = clk::time_scale();
    std::int64_t epoch = clk::epoch();
    ~ClockGuard() {
        clk::set_time_scale(scale);
        clk::set_epoch(epoch);
    }
};

// Real nanoseconds one call of `f` takes.
template <typename F>
std::int64_t real_ns(F&& f) {
    const std::int64_t start = clk::monotonic_ns();
    f();
    return clk::monotonic_ns() - start;
}

std::int64_t median(std::vector<std::int64_t> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::int64_t to_ns(const timespec& ts) { return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }

}  // namespace

TEST_CASE("set_time_scale accepts values within its bounds and rejects the rest", "[clock]") {
    ClockGuard guard;
    clk::set_time_scale(0.25);
    CHECK(clk::time_scale() == 0.25);
    clk::set_time_scale(clk::min_time_scale);
    CHECK(clk::time_scale() == clk::min_time_scale);
    clk::set_time_scale(clk::max_time_scale);
    CHECK(clk::time_scale() == clk::max_time_scale);
    clk::set_time_scale(0.5);

    for (const double bad : {0.0, -0.0, -1.0, -1e-9, 1e-6, 0.000999, 1000.5, 1e10, 1e308,
                             std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
        INFO("scale " << bad);
        CHECK_THROWS_AS(clk::set_time_scale(bad), std::invalid_argument);
        CHECK(clk::time_scale() == 0.5);  // a rejected value changes nothing
    }
    CHECK_THROWS_WITH(clk::set_time_scale(0.0), Catch::Contains("time scale"));
}

TEST_CASE("to_real and to_logical convert by the time scale and round-trip", "[clock]") {
    ClockGuard guard;
    clk::set_time_scale(0.02);
    CHECK(clk::to_real(1.0) == std::chrono::milliseconds(20));
    CHECK(clk::to_real(2.5) == std::chrono::milliseconds(50));
    CHECK(clk::to_logical(std::chrono::milliseconds(20)) == Approx(1.0));
    // Zero, negative and NaN durations are no time at all.
    CHECK(clk::to_real(0.0).count() == 0);
    CHECK(clk::to_real(-3.0).count() == 0);
    CHECK(clk::to_real(std::numeric_limits<double>::quiet_NaN()).count() == 0);

    for (const double scale : {1.0, 0.5, 0.01, 0.001, 3.0, 1000.0}) {
        clk::set_time_scale(scale);
        for (const double logical : {0.001, 0.5, 1.0, 2.0, 7.25, 3600.0}) {
            INFO("scale " << scale << ", logical " << logical);
            // to_real rounds to a whole nanosecond: the round trip is exact to half a real ns.
            const double back = clk::to_logical(clk::to_real(logical));
            CHECK(std::abs(back - logical) <= 0.5e-9 / scale + 1e-12 * logical);
        }
        for (const std::int64_t ns : {1LL, 999LL, 20'000'000LL, 3'000'000'000LL}) {
            INFO("scale " << scale << ", real ns " << ns);
            const auto back = clk::to_real(clk::to_logical(std::chrono::nanoseconds(ns)));
            CHECK(std::llabs(back.count() - ns) <= 1);
        }
    }
}

TEST_CASE("to_real saturates: no duration overflows into zero or into forever", "[clock]") {
    // One rule for every conversion from logical to real time: within [0, max_real]. A huge
    // duration at the largest scale must neither wrap to a negative (= no wait) nor overflow the
    // int64 of a deadline (= a wait in the past, or undefined behaviour).
    ClockGuard guard;
    clk::set_time_scale(clk::max_time_scale);
    for (const double huge : {1e9, 1e15, 1e300, std::numeric_limits<double>::max(),
                              std::numeric_limits<double>::infinity()}) {
        INFO("logical " << huge);
        CHECK(clk::to_real(huge) == clk::max_real);
        const timespec d = clk::deadline(huge);
        CHECK(to_ns(d) > clk::monotonic_ns());  // in the future, not wrapped into the past
        CHECK(to_ns(d) - clk::monotonic_ns() <= clk::max_real.count());
    }
    CHECK(clk::to_real(-std::numeric_limits<double>::infinity()).count() == 0);
    // Just below the limit the conversion is still exact to the nanosecond.
    clk::set_time_scale(1.0);
    CHECK(clk::to_real(1e6) == std::chrono::seconds(1'000'000));
}

TEST_CASE("time_left: from now to an absolute deadline, never negative", "[clock]") {
    ClockGuard guard;
    clk::set_time_scale(1.0);
    const timespec in_an_hour = clk::deadline(3600);
    const timespec left = clk::time_left(in_an_hour);
    CHECK(left.tv_sec >= 3598);
    CHECK(left.tv_sec <= 3600);
    CHECK(left.tv_nsec >= 0);
    CHECK(left.tv_nsec < 1'000'000'000);
    const timespec passed = clk::time_left(timespec{0, 0});
    CHECK(passed.tv_sec == 0);
    CHECK(passed.tv_nsec == 0);
}

TEST_CASE("safety_timeout: the logical time, but never less than the real floor", "[clock]") {
    ClockGuard guard;
    clk::set_time_scale(1.0);
    CHECK(clk::safety_timeout(10, std::chrono::seconds(5)) == 10);  // the logical wait is longer
    clk::set_time_scale(0.01);
    // 10 logical s are 0.1 real s here; the floor of 5 real s is 500 logical s.
    CHECK(clk::safety_timeout(10, std::chrono::seconds(5)) == Approx(500));
    CHECK(clk::to_real(clk::safety_timeout(10, std::chrono::seconds(5))) == std::chrono::seconds(5));
    CHECK(clk::safety_timeout(std::numeric_limits<double>::quiet_NaN(), std::chrono::seconds(1)) == Approx(100));
}

TEST_CASE("now() is logical time since the epoch, and never goes back", "[clock]") {
    ClockGuard guard;
    for (const double scale : {1.0, 0.01, 4.0}) {
        clk::set_time_scale(scale);
        // An epoch 3 real seconds ago: now() is 3 / scale logical seconds and a little more.
        clk::set_epoch(clk::monotonic_ns() - 3'000'000'000LL);
        const std::int64_t before = clk::monotonic_ns();
        const double now = clk::now();
        const std::int64_t after = clk::monotonic_ns();
        INFO("scale " << scale);
        CHECK(now >= static_cast<double>(before - clk::epoch()) / 1e9 / scale);
        CHECK(now <= static_cast<double>(after - clk::epoch()) / 1e9 / scale);
        CHECK(now >= 3.0 / scale);
    }

    clk::set_time_scale(0.01);
    clk::reset_epoch();
    double last = clk::now();
    CHECK(last >= 0.0);
    int went_back = 0;
    for (int i = 0; i < 100000; ++i) {
        const double t = clk::now();
        went_back += t < last;
        last = t;
    }
    CHECK(went_back == 0);
}

TEST_CASE("reset_epoch and set_epoch move logical time 0", "[clock]") {
    ClockGuard guard;
    clk::set_time_scale(1.0);
    const std::int64_t before = clk::monotonic_ns();
    clk::reset_epoch();
    const std::int64_t after = clk::monotonic_ns();
    CHECK(clk::epoch() >= before);
    CHECK(clk::epoch() <= after);
    clk::set_epoch(12345);
    CHECK(clk::epoch() == 12345);
}

TEST_CASE("deadline() is now plus the scaled duration on CLOCK_MONOTONIC", "[clock]") {
    ClockGuard guard;
    clk::set_time_scale(0.01);
    for (const double logical : {0.0, -1.0, 0.5, 2.0, 150.0}) {
        const std::int64_t before = clk::monotonic_ns();
        const timespec d = clk::deadline(logical);
        const std::int64_t after = clk::monotonic_ns();
        INFO("logical " << logical);
        CHECK(d.tv_nsec >= 0);
        CHECK(d.tv_nsec < 1'000'000'000);
        const std::int64_t real = clk::to_real(logical).count();
        CHECK(to_ns(d) >= before + real);
        CHECK(to_ns(d) <= after + real);
    }
}

TEST_CASE("Stopwatch measures logical time", "[clock]") {
    ClockGuard guard;
    clk::set_time_scale(0.5);
    const std::int64_t before = clk::monotonic_ns();
    clk::Stopwatch watch;
    const std::int64_t inside = clk::monotonic_ns();
    clk::sleep(0.01);  // 5 ms real
    const std::int64_t read_before = clk::monotonic_ns();
    const double elapsed = watch.elapsed();
    const std::int64_t read_after = clk::monotonic_ns();
    // The watch started between `before` and `inside` and was read between the two reads.
    CHECK(elapsed >= static_cast<double>(read_before - inside) / 1e9 / 0.5);
    CHECK(elapsed <= static_cast<double>(read_after - before) / 1e9 / 0.5);
    CHECK(elapsed >= 0.01);

    const std::int64_t restart_before = clk::monotonic_ns();
    watch.restart();
    const double again = watch.elapsed();
    const std::int64_t restart_after = clk::monotonic_ns();
    CHECK(again >= 0.0);
    CHECK(again <= static_cast<double>(restart_after - restart_before) / 1e9 / 0.5);
}

TEST_CASE("sleep() lasts the scaled duration: never less, and not much more", "[clock][timing]") {
    ClockGuard guard;
    constexpr int kSamples = 7;
    for (const double scale : {0.02, 0.05}) {
        clk::set_time_scale(scale);
        const std::int64_t expected = clk::to_real(1.0).count();  // 20 ms, then 50 ms
        std::vector<std::int64_t> samples;
        for (int i = 0; i < kSamples; ++i) samples.push_back(real_ns([] { clk::sleep(1.0); }));
        INFO("scale " << scale << ", expected " << expected << " ns, median " << median(samples) << " ns");
        // The lower bound is a guarantee (an absolute CLOCK_MONOTONIC deadline), so every sample.
        for (const auto s : samples) CHECK(s >= expected);
        // The upper bound is the machine's business: only the median, with a wide margin.
        CHECK(static_cast<double>(median(samples)) <= 3.0 * static_cast<double>(expected));
    }

    // Three times the logical duration takes about three times the real time (a ratio, not a
    // wall-clock bound; the slack absorbs a scheduling delay of up to a sleep's own length).
    clk::set_time_scale(0.02);
    std::vector<std::int64_t> one, three;
    for (int i = 0; i < kSamples; ++i) {
        one.push_back(real_ns([] { clk::sleep(1.0); }));
        three.push_back(real_ns([] { clk::sleep(3.0); }));
    }
    const double ratio = static_cast<double>(median(three)) / static_cast<double>(median(one));
    INFO("median 3 s / median 1 s = " << ratio);
    CHECK(ratio >= 1.5);
    CHECK(ratio <= 4.0);
}

TEST_CASE("sleep() of zero, negative or NaN logical seconds returns at once", "[clock][timing]") {
    ClockGuard guard;
    clk::set_time_scale(0.05);  // a 1 s sleep would take 50 ms real
    const std::int64_t one_second = clk::to_real(1.0).count();
    std::vector<std::int64_t> samples;
    for (int i = 0; i < 5; ++i) {
        samples.push_back(real_ns([] {
            clk::sleep(0.0);
            clk::sleep(-2.0);
            clk::sleep(std::numeric_limits<double>::quiet_NaN());
        }));
    }
    CHECK(median(samples) < one_second / 10);
}

namespace {
std::atomic<int> g_signals{0};
extern "C" void count_signal(int) { g_signals.fetch_add(1); }
}  // namespace

TEST_CASE("sleep() resumes after a signal handler interrupts it", "[clock][signals]") {
    ClockGuard guard;
    // A handler installed without SA_RESTART: clock_nanosleep returns EINTR each time it runs.
    struct sigaction sa {}, old {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    REQUIRE(::sigaction(SIGUSR1, &sa, &old) == 0);

    clk::set_time_scale(0.05);
    const std::int64_t expected = clk::to_real(1.0).count();  // 50 ms
    const pthread_t sleeper = ::pthread_self();
    std::atomic<bool> done{false};
    // Signals the sleeping thread every 0.2 ms until the test is over.
    std::thread interrupter([&] {
        while (!done.load()) {
            ::pthread_kill(sleeper, SIGUSR1);
            const timespec pause{0, 200'000};
            ::nanosleep(&pause, nullptr);
        }
    });
    // Keep sleeping until one sleep was in fact interrupted (normally the first); each one must
    // still have lasted its whole duration.
    int interrupted_sleeps = 0;
    for (int attempt = 0; attempt < 20 && interrupted_sleeps == 0; ++attempt) {
        const int before = g_signals.load();
        const std::int64_t took = real_ns([] { clk::sleep(1.0); });
        const int during = g_signals.load() - before;
        INFO("attempt " << attempt << ": " << during << " signal(s), " << took << " ns");
        CHECK(took >= expected);
        if (during > 0) ++interrupted_sleeps;
    }
    done.store(true);
    interrupter.join();
    ::sigaction(SIGUSR1, &old, nullptr);
    CHECK(interrupted_sleeps == 1);
}
