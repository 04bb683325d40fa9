// wb/random.hpp - seeded random streams whose values do not depend on scheduling.
//
// What it is
//   Every random choice of a chapter (how long a child rests, when a car arrives) comes from a
//   Random stream. A stream is identified by (seed, stream index): the program's --seed and, in a
//   child process, the child's index (Process-3 draws from stream 3, the main process from
//   stream 0). Because a child's numbers depend only on those two values, a run with the same
//   seed prints the same rests whatever order the kernel runs the children in.
//
// Algorithm
//   SplitMix64 (Steele, Lea, Flood 2014) seeded with a mix of seed and index; integers in a range
//   by rejection sampling, so there is no modulo bias. It is specified here rather than taken from
//   <random>, whose distributions may differ between standard libraries: output samples in the
//   chapter READMEs must be reproducible anywhere.
//
// Guarantees
//   Same (seed, index) -> same sequence, on every platform. Not for cryptography.
// Thread-safety
//   A Random object is not synchronised: one thread per object. rng() is the PROCESS's stream, one
//   object: calling it from several threads at once is a data race (and would make the values
//   depend on scheduling anyway). A thread draws from its own stream instead -
//   `wb::Random mine = wb::random_stream(index)` with an index of its own - so its numbers depend
//   on (seed, index) only. set_seed() and reset_rng() are for the driver and Process, before any
//   thread starts.
#pragma once

#include <cstdint>

namespace wb {

class Random {
public:
    Random(std::uint64_t seed, std::uint64_t stream) noexcept;

    // The next raw 64-bit value.
    [[nodiscard]] std::uint64_t next() noexcept;
    // An integer in [lo, hi], both ends included (like Python's random.randint). Requires lo <= hi.
    [[nodiscard]] std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) noexcept;
    // A double in [0, 1).
    [[nodiscard]] double uniform_real() noexcept;

private:
    std::uint64_t state_;
};

// The program's seed (--seed, default 1). Set by the chapter driver; children inherit it.
void set_seed(std::uint64_t seed) noexcept;
[[nodiscard]] std::uint64_t seed() noexcept;

// A fresh stream for (seed(), index).
[[nodiscard]] Random random_stream(std::uint64_t index) noexcept;

// The calling process's own stream: index 0 in the main process, the child's index in a child.
// It is created on first use in each process and keeps its position between calls.
[[nodiscard]] Random& rng() noexcept;
// Used by Process when a child starts: the child's rng() becomes stream `index`.
void reset_rng(std::uint64_t index) noexcept;

}  // namespace wb
