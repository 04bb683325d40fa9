// Chapter 10 - Tickets with a lock.
//
// Seed: 004 §七 (进程同步: multiprocess.Lock, 查票/买票).
// Ten buyer processes share one JSON file of tickets, {"count": 1}. Searching can happen at the
// same time; buying reads the count, decides and writes it back, and must not interleave with
// another buyer doing the same - or the last ticket is sold ten times. The seed's fix is a
// multiprocessing.Lock; ours is wb::Lock, a pthread mutex in shared memory. This chapter also
// does what the seed leaves out: a missing or corrupt file, a race that happens on every run,
// and a buyer killed while it holds the lock (the seed's terminate() warning: "如果p还保存了一个锁
// 那么也将不会被释放,进而导致死锁").
#include <fcntl.h>


#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "wb/atomic_file.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/event.hpp"
#include "wb/fd.hpp"
#include "wb/lock.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"
#include "wb/shared_memory.hpp"
#include "wb/start_gate.hpp"
#include "wb/temp_directory.hpp"
#include "wb/timeline.hpp"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int kBuyers = 10;              // for i in range(10)
constexpr double kNetworkDelay = 0.2;    // time.sleep(0.2), twice in buy()
constexpr double kArrivalGap = 0.2;      // buyers reach the ticket window this far apart (seeded order)
constexpr double kPlainLockTimeout = 2;  // how long the next buyer waits for a lock whose holder died
constexpr double kKillAfter = 0.5;       // main lets the next buyer wait this long, then kills the holder
constexpr int kHold = 1;                 // lock-basics: main keeps the key this long

// Waits that only a broken program would ever exhaust: 300 logical seconds, but never less than
// 30 s of real time, so that a tiny --time-scale does not make them fire on a healthy run.
double safety() { return wb::clock::safety_timeout(300, std::chrono::seconds(30)); }

int g_tickets = 1;  // --tickets N: the count a new db.json starts with (the seed's db holds 1)

std::string buyer_name(int i) { return fmt::format("buyer-{}", i); }

// The sentence for a count that is one or many: `one` and `many` differ only in the words around
// the number, which itself comes from the event's fields. The choice is made from the field too.
wb::FromFields one_or_many(const Json& n, std::string_view one, std::string_view many) {
    return wb::from_fields(n == 1 ? one : many);
}

// ---------------------------------------------------------------------------------------------
// The ticket file.
//
// The seed keeps the tickets in a file named db, read with json.load and written with json.dump:
//     with open('db') as f: ticket_dic = json.load(f)
//     with open('db','w') as f: json.dump(ticket_dic, f)
// Two things go wrong there. open('db') of a missing file raises FileNotFoundError (the seed says
// so: "只是缺少db文件,代码执行会报错"), and open('db','w') first empties the file, so a reader - or
// a writer that dies half-way - sees an empty or half-written file. Here every write goes to a
// temporary file in the same directory, is flushed to disk, and is renamed over db.json: rename()
// replaces the name in one step, so readers see the old file or the new one, never a part.
// ---------------------------------------------------------------------------------------------

// A problem with db.json that the program reports instead of crashing.
class DbError : public std::runtime_error {
public:
    DbError(std::string kind, const std::string& what) : std::runtime_error(what), kind_(std::move(kind)) {}
    [[nodiscard]] const std::string& kind() const noexcept { return kind_; }  // missing, corrupt, invalid

private:
    std::string kind_;
};

// The whole file, or nothing when it does not exist.
std::optional<std::string> read_text(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return std::nullopt;
    const wb::UniqueFd file(wb::check(fd, "open"));
    return wb::read_all(file.get());
}

// json.load + ticket_dic['count'], with a clear message for each way it can fail.
int parse_count(const std::string& text) {
    Json db;
    try {
        db = Json::parse(text);
    } catch (const Json::parse_error& e) {
        throw DbError("corrupt", fmt::format("db.json is not valid JSON: {}", e.what()));
    }
    if (!db.is_object() || !db.contains("count") || !db["count"].is_number_integer() ||
        db["count"].get<long long>() < 0 || db["count"].get<long long>() > std::numeric_limits<int>::max()) {
        throw DbError("invalid", fmt::format("db.json must hold {{\"count\": N}} with a whole number N >= 0, not {}",
                                             db.dump()));
    }
    return db["count"].get<int>();
}

