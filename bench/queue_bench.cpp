// Benchmarks of passing data between processes (wb/queue.hpp, process_pool.hpp), each next to the
// bare equivalent in the same binary, so that the library's cost reads as a ratio of one run:
//
//   queue-throughput   a producer process puts 8-byte items, the parent gets them:
//                      wb::Queue<uint64_t>(1024)  vs  a process-shared mutex + two condition
//                      variables around a ring of 1024 slots (bare mmap)
//   queue-pingpong     one round trip: put to the partner, which gets and puts it back:
//                      two wb::Queue<uint64_t>    vs  the same over two bare rings, and over two
//                                                     pipes (8-byte write/read)
//   pool-apply-async   a trivial task (x + 1) by apply_async, batches of 1000, then get() each:
//                      wb::ProcessPool(2) (one task in flight per worker, Python's rule; and
//                      8 in flight, pipelined)    vs  two bare forked workers answering 8-byte
//                                                     requests over socket pairs
//   pool-map           map of the same task over 1000 inputs (default chunk size), per item
//
// Items per second are reported per item (one item, one round trip, one task). The bare ring has
// no robustness (a killed holder wedges it) and the bare workers no error handling: they are the
// floor, not an alternative. The Python peers (bench/python/queues.py, pool.py) measure
// multiprocessing.Queue and Pool doing the same. Run: meson test -C build --benchmark, or the
// binary with --benchmark_* flags.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>
#include <vector>

#include "wb/chapter.hpp"
#include "wb/process_pool.hpp"
#include "wb/queue.hpp"

namespace {

constexpr std::size_t kCapacity = 1024;
constexpr int kBatch = 1000;

// ---- the bare ring: a process-shared mutex, two condvars, 1024 slots ------------------------
struct BareRing {
    pthread_mutex_t mutex;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    std::uint64_t head = 0;
    std::uint64_t tail = 0;
    std::uint64_t slots[kCapacity];

    BareRing() {
        pthread_mutexattr_t ma;
        ::pthread_mutexattr_init(&ma);
        ::pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
        ::pthread_mutex_init(&mutex, &ma);
        ::pthread_mutexattr_destroy(&ma);
        pthread_condattr_t ca;
        ::pthread_condattr_init(&ca);
        ::pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
        ::pthread_cond_init(&not_empty, &ca);
        ::pthread_cond_init(&not_full, &ca);
        ::pthread_condattr_destroy(&ca);
    }
    void put(std::uint64_t v) {
        ::pthread_mutex_lock(&mutex);
        while (tail - head == kCapacity) ::pthread_cond_wait(&not_full, &mutex);
        slots[tail % kCapacity] = v;
        ++tail;
        ::pthread_cond_signal(&not_empty);
        ::pthread_mutex_unlock(&mutex);
    }
    std::uint64_t get() {
        ::pthread_mutex_lock(&mutex);
        while (tail == head) ::pthread_cond_wait(&not_empty, &mutex);
        const std::uint64_t v = slots[head % kCapacity];
        ++head;
        ::pthread_cond_signal(&not_full);
        ::pthread_mutex_unlock(&mutex);
        return v;
    }
};

template <typename T>
T* raw_shared() {
    void* memory = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        std::perror("mmap");
        std::abort();
    }
    return ::new (memory) T();
}
template <typename T>
void raw_release(T* object) {
    object->~T();
    ::munmap(object, sizeof(T));
}

template <typename Body>
pid_t fork_partner(Body body) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("fork");
        std::abort();
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive an interrupted benchmark
        body();
        ::_exit(0);
    }
    return pid;
}

void reap(benchmark::State& state, pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError("the partner process failed");
}

