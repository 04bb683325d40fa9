// Benchmarks of the process-shared primitives (wb/lock.hpp, semaphore.hpp, event.hpp), each next
// to its bare equivalent in the same binary, so that the library's cost reads as a ratio of two
// lines of one run. Names are "<figure>/<side>[/cpus:N]"; bench/run_bench.py (./workbook bench)
// pairs them with the Python peers in bench/python/ and prints the table.
//
//   lock-uncontended        one process: acquire + release, nobody else wants the lock
//     /library                wb::Lock (robust, error-checking, process-shared pthread mutex)
//     /bare-mutex             a pthread mutex with the same attributes in a bare shared mapping
//     /bare-sem               a process-shared sem_t used as a lock (sem_wait/sem_post): what
//                             Python's multiprocessing.Lock is made of, without robustness or
//                             owner checks - the price of the workbook's choice reads from it
//   counter                 two processes, one per CPU, each incrementing one shared counter
//                           under the lock; one item = one increment by either process, counted
//                           while both run (the counter's value when the benchmark's loop ends)
//     /library                wb::Lock + wb::Shared<long>
//     /bare-mutex, /bare-sem  the same two bare locks as above
//   semaphore-pingpong      one round trip: release ping, the partner acquires it and releases
//                           pong, acquire pong
//     /library                two wb::Semaphore(0)
//     /bare                   two raw sem_t
//   event-pingpong          one round trip: ping.set(); partner: ping.wait(), ping.clear(),
//                           pong.set(); pong.wait(), pong.clear()
//     /library                two wb::Event
//     /bare-futex             two bare futex words (what wb::Event is made of)
//     /bare-condvar           two {robust mutex, condvar, flag}: the textbook construction that
//                             wb::Event avoids, because a killed waiter can wedge it
//   lock-pingpong           two processes hand a turn variable back and forth under the lock
//     /library, /bare-mutex   (no Python peer; kept from the first version of this file)
//
// Placement: the ping-pong figures run with both processes pinned to one CPU (cpus:1, every
// hand-over is a context switch on that CPU) and with one process per CPU (cpus:2, every
// hand-over is a cross-CPU wake-up, which costs more). The counter runs on two CPUs. The pinning
// is sched_setaffinity, undone when the benchmark ends.
//
// Timing is real time (the waiting happens in the kernel; CPU time would hide it), except for
// lock-uncontended: one process that never waits, measured in CPU time so that the time it spends
// preempted by other programs on a busy machine is not counted as the lock's cost. Iteration
// counts are Google Benchmark's own (--benchmark_min_time); the partner process is told the count
// (state.max_iterations) before it is forked. Every system call is checked in every build type:
// a failure makes the benchmark report an error (SkipWithError), a failing partner exits non-zero
// and the benchmark reports that. Run: meson test -C build --benchmark, ./workbook bench, or the
// binary with --benchmark_* flags.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "wb/event.hpp"
#include "wb/lock.hpp"
#include "wb/semaphore.hpp"
#include "wb/shared_memory.hpp"

