// Chapter 13 - Process queues and pipes.
//
// Seeds: 002 (进程间通信: a downloader and a saver over Queue(5)), 004 §七 (队列和管道: queues and
// pipes keep the data in memory and spare you the locking).
// Processes do not share memory (chapter 06), so data has to be *passed*: put into a queue by one
// process and taken out by another, or sent down a pipe. wb::Queue<T> is a queue in shared memory
// (a ring buffer behind a robust lock, with futex wake-ups); wb::make_pipe() gives two connected
// ends that carry whole messages.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/connection.hpp"
#include "wb/lock.hpp"
#include "wb/occupancy.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/queue.hpp"
#include "wb/random.hpp"
#include "wb/temp_directory.hpp"
#include "wb/timeline.hpp"

namespace {

// Demo 1 - the seed's downloader and saver (002):
//     def download(q):
//         for i in ["1.jpg", "5.exe", "6.csv"]: print("正在下载：", i); q.put(i); time.sleep(0.5)
//     def getfile(q):
//         while True:
//             try: file = q.get(timeout=5); print("保存文件成功：", file)
//             except: break
//     q = Queue(5)
void download(wb::Queue<std::string>& q) {
    for (const std::string file : {"1.jpg", "5.exe", "6.csv"}) {
        wb::emit("download", {{"file", file}}, wb::from_fields("downloading {file}"));  // 正在下载
        q.put(file);  // q1: waits only if 5 files were already waiting
        wb::clock::sleep(0.5);
    }
}

void save_files(wb::Queue<std::string>& q) {
    int saved = 0;
    for (;;) {
        wb::clock::Stopwatch waited;
        try {
            // q2: get(timeout=5): an item, or QueueEmpty after 5 s with nothing. The seed's bare
            // `except:` would also swallow real errors; here only the timeout ends the loop.
            const std::string file = q.get(5.0);
            ++saved;
            wb::emit("save", {{"file", file}, {"saved", saved}},
                     wb::from_fields("saved {file}"));  // 保存文件成功
        } catch (const wb::QueueEmpty&) {
            const double w = waited.elapsed();
            wb::emit("save.timeout", {{"saved", saved}, {"timeout", 5.0}, {"waited", w}},
                     wb::from_fields("no file for {timeout:g} s (get(timeout={timeout:g}) raised Empty after "
                                     "{waited:.2f} s): the saver stops after saving {saved} files"));
            return;
        }
    }
}

void demo_download_save() {
    wb::Queue<std::string> q(5);  // Queue(5): created before the fork, so both children have it
    wb::Process p1(download, std::ref(q));
    wb::Process p2(save_files, std::ref(q));
    p1.set_name("downloader");
    p2.set_name("saver");
    p1.start();
    p2.start();
    p1.join();
    p2.join();
    wb::note("Each file was saved right after it was downloaded: get() wakes as soon as put() has\n"
             "stored the item. The saver ends only because get(timeout=5) gives up - five seconds\n"
             "after the last file, which is how the seed's loop ends too.");
}

// Demo 2 - producers and consumers across processes, ended by sentinels.
// Two producers put numbered items; two consumers take whatever comes first. A consumer cannot
// know that the producers are done, so after joining the producers main puts one sentinel per
// consumer - Python's q.put(None), here a JSON null. Items are JSON documents: {"producer", "n"}.
// Every consumer reports what it got on a second queue, and main checks the bookkeeping.
// The second consumer is *spawned* (a fresh program image), so it cannot inherit the queue's
// mapping: it gets the queue's descriptor as text (hand_over) and adopts it - as the Lock does.
constexpr int kProducers = 2;
constexpr int kConsumers = 2;
constexpr int kItemsEach = 6;

void produce(wb::Queue<wb::Json>& q, int producer) {
    auto& random = wb::rng();
    for (int n = 0; n < kItemsEach; ++n) {
        wb::clock::sleep(static_cast<double>(random.uniform_int(1, 5)) / 10);  // 0.1-0.5 s, seeded
        q.put(wb::Json{{"producer", producer}, {"n", n}});
        wb::emit("produce", {{"producer", producer}, {"n", n}}, {});
    }
    wb::emit("producer.done", {{"producer", producer}, {"items", kItemsEach}},
             wb::from_fields("producer {producer} put its {items} items"));
}

void consume(wb::Queue<wb::Json>& q, wb::Queue<wb::Json>& report, int consumer) {
    int got = 0;
    for (;;) {
        const wb::Json item = q.get();  // c1: blocks while the queue is empty
        if (item.is_null()) break;      // c2: the sentinel
        ++got;
        wb::emit("consume", {{"consumer", consumer}, {"producer", item["producer"]}, {"n", item["n"]}}, {});
        report.put(wb::Json{{"consumer", consumer}, {"producer", item["producer"]}, {"n", item["n"]}});
        wb::clock::sleep(0.2);  // working on it
    }
    wb::emit("consumer.done", {{"consumer", consumer}, {"items", got}}, {});
}

void spawned_consumer(const std::vector<std::string>& args) {
    auto q = wb::Queue<wb::Json>::adopt(args.at(0));
    auto report = wb::Queue<wb::Json>::adopt(args.at(1));
    consume(q, report, std::stoi(args.at(2)));
}

void demo_producers_consumers() {
    wb::Queue<wb::Json> q(4);
    wb::Queue<wb::Json> report;  // unbounded (8 MiB): consumers never wait on it
    std::vector<wb::Process> producers;
    for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back(produce, std::ref(q), p);
        producers.back().set_name(fmt::format("producer-{}", p));
    }
    wb::Process forked(consume, std::ref(q), std::ref(report), 0);
    forked.set_name("consumer-0");
    auto spawned = wb::Process::spawn("consumer", {q.hand_over(), report.hand_over(), "1"});
    spawned.set_name("consumer-1");
    forked.start();
    spawned.start();
    for (auto& p : producers) p.start();
    for (auto& p : producers) p.join();
    // s1: the producers are done and everything they made is in the queue (put() has returned):
    // the sentinels go in behind the last items, so every item is consumed before a stop.
    for (int c = 0; c < kConsumers; ++c) q.put(nullptr);
    wb::emit("main.sentinels", {{"sentinels", kConsumers}},
             wb::from_fields("main put {sentinels} sentinels (None), one per consumer"));
    forked.join();
    spawned.join();

