// Unit tests of wb/thread_queue.hpp: Queue, LifoQueue and PriorityQueue between threads.
// Empty and Full (nowait and timeout), the three orders, a blocked put released by a get,
// task_done/join and its misuse error, the stop token ending a get, and many producers with many
// consumers delivering every item exactly once. Threads are held with events and latches; the
// timeouts that are measured are compared as ratios with a tolerance.
#include <algorithm>
#include <atomic>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "wb/clock.hpp"
#include "wb/thread.hpp"
#include "wb/thread_event.hpp"
#include "wb/thread_queue.hpp"

namespace {

using wb::threads::Empty;
using wb::threads::Full;
using wb::threads::LifoQueue;
using wb::threads::PriorityQueue;
using wb::threads::Queue;

// 0.05: a "1 s" timeout lasts 50 ms, long next to a loaded machine's wake-up latency.
const bool scale_set = [] {
    wb::clock::set_time_scale(0.05);
    return true;
}();

// A safety net: long enough that only a broken queue exhausts it.
double safety() { return wb::clock::safety_timeout(100.0, std::chrono::seconds(20)); }

template <typename Q>
std::vector<int> drain(Q& q) {
    std::vector<int> out;
    while (auto item = q.try_get()) out.push_back(*item);
    return out;
}

}  // namespace

TEST_CASE("thread queues: the three orders", "[thread_queue]") {
    Queue<int> fifo;
    LifoQueue<int> lifo;
    PriorityQueue<int> smallest_first;
    PriorityQueue<int, std::greater<int>> largest_first;
    for (int v : {3, 1, 4, 1, 5, 9, 2, 6}) {
        fifo.put(v);
        lifo.put(v);
        smallest_first.put(v);
        largest_first.put(v);
    }
    CHECK(fifo.qsize() == 8);
    CHECK(drain(fifo) == std::vector<int>{3, 1, 4, 1, 5, 9, 2, 6});
    CHECK(drain(lifo) == std::vector<int>{6, 2, 9, 5, 1, 4, 1, 3});
    CHECK(drain(smallest_first) == std::vector<int>{1, 1, 2, 3, 4, 5, 6, 9});
    CHECK(drain(largest_first) == std::vector<int>{9, 6, 5, 4, 3, 2, 1, 1});

    // (priority, data), as Python's documentation suggests: compared like a tuple.
    PriorityQueue<std::pair<int, std::string>> jobs;
    jobs.put({2, "code"});
    jobs.put({1, "eat"});
    jobs.put({3, "sleep"});
    jobs.put({1, "drink"});
    std::vector<std::string> order;
    while (!jobs.empty()) order.push_back(jobs.get().second);
    CHECK(order == std::vector<std::string>{"drink", "eat", "code", "sleep"});
}

TEST_CASE("thread queues: move-only items are moved in and out", "[thread_queue]") {
    Queue<std::unique_ptr<int>> q(2);
    q.put(std::make_unique<int>(7));
    auto p = std::make_unique<int>(8);
    q.put_nowait(std::move(p));
    CHECK(p == nullptr);
    CHECK(*q.get() == 7);
    CHECK(*q.get_nowait() == 8);
    LifoQueue<std::unique_ptr<int>> lifo;
    lifo.put(std::make_unique<int>(1), 1.0);
    CHECK(*lifo.get(1.0) == 1);
}

TEST_CASE("thread queues: Empty and Full without waiting", "[thread_queue]") {
    Queue<int> q(2);
    CHECK(q.maxsize() == 2);
    CHECK(q.empty());
    CHECK_FALSE(q.full());
    CHECK_THROWS_AS(q.get_nowait(), Empty);
    CHECK_FALSE(q.try_get().has_value());
    q.put_nowait(1);
    q.put_nowait(2);
    CHECK(q.full());
    CHECK_THROWS_AS(q.put_nowait(3), Full);
    CHECK_THROWS_AS(q.put_nowait(3), wb::QueueFull);  // the same exception as the process queue's
    CHECK(q.qsize() == 2);  // the refused item was not added
    // A timeout <= 0 only looks.
    CHECK_THROWS_AS(q.put(3, 0.0), Full);
    CHECK(q.get(-1.0) == 1);
    CHECK(q.get(0.0) == 2);
    CHECK_THROWS_AS(q.get(0.0), Empty);

    // maxsize < 1: no limit.
    for (long unbounded : {0L, -1L}) {
        LifoQueue<int> big(unbounded);
        CHECK(big.maxsize() == 0);
        for (int i = 0; i < 10000; ++i) big.put_nowait(i);
        CHECK_FALSE(big.full());
        CHECK(big.qsize() == 10000);
    }
}

