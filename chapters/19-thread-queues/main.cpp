// Chapter 19 - Thread queues.
//
// Seeds: 003 0x03 (Queue, LifoQueue, PriorityQueue; put/get with block and timeout; task_done and
// join; three producers and a daemon consumer), 002 (生产者消费者: Queue(10), a producer faster than
// its consumer, None as the sentinel).
// Threads share memory, so they could pass data through any variable guarded by a lock (chapter
// 17). A queue does that and the waiting too: get() sleeps until there is an item, put() until
// there is room. wb::threads::Queue, LifoQueue and PriorityQueue are Python's queue module: one
// std::mutex and three std::condition_variables, as CPython's queue.py is one lock and three
// Conditions (wb/thread_queue.hpp). The PROCESS queue of chapter 13 is wb::Queue; these live in
// wb::threads.
#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/random.hpp"
#include "wb/thread.hpp"
#include "wb/thread_queue.hpp"

namespace {

using Job = std::pair<int, std::string>;  // (priority, data): Python's documentation suggests a tuple

std::string show(const std::vector<Job>& jobs) {
    std::string out;
    for (const auto& [priority, name] : jobs) out += fmt::format("{}({}, '{}')", out.empty() ? "" : " ", priority, name);
    return out;
}

// Demo 1 - the three orders (003: Queue.Queue FIFO, Queue.LifoQueue LIFO, Queue.PriorityQueue
// "sorted(list(entries))[0]" first). The same five jobs, with seeded priorities, go into each.
void demo_orders() {
    wb::threads::Queue<Job> fifo;               // queue.Queue()
    wb::threads::LifoQueue<Job> lifo;           // queue.LifoQueue()
    wb::threads::PriorityQueue<Job> priority;   // queue.PriorityQueue(): smallest (priority, data) first
    std::vector<Job> put_order;
    for (const char* name : {"eat", "code", "sleep", "read", "walk"}) {
        const Job job{static_cast<int>(wb::rng().uniform_int(1, 5)), name};
        put_order.push_back(job);
        fifo.put(job);
        lifo.put(job);
        priority.put(job);
    }
    wb::emit("order.put", {{"items", put_order}}, fmt::format("put in this order: {}", show(put_order)));

    auto drain = [](auto& q) {
        std::vector<Job> out;
        while (!q.empty()) out.push_back(q.get());  // only this thread uses q: empty() is exact here
        return out;
    };
    for (auto [kind, got] : {std::pair{"Queue", drain(fifo)}, std::pair{"LifoQueue", drain(lifo)},
                             std::pair{"PriorityQueue", drain(priority)}}) {
        wb::emit("order.get", {{"queue", kind}, {"items", got}}, fmt::format("{:<13} gets: {}", kind, show(got)));
    }
    wb::note("FIFO gives them back as they came, LIFO reversed (a stack), the priority queue by the\n"
             "smallest (priority, data) pair: equal priorities are ordered by the name, as Python compares tuples.");
}

// Demo 2 - Empty and Full (003: "block=False ... 引发异常", "get阻塞timeout指定的秒数之后还没有get到
// 的话就引发Full异常"). The seed is wrong there: a get that times out raises queue.Empty; only put
// raises queue.Full. Here: wb::threads::Empty and wb::threads::Full.
void report_state(const wb::threads::Queue<int>& q) {
    // Snapshots: true when read. Only main uses q here, so they are also true afterwards.
    wb::emit("queue.state", {{"qsize", q.qsize()}, {"empty", q.empty()}, {"full", q.full()}},
             wb::from_fields("qsize() = {qsize}, empty() = {empty}, full() = {full}"));
}

void demo_empty_full() {
    wb::threads::Queue<int> q(2);  // Queue(2)
    q.put_nowait(1);
    q.put_nowait(2);
    report_state(q);
    try {
        q.put_nowait(3);  // put(3, block=False)
    } catch (const wb::threads::Full&) {
        wb::emit("put.full", {{"how", "put_nowait"}, {"timeout", 0.0}, {"waited", 0.0}},
                 "put_nowait(3) on a full queue: Full at once");
    }
    const wb::clock::Stopwatch put_watch;
    try {
        q.put(3, 1.0);  // put(3, timeout=1)
    } catch (const wb::threads::Full&) {
        wb::emit("put.full", {{"how", "put(timeout)"}, {"timeout", 1.0}, {"waited", put_watch.elapsed()}},
                 wb::from_fields("put(3, timeout={timeout:g}): Full after {waited:.2f} s"));
    }
    for (int i = 0; i < 2; ++i) {
        const int item = q.get();
        wb::emit("get", {{"item", item}}, wb::from_fields("get() -> {item}"));
    }
    report_state(q);
    try {
        (void)q.get_nowait();  // get(block=False)
    } catch (const wb::threads::Empty&) {
        wb::emit("get.empty", {{"how", "get_nowait"}, {"timeout", 0.0}, {"waited", 0.0}},
                 "get_nowait() on an empty queue: Empty at once");
    }
    const wb::clock::Stopwatch get_watch;
    try {
        (void)q.get(1.0);  // get(timeout=1)
    } catch (const wb::threads::Empty&) {
        wb::emit("get.empty", {{"how", "get(timeout)"}, {"timeout", 1.0}, {"waited", get_watch.elapsed()}},
                 wb::from_fields("get(timeout={timeout:g}): Empty after {waited:.2f} s - not Full, as the seed says"));
    }
    // maxsize < 1: no limit (003: "如果设置的maxsize小于1,则表示队列的长度无限长").
    wb::threads::Queue<int> unbounded(0);
    for (int i = 0; i < 1000; ++i) unbounded.put_nowait(i);
    wb::emit("unbounded", {{"maxsize", 0}, {"qsize", unbounded.qsize()}, {"full", unbounded.full()}},
             wb::from_fields("Queue(0): {qsize} put_nowait calls, full() = {full}"));
    wb::note("qsize(), empty() and full() are snapshots: with other threads at work the answer may be\n"
             "stale before you use it. Decide with get_nowait()/put_nowait() and their exceptions instead.");
}

// Demo 3 - task_done and join (003: "处理完一个get出来的item之后,调用task_done ... join() 监视所有item
// 并阻塞主线程,直到所有item都调用了task_done"). A worker takes three jobs, each lasting 0.5 s;
// main's join() returns only after the third task_done - not when the queue became empty.
void demo_task_done_join() {
    wb::threads::Queue<std::string> q;
    for (const char* job : {"job-1", "job-2", "job-3"}) q.put(job);
    wb::Thread worker([&q] {
        for (int i = 0; i < 3; ++i) {
            const std::string job = q.get();
            wb::emit("work.start", {{"item", job}, {"qsize", q.qsize()}, {"unfinished", q.unfinished_tasks()}},
                     wb::from_fields("took {item}: {qsize} left in the queue, {unfinished} unfinished"));
            wb::clock::sleep(0.5);
            wb::emit("work.done", {{"item", job}}, wb::from_fields("{item} done: task_done()"));
            q.task_done();
        }
    });
    worker.set_name("worker");
    worker.start();
    const wb::clock::Stopwatch watch;
    q.join();
    wb::emit("join.returned", {{"unfinished", q.unfinished_tasks()}, {"waited", watch.elapsed()}},
             wb::from_fields("q.join() returned after {waited:.2f} s: {unfinished} unfinished"));
    worker.join();

    // Python's join() has no timeout; this one has, so a forgotten task_done is reported, not a hang.
    q.put("job-4");  // nobody will process it
    const wb::clock::Stopwatch timeout_watch;
    const bool all_done = q.join(1.0);
    wb::emit("join.timeout",
             {{"all_done", all_done}, {"unfinished", q.unfinished_tasks()}, {"waited", timeout_watch.elapsed()}},
             wb::from_fields("q.join(1) with job-4 never done: all done = {all_done} after {waited:.2f} s"));
    (void)q.get();
    q.task_done();

    // One task_done too many: Python raises ValueError, here std::logic_error.
    try {
        q.task_done();
    } catch (const std::logic_error& e) {
        wb::emit("task_done.error", {{"error", e.what()}}, wb::from_fields("an extra task_done(): {error}"));
    }
}

// Demo 4 - the seed's three producers and a daemon consumer (003 0x03):
//     def consumer():                      def producer_0():
//         while 1:                             for i in range(5):
//             res = q.get()                        q.put(i); print('生产者0生产了%s' % i)
//             time.sleep(2)                    q.join()
//             print('消费者消费了%s' % res)
//             q.task_done()                consumer_t.daemon = True
//     t0.join(); t1.join(); t2.join(); print('主线程~')
// Each producer's q.join() waits for ALL fifteen items, so "主线程~" comes after the last one is
// consumed. Python then kills the daemon consumer, blocked in q.get(); C++ cannot kill a thread,
// so the consumer waits with get(stop_token) and ends when its daemon Thread asks it to stop.
constexpr int kProducers = 3;
constexpr int kItemsEach = 5;
constexpr double kConsumeSeconds = 0.3;  // the seed's time.sleep(2), shortened

void demo_daemon_consumer() {
    wb::threads::Queue<std::pair<int, int>> q;  // (producer, i): the seed puts i; the producer is kept to check
    std::atomic<int> consumed{0};
    std::vector<std::unique_ptr<wb::Thread>> producers;
    for (int p = 0; p < kProducers; ++p) {
        producers.push_back(std::make_unique<wb::Thread>([&q, p] {
            for (int i = 0; i < kItemsEach; ++i) {
                q.put({p, i});
                wb::emit("produce", {{"producer", p}, {"item", i}}, wb::from_fields("producer {producer} produced {item}"));
            }
            q.join();  // returns when every item of every producer is done
            wb::emit("producer.joined", {{"producer", p}}, wb::from_fields("producer {producer}: q.join() returned"));
        }));
        producers.back()->set_name(fmt::format("producer-{}", p));
    }
    // Declared after q: destroyed (stopped and joined) before the queue it reads.
    wb::Thread consumer([&q, &consumed](std::stop_token stop) {
        while (std::optional<std::pair<int, int>> res = q.get(stop)) {  // res = q.get()
            wb::clock::sleep(kConsumeSeconds);
            const int n = consumed.fetch_add(1) + 1;
            wb::emit("consume", {{"producer", res->first}, {"item", res->second}, {"consumed", n}},
                     wb::from_fields("consumer consumed {item} (from producer {producer})"));
            q.task_done();
        }
        wb::emit("consumer.stopped", {{"consumed", consumed.load()}},
                 "the daemon consumer was asked to stop while waiting in get(): it ends");
    });
    consumer.set_name("consumer");
    consumer.set_daemon(true);  // consumer_t.daemon = True
    // The seed starts the producers first; the consumer goes first here, so that a producer that
    // cannot be started (no threads left: the start throws) leaves the others' items consumed and
    // their join() returning, instead of a program that hangs.
    consumer.start();
    for (auto& t : producers) t->start();
    for (auto& t : producers) t->join();
    wb::emit("main.done", {{"consumed", consumed.load()}, {"unfinished", q.unfinished_tasks()}},
             wb::from_fields("main thread~: printed after all {consumed} items were consumed"));
}  // the daemon consumer's destructor: request_stop(), which wakes its get(), then join

// Demo 5 - the producer and consumer of 002 (生产者消费者): Queue(10), the producer makes one item
// per second, the consumer takes four seconds per item, None ends the consumer.
//     def produce(q):                                 def consume(q):
//         for i in range(100):                            while True:
//             num = random.randint(1, 100)                    item = q.get()
//             q.put(f"生产者生产数据{num}")                     if item is None: break
//             time.sleep(1)                                   print(f"消费者获取到：{item}"); time.sleep(4)
//         q.put(None)
// Shortened to 20 items at 0.05 s and 0.2 s, the same ratio: the consumer falls behind, the queue
// fills up to 10, and from then on every put() waits for the consumer to make room.
constexpr int kItems = 20;
constexpr double kProduceSeconds = 0.05;
constexpr double kConsumeEachSeconds = 0.2;

void produce(wb::threads::Queue<std::optional<std::string>>& q) {
    wb::Random random = wb::random_stream(1);
    auto put = [&q](std::optional<std::string> item, const std::string& shown) {
        try {
            q.put_nowait(item);  // room: no wait
        } catch (const wb::threads::Full&) {
            // Full: what q.put(item) does in the seed - it waits for the consumer to take one.
            const wb::clock::Stopwatch watch;
            q.put(std::move(item));
            wb::emit("producer.blocked", {{"item", shown}, {"maxsize", q.maxsize()}, {"waited", watch.elapsed()}},
                     wb::from_fields("the queue held {maxsize}: put({item}) waited {waited:.2f} s for room"));
        }
    };
    for (int i = 1; i <= kItems; ++i) {
        const auto num = random.uniform_int(1, 100);
        const std::string item = fmt::format("data{}", num);
        put(item, item);
        wb::emit("produced", {{"seq", i}, {"item", item}}, wb::from_fields("producer made {item}"));
        wb::clock::sleep(kProduceSeconds);
    }
    put(std::nullopt, "None");  // q.put(None): the sentinel
    wb::emit("produced.sentinel", {}, "producer put None: no more items");
    // The seed also calls q.task_done() here, for an item it never got: task_done is the
    // consumer's, once per get. Nobody joins the queue in the seed, so it went unnoticed.
}

void consume(wb::threads::Queue<std::optional<std::string>>& q) {
    int count = 0;
    for (;;) {
        std::optional<std::string> item = q.get();
        if (!item) {  // if item is None: break
            q.task_done();
            break;
        }
        ++count;
        wb::emit("consumed", {{"seq", count}, {"item", *item}, {"qsize", q.qsize()}},
                 wb::from_fields("consumer got {item} ({qsize} waiting)"));
        wb::clock::sleep(kConsumeEachSeconds);
        q.task_done();
    }
    wb::emit("consumer.sentinel", {{"consumed", count}}, wb::from_fields("consumer got None after {consumed} items: it stops"));
}

void demo_producer_consumer() {
    wb::threads::Queue<std::optional<std::string>> q(10);  // queue.Queue(10); std::nullopt is None
    wb::Thread t1(produce, std::ref(q));
    wb::Thread t2(consume, std::ref(q));
    t1.set_name("producer");  // name="生产者"
    t2.set_name("consumer");  // name="消费者"
    t2.start();  // the consumer first: it waits in get() until the producer puts something
    try {
        t1.start();
    } catch (...) {
        q.put(std::nullopt);  // no producer (no threads left): the sentinel still ends the consumer
        throw;
    }
    t1.join();
    t2.join();
    wb::note("The producer ran ahead until 10 items waited; from then on each put() waited for the consumer\n"
             "to take one, so the two went at the consumer's pace. The sentinel None came out last (FIFO).");
}

}  // namespace

int main(int argc, char** argv) {
    wb::set_thread_actor("MainThread");
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "19-thread-queues",
        .title = "Thread queues",
        .description = "Queue, LifoQueue and PriorityQueue side by side; Empty and Full from the _nowait forms and\n"
                       "from timeouts (a timed-out get raises Empty, not Full as the seed says); task_done and join;\n"
                       "the seed's three producers and a daemon consumer ended by join; the 002 producer/consumer\n"
                       "over Queue(10) where the producer blocks when the queue is full and None ends the consumer.",
        .demos = {
            {"orders", "FIFO, LIFO and priority order of the same five jobs", demo_orders},
            {"empty-full", "Empty and Full: _nowait at once, with a timeout after it", demo_empty_full},
            {"task-done-join", "join() returns after the last task_done(); an extra task_done() is an error",
             demo_task_done_join},
            {"daemon-consumer", "three producers, a daemon consumer; main prints after all items are done",
             demo_daemon_consumer},
            {"producer-consumer", "Queue(10): the producer blocks when full; None ends the consumer",
             demo_producer_consumer},
        },
    });
}