    // The bookkeeping: every item exactly once, and each producer's items in the order it made
    // them (per consumer the order of a producer's items can only go up: one queue, FIFO).
    std::vector<std::vector<int>> times(kProducers, std::vector<int>(kItemsEach, 0));
    std::vector<std::vector<int>> last(kConsumers, std::vector<int>(kProducers, -1));
    int per_consumer[kConsumers] = {0, 0};
    bool in_order = true;
    while (auto r = report.try_get()) {
        const int c = (*r)["consumer"], p = (*r)["producer"], n = (*r)["n"];
        times[static_cast<std::size_t>(p)][static_cast<std::size_t>(n)] += 1;
        in_order = in_order && n > last[static_cast<std::size_t>(c)][static_cast<std::size_t>(p)];
        last[static_cast<std::size_t>(c)][static_cast<std::size_t>(p)] = n;
        per_consumer[c] += 1;
    }
    int once = 0;
    for (const auto& row : times) {
        for (const int t : row) once += t == 1 ? 1 : 0;
    }
    const int total = kProducers * kItemsEach;
    wb::emit("main.check",
             {{"items", total}, {"exactly_once", once}, {"in_order", in_order},
              {"per_consumer", {per_consumer[0], per_consumer[1]}}},
             wb::from_fields(in_order ? "{items} items made, {exactly_once} of them consumed exactly once; each "
                                        "producer's items in order: yes"
                                      : "{items} items made, {exactly_once} of them consumed exactly once; each "
                                        "producer's items in order: no"));
    wb::note("Which consumer got which item is the scheduler's choice (see --format jsonl: consume\n"
             "events); that each item came out once and in its producer's order is the queue's promise.\n"
             "consumer-1 was spawned: it found the queue through the descriptor handed to it.");
}

// Demo 3 - a full queue blocks the producer.
// Queue(3); the producer makes 6 items at once, the consumer starts after 2 s and takes one a
// second. put() of item 3 finds three items waiting and blocks until the consumer takes one; so
// do items 4 and 5. The timeline shows the blocked puts (b) against the consumer's gets (g).
void fast_producer(wb::Queue<int>& q) {
    for (int item = 0; item < 6; ++item) {
        if (q.try_put(item)) {  // f1: room: put() returns at once
            wb::emit("put", {{"item", item}, {"blocked", false}}, wb::from_fields("put item {item} at once"));
            continue;
        }
        wb::Span blocked("blocked", {{"item", item}, {"maxsize", q.maxsize()}},
                         wb::from_fields("item {item}: the queue is full ({maxsize} of {maxsize}), put() blocks"));
        wb::clock::Stopwatch waited;
        q.put(item);  // f2: sleeps until a get() makes room
        const double w = waited.elapsed();
        blocked.end({}, {{"waited", w}});
        wb::emit("put", {{"item", item}, {"blocked", true}, {"waited", w}},
                 wb::from_fields("put item {item} after waiting {waited:.2f} s"));
    }
}

