// Benchmarks of the process-shared primitives (wb/lock.hpp, semaphore.hpp, event.hpp), each next
// to its bare equivalent in the same binary, so that the library's cost reads as a ratio of two
// lines of one run:
//
//   Lock uncontended         wb::Lock acquire+release    vs  pthread_mutex lock+unlock (same attributes)
//   Lock ping-pong           two processes hand a Lock   vs  the same with a raw pthread mutex
//                            back and forth (a turn variable under the lock), one round trip per iteration
//   Semaphore ping-pong      two wb::Semaphore(0)        vs  two raw sem_t
//   Event ping-pong          two wb::Event               vs  two {pthread mutex, condvar, flag}
//                                                        and two raw futex words (what wb::Event is made of)
//
// The "raw" objects live in a bare mmap(MAP_SHARED | MAP_ANONYMOUS) mapping. Ping-pong runs a
// fixed number of round trips with a forked partner process and measures real time (the waiting
// is in the kernel, CPU time would hide it). Each benchmark is bounded, the binary runs in about
// 15 s on 2 cores. Run: meson test -C build --benchmark, or the binary with --benchmark_* flags.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <new>

#include "wb/event.hpp"
#include "wb/lock.hpp"
#include "wb/semaphore.hpp"
#include "wb/shared_memory.hpp"

namespace {

constexpr int kRoundTrips = 10'000;
constexpr int kRepetitions = 3;

// ---- bare-metal helpers ------------------------------------------------------------------

// One T in a bare shared anonymous mapping (inherited by fork), never destroyed: the raw side.
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

// The attributes of wb::Lock: process-shared, error-checking, robust.
void init_raw_mutex(pthread_mutex_t* mutex) {
    pthread_mutexattr_t attr;
    ::pthread_mutexattr_init(&attr);
    ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    ::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    ::pthread_mutex_init(mutex, &attr);
    ::pthread_mutexattr_destroy(&attr);
}

// Runs body() in a forked partner process that then _exit()s.
template <typename Body>
pid_t fork_partner(Body body) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        body();
        ::_exit(0);
    }
    return pid;
}

void reap_partner(benchmark::State& state, pid_t pid) {
    int status = 0;
    if (pid < 0) {
        state.SkipWithError("fork failed");
        return;
    }
    while (::waitpid(pid, &status, 0) == -1) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError("the partner process failed");
}

// ---- Lock, uncontended --------------------------------------------------------------------

void BM_Lock_Uncontended(benchmark::State& state) {
    wb::Lock lock;
    for (auto _ : state) {
        wb::AcquireResult result = lock.acquire();
        benchmark::DoNotOptimize(result);
        lock.release();
    }
}

void BM_RawMutex_Uncontended(benchmark::State& state) {
    auto* mutex = raw_shared<pthread_mutex_t>();
    init_raw_mutex(mutex);
    for (auto _ : state) {
        if (::pthread_mutex_lock(mutex) != 0) state.SkipWithError("pthread_mutex_lock");
        benchmark::ClobberMemory();
        ::pthread_mutex_unlock(mutex);
    }
    ::pthread_mutex_destroy(mutex);
    raw_release(mutex);
}

// ---- Lock, ping-pong between two processes ------------------------------------------------
// The turn (0: the benchmark's process, 1: the partner) is read and written under the lock.
// A process that finds it is not its turn releases and yields, so that the two processes do not
// starve each other when they share a core.

struct Turn {
    int turn = 0;
};

template <typename Acquire, typename Release>
void take_turn(Turn& shared, int mine, Acquire acquire, Release release) {
    for (;;) {
        acquire();
        if (shared.turn == mine) {
            shared.turn = 1 - mine;
            release();
            return;
        }
        release();
        ::sched_yield();
    }
}

void BM_Lock_PingPong(benchmark::State& state) {
    wb::Lock lock;
    wb::Shared<Turn> turn;
    const auto acquire = [&] { (void)lock.acquire(); };
    const auto release = [&] { lock.release(); };
    const auto rounds = state.max_iterations;
    const pid_t partner = fork_partner([&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) take_turn(*turn, 1, acquire, release);
    });
    for (auto _ : state) take_turn(*turn, 0, acquire, release);
    reap_partner(state, partner);
    state.SetItemsProcessed(state.iterations());
}

void BM_RawMutex_PingPong(benchmark::State& state) {
    auto* mutex = raw_shared<pthread_mutex_t>();
    init_raw_mutex(mutex);
    auto* turn = raw_shared<Turn>();
    const auto acquire = [&] { ::pthread_mutex_lock(mutex); };
    const auto release = [&] { ::pthread_mutex_unlock(mutex); };
    const auto rounds = state.max_iterations;
    const pid_t partner = fork_partner([&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) take_turn(*turn, 1, acquire, release);
    });
    for (auto _ : state) take_turn(*turn, 0, acquire, release);
    reap_partner(state, partner);
    state.SetItemsProcessed(state.iterations());
    raw_release(turn);
    ::pthread_mutex_destroy(mutex);
    raw_release(mutex);
}

// ---- Semaphore ping-pong -------------------------------------------------------------------

void BM_Semaphore_PingPong(benchmark::State& state) {
    wb::Semaphore ping(0);
    wb::Semaphore pong(0);
    const auto rounds = state.max_iterations;
    const pid_t partner = fork_partner([&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) {
            ping.acquire();
            pong.release();
        }
    });
    for (auto _ : state) {
        ping.release();
        pong.acquire();
    }
    reap_partner(state, partner);
    state.SetItemsProcessed(state.iterations());
}

struct RawSemaphores {
    sem_t ping;
    sem_t pong;
};

