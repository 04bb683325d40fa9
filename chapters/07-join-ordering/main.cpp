// Chapter 07 - Join ordering.
//
// Seeds: 000 §2.2.5 (join 方法), 004 (join 方法一/二), 003 (join timeout).
// Five children rest a seeded 1-3 s each. Where main calls join() decides how long main takes:
// not at all (main ends first), after each start (the sum of the rests), or after starting them
// all (the longest rest). A timeline at the end of each demo shows why.
#include <string>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"
#include "wb/timeline.hpp"

namespace {

// def work(name): rest = random.randint(1, 3); print start; time.sleep(rest); print end
void work(const std::string& name) {
    const auto seconds = wb::rng().uniform_int(1, 3);
    wb::Span rest("rest", {{"who", name}, {"seconds", seconds}}, wb::from_fields("{who} starts resting {seconds} s"));
    wb::clock::sleep(static_cast<double>(seconds));
    rest.end(wb::from_fields("{who} finished resting"));
}

// The seed's timing decorator (@outer): runs a function and prints how long it took, in logical
// seconds. It is a span too ("timed"), so the timeline and the trace show it.
template <typename F>
void timed(const std::string& label, F&& body) {
    wb::clock::Stopwatch watch;
    wb::Span span("timed", {{"label", label}}, wb::from_fields("{label} starts"));
    body();
    const double took = watch.elapsed();
    span.end(wb::from_fields("{label} took {seconds:.2f} s"), {{"seconds", took}});
}

std::vector<wb::Process> five_children() {
    std::vector<wb::Process> children;
    for (int i = 0; i < 5; ++i) {
        children.emplace_back(work, fmt::format("child-{}", i));
        children.back().set_name(fmt::format("child-{}", i));
    }
    return children;
}

// Demo 1 - start without join: main does not wait.
void demo_no_join() {
    std::vector<wb::Process> children = five_children();
    timed("create_process", [&] {
        for (auto& p : children) p.start();
    });
    wb::emit("main.end", {}, "main program ends");
    wb::note("create_process took almost no time and main ended while the children were still resting.\n"
             "(Before the next demo the children are joined, as Python joins them at exit.)");
}

// Demo 2 - start, then join at once, child by child: each child starts only after the previous one
// has finished. From main's point of view this is serial: the total is about the SUM of the rests.
void demo_one_by_one() {
    const std::size_t mark = wb::journal::mark();
    std::vector<wb::Process> children = five_children();
    timed("create_process_wait1", [&] {
        for (auto& p : children) {
            p.start();
            p.join();
        }
    });
    wb::show_timeline(mark, "start + join, one child at a time:", {{"rest", '#'}, {"timed", 't'}});
    wb::note("One bar after another: the total is the sum of the five rests.");
}

// Demo 3 - start them all, then join them all: all five rest at the same time and main waits for
// each in turn. When main reaches a join, the others keep running; the total is about the LONGEST
// rest.
void demo_all_then_join() {
    const std::size_t mark = wb::journal::mark();
    std::vector<wb::Process> children = five_children();
    timed("create_process_wait2", [&] {
        for (auto& p : children) p.start();
        for (auto& p : children) p.join();
    });
    wb::show_timeline(mark, "start all, then join all:", {{"rest", '#'}, {"timed", 't'}});
    wb::note("The bars overlap: the total is the longest rest, not the sum.");
}

// Demo 4 - join(timeout): wait at most so long. The child rests 3 s; join(1) comes back after 1 s
// with the child still running; a plain join() then waits for the rest.
void demo_join_timeout() {
    wb::Process p([] {
        wb::rest(3);
    });
    p.set_name("sleeper");
    p.start();
    wb::clock::Stopwatch watch;
    const bool ended = p.join(1.0);
    const bool alive = p.is_alive();
    wb::emit("join.timeout",
             {{"timeout", 1.0}, {"ended", ended}, {"alive", alive}, {"waited", watch.elapsed()}},
             wb::from_fields("join(timeout={timeout}) returned after {waited:.2f} s: ended = {ended}, "
                             "is_alive() = {alive}"));
    p.join();
    wb::emit("join.done", {{"exitcode", *p.exitcode()}, {"waited", watch.elapsed()}},
             wb::from_fields("join() returned after {waited:.2f} s in all; exit code {exitcode}"));
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "07-join-ordering",
        .title = "Join ordering",
        .description = "Five children rest a seeded 1-3 s each. No join: main ends first. start+join one by\n"
                       "one: the total is the sum of the rests. Start all, then join all: the total is the\n"
                       "longest rest. join(timeout) returns while the child still runs.",
        .demos = {
            {"no-join", "start without join: main ends first", demo_no_join},
            {"one-by-one", "start + join each child in turn: total = sum of rests", demo_one_by_one},
            {"all-then-join", "start all, then join all: total = longest rest", demo_all_then_join},
            {"join-timeout", "join(timeout) returns while the child still runs", demo_join_timeout},
        },
    });
}