int read_count(const fs::path& db) {
    const auto text = read_text(db);
    if (!text) throw DbError("missing", "db.json does not exist");
    return parse_count(*text);
}

std::string count_json(int count) { return Json{{"count", count}}.dump(); }

// db.json now holds `count`: the event says so with the content that was written.
void emit_created(int count) {
    wb::emit("db.created", {{"file", "db.json"}, {"count", count}, {"content", count_json(count)}},
             wb::from_fields("db.json created: {content}"));
}

// Writes db.json atomically (wb/atomic_file.hpp): a fresh temporary file .db.json.XXXXXX beside
// it (every writer gets its own), write, fsync, rename over db.json. `half_written`, if given,
// runs after the first half has been written - chapter 10 uses it to stop (and kill) a buyer in
// the middle of a write.
void write_count(const fs::path& db, int count, const wb::HalfWrittenHook& half_written = {}) {
    wb::write_file_atomically(db, count_json(count), half_written);
}

// The ticket office of one demo: a private directory under $TMPDIR holding db.json. It is a
// wb::TempDirectory, so it is removed with whatever is inside when the demo ends (also when the
// demo throws), and by the signal handler when the reader presses Ctrl-C. A forked buyer has a
// copy of this object but never removes the directory: it ends with _exit, and the
// TempDirectory checks the pid.
class TicketOffice {
public:
    // Makes the directory; with `create_db`, also db.json holding `initial` tickets.
    TicketOffice(int initial, bool create_db) : initial_(initial), dir_("wb-tickets-") {
        db_ = dir_.path() / "db.json";
        if (create_db) {
            write_count(db_, initial_);
            emit_created(initial_);
        }
    }

    [[nodiscard]] const fs::path& db() const noexcept { return db_; }
    [[nodiscard]] int initial() const noexcept { return initial_; }

    // Removes temporary files a writer left behind (it died before its rename); returns how many.
    [[nodiscard]] int remove_temp_files() const {
        int removed = 0;
        for (const auto& entry : fs::directory_iterator(dir_.path())) {
            if (entry.path().filename().string().rfind(".db.json.", 0) == 0) {
                fs::remove(entry.path());
                ++removed;
            }
        }
        return removed;
    }

private:
    int initial_;
    wb::TempDirectory dir_;
    fs::path db_;
};

// What the buyers of one demo share, in shared memory (std::atomic is address-free, so it works
// across processes). The seed has no tally; this one lets the program check its own result:
// remaining (in db.json) + sold (buyers told "you bought a ticket") must equal the initial count.
struct Sale {
    std::atomic<int> sold;
    std::atomic<int> no_ticket;
    std::atomic<int> timed_out;            // killed-holder demo: buyers that gave up on the lock
    std::atomic<int> found_owner_dead;     // ... acquisitions that were told the holder had died
};

// ---------------------------------------------------------------------------------------------
// Demo 1 - the lock itself.
//     lock = Lock()
//     lock.acquire()  # 想拿钥匙 (I want the key)
//     print(1)
//     lock.release()  # 还钥匙 (give the key back)
//     lock.acquire()
//     print('拿到钥匙了')  (got the key)
//     lock.release()
// A lock is one key. Then the part the seed implies: the key works across processes. main holds
// it; a child that asks for it waits until main gives it back.
// ---------------------------------------------------------------------------------------------
void demo_lock_basics() {
    wb::Lock lock;  // created in main before any fork: every child shares this one mutex
    auto got = lock.acquire();
    wb::emit("lock.acquire", {{"acquired", got.acquired}}, "lock.acquire(): main has the key");
    wb::emit("print", {{"value", "1"}}, wb::from_fields("{value}"));
    lock.release();
    wb::emit("lock.release", {}, "lock.release(): main gives the key back");
    got = lock.acquire();
    wb::emit("lock.acquire", {{"acquired", got.acquired}}, "lock.acquire(): main has the key");
    wb::emit("print", {{"value", "got the key"}}, wb::from_fields("{value} (拿到钥匙了)"));
    lock.release();
    wb::emit("lock.release", {}, "lock.release(): main gives the key back");

    // Across processes: main takes the key and keeps it 1 s; the visitor asks for it meanwhile.
    got = lock.acquire();
    wb::Span hold("hold", {{"seconds", kHold}}, wb::from_fields("main takes the key and keeps it for {seconds} s"));
    wb::Process visitor([&lock] {
        wb::clock::Stopwatch watch;  // started first, so `waited` covers the whole span
        wb::Span wait("wait", {}, "visitor asks for the key");
        auto guard = lock.hold();  // with lock:
        const double waited = watch.elapsed();
        wait.end(wb::from_fields("visitor got the key after {waited:.2f} s"), {{"waited", waited}});
    });
    visitor.set_name("visitor");
    visitor.start();
    wb::clock::sleep(kHold);
    hold.end("main gives the key back");
    lock.release();
    visitor.join();
    wb::note("The visitor is another process, yet it waited for main: the mutex lives in shared memory\n"
             "(a memfd mapped MAP_SHARED before the fork), not in each process's private copy.");
}