namespace {

// ---- error checking (every build type) ----------------------------------------------------

[[noreturn]] void fail(const char* call, int error) {
    throw std::system_error(error, std::generic_category(), call);
}
// For calls that return 0 or an error number (pthread_*).
void check_rc(int rc, const char* call) {
    if (rc != 0) fail(call, rc);
}
// For calls that return -1 and set errno.
void check_errno(int rc, const char* call) {
    if (rc == -1) fail(call, errno);
}

// Runs `body` inside the benchmark; an exception becomes a benchmark error.
template <typename Body>
void guarded(benchmark::State& state, Body body) {
    try {
        body();
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

// ---- bare shared memory and bare locks ------------------------------------------------------

// One T in a bare shared anonymous mapping (inherited by fork): the raw side. Unmapped by the
// destructor, after T's own destructor.
template <typename T>
class RawShared {
public:
    RawShared() {
        void* memory = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) fail("mmap", errno);
        object_ = ::new (memory) T();
    }
    RawShared(const RawShared&) = delete;
    RawShared& operator=(const RawShared&) = delete;
    ~RawShared() {
        object_->~T();
        ::munmap(object_, sizeof(T));
    }
    T* operator->() const { return object_; }
    T& operator*() const { return *object_; }

private:
    T* object_;
};

// The attributes of wb::Lock: process-shared, error-checking, robust.
struct RawMutex {
    pthread_mutex_t native;
    RawMutex() {
        pthread_mutexattr_t attr;
        check_rc(::pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
        check_rc(::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
        check_rc(::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK), "pthread_mutexattr_settype");
        check_rc(::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
        check_rc(::pthread_mutex_init(&native, &attr), "pthread_mutex_init");
        ::pthread_mutexattr_destroy(&attr);
    }
    ~RawMutex() { ::pthread_mutex_destroy(&native); }
    // EOWNERDEAD cannot happen here (no holder is killed), so anything but 0 is an error.
    void lock() { check_rc(::pthread_mutex_lock(&native), "pthread_mutex_lock"); }
    void unlock() { check_rc(::pthread_mutex_unlock(&native), "pthread_mutex_unlock"); }
};

// A process-shared POSIX semaphore with one permit used as a lock, as CPython's SemLock does.
struct RawSemLock {
    sem_t native;
    RawSemLock() { check_errno(::sem_init(&native, 1, 1), "sem_init"); }
    ~RawSemLock() { ::sem_destroy(&native); }
    void lock() {
        while (::sem_wait(&native) != 0) {
            if (errno != EINTR) fail("sem_wait", errno);
        }
    }
    void unlock() { check_errno(::sem_post(&native), "sem_post"); }
};

// ---- processes and placement ---------------------------------------------------------------

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    check_errno(::sched_getaffinity(0, sizeof set, &set), "sched_getaffinity");
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    return cpus;
}

void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    check_errno(::sched_setaffinity(0, sizeof set, &set), "sched_setaffinity");
}

// Pins this process to the first allowed CPU for its lifetime; the partner goes to the same CPU
// (cpus == 1) or to the second allowed one (cpus == 2). The previous mask is restored at the end.
class Placement {
public:
    explicit Placement(int cpus) {
        CPU_ZERO(&previous_);
        check_errno(::sched_getaffinity(0, sizeof previous_, &previous_), "sched_getaffinity");
        const std::vector<int> allowed = allowed_cpus();
        if (static_cast<int>(allowed.size()) < cpus) {
            throw std::runtime_error("needs " + std::to_string(cpus) + " CPUs, this process may use " +
                                     std::to_string(allowed.size()));
        }
        mine_ = allowed[0];
        partner_ = cpus == 1 ? allowed[0] : allowed[1];
        pin_to(mine_);
    }
    Placement(const Placement&) = delete;
    Placement& operator=(const Placement&) = delete;
    ~Placement() { ::sched_setaffinity(0, sizeof previous_, &previous_); }
    [[nodiscard]] int partner_cpu() const noexcept { return partner_; }

private:
    cpu_set_t previous_;
    int mine_ = 0;
    int partner_ = 0;
};

// Runs body() in a forked partner process (pinned to `cpu` if cpu >= 0), which then _exit()s:
// 0 when body returned, 2 when it threw (the parent turns that into a benchmark error).
template <typename Body>
pid_t fork_partner(int cpu, Body body) {
    std::fflush(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) fail("fork", errno);
    if (pid == 0) {
        // A partner blocked on a semaphore would wait forever if the benchmark process were
        // killed: the kernel kills it with its parent instead (and if the parent is already gone,
        // the partner ends now).
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(3);
        try {
            if (cpu >= 0) pin_to(cpu);
            body();
        } catch (...) {
            ::_exit(2);
        }
        ::_exit(0);
    }
    return pid;
}

// Reaps the partner; throws unless it exited with 0.
void reap_partner(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) fail("waitpid", errno);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("the partner process failed");
}

// Kills and reaps the partner when the benchmark body throws before reap_partner: no process is
// left behind, whatever fails.
class PartnerGuard {
public:
    explicit PartnerGuard(pid_t pid) : pid_(pid) {}
    PartnerGuard(const PartnerGuard&) = delete;
    PartnerGuard& operator=(const PartnerGuard&) = delete;
    ~PartnerGuard() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
        }
    }
    void reap() {
        const pid_t pid = pid_;
        pid_ = -1;
        reap_partner(pid);
    }

