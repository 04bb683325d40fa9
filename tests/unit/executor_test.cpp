// Unit tests of wb/executor.hpp: ThreadPoolExecutor, Future, wait, as_completed, map, shutdown,
// the named pools (vthread).
// Calls are held where a test needs them with events and latches, never with sleeps; a completion
// order is forced by making each call wait for the previous one's result. The few durations
// measured are compared as ratios with a tolerance.
#include <atomic>
#include <latch>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "wb/clock.hpp"
#include "wb/executor.hpp"
#include "wb/thread.hpp"
#include "wb/thread_event.hpp"

namespace {

// 0.05: a "1 s" timeout lasts 50 ms, long next to a loaded machine's wake-up latency.
const bool scale_set = [] {
    wb::clock::set_time_scale(0.05);
    return true;
}();

int square(int x) { return x * x; }

struct Oops : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace

TEST_CASE("submit returns a future with the value; the call runs in a named worker", "[executor]") {
    wb::ThreadPoolExecutor ex(2, "unit");
    auto f = ex.submit(square, 7);
    CHECK(f.result() == 49);
    CHECK(f.done());
    CHECK_FALSE(f.running());
    CHECK_FALSE(f.cancelled());
    CHECK(f.status() == wb::FutureStatus::finished);
    CHECK(f.exception() == nullptr);
    auto name = ex.submit([] { return wb::current_thread_name(); });
    const std::string n = name.result();
    CHECK((n == "unit_0" || n == "unit_1"));
    // void calls, and arguments copied at submit time.
    std::atomic<int> total{0};
    int arg = 5;
    auto v = ex.submit([&total](int a) { total += a; }, arg);
    arg = 100;
    v.result();
    CHECK(total == 5);
    CHECK(ex.worker_count() <= 2);
}

TEST_CASE("workers start lazily, at most max_workers, named prefix_N", "[executor]") {
    wb::ThreadEvent release;  // the events outlive the pool (declared before it)
    std::latch all_in(3);
    wb::ThreadPoolExecutor ex(3, "lazy");
    CHECK(ex.worker_count() == 0);
    std::vector<wb::Future<std::string>> fs;
    for (int i = 0; i < 3; ++i) {
        fs.push_back(ex.submit([&] {
            all_in.count_down();
            release.wait();
            return wb::current_thread_name();
        }));
    }
    all_in.wait();  // three calls running at once: three workers
    CHECK(ex.worker_count() == 3);
    auto queued = ex.submit([] { return wb::current_thread_name(); });
    CHECK(ex.worker_count() == 3);  // never more than max_workers
    CHECK(queued.status() == wb::FutureStatus::pending);
    release.set();
    std::set<std::string> names;
    for (auto& f : fs) names.insert(f.result());
    CHECK(names == std::set<std::string>{"lazy_0", "lazy_1", "lazy_2"});
    CHECK(names.count(queued.result()) == 1);
    CHECK_THROWS_AS(wb::ThreadPoolExecutor(0), std::invalid_argument);
}

TEST_CASE("an exception thrown by the call is delivered through its future", "[executor]") {
    wb::ThreadPoolExecutor ex(1);
    auto f = ex.submit([]() -> int { throw Oops("bad input"); });
    CHECK_THROWS_AS(f.result(), Oops);  // the same type, rethrown
    CHECK_THROWS_WITH(f.result(), "bad input");
    const std::exception_ptr e = f.exception();
    REQUIRE(e != nullptr);
    CHECK_THROWS_AS(std::rethrow_exception(e), Oops);
    CHECK(f.done());
    // The worker goes on with the next call.
    CHECK(ex.submit(square, 3).result() == 9);
}

TEST_CASE("result(timeout) and exception(timeout) time out; the call goes on", "[executor]") {
    wb::ThreadEvent release;
    wb::ThreadPoolExecutor ex(1);
    auto f = ex.submit([&] {
        release.wait();
        return 1;
    });
    const wb::clock::Stopwatch watch;
    CHECK_THROWS_AS(f.result(0.5), wb::TimeoutError);
    const double waited = watch.elapsed();
    CHECK(waited / 0.5 >= 0.99);
    CHECK(waited / 0.5 <= 20.0);  // generous: only "it did not wait forever"
    CHECK_THROWS_AS(f.exception(0), wb::TimeoutError);
    CHECK_FALSE(f.done());
    release.set();
    CHECK(f.result() == 1);
}

TEST_CASE("cancel: only a pending call; a cancelled future raises CancelledError", "[executor]") {
    wb::ThreadEvent release;
    std::latch started(1);
    wb::ThreadPoolExecutor ex(1);
    auto running = ex.submit([&] {
        started.count_down();
        release.wait();
        return 1;
    });
    started.wait();
    std::atomic<bool> ran{false};
    auto queued = ex.submit([&] { ran = true; });
    CHECK(running.running());
    CHECK_FALSE(running.cancel());
    CHECK(queued.cancel());
    CHECK(queued.cancel());  // already cancelled: still true
    CHECK(queued.cancelled());
    CHECK(queued.done());
    CHECK_THROWS_AS(queued.result(), wb::CancelledError);
    CHECK_THROWS_AS(queued.exception(), wb::CancelledError);
    release.set();
    CHECK(running.result() == 1);
    ex.shutdown();
    CHECK_FALSE(ran);
    CHECK_FALSE(running.cancel());  // finished
}

TEST_CASE("as_completed yields in completion order", "[executor]") {
    // Completion order forced: c finishes first, a waits for c's result, b for a's.
    wb::ThreadEvent go;
    wb::ThreadPoolExecutor ex(3);
    auto c = ex.submit([&] {
        go.wait();
        return 'c';
    });
    auto a = ex.submit([&c] { return c.result() == 'c' ? 'a' : '?'; });
    auto b = ex.submit([&a] { return a.result() == 'a' ? 'b' : '?'; });
    std::string order;
    auto completed = wb::as_completed(std::vector{a, b, c});
    go.set();
    for (wb::Future<char> f : completed) order += f.result();
    CHECK(order == "cab");

    // Those done before the call come first, in input order; duplicates once.
    std::string again;
    for (auto f : wb::as_completed(std::vector{b, a, b, c})) again += f.result();
    CHECK(again == "bac");
}

TEST_CASE("as_completed times out with the futures not done", "[executor]") {
    wb::ThreadEvent release;
    wb::ThreadPoolExecutor ex(2);
    auto quick = ex.submit(square, 2);
    quick.result();
    auto slow = ex.submit([&] {
        release.wait();
        return 0;
    });
    std::vector<int> seen;
    auto completed = wb::as_completed(std::vector{quick, slow}, 0.3);
    CHECK_THROWS_AS([&] { for (auto f : completed) seen.push_back(f.result()); }(), wb::TimeoutError);
    CHECK(seen == std::vector<int>{4});
    release.set();
}

TEST_CASE("wait: first_completed, first_exception, all_completed, timeout", "[executor]") {
    wb::ThreadEvent release_a, release_b, release_c;
    wb::ThreadPoolExecutor ex(3);
    auto a = ex.submit([&] {
        release_a.wait();
        return 1;
    });
    auto b = ex.submit([&] {
        release_b.wait();
        return 2;
    });
    const std::vector fs{a, b};

    auto none = wb::wait(fs, 0.1);  // timeout: nothing done
    CHECK(none.done.empty());
    CHECK(none.not_done.size() == 2);

    release_b.set();
    auto first = wb::wait(fs, wb::forever, wb::ReturnWhen::first_completed);
    REQUIRE(first.done.size() == 1);
    CHECK(first.done[0] == b);
    CHECK(first.not_done == std::vector{a});

    release_a.set();
    auto all = wb::wait(fs);
    CHECK(all.done == fs);  // input order
    CHECK(all.not_done.empty());

    // first_exception: returns at the first call that threw, while another still runs.
    auto c = ex.submit([&]() -> int {
        release_c.wait();
        return 3;
    });
    auto d = ex.submit([]() -> int { throw Oops("d"); });
    auto fe = wb::wait(std::vector{c, d}, wb::forever, wb::ReturnWhen::first_exception);
    CHECK(fe.done == std::vector{d});
    CHECK(fe.not_done == std::vector{c});
    release_c.set();
    // With no exception at all it waits for all.
    auto fe2 = wb::wait(std::vector{a, b, c}, wb::forever, wb::ReturnWhen::first_exception);
    CHECK(fe2.done.size() == 3);
}

TEST_CASE("map returns the results in input order, whatever order they finish in", "[executor]") {
    std::latch all_running(4);
    wb::ThreadPoolExecutor ex(4);
    // Every call waits until all four run, then they finish in any order.
    auto results = ex.map(
        [&](int x) {
            all_running.arrive_and_wait();
            return x * 10;
        },
        std::vector{4, 3, 2, 1});
    CHECK(results == std::vector{40, 30, 20, 10});
    CHECK(ex.map(square, std::vector<int>{}).empty());

    // An exception propagates; calls not yet started are cancelled. Call 2, if the worker takes
    // it before map() cancels it, holds the one worker until map() has thrown, so calls 3-8 are
    // certainly still queued when map() cancels them.
    std::atomic<int> ran{0};
    wb::ThreadEvent map_threw;
    wb::ThreadPoolExecutor one(1);
    CHECK_THROWS_AS(one.map(
                        [&](int x) {
                            ++ran;
                            if (x == 1) throw Oops("one");
                            if (x == 2) map_threw.wait();
                            return x;
                        },
                        std::vector{1, 2, 3, 4, 5, 6, 7, 8}),
                    Oops);
    map_threw.set();
    one.shutdown();
    CHECK(ran >= 1);
    CHECK(ran <= 2);  // calls 3-8 never ran
}

TEST_CASE("shutdown(cancel_futures) cancels the queued calls, not the running one", "[executor]") {
    wb::ThreadEvent release;
    std::latch started(1);
    wb::ThreadPoolExecutor ex(1, "cancel");
    auto running = ex.submit([&] {
        started.count_down();
        release.wait();
        return 1;
    });
    started.wait();
    std::vector<wb::Future<int>> queued;
    for (int i = 0; i < 5; ++i) queued.push_back(ex.submit(square, i));
    ex.shutdown(false, true);  // returns at once: the running call is still held
    for (auto& q : queued) CHECK(q.cancelled());
    CHECK(running.running());
    release.set();
    CHECK(running.result() == 1);
    ex.shutdown();  // now wait for the workers
    CHECK(running.done());
}

TEST_CASE("shutdown(wait) runs the queue empty; submit after shutdown is an error", "[executor]") {
    std::vector<wb::Future<int>> fs;
    {
        wb::ThreadPoolExecutor ex(2);  // with ThreadPoolExecutor(2) as ex:
        for (int i = 0; i < 10; ++i) fs.push_back(ex.submit(square, i));
        ex.shutdown();
        for (auto& f : fs) CHECK(f.done());
        CHECK_THROWS_AS(ex.submit(square, 1), std::logic_error);
        CHECK_THROWS_WITH(ex.submit(square, 1), "cannot schedule new futures after shutdown");
    }
    int i = 0;
    for (auto& f : fs) CHECK(f.result() == square(i++));

    // The scope form: the destructor waits for every call.
    std::atomic<int> count{0};
    {
        wb::ThreadPoolExecutor ex(2);
        for (int k = 0; k < 20; ++k) ex.submit([&] { ++count; });
    }
    CHECK(count == 20);
}

TEST_CASE("join waits for every call without shutting down", "[executor]") {
    wb::ThreadEvent release;
    wb::ThreadPoolExecutor ex(2);
    ex.submit([&] { release.wait(); });
    CHECK_FALSE(ex.join(0.1));
    release.set();
    CHECK(ex.join());
    CHECK(ex.submit(square, 2).result() == 4);  // still accepting
}

TEST_CASE("a pool pays off: 8 calls of 0.4 s on 4 workers take about a quarter", "[executor]") {
    wb::ThreadPoolExecutor ex(4);
    const wb::clock::Stopwatch watch;
    std::vector<wb::Future<void>> fs;
    for (int i = 0; i < 8; ++i) fs.push_back(ex.submit([] { wb::clock::sleep(0.4); }));
    wb::wait(fs);
    const double ratio = watch.elapsed() / (8 * 0.4);
    CHECK(ratio >= 0.25 * 0.99);
    CHECK(ratio <= 0.25 * 3);  // serial would be 1.0
}

TEST_CASE("named pools: same name same pool, calls run there, join and shutdown", "[executor]") {
    std::atomic<int> sum{0};
    auto add = wb::pool(3, "unitpool")([&sum](int n) {
        sum += n;
        return wb::current_thread_name();
    });
    auto same = wb::pool(3, "unitpool");
    CHECK(same.name() == "unitpool");
    CHECK(same.size() == 3);
    CHECK(&same.executor() == &wb::pool(3, "unitpool").executor());
    CHECK_THROWS_AS(wb::pool(4, "unitpool"), std::invalid_argument);
    auto other = wb::pool(1, "unitother")([&sum] { sum += 1000; });
    std::vector<wb::Future<std::string>> fs;
    for (int i = 1; i <= 10; ++i) fs.push_back(add(i));
    other();
    CHECK(same.join());
    CHECK(sum >= 55);
    for (auto& f : fs) {
        const std::string n = f.result();
        CHECK((n == "unitpool_0" || n == "unitpool_1" || n == "unitpool_2"));
    }
    wb::shutdown_named_pools();  // what vthread does at exit
    CHECK(sum == 1055);
    CHECK_THROWS_AS(add(1), std::logic_error);  // its pool is gone
    // A fresh pool of that name afterwards.
    auto again = wb::pool(2, "unitpool")([] { return 1; });
    CHECK(again().result() == 1);
    wb::shutdown_named_pools();
}
