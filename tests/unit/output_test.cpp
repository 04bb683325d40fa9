// Unit tests of wb/output.hpp: the event layer, its renderings, the journal and the trace.
//
// In-process tests capture fd 1 into a memory file while the library writes (it writes with
// write(2), not through stdio); no Catch2 assertion runs while fd 1 is redirected. The properties
// that only show between processes - no torn lines, nothing printed twice after fork() - are
// checked on the fixture chapter (tests/unit/programs/fixture_chapter.cpp, path in
// WB_UNIT_FIXTURE), its stdout going into a pipe or into a regular file.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "run_program.hpp"
#include "internal.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"

using wb::Json;

namespace {

// Restores the output configuration and the clock when a test ends.
struct OutputGuard {
    wb::OutputConfig config = wb::output_config();
    double scale = wb::clock::time_scale();
    ~OutputGuard() {
        wb::configure_output(config);
        wb::set_thread_actor({});
        wb::clock::set_time_scale(scale);
    }
};

void use_format(wb::Format format, bool color = false) {
    wb::OutputConfig c;
    c.format = format;
    c.color = color;
    wb::configure_output(c);
}

// Runs `f` with fd 1 redirected into a memory file and returns what was written to it.
template <typename F>
std::string capture_stdout(F&& f) {
    std::cout.flush();
    std::fflush(stdout);
    const int mem = static_cast<int>(::syscall(SYS_memfd_create, "captured-stdout", 0u));
    if (mem < 0) throw std::runtime_error("memfd_create failed");
    const int saved = ::dup(STDOUT_FILENO);
    ::dup2(mem, STDOUT_FILENO);
    try {
        f();
    } catch (...) {
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
        ::close(mem);
        throw;
    }
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::string out;
    char buf[4096];
    ssize_t n;
    off_t at = 0;
    while ((n = ::pread(mem, buf, sizeof buf, at)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    ::close(mem);
    return out;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

std::vector<Json> parse_lines(const std::string& text) {
    std::vector<Json> events;
    for (const auto& line : split_lines(text)) events.push_back(Json::parse(line));
    return events;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

std::string fixture() {
    const char* path = std::getenv("WB_UNIT_FIXTURE");
    if (path == nullptr) FAIL("WB_UNIT_FIXTURE is not set (run through meson test)");
    return path;
}

struct FileRun {
    int exit_code = -1000;
    std::string out;
    std::string err;
};

// Runs `exe` with stdout (and stderr) going to regular files, as `prog > file` does, and returns
// what they hold. The child execs at once (or _exits): it never returns into Catch2.
FileRun run_to_files(const std::string& exe, const std::vector<std::string>& args) {
    char dir_template[] = "/tmp/wb-unit-output-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    const std::string out_path = dir + "/stdout.txt";
    const std::string err_path = dir + "/stderr.txt";
    std::vector<std::string> argv_strings{exe};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    std::cout.flush();
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
        ::execv(exe.c_str(), argv.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    FileRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1000;
    std::ifstream out_file(out_path), err_file(err_path);
    std::stringstream out_text, err_text;
    out_text << out_file.rdbuf();
    err_text << err_file.rdbuf();
    r.out = out_text.str();
    r.err = err_text.str();
    ::unlink(out_path.c_str());
    ::unlink(err_path.c_str());
    ::rmdir(dir.c_str());
    return r;
}

// Every "line" event of --demo lines arrived, and each process's in the order it emitted them.
void check_lines_complete(const std::vector<Json>& events, int procs, int lines) {
    std::map<int, std::vector<long>> seqs;
    for (const auto& e : events) {
        if (e.value("event", "") != "line") continue;
        seqs[e["fields"]["proc"].get<int>()].push_back(e["fields"]["seq"].get<long>());
    }
    REQUIRE(seqs.size() == static_cast<std::size_t>(procs));
    for (const auto& [proc, got] : seqs) {
        INFO("process " << proc << " delivered " << got.size() << " lines");
        REQUIRE(got.size() == static_cast<std::size_t>(lines));
        for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == static_cast<long>(i));
    }
}

}  // namespace

TEST_CASE("jsonl: one line per event with the common fields", "[output]") {
    OutputGuard guard;
    use_format(wb::Format::jsonl);
    wb::clock::set_time_scale(0.01);
    double before = 0, after = 0;
    const std::string out = capture_stdout([&] {
        before = wb::clock::now();
        wb::emit("sample.event", {{"k", 1}, {"s", "x"}}, "hello");
        wb::emit_as("someone", "sample.other", nullptr, "two");
        wb::note("a note");
        wb::emit_block("sample.block", {{"rows", 2}}, "first\nsecond");
        after = wb::clock::now();
    });
    const auto lines = split_lines(out);
    REQUIRE(lines.size() == 4);
    const auto events = parse_lines(out);
    for (const auto& e : events) {
        INFO(e.dump());
        REQUIRE(e.is_object());
        std::set<std::string> keys;
        for (const auto& [key, value] : e.items()) keys.insert(key);
        CHECK(keys == std::set<std::string>{"t", "pid", "tid", "actor", "event", "fields", "text"});
        CHECK(e["t"].is_number());
        // t is logical now(), rounded to 0.1 ms of logical time.
        CHECK(e["t"].get<double>() >= before - 1e-4);
        CHECK(e["t"].get<double>() <= after + 1e-4);
        CHECK(e["pid"].get<long>() == ::getpid());
        CHECK(e["tid"].get<long>() == ::syscall(SYS_gettid));
        CHECK(e["fields"].is_object());
        CHECK(e["text"].is_string());
    }
    CHECK(events[0]["actor"] == wb::current_actor());
    CHECK(events[0]["actor"] == "MainProcess");
    CHECK(events[0]["event"] == "sample.event");
    CHECK(events[0]["fields"] == Json({{"k", 1}, {"s", "x"}}));
    CHECK(events[0]["text"] == "hello");
    CHECK(events[1]["actor"] == "someone");
    CHECK(events[1]["fields"] == Json::object());  // null fields become {}
    CHECK(events[2]["actor"] == "narrator");
    CHECK(events[2]["event"] == "note");
    CHECK(events[3]["text"] == "first\nsecond");
    CHECK(events[3]["fields"]["rows"] == 2);
}

TEST_CASE("jsonl: awkward text stays on one line and still parses", "[output]") {
    OutputGuard guard;
    use_format(wb::Format::jsonl);
    const std::string awkward = std::string("line one\nline two\r\ttab \"quoted\" \\ back ") + "\xff\xfe invalid utf-8";
    const std::string out = capture_stdout([&] { wb::emit("awkward", {{"bytes", "\xc3\x28"}}, awkward); });
    const auto lines = split_lines(out);
    REQUIRE(lines.size() == 1);
    const Json e = Json::parse(lines[0]);
    const std::string text = e["text"].get<std::string>();
    CHECK(text.rfind("line one\nline two\r\ttab \"quoted\" \\ back ", 0) == 0);
    CHECK(text.find("invalid utf-8") != std::string::npos);  // bad bytes replaced, the rest kept
}

TEST_CASE("thread actors: each thread can name itself; spans keep the actor they began with", "[output]") {
    OutputGuard guard;
    use_format(wb::Format::jsonl);
    const std::string out = capture_stdout([] {
        std::thread worker([] {
            wb::set_thread_actor("Worker-1");
            wb::emit("from.worker", {}, "worker speaks");
        });
        worker.join();
        wb::emit("from.main", {}, "main speaks");
        wb::set_thread_actor("Renamed");
        wb::Span span("hold", {}, "begins as Renamed");
        wb::set_thread_actor({});
        span.end("ends, still Renamed");
        wb::emit("after", {}, "back to the default");
    });
    const auto events = parse_lines(out);
    REQUIRE(events.size() == 5);
    CHECK(events[0]["actor"] == "Worker-1");
    CHECK(events[0]["tid"] != events[1]["tid"]);
    CHECK(events[1]["actor"] == "MainProcess");
    CHECK(events[2]["actor"] == "Renamed");
    CHECK(events[3]["actor"] == "Renamed");
    CHECK(events[4]["actor"] == "MainProcess");
}

TEST_CASE("spans emit begin and end events with a phase", "[output]") {
    OutputGuard guard;
    use_format(wb::Format::jsonl);
    wb::clock::set_time_scale(0.001);
    const std::string out = capture_stdout([] {
        wb::Span wait("wait", {{"k", 1}}, "begins waiting");
        wait.end("ends waiting", {{"r", 2}});
        wait.end("a second end is ignored");
        {
            wb::Span hold("hold", nullptr, "begins holding");
        }  // ended by the destructor
        wb::rest(2.0);
        wb::rest(0.5);
    });
    const auto events = parse_lines(out);
    REQUIRE(events.size() == 8);
    const auto& begin = events[0];
    const auto& end = events[1];
    CHECK(begin["event"] == "wait");
    CHECK(begin["phase"] == "begin");
    CHECK(begin["fields"] == Json({{"k", 1}}));
    CHECK(begin["text"] == "begins waiting");
    CHECK(end["event"] == "wait");
    CHECK(end["phase"] == "end");
    CHECK(end["fields"] == Json({{"k", 1}, {"r", 2}}));  // the begin fields plus the end's
    CHECK(end["text"] == "ends waiting");
    CHECK(end["t"].get<double>() >= begin["t"].get<double>());

    CHECK(events[2]["event"] == "hold");
    CHECK(events[2]["phase"] == "begin");
    CHECK(events[2]["fields"] == Json::object());
    CHECK(events[3]["event"] == "hold");
    CHECK(events[3]["phase"] == "end");
    CHECK(events[3]["text"] == "");

    CHECK(events[4]["event"] == "rest");
    CHECK(events[4]["phase"] == "begin");
    CHECK(events[4]["fields"]["seconds"] == 2.0);
    CHECK(events[4]["text"] == "starts resting 2 s");
    CHECK(events[5]["phase"] == "end");
    CHECK(events[5]["text"] == "finished resting 2 s");
    // Logical time: the rest lasted at least its 2 logical seconds, at any time scale.
    CHECK(events[5]["t"].get<double>() - events[4]["t"].get<double>() >= 2.0 - 2e-4);
    CHECK(events[6]["text"] == "starts resting 0.50 s");
    CHECK(events[7]["text"] == "finished resting 0.50 s");
}

TEST_CASE("text mode: the human rendering, with no ANSI escapes when colour is off", "[output]") {
    OutputGuard guard;
    auto render_all = [] {
        wb::emit("demo.begin", {{"demo", "sample"}, {"summary", "a sample demo"}}, "a sample demo");
        wb::emit("said", {}, "says something");
        wb::emit("said.twice", {}, "first line\nsecond line");
        wb::emit("quiet", {{"x", 1}}, {});  // no text: nothing in text mode
        wb::note("what to notice\nand more");
        wb::emit_block("table", {}, "row one\nrow two");
        wb::emit("error", {}, "something failed");
        wb::Span span("wait", {}, "starts waiting");
        span.end();  // no end text: nothing
    };

    use_format(wb::Format::text, false);
    const std::string plain = capture_stdout(render_all);
    INFO(plain);
    CHECK(plain.find('\x1b') == std::string::npos);
    const auto lines = split_lines(plain);
    REQUIRE(lines.size() == 11);
    CHECK(lines[0] == "");
    CHECK(lines[1] == "== demo sample: a sample demo ==");
    const std::string who = "MainProcess[" + std::to_string(::getpid()) + "]";
    const std::regex event_line("^ *[0-9]+\\.[0-9]{2}  " + std::regex_replace(who, std::regex("[\\[\\]]"), "\\$&") +
                                " +(.*)$");
    std::smatch m;
    REQUIRE(std::regex_match(lines[2], m, event_line));
    CHECK(m[1] == "says something");
    REQUIRE(std::regex_match(lines[3], m, event_line));
    CHECK(m[1] == "first line");
    // The continuation line is indented to the text column.
    const std::size_t column = lines[3].size() - std::string("first line").size();
    CHECK(lines[4] == std::string(column, ' ') + "second line");
    CHECK(lines[5] == "  what to notice");
    CHECK(lines[6] == "  and more");
    CHECK(lines[7] == "    row one");
    CHECK(lines[8] == "    row two");
    REQUIRE(std::regex_match(lines[9], m, event_line));
    CHECK(m[1] == "something failed");
    REQUIRE(std::regex_match(lines[10], m, event_line));
    CHECK(m[1] == "starts waiting");

    // The same with colour on does use escapes (so the check above is not vacuous).
    use_format(wb::Format::text, true);
    const std::string coloured = capture_stdout(render_all);
    CHECK(coloured.find("\x1b[") != std::string::npos);
    CHECK(count(coloured, "\x1b[31m") == 1);  // the error line is red
}

TEST_CASE("format json prints nothing per event; the journal still records it", "[output]") {
    OutputGuard guard;
    wb::journal::open();
    use_format(wb::Format::json);
    const std::size_t mark = wb::journal::mark();
    const std::string out = capture_stdout([] { wb::emit("silent", {{"n", 1}}, "not printed"); });
    CHECK(out.empty());
    const auto events = wb::journal::events_since(mark);
    REQUIRE(events.size() == 1);
    CHECK(events[0]["event"] == "silent");
}

TEST_CASE("a stdout whose reader has gone is ignored (best effort)", "[output]") {
    OutputGuard guard;
    use_format(wb::Format::jsonl);
    struct sigaction ignore {}, old {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    REQUIRE(::sigaction(SIGPIPE, &ignore, &old) == 0);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[0]);  // nobody will ever read
    std::cout.flush();
    const int saved = ::dup(STDOUT_FILENO);
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[1]);
    bool threw = false;
    try {
        wb::write_stdout("into the void\n");
        wb::emit("lost", {}, "lost line");
    } catch (...) {
        threw = true;
    }
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    ::sigaction(SIGPIPE, &old, nullptr);
    CHECK_FALSE(threw);
}

TEST_CASE("the journal sees the events of every process", "[output][journal][process]") {
    OutputGuard guard;
    use_format(wb::Format::json);
    wb::journal::open();
    REQUIRE(wb::journal::fd() >= 0);
    const std::size_t mark = wb::journal::mark();
    CHECK(wb::journal::events_since(mark).empty());

    wb::emit("parent.before", {}, "before the children");
    std::vector<wb::Process> children;
    for (int i = 0; i < 3; ++i) {
        children.emplace_back([i] {
            for (int k = 0; k < 50; ++k) wb::emit("child.event", {{"i", i}, {"k", k}}, "from a child");
        });
    }
    for (auto& p : children) p.start();
    for (auto& p : children) p.join();
    CHECK(wb::journal::mark() > mark);

    const auto events = wb::journal::events_since(mark);
    std::map<long, std::vector<int>> by_pid;  // the k values each child's pid journaled
    int starts = 0, exits = 0;
    for (const auto& e : events) {
        const std::string name = e["event"];
        if (name == "child.event") by_pid[e["pid"].get<long>()].push_back(e["fields"]["k"].get<int>());
        if (name == "process.start") ++starts;
        if (name == "process.exit") {
            ++exits;
            CHECK(e["fields"]["exitcode"] == 0);
        }
    }
    CHECK(events.front()["event"] == "parent.before");
    CHECK(starts == 3);
    CHECK(exits == 3);
    REQUIRE(by_pid.size() == 3);
    for (const auto& p : children) {
        INFO(p.name());
        REQUIRE(by_pid.count(*p.pid()) == 1);
        const auto& ks = by_pid[*p.pid()];
        REQUIRE(ks.size() == 50);
        for (int k = 0; k < 50; ++k) CHECK(ks[static_cast<std::size_t>(k)] == k);
    }
    // A mark taken now sees nothing yet; events_since(earlier mark) is a superset of a later one.
    const std::size_t later = wb::journal::mark();
    CHECK(wb::journal::events_since(later).empty());
    wb::emit("parent.after", {}, "after");
    const auto tail = wb::journal::events_since(later);
    REQUIRE(tail.size() == 1);
    CHECK(tail[0]["event"] == "parent.after");
    CHECK(wb::journal::events_since(mark).size() == events.size() + 1);
}

TEST_CASE("write_trace writes Chrome trace JSON with matching B/E pairs", "[output][trace]") {
    OutputGuard guard;
    use_format(wb::Format::json);
    wb::clock::set_time_scale(0.001);
    wb::journal::open();
    wb::emit("trace.instant", {{"n", 1}}, "an instant");
    {
        wb::Span outer("outer", {}, "outer begins");
        wb::rest(1.0);
    }
    wb::Process child([] {
        wb::Span work("work", {}, "work begins");
        wb::emit("inside", {}, "inside the work span");
    });
    child.start();
    child.join();

    char dir_template[] = "/tmp/wb-unit-trace-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    const std::string path = dir + "/trace.json";
    wb::write_trace(path);
    std::ifstream in(path);
    REQUIRE(in.good());
    Json doc;
    REQUIRE_NOTHROW(doc = Json::parse(in));
    CHECK_FALSE(std::ifstream(path + ".tmp").good());  // the temp file was renamed, not left behind
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());

    REQUIRE(doc.is_object());
    REQUIRE(doc["traceEvents"].is_array());
    std::map<std::pair<long, long>, std::vector<Json>> open_spans;  // (pid, tid) -> stack of B
    std::set<long> named, seen_pids;
    int pairs = 0;
    std::set<std::string> span_names;
    for (const auto& t : doc["traceEvents"]) {
        INFO(t.dump());
        REQUIRE(t.contains("ph"));
        const std::string ph = t["ph"];
        const long pid = t["pid"].get<long>();
        if (ph == "M") {
            CHECK(t["name"] == "process_name");
            CHECK(t["args"]["name"].is_string());
            CHECK(named.insert(pid).second);  // one name per process
            continue;
        }
        CHECK(named.count(pid) == 1);  // named before its first event
        seen_pids.insert(pid);
        REQUIRE(t["ts"].is_number_integer());
        const auto key = std::make_pair(pid, t["tid"].get<long>());
        if (ph == "B") {
            open_spans[key].push_back(t);
        } else if (ph == "E") {
            REQUIRE_FALSE(open_spans[key].empty());  // an E closes a B of the same thread
            const Json b = open_spans[key].back();
            open_spans[key].pop_back();
            CHECK(b["name"] == t["name"]);
            CHECK(t["ts"].get<long long>() >= b["ts"].get<long long>());
            span_names.insert(t["name"].get<std::string>());
            ++pairs;
        } else {
            CHECK(ph == "i");
            CHECK(t["s"] == "t");
        }
    }
    for (const auto& [key, stack] : open_spans) CHECK(stack.empty());
    CHECK(pairs >= 3);
    CHECK(span_names.count("outer") == 1);
    CHECK(span_names.count("rest") == 1);
    CHECK(span_names.count("work") == 1);
    CHECK(seen_pids.count(::getpid()) == 1);
    CHECK(seen_pids.count(*child.pid()) == 1);

    CHECK_THROWS_AS(wb::write_trace("/nonexistent-directory/trace.json"), std::invalid_argument);
}

TEST_CASE("no torn lines: 8 processes x 1000 jsonl lines into a pipe", "[output][processes]") {
    const auto r = harness::run_program(fixture(), {"--demo", "lines", "--format", "jsonl", "--procs", "8",
                                                    "--lines", "1000"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.leftovers.empty());
    REQUIRE(r.jsonl_ok);  // every line is one whole JSON object
    check_lines_complete(r.events, 8, 1000);
}

TEST_CASE("no torn lines: text mode into a pipe", "[output][processes]") {
    const auto r = harness::run_program(fixture(), {"--demo", "lines", "--procs", "8", "--lines", "500"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.leftovers.empty());
    const std::regex line_re("^ *[0-9]+\\.[0-9]{2}  Process-([0-9]+)\\[[0-9]+\\] +line ([0-9]+) of process ([0-9]+)$");
    std::map<int, std::vector<long>> seqs;
    for (const auto& line : split_lines(r.out)) {
        if (line.find("line ") == std::string::npos || line.find("==") != std::string::npos) continue;
        std::smatch m;
        INFO("line: " << line);
        REQUIRE(std::regex_match(line, m, line_re));
        CHECK(std::stoi(m[1]) == std::stoi(m[3]) + 1);  // Process-(i+1) emits process i's lines
        seqs[std::stoi(m[3])].push_back(std::stol(m[2]));
    }
    REQUIRE(seqs.size() == 8);
    for (const auto& [proc, got] : seqs) {
        REQUIRE(got.size() == 500);
        for (std::size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == static_cast<long>(i));
    }
}

TEST_CASE("no torn or lost lines when stdout is a regular file", "[output][processes]") {
    const auto r = run_to_files(fixture(), {"--demo", "lines", "--format", "jsonl", "--procs", "8", "--lines", "500"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    std::vector<Json> events;
    for (const auto& line : split_lines(r.out)) {
        INFO("line: " << line);
        REQUIRE_NOTHROW(events.push_back(Json::parse(line)));
    }
    check_lines_complete(events, 8, 500);
}

TEST_CASE("nothing printed before a fork is printed twice", "[output][processes]") {
    auto check_once = [](const std::string& out) {
        INFO(out);
        CHECK(count(out, "MARK-BEFORE-FORK") == 1);
        CHECK(count(out, "MARK-SECOND-BEFORE-FORK") == 1);
        CHECK(count(out, "MARK-AFTER-START") == 1);
        CHECK(count(out, "MARK-AFTER-JOIN") == 1);
        for (int i = 0; i < 3; ++i) {
            CHECK(count(out, "MARK-CHILD-" + std::to_string(i) + "\n") == 1);
            CHECK(count(out, "MARK-CHILD-TAIL-" + std::to_string(i)) == 1);  // flushed at the child's exit
        }
        CHECK(count(out, "== demo printf-fork") == 1);
    };
    SECTION("stdout is a regular file (stdio fully buffered)") {
        const auto r = run_to_files(fixture(), {"--demo", "printf-fork"});
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        check_once(r.out);
    }
    SECTION("stdout is a pipe") {
        const auto r = harness::run_program(fixture(), {"--demo", "printf-fork"});
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.leftovers.empty());
        check_once(r.out);
    }
}

TEST_CASE("from_fields: the sentence is made from the event's own fields", "[output]") {
    const wb::Json fields = {{"name", "buyer-3"}, {"left", 0}, {"waited", 1.23456}, {"ok", true},
                             {"big", 18446744073709551615ULL}, {"list", {1, 2}}, {"none", nullptr}};
    CHECK(wb::format_fields("{name} bought; {left} left", fields) == "buyer-3 bought; 0 left");
    CHECK(wb::format_fields("waited {waited:.2f} s", fields) == "waited 1.23 s");
    CHECK(wb::format_fields("[{left:>3}] {ok}", fields) == "[  0] true");
    CHECK(wb::format_fields("{big}", fields) == "18446744073709551615");
    CHECK(wb::format_fields("{list} {none}", fields) == "[1,2] null");
    CHECK(wb::format_fields("{{literal}} braces", fields) == "{literal} braces");
    CHECK(wb::format_fields("no fields at all", nullptr) == "no fields at all");
    // A placeholder that names no field, or a spec that does not fit the value, is a bug.
    CHECK_THROWS_AS(wb::format_fields("{missing}", fields), std::logic_error);
    CHECK_THROWS_WITH(wb::format_fields("{name:.2f}", fields), Catch::Contains("does not fit the fields"));
}
