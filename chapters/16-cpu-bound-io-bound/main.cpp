// Chapter 16 - CPU-bound vs I/O-bound.
//
// Seed: 003 0x01 (进程 and 线程 and "GIL"). The seed counts to 100,000,000 twice: serially, then
// in two threads, and finds the threads slower ("慢了十几秒"), because CPython's global interpreter
// lock lets only one thread run Python code at a time. C++ has no such lock: two threads count
// at the same time on two CPUs. This chapter measures both - real threads, processes, and
// threads under an emulated GIL (wb/emulated_gil.hpp) - and then an I/O-bound task, which gains
// from threads either way because a thread that waits does not need the CPU (nor the GIL).
//
// Time scale: the counting loop is work, not a sleep, so --time-scale cannot make it faster.
// Instead it scales the COUNT: at --time-scale 0.01 the loop counts to 1,000,000 instead of
// 100,000,000, and printed durations are divided by the scale like every other duration - they
// read as the seed's count would take on this machine.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "measure.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/cpu.hpp"
#include "wb/emulated_gil.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/thread.hpp"

namespace {

using ch16::cpu_of_children;
using ch16::in_two_threads;
using ch16::Measured;

std::uint64_t g_count = 100'000'000;      // --count: the seed's range(100000000)
std::uint64_t g_switch_interval = 100'000;  // --switch-interval, in steps

// The count after the time scale, at least 1.
std::uint64_t scaled_count() {
    const double steps = std::round(static_cast<double>(g_count) * wb::clock::time_scale());
    return steps < 1 ? 1 : static_cast<std::uint64_t>(steps);
}

// def my_counter(): i = 0; for _ in range(100000000): i = i + 1; return True
//
// (c1) An optimising compiler sees that the loop only computes i = n, and replaces it by that
// result: no counting at all (the "optimizer" demo measures it). The empty asm statement tells
// the compiler that it reads and changes i in a register, so every i = i + 1 has to happen, in
// order; it emits no instruction itself. (Google Benchmark's DoNotOptimize is the same trick.)
std::uint64_t my_counter(std::uint64_t n) {
    std::uint64_t i = 0;
    for (std::uint64_t k = 0; k < n; ++k) {
        i = i + 1;
        asm volatile("" : "+r"(i));  // (c1)
    }
    return i;
}

// The same loop as Python code under the GIL: every step may be a switch point.
std::uint64_t my_counter_under_gil(std::uint64_t n, wb::EmulatedGil& gil) {
    wb::EmulatedGil::Holder held(gil);  // running Python code needs the GIL
    std::uint64_t i = 0;
    for (std::uint64_t k = 0; k < n; ++k) {
        i = i + 1;
        asm volatile("" : "+r"(i));  // (c1)
        held.step();                 // (c2) every switch_interval steps, let a waiting thread run
    }
    return i;
}

// The plain loop, which the compiler may delete.
std::uint64_t my_counter_plain(std::uint64_t n) {
    std::uint64_t i = 0;
    for (std::uint64_t k = 0; k < n; ++k) i = i + 1;
    return i;
}

// Reports one way of counting (measure.hpp), with the count and the scaled steps of this run.
void report(const std::string& mode, const Measured& m, const Measured* serial, wb::Json extra = wb::Json::object()) {
    ch16::report(mode, g_count, scaled_count(), m, serial, std::move(extra));
}

// Demo 1 - the counting loop twice: serially, in two threads, in two processes.
void demo_cpu_bound() {
    const std::uint64_t n = scaled_count();
    const Measured serial = in_two_threads(true, [n] { (void)my_counter(n); });
    report("serial", serial, nullptr);
    // Both threads count at once. In C++ nothing stops them running on two CPUs at the same time.
    const Measured threads = in_two_threads(false, [n] { (void)my_counter(n); });
    report("threads", threads, &serial);
    // The seed's remedy for CPU-bound work: processes, each with its own interpreter and GIL. The
    // time includes fork() and exit; the CPU time is what the two children used.
    const double cpu_before = cpu_of_children();
    const wb::clock::Stopwatch watch;
    wb::Process a([n] { (void)my_counter(n); });
    wb::Process b([n] { (void)my_counter(n); });
    a.start();
    b.start();
    a.join();
    b.join();
    const Measured processes{watch.elapsed(), cpu_of_children() - cpu_before};
    report("processes", processes, &serial);
    wb::note("In C++ two threads count as fast as two processes: both use two CPUs at once (when the\n"
             "machine has two free). The seed's Python threads could not - next demo.");
}

// Demo 2 - the same with an emulated global interpreter lock.
void demo_emulated_gil() {
    const std::uint64_t n = scaled_count();
    wb::emit("gil", {{"switch_interval", g_switch_interval}},
             wb::from_fields("an emulated GIL: the holder hands it over every {switch_interval} steps if another "
                             "thread waits"));
    wb::EmulatedGil serial_gil(g_switch_interval);
    const Measured serial = in_two_threads(true, [n, &serial_gil] { (void)my_counter_under_gil(n, serial_gil); });
    report("serial under the GIL", serial, nullptr, {{"switches", serial_gil.switches()}});
    wb::EmulatedGil gil(g_switch_interval);
    const Measured threads = in_two_threads(false, [n, &gil] { (void)my_counter_under_gil(n, gil); });
    report("threads under the GIL", threads, &serial, {{"switches", gil.switches()}});
    wb::note("The two threads took turns: never more than one CPU busy, so no faster than serial - and\n"
             "every hand-over (a wake-up of the other thread) costs a little on top. That is the seed's\n"
             "result; CPython 3's 5 ms switch interval keeps that cost small, Python 2's 100-tick one did not.");
}

// Demo 3 - an I/O-bound task: waiting, not computing. Four requests of 0.5 s each, twice.
constexpr int kPages = 4;
constexpr double kPageWait = 0.5;

void fetch_pages(const std::string& who, wb::EmulatedGil* gil) {
    for (int page = 1; page <= kPages; ++page) {
        // A blocking call: CPython releases the GIL around it, and so does the emulation.
        if (gil != nullptr) {
            wb::EmulatedGil::Holder held(*gil);
            held.released([] { wb::clock::sleep(kPageWait); });
        } else {
            wb::clock::sleep(kPageWait);
        }
        wb::emit("io.page", {{"who", who}, {"page", page}}, wb::from_fields("{who} got page {page}"));
    }
}

Measured io_twice(bool serially, wb::EmulatedGil* gil) {
    wb::Thread a(fetch_pages, std::string("fetcher-1"), gil);
    wb::Thread b(fetch_pages, std::string("fetcher-2"), gil);
    a.set_name("fetcher-1");
    b.set_name("fetcher-2");
    const wb::clock::Stopwatch watch;
    a.start();
    if (serially) a.join();
    b.start();
    a.join();
    b.join();
    return Measured{watch.elapsed(), 0};
}

void report_io(const std::string& mode, const Measured& m, const Measured* serial) {
    wb::Json fields = {{"mode", mode}, {"seconds", m.wall}, {"pages", kPages},
                       {"waits", 2 * kPages}, {"wait", kPageWait}};
    if (serial != nullptr) fields["speedup"] = m.wall > 0 ? serial->wall / m.wall : 0;
    wb::emit("io.total", fields,
             wb::from_fields(serial == nullptr
                                 ? "{mode}: two fetchers of {pages} pages took {seconds:.2f} s"
                                 : "{mode}: two fetchers of {pages} pages took {seconds:.2f} s, {speedup:.2f} x as "
                                   "fast as serial"));
}

void demo_io_bound() {
    const Measured serial = io_twice(true, nullptr);
    report_io("serial", serial, nullptr);
    report_io("threads", io_twice(false, nullptr), &serial);
    wb::EmulatedGil gil(g_switch_interval);
    report_io("threads under the GIL", io_twice(false, &gil), &serial);
    wb::note("Waiting needs no CPU and no GIL: the two fetchers waited at the same time, with or without\n"
             "the lock. Threads suit I/O-bound work in Python too; CPU-bound work needs processes there.");
}

// Demo 4 - why the loop has an asm statement (c1).
void demo_optimizer() {
    const std::uint64_t n = scaled_count();
    const wb::clock::Stopwatch plain_watch;
    const std::uint64_t plain = my_counter_plain(n);
    const double plain_took = plain_watch.elapsed();
    // The line reads i at the seed's scale: the logical count if the loop made all its steps.
    wb::emit("loop.plain", {{"i", plain}, {"i_logical", plain == n ? g_count : 0}, {"seconds", plain_took}},
             wb::from_fields("plain loop: i = {i_logical} after {seconds:.2f} s"));
    const wb::clock::Stopwatch kept_watch;
    const std::uint64_t kept = my_counter(n);
    const double kept_took = kept_watch.elapsed();
    wb::emit("loop.kept", {{"i", kept}, {"i_logical", kept == n ? g_count : 0}, {"seconds", kept_took}},
             wb::from_fields("loop with the asm barrier: i = {i_logical} after {seconds:.2f} s"));
    wb::note("Optimised (meson's default build, -O2), the plain loop takes no time: the compiler proved\n"
             "that it only computes i = n and wrote that down instead. A benchmark of it measures nothing.\n"
             "The empty asm statement (c1) makes every step real; a debug build (-O0) counts both.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "16-cpu-bound-io-bound",
        .title = "CPU-bound vs I/O-bound",
        .description = "The seed's counting loop twice: serially, in two threads, in two processes; C++ threads\n"
                       "run in parallel. An emulated GIL (turns on one mutex every N steps) brings back\n"
                       "Python's result. An I/O-bound task gains from threads either way. The count is\n"
                       "scaled by --time-scale (100000000 x scale steps); printed times are logical.",
        .demos = {
            {"cpu-bound", "count twice: serially, in two threads, in two processes", demo_cpu_bound},
            {"emulated-gil", "the same two threads under an emulated GIL", demo_emulated_gil},
            {"io-bound", "an I/O-bound task: threads help, GIL or not", demo_io_bound},
            {"optimizer", "why the counting loop needs an asm barrier", demo_optimizer},
        },
        .options = {
            {"count", "N", "count to N in each task (default 100000000, the seed's), before the time scale",
             [](std::string_view v) { g_count = static_cast<std::uint64_t>(wb::parse_int(v, "--count", 1, 10'000'000'000)); }},
            {"switch-interval", "N", "steps between the emulated GIL's hand-overs (default 100000)",
             [](std::string_view v) {
                 g_switch_interval = static_cast<std::uint64_t>(wb::parse_int(v, "--switch-interval", 1, 1'000'000'000'000));
             }},
        },
    });
}