// ---------------------------------------------------------------------------------------------
// Demo 2 - the ticket file: missing, created, read, written atomically, corrupt.
// ---------------------------------------------------------------------------------------------
// def search(i): with open('db') as f: ticket_dic = json.load(f); print(...剩余票数...)
// The seed's search, with its failure reported instead of raised.
void report_db_error(const DbError& e, const std::string& content) {
    wb::emit("db.error", {{"file", "db.json"}, {"kind", e.kind()}, {"error", e.what()}, {"content", content}},
             wb::from_fields("search fails cleanly: {error}"));
}

// db.json was replaced with `count`: what was written, and what the file reads back now.
void emit_written(const TicketOffice& office, int count, std::string_view sentence) {
    wb::emit("db.written",
             {{"file", "db.json"}, {"count", count}, {"content", count_json(count)},
              {"reads", read_text(office.db()).value_or("")}},
             wb::from_fields(sentence));
}

void demo_db_file() {
    TicketOffice office(g_tickets, /*create_db=*/false);  // an empty directory: no db.json yet
    try {
        (void)read_count(office.db());
    } catch (const DbError& e) {
        report_db_error(e, "");
    }
    // The fix for the missing file: create it with the default count, and say so.
    if (!read_text(office.db())) {
        wb::emit("db.missing", {{"file", "db.json"}, {"default", g_tickets}},
                 wb::from_fields("db.json is missing: creating it with the default count {default} (the seed stops "
                                 "here with FileNotFoundError)"));
        write_count(office.db(), g_tickets);
        emit_created(g_tickets);
    }
    const int count = read_count(office.db());
    const Json read_event = {{"file", "db.json"}, {"count", count}};
    wb::emit("db.read", read_event,
             one_or_many(read_event["count"], "search: {count} ticket left", "search: {count} tickets left"));

    // An atomic write, stopped half-way: the new bytes are in .db.json.XXXXXX, and db.json still
    // reads as the old, whole file. Only the rename at the end makes the new content visible.
    write_count(office.db(), count + 4, [&](const fs::path& /*temporary_file*/) {
        const int seen = read_count(office.db());
        wb::emit("db.read",
                 {{"file", "db.json"}, {"count", seen}, {"during_write", true}, {"content", count_json(seen)}},
                 wb::from_fields("half of the new file is written to a temp file; db.json still reads {content}"));
    });
    // What was written (count, content) and what db.json reads back after the rename (reads): the
    // sentence shows the read-back, which is the point - the rename made the new content visible.
    emit_written(office, count + 4, "renamed over db.json: it now reads {reads}");

    // Damaged files give a message that says what is wrong, never a crash.
    for (const std::string& bad : {std::string(R"({"count": )"), std::string(R"({"count": -2})"),
                                  std::string(R"({"tickets": 1})")}) {
        wb::write_file_atomically(office.db(), bad);
        try {
            (void)read_count(office.db());
        } catch (const DbError& e) {
            report_db_error(e, bad);
        }
    }
    write_count(office.db(), g_tickets);
    emit_written(office, g_tickets, "db.json rewritten: {reads}");
    wb::note("The directory (mkdtemp under $TMPDIR) and db.json are removed when the demo ends.");
}