TEST_CASE("thread queues: timed get raises Empty, timed put raises Full, after the timeout", "[thread_queue]") {
    Queue<int> q(1);
    {
        const wb::clock::Stopwatch watch;
        CHECK_THROWS_AS(q.get(1.0), Empty);  // Empty, never Full (the seed says Full)
        const double waited = watch.elapsed();
        CHECK(waited / 1.0 >= 0.99);
        CHECK(waited / 1.0 <= 3.0);  // generous: a loaded machine wakes late, never early
    }
    q.put(1);
    {
        const wb::clock::Stopwatch watch;
        CHECK_THROWS_AS(q.put(2, 1.0), Full);
        const double waited = watch.elapsed();
        CHECK(waited / 1.0 >= 0.99);
        CHECK(waited / 1.0 <= 3.0);
    }
    CHECK(q.qsize() == 1);
    // With a stop token too: the timeout still raises Empty when no stop comes.
    std::stop_source never;
    CHECK(q.get(never.get_token(), 1.0) == 1);
    CHECK_THROWS_AS(q.get(never.get_token(), 0.5), Empty);
}

TEST_CASE("thread queues: a put blocked on a full queue goes on after a get", "[thread_queue]") {
    Queue<int> q(1);
    q.put(1);
    wb::ThreadEvent putting;
    wb::ThreadEvent put_returned;
    wb::Thread producer([&] {
        putting.set();
        q.put(2);  // blocks: the queue is full
        put_returned.set();
    });
    producer.start();
    REQUIRE(putting.wait(safety()));
    // It stays blocked while nobody takes: not a sleep that hopes, a property that must hold.
    CHECK_FALSE(put_returned.wait(1.0));
    CHECK(q.qsize() == 1);
    CHECK(q.get() == 1);  // makes room
    CHECK(put_returned.wait(safety()));
    CHECK(q.get(safety()) == 2);
    producer.join();

    // And a get blocked on an empty queue goes on after a put.
    wb::ThreadEvent got;
    int value = 0;
    wb::Thread consumer([&] {
        value = q.get();
        got.set();
    });
    consumer.start();
    CHECK_FALSE(got.wait(0.5));
    q.put(42);
    CHECK(got.wait(safety()));
    consumer.join();
    CHECK(value == 42);
}

TEST_CASE("thread queues: getters and putters asleep at once are each woken by one item or one slot",
          "[thread_queue]") {
    // put() notifies only when a getter is counted as asleep, and one getter per item: with four
    // getters asleep (two of them timed), four puts must end all four waits.
    constexpr int kGetters = 4;
    Queue<int> q(1);
    std::atomic<int> asleep_or_done{0};
    std::atomic<int> sum{0};
    std::vector<std::unique_ptr<wb::Thread>> getters;
    for (int g = 0; g < kGetters; ++g) {
        getters.push_back(std::make_unique<wb::Thread>([&, g] {
            asleep_or_done += 1;
            sum += (g % 2 == 0) ? q.get() : q.get(safety());
        }));
        getters.back()->start();
    }
    while (asleep_or_done.load() < kGetters) std::this_thread::yield();
    // Four puts into a queue of one: after the first, each waits for a getter to take the last.
    for (int i = 1; i <= kGetters; ++i) CHECK_NOTHROW(q.put(i, safety()));
    for (auto& t : getters) CHECK(t->join(safety()));
    CHECK(sum == 1 + 2 + 3 + 4);
    CHECK(q.empty());

    // And the other way round: three putters asleep on a full queue, three gets release them all.
    std::vector<std::unique_ptr<wb::Thread>> putters;
    q.put(0);
    for (int p = 1; p <= 3; ++p) {
        putters.push_back(std::make_unique<wb::Thread>([&q, p] { q.put(p); }));
        putters.back()->start();
    }
    int got = 0;
    for (int i = 0; i < 4; ++i) got += q.get(safety());
    for (auto& t : putters) CHECK(t->join(safety()));
    CHECK(got == 0 + 1 + 2 + 3);
    CHECK(q.empty());
}

TEST_CASE("thread queues: task_done and join; too many task_done calls are an error", "[thread_queue]") {
    Queue<int> q;
    q.join();  // nothing put: returns at once
    CHECK(q.join(0.0));
    for (int i = 0; i < 3; ++i) q.put(i);
    CHECK(q.unfinished_tasks() == 3);
    CHECK_FALSE(q.join(0.5));  // nobody works on them
    // Taking items is not finishing them: join waits for task_done, not for an empty queue.
    std::vector<int> taken;
    for (int i = 0; i < 3; ++i) taken.push_back(q.get());
    CHECK(q.empty());
    CHECK_FALSE(q.join(0.2));

    std::atomic<int> done{0};
    wb::ThreadEvent go;
    wb::Thread worker([&] {
        go.wait();
        for (int i = 0; i < 3; ++i) {
            done += 1;
            q.task_done();
        }
    });
    worker.start();
    go.set();
    q.join();
    CHECK(done == 3);  // everything before the last task_done() is visible after join()
    worker.join();
    CHECK(q.unfinished_tasks() == 0);

    // One more task_done than items put: Python's ValueError, here std::logic_error.
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
    CHECK_THROWS_WITH(q.task_done(), "task_done() called too many times");
    CHECK(q.unfinished_tasks() == 0);  // unchanged by the refused calls
    q.put(9);
    CHECK(q.unfinished_tasks() == 1);
    CHECK(q.get() == 9);
    q.task_done();
    CHECK(q.join(0.0));
}

