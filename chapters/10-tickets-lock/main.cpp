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
// The ticket file, its office and the line of buyers are props, in ticket_office.cpp.
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ticket_office.hpp"
#include "wb/atomic_file.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/event.hpp"
#include "wb/lock.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/shared_memory.hpp"
#include "wb/start_gate.hpp"
#include "wb/timeline.hpp"

namespace {

using namespace ch10;  // the ticket file, the office, the buyers: ticket_office.hpp
namespace fs = std::filesystem;

constexpr int kHold = 1;                 // lock-basics: main keeps the key this long
constexpr double kPlainLockTimeout = 2;  // how long the next buyer waits for a lock whose holder died
constexpr double kKillAfter = 0.5;       // main lets the next buyer wait this long, then kills the holder

int g_tickets = 1;  // --tickets N: the count a new db.json starts with (the seed's db holds 1)

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
// The seed's open('db') raises FileNotFoundError when db is missing, and its open('db','w')
// empties the file before writing, so a writer that dies half-way leaves half a file. The ticket
// file's reader and writer (ticket_office.cpp) fix both; this demo takes them through each case.
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
// What a buyer does at the window (demos 3, 4 and 5). Searching needs no lock and is done by
// every buyer first (ch10::search); buying reads, decides and writes, and is what the lock guards.
// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Demo 3 - ten buyers, one lock.
//     def get_ticket(i, lock):
//         search(i)              # 查询余票,可以多个用户同时查询 (anyone may search at the same time)
//         with lock: buy(i)      # 买票的操作涉及到数据修改,需要加锁 (buying changes data: lock it)
// ---------------------------------------------------------------------------------------------
void demo_with_lock() {
    wb::Lock lock;
    Buyers buyers(g_tickets);
    const std::size_t mark = wb::journal::mark();
    buyers.start([&](int i, const auto& now_served) {
        wb::clock::Stopwatch watch;
        wb::Span wait("wait", {{"buyer", i}, {"name", buyer_name(i)}},
                      wb::from_fields("{name} reaches the window and waits for the lock"));
        auto guard = lock.hold();  // with lock:
        now_served();
        const double waited = watch.elapsed();
        wait.end(wb::from_fields("{name} got the lock after {waited:.2f} s"), {{"waited", waited}});
        if (guard.previous_owner_died()) repair(i, buyers.office(), buyers.sale());  // never here; see demo 5
        buy(i, buyers.office(), buyers.sale());
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
    Buyers buyers(g_tickets);
    wb::StartGate have_read(kBuyers);
    const std::size_t mark = wb::journal::mark();
    buyers.start([&](int i, const auto& now_served) {
        now_served();  // no lock to wait for: reaching the window is being served
        buy(i, buyers.office(), buyers.sale(), [&] {
            if (!have_read.arrive_and_wait(safety_timeout())) throw std::runtime_error("main never let the buyers go on");
        });
    });
    buyers.wait_ready(have_read, "read");
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
    const wb::AcquireResult got = lock.acquire(timeout.value_or(safety_timeout()));
    const double waited = watch.elapsed();
    if (!got) {
        wait.end(wb::from_fields("{name} gives up after {waited:.2f} s"), {{"acquired", false}, {"waited", waited}});
        sale.timed_out += 1;
        wb::emit("lock.timeout",
                 {{"buyer", i}, {"name", buyer_name(i)}, {"timeout", timeout.value_or(safety_timeout())}, {"waited", waited}},
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
            wb::clock::sleep(safety_timeout());  // main kills it long before this ends
        });
    });
    holder.set_name(buyer_name(0));
    holder.start();
    if (!stalled.wait(safety_timeout())) throw std::runtime_error("buyer-0 never reached its write");

    wb::Process next([&] { next_buyer(1, office, *sale, lock, &waiting, 
                                  robust ? std::nullopt : std::optional<double>(kPlainLockTimeout)); });
    next.set_name(buyer_name(1));
    next.start();
    if (!waiting.wait(safety_timeout())) throw std::runtime_error("buyer-1 never started waiting");
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
