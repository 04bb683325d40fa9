// Benchmarks of the thread queues (wb/thread_queue.hpp, chapter 19), each next to the bare
// equivalent in the same binary, so that the library's cost reads as a ratio of one run:
//
//   thread-queue-throughput   a producer thread puts 8-byte items, the benchmark's thread gets them:
//                             wb::threads::Queue<uint64_t>(1024)  vs  a std::mutex, two
//                             std::condition_variables and a std::deque capped at 1024 - what one
//                             writes by hand (notify_one after unlocking, as the library does)
//   thread-queue-pingpong     one round trip: put to the partner thread, which gets and puts it back:
//                             two wb::threads::Queue<uint64_t>    vs  two of the bare queues
//   thread-queue-throughput/library-lifo, /library-priority: the same with LifoQueue and
//                             PriorityQueue (no bare or Python line: shown under "Also measured")
//
// cpus:2 leaves the two threads to the scheduler (on a 2-core machine: one per core when the
// machine is idle); cpus:1 pins both to one CPU, where they take turns as Python's threads do
// under the GIL: no cache line moves between cores, and a put or get that need not wait is an
// uncontended lock and unlock.
//
// The library's extra work per item is the unfinished-tasks count of task_done/join and the
// maxsize check; the rest is the same mutex, the same condition variables and the same deque.
// Python's peer (bench/python/thread_queue.py) runs queue.Queue through the same workloads.
// Run: meson test -C build --benchmark, or the binary with --benchmark_* flags.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "wb/thread_queue.hpp"

namespace {

constexpr std::size_t kCapacity = 1024;

// The bare queue: the textbook bounded buffer.
class BareQueue {
public:
    explicit BareQueue(std::size_t capacity) : capacity_(capacity) {}
    void put(std::uint64_t v) {
        std::unique_lock lock(mutex_);
        not_full_.wait(lock, [this] { return items_.size() < capacity_; });
        items_.push_back(v);
        lock.unlock();
        not_empty_.notify_one();
    }
    std::uint64_t get() {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [this] { return !items_.empty(); });
        const std::uint64_t v = items_.front();
        items_.pop_front();
        lock.unlock();
        not_full_.notify_one();
        return v;
    }

private:
    std::mutex mutex_;
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::deque<std::uint64_t> items_;
    const std::size_t capacity_;
};

// Pins the calling thread to the first CPU it may use when `cpus` is 1; gives the original
// affinity back when destroyed. Threads started meanwhile inherit the pinning.
class PinToOneCpu {
public:
    explicit PinToOneCpu(int cpus) : active_(cpus == 1) {
        if (!active_) return;
        ::pthread_getaffinity_np(::pthread_self(), sizeof saved_, &saved_);
        cpu_set_t one;
        CPU_ZERO(&one);
        for (int c = 0; c < CPU_SETSIZE; ++c) {
            if (CPU_ISSET(c, &saved_)) {
                CPU_SET(c, &one);
                break;
            }
        }
        ::pthread_setaffinity_np(::pthread_self(), sizeof one, &one);
    }
    ~PinToOneCpu() {
        if (active_) ::pthread_setaffinity_np(::pthread_self(), sizeof saved_, &saved_);
    }
    PinToOneCpu(const PinToOneCpu&) = delete;
    PinToOneCpu& operator=(const PinToOneCpu&) = delete;

private:
    bool active_;
    cpu_set_t saved_{};
};

// One item: one put by the producer thread and one get here. The producer puts exactly as many
// items as the benchmark loop will get (Google Benchmark fixes max_iterations beforehand).
template <typename Q, int Cpus>
void BM_Throughput(benchmark::State& state) {
    const PinToOneCpu pin(Cpus);
    Q queue(kCapacity);
    const auto n = static_cast<std::uint64_t>(state.max_iterations);
    std::jthread producer([&] {
        for (std::uint64_t i = 0; i < n; ++i) queue.put(i);
    });
    std::uint64_t sum = 0;
    for (auto _ : state) sum += queue.get();
    benchmark::DoNotOptimize(sum);
    producer.join();
    if (sum != n * (n - 1) / 2) state.SkipWithError("an item was lost or duplicated");
    state.SetItemsProcessed(state.iterations());
}

// One item: one round trip, put into `ping`, answered by the partner thread through `pong`.
template <typename Q, int Cpus>
void BM_PingPong(benchmark::State& state) {
    const PinToOneCpu pin(Cpus);
    Q ping(kCapacity), pong(kCapacity);
    const auto n = static_cast<std::uint64_t>(state.max_iterations);
    std::jthread partner([&] {
        for (std::uint64_t i = 0; i < n; ++i) pong.put(ping.get() + 1);
    });
    std::uint64_t v = 0;
    for (auto _ : state) {
        ping.put(v);
        v = pong.get();
    }
    partner.join();
    if (v != n) state.SkipWithError("a round trip went wrong");
    state.SetItemsProcessed(state.iterations());
}

void register_benchmarks() {
    using benchmark::RegisterBenchmark;
    using Fifo = wb::threads::Queue<std::uint64_t>;
    using Lifo = wb::threads::LifoQueue<std::uint64_t>;
    using Priority = wb::threads::PriorityQueue<std::uint64_t>;
    RegisterBenchmark("thread-queue-throughput/library/cpus:2", BM_Throughput<Fifo, 2>)->UseRealTime();
    RegisterBenchmark("thread-queue-throughput/bare/cpus:2", BM_Throughput<BareQueue, 2>)->UseRealTime();
    RegisterBenchmark("thread-queue-throughput/library-lifo/cpus:2", BM_Throughput<Lifo, 2>)->UseRealTime();
    RegisterBenchmark("thread-queue-throughput/library-priority/cpus:2", BM_Throughput<Priority, 2>)->UseRealTime();
    RegisterBenchmark("thread-queue-pingpong/library/cpus:2", BM_PingPong<Fifo, 2>)->UseRealTime();
    RegisterBenchmark("thread-queue-pingpong/bare/cpus:2", BM_PingPong<BareQueue, 2>)->UseRealTime();
    RegisterBenchmark("thread-queue-throughput/library/cpus:1", BM_Throughput<Fifo, 1>)->UseRealTime();
    RegisterBenchmark("thread-queue-throughput/bare/cpus:1", BM_Throughput<BareQueue, 1>)->UseRealTime();
    RegisterBenchmark("thread-queue-pingpong/library/cpus:1", BM_PingPong<Fifo, 1>)->UseRealTime();
    RegisterBenchmark("thread-queue-pingpong/bare/cpus:1", BM_PingPong<BareQueue, 1>)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    register_benchmarks();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