// ---------------------------------------------------------------------------------------------
// The buyers (demos 3 and 4).
// ---------------------------------------------------------------------------------------------

// search(i): anyone may read at any time; reads need no lock.
void search(int i, const TicketOffice& office) {
    const Json fields = {{"buyer", i}, {"name", buyer_name(i)}, {"count", read_count(office.db())}};
    wb::emit("search", fields,
             one_or_many(fields["count"], "{name} searches: {count} ticket left",
                         "{name} searches: {count} tickets left"));
}

// buy(i), as in the seed:
//     with open('db') as f: ticket_dic = json.load(f)
//     time.sleep(0.2)                  # 模拟请求数据库的网络延时 (network delay of the read)
//     if ticket_dic['count'] > 0:
//         ticket_dic['count'] -= 1
//         print('%s买到票了' % i)       # (bought a ticket)
//         time.sleep(0.2)              # 模拟往数据库写消息的网络延迟 (network delay of the write)
//         with open('db','w') as f: json.dump(ticket_dic, f)
// `after_read` runs between the read and the decision (the no-lock demo waits there for the other
// buyers); `half_written` runs in the middle of the write (the killed-holder demo stops there).
void buy(int i, const TicketOffice& office, Sale& sale, const std::function<void()>& after_read = {},
         const wb::HalfWrittenHook& half_written = {}) {
    int count = read_count(office.db());
    const Json fields = {{"buyer", i}, {"name", buyer_name(i)}, {"saw", count}};
    wb::Span span("buy", fields,
                  one_or_many(fields["saw"], "{name} reads db.json: {saw} ticket left",
                              "{name} reads db.json: {saw} tickets left"));
    wb::clock::sleep(kNetworkDelay);
    if (after_read) after_read();
    if (count > 0) {
        count -= 1;
        sale.sold += 1;  // the buyer is told: you have a ticket
        wb::emit("bought", {{"buyer", i}, {"name", buyer_name(i)}, {"left", count}},
                 wb::from_fields("{name} bought a ticket ({left} left)"));
        wb::clock::sleep(kNetworkDelay);
        write_count(office.db(), count, half_written);
        span.end(wb::from_fields("{name} wrote db.json: {content}"), {{"content", count_json(count)}});
    } else {
        sale.no_ticket += 1;
        wb::emit("no_ticket", {{"buyer", i}, {"name", buyer_name(i)}}, wb::from_fields("{name}: no ticket left"));
        span.end();
    }
}

// What a buyer does when its lock acquisition says the previous holder died inside its critical
// section: look at the data it may have left half-updated, and make it consistent again before
// going on. db.json itself is always whole (writes are renames); the dead buyer may have left
// (1) a half-written temp file and (2) a "sold" tally that counts a sale its write never
// delivered. db.json is the truth: the tally is recomputed from it.
void repair(int i, const TicketOffice& office, Sale& sale) {
    const int removed = office.remove_temp_files();
    const int count = read_count(office.db());  // throws DbError if it were damaged; it never is
    const int sold_before = sale.sold.load();
    const int sold_after = office.initial() - count;
    sale.sold = sold_after;
    const Json fields = {{"buyer", i}, {"name", buyer_name(i)}, {"removed_temp_files", removed}, {"file_valid", true},
                         {"count", count}, {"content", count_json(count)}, {"sold_before", sold_before},
                         {"sold_after", sold_after}};
    wb::emit("repair", fields,
             one_or_many(fields["removed_temp_files"],
                         "{name} repairs: removes {removed_temp_files} half-written temp file; db.json is intact "
                         "({content}); sold tally {sold_before} -> {sold_after} (a sale that never reached db.json "
                         "did not happen)",
                         "{name} repairs: removes {removed_temp_files} half-written temp files; db.json is intact "
                         "({content}); sold tally {sold_before} -> {sold_after} (a sale that never reached db.json "
                         "did not happen)"));
}

