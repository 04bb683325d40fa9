#include "wb/cpu.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "wb/clock.hpp"
#include "wb/error.hpp"

namespace wb {
namespace {
// Per thread: threads that count at the same time (chapter 16) must not share a variable they
// all write (a data race even when volatile).
thread_local volatile std::uint64_t t_sink = 88172645463325252ULL;
// Steps per CPU second; 0 until calibrated. Atomic: threads may calibrate at the same time (they
// then measure twice and one of the measurements stays).
std::atomic<double> g_rate{0};
}  // namespace

std::chrono::nanoseconds thread_cpu_time() {
    timespec ts{};
    check(::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts), "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

long involuntary_switches() {
    rusage usage{};
    check(::getrusage(RUSAGE_THREAD, &usage), "getrusage(RUSAGE_THREAD)");
    return usage.ru_nivcsw;
}

std::uint64_t burn_steps(std::uint64_t steps) {
    std::uint64_t x = t_sink | 1;
    for (std::uint64_t i = 0; i < steps; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    t_sink = x;
    return x;
}

double steps_per_cpu_second() {
    if (const double known = g_rate.load(); known > 0) return known;
    constexpr std::uint64_t kBatch = 1 << 16;
    constexpr std::chrono::nanoseconds kMeasure = std::chrono::milliseconds(50);
    std::uint64_t steps = 0;
    const auto start = thread_cpu_time();
    std::chrono::nanoseconds used{0};
    while (used < kMeasure) {
        burn_steps(kBatch);
        steps += kBatch;
        used = thread_cpu_time() - start;
    }
    const double rate = static_cast<double>(steps) / std::chrono::duration<double>(used).count();
    g_rate.store(rate);
    return rate;
}

bool cpu_calibrated() noexcept { return g_rate.load() > 0; }

void burn_cpu(double logical_seconds) {
    if (logical_seconds <= 0) return;
    burn_steps(static_cast<std::uint64_t>(steps_per_cpu_second() * logical_seconds * clock::time_scale()));
}

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    check(::sched_getaffinity(0, sizeof set, &set), "sched_getaffinity");
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    return cpus;
}

void pin_to_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) throw std::invalid_argument("pin_to_cpu: no CPU " + std::to_string(cpu));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    check(::sched_setaffinity(0, sizeof set, &set), "sched_setaffinity");
}

int current_cpu() { return check(::sched_getcpu(), "sched_getcpu"); }

}  // namespace wb
