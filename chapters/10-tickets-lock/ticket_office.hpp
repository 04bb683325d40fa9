// Chapter 10's props: the ticket file db.json, the office that keeps it, and the line of buyers.
//
// The seed keeps the tickets in a file named db, read with json.load and written with json.dump:
//     with open('db') as f: ticket_dic = json.load(f)
//     with open('db','w') as f: json.dump(ticket_dic, f)
// Two things go wrong there. open('db') of a missing file raises FileNotFoundError (the seed says
// so: "只是缺少db文件,代码执行会报错"), and open('db','w') first empties the file, so a reader - or
// a writer that dies half-way - sees an empty or half-written file. Here every write goes through
// wb::write_file_atomically (wb/atomic_file.hpp): a temporary file in the same directory, flushed
// to disk and renamed over db.json. rename() replaces the name in one step, so readers see the old
// file or the new one, never a part. A file that is missing, not JSON or not {"count": N} is a
// DbError that says which, never a crash.
//
// The buyers of demos 3 and 4 stand in a Buyers line: ten processes that each search (read the
// count; reads need no lock), meet at a wb::StartGate, and then come to the ticket window in an
// order drawn from --seed. What a buyer does at the window - buy(), with or without the lock - is
// the lesson, and main.cpp says it.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/atomic_file.hpp"
#include "wb/event.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/shared_memory.hpp"
#include "wb/start_gate.hpp"
#include "wb/temp_directory.hpp"

namespace ch10 {

using Json = nlohmann::json;

inline constexpr int kBuyers = 10;            // for i in range(10)
inline constexpr double kNetworkDelay = 0.2;  // time.sleep(0.2), twice in buy()
inline constexpr double kArrivalGap = 0.2;    // buyers reach the ticket window this far apart (seeded order)

// Waits that only a broken program would ever exhaust: 300 logical seconds, but never less than
// 30 s of real time (wb::clock::safety_timeout), so a tiny --time-scale never fires them on a
// healthy run.
[[nodiscard]] double safety_timeout();

[[nodiscard]] std::string buyer_name(int i);

// The sentence for a count that is one or many: `one` and `many` differ only in the words around
// the number, which itself comes from the event's fields. The choice is made from the field too.
[[nodiscard]] wb::FromFields one_or_many(const Json& n, std::string_view one, std::string_view many);

// ---- the ticket file

// A problem with db.json that the program reports instead of crashing.
class DbError : public std::runtime_error {
public:
    DbError(std::string kind, const std::string& what) : std::runtime_error(what), kind_(std::move(kind)) {}
    [[nodiscard]] const std::string& kind() const noexcept { return kind_; }  // missing, corrupt, invalid

private:
    std::string kind_;
};

// The whole file, or nothing when it does not exist.
[[nodiscard]] std::optional<std::string> read_text(const std::filesystem::path& path);
// json.load + ticket_dic['count'], with a DbError ("corrupt", "invalid") for each way it can fail.
[[nodiscard]] int parse_count(const std::string& text);
// read_text + parse_count; a missing file is DbError("missing").
[[nodiscard]] int read_count(const std::filesystem::path& db);
// {"count": N}, as json.dump writes it.
[[nodiscard]] std::string count_json(int count);
// Replaces db.json with {"count": count}, atomically. `half_written`, if given, runs when half of
// the new file is in the temporary file (demo 2 reads db.json there; demo 5 kills a buyer there).
void write_count(const std::filesystem::path& db, int count, const wb::HalfWrittenHook& half_written = {});
// db.json now holds `count`: the event says so with the content that was written.
void emit_created(int count);

// The ticket office of one demo: a private directory under $TMPDIR holding db.json. It is a
// wb::TempDirectory, so it is removed with whatever is inside when the demo ends (also when the
// demo throws), and by the signal handler when the reader presses Ctrl-C. A forked buyer has a
// copy of this object but never removes the directory: it ends with _exit, and the
// TempDirectory checks the pid.
class TicketOffice {
public:
    // Makes the directory; with `create_db`, also db.json holding `initial` tickets.
    TicketOffice(int initial, bool create_db);

    [[nodiscard]] const std::filesystem::path& db() const noexcept { return db_; }
    [[nodiscard]] int initial() const noexcept { return initial_; }

    // Removes temporary files a writer left behind (it died before its rename); returns how many.
    [[nodiscard]] int remove_temp_files() const;

private:
    int initial_;
    wb::TempDirectory dir_;
    std::filesystem::path db_;
};

// What the buyers of one demo share, in shared memory (std::atomic is address-free, so it works
// across processes). The seed has no tally; this one lets the program check its own result:
// remaining (in db.json) + sold (buyers told "you bought a ticket") must equal the initial count.
struct Sale {
    std::atomic<int> sold;
    std::atomic<int> no_ticket;
    std::atomic<int> timed_out;         // killed-holder demo: buyers that gave up on the lock
    std::atomic<int> found_owner_dead;  // ... acquisitions that were told the holder had died
};

// What a buyer does when its lock acquisition says the previous holder died inside its critical
// section: look at the data it may have left half-updated, and make it consistent again before
// going on. db.json itself is always whole (writes are renames); the dead buyer may have left
// (1) a half-written temp file and (2) a "sold" tally that counts a sale its write never
// delivered. db.json is the truth: the tally is recomputed from it.
void repair(int i, const TicketOffice& office, Sale& sale);

// ---- the buyers (demos 3 and 4)

// def search(i): anyone may read at any time; reads need no lock.
void search(int i, const TicketOffice& office);

// Ten buyers, started at once. Each searches; when everyone has searched, main opens the ticket
// window. The buyers come to it in an order drawn from --seed: the first in line at once, the
// others once the first is being served (it holds the lock), kArrivalGap apart. That makes the
// output the same on every run however the kernel schedules the processes: the first in line
// is certainly the first to buy. (In what order the later buyers get the lock is the kernel's
// business; with one ticket they all find none, whatever the order.)
class Buyers {
public:
    // A fresh ticket office with `tickets` in db.json, and a zero tally.
    explicit Buyers(int tickets);
    Buyers(const Buyers&) = delete;
    Buyers& operator=(const Buyers&) = delete;

    // What buyer i does at the window. It calls now_served() as soon as it is being served (with
    // the lock: once it holds it); for the first in line that lets the others come.
    using AtTheWindow = std::function<void(int i, const std::function<void()>& now_served)>;
    // Starts the ten buyers, waits until all have searched, and opens the window.
    void start(const AtTheWindow& body);
    // Waits until all ten buyers have arrived at `gate` (wait_until_ready). A buyer that fails
    // before it arrives (out of descriptors, say) would leave main waiting for the whole safety
    // net: main looks at the buyers between short waits and throws at once, naming the buyer and
    // `what` the others had done, when one has ended with an error.
    void wait_ready(wb::StartGate& gate, std::string_view what);
    void join_all();
    // The result, checked: remaining + sold = initial, or by how much it is off (sale.summary).
    void summarise(bool locked);

    [[nodiscard]] const TicketOffice& office() const noexcept { return office_; }
    [[nodiscard]] Sale& sale() noexcept { return *sale_; }

private:
    TicketOffice office_;
    wb::Shared<Sale> sale_;
    wb::StartGate searched_{kBuyers};  // everyone has searched: the window opens
    wb::Event first_served_;           // the first buyer in line is at the window
    std::vector<wb::Process> processes_;
};

}  // namespace ch10