// Ten buyers, started at once. Each searches; when everyone has searched, main opens the ticket
// window. The buyers come to it in an order drawn from --seed: the first in line at once, the
// others once the first is being served (it holds the lock), kArrivalGap apart. That makes the
// output the same on every run however the kernel schedules the processes: the first in line
// is certainly the first to buy. (In what order the later buyers get the lock is the kernel's
// business; with one ticket they all find none, whatever the order.)
struct Buyers {
    TicketOffice office{g_tickets, /*create_db=*/true};
    wb::Shared<Sale> sale;
    wb::StartGate searched{kBuyers};  // everyone has searched: the window opens
    wb::Event first_served;           // the first buyer in line is at the window
    std::vector<wb::Process> processes;

    // body(i, now_served): what buyer i does at the window. It calls now_served() as soon as it
    // is being served (with the lock: once it holds it); for the first in line that lets the
    // others come.
    template <typename F>
    void start(F body) {
        std::vector<int> place(kBuyers);  // place in line of buyer i
        for (int i = 0; i < kBuyers; ++i) place[static_cast<std::size_t>(i)] = i;
        for (int i = kBuyers - 1; i > 0; --i) {  // Fisher-Yates with main's seeded stream
            std::swap(place[static_cast<std::size_t>(i)],
                      place[static_cast<std::size_t>(wb::rng().uniform_int(0, i))]);
        }
        for (int i = 0; i < kBuyers; ++i) {
            processes.emplace_back([this, body, i, p = place[static_cast<std::size_t>(i)]] {
                search(i, office);
                if (!searched.arrive_and_wait(safety())) throw std::runtime_error("the window never opened");
                if (p > 0) {
                    if (!first_served.wait(safety())) throw std::runtime_error("the first buyer was never served");
                    wb::clock::sleep(p * kArrivalGap);
                }
                body(i, [this, p] {
                    if (p == 0) first_served.set();
                });
            });
            processes.back().set_name(buyer_name(i));
            processes.back().start();
        }
        std::vector<int> line(kBuyers);
        std::string order;
        for (int i = 0; i < kBuyers; ++i) line[static_cast<std::size_t>(place[static_cast<std::size_t>(i)])] = i;
        for (int b : line) order += fmt::format("{}{}", order.empty() ? "" : ", ", b);
        if (!searched.wait_until_ready(safety())) throw std::runtime_error("not every buyer has searched");
        wb::emit("window.open", {{"line", line}, {"order", order}},
                 wb::from_fields("everyone has searched: the window opens. In line (seeded): buyers {order}"));
        searched.open();
    }

    void join_all() {
        for (auto& p : processes) p.join();
    }

    // The result, checked: remaining + sold = initial, or by how much it is off.
    void summarise(bool locked) {
        const std::string content = read_text(office.db()).value_or("");
        const int remaining = parse_count(content);
        const int sold = sale->sold;
        const int oversold = remaining + sold - office.initial();
        const Json fields = {{"locked", locked}, {"initial", office.initial()}, {"remaining", remaining},
                             {"sold", sold}, {"no_ticket", sale->no_ticket.load()}, {"oversold", oversold},
                             {"accounted", remaining + sold}, {"file", content}};
        wb::emit("sale.summary", fields,
                 fields["oversold"] == 0
                     ? one_or_many(fields["sold"],
                                   "{sold} buyer bought, {no_ticket} found none; db.json says {remaining} left: "
                                   "{remaining} + {sold} = {accounted} as at the start. Never oversold.",
                                   "{sold} buyers bought, {no_ticket} found none; db.json says {remaining} left: "
                                   "{remaining} + {sold} = {accounted} as at the start. Never oversold.")
                     : one_or_many(fields["initial"],
                                   "{sold} buyers were told they bought a ticket, and there was {initial}; db.json "
                                   "says {remaining} left: {remaining} + {sold} = {accounted}, not {initial}. "
                                   "Oversold by {oversold}.",
                                   "{sold} buyers were told they bought a ticket, and there were {initial}; db.json "
                                   "says {remaining} left: {remaining} + {sold} = {accounted}, not {initial}. "
                                   "Oversold by {oversold}."));
    }
};

