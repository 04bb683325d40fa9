#include "bank_counter.hpp"

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/random.hpp"

namespace ch03 {

std::optional<std::string> read_message(const wb::UniqueFd& fd, const char* call) {
    return wb::read_some(fd.get(), 63, call);
}

Counter::Counter() : clerk_([this] { serve(); }) {
    clerk_.set_name("Counter");
    clerk_.start();
    // Main keeps the ends it uses: it writes requests and reads replies.
    requests_.read_end.reset();
    replies_.write_end.reset();
    open_.wait();
}

Counter::~Counter() {
    requests_.write_end.reset();
    clerk_.join();
}

void Counter::hand_in(const std::string& request) { wb::write_all(requests_.write_end.get(), request, "write (request)"); }

void Counter::serve() {
    requests_.write_end.reset();
    replies_.read_end.reset();
    open_.set();
    const auto request = read_message(requests_.read_end, "read (request)");
    if (!request || request->empty()) return;  // the customer left without asking
    const auto ahead = static_cast<int>(wb::rng().uniform_int(1, 3));
    const int receipt = static_cast<int>(wb::rng().uniform_int(1000, 9999));
    wb::emit("counter.queue", {{"people_ahead", ahead}, {"service", 1.0}, {"own", 0.2}, {"request", *request}},
             wb::from_fields(ahead == 1 ? "got \"{request}\"; {people_ahead} person ahead of you"
                                        : "got \"{request}\"; {people_ahead} people ahead of you"));
    for (int i = 1; i <= ahead; ++i) {
        wb::Span serving("serving", {{"person", i}, {"people_ahead", ahead}},
                         wb::from_fields("serving person {person} of {people_ahead} ahead of you"));
        wb::clock::sleep(1.0);
    }
    {
        wb::Span serving("serving", {{"person", "you"}}, "serving you: your deposit");
        wb::clock::sleep(0.2);
    }
    // Announce first, then deliver: the event's time stamp comes before any customer wakes.
    board_->receipt.store(receipt);
    board_->done_at.store(wb::clock::now());
    wb::emit("counter.done", {{"receipt", receipt}, {"people_ahead", ahead}},
             wb::from_fields("your deposit is done: receipt #{receipt}"));
    wb::write_all(replies_.write_end.get(), fmt::format("receipt #{}", receipt), "write (reply)");
    wb::emit("counter.delivered", {{"receipt", receipt}}, "");  // after write(2) returned (for the checks)
    called_.set();
}

void wasted_poll(int poll, double asked_at, wb::FromFields first_text) {
    wb::Span look("EAGAIN", {{"poll", poll}, {"asked_at", asked_at}, {"interval", kPollInterval}},
                  poll == 1 ? first_text : wb::from_fields(""));
}

void customer_done(const std::string& mode, double waited, int polls, const std::string& receipt,
                   wb::FromFields text, const wb::Json& extra) {
    wb::Json fields{{"mode", mode}, {"waited", waited}, {"polls", polls}, {"receipt", receipt}};
    if (extra.is_object()) fields.update(extra);
    wb::emit("customer.done", std::move(fields), text);
}

}  // namespace ch03
