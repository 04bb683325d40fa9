// Chapter 11 - Semaphore: the KTV.
//
// Seeds: 004 (信号量 multiprocess.Semaphore: the KTV), 003 (信号量 BoundedSemaphore).
// A lock lets one process in at a time; a semaphore lets N in. "A mall has 4 mini karaoke rooms,
// so 4 people can sing at once; a fifth has to wait outside until somebody comes out."
// Internally a counter: acquire() takes one (waiting at 0), release() gives one back - Dijkstra's
// P() and V(). wb::Semaphore is a POSIX sem_t in shared memory, so it works between processes.
#include <atomic>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/event.hpp"
#include "wb/occupancy.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"
#include "wb/semaphore.hpp"
#include "wb/shared_memory.hpp"
#include "wb/start_gate.hpp"
#include "wb/timeline.hpp"

namespace {

constexpr int kRooms = 4;
constexpr int kPeople = 10;

// Demo 1 - the semaphore's counter, in the seed's own shape:
//     sem = Semaphore(4)
//     sem.acquire(); print(1)  ...  sem.acquire(); print(4)
//     sem.release(); print(5)
// The seed stops at four, because a fifth acquire() would block for good. Here the fifth is made:
// once with a timeout (it gives up and says so), once while another process gives a permit back.
void demo_four_permits() {
    wb::Semaphore sem(kRooms);
    for (int n = 1; n <= kRooms; ++n) {
        sem.acquire();  // p1: takes a permit; never waits while one is free
        wb::emit("sem.acquire", {{"n", n}, {"value", sem.value()}, {"permits", kRooms}},
                 wb::from_fields("acquire() #{n} returns at once: {value} of {permits} permits free"));
    }

    // p2: the fifth acquire finds the counter at 0 and blocks. Without a timeout it would wait
    // forever (nobody else holds the semaphore); acquire(2) gives up after 2 s and returns false.
    wb::clock::Stopwatch first;
    const bool got_first = sem.acquire(2.0);
    const double waited_first = first.elapsed();
    wb::emit("sem.fifth",
             {{"attempt", "timeout"}, {"timeout", 2.0}, {"acquired", got_first}, {"waited", waited_first},
              {"value", sem.value()}, {"held", kRooms - sem.value()}, {"permits", kRooms}},
             wb::from_fields("acquire(timeout={timeout:g}) #5 gives up after {waited:.2f} s: acquired = {acquired} "
                             "({held} of {permits} permits held)"));

    // p3: permits have no owner. Another process that never acquired one may release one (that is
    // also how a semaphore is used for signalling), and that wakes the blocked fifth acquire.
    wb::Process helper([&sem] {
        wb::clock::sleep(1.0);
        wb::emit("sem.release", {{"value_before", sem.value()}},
                 "releases one permit after 1 s (it never acquired one: a permit has no owner)");
        sem.release();
    });
    helper.set_name("helper");
    helper.start();
    wb::clock::Stopwatch second;
    const bool got_second = sem.acquire(5.0);
    const double waited_second = second.elapsed();
    wb::emit("sem.fifth",
             {{"attempt", "released"}, {"timeout", 5.0}, {"acquired", got_second}, {"waited", waited_second},
              {"value", sem.value()}},
             wb::from_fields("acquire(timeout={timeout:g}) #5 returns after {waited:.2f} s: acquired = {acquired} "
                             "(the helper's permit)"));
    helper.join();

    // The seed's last lines: release one, print 5. Main gives back every permit it holds - and
    // the semaphore ends with one permit more than it started with: the helper's.
    const int held = kRooms + (got_first ? 1 : 0) + (got_second ? 1 : 0);
    for (int n = 0; n < held; ++n) sem.release();
    wb::emit("sem.done", {{"released", held}, {"value", sem.value()}, {"permits", kRooms}},
             wb::from_fields("main releases the {released} permits it holds: {value} free now, "
                             "Semaphore({permits}) has grown"));
    wb::note("Four acquires went through at once; the fifth blocked while all four permits were held.\n"
             "A release from any process unblocks it - even one that never acquired, which is how the\n"
             "semaphore ended with 5 permits. A BoundedSemaphore refuses that (demo bounded).");
}

// Demo 2 - the KTV.
//     def ktv(sem, i):
//         with sem:
//             print('%s走进KTV' % i)             # walks into the KTV
//             time.sleep(random.randint(1, 5))
//             print('%s走出KTV' % i)             # walks out of the KTV
//     sem = Semaphore(4)
//     for i in range(10): Process(target=ktv, args=(sem, i)).start()
//
// What the KTV keeps in shared memory, so that every person updates the same counters. They are
// changed only while the person holds a permit, so `inside` can never exceed the 4 permits.
struct Ktv {
    std::atomic<int> inside;       // people in a room right now
    std::atomic<int> most_inside;  // the largest value `inside` ever had
    std::atomic<int> entered;
    std::atomic<int> left;
};

void raise_to(std::atomic<int>& most, int value) {
    int seen = most.load();
    while (seen < value && !most.compare_exchange_weak(seen, value)) {
    }
}

// "rooms |##..|": how many rooms are taken, drawn at the end of the line from the same number
// the event carries in its `inside` field (the drawing is the event's `gauge` field).
std::string rooms(int inside) { return wb::gauge(inside, kRooms); }

// One person, in its own process. `doors` is a start gate: main opens the KTV for everybody at
// once, when all ten are there. `all_taken` is raised by whoever takes the fourth room.
void person(int i, wb::Semaphore& rooms_free, Ktv& ktv, wb::StartGate& doors, wb::Event& all_taken) {
    const int stay = static_cast<int>(wb::rng().uniform_int(1, 5));  // random.randint(1, 5), seeded per person
    doors.arrive_and_wait();

    wb::clock::Stopwatch queue;
    wb::Span waiting("waiting", {{"person", i}}, {});  // a bar on the timeline, no line of text
    auto permit = rooms_free.hold();                   // k1: `with sem:` - waits for a free room
    waiting.end();

    // k2: inside the room. The counter goes up only after the permit is held: never above 4.
    const int inside = ktv.inside.fetch_add(1) + 1;
    raise_to(ktv.most_inside, inside);
    ktv.entered.fetch_add(1);
    const double waited = queue.elapsed();
    wb::emit("ktv.enter",
             {{"person", i}, {"stay", stay}, {"inside", inside}, {"waited", waited}, {"gauge", rooms(inside)}},
             wb::from_fields("walks into the KTV after waiting {waited:.2f} s   rooms {gauge}"));
    wb::Span in_room("in-room", {{"person", i}, {"stay", stay}}, {});

    // k3: the opening rule (not in the seed). The first four guests start singing when all four
    // rooms are taken. It changes nothing later (the event stays set), and it turns "the KTV is
    // full at some point" from very likely into certain: none of the first four can leave before
    // the fourth is in, and nobody else can get in before one of them leaves.
    if (inside == kRooms) all_taken.set();
    all_taken.wait();
    wb::clock::sleep(stay);
    in_room.end();

    // k4: leave, still holding the permit, then give the room back.
    const int after = ktv.inside.fetch_sub(1) - 1;
    ktv.left.fetch_add(1);
    wb::emit("ktv.leave", {{"person", i}, {"stay", stay}, {"inside", after}, {"gauge", rooms(after)}},
             wb::from_fields("walks out of the KTV after singing {stay} s   rooms {gauge}"));
    permit.release();  // the end of the `with` block
}

void demo_ktv() {
    wb::Semaphore rooms_free(kRooms);  // sem = Semaphore(4)
    wb::Shared<Ktv> ktv;               // the counters, in shared memory
    wb::StartGate doors(kPeople);      // the KTV opens: everybody tries at once
    wb::Event all_taken;               // the fourth room is taken (k3)
    const std::size_t mark = wb::journal::mark();

    std::vector<wb::Process> people;
    for (int i = 0; i < kPeople; ++i) {
        people.emplace_back([&, i] { person(i, rooms_free, *ktv, doors, all_taken); });
        people.back().set_name(fmt::format("person-{}", i));
    }
    for (auto& p : people) p.start();
    doors.wait_until_ready();
    wb::emit("ktv.open", {{"people", kPeople}, {"rooms", kRooms}},
             wb::from_fields("the KTV opens its doors: {people} people, {rooms} rooms"));
    doors.open();
    all_taken.wait();
    wb::emit("ktv.full", {{"rooms", kRooms}}, "all four rooms are taken: the next people wait outside");
    for (auto& p : people) p.join();

    wb::show_timeline(mark, "who was where (w = waiting at the door, i = in a room):",
                      {{"waiting", 'w'}, {"in-room", 'i'}});
    // Under the timeline: how many "in-room" bars cover the middle of each column (wb/occupancy.hpp).
    wb::show_occupancy(mark, "in-room", "rooms", "rooms in use at the middle of each column:");
    wb::emit("ktv.summary",
             {{"people", kPeople}, {"rooms", kRooms}, {"entered", ktv->entered.load()}, {"left", ktv->left.load()},
              {"most_inside", ktv->most_inside.load()}, {"inside", ktv->inside.load()}},
             wb::from_fields("{entered} entered, {left} left, at most {most_inside} inside at once, "
                             "{inside} inside now"));
    wb::note("Never more than four 'i' at the same moment: a fifth person waits ('w') until someone\n"
             "walks out and releases the permit. Everyone walked in once and out once.");
}

// Demo 3 - BoundedSemaphore (seed 003: threading.BoundedSemaphore(5)).
// A plain semaphore accepts any release(), even one that was never acquired: a guest who checks
// out twice silently turns a 2-room KTV into a 3-room one. A BoundedSemaphore refuses to go above
// its initial value; Python raises ValueError("Semaphore released too many times"), the workbook
// throws wb::ReleasedTooManyTimes.
void demo_bounded() {
    wb::Semaphore plain(2);
    plain.acquire();
    plain.release();
    plain.release();  // b1: one release too many - accepted without a word
    int guests = 0;
    while (plain.try_acquire()) ++guests;
    wb::emit("plain.over_release", {{"initial", 2}, {"admitted", guests}},
             wb::from_fields("Semaphore({initial}) released once too often: it now lets {admitted} guests in "
                             "at once"));

    wb::BoundedSemaphore bounded(2);
    bounded.acquire();
    bounded.release();
    try {
        bounded.release();  // b2: one release too many - refused
        wb::emit("bounded.over_release", {{"initial", 2}, {"error", nullptr}, {"value", bounded.value()}},
                 wb::from_fields("BoundedSemaphore({initial}) accepted an extra release (it should not)"));
    } catch (const wb::ReleasedTooManyTimes& e) {
        wb::emit("bounded.over_release", {{"initial", 2}, {"error", e.what()}, {"value", bounded.value()}},
                 wb::from_fields("BoundedSemaphore({initial}).release() throws ReleasedTooManyTimes: {error}"));
    }
    int admitted = 0;
    while (bounded.try_acquire()) ++admitted;
    wb::emit("bounded.admitted", {{"initial", 2}, {"admitted", admitted}},
             wb::from_fields("BoundedSemaphore({initial}) still lets {admitted} guests in at once"));
    wb::note("The bound catches the bug where it happens (the extra release), instead of letting it\n"
             "quietly enlarge the room.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "11-semaphore-ktv",
        .title = "Semaphore: the KTV",
        .description = "multiprocessing.Semaphore between real processes: four acquires then a blocked\n"
                       "fifth (a timeout, then a release from another process); the KTV with 10 people\n"
                       "and 4 rooms (never more than 4 inside); a BoundedSemaphore released too often.",
        .demos = {
            {"four-permits", "Semaphore(4): four acquires, then a fifth that blocks", demo_four_permits},
            {"ktv", "the KTV: 10 people, 4 rooms, never more than 4 inside", demo_ktv},
            {"bounded", "BoundedSemaphore released too often reports an error", demo_bounded},
        },
    });
}
