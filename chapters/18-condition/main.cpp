// Chapter 18 - Condition.
//
// Seed: 003 0x02 (Condition: acquire, release, wait(timeout), notify(n=1), notifyAll; wait and
// notify without the lock raise RuntimeError; the example of 99 threads that increment, sleep,
// print, notify and wait - and whose last thread waits forever).
// A Condition is a lock with a waiting room: a thread holding the lock may wait(), which gives the
// lock up and sleeps until another thread, holding the lock, notifies it. wb::Condition
// (common/include/wb/condition.hpp) is Python's threading.Condition: the lock is part of it,
// misuse is an error you can catch, and notify(n) wakes exactly the n threads that waited longest.
#include <chrono>
#include <memory>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/condition.hpp"
#include "wb/output.hpp"
#include "wb/thread.hpp"
#include "wb/thread_event.hpp"

namespace {

// How long a wait may last before the demo calls it a hang: 3 s, but at least 1 s of real time so
// a loaded machine at a tiny time scale does not cut a healthy wait short.
double hang_timeout() { return wb::clock::safety_timeout(3.0, std::chrono::seconds(1)); }

// Demo 1 - ping-pong: the seed's run() (increment, sleep, print, notify, wait) in a loop, by two
// threads. Each notify wakes the other thread, each wait hands the lock over to it, so the two
// take strict turns. The last print must not wait: nobody is left to notify it (demo 4 shows what
// happens otherwise).
void demo_ping_pong() {
    constexpr int kRounds = 3;
    wb::Condition con;  // threading.Condition()
    int counter = 0;    // guarded by con
    wb::ThreadEvent ping_holds_lock;
    auto player = [&](bool first) {
        con.acquire();  // self.con.acquire()
        if (first) ping_holds_lock.set();
        for (int round = 1; round <= kRounds; ++round) {
            counter += 1;
            wb::clock::sleep(0.2);  // the seed's sleep(1): the other thread waits meanwhile
            wb::emit("pingpong.print", {{"counter", counter}, {"round", round}},
                     wb::from_fields("counter = {counter}"));
            con.notify();  // wake the other player (it runs once we give the lock up)
            const bool last = !first && round == kRounds;
            if (!last && !con.wait(hang_timeout())) {  // give the lock up until the other notifies
                wb::emit("pingpong.timeout", {{"round", round}}, wb::from_fields("nobody notified me (round {round})"));
                break;
            }
        }
        con.release();  // self.con.release()
    };
    wb::Thread ping(player, true), pong(player, false);
    ping.set_name("ping");
    pong.set_name("pong");
    // Who gets the lock first is the scheduler's choice; starting pong only once ping holds the
    // lock makes ping the one that prints 1.
    ping.start();
    ping_holds_lock.wait();
    pong.start();
    ping.join();
    pong.join();
    wb::note("ping printed the odd numbers, pong the even ones: notify() woke the other thread,\n"
             "wait() gave it the lock. Only pong's last round did not wait - nobody would have woken it.");
}

// Demo 2 - notify(n) wakes at most n waiters, the longest-waiting first; notify_all wakes the rest.
// Five threads wait, started one after the other so that waiter-1 has waited longest. Each takes
// its place in line while holding the lock and keeps the lock until wait() gives it up: once main
// holds the lock after all five took their places, all five are certainly waiting - no sleep that
// hopes.
void demo_notify_n() {
    constexpr int kWaiters = 5;
    wb::Condition con;
    int in_line = 0;                            // guarded by con
    std::binary_semaphore took_place(0);        // a waiter has taken its place in line
    std::counting_semaphore<kWaiters> woke(0);  // each woken waiter releases it once
    const auto safety = wb::clock::to_real(hang_timeout());
    std::vector<std::unique_ptr<wb::Thread>> waiters;
    for (int i = 1; i <= kWaiters; ++i) {
        waiters.push_back(std::make_unique<wb::Thread>([&] {
            std::unique_lock guard(con);  // with con:
            const int place = ++in_line;
            wb::emit("waiter.waiting", {{"place", place}}, wb::from_fields("waiting, place {place} in line"));
            took_place.release();
            const bool notified = con.wait(hang_timeout());
            wb::emit("waiter.woken", {{"place", place}, {"notified", notified}},
                     notified ? wb::from_fields("woken (place {place})") : wb::from_fields("timed out (place {place})"));
            woke.release();
        }));
        waiters.back()->set_name(fmt::format("waiter-{}", i));
        waiters.back()->start();
        if (!took_place.try_acquire_for(safety)) throw std::runtime_error("a waiter never took its place");
    }

    // Wakes two, waits until those two have run, and says how many still wait.
    const auto notify_and_count = [&](const char* event, int n, bool all) {
        std::size_t before = 0, after = 0;
        {
            std::scoped_lock guard(con);
            before = con.waiting();
            if (all) con.notify_all(); else con.notify(n);
            after = con.waiting();
        }
        const auto woke_count = static_cast<int>(before - after);
        for (int k = 0; k < woke_count; ++k) {
            if (!woke.try_acquire_for(safety)) throw std::runtime_error("a woken waiter never ran");
        }
        const std::string call = all ? std::string("notify_all()") : fmt::format("notify({})", n);
        wb::emit(event, {{"call", call}, {"waiting_before", before}, {"woke", woke_count}, {"still_waiting", after}},
                 wb::from_fields("{call}: {waiting_before} were waiting, {woke} woke, {still_waiting} still wait"));
    };
    notify_and_count("notify", 2, false);
    notify_and_count("notify_all", 0, true);
    for (auto& w : waiters) w->join();
    wb::note("notify(2) woke places 1 and 2 - the two that had waited longest - and nobody else;\n"
             "notify_all() woke the three left. A notify with nobody waiting would wake nobody later.");
}

// Demo 3 - wait() and notify() without holding the lock: RuntimeError in Python, std::logic_error
// here. (std::condition_variable cannot tell: waiting with an unlocked mutex is undefined
// behaviour, and notifying without the lock is allowed - and loses wake-ups if done carelessly.)
void demo_without_lock() {
    wb::Condition con;
    const auto attempt = [](const char* call, const char* lock, auto&& f) {
        try {
            f();
            wb::emit("misuse", {{"call", call}, {"lock", lock}, {"error", nullptr}},
                     wb::from_fields("{call} with the lock {lock}: no error?!"));
        } catch (const std::logic_error& e) {
            wb::emit("misuse", {{"call", call}, {"lock", lock}, {"error", e.what()}},
                     wb::from_fields("{call} with the lock {lock}: error: {error}"));
        }
    };
    attempt("wait()", "free", [&] { con.wait(); });
    attempt("wait(1)", "free", [&] { (void)con.wait(1.0); });
    attempt("notify()", "free", [&] { con.notify(); });
    attempt("notify_all()", "free", [&] { con.notify_all(); });
    attempt("release()", "free", [&] { con.release(); });
    // The lock held by another thread is not held by us either.
    wb::ThreadEvent holding, done;
    wb::Thread holder([&] {
        std::scoped_lock guard(con);
        holding.set();
        (void)done.wait(hang_timeout());
    });
    holder.set_name("holder");
    holder.start();
    holding.wait();
    attempt("notify()", "held by holder", [&] { con.notify(); });
    done.set();
    holder.join();
}

// Demo 4 - the seed's example: every thread increments, sleeps, prints, notify()s and wait()s.
// Thread k's notify wakes thread k-1, which then releases the lock and ends. But the LAST thread to
// print waits for a notify that nobody will send: the Python program never ends. Here that wait
// has a timeout, and the demo reports it. (The seed starts 99 threads; 10 show the same.)
void demo_seed_hang() {
    constexpr int kThreads = 10;
    wb::Condition con;
    int counter = 0;  // counter[0], guarded by con
    const double timeout = hang_timeout();
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (int i = 1; i <= kThreads; ++i) {
        threads.push_back(std::make_unique<wb::Thread>([&] {
            con.acquire();  // self.con.acquire()
            counter += 1;
            const int mine = counter;
            wb::clock::sleep(0.2);  // sleep(1)
            const std::size_t woke = con.waiting();  // what the notify below will wake (0 or 1)
            con.notify();                            // con.notify()
            wb::emit("seed.print", {{"counter", mine}, {"woke", woke}},
                     wb::from_fields("counter = {counter} (notify woke {woke})"));
            const wb::clock::Stopwatch watch;
            const bool notified = con.wait(timeout);  // con.wait(): in Python, no timeout
            if (notified) {
                wb::emit("seed.woken", {{"counter", mine}}, wb::from_fields("notified, ends (counter was {counter})"));
            } else {
                wb::emit("seed.hang", {{"counter", mine}, {"timeout", timeout}, {"waited", watch.elapsed()}},
                         wb::from_fields("nobody notified me after {waited:.2f} s: the Python program hangs here"));
            }
            con.release();  // self.con.release()
        }));
        threads.back()->set_name(std::to_string(i));  // MyThread(counter, i, con)
    }
    for (auto& t : threads) t->start();
    for (auto& t : threads) t->join();

    // The fix: wait for a STATE, not for a notify. wait_for(predicate) checks before waiting, so the
    // thread that prints last - for which "someone came after me" can never become true, but
    // "everyone has printed" already is - does not wait at all.
    counter = 0;
    int waits_ended = 0;  // guarded by con
    threads.clear();
    for (int i = 1; i <= kThreads; ++i) {
        threads.push_back(std::make_unique<wb::Thread>([&] {
            std::scoped_lock guard(con);
            counter += 1;
            const int mine = counter;
            con.notify();
            const bool ok = con.wait_for([&] { return counter > mine || counter == kThreads; }, timeout);
            waits_ended += ok ? 1 : 0;
        }));
        threads.back()->set_name(std::to_string(i));
    }
    for (auto& t : threads) t->start();
    for (auto& t : threads) t->join();
    wb::emit("fixed.done", {{"threads", kThreads}, {"ended", waits_ended}},
             wb::from_fields("with wait_for(someone came after me, or all {threads} are done): {ended} of {threads} "
                             "threads ended without a timeout"));
}

}  // namespace

int main(int argc, char** argv) {
    // Events of the main thread are attributed to "MainThread", Python's name for it.
    wb::set_thread_actor("MainThread");
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "18-condition",
        .title = "Condition",
        .description = "threading.Condition as wb::Condition: two threads play ping-pong with notify() and wait();\n"
                       "notify(2) wakes exactly the two longest-waiting of five, notify_all() the rest; waiting or\n"
                       "notifying without the lock is an error; the seed's example, whose last thread waits for a\n"
                       "notify nobody sends (ended here by a timeout), and its fix with wait_for.",
        .demos = {
            {"ping-pong", "two threads take turns: notify() wakes the other, wait() hands it the lock", demo_ping_pong},
            {"notify-n", "five waiters: notify(2) wakes the two longest-waiting, notify_all() the rest", demo_notify_n},
            {"without-lock", "wait() and notify() without holding the lock: an error", demo_without_lock},
            {"seed-hang", "the seed's example: the last waiter is never notified (timeout); the wait_for fix", demo_seed_hang},
        },
    });
}
