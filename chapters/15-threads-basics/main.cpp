// Chapter 15 - Threads basics.
//
// Seeds: 002 (多线程: listening to music while downloading), 003 0x02 (threading: LoopThread, the
// three ways to make a thread, current_thread / active_count / enumerate, Timer).
// A thread is a second line of execution inside the SAME process: same pid, same memory. Python's
// threading.Thread becomes wb::Thread (common/include/wb/thread.hpp), a std::jthread with the
// bookkeeping Python has and C++ lacks: a name, the list of live threads, join(timeout).
// One difference runs through the chapter: C++ threads run truly in parallel on several CPUs,
// CPython's take turns on the global interpreter lock (chapter 16 measures it). For these demos,
// which mostly sleep, the output is the same.
#include <latch>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "thread_states.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/thread.hpp"
#include "wb/thread_event.hpp"

namespace {

// Demo 1 - music and download at the same time (seed 002).
// def listenMusic(): for music in musics: time.sleep(0.5); print(f"listening to {music}")
void listen_music() {
    // The seed's songs: 李白, 说好不哭, 稻香, 告白气球.
    const std::vector<std::string> musics = {"Li Bai", "Won't Cry", "Rice Field", "Love Confession"};
    for (std::size_t i = 0; i < musics.size(); ++i) {
        wb::clock::sleep(0.5);
        wb::emit("music", {{"song", musics[i]}, {"n", i + 1}}, wb::from_fields("listening to {song}"));
    }
}

// def download(): for i in files: print("downloading:", i); time.sleep(0.5)
void download() {
    const std::vector<std::string> files = {"1.jpg", "5.exe", "6.csv"};
    for (std::size_t i = 0; i < files.size(); ++i) {
        wb::emit("download", {{"file", files[i]}, {"n", i + 1}}, wb::from_fields("downloading: {file}"));
        wb::clock::sleep(0.5);
    }
}

void demo_music_and_download() {
    // t1 = threading.Thread(target=download, name="aa"); t2 = ...(target=listenMusic, name="bb")
    wb::Thread t1(download);
    t1.set_name("aa");
    wb::Thread t2(listen_music);
    t2.set_name("bb");
    t1.start();
    t2.start();
    // The seed does not join: Python waits for its (non-daemon) threads at exit. wb::Thread's
    // destructor would join too; joining here says so.
    t1.join();
    t2.join();
    wb::note("The two threads took turns every half second: downloading, listening, downloading...\n"
             "Same pid for aa and bb and main - threads live inside one process.");
}

// Demo 2 - three ways to make a thread (003 0x02): loops = [1, 2, 3, 4], thread i sleeps i s.
const std::vector<int> loops = {1, 2, 3, 4};

// def loop(nloop, nsec): print start; sleep(nsec); print end
void loop(int nloop, int nsec) {
    wb::emit("loop.begin", {{"nloop", nloop}, {"seconds", nsec}},
             wb::from_fields("loop {nloop} starts, sleeping {seconds} s"));
    wb::clock::sleep(nsec);
    wb::emit("loop.end", {{"nloop", nloop}, {"seconds", nsec}}, wb::from_fields("loop {nloop} done"));
}

// The second way: class ThreadFunc - a callable object carrying a function and its arguments.
struct ThreadFunc {
    void (*func)(int, int);
    int nloop;
    int nsec;
    void operator()() const { func(nloop, nsec); }
};

// The third way: class MyThread(threading.Thread) overriding run(). Like the seed, it names
// every thread after the function ("loop").
class MyThread : public wb::Thread {
public:
    MyThread(void (*func)(int, int), int nloop, int nsec) : func_(func), nloop_(nloop), nsec_(nsec) {
        set_name("loop");
    }
    ~MyThread() override { stop_and_join(); }  // run() uses our members: join before they go
    void run() override { func_(nloop_, nsec_); }

private:
    void (*func_)(int, int);
    int nloop_;
    int nsec_;
};

// main(): create them all, start them all, join them all - the total is the longest loop.
template <typename MakeThread>
void start_all_join_all(const std::string& way, MakeThread make) {
    const wb::clock::Stopwatch watch;
    wb::emit("way.begin", {{"way", way}}, wb::from_fields("program starts ({way})"));
    std::vector<std::unique_ptr<wb::Thread>> threads;
    for (std::size_t i = 0; i < loops.size(); ++i) threads.push_back(make(static_cast<int>(i), loops[i]));
    for (auto& t : threads) t->start();
    for (auto& t : threads) t->join();
    const double took = watch.elapsed();
    wb::emit("way.end", {{"way", way}, {"seconds", took}, {"threads", threads.size()}},
             wb::from_fields("all done ({way}) after {seconds:.2f} s"));
}

void demo_three_ways() {
    // 1. Thread(target=loop, args=(i, loops[i]))
    start_all_join_all("a function", [](int i, int nsec) { return std::make_unique<wb::Thread>(loop, i, nsec); });
    // 2. Thread(target=ThreadFunc(loop, (i, loops[i]), loop.__name__))
    start_all_join_all("a callable object", [](int i, int nsec) {
        auto t = std::make_unique<wb::Thread>(ThreadFunc{loop, i, nsec});
        t->set_name("loop");  // the seed passes loop.__name__ to ThreadFunc, whose name Thread never sees
        return t;
    });
    // 3. MyThread(loop, (i, loops[i]), loop.__name__)
    start_all_join_all("a subclass",
                       [](int i, int nsec) -> std::unique_ptr<wb::Thread> { return std::make_unique<MyThread>(loop, i, nsec); });
    wb::note("Each way ran four threads at once: every total is the longest loop (4 s), not the sum (10 s).\n"
             "Without a name the threads are Thread-1, Thread-2, ... like Python's.");
}

// Demo 3 - the LoopThread of 003 0x02, as printed there.
void loop_thread_body() {
    const std::string me = wb::current_thread_name();
    wb::emit("thread.running", {{"thread", me}}, wb::from_fields("thread {thread} is running..."));
    for (int n = 1; n <= 5; ++n) {
        wb::emit("loop.tick", {{"thread", me}, {"n", n}}, wb::from_fields("thread {thread} >>> {n}"));
        wb::clock::sleep(1);
    }
    wb::emit("thread.ended", {{"thread", me}}, wb::from_fields("thread {thread} ended."));
}

void demo_loop_thread() {
    const std::string me = wb::current_thread_name();
    wb::emit("thread.running", {{"thread", me}}, wb::from_fields("thread {thread} is running..."));
    wb::Thread t(loop_thread_body);
    t.set_name("LoopThread");
    t.start();
    t.join();
    wb::emit("thread.ended", {{"thread", me}}, wb::from_fields("thread {thread} ended."));
}

// Demo 4 - who is running: current_thread(), active_count(), enumerate(), and the thread states
// (seed 002: new, ready, running, blocked, ended) as the kernel reports them in /proc.
void demo_introspection() {
    wb::ThreadEvent release;
    std::latch waiting(3);
    std::vector<std::unique_ptr<wb::Thread>> workers;
    for (int i = 1; i <= 3; ++i) {
        workers.push_back(std::make_unique<wb::Thread>([&] {
            waiting.count_down();
            release.wait();
        }));
        workers.back()->set_name(fmt::format("worker-{}", i));
    }
    wb::emit("count",
             {{"active_count", wb::active_count()},
              {"when", "before start"},
              {"current_thread", wb::current_thread_name()}},
             wb::from_fields("current thread: {current_thread}; active_count() = {active_count} before starting any "
                             "worker"));
    for (auto& w : workers) w->start();
    waiting.wait();
    std::vector<std::string> names;
    for (const auto& info : wb::enumerate_threads()) names.push_back(info.name);
    const wb::Json listed = {{"active_count", wb::active_count()}, {"threads", names}};
    // The threads field printed as a list: [MainThread, worker-1, ...].
    std::string list;
    for (const auto& name : listed["threads"]) list += (list.empty() ? "" : ", ") + name.get<std::string>();
    wb::emit("enumerate", listed,
             wb::format_fields("active_count() = {active_count}; enumerate() = ", listed) + "[" + list + "]");
    release.set();
    for (auto& w : workers) w->join();
    wb::emit("count", {{"active_count", wb::active_count()}, {"when", "after join"}},
             wb::from_fields("after joining them: active_count() = {active_count}"));

    // The states, read from /proc/self/task/TID/stat (thread_states.cpp): the kernel has one letter
    // for "ready" and "running" (R: runnable), S for blocked in a wait.
    show_thread_states();
}

// Demo 5 - join(timeout): wait at most so long (003: join(timeout=None)).
void demo_join_timeout() {
    wb::Thread sleeper([] { wb::rest(3); });
    sleeper.set_name("sleeper");
    sleeper.start();
    const wb::clock::Stopwatch watch;
    const bool ended = sleeper.join(1.0);
    const bool alive = sleeper.is_alive();
    wb::emit("join.timeout", {{"timeout", 1.0}, {"ended", ended}, {"alive", alive}, {"waited", watch.elapsed()}},
             wb::from_fields("join(timeout={timeout:g}) returned after {waited:.2f} s: ended = {ended}, "
                             "is_alive() = {alive}"));
    sleeper.join();
    wb::emit("join.done", {{"alive", sleeper.is_alive()}, {"waited", watch.elapsed()}},
             wb::from_fields("join() returned after {waited:.2f} s in all; is_alive() = {alive}"));
}

// Demo 6 - a daemon thread: an endless loop that must not keep the program alive.
// Python simply abandons daemon threads at exit (they die mid-step with the interpreter). C++
// cannot kill a thread - that would leave its locks held and its objects half-written - so a
// wb::Thread daemon is *asked* to stop (std::stop_token) when it is destroyed, and the library's
// waits (wb::this_thread::sleep, Timer, ThreadEvent::wait(stop)) return at once when asked.
void demo_daemon() {
    std::latch two_ticks(2);
    {
        wb::Thread ticker([&](std::stop_token stop) {
            int n = 0;
            while (!stop.stop_requested()) {  // while True:
                ++n;
                wb::emit("tick", {{"n", n}}, wb::from_fields("tick {n}"));
                if (n <= 2) two_ticks.count_down();
                if (!wb::this_thread::sleep(1)) break;  // cut short by the stop request
            }
            wb::emit("daemon.stopped", {{"ticks", n}},
                     wb::from_fields("stop requested after {ticks} ticks: ending cleanly"));
        });
        ticker.set_name("ticker");
        ticker.set_daemon(true);
        ticker.start();
        two_ticks.wait();
        const bool alive = ticker.is_alive();
        wb::emit("main.end", {{"daemon_alive", alive}},
                 alive ? "main is done; the daemon is still looping" : "main is done; the daemon has ended already");
    }  // ~Thread: a daemon gets request_stop(), then join()
    wb::note("Python would have killed the ticker wherever it was. Here it was asked to stop, its sleep\n"
             "returned at once, and it ended on its own - with nothing left half-done.");
}

// Demo 7 - Timer (003): hello() after 1 s; a second timer cancelled before it fires.
void hello() { wb::emit("hello", {}, "hello, world"); }

void demo_timer() {
    const wb::clock::Stopwatch watch;
    wb::Timer t(1, hello);  // Timer(1, hello)
    t.set_name("timer");
    t.start();
    t.join();
    wb::emit("timer.fired", {{"fired", t.fired()}, {"interval", 1.0}, {"waited", watch.elapsed()}},
             wb::from_fields("Timer({interval:g}, hello) fired after {waited:.2f} s"));

    wb::Timer never(5, hello);
    never.set_name("cancelled");
    never.start();
    constexpr double kCancelAfter = 1.0;
    wb::rest(kCancelAfter);
    never.cancel();  // before its 5 s are up: hello() never runs
    never.join();
    wb::emit("timer.cancelled",
             {{"fired", never.fired()}, {"interval", 5.0}, {"cancel_after", kCancelAfter}, {"waited", watch.elapsed()}},
             wb::from_fields("Timer({interval:g}, hello) cancelled after {cancel_after:g} s: fired = {fired}"));
}

}  // namespace

int main(int argc, char** argv) {
    // Events of the main thread are attributed to "MainThread", Python's name for it.
    wb::set_thread_actor("MainThread");
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "15-threads-basics",
        .title = "Threads basics",
        .description = "Threads share one process: music and download interleave in two threads; three\n"
                       "ways to make a thread; LoopThread; current_thread, active_count, enumerate and the\n"
                       "thread states; join(timeout); a daemon stopped through its stop token; Timer.",
        .demos = {
            {"music-and-download", "music and download in two threads, interleaving", demo_music_and_download},
            {"three-ways", "a function, a callable object, a subclass: four loops each", demo_three_ways},
            {"loop-thread", "the LoopThread of the seed, with its output", demo_loop_thread},
            {"introspection", "current_thread, active_count, enumerate, and the thread states", demo_introspection},
            {"join-timeout", "join(timeout) returns while the thread still runs", demo_join_timeout},
            {"daemon", "a daemon thread is asked to stop, not killed", demo_daemon},
            {"timer", "Timer(1, hello) fires; a cancelled Timer never does", demo_timer},
        },
    });
}
