#include "ticket_office.hpp"

#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <limits>
#include <utility>

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/fd.hpp"
#include "wb/random.hpp"

namespace ch10 {

namespace fs = std::filesystem;

double safety_timeout() { return wb::clock::safety_timeout(300, std::chrono::seconds(30)); }

std::string buyer_name(int i) { return fmt::format("buyer-{}", i); }

wb::FromFields one_or_many(const Json& n, std::string_view one, std::string_view many) {
    return wb::from_fields(n == 1 ? one : many);
}

// ---- the ticket file

std::optional<std::string> read_text(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return std::nullopt;
    const wb::UniqueFd file(wb::check(fd, "open"));
    return wb::read_all(file.get());
}

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

// A fresh temporary file .db.json.XXXXXX beside db.json (every writer gets its own), write,
// fsync, rename over db.json: wb/atomic_file.hpp.
void write_count(const fs::path& db, int count, const wb::HalfWrittenHook& half_written) {
    wb::write_file_atomically(db, count_json(count), half_written);
}

void emit_created(int count) {
    wb::emit("db.created", {{"file", "db.json"}, {"count", count}, {"content", count_json(count)}},
             wb::from_fields("db.json created: {content}"));
}

TicketOffice::TicketOffice(int initial, bool create_db) : initial_(initial), dir_("wb-tickets-") {
    db_ = dir_.path() / "db.json";
    if (create_db) {
        write_count(db_, initial_);
        emit_created(initial_);
    }
}

int TicketOffice::remove_temp_files() const {
    int removed = 0;
    for (const auto& entry : fs::directory_iterator(dir_.path())) {
        if (entry.path().filename().string().rfind(".db.json.", 0) == 0) {  // write_file_atomically's names
            fs::remove(entry.path());
            ++removed;
        }
    }
    return removed;
}

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

// ---- the buyers

void search(int i, const TicketOffice& office) {
    const Json fields = {{"buyer", i}, {"name", buyer_name(i)}, {"count", read_count(office.db())}};
    wb::emit("search", fields,
             one_or_many(fields["count"], "{name} searches: {count} ticket left",
                         "{name} searches: {count} tickets left"));
}

Buyers::Buyers(int tickets) : office_(tickets, /*create_db=*/true) {}

void Buyers::start(const AtTheWindow& body) {
    std::vector<int> place(kBuyers);  // place in line of buyer i
    for (int i = 0; i < kBuyers; ++i) place[static_cast<std::size_t>(i)] = i;
    for (int i = kBuyers - 1; i > 0; --i) {  // Fisher-Yates with main's seeded stream
        std::swap(place[static_cast<std::size_t>(i)], place[static_cast<std::size_t>(wb::rng().uniform_int(0, i))]);
    }
    for (int i = 0; i < kBuyers; ++i) {
        processes_.emplace_back([this, body, i, p = place[static_cast<std::size_t>(i)]] {
            try {
                search(i, office_);
                if (!searched_.arrive_and_wait(safety_timeout())) throw std::runtime_error("the window never opened");
                if (p > 0) {
                    if (!first_served_.wait(safety_timeout())) throw std::runtime_error("the first buyer was never served");
                    wb::clock::sleep(p * kArrivalGap);
                }
                body(i, [this, p] {
                    if (p == 0) first_served_.set();
                });
            } catch (...) {
                if (p == 0) first_served_.set();  // the others must not wait for a buyer who failed
                throw;
            }
        });
        processes_.back().set_name(buyer_name(i));
        processes_.back().start();
    }
    std::vector<int> line(kBuyers);
    std::string order;
    for (int i = 0; i < kBuyers; ++i) line[static_cast<std::size_t>(place[static_cast<std::size_t>(i)])] = i;
    for (int b : line) order += fmt::format("{}{}", order.empty() ? "" : ", ", b);
    wait_ready(searched_, "searched");
    wb::emit("window.open", {{"line", line}, {"order", order}},
             wb::from_fields("everyone has searched: the window opens. In line (seeded): buyers {order}"));
    searched_.open();
}

void Buyers::wait_ready(wb::StartGate& gate, std::string_view what) {
    const double slice = wb::clock::to_logical(std::chrono::milliseconds(20));
    const wb::clock::Stopwatch waited;
    const double limit = safety_timeout();
    while (!gate.wait_until_ready(slice)) {
        for (auto& p : processes_) {
            if (!p.is_alive() && p.exitcode().value_or(0) != 0) {
                throw std::runtime_error(fmt::format("{} failed (exit code {}) before every buyer had {}", p.name(),
                                                     *p.exitcode(), what));
            }
        }
        if (waited.elapsed() > limit) throw std::runtime_error(fmt::format("not every buyer has {}", what));
    }
}

void Buyers::join_all() {
    for (auto& p : processes_) p.join();
}

void Buyers::summarise(bool locked) {
    const std::string content = read_text(office_.db()).value_or("");
    const int remaining = parse_count(content);
    const int sold = sale_->sold;
    const int oversold = remaining + sold - office_.initial();
    const Json fields = {{"locked", locked}, {"initial", office_.initial()}, {"remaining", remaining},
                         {"sold", sold}, {"no_ticket", sale_->no_ticket.load()}, {"oversold", oversold},
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

}  // namespace ch10