// ---------------------------------------------------------------------------------------------
// Demo 3 - ten buyers, one lock.
//     def get_ticket(i, lock):
//         search(i)              # 查询余票,可以多个用户同时查询 (anyone may search at the same time)
//         with lock: buy(i)      # 买票的操作涉及到数据修改,需要加锁 (buying changes data: lock it)
// ---------------------------------------------------------------------------------------------
void demo_with_lock() {
    wb::Lock lock;
    Buyers buyers;
    const std::size_t mark = wb::journal::mark();
    buyers.start([&](int i, const auto& now_served) {
        wb::clock::Stopwatch watch;
        wb::Span wait("wait", {{"buyer", i}, {"name", buyer_name(i)}},
                      wb::from_fields("{name} reaches the window and waits for the lock"));
        auto guard = lock.hold();  // with lock:
        now_served();
        const double waited = watch.elapsed();
        wait.end(wb::from_fields("{name} got the lock after {waited:.2f} s"), {{"waited", waited}});
        if (guard.previous_owner_died()) repair(i, buyers.office, *buyers.sale);  // never here; see demo 5
        buy(i, buyers.office, *buyers.sale);
    });  // the guard releases the lock here, also if buy() throws
    buyers.join_all();
    wb::show_timeline(mark, "Who waited for the lock (w) and who bought under it (b):", {{"wait", 'w'}, {"buy", 'b'}});
    wb::note("The b bars never overlap: one buyer at a time reads, decides and writes. The price is\n"
             "the waiting (the seed: 降低了程序的效率 - the lock costs speed, and buys data safety).\n"
             "A lock is not a queue: a buyer arriving just as it is released may overtake one who waited.");
    buyers.summarise(true);
}

// ---------------------------------------------------------------------------------------------
// Demo 4 - the same buyers without the lock.
// In the seed, the 0.2 s "network delay" between reading and writing makes it likely that every
// buyer reads before anyone writes. Likely is not enough for a lesson, so here it is certain:
// after reading, each buyer waits at a gate that main opens only when all ten have read. Then
// every buyer sees the count it read (1) and buys "the last ticket".
// ---------------------------------------------------------------------------------------------
void demo_no_lock() {
    Buyers buyers;
    wb::StartGate have_read(kBuyers);
    const std::size_t mark = wb::journal::mark();
    buyers.start([&](int i, const auto& now_served) {
        now_served();  // no lock to wait for: reaching the window is being served
        buy(i, buyers.office, *buyers.sale, [&] {
            if (!have_read.arrive_and_wait(safety())) throw std::runtime_error("main never let the buyers go on");
        });
    });
    if (!have_read.wait_until_ready(safety())) throw std::runtime_error("not every buyer has read");
    wb::emit("all_read", {{"buyers", kBuyers}},
             wb::from_fields("all {buyers} buyers have read the count and none has written: main lets them go on"));
    have_read.open();
    buyers.join_all();
    wb::show_timeline(mark, "Without the lock every purchase (b) overlaps every other:", {{"wait", 'w'}, {"buy", 'b'}});
    wb::note("Each buyer read the count, decided, and wrote count - 1 over the others' writes.\n"
             "db.json is still valid JSON (each write was a whole-file rename), but its number is wrong.");
    buyers.summarise(false);
}

// ---------------------------------------------------------------------------------------------
// Demo 5 - a buyer killed while it holds the lock.
// The seed warns that p.terminate() on a process holding a lock leaves the lock held: deadlock.
// Here buyer-0 takes the lock, is told it bought, and starts writing db.json; half-way it tells
// main (an Event) and stalls. Main starts buyer-1, which waits for the lock, and then kills
// buyer-0 with SIGKILL - certainly inside the critical section, since buyer-0 said so and never
// leaves it by itself.
//   plain lock:  nobody will ever release it. buyer-1 waits with a timeout and reports it.
//   robust lock: the kernel marks the mutex "owner died"; buyer-1 gets it, is told (EOWNERDEAD),
//                repairs the data, and buys. buyer-2 afterwards finds an ordinary lock.
// ---------------------------------------------------------------------------------------------

