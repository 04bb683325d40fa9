// Benchmarks of the thread side (wb/thread.hpp and the standard locks chapter 17 uses), each next
// to its bare equivalent in the same binary, so that a cost reads as a ratio of two lines of one
// run; bench/python/threading_peer.py measures Python's threading doing the same:
//
//   thread-start        wb::Thread start()+join()          vs  std::jthread construct+join
//   thread-lock-uncontended
//                       std::scoped_lock on a std::mutex   vs  pthread_mutex_lock/unlock, and a
//                       (chapter 17's `with lock`)             std::binary_semaphore (Python Lock's kind)
//   thread-counter      2 threads increment one counter under the lock, one item = one increment:
//                       std::mutex                          vs  pthread mutex, binary_semaphore
//
// Thread start and the contended counter are measured in real time (the waiting is the cost); the
// uncontended lock in CPU time (time spent preempted by other programs is not the lock's cost).
// Run: meson test -C build --benchmark, or the binary with --benchmark_* flags.
#include <benchmark/benchmark.h>
#include <pthread.h>

#include <cstdint>
#include <mutex>
#include <semaphore>
#include <thread>

#include "wb/thread.hpp"

namespace {

constexpr int kIncrementsPerThread = 100'000;

void BM_ThreadStart_Library(benchmark::State& state) {
    for (auto _ : state) {
        wb::Thread t([] {});
        t.start();
        t.join();
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_ThreadStart_Bare(benchmark::State& state) {
    for (auto _ : state) {
        std::jthread t([] {});
        t.join();
    }
    state.SetItemsProcessed(state.iterations());
}

// The bare pthread mutex, as a BasicLockable.
struct PthreadMutex {
    pthread_mutex_t native = PTHREAD_MUTEX_INITIALIZER;
    void lock() { ::pthread_mutex_lock(&native); }
    void unlock() { ::pthread_mutex_unlock(&native); }
};

// A binary semaphore used as a lock, as CPython's threading.Lock is.
struct SemaphoreLock {
    std::binary_semaphore sem{1};
    void lock() { sem.acquire(); }
    void unlock() { sem.release(); }
};

template <typename Lock>
void BM_LockUncontended(benchmark::State& state) {
    Lock lock;
    std::uint64_t counter = 0;
    for (auto _ : state) {
        std::scoped_lock guard(lock);
        ++counter;
        benchmark::DoNotOptimize(counter);
    }
    state.SetItemsProcessed(state.iterations());
}

// One iteration: two threads add kIncrementsPerThread each to one counter under `Lock`.
template <typename Lock>
void BM_Counter(benchmark::State& state) {
    for (auto _ : state) {
        Lock lock;
        std::uint64_t counter = 0;
        auto add = [&] {
            for (int k = 0; k < kIncrementsPerThread; ++k) {
                std::scoped_lock guard(lock);
                counter = counter + 1;
            }
        };
        {
            std::jthread a(add), b(add);
        }
        if (counter != 2u * kIncrementsPerThread) state.SkipWithError("lost an update under the lock");
        benchmark::DoNotOptimize(counter);
    }
    state.SetItemsProcessed(state.iterations() * 2 * kIncrementsPerThread);
}

void register_benchmarks() {
    using benchmark::RegisterBenchmark;
    RegisterBenchmark("thread-start/library", BM_ThreadStart_Library)->UseRealTime();
    RegisterBenchmark("thread-start/bare", BM_ThreadStart_Bare)->UseRealTime();

    RegisterBenchmark("thread-lock-uncontended/library", BM_LockUncontended<std::mutex>);
    RegisterBenchmark("thread-lock-uncontended/bare-mutex", BM_LockUncontended<PthreadMutex>);
    RegisterBenchmark("thread-lock-uncontended/bare-sem", BM_LockUncontended<SemaphoreLock>);

    RegisterBenchmark("thread-counter/library/cpus:2", BM_Counter<std::mutex>)->UseRealTime();
    RegisterBenchmark("thread-counter/bare-mutex/cpus:2", BM_Counter<PthreadMutex>)->UseRealTime();
    RegisterBenchmark("thread-counter/bare-sem/cpus:2", BM_Counter<SemaphoreLock>)->UseRealTime();
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