TEST_CASE("thread queues: a stop request ends a get that waits", "[thread_queue]") {
    Queue<int> q;
    SECTION("stop requested while waiting") {
        std::stop_source source;
        wb::ThreadEvent waiting;
        std::optional<int> result = 5;
        wb::Thread consumer([&] {
            waiting.set();
            result = q.get(source.get_token());
        });
        consumer.start();
        REQUIRE(waiting.wait(safety()));
        source.request_stop();
        CHECK(consumer.join(safety()));
        CHECK_FALSE(result.has_value());
    }
    SECTION("stop requested before: no wait; an item already there is still returned") {
        std::stop_source source;
        source.request_stop();
        CHECK_FALSE(q.get(source.get_token()).has_value());
        CHECK_FALSE(q.get(source.get_token(), 1e6).has_value());
        q.put(3);
        CHECK(q.get(source.get_token()) == 3);
    }
    SECTION("a daemon consumer blocked in get ends when its Thread is destroyed") {
        std::atomic<int> consumed{0};
        std::atomic<bool> ended{false};
        {
            wb::Thread consumer([&](std::stop_token stop) {
                while (auto item = q.get(stop)) {
                    consumed += *item;
                    q.task_done();
                }
                ended = true;
            });
            consumer.set_daemon(true);
            consumer.start();
            for (int i = 1; i <= 4; ++i) q.put(i);
            q.join();  // all four done; the consumer now waits in get()
            CHECK(consumed == 10);
        }  // the daemon's destructor: request_stop, then join - it must not hang here
        CHECK(ended);
    }
}

namespace {

// Producers put (producer, sequence) pairs encoded as one int; consumers record what they get.
// Every item must come out exactly once; for a FIFO queue, each consumer sees every producer's
// items in increasing order.
template <typename Q>
void many_producers_many_consumers(Q& q, bool fifo) {
    constexpr int kProducers = 4;
    constexpr int kConsumers = 3;
    constexpr int kPerProducer = 5000;
    constexpr int kStop = -1;
    std::vector<std::vector<int>> received(kConsumers);
    std::latch start(kProducers + kConsumers);
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (int c = 0; c < kConsumers; ++c) {
        threads.push_back(std::make_unique<wb::Thread>([&, c] {
            start.arrive_and_wait();
            for (;;) {
                const int item = q.get(safety());
                if (item == kStop) break;
                received[static_cast<std::size_t>(c)].push_back(item);
                q.task_done();
            }
            q.task_done();
        }));
    }
    for (int p = 0; p < kProducers; ++p) {
        threads.push_back(std::make_unique<wb::Thread>([&, p] {
            start.arrive_and_wait();
            for (int i = 0; i < kPerProducer; ++i) {
                // Some blocking puts, some timed, some nowait retried: every path of put.
                const int item = p * kPerProducer + i;
                if (i % 3 == 0) {
                    q.put(item);
                } else if (i % 3 == 1) {
                    q.put(item, safety());
                } else {
                    for (;;) {
                        try {
                            q.put_nowait(item);
                            break;
                        } catch (const Full&) {
                            std::this_thread::yield();
                        }
                    }
                }
            }
        }));
    }
    for (auto& t : threads) t->start();
    for (int p = 0; p < kProducers; ++p) threads[static_cast<std::size_t>(kConsumers + p)]->join();
    // The sentinels: one per consumer, after every item (a LIFO or priority queue may hand a
    // sentinel out before the rest, so they are put only once the producers are done and the
    // queue is drained: join() waits for that).
    REQUIRE(q.join(safety()));
    for (int c = 0; c < kConsumers; ++c) q.put(kStop);
    for (int c = 0; c < kConsumers; ++c) threads[static_cast<std::size_t>(c)]->join();
    CHECK(q.join(0.0));
    CHECK(q.empty());

    std::vector<int> all;
    for (const auto& r : received) all.insert(all.end(), r.begin(), r.end());
    std::sort(all.begin(), all.end());
    std::vector<int> expected(kProducers * kPerProducer);
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i);
    CHECK(all == expected);  // each exactly once
    if (fifo) {
        for (const auto& r : received) {
            std::vector<int> last(kProducers, -1);
            bool increasing = true;
            for (int item : r) {
                int& prev = last[static_cast<std::size_t>(item / kPerProducer)];
                increasing = increasing && item > prev;
                prev = item;
            }
            CHECK(increasing);
        }
    }
}

}  // namespace

TEST_CASE("thread queues: many producers and consumers, every item delivered exactly once", "[thread_queue]") {
    SECTION("Queue(8)") {
        Queue<int> q(8);
        many_producers_many_consumers(q, true);
    }
    SECTION("Queue() unbounded") {
        Queue<int> q;
        many_producers_many_consumers(q, true);
    }
    SECTION("LifoQueue(8)") {
        LifoQueue<int> q(8);
        many_producers_many_consumers(q, false);
    }
    SECTION("PriorityQueue(8)") {
        PriorityQueue<int, std::greater<int>> q(8);  // largest first: the -1 sentinels come last
        many_producers_many_consumers(q, false);
    }
}