void BM_RawSem_PingPong(benchmark::State& state) {
    auto* sems = raw_shared<RawSemaphores>();
    ::sem_init(&sems->ping, 1, 0);
    ::sem_init(&sems->pong, 1, 0);
    const auto rounds = state.max_iterations;
    const pid_t partner = fork_partner([&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) {
            while (::sem_wait(&sems->ping) != 0) {
            }
            ::sem_post(&sems->pong);
        }
    });
    for (auto _ : state) {
        ::sem_post(&sems->ping);
        while (::sem_wait(&sems->pong) != 0) {
        }
    }
    reap_partner(state, partner);
    state.SetItemsProcessed(state.iterations());
    ::sem_destroy(&sems->ping);
    ::sem_destroy(&sems->pong);
    raw_release(sems);
}

// ---- Event ping-pong -----------------------------------------------------------------------
// ping.set() -> the partner's ping.wait(), ping.clear(), pong.set() -> our pong.wait(), pong.clear().

void BM_Event_PingPong(benchmark::State& state) {
    wb::Event ping;
    wb::Event pong;
    const auto rounds = state.max_iterations;
    const pid_t partner = fork_partner([&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) {
            ping.wait();
            ping.clear();
            pong.set();
        }
    });
    for (auto _ : state) {
        ping.set();
        pong.wait();
        pong.clear();
    }
    reap_partner(state, partner);
    state.SetItemsProcessed(state.iterations());
}

// The textbook construction: robust process-shared mutex + process-shared condvar on
// CLOCK_MONOTONIC + flag (the one wb::Event avoids because a killed waiter wedges it).
struct RawCondEvent {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool flag = false;

    void init() {
        init_raw_mutex(&mutex);
        pthread_condattr_t attr;
        ::pthread_condattr_init(&attr);
        ::pthread_condattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        ::pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        ::pthread_cond_init(&cond, &attr);
        ::pthread_condattr_destroy(&attr);
    }
    void set() {
        ::pthread_mutex_lock(&mutex);
        flag = true;
        ::pthread_cond_broadcast(&cond);
        ::pthread_mutex_unlock(&mutex);
    }
    void clear() {
        ::pthread_mutex_lock(&mutex);
        flag = false;
        ::pthread_mutex_unlock(&mutex);
    }
    void wait() {
        ::pthread_mutex_lock(&mutex);
        while (!flag) ::pthread_cond_wait(&cond, &mutex);
        ::pthread_mutex_unlock(&mutex);
    }
};

struct RawCondEvents {
    RawCondEvent ping;
    RawCondEvent pong;
};

void BM_RawCondvarEvent_PingPong(benchmark::State& state) {
    auto* events = raw_shared<RawCondEvents>();
    events->ping.init();
    events->pong.init();
    const auto rounds = state.max_iterations;
    const pid_t partner = fork_partner([&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) {
            events->ping.wait();
            events->ping.clear();
            events->pong.set();
        }
    });
    for (auto _ : state) {
        events->ping.set();
        events->pong.wait();
        events->pong.clear();
    }
    reap_partner(state, partner);
    state.SetItemsProcessed(state.iterations());
    raw_release(events);  // no pthread_*_destroy needed for the benchmark's lifetime
}

// A bare shared futex flag (0 clear, 1 set), without the set() counter and the checks.
struct RawFutexEvent {
    std::atomic<std::uint32_t> word{0};
    std::uint32_t* address() { return reinterpret_cast<std::uint32_t*>(&word); }
    void set() {
        if (word.exchange(1, std::memory_order_release) == 0) {
            ::syscall(SYS_futex, address(), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
        }
    }
    void clear() { word.store(0, std::memory_order_relaxed); }
    void wait() {
        while (word.load(std::memory_order_acquire) == 0) {
            ::syscall(SYS_futex, address(), FUTEX_WAIT, 0, nullptr, nullptr, 0);
        }
    }
};

struct RawFutexEvents {
    RawFutexEvent ping;
    RawFutexEvent pong;
};

void BM_RawFutexEvent_PingPong(benchmark::State& state) {
    auto* events = raw_shared<RawFutexEvents>();
    const auto rounds = state.max_iterations;
    const pid_t partner = fork_partner([&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) {
            events->ping.wait();
            events->ping.clear();
            events->pong.set();
        }
    });
    for (auto _ : state) {
        events->ping.set();
        events->pong.wait();
        events->pong.clear();
    }
    reap_partner(state, partner);
    state.SetItemsProcessed(state.iterations());
    raw_release(events);
}

}  // namespace

BENCHMARK(BM_Lock_Uncontended)->MinTime(0.2)->Repetitions(kRepetitions);
BENCHMARK(BM_RawMutex_Uncontended)->MinTime(0.2)->Repetitions(kRepetitions);
BENCHMARK(BM_Lock_PingPong)->Iterations(kRoundTrips)->Repetitions(kRepetitions)->UseRealTime();
BENCHMARK(BM_RawMutex_PingPong)->Iterations(kRoundTrips)->Repetitions(kRepetitions)->UseRealTime();
BENCHMARK(BM_Semaphore_PingPong)->Iterations(kRoundTrips)->Repetitions(kRepetitions)->UseRealTime();
BENCHMARK(BM_RawSem_PingPong)->Iterations(kRoundTrips)->Repetitions(kRepetitions)->UseRealTime();
BENCHMARK(BM_Event_PingPong)->Iterations(kRoundTrips)->Repetitions(kRepetitions)->UseRealTime();
BENCHMARK(BM_RawCondvarEvent_PingPong)->Iterations(kRoundTrips)->Repetitions(kRepetitions)->UseRealTime();
BENCHMARK(BM_RawFutexEvent_PingPong)->Iterations(kRoundTrips)->Repetitions(kRepetitions)->UseRealTime();

BENCHMARK_MAIN();