private:
    pid_t pid_;
};

// Both processes wait here until the other has arrived (outside the timed loop).
struct StartLine {
    std::atomic<int> arrived{0};
    void arrive_and_wait() {
        arrived.fetch_add(1);
        while (arrived.load() < 2) ::sched_yield();
    }
};

// ---- Lock, uncontended --------------------------------------------------------------------

void BM_LockUncontended_Library(benchmark::State& state) {
    guarded(state, [&] {
        wb::Lock lock;
        for (auto _ : state) {
            const wb::AcquireResult result = lock.acquire();
            benchmark::DoNotOptimize(result);
            lock.release();
        }
    });
    state.SetItemsProcessed(state.iterations());
}

template <typename RawLock>
void BM_LockUncontended_Bare(benchmark::State& state) {
    guarded(state, [&] {
        RawShared<RawLock> lock;
        for (auto _ : state) {
            lock->lock();
            benchmark::ClobberMemory();
            lock->unlock();
        }
    });
    state.SetItemsProcessed(state.iterations());
}

// ---- the shared counter, two processes on two CPUs ----------------------------------------

struct Counter {
    long value = 0;
    StartLine start;
};

// `lock` has lock()/unlock() and is usable in both processes after fork.
template <typename LockType>
void count_together(benchmark::State& state, LockType& lock, Counter& counter) {
    Placement placement(2);
    const auto rounds = state.max_iterations;
    PartnerGuard partner(fork_partner(placement.partner_cpu(), [&] {
        counter.start.arrive_and_wait();
        for (benchmark::IterationCount i = 0; i < rounds; ++i) {
            lock.lock();
            ++counter.value;
            lock.unlock();
        }
    }));
    counter.start.arrive_and_wait();
    for (auto _ : state) {
        lock.lock();
        ++counter.value;
        lock.unlock();
    }
    // Read at the end of the timed loop: the increments both processes made meanwhile.
    lock.lock();
    const long done_together = counter.value;
    lock.unlock();
    partner.reap();
    if (counter.value != 2 * static_cast<long>(rounds)) throw std::runtime_error("the counter lost increments");
    state.SetItemsProcessed(done_together);
}

void BM_Counter_Library(benchmark::State& state) {
    guarded(state, [&] {
        wb::Lock lock;
        wb::Shared<Counter> counter;
        count_together(state, lock, *counter);
    });
}

template <typename RawLock>
void BM_Counter_Bare(benchmark::State& state) {
    guarded(state, [&] {
        RawShared<RawLock> lock;
        RawShared<Counter> counter;
        count_together(state, *lock, *counter);
    });
}

// ---- Lock ping-pong (no Python peer) ------------------------------------------------------
// The turn (0: the benchmark's process, 1: the partner) is read and written under the lock.
// A process that finds it is not its turn releases and yields, so that the two processes do not
// starve each other when they share a core.

struct Turn {
    int turn = 0;
};

template <typename LockType>
void take_turn(Turn& shared, int mine, LockType& lock) {
    for (;;) {
        lock.lock();
        if (shared.turn == mine) {
            shared.turn = 1 - mine;
            lock.unlock();
            return;
        }
        lock.unlock();
        ::sched_yield();
    }
}

