// Chapter 12 - Event: traffic lights.
//
// Seeds: 004 (事件 multiprocess.Event: the simple example and 红绿灯, the traffic light),
//        003 (事件 threading.Event: the traffic light with threads).
// An event is one flag that processes wait for. "If the flag is False, event.wait() blocks; if it
// is True, wait() does not block." set() raises it (and wakes every waiter), clear() lowers it,
// is_set() looks at it. wb::Event keeps the flag in shared memory and waits on a process-shared
// futex, so one set() wakes waiters in every process.
#include <cmath>
#include <latch>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/event.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"
#include "wb/shared_memory.hpp"
#include "wb/start_gate.hpp"
#include "wb/thread_event.hpp"
#include "wb/thread.hpp"
#include "wb/timeline.hpp"

namespace {

// The seeds colour the light's lines with ANSI codes. Only on a terminal: the codes go into the
// text (never into the fields) and only when the text format is on and colour is enabled.
std::string paint(const std::string& text, const char* ansi) {
    const auto& out = wb::output_config();
    if (!out.color || out.format != wb::Format::text) return text;
    return fmt::format("\x1b[{}m{}\x1b[0m", ansi, text);
}

// An event whose sentence is made from its fields (as wb::from_fields does) and then painted.
void emit_painted(std::string_view event, const wb::Json& fields, std::string_view format, const char* ansi) {
    wb::emit(event, fields, paint(wb::format_fields(format, fields), ansi));
}

// Logical "now", rounded as the event stamps are (4 decimals), so it compares with them exactly.
double stamp_now() { return std::round(wb::clock::now() * 1e4) / 1e4; }

void sleep_until(double logical_time) { wb::clock::sleep(logical_time - wb::clock::now()); }

// Demo 1 - wait(timeout) on an unset event (seed 004's simple example):
//     def func1(e):
//         print('start func1'); e.wait(1); print(e.is_set()); print('end func1')
//     e = Event(); Process(target=func1, args=(e,)).start(); time.sleep(5); e.set()
// func1 gives up after 1 s: the flag is still False. A second waiter, with a longer timeout, is
// still waiting when main finally sets the event, and wakes up with True.
void waiter(const std::string& name, double timeout, wb::Event& e) {
    wb::emit("func.start", {{"func", name}, {"timeout", timeout}}, wb::from_fields("start {func}"));
    wb::clock::Stopwatch watch;
    const bool flag = e.wait(timeout);  // w1: true if the flag was set during the wait
    const double waited = watch.elapsed();
    // The waited time as a ratio of the timeout: 1.00 (a little more) when it timed out.
    const double ratio = waited / timeout;
    wb::emit("func.waited",
             {{"func", name}, {"timeout", timeout}, {"returned", flag}, {"is_set", e.is_set()}, {"waited", waited},
              {"ratio", ratio}},
             wb::from_fields("e.wait({timeout:g}) returned {returned} after {waited:.2f} s ({ratio:.2f} x the "
                             "timeout); e.is_set() = {is_set}"));
    wb::emit("func.end", {{"func", name}}, wb::from_fields("end {func}"));
}

void demo_wait_timeout() {
    wb::Event e;  // created clear: is_set() == false
    wb::Process func1([&e] { waiter("func1", 1.0, e); });
    wb::Process func2([&e] { waiter("func2", 5.0, e); });
    func1.set_name("func1");
    func2.set_name("func2");
    func1.start();
    func2.start();
    // The seed's main sleeps 5 s; 2 s is enough: func1 has given up, func2 is still waiting.
    wb::clock::sleep(2.0);
    wb::emit("main.set", {}, "main calls e.set()");
    e.set();  // w2: wakes every process blocked in e.wait()
    func1.join();
    func2.join();
    wb::note("func1's wait(1) ran out with the flag still down and returned false (Python: False);\n"
             "func2 was still waiting when main set the event and returned true at once.");
}

// Demo 2 - the traffic light (seed 004):
//     def traffic_light(e):
//         print('红灯亮')                        # red light on
//         while True:
//             time.sleep(2)
//             if e.is_set(): print('红灯亮'); e.clear()
//             else:          print('绿灯亮'); e.set()
//     def car(i, e):
//         if not e.is_set(): print('car%s正在等在通过' % i); e.wait()   # waiting to pass
//         print('car%s通过' % i)                                        # passes
//     light = Process(target=traffic_light, args=(e,)); light.daemon = True; light.start()
//     for i in range(20): Process(target=car, args=(i, e)).start(); time.sleep(random.randint(0, 3))
//
// Green is "the flag is set". The light changes every 2 s, starting red, on a fixed schedule
// (it sleeps until start + 2k, so it does not drift). Each car arrives at a seeded time.
constexpr int kCars = 20;
constexpr double kPhase = 2.0;

// `scheduled`: the logical time the change was due (start + 2 s x change).
void announce(const char* light, int change, double scheduled) {
    const bool green = std::string(light) == "green";
    emit_painted("light.change", {{"light", light}, {"change", change}, {"scheduled", scheduled}}, "{light} light on",
                 green ? "1;32" : "1;31");
}

// The light process. The order of each change matters to the checks (l1, l2): the light says
// "green" just before it raises the flag and "red" just after it lowers it (the seed prints red
// before clearing). So every moment the flag is up lies inside an announced green phase.
void traffic_light(wb::Event& green, wb::StartGate& go, const double& start) {
    go.arrive_and_wait();
    const double t0 = start;
    std::optional<wb::Span> red;  // a bar on the timeline for each red phase
    red.emplace("red", wb::Json{{"change", 0}}, "");
    announce("red", 0, t0);
    for (int change = 1;; ++change) {
        const double due = t0 + kPhase * change;
        sleep_until(due);
        if (green.is_set()) {
            green.clear();  // l1: lower the flag, then say red
            red.emplace("red", wb::Json{{"change", change}}, "");
            announce("red", change, due);
        } else {
            announce("green", change, due);  // l2: say green, then raise the flag
            red.reset();  // ends the red bar
            green.set();
        }
    }
}

// A car process. It arrives at a seeded odd second (1, 3, 5, 7 or 9 s), the middle of a phase:
// the light changes on even seconds, so no car arrives within a second of a change and the light
// a car meets does not depend on scheduling. The last cars (9 s, on red) pass at the green of
// 10 s, two seconds before the next change, so neither does the number of light changes printed
// before main ends. (The checks do not rely on these margins; the README sample does. In the
// seed, main starts a car every 0-3 s instead: 20 cars would take half a minute.)
void car(int i, wb::Event& green, wb::StartGate& go, const double& start) {
    const double arrival = static_cast<double>(2 * wb::rng().uniform_int(0, 4) + 1);
    go.arrive_and_wait();
    sleep_until(start + arrival);

    const double arrived_at = stamp_now();  // c1: when the car looks at the light (just before is_set)
    double looked_at = arrived_at;
    bool is_green = green.is_set();
    const bool arrived_green = is_green;
    std::optional<wb::Span> waiting;
    wb::clock::Stopwatch watch;
    if (!arrived_green) {
        wb::emit("car.wait", {{"car", i}, {"arrival", arrival}, {"light", "red"}, {"arrived_at", arrived_at}},
                 wb::from_fields("car{car} arrives at {arrival:g} s on red: waiting to pass"));
        waiting.emplace("waiting", wb::Json{{"car", i}}, "");
    }
    // c2: pass only if the flag is up at this very moment. The seed's car calls e.wait() once and
    // drives on: Python's Event.wait() returns when the flag was raised, without looking again or
    // waiting again, so a car woken by a green that has already turned red would pass on red.
    // This loop - look again after waking, wait again if it is red - is the workbook's fix.
    while (!is_green) {
        green.wait();
        looked_at = stamp_now();
        is_green = green.is_set();
    }
    waiting.reset();
    const double waited = watch.elapsed();
    wb::emit("car.pass",
             {{"car", i}, {"arrival", arrival}, {"arrived", arrived_green ? "green" : "red"},
              {"light", is_green ? "green" : "red"}, {"waited", !arrived_green}, {"waited_seconds", waited},
              {"arrived_at", arrived_at}, {"looked_at", looked_at}},
             wb::from_fields(arrived_green ? "car{car} arrives at {arrival:g} s on green and passes"
                                           : "car{car} passes on {light} after waiting {waited_seconds:.2f} s"));
}

void demo_traffic_lights() {
    wb::Event green;           // set = green, clear = red; created clear: the light starts red
    wb::StartGate go(kCars + 1);  // the light and every car are there: the crossing's clock starts
    wb::Shared<double> start;  // the logical time of "go", for everybody's schedule
    const std::size_t mark = wb::journal::mark();

    wb::Process light([&] { traffic_light(green, go, *start); });
    light.set_name("light");
    light.set_daemon(true);  // light.daemon = True: it loops forever; it ends with main
    light.start();
    std::vector<wb::Process> cars;
    for (int i = 0; i < kCars; ++i) {
        cars.emplace_back([&, i] { car(i, green, go, *start); });
        cars.back().set_name(fmt::format("car{}", i));
    }
    for (auto& c : cars) c.start();
    go.wait_until_ready();
    *start = wb::clock::now();
    go.open();  // open() publishes *start: every process that passes the gate sees it

    for (auto& c : cars) c.join();  // main joins the cars only
    wb::show_timeline(mark, "red phases (r) and cars waiting for green (w):", {{"red", 'r'}, {"waiting", 'w'}});
    const bool light_alive = light.is_alive();
    wb::emit("main.end", {{"cars_joined", kCars}, {"light_alive", light_alive}, {"light_daemon", light.daemon()}},
             wb::from_fields(light_alive ? "main joined the {cars_joined} cars and ends. It never joins the light: a "
                                           "daemon, still running, terminated as main ends"
                                         : "main joined the {cars_joined} cars and ends. It never joins the light: a "
                                           "daemon, already gone"));
    wb::note("Every car that met red waited, and passed when the light turned green; those that met\n"
             "green passed at once. The light is not joined: as a daemon it is terminated (SIGTERM)\n"
             "when main ends; its process.exit event (in --format jsonl) shows exit code -15.");
}

// Demo 3 - the same with threads (seed 003):
//     def lighter():
//         count = 0; event.set()                              # green to begin with
//         while True:
//             if 5 < count <= 10: event.clear(); print("red light is on...")
//             elif count > 10: event.set(); count = 0
//             else: print("green light is on...")
//             time.sleep(1); count += 1
//     def car(name):
//         while True:
//             if event.is_set(): print("[%s] running..." % name); time.sleep(1)
//             else: print("[%s] sees red light,waiting..." % name); event.wait()
//                   print("[%s] green light is on,start going..." % name)
//
// Threads share memory, so their event needs no shared mapping: wb::ThreadEvent
// (wb/thread_event.hpp) is what CPython's threading.Event is made of, a flag guarded by a mutex
// and a condition variable. (wb::Event would work between threads as well - a futex - but its
// wait cannot be interrupted.) Its wait(stop_token) also wakes up on main's request_stop(), so the
// seed's endless loops can end cleanly.
constexpr int kTicks = 14;  // the seed's lighter never stops; here it runs 14 ticks of 1 s

void lighter(wb::ThreadEvent& event, double t0, std::latch& light_on) {
    wb::set_thread_actor("lighter");
    int count = 0;
    event.set();  // the seed's `event.set()  # 初始值为绿灯`: green to begin with
    for (int tick = 0; tick < kTicks; ++tick) {
        sleep_until(t0 + tick);
        if (5 < count && count <= 10) {
            event.clear();  // as in demo 2: lower the flag, then say red
            emit_painted("light.tick", {{"tick", tick}, {"count", count}, {"light", "red"}}, "{light} light is on...",
                         "41;1");
        } else if (count > 10) {
            // The seed sets the flag silently here; the workbook says so.
            emit_painted("light.tick", {{"tick", tick}, {"count", count}, {"light", "green"}},
                         "event.set(): {light} light is on again...", "42;1");
            event.set();  // say green, then raise the flag
            count = 0;
        } else {
            emit_painted("light.tick", {{"tick", tick}, {"count", count}, {"light", "green"}}, "{light} light is on...",
                         "42;1");
        }
        count += 1;
        if (tick == 0) light_on.count_down();  // t1: the light is on (and said so): the car may go
    }
}

// The car looks at the light half a second after each of the light's ticks (t0 + 0.5, 1.5, ...),
// so a look never coincides with a change.
void car_thread(std::stop_token stop, wb::ThreadEvent& event, double t0, std::latch& light_on) {
    const std::string name = "MINI";
    wb::set_thread_actor(name);
    light_on.wait();  // t2
    double next = t0 + 0.5;
    for (;;) {
        sleep_until(next);
        if (stop.stop_requested()) return;
        const double looked_at = stamp_now();
        if (event.is_set()) {
            wb::emit("car.running", {{"car", name}, {"looked_at", looked_at}}, wb::from_fields("[{car}] running..."));
            next += 1.0;
        } else {
            wb::emit("car.red", {{"car", name}, {"looked_at", looked_at}},
                     wb::from_fields("[{car}] sees red light, waiting..."));
            if (!event.wait(stop)) return;  // stopped while waiting
            wb::emit("car.go", {{"car", name}}, wb::from_fields("[{car}] green light is on, start going..."));
            // Back on the half-second grid (the seed drives on at once).
            next = t0 + 0.5 + std::ceil(wb::clock::now() - t0 - 0.5);
        }
    }
}

void demo_threads() {
    wb::ThreadEvent event;
    // t1, t2: the seed starts the lighter first and relies on it setting the event before the car
    // looks. A std::latch makes that certain (threads of one process: the standard one will do).
    std::latch light_on(1);
    const double t0 = wb::clock::now();
    std::jthread light = wb::start_jthread(lighter, std::ref(event), t0, std::ref(light_on));
    // jthread passes its stop_token as the first argument
    std::jthread mini = wb::start_jthread(car_thread, std::ref(event), t0, std::ref(light_on));
    light.join();
    mini.request_stop();  // the seed's car drives forever; ours stops when the light is done
    mini.join();
    wb::note("One process, two threads: the car drove while the light was green, waited through the\n"
             "red phase and went on when the lighter set the event again.");
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "12-event-lights",
        .title = "Event: traffic lights",
        .description = "multiprocessing.Event between real processes: wait(1) on an unset event returns\n"
                       "false; a traffic light (a daemon process) toggles every 2 s and 20 car processes\n"
                       "wait for green; then the seed's threading version with a thread-side event.",
        .demos = {
            {"wait-timeout", "wait(1) on an unset event times out and returns false", demo_wait_timeout},
            {"traffic-lights", "a daemon light process and 20 car processes: no car passes on red",
             demo_traffic_lights},
            {"threads", "the traffic light with threads and a mutex + condition-variable event", demo_threads},
        },
    });
}
