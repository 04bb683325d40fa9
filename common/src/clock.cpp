#include "wb/clock.hpp"

#include <cerrno>
#include <cmath>
#include <stdexcept>
#include <string>

#include <fmt/core.h>

#include "wb/error.hpp"

namespace wb::clock {
namespace {
double g_scale = 1.0;
std::int64_t g_epoch_ns = monotonic_ns();
}  // namespace

void set_time_scale(double scale) {
    if (!std::isfinite(scale) || scale < min_time_scale || scale > max_time_scale) {
        throw std::invalid_argument(fmt::format("time scale must be between {} and {}, got {}", min_time_scale,
                                                max_time_scale, scale));
    }
    g_scale = scale;
}

double time_scale() noexcept { return g_scale; }

void set_epoch(std::int64_t monotonic) noexcept { g_epoch_ns = monotonic; }
std::int64_t epoch() noexcept { return g_epoch_ns; }
void reset_epoch() noexcept { g_epoch_ns = monotonic_ns(); }

std::int64_t monotonic_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);  // cannot fail for CLOCK_MONOTONIC with a valid pointer
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double now() noexcept {
    return static_cast<double>(monotonic_ns() - g_epoch_ns) / 1e9 / g_scale;
}

std::chrono::nanoseconds to_real(double logical_seconds) noexcept {
    // NaN and negatives compare false here; the comparison in double happens before any
    // conversion to an integer, so neither the multiplication nor the cast can overflow.
    if (!(logical_seconds > 0.0)) return std::chrono::nanoseconds{0};
    const double real_ns = logical_seconds * g_scale * 1e9;
    if (!(real_ns < static_cast<double>(max_real.count()))) return max_real;
    return std::chrono::nanoseconds{std::llround(real_ns)};
}

double to_logical(std::chrono::nanoseconds real) noexcept {
    return static_cast<double>(real.count()) / 1e9 / g_scale;
}

void sleep(double logical_seconds) {
    const auto real = to_real(logical_seconds);
    if (real.count() <= 0) return;
    const std::int64_t until = monotonic_ns() + real.count();
    const timespec ts{static_cast<time_t>(until / 1'000'000'000), static_cast<long>(until % 1'000'000'000)};
    for (;;) {
        const int rc = ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        if (rc == 0) return;
        if (rc != EINTR) throw_errno("clock_nanosleep", rc);
    }
}

timespec deadline(double logical_seconds) noexcept {
    const std::int64_t until = monotonic_ns() + to_real(logical_seconds).count();
    return timespec{static_cast<time_t>(until / 1'000'000'000), static_cast<long>(until % 1'000'000'000)};
}

timespec time_left(const timespec& until) noexcept {
    const std::int64_t end = static_cast<std::int64_t>(until.tv_sec) * 1'000'000'000 + until.tv_nsec;
    std::int64_t left = end - monotonic_ns();
    if (left < 0) left = 0;
    return timespec{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
}

double safety_timeout(double logical_seconds, std::chrono::seconds at_least_real) noexcept {
    const double floor = to_logical(std::chrono::duration_cast<std::chrono::nanoseconds>(at_least_real));
    return logical_seconds > floor ? logical_seconds : floor;  // NaN gives the floor
}

double Stopwatch::elapsed() const noexcept {
    return to_logical(std::chrono::nanoseconds{monotonic_ns() - start_ns_});
}

}  // namespace wb::clock
