// Chapter 17 - Race and locks.
//
// Seeds: 003 0x02 (线程锁: the counter of ten threads, Lock, `with lock`, RLock), 002 (线程同步:
// task1 inserts, task2 reads, under one lock: [0, 1, 2]).
// Threads share memory, so two threads changing the same data can get in each other's way. The
// seed makes that visible with a pause; the lock (std::mutex) makes the change one indivisible
// step. C++ adds a rule Python does not have: two threads touching a plain variable without
// synchronisation, at least one writing, is a DATA RACE - undefined behaviour, not merely a wrong
// count (see demo 2). So every race in this chapter is in the logic (separate atomic steps), never
// in the memory accesses, and the thread sanitizer stays quiet.
#include <array>
#include <atomic>
#include <barrier>
#include <latch>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <vector>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/thread.hpp"
#include "wb/thread_event.hpp"

namespace {

constexpr int kThreads = 10;

// Demo 1 - the seed's counter: ten threads each add 1 to counter[0], pause, print it.
// Without the pause the output is usually 1, 2, ..., 10 (each thread is done before the next
// starts). The seed sleeps 1 s between the increment and the print and "usually" sees 10 ten
// times. Here the pause lasts until all ten have incremented (a std::latch), so it is certain:
// every thread prints 10.
void demo_counter_race() {
    std::atomic<int> counter{0};  // counter[0]; the increment is one atomic step (see demo 2)
    std::latch all_incremented(kThreads);
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (int i = 1; i <= kThreads; ++i) {
        threads.push_back(std::make_unique<wb::Thread>([&counter, &all_incremented] {
            counter.fetch_add(1);                // self.counter[0] += 1
            all_incremented.arrive_and_wait();   // sleep(1), made certain
            const int seen = counter.load();
            wb::emit("counter.print", {{"counter", seen}}, wb::from_fields("counter = {counter}"));  // print
        }));
        threads.back()->set_name(std::to_string(i));  // MyThread(counter, i): named 1..10
    }
    // (If a thread cannot be started, the latch is counted down for it, so the others end.)
    wb::start_all(threads, [&](std::size_t started) {
        all_incremented.count_down(static_cast<std::ptrdiff_t>(kThreads - started));
    });
    for (auto& t : threads) t->join();
    wb::note("Every thread printed 10: by the time any of them printed, all ten had incremented.\n"
             "Whether that matters depends on the program; usually it means a result was read\n"
             "while others were still changing it.");
}

// Demo 2 - lost updates: `counter += 1` is three steps, read, add, write.
// If two threads both read 5, both write 6: one increment is lost. Here the read and the write
// are two separate atomic operations (load, then store): each is indivisible, the pair is not.
//
// Why not a plain `int counter` and `++counter`, as in Python? In C++ that is a data race, and a
// program with a data race has undefined behaviour: the compiler may assume no other thread
// changes `counter` meanwhile, keep it in a register for the whole loop and store it once at the
// end (losing almost everything, or nothing), or tear a value in half. "Some increments lost" is
// the optimistic reading; the standard promises nothing at all. An atomic load and store keep
// every access defined - only the logic is racy.
struct RaceResult {
    long long counter;     // what the shared counter says
    long long increments;  // what the two threads did, each counting its own in a local variable
};

RaceResult racy_increments(double seconds) {
    std::atomic<long long> counter{0};
    std::atomic<bool> stop{false};
    std::latch both_counting(2);
    std::array<long long, 2> done{};
    auto add = [&](std::size_t me) {
        long long mine = 0;
        bool first = true;
        while (!stop.load(std::memory_order_relaxed)) {
            const long long read = counter.load(std::memory_order_relaxed);  // (r1) read
            counter.store(read + 1, std::memory_order_relaxed);              // (r2) write read + 1
            ++mine;
            if (first) {
                both_counting.count_down();
                first = false;
            }
        }
        done[me] = mine;
    };
    wb::Thread a(add, std::size_t{0}), b(add, std::size_t{1});
    wb::start_all(std::array{&a, &b}, [&](std::size_t started) {  // one missing: stop the other
        stop = true;
        both_counting.count_down(static_cast<std::ptrdiff_t>(2 - started));
    });
    both_counting.wait();  // both are in their loops: from here on they race
    wb::clock::sleep(seconds);
    stop = true;
    a.join();
    b.join();
    return RaceResult{counter.load(), done[0] + done[1]};
}

void demo_lost_updates() {
    // First the losing interleaving, forced: in each round both threads read (r1) before either
    // writes (r2) - a std::barrier between the two steps makes that order certain.
    constexpr int kRounds = 3;
    std::atomic<int> counter{0};
    std::barrier step(2);
    auto add_in_lockstep = [&] {
        for (int round = 1; round <= kRounds; ++round) {
            const int read = counter.load();
            wb::emit("lockstep.read", {{"round", round}, {"read", read}},
                     wb::from_fields("round {round}: reads {read}"));
            step.arrive_and_wait();  // both have read
            counter.store(read + 1);
            wb::emit("lockstep.write", {{"round", round}, {"wrote", read + 1}},
                     wb::from_fields("round {round}: writes {wrote}"));
            step.arrive_and_wait();  // both have written
        }
    };
    wb::Thread a(add_in_lockstep), b(add_in_lockstep);
    a.set_name("A");
    b.set_name("B");
    wb::start_all(std::array{&a, &b}, [&](std::size_t started) {  // one missing: A goes on alone
        for (std::size_t k = started; k < 2; ++k) step.arrive_and_drop();
    });
    a.join();
    b.join();
    wb::emit("lockstep.total", {{"counter", counter.load()}, {"increments", 2 * kRounds}},
             wb::from_fields("{increments} increments, counter = {counter}: every round lost one"));

    // Then free-running: two threads increment for 0.2 s, no barrier. How many updates are lost
    // is the scheduler's doing: many when the two run at once on two CPUs, and a thread that is
    // preempted between r1 and r2 wipes out everything the other did meanwhile when it writes.
    constexpr double kSeconds = 0.2;
    const RaceResult race = racy_increments(kSeconds);
    wb::emit("race.total",
             {{"threads", 2}, {"counter", race.counter}, {"expected", race.increments},
              {"lost", race.increments - race.counter}, {"seconds", kSeconds}},
             wb::from_fields("{threads} threads for {seconds:g} s: counter = {counter} after {expected} increments, "
                             "{lost} updates lost"));
}

// Demo 3 - the lock fixes both (003: lock.acquire() ... lock.release(), then `with lock:`).
void demo_lock() {
    // The seed's fixed counter: the lock is held across increment, pause and print, so each
    // thread prints the value it made - 1 to 10, one thread at a time, in the order they got in.
    std::mutex lock;  // threading.Lock()
    int counter = 0;  // a plain int is fine now: only the lock's holder touches it
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (int i = 1; i <= kThreads; ++i) {
        threads.push_back(std::make_unique<wb::Thread>([&] {
            // with lock:  - std::scoped_lock locks here and unlocks at the closing brace, also
            // when the block is left by return or an exception (Python's with does the same).
            std::scoped_lock guard(lock);
            counter += 1;
            wb::clock::sleep(0.2);  // the seed's sleep(1), shortened: ten of them run one by one
            wb::emit("counter.print", {{"counter", counter}}, wb::from_fields("counter = {counter}"));
        }));
        threads.back()->set_name(std::to_string(i));
    }
    for (auto& t : threads) t->start();
    for (auto& t : threads) t->join();

    // The lost updates, with the read-add-write under the lock: nothing lost.
    constexpr int kPerThread = 1'000'000;
    int total = 0;
    auto add = [&] {
        for (int k = 0; k < kPerThread; ++k) {
            lock.lock();  // lock.acquire()
            total = total + 1;
            lock.unlock();  // lock.release()
        }
    };
    wb::Thread a(add), b(add);
    a.start();
    b.start();
    a.join();
    b.join();
    wb::emit("locked.total",
             {{"threads", 2}, {"per_thread", kPerThread}, {"counter", total}, {"expected", 2 * kPerThread},
              {"lost", 2 * kPerThread - total}},
             wb::from_fields("with the lock: {threads} threads x {per_thread} increments: counter = {counter}"));

    // `with lock` releases on an exception too.
    try {
        std::scoped_lock guard(lock);
        throw std::runtime_error("something failed inside the with block");
    } catch (const std::runtime_error& e) {
        const bool free_again = lock.try_lock();
        if (free_again) lock.unlock();
        wb::emit("with.exception", {{"error", e.what()}, {"lock_free", free_again}},
                 wb::from_fields("an exception left the with block ({error}); the lock is free again: {lock_free}"));
    }
}

// Demo 4 - RLock: one thread may take a recursive lock again; a plain lock taken twice by the
// same thread waits for itself forever. (003: "RLock可以嵌套地acquire和release".)
void demo_rlock() {
    std::recursive_mutex rlock;  // threading.RLock()
    rlock.lock();
    rlock.lock();  // the same thread again: allowed, depth 2
    wb::emit("rlock.twice", {{"depth", 2}},
             wb::from_fields("RLock acquired twice by the same thread: depth {depth}, no waiting"));
    rlock.unlock();
    bool other_got_it = true;
    {
        wb::Thread other([&] {
            other_got_it = rlock.try_lock();
            if (other_got_it) rlock.unlock();
        });
        other.set_name("other");
        other.start();
        other.join();
    }
    wb::emit("rlock.depth1", {{"depth", 1}, {"other_got_it", other_got_it}},
             wb::from_fields("after one release (depth {depth}) another thread tries it: got it = {other_got_it}"));
    rlock.unlock();  // depth 0: free

    // A plain Lock taken twice by one thread. Python's Lock has no owner (any thread may release
    // it; CPython builds it on a semaphore), so the second acquire simply waits for a release
    // that only this thread could do: a deadlock. The faithful C++ translation is
    // std::binary_semaphore, whose try_acquire_for lets the demo report the deadlock after a
    // timeout instead of hanging. (Locking a std::mutex or std::timed_mutex that the calling
    // thread already owns - even with try_lock_for - is undefined behaviour, not a deadlock.)
    constexpr double kTimeout = 2.0;
    std::binary_semaphore lock(1);  // threading.Lock()
    lock.acquire();
    const wb::clock::Stopwatch watch;
    const bool again = lock.try_acquire_for(wb::clock::to_real(kTimeout));
    const double waited = watch.elapsed();
    wb::emit("lock.twice", {{"acquired", again}, {"timeout", kTimeout}, {"waited", waited}},
             wb::from_fields("a plain Lock acquired again by the same thread: gave up after {waited:.2f} s - a "
                             "deadlock without the timeout"));
    if (again) lock.release();
    lock.release();
}

// Demo 5 - the seed's insert/read example (002): task1 fills list1 under the lock, task2 reads
// it under the same lock, so task2 sees all of task1's writes or none.
void demo_insert_read() {
    std::mutex lock;
    std::vector<int> list1(3, 0);  // [0 for i in range(3)]
    wb::ThreadEvent task1_holds_lock;
    wb::Thread t1([&] {
        std::scoped_lock guard(lock);  // lock.acquire()
        task1_holds_lock.set();
        for (int i = 0; i < 3; ++i) {
            list1[static_cast<std::size_t>(i)] = i;
            wb::emit("insert", {{"i", i}}, wb::from_fields("inserted {i}"));
            wb::clock::sleep(0.5);
        }
    });  // lock.release() at the closing brace
    wb::Thread t2([&] {
        std::scoped_lock guard(lock);
        for (int i = 0; i < 3; ++i) {
            const int value = list1[static_cast<std::size_t>(i)];
            wb::emit("read", {{"i", i}, {"value", value}}, wb::from_fields("read {value}"));
            wb::clock::sleep(0.5);
        }
    });
    t1.set_name("aa");
    t2.set_name("bb");
    // The seed starts t1 then t2 and relies on t1 getting the lock first. Waiting until t1
    // holds the lock before starting t2 makes that order certain.
    t1.start();
    task1_holds_lock.wait();
    t2.start();
    t1.join();
    t2.join();
    // The list1 field printed as Python prints a list: [0, 1, 2].
    const wb::Json fields = {{"list1", list1}};
    std::string shown;
    for (const auto& v : fields["list1"]) shown += (shown.empty() ? "" : ", ") + v.dump();
    wb::emit("list", fields, "print(list1): [" + shown + "]");
}

}  // namespace

int main(int argc, char** argv) {
    // Events of the main thread are attributed to "MainThread", Python's name for it.
    wb::set_thread_actor("MainThread");
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "17-race-and-locks",
        .title = "Race and locks",
        .description = "Ten threads increment a shared counter and all print 10; lost updates of an unsynchronised\n"
                       "read-then-write, forced and free-running; the lock (std::mutex, std::scoped_lock as\n"
                       "`with lock`) fixes both; RLock vs a plain Lock taken twice (a deadlock, ended by a\n"
                       "timeout); the seed's insert/read example printing [0, 1, 2].",
        .demos = {
            {"counter-race", "ten threads increment, pause, print: every one prints 10", demo_counter_race},
            {"lost-updates", "read then write in two steps: updates lost, forced and free-running", demo_lost_updates},
            {"lock", "the lock fixes both; with lock as a scoped guard", demo_lock},
            {"rlock", "RLock taken twice by one thread; a plain Lock deadlocks (timeout)", demo_rlock},
            {"insert-read", "task1 inserts, task2 reads under one lock: [0, 1, 2]", demo_insert_read},
        },
    });
}
