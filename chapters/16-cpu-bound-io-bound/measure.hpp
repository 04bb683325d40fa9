// Chapter 16's measuring: how long two counts took, and how many CPUs they kept busy meanwhile.
// main.cpp's demos count; this file times them and reports the result as a count.total event.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "wb/output.hpp"

namespace ch16 {

// What one way of running the two counts measured.
struct Measured {
    double wall = 0;  // logical seconds, start to end
    double cpu = 0;   // logical seconds of CPU used by the two counts together
};

// The CPU time (user + system) of every child reaped so far, in logical seconds: the processes'
// share is the difference across a run.
[[nodiscard]] double cpu_of_children();

// Runs `count` twice, each time in its own wb::Thread, and measures the wall time and the CPU
// time the two threads used (their own CPU clocks). `serially`: start+join one at a time (the
// seed's first program); otherwise both start, then both are joined.
[[nodiscard]] Measured in_two_threads(bool serially, const std::function<void()>& count);

// Reports one way (count.total): the total, the CPUs busy on average (CPU time / wall time) and,
// against the serial baseline when there is one, how many times as fast it was. `count` is the
// seed's count, `steps` what this run really counted (the count times the time scale).
void report(const std::string& mode, std::uint64_t count, std::uint64_t steps, const Measured& m,
            const Measured* serial, wb::Json extra = wb::Json::object());

}  // namespace ch16
