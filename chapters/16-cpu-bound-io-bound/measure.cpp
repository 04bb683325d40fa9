// Chapter 16's measuring; see measure.hpp.
#include "measure.hpp"

#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include "wb/clock.hpp"
#include "wb/cpu.hpp"
#include "wb/error.hpp"
#include "wb/thread.hpp"

namespace ch16 {

double cpu_of_children() {
    rusage usage{};
    wb::check(::getrusage(RUSAGE_CHILDREN, &usage), "getrusage(RUSAGE_CHILDREN)");
    const auto us = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e6 + static_cast<double>(tv.tv_usec); };
    return wb::clock::to_logical(std::chrono::nanoseconds(std::llround((us(usage.ru_utime) + us(usage.ru_stime)) * 1e3)));
}

Measured in_two_threads(bool serially, const std::function<void()>& count) {
    std::array<double, 2> cpu{};
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (std::size_t t = 0; t < 2; ++t) {
        threads.push_back(std::make_unique<wb::Thread>([&cpu, t, &count] {
            const auto before = wb::thread_cpu_time();
            count();
            cpu[t] = wb::clock::to_logical(wb::thread_cpu_time() - before);
        }));
    }
    const wb::clock::Stopwatch watch;
    if (serially) {
        for (auto& t : threads) {
            t->start();
            t->join();
        }
    } else {
        for (auto& t : threads) t->start();
        for (auto& t : threads) t->join();
    }
    return Measured{watch.elapsed(), cpu[0] + cpu[1]};
}

void report(const std::string& mode, std::uint64_t count, std::uint64_t steps, const Measured& m,
            const Measured* serial, wb::Json extra) {
    const double busy = m.wall > 0 ? m.cpu / m.wall : 0;
    wb::Json fields = {{"mode", mode}, {"count", count}, {"steps", steps}, {"seconds", m.wall},
                       {"cpu_seconds", m.cpu}, {"busy_cpus", busy}, {"cpus_allowed", wb::allowed_cpus().size()}};
    fields.update(extra);
    if (serial != nullptr) fields["speedup"] = m.wall > 0 ? serial->wall / m.wall : 0;
    wb::emit("count.total", fields,
             wb::from_fields(serial == nullptr
                                 ? "{mode}: two counts to {count} took {seconds:.2f} s; on average {busy_cpus:.2f} "
                                   "CPUs were busy"
                                 : "{mode}: two counts to {count} took {seconds:.2f} s; on average {busy_cpus:.2f} "
                                   "CPUs were busy, {speedup:.2f} x as fast as serial"));
}

}  // namespace ch16
