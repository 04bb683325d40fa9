// Benchmarks of wb::ThreadPoolExecutor (wb/executor.hpp, chapter 20), next to the bare
// equivalent in the same binary, so that the library's cost reads as a ratio of one run:
//
//   executor-batch       a trivial task (x + 1): 1000 submits, then result() of each, per task:
//                        wb::ThreadPoolExecutor(2)  vs  a bare pool: std::mutex +
//                        std::condition_variable around a std::deque of std::packaged_task,
//                        two std::jthreads, std::future results
//   executor-roundtrip   one submit, then its result(), before the next submit: the latency of
//                        handing one call to a worker and getting its result back
//   executor-map         map() of the same task over 1000 inputs, per input (bare: the batch)
//
// The bare pool has no names, no cancellation, no wait()/as_completed(), no shutdown modes: it is
// the floor, not an alternative. bench/python/executor.py measures Python's
// concurrent.futures.ThreadPoolExecutor(2) doing the same. Run: meson test -C build --benchmark,
// or the binary with --benchmark_* flags.
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <latch>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <vector>

#include "wb/chapter.hpp"
#include "wb/executor.hpp"

namespace {

constexpr long kBatch = 1000;

long trivial(long x) { return x + 1; }

// ---- the bare pool ---------------------------------------------------------------------------
class BarePool {
public:
    explicit BarePool(int workers) {
        for (int i = 0; i < workers; ++i) {
            threads_.emplace_back([this] {
                for (;;) {
                    std::packaged_task<long()> task;
                    {
                        std::unique_lock lock(mutex_);
                        ready_.wait(lock, [&] { return !queue_.empty() || stop_; });
                        if (queue_.empty()) return;
                        task = std::move(queue_.front());
                        queue_.pop_front();
                    }
                    task();
                }
            });
        }
    }
    ~BarePool() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        ready_.notify_all();
    }
    std::future<long> submit(long x) {
        std::packaged_task<long()> task([x] { return trivial(x); });
        std::future<long> f = task.get_future();
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(task));
        }
        ready_.notify_one();
        return f;
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::packaged_task<long()>> queue_;
    bool stop_ = false;
    std::vector<std::jthread> threads_;  // last: joined before the rest is destroyed
};

// Starts both workers before the timing, as the bare pool's constructor does (and as the Python
// peer's warm-up does): two calls that wait for each other need two workers.
void warm_up(wb::ThreadPoolExecutor& ex) {
    std::latch both(2);
    auto a = ex.submit([&both] { both.arrive_and_wait(); });
    auto b = ex.submit([&both] { both.arrive_and_wait(); });
    a.result();
    b.result();
}

void BM_Batch_Library(benchmark::State& state) {
    wb::ThreadPoolExecutor ex(2, "bench");
    warm_up(ex);
    long sum = 0;
    std::vector<wb::Future<long>> fs;
    fs.reserve(kBatch);
    for (auto _ : state) {
        fs.clear();
        for (long i = 0; i < kBatch; ++i) fs.push_back(ex.submit(trivial, i));
        for (auto& f : fs) sum += f.result();
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_Batch_Bare(benchmark::State& state) {
    BarePool pool(2);
    long sum = 0;
    std::vector<std::future<long>> fs;
    fs.reserve(kBatch);
    for (auto _ : state) {
        fs.clear();
        for (long i = 0; i < kBatch; ++i) fs.push_back(pool.submit(i));
        for (auto& f : fs) sum += f.get();
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_RoundTrip_Library(benchmark::State& state) {
    wb::ThreadPoolExecutor ex(2, "bench");
    warm_up(ex);
    long sum = 0;
    for (auto _ : state) sum = ex.submit(trivial, sum).result();  // counts up by one: no overflow
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

void BM_RoundTrip_Bare(benchmark::State& state) {
    BarePool pool(2);
    long sum = 0;
    for (auto _ : state) sum = pool.submit(sum).get();  // counts up by one: no overflow
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

void BM_Map_Library(benchmark::State& state) {
    wb::ThreadPoolExecutor ex(2, "bench");
    warm_up(ex);
    std::vector<long> inputs(kBatch);
    std::iota(inputs.begin(), inputs.end(), 0);
    long sum = 0;
    for (auto _ : state) {
        for (long r : ex.map(trivial, inputs)) sum += r;
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * kBatch);
}

void register_benchmarks() {
    benchmark::RegisterBenchmark("executor-batch/library/cpus:2", BM_Batch_Library)->UseRealTime();
    benchmark::RegisterBenchmark("executor-batch/bare/cpus:2", BM_Batch_Bare)->UseRealTime();
    benchmark::RegisterBenchmark("executor-roundtrip/library/cpus:2", BM_RoundTrip_Library)->UseRealTime();
    benchmark::RegisterBenchmark("executor-roundtrip/bare/cpus:2", BM_RoundTrip_Bare)->UseRealTime();
    benchmark::RegisterBenchmark("executor-map/library/cpus:2", BM_Map_Library)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
    const wb::Chapter chapter{
        .id = "executor-bench",
        .title = "Benchmarks: ThreadPoolExecutor",
        .description = "Google Benchmark figures of wb::ThreadPoolExecutor next to a bare std::mutex + "
                       "std::condition_variable pool of std::packaged_task. Every --benchmark_* option goes to "
                       "Google Benchmark.",
        .demos = {},
        .mode = []() -> std::optional<int> {
            register_benchmarks();
            benchmark::RunSpecifiedBenchmarks();
            benchmark::Shutdown();
            return 0;
        },
    };
    benchmark::Initialize(&argc, argv);  // takes the --benchmark_* options out of argv
    return wb::run_chapter(argc, argv, chapter);
}
