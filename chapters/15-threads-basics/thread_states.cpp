#include "thread_states.hpp"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <string>

#include "wb/cpu.hpp"
#include "wb/output.hpp"
#include "wb/proc.hpp"
#include "wb/thread.hpp"
#include "wb/thread_event.hpp"

namespace {

// The state letter of thread `tid` of this process ('?' if /proc has no such task).
char kernel_state(pid_t tid) {
    const auto stat = wb::read_proc_stat(tid);
    return stat ? stat->state : '?';
}

// A thread that has said it is about to wait may still be on its way into the wait: look until
// the kernel shows it asleep (S), for at most two seconds of real time.
char state_once_asleep(pid_t tid) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    char state = kernel_state(tid);
    while (state != 'S' && std::chrono::steady_clock::now() < give_up) {
        ::sched_yield();
        state = kernel_state(tid);
    }
    return state;
}

// One thread.state event; `text` is a wb::from_fields sentence over its fields (and `extra`).
void report(const std::string& state, const wb::Thread& t, char letter, wb::FromFields text,
            const wb::Json& extra = wb::Json::object()) {
    wb::Json fields = {{"state", state}, {"thread", t.name()}, {"alive", t.is_alive()},
                       {"proc_state", letter == 0 ? std::string() : std::string(1, letter)}};
    fields.update(extra);
    wb::emit("thread.state", std::move(fields), text);
}

}  // namespace

void show_thread_states() {
    // New: the object exists, no OS thread yet.
    std::atomic<bool> stop_burning{false};
    std::latch burning(1);
    wb::Thread busy([&] {
        burning.count_down();
        while (!stop_burning.load(std::memory_order_relaxed)) (void)wb::burn_steps(10'000);
    });
    busy.set_name("busy");
    report("new", busy, 0, wb::from_fields("new: {thread} created, not started: is_alive() = {alive}"));

    // Ready / running: a thread that computes is runnable (R) - on a CPU, or ready for one.
    busy.start();
    burning.wait();
    const char busy_state = kernel_state(busy.native_id());
    report("running", busy, busy_state,
           wb::from_fields("ready/running: {thread} computes; the kernel says {proc_state} (runnable)"));

    // Blocked: a thread waiting for an event sleeps in the kernel (S) and uses no CPU.
    wb::ThreadEvent go;
    std::latch about_to_wait(1);
    wb::Thread waiter([&] {
        about_to_wait.count_down();
        go.wait();
    });
    waiter.set_name("waiter");
    waiter.start();
    about_to_wait.wait();
    const char waiter_state = state_once_asleep(waiter.native_id());
    report("blocked", waiter, waiter_state,
           wb::from_fields("blocked: {thread} waits for an event; the kernel says {proc_state} (sleeping)"));

    // Ended: run() returned; join() has collected it.
    stop_burning = true;
    go.set();
    busy.join();
    waiter.join();
    report("ended", waiter, 0,
           wb::from_fields("ended: {also} and {thread} returned from run(): is_alive() = {any_alive}"),
           {{"also", busy.name()}, {"any_alive", waiter.is_alive() || busy.is_alive()}});
}