template <typename LockType>
void turn_pingpong(benchmark::State& state, LockType& lock, Turn& turn) {
    const auto rounds = state.max_iterations;
    PartnerGuard partner(fork_partner(-1, [&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) take_turn(turn, 1, lock);
    }));
    for (auto _ : state) take_turn(turn, 0, lock);
    partner.reap();
    state.SetItemsProcessed(state.iterations());
}

void BM_LockPingPong_Library(benchmark::State& state) {
    guarded(state, [&] {
        wb::Lock lock;
        wb::Shared<Turn> turn;
        turn_pingpong(state, lock, *turn);
    });
}

void BM_LockPingPong_Bare(benchmark::State& state) {
    guarded(state, [&] {
        RawShared<RawMutex> lock;
        RawShared<Turn> turn;
        turn_pingpong(state, *lock, *turn);
    });
}

// ---- ping-pong of two signals (semaphores, events) ------------------------------------------
// `Pair` has ping and pong members with the operations below; the partner answers every ping.
// One warm-up round trip before the timed loop makes sure the partner is running.

template <typename Ping, typename Answer>
void signal_pingpong(benchmark::State& state, Ping ping_and_wait, Answer answer) {
    Placement placement(static_cast<int>(state.range(0)));
    const auto rounds = state.max_iterations + 1;
    PartnerGuard partner(fork_partner(placement.partner_cpu(), [&] {
        for (benchmark::IterationCount i = 0; i < rounds; ++i) answer();
    }));
    ping_and_wait();  // warm-up
    for (auto _ : state) ping_and_wait();
    partner.reap();
    state.SetItemsProcessed(state.iterations());
}

void BM_SemaphorePingPong_Library(benchmark::State& state) {
    guarded(state, [&] {
        wb::Semaphore ping(0);
        wb::Semaphore pong(0);
        signal_pingpong(
            state,
            [&] {
                ping.release();
                pong.acquire();
            },
            [&] {
                ping.acquire();
                pong.release();
            });
    });
}

struct RawSemaphore {
    sem_t native;
    RawSemaphore() { check_errno(::sem_init(&native, 1, 0), "sem_init"); }
    ~RawSemaphore() { ::sem_destroy(&native); }
    void acquire() {
        while (::sem_wait(&native) != 0) {
            if (errno != EINTR) fail("sem_wait", errno);
        }
    }
    void release() { check_errno(::sem_post(&native), "sem_post"); }
};

struct RawSemaphores {
    RawSemaphore ping;
    RawSemaphore pong;
};

void BM_SemaphorePingPong_Bare(benchmark::State& state) {
    guarded(state, [&] {
        RawShared<RawSemaphores> s;
        signal_pingpong(
            state,
            [&] {
                s->ping.release();
                s->pong.acquire();
            },
            [&] {
                s->ping.acquire();
                s->pong.release();
            });
    });
}

// ping.set() -> the partner's ping.wait(), ping.clear(), pong.set() -> our pong.wait(), pong.clear().
template <typename EventType>
void event_pingpong(benchmark::State& state, EventType& ping, EventType& pong) {
    signal_pingpong(
        state,
        [&] {
            ping.set();
            pong.wait();
            pong.clear();
        },
        [&] {
            ping.wait();
            ping.clear();
            pong.set();
        });
}

void BM_EventPingPong_Library(benchmark::State& state) {
    guarded(state, [&] {
        wb::Event ping;
        wb::Event pong;
        event_pingpong(state, ping, pong);
    });
}

// A bare shared futex flag (0 clear, 1 set), without the set() counter and the checks of wb::Event.
struct RawFutexEvent {
    std::atomic<std::uint32_t> word{0};
    std::uint32_t* address() { return reinterpret_cast<std::uint32_t*>(&word); }
    void set() {
        if (word.exchange(1, std::memory_order_release) == 0) {
            check_errno(static_cast<int>(::syscall(SYS_futex, address(), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0)),
                        "futex(FUTEX_WAKE)");
        }
    }
    void clear() { word.store(0, std::memory_order_relaxed); }
    void wait() {
        while (word.load(std::memory_order_acquire) == 0) {
            if (::syscall(SYS_futex, address(), FUTEX_WAIT, 0, nullptr, nullptr, 0) == -1 && errno != EAGAIN &&
                errno != EINTR) {
                fail("futex(FUTEX_WAIT)", errno);
            }
        }
    }
};

