// wb/clock.hpp - the scaled clock every sleep and timeout of the workbook goes through.
//
// What it is
//   The seeds sleep for "2 seconds" to make concurrency visible. Checking forty programs at that
//   pace would take hours, so every wait in the workbook is written in *logical* seconds and
//   turned into real time by one factor, the time scale:
//
//       real duration = logical duration x time_scale
//
//   time_scale 1.0 is the pace of the original tutorials; the tests use about 0.01 (a "2 s" rest
//   lasts 20 ms). What is printed is always logical ("rests 2 s", "t=3.01"), so the output reads
//   the same at any scale.
//
// State
//   Two process-wide values, set once by the chapter driver before any child starts and inherited
//   by children (fork copies them; spawn passes them in the environment):
//     - the time scale (default 1.0, from --time-scale or the WORKBOOK_TIME_SCALE variable);
//     - the epoch, a CLOCK_MONOTONIC instant. CLOCK_MONOTONIC is one clock for the whole machine,
//       so logical times printed by different processes are comparable.
//
// Guarantees
//   - sleep(s) sleeps at least s x scale of real time (it resumes after signals until done).
//   - deadline(s) gives an absolute CLOCK_MONOTONIC time for the pthread/semaphore *clockwait
//     calls, so timed waits on shared primitives scale the same way.
//   - now() is non-decreasing within a process.
//   - One saturating rule turns logical into real time, and every sleep, deadline and timeout
//     goes through it (to_real): a duration that is NaN or <= 0 is zero, and one whose real
//     length would exceed max_real() (about 31 years) is max_real(). Nothing overflows, so no
//     wait silently becomes "now" or "forever" by accident.
// Errors
//   set_time_scale rejects values that are not finite or outside [min_time_scale,
//   max_time_scale] (std::invalid_argument). The bounds are what every chapter has been run at:
//   below 0.001 a "2 s" rest lasts 2 ms, less than a fork on a loaded machine, and the demos'
//   own safety timeouts would fire before the processes they wait for have started.
// Thread-safety
//   Every reading function (now, to_real, to_logical, deadline, sleep, Stopwatch) may be called
//   from any number of threads at once. set_time_scale(), set_epoch() and reset_epoch() write the
//   process-wide values unsynchronised: the driver calls them before any thread starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace wb::clock {

// The accepted range of the time scale (--time-scale, WORKBOOK_TIME_SCALE).
inline constexpr double min_time_scale = 0.001;
inline constexpr double max_time_scale = 1000.0;
// The longest real duration to_real() gives: 1e18 ns, about 31 years. Far from INT64_MAX, so
// "now + max_real()" cannot overflow either.
inline constexpr std::chrono::nanoseconds max_real{1'000'000'000'000'000'000};

// The factor between logical and real time, within [min_time_scale, max_time_scale].
void set_time_scale(double scale);
[[nodiscard]] double time_scale() noexcept;

// The instant logical time 0 refers to, as nanoseconds of CLOCK_MONOTONIC.
void set_epoch(std::int64_t monotonic_ns) noexcept;
[[nodiscard]] std::int64_t epoch() noexcept;
// Sets the epoch to the current instant (the driver does this at program start).
void reset_epoch() noexcept;

// Real CLOCK_MONOTONIC time in nanoseconds.
[[nodiscard]] std::int64_t monotonic_ns() noexcept;

// Logical seconds elapsed since the epoch.
[[nodiscard]] double now() noexcept;

// Converts between logical seconds and real durations. to_real is the saturating rule above:
// the result is always within [0, max_real].
[[nodiscard]] std::chrono::nanoseconds to_real(double logical_seconds) noexcept;
[[nodiscard]] double to_logical(std::chrono::nanoseconds real) noexcept;

// Sleeps for a logical duration (<= 0 returns at once). Restarts after EINTR.
void sleep(double logical_seconds);

// The absolute CLOCK_MONOTONIC instant `logical_seconds` from now, for timed waits.
[[nodiscard]] timespec deadline(double logical_seconds) noexcept;

// How long from now until the absolute CLOCK_MONOTONIC instant `deadline` (from deadline()), as a
// relative timespec for ppoll and the like; zero once it has passed.
[[nodiscard]] timespec time_left(const timespec& deadline) noexcept;

// The one rule for safety nets: a wait that only a broken program would exhaust (a child that
// never arrives at a gate) lasts `logical_seconds`, but never less than `at_least_real` of real
// time. At a tiny time scale "10 s" would be a few milliseconds, less than a loaded machine needs
// to schedule a freshly forked child, and the net would fire on a healthy run. Returns logical
// seconds, for any timed wait of the library.
[[nodiscard]] double safety_timeout(double logical_seconds, std::chrono::seconds at_least_real) noexcept;

// Measures logical time between construction and elapsed(), e.g. the total of a demo.
class Stopwatch {
public:
    Stopwatch() noexcept : start_ns_(monotonic_ns()) {}
    [[nodiscard]] double elapsed() const noexcept;  // logical seconds
    void restart() noexcept { start_ns_ = monotonic_ns(); }

private:
    std::int64_t start_ns_;
};

}  // namespace wb::clock