// A buyer after the holder: waits for the lock at most `timeout` (none: only the safety net),
// repairs if told to.
void next_buyer(int i, const TicketOffice& office, Sale& sale, wb::Lock& lock, wb::Event* waiting,
                std::optional<double> timeout) {
    wb::clock::Stopwatch watch;
    // A real timeout is a field of the wait (and shown); the safety net is no timeout to speak of.
    Json fields = {{"buyer", i}, {"name", buyer_name(i)}};
    if (timeout) fields["timeout"] = *timeout;
    wb::Span wait("wait", fields,
                  wb::from_fields(fields.contains("timeout") ? "{name} waits for the lock (at most {timeout:.0f} s)"
                                                             : "{name} waits for the lock"));
    if (waiting != nullptr) waiting->set();
    const wb::AcquireResult got = lock.acquire(timeout.value_or(safety()));
    const double waited = watch.elapsed();
    if (!got) {
        wait.end(wb::from_fields("{name} gives up after {waited:.2f} s"), {{"acquired", false}, {"waited", waited}});
        sale.timed_out += 1;
        wb::emit("lock.timeout",
                 {{"buyer", i}, {"name", buyer_name(i)}, {"timeout", timeout.value_or(safety())}, {"waited", waited}},
                 wb::from_fields("{name}: no lock after {timeout:.0f} s - its holder is dead and a plain lock is "
                                 "never released. Without a timeout {name} would wait forever: the deadlock the "
                                 "seed warns about."));
        return;
    }
    std::lock_guard<wb::Lock> release(lock, std::adopt_lock);  // released at the end of this scope
    wait.end(wb::from_fields("{name} got the lock after {waited:.2f} s"),
             {{"acquired", true}, {"waited", waited}, {"previous_owner_died", got.previous_owner_died}});
    wb::emit("lock.acquired", {{"buyer", i}, {"name", buyer_name(i)}, {"previous_owner_died", got.previous_owner_died}},
             wb::from_fields(got.previous_owner_died
                                 ? "{name} is told: the previous owner died holding the lock (EOWNERDEAD)"
                                 : "{name}: the previous owner released the lock normally"));
    if (got.previous_owner_died) {
        sale.found_owner_dead += 1;
        repair(i, office, sale);
    }
    buy(i, office, sale);
}