// The textbook construction: robust process-shared mutex + process-shared condvar on
// CLOCK_MONOTONIC + flag.
struct RawCondEvent {
    RawMutex mutex;
    pthread_cond_t cond;
    bool flag = false;

    RawCondEvent() {
        pthread_condattr_t attr;
        check_rc(::pthread_condattr_init(&attr), "pthread_condattr_init");
        check_rc(::pthread_condattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pthread_condattr_setpshared");
        check_rc(::pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), "pthread_condattr_setclock");
        check_rc(::pthread_cond_init(&cond, &attr), "pthread_cond_init");
        ::pthread_condattr_destroy(&attr);
    }
    ~RawCondEvent() { ::pthread_cond_destroy(&cond); }
    void set() {
        mutex.lock();
        flag = true;
        const int rc = ::pthread_cond_broadcast(&cond);
        mutex.unlock();
        check_rc(rc, "pthread_cond_broadcast");
    }
    void clear() {
        mutex.lock();
        flag = false;
        mutex.unlock();
    }
    void wait() {
        mutex.lock();
        int rc = 0;
        while (!flag && rc == 0) rc = ::pthread_cond_wait(&cond, &mutex.native);
        mutex.unlock();
        check_rc(rc, "pthread_cond_wait");
    }
};

template <typename EventType>
struct RawEvents {
    EventType ping;
    EventType pong;
};

template <typename EventType>
void BM_EventPingPong_Bare(benchmark::State& state) {
    guarded(state, [&] {
        RawShared<RawEvents<EventType>> events;
        event_pingpong(state, events->ping, events->pong);
    });
}

void register_benchmarks() {
    using benchmark::RegisterBenchmark;
    // CPU time: one process that never waits, so time spent preempted by other programs is not its cost.
    RegisterBenchmark("lock-uncontended/library", BM_LockUncontended_Library);
    RegisterBenchmark("lock-uncontended/bare-mutex", BM_LockUncontended_Bare<RawMutex>);
    RegisterBenchmark("lock-uncontended/bare-sem", BM_LockUncontended_Bare<RawSemLock>);

    RegisterBenchmark("counter/library/cpus:2", BM_Counter_Library)->UseRealTime();
    RegisterBenchmark("counter/bare-mutex/cpus:2", BM_Counter_Bare<RawMutex>)->UseRealTime();
    RegisterBenchmark("counter/bare-sem/cpus:2", BM_Counter_Bare<RawSemLock>)->UseRealTime();

    for (const int cpus : {1, 2}) {
        RegisterBenchmark("semaphore-pingpong/library", BM_SemaphorePingPong_Library)
            ->ArgName("cpus")->Arg(cpus)->UseRealTime();
        RegisterBenchmark("semaphore-pingpong/bare", BM_SemaphorePingPong_Bare)
            ->ArgName("cpus")->Arg(cpus)->UseRealTime();
        RegisterBenchmark("event-pingpong/library", BM_EventPingPong_Library)
            ->ArgName("cpus")->Arg(cpus)->UseRealTime();
        RegisterBenchmark("event-pingpong/bare-futex", BM_EventPingPong_Bare<RawFutexEvent>)
            ->ArgName("cpus")->Arg(cpus)->UseRealTime();
        RegisterBenchmark("event-pingpong/bare-condvar", BM_EventPingPong_Bare<RawCondEvent>)
            ->ArgName("cpus")->Arg(cpus)->UseRealTime();
    }

    RegisterBenchmark("lock-pingpong/library", BM_LockPingPong_Library)->UseRealTime();
    RegisterBenchmark("lock-pingpong/bare-mutex", BM_LockPingPong_Bare)->UseRealTime();
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