void slow_consumer(wb::Queue<int>& q) {
    const double start = wb::clock::now();
    for (int k = 0; k < 6; ++k) {
        const double due = start + 2.0 + k;  // a fixed schedule: at 2, 3, 4, ... s
        wb::clock::sleep(due - wb::clock::now());
        wb::Span getting("get", {{"k", k}}, {});
        const int item = q.get();
        getting.end();
        wb::emit("got", {{"item", item}}, wb::from_fields("got item {item}"));
    }
}

void demo_full_queue() {
    wb::Queue<int> q(3);
    const std::size_t mark = wb::journal::mark();
    wb::Process producer(fast_producer, std::ref(q));
    wb::Process consumer(slow_consumer, std::ref(q));
    producer.set_name("producer");
    consumer.set_name("consumer");
    producer.start();
    consumer.start();
    producer.join();
    consumer.join();
    wb::show_timeline(mark, "blocked puts (b) and the consumer's gets (g)", {{"blocked", 'b'}, {"get", 'g'}});
    wb::note("Items 0-2 went in at once. Item 3 waited until the consumer's first get() at 2 s made\n"
             "room, item 4 until 3 s, item 5 until 4 s: a bounded queue makes a fast producer go at\n"
             "the consumer's pace (back-pressure), instead of piling up items in memory.");
}

// Demo 4 - pipes (004 §七: Pipe).
// make_pipe() is Python's Pipe(): two connected ends; duplex by default, both ends send and
// receive. The parent asks, the child answers. Then a one-way pipe (duplex=False) from a writer
// that sends three messages and is killed: the reader gets the three, then end of file -
// Python's EOFError - because the kernel closed the dead writer's end.
void demo_pipe() {
    {
        auto [parent_end, child_end] = wb::make_pipe();  // p1: Pipe()
        wb::Process child([&parent_end = parent_end, &child_end = child_end] {
            parent_end.close();  // each process keeps only its own end
            const std::string question = child_end.recv();
            wb::emit("pipe.recv", {{"message", question}}, wb::from_fields("child received '{message}'"));
            child_end.send("hello, parent");
        });
        child.set_name("child");
        child.start();
        child_end.close();
        parent_end.send("hello, child");
        const std::string answer = parent_end.recv();
        wb::emit("pipe.recv", {{"message", answer}}, wb::from_fields("parent received '{message}'"));
        child.join();
    }
    {
        auto [reader, writer] = wb::make_pipe(false);  // p2: Pipe(duplex=False)
        wb::Process writer_process([&reader = reader, &writer = writer] {
            reader.close();
            wb::emit("writer.wait", {{"messages", 3}},
                     wb::from_fields("sends {messages} messages, then waits for good"));
            for (int i = 1; i <= 3; ++i) writer.send(fmt::format("message {}", i));
            for (;;) wb::clock::sleep(1000);
        });
        writer_process.set_name("writer");
        writer_process.start();
        writer.close();  // p3: or the reader's own copy would keep the pipe open: no EOF ever
        for (int i = 0; i < 3; ++i) {
            const std::string m = reader.recv();
            wb::emit("pipe.recv", {{"message", m}}, wb::from_fields("reader received '{message}'"));
        }
        writer_process.kill();  // SIGKILL: no chance to close anything
        writer_process.join();
        try {
            (void)reader.recv();  // p4: nothing left, and no writer: end of file
            wb::emit("pipe.eof", {{"eof", false}}, "reader received another message (unexpected)");
        } catch (const wb::ConnectionClosed& e) {
            wb::emit("pipe.eof", {{"eof", true}, {"writer_exitcode", writer_process.exitcode().value_or(0)}},
                     wb::from_fields("reader: recv() raised ConnectionClosed (Python: EOFError): the writer was "
                                     "killed (exit code {writer_exitcode})"));
        }
    }
    wb::note("A pipe carries whole messages between exactly two ends. When the writing process dies,\n"
             "however it dies, the kernel closes its end and the reader learns it as end of file.");
}

// Demo 5 - why message passing (004 §七).
// "Sharing data through a file works, but it is slow (the file is on disk) and you must lock it
// yourself. Queues and pipes keep the data in memory and do the locking for you."
// Four workers add 1 to a counter 100 times each. With a shared file: lock, read and parse the
// file, write it back, unlock - 400 times. With a queue: each worker puts 100 messages "+1", and
// one collector (main) adds them up; the workers never wait for each other.
constexpr int kWorkers = 4;
constexpr int kUpdates = 100;

