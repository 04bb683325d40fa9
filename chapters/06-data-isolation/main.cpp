// Chapter 06 - Data isolation.
//
// Seeds: 000 §2.2.3 (进程之间的数据是隔离的), 004 §六, 002 (线程通信).
// Each child process works on its own copy of the parent's memory: changing a global in a child
// changes nothing anywhere else. Threads are the opposite: they share one address space.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"

namespace {

// The seed's global: money = 99.
int money = 99;

// def change_money(): global money; print before; money += 1; print after
void change_money() {
    wb::emit("money.before", {{"money", money}}, wb::from_fields("money before the change: {money}"));
    money += 1;
    wb::emit("money.after", {{"money", money}}, wb::from_fields("money after the change: {money}"));
}

// Demo 1 - three children each add 1 to money.
// fork() gives every child a copy of the parent's memory (copy-on-write: the kernel copies a page
// only when someone writes to it). Each child changes its own copy: 99 -> 100, three times over,
// and the parent's money never moves.
void demo_processes() {
    money = 99;
    std::vector<wb::Process> children;
    for (int i = 0; i < 3; ++i) children.emplace_back(change_money);
    for (auto& p : children) p.start();
    // The seed printed before the children had run; joining first shows that even after all three
    // have finished, nothing they did reached the parent.
    for (auto& p : children) p.join();
    wb::emit("money.parent", {{"money", money}},
             wb::from_fields("after all children changed it, the parent's money is {money}"));
    wb::note("Each child saw 99 and made it 100 - in its own copy. The parent still has 99.");
}

// Demo 2 - threads share the variable (002, 线程通信).
// ticket = 1000; two threads each take 100 tickets; the result is 800: one variable, seen by both.
//
// In Python `ticket -= 1` from two threads happened to work because of the GIL (chapter 17
// shows how it can still break). In C++ two threads changing a plain int without
// synchronisation is a data race - undefined behaviour - so the shared counter is a
// std::atomic<int>, whose fetch_sub is one indivisible read-modify-write.
void demo_threads() {
    std::atomic<int> ticket{1000};
    auto take_100 = [&ticket] {
        for (int i = 0; i < 100; ++i) ticket.fetch_sub(1);
    };
    std::thread run1(take_100);
    std::thread run2(take_100);
    run1.join();
    run2.join();
    wb::emit("ticket.threads", {{"ticket", ticket.load()}, {"threads", 2}, {"each", 100}},
             wb::from_fields("two threads took {each} tickets each: ticket = {ticket}"));
    wb::note("Both threads changed the same variable: 1000 - 2 x 100 = 800.");
}

// Demo 3 - the same two workers as processes: each takes 100 from its own copy.
int process_ticket = 1000;

void take_100_in_process() {
    for (int i = 0; i < 100; ++i) process_ticket -= 1;
    wb::emit("ticket.child", {{"ticket", process_ticket}},
             wb::from_fields("took 100 tickets from my copy: ticket = {ticket}"));
}

void demo_contrast() {
    process_ticket = 1000;
    wb::Process run1(take_100_in_process);
    wb::Process run2(take_100_in_process);
    run1.start();
    run2.start();
    run1.join();
    run2.join();
    wb::emit("ticket.parent", {{"ticket", process_ticket}},
             wb::from_fields("with processes instead of threads the parent still has ticket = {ticket}"));
    wb::note("Each child ended with 900 in its own copy; the parent's 1000 is untouched.\n"
             "To share data between processes takes an explicit mechanism: shared memory\n"
             "(chapter 10), queues and pipes (chapter 13).");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "06-data-isolation",
        .title = "Data isolation",
        .description = "Processes do not share memory: three children each change money = 99 to 100 and the\n"
                       "parent still has 99. Threads do: two threads take 100 tickets each from 1000.",
        .demos = {
            {"processes", "money = 99: each child makes its copy 100, the parent keeps 99", demo_processes},
            {"threads", "threads share the variable: ticket 1000 -> 800", demo_threads},
            {"contrast", "the same ticket workers as processes: the parent keeps 1000", demo_contrast},
        },
    });
}