void killed_holder(wb::Robustness robustness) {
    const bool robust = robustness == wb::Robustness::robust;
    wb::note(robust ? "With a robust lock (PTHREAD_MUTEX_ROBUST):" : "With a plain process-shared lock:");
    TicketOffice office(g_tickets, /*create_db=*/true);
    wb::Shared<Sale> sale;
    wb::Lock lock(robustness);
    wb::Event stalled;  // buyer-0 holds the lock and is half-way through its write
    wb::Event waiting;  // buyer-1 is about to wait for the lock
    const std::size_t mark = wb::journal::mark();

    wb::Process holder([&] {
        auto guard = lock.hold();
        wb::emit("lock.acquired",
                 {{"buyer", 0}, {"name", buyer_name(0)}, {"previous_owner_died", guard.previous_owner_died()}},
                 wb::from_fields("{name} holds the lock"));
        buy(0, office, *sale, {}, [&](const fs::path& /*temporary_file*/) {
            wb::emit("stall", {{"buyer", 0}, {"name", buyer_name(0)}},
                     wb::from_fields("{name} has written half of the new db.json to a temp file, and stalls"));
            stalled.set();
            wb::clock::sleep(safety());  // main kills it long before this ends
        });
    });
    holder.set_name(buyer_name(0));
    holder.start();
    if (!stalled.wait(safety())) throw std::runtime_error("buyer-0 never reached its write");

    wb::Process next([&] { next_buyer(1, office, *sale, lock, &waiting, 
                                  robust ? std::nullopt : std::optional<double>(kPlainLockTimeout)); });
    next.set_name(buyer_name(1));
    next.start();
    if (!waiting.wait(safety())) throw std::runtime_error("buyer-1 never started waiting");
    wb::clock::sleep(kKillAfter);

    wb::emit("holder.kill", {{"victim", buyer_name(0)}, {"pid", *holder.pid()}},
             wb::from_fields("main kills {victim} with SIGKILL while it holds the lock, in the middle of its write"));
    holder.kill();
    holder.join();
    const int victim_exitcode = *holder.exitcode();
    wb::emit("holder.dead", {{"victim", buyer_name(0)}, {"exitcode", victim_exitcode}},
             wb::from_fields("{victim} is dead (exit code {exitcode}); it never released the lock"));
    next.join();

    if (robust) {
        // The lock is usable again: the next buyer finds it released normally.
        wb::Process later([&] { next_buyer(2, office, *sale, lock, nullptr, std::nullopt); });
        later.set_name(buyer_name(2));
        later.start();
        later.join();
    } else {
        const wb::AcquireResult again = lock.try_acquire();
        if (again) lock.release();
        wb::emit("lock.stuck", {{"acquired", again.acquired}, {"holder", buyer_name(0)}},
                 wb::from_fields(again ? "main could take the lock (unexpected)"
                                       : "main tries the lock too: still held by the dead {holder}, and it always "
                                         "will be"));
    }
    wb::show_timeline(mark, robust ? "buyer-0's purchase (b) never ends - it was killed inside it; buyer-1 waits (w)\n"
                                     "until the kill, then repairs and buys:"
                                   : "buyer-0's purchase (b) never ends - it was killed inside it; buyer-1 waits (w)\n"
                                     "until its timeout:",
                      {{"wait", 'w'}, {"buy", 'b'}});

    const std::string content = read_text(office.db()).value_or("");
    const int remaining = parse_count(content);
    const int sold = sale->sold;
    const bool consistent = remaining + sold == office.initial();
    const Json fields = {{"robust", robust}, {"initial", office.initial()}, {"remaining", remaining}, {"sold", sold},
                         {"consistent", consistent}, {"accounted", remaining + sold},
                         {"victim_exitcode", victim_exitcode}, {"timed_out", sale->timed_out.load()},
                         {"previous_owner_died", sale->found_owner_dead.load() > 0}, {"file", content}};
    const bool shown_consistent = fields["consistent"];
    wb::emit("killed.summary", fields,
             wb::from_fields(
                 robust ? (shown_consistent ? "robust lock: db.json says {remaining} left, {sold} sold: {remaining} + "
                                              "{sold} = {accounted} = the {initial} at the start"
                                            : "robust lock: db.json says {remaining} left, {sold} sold: {remaining} + "
                                              "{sold} = {accounted} != the {initial} at the start")
                        : (shown_consistent ? "plain lock: db.json is intact ({remaining} left) and the tally says "
                                              "{sold} sold: {remaining} + {sold} = {initial}, but nobody can take the "
                                              "lock again"
                                            : "plain lock: db.json is intact ({remaining} left) but the tally says "
                                              "{sold} sold: {remaining} + {sold} != {initial}, and nobody can take the "
                                              "lock to repair it")));
}

void demo_killed_holder() {
    killed_holder(wb::Robustness::not_robust);
    killed_holder(wb::Robustness::robust);
    wb::note("A robust lock does not make the data right by itself: it tells the next holder that the\n"
             "data may be half-updated. The repair is the program's job - here easy, because db.json is\n"
             "only ever replaced whole.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "10-tickets-lock",
        .title = "Tickets with a lock",
        .description = "Ten buyer processes search a JSON ticket file at once and buy under a process-shared\n"
                       "lock (a pthread mutex in shared memory): never oversold. Without the lock every buyer\n"
                       "buys the last ticket. A missing or corrupt file is reported, and a buyer SIGKILLed\n"
                       "while holding the lock deadlocks a plain lock but not a robust one.",
        .demos = {
            {"lock-basics", "acquire/release the key; another process waits while main holds it", demo_lock_basics},
            {"db-file", "the JSON ticket file: missing (created), atomic write, corrupt (clear error)", demo_db_file},
            {"with-lock", "10 buyers search at once and buy under the lock: never oversold", demo_with_lock},
            {"no-lock", "the same buyers without the lock: all of them buy the last ticket", demo_no_lock},
            {"killed-holder", "a buyer killed holding the lock: plain lock deadlocks, robust lock recovers",
             demo_killed_holder},
        },
        .options = {
            {"tickets", "N", "tickets in a new db.json, 1-100 (default 1, as in the seed)",
             [](std::string_view text) { g_tickets = static_cast<int>(wb::parse_int(text, "tickets", 1, 100)); }},
        },
    });
}