// The seed's way with a shared file: json.load, change, json.dump (chapter 10's ticket file).
int read_count(const std::string& path) {
    std::ifstream in(path);
    return wb::Json::parse(in)["count"].get<int>();
}
void write_count(const std::string& path, int count) {
    std::ofstream out(path, std::ios::trunc);
    out << wb::Json{{"count", count}}.dump();
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

void add_via_file(const std::string& path, wb::Lock& lock) {
    for (int i = 0; i < kUpdates; ++i) {
        auto guard = lock.hold();  // m1: read-modify-write of the file needs the lock
        write_count(path, read_count(path) + 1);
    }
}

// Real seconds since `start_ns`: the figure measures work, not scaled sleeps.
double real_since(std::int64_t start_ns) {
    return static_cast<double>(wb::clock::monotonic_ns() - start_ns) / 1e9;
}

void add_via_queue(wb::Queue<int>& q) {
    for (int i = 0; i < kUpdates; ++i) q.put(1);  // m2: no lock in sight
}

void demo_message_passing() {
    wb::TempDirectory dir("ch13-");
    const std::string path = (dir.path() / "count.json").string();
    write_count(path, 0);
    wb::Lock lock;
    const std::int64_t file_start = wb::clock::monotonic_ns();
    {
        std::vector<wb::Process> workers;
        for (int w = 0; w < kWorkers; ++w) workers.emplace_back(add_via_file, path, std::ref(lock));
        for (auto& p : workers) p.start();
        for (auto& p : workers) p.join();
    }
    const double real_file = real_since(file_start);
    const int file_count = read_count(path);

    wb::Queue<int> q;
    const std::int64_t queue_start = wb::clock::monotonic_ns();
    int queue_count = 0;
    {
        std::vector<wb::Process> workers;
        for (int w = 0; w < kWorkers; ++w) workers.emplace_back(add_via_queue, std::ref(q));
        for (auto& p : workers) p.start();
        for (int i = 0; i < kWorkers * kUpdates; ++i) queue_count += q.get();  // the collector
        for (auto& p : workers) p.join();
    }
    const double real_queue = real_since(queue_start);

    // The figure: both times as bars of one scale (the longer one fills it).
    constexpr int kWidth = 30;
    const double longest = std::max({real_file, real_queue, 1e-9});
    auto bar = [&](double s) { return std::clamp(static_cast<int>(std::lround(kWidth * s / longest)), 1, kWidth); };
    wb::emit("figure.file",
             {{"updates", kWorkers * kUpdates}, {"count", file_count}, {"real_seconds", real_file},
              {"bar", wb::gauge(bar(real_file), kWidth)}},
             wb::from_fields("file + lock: count = {count} after {real_seconds:.2f} s  {bar}"));
    wb::emit("figure.queue",
             {{"updates", kWorkers * kUpdates}, {"count", queue_count}, {"real_seconds", real_queue},
              {"speedup", real_queue > 0 ? real_file / real_queue : 0.0}, {"bar", wb::gauge(bar(real_queue), kWidth)}},
             wb::from_fields("queue:       count = {count} after {real_seconds:.2f} s  {bar}"));
    wb::note("Both reach 400 (times in real seconds: this is work, not scaled sleeps). The file costs a\n"
             "lock, a read, a parse and a write per update, one worker at a time; the queue costs a copy\n"
             "into shared memory, and the workers never wait for each other's updates.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "13-process-queues",
        .title = "Process queues and pipes",
        .description = "Passing data between processes: the seed's downloader and saver over Queue(5) with\n"
                       "get(timeout=5); producers and consumers ended by sentinels; a full queue blocking the\n"
                       "producer; a pipe and its end of file when the writer dies; message passing vs a\n"
                       "shared file and a lock.",
        .demos = {
            {"download-save", "Queue(5): a downloader and a saver; get(timeout=5) ends the saver", demo_download_save},
            {"producers-consumers", "two producers, two consumers (one spawned), sentinels; each item once", demo_producers_consumers},
            {"full-queue", "Queue(3): a fast producer blocks on the full queue until the consumer takes", demo_full_queue},
            {"pipe", "Pipe(): a duplex exchange, then EOF when the writer of a one-way pipe is killed", demo_pipe},
            {"message-passing", "400 updates through a shared file + lock vs through a queue, with the figure", demo_message_passing},
        },
        .entry_points = {{"consumer", spawned_consumer}},
    });
}
