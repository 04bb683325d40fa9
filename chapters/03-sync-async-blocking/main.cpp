// Chapter 03 - Sync, async, blocking.
//
// Seeds: 000 §1.5, 001 §四 §五, 002 (同步/异步, 阻塞/非阻塞), 004 §四.
// Two separate questions, as the seeds insist:
//   sync or async      - does the CALL wait for the result (同步), or return at once and hand the
//                        result over later by a state, a notification or a callback (异步)?
//   blocking or not    - while waiting for that result, is the WAITER suspended by the kernel
//                        (阻塞: it can do nothing else), or free to do other things (非阻塞)?
// 004's bank makes it concrete: a clerk at the counter (a real child process) serves the people
// ahead of you, then your deposit. You can wait for it in four ways, one demo each. A last demo
// does the same with a real TCP socket: recv() on a non-blocking socket returns EAGAIN at once,
// a blocking recv() waits until the data arrives.
// The clerk and its counter are in bank_counter.cpp, the socket plumbing in loopback.cpp.
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <fmt/core.h>

#include "bank_counter.hpp"
#include "loopback.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/event.hpp"
#include "wb/fd.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"
#include "wb/thread.hpp"
#include "wb/timeline.hpp"

namespace {

// Demo 1 - synchronous and blocking (同步阻塞): wait in line at the counter.
// The call deposit() does not return before the business is done (synchronous), and while it
// waits the customer is suspended in read() by the kernel (blocking): nothing else gets done.
// 004: 效率最低 ... 你专心排队,什么别的事都不做.
std::string deposit(ch03::Counter& counter) {
    counter.hand_in("deposit 100");
    return ch03::read_message(counter.replies(), "read (reply)").value();  // blocks until the clerk writes
}

void demo_sync_blocking() {
    const std::size_t mark = wb::journal::mark();
    ch03::Counter counter;
    const wb::clock::Stopwatch watch;
    wb::Span blocked("blocked", {{"mode", "sync-blocking"}},
                     "deposit(): hands in the request and waits in read() - blocked, doing nothing else");
    const std::string receipt = deposit(counter);
    blocked.end(wb::from_fields("deposit() returned \"{receipt}\""), {{"receipt", receipt}});
    ch03::customer_done("sync-blocking", watch.elapsed(), 0, receipt,
                        wb::from_fields("got \"{receipt}\" after {waited:.2f} s, all of it spent blocked"));
    wb::show_timeline(mark, "sync + blocking: the customer is blocked for as long as the counter works",
                      {{"serving", 's'}, {"blocked", 'b'}});
    wb::note("同步阻塞: the call did not return before the result (synchronous) and the customer was suspended\n"
             "the whole time (blocking). Cheap for the CPU, but the customer got nothing else done: 效率最低.");
}

// Demo 2 - synchronous and non-blocking (同步非阻塞): keep asking "is it my turn?".
// The reply pipe is made non-blocking (O_NONBLOCK): read() never suspends the customer; with no
// reply yet it returns -1 with errno EAGAIN at once. So the customer is free between looks - on
// the phone - but must keep looking: the result is still fetched by the customer (synchronous),
// and every look that finds nothing is a wasted poll. 004: 一边打着电话一边还需要抬头看到底队伍排到
// 你了没有 ... 效率可想而知是低下的. (002 calls this "status": 监听被调用者的状态(轮询).)
// The looks are on a fixed schedule (every ch03::kPollInterval from the start), so the number of
// wasted polls is about the wait divided by the interval.
void demo_sync_non_blocking() {
    const std::size_t mark = wb::journal::mark();
    ch03::Counter counter;
    counter.replies().set_non_blocking();
    const double start = wb::clock::now();
    const wb::clock::Stopwatch watch;
    counter.hand_in("deposit 100");
    int polls = 0;
    std::string receipt;
    for (int k = 1;; ++k) {
        const double asked_at = wb::clock::now();
        if (auto reply = ch03::read_message(counter.replies(), "read (reply)")) {
            receipt = *reply;
            break;
        }
        ++polls;
        ch03::wasted_poll(polls, asked_at, wb::from_fields("is it my turn? read() -> EAGAIN: not yet; back to the phone"));
        // On the phone until the next look (on a fixed schedule: no drift from late wake-ups).
        wb::clock::sleep(start + k * ch03::kPollInterval - wb::clock::now());
    }
    const double waited = watch.elapsed();
    const double late = wb::clock::now() - counter.done_at();
    ch03::customer_done("sync-non-blocking", waited, polls, receipt,
                        wb::from_fields("got \"{receipt}\" after {waited:.2f} s; it looked every {interval:g} s, "
                                        "so about wait / interval = {waited_per_interval:.2f}\nlooks were wasted"),
                        {{"interval", ch03::kPollInterval}, {"waited_per_interval", waited / ch03::kPollInterval}});
    wb::emit("polls", {{"polls", polls}, {"interval", ch03::kPollInterval}, {"waited", waited}, {"late", late}},
             wb::from_fields("the receipt had been ready for {late:.2f} s when a poll found it"));
    wb::show_timeline(mark, "sync + non-blocking: each E is a look that found nothing (the count: field `polls`)",
                      {{"serving", 's'}, {"EAGAIN", 'E'}});
    wb::note("同步非阻塞: read() never blocked, yet the customer had to keep asking - every EAGAIN is a wasted\n"
             "call - and learnt the news up to one interval late. Shorter intervals: less delay, more waste.");
}

// Demo 3 - asynchronous with a notification (异步, 通知): take a number and wait to be called.
// take_number() hands the request in and returns at once with a number: the call does not wait
// for the result (asynchronous). The customer fills in a form, then sits down until the number
// display calls the number - a wb::Event that the clerk sets when the work is done. Waiting for
// the notification still blocks (004's 异步阻塞: 不是在处理消息时阻塞,而是在等待消息通知时被阻塞),
// but nobody polls: the clerk's set() wakes the waiter. The receipt number is read from shared
// memory, written before set(): the event orders it (see wb/event.hpp, "Memory ordering").
int take_number(ch03::Counter& counter) {
    counter.hand_in("deposit 100");
    return static_cast<int>(wb::rng().uniform_int(10, 99));
}

void demo_async_notify() {
    const std::size_t mark = wb::journal::mark();
    ch03::Counter counter;
    const wb::clock::Stopwatch watch;
    const int number = take_number(counter);
    wb::emit("customer.ticket", {{"number", number}, {"returned_after", watch.elapsed()}},
             wb::from_fields("take_number() returned at once: number {number}"));
    {
        constexpr double kForm = 0.5;
        wb::Span form("form", {{"seconds", kForm}}, wb::from_fields("fills in a form meanwhile ({seconds:g} s)"));
        wb::clock::sleep(kForm);
    }
    wb::Span waiting("waiting", {{"number", number}},
                     wb::from_fields("sits down until number {number} is called (blocked on the notification)"));
    counter.called().wait();
    const std::string receipt = fmt::format("receipt #{}", counter.receipt_on_board());
    waiting.end(wb::from_fields("number {number} called: \"{receipt}\" read from the board"), {{"receipt", receipt}});
    ch03::customer_done("async-notify", watch.elapsed(), 0, receipt,
                        wb::from_fields("got \"{receipt}\" after {waited:.2f} s without a single poll"));
    wb::show_timeline(mark, "async + notification: the call returned at once; woken when the work was done",
                      {{"serving", 's'}, {"form", 'f'}, {"waiting", 'w'}});
    wb::note("异步 + 通知: take_number() returned at once; the customer blocked only on the notification\n"
             "(异步阻塞) and was woken the moment the clerk set the event: no poll, no delay.");
}

// Demo 4 - asynchronous with a callback (异步非阻塞): leave a callback and go out.
// deposit_async() hands the request in, leaves a callback, and returns at once. The customer goes
// outside for a smoke; when the deposit is done the callback runs - here on a notifier thread of
// the customer's process, which is the one blocked in read() (the way Python's Pool runs
// apply_async callbacks on a result-handler thread of the parent, chapter 14). The customer
// itself is never blocked and never polls. 004: 排到我这个号码的时候麻烦到外面通知我一下.
std::jthread deposit_async(ch03::Counter& counter, std::function<void(const std::string&)> callback) {
    counter.hand_in("deposit 100");
    return wb::start_jthread([&counter, callback = std::move(callback)] {
        wb::set_thread_actor("notifier");
        std::string receipt;
        {
            wb::Span blocked("blocked", {{"mode", "async-callback"}}, "waits in read() for the counter's reply");
            receipt = ch03::read_message(counter.replies(), "read (reply)").value();
        }
        callback(receipt);
    });
}

void demo_async_callback() {
    const std::size_t mark = wb::journal::mark();
    ch03::Counter counter;
    const wb::clock::Stopwatch watch;
    std::atomic<int> calls{0};
    std::string got;  // written by the callback; read after join()
    std::jthread notifier = deposit_async(counter, [&calls, &got, &watch](const std::string& receipt) {
        const int n = ++calls;
        got = receipt;
        wb::emit("callback", {{"receipt", receipt}, {"calls", n}, {"after", watch.elapsed()}},
                 wb::from_fields("callback(\"{receipt}\") runs, while the customer is still outside"));
    });
    wb::emit("customer.returned", {{"returned_after", watch.elapsed()}}, "deposit_async() returned at once");
    {
        constexpr int kOutside = 4;
        wb::Span outside("outside", {{"seconds", kOutside}},
                         wb::from_fields("goes outside for a {seconds} s smoke, waiting for nothing"));
        wb::clock::sleep(kOutside);
        outside.end("comes back in");
    }
    notifier.join();
    ch03::customer_done("async-callback", watch.elapsed(), 0, got,
                        wb::from_fields(calls.load() == 1 ? "the callback ran {calls} time; the customer was never blocked"
                                                          : "the callback ran {calls} times; the customer was never blocked"),
                        {{"calls", calls.load()}});
    wb::emit("callbacks", {{"calls", calls.load()}}, "");
    wb::show_timeline(mark, "async + callback: the customer is outside; the notifier thread waits instead",
                      {{"serving", 's'}, {"blocked", 'b'}, {"outside", 'o'}});
    wb::note("异步非阻塞: nobody polled and the customer was never blocked; the waiting moved to a notifier\n"
             "thread, which ran the callback exactly once when the work was done.");
}

// ---------------------------------------------------------------------------------------------
// Demo 5 - the same on a real TCP socket (000 §1.5: 使用socket建立tcp连接后,只要recv没有接收到数据
// 就会一直处于阻塞的状态,直到有数据为止).
// A Sender process connects to main over 127.0.0.1 and sends two messages. Main first calls
// recv() with MSG_DONTWAIT (non-blocking, for this call only): nothing has been sent yet - the
// Sender waits for main's `go` - so it returns -1 / EAGAIN at once. Then main polls the same way
// every half second until the first message arrives (2.2 s after go), counting the wasted polls.
// Finally a plain, blocking recv() for the second message: main is suspended until the Sender
// sends it, 1.5 s later.
// When the Sender sends: 2.2 s after go (not a whole number of poll intervals), then 1.5 s later.
constexpr double kFirstAfter = 2.2;
constexpr double kSecondAfter = 1.5;

void demo_socket() {
    const std::size_t mark = wb::journal::mark();
    std::uint16_t port = 0;
    const wb::UniqueFd listener = ch03::listen_on_loopback(port);
    wb::emit("listen", {{"address", "127.0.0.1"}, {"port", port}},
             wb::from_fields("listening on {address} (port 0: any free port)"));
    wb::Event go;
    wb::Process sender([&go, port] {
        const wb::UniqueFd socket = ch03::connect_to_loopback(port);
        wb::emit("connected", {{"port", port}, {"first_after", kFirstAfter}, {"second_after", kSecondAfter}},
                 "connected; waits for go before sending anything");
        go.wait();
        {
            wb::Span typing("typing", {{"seconds", kFirstAfter}}, "");
            wb::clock::sleep(kFirstAfter);
        }
        ch03::send_message(socket, "hello");
        {
            wb::Span typing("typing", {{"seconds", kSecondAfter}}, "");
            wb::clock::sleep(kSecondAfter);
        }
        ch03::send_message(socket, "world");
        // Wait for main to close its end, so the connection ends on main's side first.
        (void)ch03::receive(socket, 0, 1);
    });
    sender.set_name("Sender");
    sender.start();
    wb::UniqueFd connection = ch03::accept_connection(listener);

    // 1. Non-blocking: nothing was sent yet (the Sender waits for go), so EAGAIN, at once.
    {
        const wb::clock::Stopwatch watch;
        const auto got = ch03::receive(connection, MSG_DONTWAIT, 5);
        if (got) throw std::logic_error("recv(MSG_DONTWAIT) found data before the sender sent any");
        wb::emit("recv.nonblocking", {{"result", "EAGAIN"}, {"errno", EAGAIN}, {"took", watch.elapsed()}},
                 wb::from_fields("recv(MSG_DONTWAIT) returned -1 at once: errno {result}, no data yet ({took:.2f} s)"));
    }
    // 2. Polling with non-blocking recv until the first message arrives.
    const double start = wb::clock::now();
    go.set();
    int polls = 0;
    std::string first;
    for (int k = 1;; ++k) {
        const double asked_at = wb::clock::now();
        if (auto got = ch03::receive(connection, MSG_DONTWAIT, 5)) {
            first = *got;
            break;
        }
        ++polls;
        ch03::wasted_poll(polls, asked_at,
                          wb::from_fields("recv(MSG_DONTWAIT) -> EAGAIN: nothing yet; polling every {interval:g} s"));
        wb::clock::sleep(start + k * ch03::kPollInterval - wb::clock::now());
    }
    const double polled = wb::clock::now() - start;
    wb::emit("recv.data",
             {{"message", first},
              {"polls", polls},
              {"waited", polled},
              {"interval", ch03::kPollInterval},
              {"waited_per_interval", polled / ch03::kPollInterval}},
             wb::from_fields("got \"{message}\" after {waited:.2f} s of polling: about {waited_per_interval:.2f} "
                             "wasted recv() calls"));
    // 3. Blocking: recv() suspends main until the Sender sends the second message.
    std::string second;
    {
        wb::Span blocked("recv", {{"blocking", true}}, "recv() on a blocking socket: suspended until data arrives");
        second = ch03::receive(connection, 0, 5).value();
        blocked.end(wb::from_fields("recv() returned \"{message}\""), {{"message", second}});
    }
    connection.reset();
    sender.join();
    wb::show_timeline(mark, "the socket: polls (E) while the Sender types, then one blocking recv() (r)",
                      {{"typing", 't'}, {"send", 's'}, {"EAGAIN", 'E'}, {"recv", 'r'}});
    wb::note("The non-blocking recv() never waits: no data means -1/EAGAIN, and finding out when data has\n"
             "come is the caller's job (the polls). The blocking recv() waits inside the kernel and\n"
             "returns exactly when the data is there, without a single wasted call.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "03-sync-async-blocking",
        .title = "Sync, async, blocking",
        .description = "004's bank: a clerk process serves the people ahead of you, then your deposit. Wait for it\n"
                       "synchronously and blocked (in read()), synchronously without blocking (polling a\n"
                       "non-blocking pipe, counting the wasted polls), asynchronously with a notification\n"
                       "(take a number; an Event wakes you) or with a callback (run by a notifier thread).\n"
                       "Then a TCP socket on 127.0.0.1: recv() returning EAGAIN vs a blocking recv().",
        .demos = {
            {"sync-blocking", "wait in line at the counter: the call blocks until the work is done", demo_sync_blocking},
            {"sync-non-blocking", "keep asking \"is it my turn?\": read() returns EAGAIN, count the polls",
             demo_sync_non_blocking},
            {"async-notify", "take a number and be called: an Event wakes you when the work is done", demo_async_notify},
            {"async-callback", "leave a callback and go out: it runs once, when the work is done", demo_async_callback},
            {"socket", "recv() on a TCP socket: EAGAIN when non-blocking, waits when blocking", demo_socket},
        },
    });
}