void read_exactly(int fd, void* out, std::size_t size) {
    auto* p = static_cast<char*>(out);
    while (size > 0) {
        const ssize_t n = ::read(fd, p, size);
        if (n <= 0) std::abort();
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}
void write_exactly(int fd, const void* in, std::size_t size) {
    if (::write(fd, in, size) != static_cast<ssize_t>(size)) std::abort();
}

// ---- queue throughput --------------------------------------------------------------------
void BM_QueueThroughput_Library(benchmark::State& state) {
    wb::Queue<std::uint64_t> queue(kCapacity);
    const auto n = static_cast<std::uint64_t>(state.max_iterations);
    const pid_t partner = fork_partner([&] {
        for (std::uint64_t i = 0; i < n; ++i) queue.put(i);
    });
    std::uint64_t sum = 0;
    for (auto _ : state) sum += queue.get();
    benchmark::DoNotOptimize(sum);
    reap(state, partner);
    state.SetItemsProcessed(state.iterations());
}

void BM_QueueThroughput_Bare(benchmark::State& state) {
    auto* ring = raw_shared<BareRing>();
    const auto n = static_cast<std::uint64_t>(state.max_iterations);
    const pid_t partner = fork_partner([&] {
        for (std::uint64_t i = 0; i < n; ++i) ring->put(i);
    });
    std::uint64_t sum = 0;
    for (auto _ : state) sum += ring->get();
    benchmark::DoNotOptimize(sum);
    reap(state, partner);
    raw_release(ring);
    state.SetItemsProcessed(state.iterations());
}

// ---- queue ping-pong ---------------------------------------------------------------------
void BM_QueuePingPong_Library(benchmark::State& state) {
    wb::Queue<std::uint64_t> ping(kCapacity), pong(kCapacity);
    const auto n = static_cast<std::uint64_t>(state.max_iterations);
    const pid_t partner = fork_partner([&] {
        for (std::uint64_t i = 0; i < n; ++i) pong.put(ping.get() + 1);
    });
    std::uint64_t v = 0;
    for (auto _ : state) {
        ping.put(v);
        v = pong.get();
    }
    reap(state, partner);
    state.SetItemsProcessed(state.iterations());
}

void BM_QueuePingPong_BareRing(benchmark::State& state) {
    auto* ping = raw_shared<BareRing>();
    auto* pong = raw_shared<BareRing>();
    const auto n = static_cast<std::uint64_t>(state.max_iterations);
    const pid_t partner = fork_partner([&] {
        for (std::uint64_t i = 0; i < n; ++i) pong->put(ping->get() + 1);
    });
    std::uint64_t v = 0;
    for (auto _ : state) {
        ping->put(v);
        v = pong->get();
    }
    reap(state, partner);
    raw_release(ping);
    raw_release(pong);
    state.SetItemsProcessed(state.iterations());
}

void BM_QueuePingPong_BarePipe(benchmark::State& state) {
    int there[2], back[2];
    if (::pipe(there) != 0 || ::pipe(back) != 0) std::abort();
    const auto n = static_cast<std::uint64_t>(state.max_iterations);
    const pid_t partner = fork_partner([&] {
        for (std::uint64_t i = 0; i < n; ++i) {
            std::uint64_t v = 0;
            read_exactly(there[0], &v, sizeof v);
            ++v;
            write_exactly(back[1], &v, sizeof v);
        }
    });
    std::uint64_t v = 0;
    for (auto _ : state) {
        write_exactly(there[1], &v, sizeof v);
        read_exactly(back[0], &v, sizeof v);
    }
    reap(state, partner);
    for (const int fd : {there[0], there[1], back[0], back[1]}) ::close(fd);
    state.SetItemsProcessed(state.iterations());
}

// ---- pool --------------------------------------------------------------------------------
long trivial(long x) { return x + 1; }

void BM_PoolApplyAsync_Library(benchmark::State& state, int in_flight) {
    wb::ProcessPool pool(2, in_flight);
    std::vector<wb::AsyncResult<long>> results;
    results.reserve(kBatch);
    long sum = 0;
    for (auto _ : state) {
        results.clear();
        for (long i = 0; i < kBatch; ++i) results.push_back(pool.apply_async(trivial, std::tuple{i}));
        for (auto& r : results) sum += r.get();
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_PoolMap_Library(benchmark::State& state) {
    wb::ProcessPool pool(2);
    std::vector<long> inputs(kBatch);
    for (long i = 0; i < kBatch; ++i) inputs[static_cast<std::size_t>(i)] = i;
    long sum = 0;
    for (auto _ : state) {
        for (const long r : pool.map(trivial, inputs)) sum += r;
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * kBatch);
}

// Two forked workers that answer 8-byte requests over socket pairs, pipelined per batch.
void BM_PoolTasks_Bare(benchmark::State& state) {
    int channels[2][2];
    pid_t workers[2];
    for (int w = 0; w < 2; ++w) {
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, channels[w]) != 0) std::abort();
        workers[w] = fork_partner([&, w] {
            for (int other = 0; other < w; ++other) ::close(channels[other][0]);  // or no EOF for them
            ::close(channels[w][0]);
            for (;;) {
                long x = 0;
                const ssize_t got = ::read(channels[w][1], &x, sizeof x);
                if (got <= 0) return;
                x = trivial(x);
                write_exactly(channels[w][1], &x, sizeof x);
            }
        });
        ::close(channels[w][1]);
    }
    long sum = 0;
    for (auto _ : state) {
        for (long i = 0; i < kBatch; ++i) write_exactly(channels[i % 2][0], &i, sizeof i);
        for (long i = 0; i < kBatch; ++i) {
            long r = 0;
            read_exactly(channels[i % 2][0], &r, sizeof r);
            sum += r;
        }
    }
    benchmark::DoNotOptimize(sum);
    for (int w = 0; w < 2; ++w) {
        ::close(channels[w][0]);
        reap(state, workers[w]);
    }
    state.SetItemsProcessed(state.iterations() * kBatch);
}

void register_benchmarks() {
    benchmark::RegisterBenchmark("queue-throughput/library/cpus:2", BM_QueueThroughput_Library)->UseRealTime();
    benchmark::RegisterBenchmark("queue-throughput/bare-ring/cpus:2", BM_QueueThroughput_Bare)->UseRealTime();
    benchmark::RegisterBenchmark("queue-pingpong/library/cpus:2", BM_QueuePingPong_Library)->UseRealTime();
    benchmark::RegisterBenchmark("queue-pingpong/bare-ring/cpus:2", BM_QueuePingPong_BareRing)->UseRealTime();
    benchmark::RegisterBenchmark("queue-pingpong/bare-pipe/cpus:2", BM_QueuePingPong_BarePipe)->UseRealTime();
    benchmark::RegisterBenchmark("pool-apply-async/library/cpus:2", BM_PoolApplyAsync_Library, 1)->UseRealTime();
    benchmark::RegisterBenchmark("pool-apply-async/library-in-flight-8/cpus:2", BM_PoolApplyAsync_Library, 8)
        ->UseRealTime();
    benchmark::RegisterBenchmark("pool-map/library/cpus:2", BM_PoolMap_Library)->UseRealTime();
    benchmark::RegisterBenchmark("pool-tasks/bare/cpus:2", BM_PoolTasks_Bare)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
    const wb::Chapter chapter{
        .id = "queue-bench",
        .title = "Benchmarks: Queue and ProcessPool",
        .description = "Google Benchmark figures of wb::Queue and wb::ProcessPool next to a bare mutex+condvar "
                       "ring, pipes and bare forked workers. Every --benchmark_* option goes to Google Benchmark.",
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
