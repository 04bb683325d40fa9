// Unit tests of wb/thread.hpp: Thread (three ways to make one, names, the list of live threads,
// join with a timeout, daemons stopped through their stop token) and Timer.
// Threads are held where a test needs them with latches and events, never with sleeps; the
// timeouts that are measured are compared as ratios with a tolerance.
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <fstream>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "wb/clock.hpp"
#include "wb/thread.hpp"
#include "wb/thread_event.hpp"

namespace {

// 0.05: a "1 s" timeout lasts 50 ms, long next to a loaded machine's wake-up latency.
const bool scale_set = [] {
    wb::clock::set_time_scale(0.05);
    return true;
}();

// What the kernel calls the thread (ps -L, /proc/self/task/TID/comm).
std::string os_name_of(pid_t tid) {
    std::ifstream comm("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::string name;
    std::getline(comm, name);
    return name;
}

void add(std::atomic<int>& total, int a, int b) { total += a + b; }

struct Adder {  // a callable object, like the seed's ThreadFunc
    std::atomic<int>* total;
    int amount;
    void operator()() const { *total += amount; }
};

class CountingThread : public wb::Thread {  // a subclass overriding run()
public:
    explicit CountingThread(std::atomic<int>& total) : total_(total) { set_name("counter"); }
    ~CountingThread() override { stop_and_join(); }
    void run() override { total_ += 100; }

private:
    std::atomic<int>& total_;
};

}  // namespace

TEST_CASE("Thread: a function with arguments, a callable object, a subclass", "[thread]") {
    std::atomic<int> total{0};
    wb::Thread by_function(add, std::ref(total), 1, 2);
    wb::Thread by_object(Adder{&total, 10});
    CountingThread by_subclass(total);
    by_function.start();
    by_object.start();
    by_subclass.start();
    by_function.join();
    by_object.join();
    by_subclass.join();
    CHECK(total == 113);
    // run() called directly runs in the caller: no new thread (Python's t.run()).
    by_subclass.run();
    CHECK(total == 213);
}

TEST_CASE("Thread: a target taking a stop_token gets the thread's token", "[thread]") {
    wb::ThreadEvent stopped;
    wb::Thread t([&](std::stop_token stop, int) {
        std::stop_callback on_stop(stop, [&] { stopped.set(); });
        stopped.wait();
    }, 0);
    t.start();
    t.request_stop();
    t.join();
    CHECK(stopped.is_set());
}

TEST_CASE("Thread: default names count Thread-N; the OS thread carries at most 15 bytes of it", "[thread]") {
    wb::detail::reset_thread_numbering();
    std::string seen_inside;
    wb::Thread first([] {});
    wb::Thread second([&] { seen_inside = wb::current_thread_name(); });
    CHECK(first.name() == "Thread-1");
    CHECK(second.name() == "Thread-2");
    second.start();
    second.join();
    CHECK(seen_inside == "Thread-2");

    wb::ThreadEvent release;
    wb::Thread long_name([&] { release.wait(); });
    long_name.set_name("a-very-long-thread-name");
    long_name.start();
    CHECK(long_name.native_id() > 0);
    CHECK(os_name_of(long_name.native_id()) == "a-very-long-thr");  // 15 bytes
    CHECK(long_name.name() == "a-very-long-thread-name");           // the whole name here
    release.set();
    long_name.join();
    CHECK(wb::current_thread_name() == "MainThread");
}

TEST_CASE("Thread: is_alive, active_count and enumerate follow start and end", "[thread]") {
    const std::size_t before = wb::active_count();
    REQUIRE(before == 1);
    wb::ThreadEvent release;
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (int i = 0; i < 3; ++i) {
        threads.push_back(std::make_unique<wb::Thread>([&] { release.wait(); }));
        threads.back()->set_name("worker-" + std::to_string(i));
    }
    CHECK_FALSE(threads[0]->is_alive());  // created, not started
    for (auto& t : threads) t->start();
    // start() returns once the thread is alive: no waiting needed to see it.
    for (auto& t : threads) CHECK(t->is_alive());
    CHECK(wb::active_count() == 4);
    const auto live = wb::enumerate_threads();
    REQUIRE(live.size() == 4);
    CHECK(live[0].name == "MainThread");
    CHECK(live[0].native_id == ::getpid());
    for (int i = 0; i < 3; ++i) {
        CHECK(live[i + 1].name == "worker-" + std::to_string(i));
        CHECK(live[i + 1].native_id == threads[i]->native_id());
        CHECK(live[i + 1].native_id != ::getpid());
    }
    release.set();
    for (auto& t : threads) t->join();
    for (auto& t : threads) CHECK_FALSE(t->is_alive());
    CHECK(wb::active_count() == 1);
}

TEST_CASE("Thread: start twice, join before start, join itself are errors", "[thread]") {
    wb::Thread never_started([] {});
    CHECK_THROWS_AS(never_started.join(), std::logic_error);
    CHECK_THROWS_AS(never_started.join(1.0), std::logic_error);

    std::string self_join_error;
    wb::Thread* self = nullptr;
    wb::ThreadEvent ready;
    wb::Thread t([&] {
        ready.wait();
        try {
            self->join();
        } catch (const std::logic_error& e) {
            self_join_error = e.what();
        }
    });
    self = &t;
    t.start();
    CHECK_THROWS_WITH(t.start(), "threads can only be started once");
    CHECK_THROWS_AS(t.set_daemon(true), std::logic_error);
    ready.set();
    t.join();
    t.join();  // joining an ended thread again returns at once
    CHECK(self_join_error == "cannot join current thread");
}

TEST_CASE("Thread: join(timeout) returns false after the timeout while the thread runs", "[thread]") {
    wb::ThreadEvent release;
    wb::Thread t([&] { release.wait(); });
    t.start();
    const wb::clock::Stopwatch watch;
    const bool ended = t.join(1.0);
    const double waited = watch.elapsed();
    CHECK_FALSE(ended);
    CHECK(t.is_alive());
    CHECK(waited / 1.0 >= 0.99);
    CHECK(waited / 1.0 <= 3.0);  // generous: a loaded machine wakes late, never early
    release.set();
    CHECK(t.join(1e6));
    CHECK_FALSE(t.is_alive());
}

TEST_CASE("Thread: an exception in run() ends the thread, not the program", "[thread]") {
    wb::Thread t([] { throw std::runtime_error("boom"); });
    t.start();
    t.join();
    CHECK_FALSE(t.is_alive());
}

TEST_CASE("Thread: a daemon is asked to stop when destroyed; a non-daemon is waited for", "[thread]") {
    std::atomic<int> ticks{0};
    std::atomic<bool> cut_short{false};
    std::latch ticked(1);
    {
        wb::Thread daemon([&] {
            // An endless loop, written with the library's stop-aware sleep.
            for (;;) {
                ticks += 1;
                if (ticks == 1) ticked.count_down();
                if (!wb::this_thread::sleep(1e6)) {  // "forever", unless stopped
                    cut_short = true;
                    return;
                }
            }
        });
        daemon.set_daemon(true);
        daemon.start();
        ticked.wait();
    }  // the destructor requests the stop and joins
    CHECK(cut_short);
    CHECK(ticks == 1);

    std::atomic<bool> finished{false};
    {
        wb::ThreadEvent go;
        wb::Thread worker([&] {
            go.wait();
            finished = true;
        });
        worker.start();
        go.set();
    }  // joined by the destructor: it ran to its end
    CHECK(finished);
}

TEST_CASE("this_thread::sleep outside a wb::Thread is a plain scaled sleep", "[thread]") {
    const wb::clock::Stopwatch watch;
    CHECK(wb::this_thread::sleep(0.2));
    CHECK(watch.elapsed() >= 0.2 - 1e-3);
    CHECK_FALSE(wb::this_thread::stop_token().stop_possible());
}

TEST_CASE("Timer: fires after its interval; a cancelled one never fires", "[thread][timer]") {
    std::atomic<double> fired_at{-1};
    const wb::clock::Stopwatch watch;
    wb::Timer timer(1.0, [&] { fired_at = watch.elapsed(); });
    timer.start();
    timer.join();
    CHECK(timer.fired());
    CHECK(fired_at / 1.0 >= 0.99);
    CHECK(fired_at / 1.0 <= 3.0);

    std::atomic<bool> called{false};
    wb::Timer cancelled(5.0, [&] { called = true; });
    cancelled.start();
    const wb::clock::Stopwatch cancel_watch;
    cancelled.cancel();
    cancelled.join();
    CHECK_FALSE(cancelled.fired());
    CHECK_FALSE(called);
    CHECK(cancel_watch.elapsed() < 5.0);  // cancel() ended the wait; it did not run out

    // Cancelled before start: run() returns at once.
    wb::Timer early(5.0, [&] { called = true; });
    early.cancel();
    early.start();
    early.join();
    CHECK_FALSE(called);
    // A cancel after the function ran changes nothing.
    timer.cancel();
    CHECK(timer.fired());
}

TEST_CASE("Timer: a daemon timer destroyed while waiting is stopped, not fired", "[thread][timer]") {
    std::atomic<bool> called{false};
    {
        wb::Timer timer(1e6, [&] { called = true; });
        timer.set_daemon(true);
        timer.start();
    }
    CHECK_FALSE(called);
}

TEST_CASE("fork() from a program with live threads: the child sees only itself", "[thread]") {
    wb::ThreadEvent release;
    wb::Thread t([&] { release.wait(); });
    t.start();
    REQUIRE(wb::active_count() == 2);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(static_cast<int>(wb::active_count()));
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    release.set();
    t.join();
}

TEST_CASE("start_all: a thread that cannot start releases the ones already waiting for it", "[thread]") {
    // Three threads wait at a latch for each other. The third cannot be started (it was started
    // already: std::logic_error stands for pthread_create's EAGAIN here). Without the release the
    // first two would wait forever and so would their destructors' joins.
    std::latch all_there(3);
    wb::Thread a([&] { all_there.arrive_and_wait(); }), b([&] { all_there.arrive_and_wait(); });
    wb::Thread c([] {});
    c.start();
    c.join();
    std::size_t released_with = 99;
    REQUIRE_THROWS_AS(wb::start_all(std::array{&a, &b, &c},
                                    [&](std::size_t started) {
                                        released_with = started;
                                        all_there.count_down(static_cast<std::ptrdiff_t>(3 - started));
                                    }),
                      std::logic_error);
    CHECK(released_with == 2);
    CHECK(a.join(wb::clock::safety_timeout(10, std::chrono::seconds(5))));
    CHECK(b.join(wb::clock::safety_timeout(10, std::chrono::seconds(5))));
}

TEST_CASE("start_all: when every thread starts, release is not called", "[thread]") {
    std::vector<std::unique_ptr<wb::Thread>> threads;
    std::atomic<int> ran{0};
    for (int i = 0; i < 3; ++i) threads.push_back(std::make_unique<wb::Thread>([&] { ++ran; }));
    bool released = false;
    wb::start_all(threads, [&](std::size_t) { released = true; });
    for (auto& t : threads) t->join();
    CHECK_FALSE(released);
    CHECK(ran == 3);
}
