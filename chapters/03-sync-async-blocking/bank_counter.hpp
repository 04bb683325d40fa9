// Chapter 03's props: the bank counter of seed 004, and the lines the demos end with.
//
// The clerk is a child process. Once at the counter (the constructor waits for it) it waits
// (blocking read) for your request on a pipe, serves the 1-3 people ahead of you (1 s each, a
// seeded number) and then your deposit (0.2 s), and hands the receipt back in two ways at once,
// for the four demos to choose from:
//   - it writes the receipt on the reply pipe               (what read() waits for),
//   - it writes the receipt number into shared memory and    (the number display: a wb::Event in
//     sets the `called` event                                 shared memory, like 004's 喊号).
// Your business therefore takes people_ahead + 0.2 s: never a whole number of poll intervals, so
// on an idle machine the number of polls in demo 2 does not depend on a few milliseconds.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "wb/event.hpp"
#include "wb/fd.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/shared_memory.hpp"

namespace ch03 {

// The poll interval of the non-blocking waits: the customer looks up every half second.
constexpr double kPollInterval = 0.5;

struct Board {
    std::atomic<int> receipt{0};       // written before `called` is set; read after wait() returns
    std::atomic<double> done_at{0.0};  // logical time the deposit was done (before the reply)
};

class Counter {
public:
    // Starts the clerk and returns when it sits at the counter, so the time a customer waits is
    // the queue, not how long fork() took.
    Counter();
    Counter(const Counter&) = delete;
    Counter& operator=(const Counter&) = delete;
    // Closes the request pipe (a clerk still waiting learns that nobody comes) and joins it.
    ~Counter();

    // Hands the request in. Never blocks: the pipe has room for far more than one request.
    void hand_in(const std::string& request);
    // The reply pipe's read end, for the demos' own reads.
    [[nodiscard]] const wb::UniqueFd& replies() const noexcept { return replies_.read_end; }
    [[nodiscard]] wb::Event& called() noexcept { return called_; }
    [[nodiscard]] int receipt_on_board() const noexcept { return board_->receipt.load(); }
    // When the deposit was done; valid once the reply has been read or the event has been seen.
    [[nodiscard]] double done_at() const noexcept { return board_->done_at.load(); }

private:
    void serve();  // the clerk's side (runs in the child process)

    wb::Pipe requests_;  // customer -> clerk
    wb::Pipe replies_;   // clerk -> customer
    wb::Event open_;     // set by the clerk when it is ready for requests
    wb::Event called_;   // the number display
    wb::Shared<Board> board_;
    wb::Process clerk_;  // last: its child uses everything above
};

// Reads one short reply (at most 63 bytes, written with one write(2)): the text, "" at end of
// file, or std::nullopt when a non-blocking descriptor has nothing yet (EAGAIN).
[[nodiscard]] std::optional<std::string> read_message(const wb::UniqueFd& fd, const char* call);

// A look that found nothing: a zero-length span, so that the timeline marks it with an E.
// Only the first one is narrated; the others show in the timeline and in the jsonl (how many
// there are depends on timing, and the text output stays the same from run to run).
// Its fields: `poll`, `asked_at` and `interval` (kPollInterval), which `first_text` may name.
void wasted_poll(int poll, double asked_at, wb::FromFields first_text);

// The last line of each bank demo, with what the tests compare: the fields `mode`, `waited`,
// `polls`, `receipt` and any `extra` ones, and a text made from them.
void customer_done(const std::string& mode, double waited, int polls, const std::string& receipt,
                   wb::FromFields text, const wb::Json& extra = nullptr);

}  // namespace ch03
