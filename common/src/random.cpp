#include "wb/random.hpp"

namespace wb {
namespace {
std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

std::uint64_t g_seed = 1;
std::uint64_t g_stream_index = 0;
Random g_rng{1, 0};
}  // namespace

Random::Random(std::uint64_t seed, std::uint64_t stream) noexcept {
    std::uint64_t a = seed;
    std::uint64_t b = stream ^ 0xD1B54A32D192ED03ULL;
    state_ = splitmix64(a) ^ (splitmix64(b) * 0xFF51AFD7ED558CCDULL);
}

std::uint64_t Random::next() noexcept { return splitmix64(state_); }

std::int64_t Random::uniform_int(std::int64_t lo, std::int64_t hi) noexcept {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    if (span == 0) return static_cast<std::int64_t>(next());  // the whole 64-bit range
    // 2^64 mod span values would make the low residues more likely: reject the lowest ones.
    const std::uint64_t threshold = (0 - span) % span;
    for (;;) {
        const std::uint64_t v = next();
        if (v >= threshold) return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + v % span);
    }
}

double Random::uniform_real() noexcept {
    return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

void set_seed(std::uint64_t seed) noexcept {
    g_seed = seed;
    g_rng = Random(g_seed, g_stream_index);
}

std::uint64_t seed() noexcept { return g_seed; }

Random random_stream(std::uint64_t index) noexcept { return Random(g_seed, index); }

Random& rng() noexcept { return g_rng; }

void reset_rng(std::uint64_t index) noexcept {
    g_stream_index = index;
    g_rng = Random(g_seed, index);
}

}  // namespace wb
