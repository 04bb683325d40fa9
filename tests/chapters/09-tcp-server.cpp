// Output checks of chapter 09 (TCP server). The demos' jsonl is checked by event order (never by
// times); then the test plays its own clients, on 127.0.0.1, against `--serve` of each form:
// many at once, abrupt, binary, long, silent, readers that never read (SIGPIPE), a thousand in a
// row (no zombie piles up), and Ctrl-C, which must end the server cleanly with its children.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../chapters/check_util.hpp"
#include "wb/clock.hpp"
#include "wb/proc.hpp"
#include "wb/socket.hpp"

using harness::Json;
using harness::run_jsonl;
using harness::select;

namespace {

std::string upper(std::string s) {
    for (char& c : s) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return s;
}

// Position of the first event matching `pred` (events.size() if none).
template <typename P>
std::size_t index_of(const std::vector<Json>& events, P pred) {
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (pred(events[i])) return i;
    }
    return events.size();
}

bool is(const Json& e, const std::string& name, const std::string& client) {
    return e["event"] == name && e["fields"].value("client", "") == client;
}

// Every client's replies are its messages uppercased, in order; `expected` is how many messages
// each client sent.
void check_replies(const std::vector<Json>& events, const std::map<std::string, std::size_t>& expected) {
    std::map<std::string, std::vector<std::string>> sent, got;
    for (const auto& e : select(events, "client.send")) sent[e["fields"]["client"]].push_back(e["fields"].value("text", ""));
    for (const auto& e : select(events, "client.reply")) got[e["fields"]["client"]].push_back(e["fields"].value("text", ""));
    REQUIRE(sent.size() == expected.size());
    REQUIRE(got.size() == expected.size());
    for (const auto& [client, messages] : sent) {
        INFO(client);
        REQUIRE(expected.count(client) == 1);
        REQUIRE(messages.size() == expected.at(client));
        REQUIRE(got[client].size() == messages.size());
        for (std::size_t i = 0; i < messages.size(); ++i) CHECK(got[client][i] == upper(messages[i]));
    }
}

std::map<std::string, std::size_t> eight_clients() {
    std::map<std::string, std::size_t> m;
    for (int i = 0; i < 8; ++i) m["client-" + std::to_string(i)] = 2;
    return m;
}

}  // namespace

TEST_CASE("serial: the second client's first reply comes after the first client left", "[09]") {
    for (unsigned seed : {1u, 2u, 3u}) {
        INFO("seed " << seed);
        const auto r = run_jsonl(seed, {"--demo", "serial"});
        const auto& ev = r.events;
        check_replies(ev, {{"client-A", 2}, {"client-B", 1}});
        const auto a_left = index_of(ev, [](const Json& e) { return is(e, "client.leave", "client-A"); });
        const auto b_first_reply = index_of(ev, [](const Json& e) { return is(e, "client.reply", "client-B"); });
        const auto b_sent = index_of(ev, [](const Json& e) { return is(e, "client.send", "client-B"); });
        REQUIRE(a_left < ev.size());
        REQUIRE(b_first_reply < ev.size());
        CHECK(b_sent < a_left);          // B was connected and had asked while A was served
        CHECK(a_left < b_first_reply);   // ... and was answered only after A left
        const auto waiting = select(ev, "client.waiting");
        REQUIRE(waiting.size() == 1);
        CHECK(waiting[0]["fields"]["replied"] == false);
        // The server accepted connection 2 only after connection 1 ended.
        const auto c1_end = index_of(ev, [](const Json& e) { return e["event"] == "server.disconnect" && e["fields"]["conn"] == 1; });
        const auto c2_accept = index_of(ev, [](const Json& e) { return e["event"] == "server.accept" && e["fields"]["conn"] == 2; });
        CHECK(c1_end < c2_accept);
        CHECK(c2_accept < ev.size());
    }
}

TEST_CASE("backlog: clients beyond the queue wait in connect(), none is refused", "[09]") {
    const auto r = run_jsonl(1, {"--demo", "backlog"});
    const auto b = select(r.events, "backlog");
    REQUIRE(b.size() == 1);
    const auto& f = b[0]["fields"];
    CHECK(f["refused"] == 0);
    CHECK(f["connected"].get<int>() >= 1);
    CHECK(f["connected"].get<int>() <= f["backlog"].get<int>() + 1);
    CHECK(f["waiting"].get<int>() >= 1);
    CHECK(f["connected"].get<int>() + f["waiting"].get<int>() == 10);
    // The queued clients were served, one after another, once client-0 had left.
    const auto replies = select(r.events, "client.reply");
    CHECK(replies.size() == 1 + f["connected"].get<std::size_t>());
    const auto stop = select(r.events, "server.stop");
    REQUIRE(stop.size() == 1);
    CHECK(stop[0]["fields"]["connections"] == 1 + f["connected"].get<int>());
}

TEST_CASE("the concurrent servers answer 8 clients at once", "[09]") {
    for (const std::string form : {"process", "thread"}) {
        for (unsigned seed : {1u, 2u, 3u}) {
            INFO(form << " seed " << seed);
            const auto r = run_jsonl(seed, {"--demo", form + "-per-connection"});
            check_replies(r.events, eight_clients());
            const auto all = select(r.events, "all.answered");
            REQUIRE(all.size() == 1);
            CHECK(all[0]["fields"]["all"] == true);
            const auto listening = select(r.events, "server.listening");
            REQUIRE(listening.size() == 1);
            const long server_pid = listening[0]["pid"];
            const auto stop = select(r.events, "server.stop");
            REQUIRE(stop.size() == 1);
            CHECK(stop[0]["fields"]["connections"] == 8);
            CHECK(stop[0]["fields"]["children"] == 0);
            std::set<long> pids;
            for (const auto& e : select(r.events, "server.recv")) pids.insert(e["pid"].get<long>());
            if (form == "process") {
                CHECK(pids.size() == 8);  // a process per connection
                CHECK(pids.count(server_pid) == 0);
            } else {
                CHECK(pids == std::set<long>{server_pid});  // threads of the server
            }
        }
    }
}

TEST_CASE("misbehaving clients: the server times out, survives resets, keeps bytes", "[09]") {
    const auto r = run_jsonl(1, {"--demo", "misbehaving", "--idle-timeout", "2", "--time-scale", "0.01"});
    CHECK(select(r.events, "server.idle").size() == 1);
    // --idle-timeout 2, but never less than 1 s of real time (echo.hpp): at the tests' scale
    // of 0.01 the server applies 100 logical seconds and says so.
    CHECK(select(r.events, "server.idle")[0]["fields"]["timeout"].get<double>() == Approx(100.0));
    CHECK(select(r.events, "client.closed_by_server")[0]["fields"]["closed"] == true);
    CHECK(select(r.events, "server.reset").size() == 1);
    CHECK(select(r.events, "binary.check")[0]["fields"]["ok"] == true);
    CHECK(select(r.events, "long.check")[0]["fields"]["ok"] == true);
    CHECK(select(r.events, "server.stop")[0]["fields"]["connections"] == 5);
    CHECK(select(r.events, "server.stop")[0]["fields"]["children"] == 0);

    // This demo is not in the README sample: its lines are checked here against their fields.
    const auto first = [&r](const char* event) { return select(r.events, event).at(0); };
    CHECK(first("server.idle")["text"] == "connection " + first("server.idle")["fields"]["conn"].dump() +
                                              ": nothing for 100 s, closing it");
    CHECK(first("client.closed_by_server")["text"] == "silent: the server closed the connection");
    CHECK(first("binary.check")["fields"]["bytes"] == 256);
    CHECK(first("binary.check")["text"] == "binary: 256 bytes back, only a-z changed: true");
    CHECK(first("long.check")["fields"]["bytes"] == 5001);
    CHECK(first("long.check")["text"] == "long: 5001 bytes back in order, all uppercased: true");
    // Every message line shows the message of its fields: quoted text, or its size.
    int messages = 0;
    for (const char* event : {"server.recv", "client.send", "client.reply"}) {
        for (const auto& e : select(r.events, event)) {
            const Json& f = e["fields"];
            const std::string shown = f.contains("text") ? "'" + f["text"].get<std::string>() + "'"
                                      : f.value("binary", false) ? f["bytes"].dump() + " bytes, binary"
                                                                 : f["bytes"].dump() + " bytes";
            const std::string who = std::string(event) == "server.recv"
                                        ? "connection " + f["conn"].dump() + ": the client sent "
                                    : std::string(event) == "client.send" ? f["client"].get<std::string>() + " sends "
                                                                          : f["client"].get<std::string>() + " got the reply ";
            CHECK(e["text"] == who + shown);
            ++messages;
        }
    }
    CHECK(messages >= 9);  // abrupt, binary, long and polite each send and get a reply; the server logs them
}

TEST_CASE("a busy port: a clear message and exit 2", "[09]") {
    wb::LoopbackListener holder(0, 1);
    const std::string port = std::to_string(holder.port());
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--port", port},
                                                 std::vector<std::string>{"--serve", "--port", port}}) {
        const auto r = harness::run_chapter(args);
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("port " + port + " on 127.0.0.1 is already in use") != std::string::npos);
        CHECK(r.leftovers.empty());
    }
    const auto bad = harness::run_chapter({"--form", "forked"});
    CHECK(bad.exit_code == 2);
}

// ------------------------------------------------------------------------------------------------
// --serve, driven by the test's own clients.
// ------------------------------------------------------------------------------------------------
namespace {

// The chapter running `--serve` in the background; its stdout is drained by a thread.
class Server {
public:
    explicit Server(const std::vector<std::string>& extra) {
        if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) FAIL("prctl");
        int out[2];
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        std::vector<std::string> args{harness::chapter_exe(), "--serve", "--format", "jsonl"};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        reader_ = std::thread([this, fd = out[0]] {
            char buf[65536];
            for (;;) {
                const ssize_t n = ::read(fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                const std::lock_guard lock(m_);
                out_.append(buf, static_cast<std::size_t>(n));
                cv_.notify_all();
            }
            ::close(fd);
            const std::lock_guard lock(m_);
            eof_ = true;
            cv_.notify_all();
        });
        std::unique_lock lock(m_);
        const bool listening = cv_.wait_for(lock, std::chrono::seconds(30), [&] {
            return eof_ || out_.find("\"server.listening\"") != std::string::npos;
        });
        if (!listening || eof_) {
            lock.unlock();
            stop();
            FAIL("the server did not start listening");
        }
        const auto at = out_.find("\"server.listening\"");
        const auto line_start = out_.rfind('\n', at);
        const auto line_end = out_.find('\n', at);
        const Json e = Json::parse(out_.substr(line_start == std::string::npos ? 0 : line_start + 1,
                                               line_end - (line_start == std::string::npos ? 0 : line_start + 1)));
        port_ = e["fields"]["port"];
    }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server() { stop(); }
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
        if (reader_.joinable()) reader_.join();
    }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    // Ctrl-C: returns the exit status (130 expected).
    int interrupt() {
        ::kill(pid_, SIGINT);
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        pid_ = -1;
        reader_.join();
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    [[nodiscard]] std::string output() {
        const std::lock_guard lock(m_);
        return out_;
    }
    // Waits (at most `timeout`) until the server's output contains `needle`: the reader thread
    // may not have read a line yet that the server wrote before it closed a connection.
    [[nodiscard]] bool output_contains(const std::string& needle, std::chrono::seconds timeout) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, timeout, [&] { return eof_ || out_.find(needle) != std::string::npos; }) &&
               out_.find(needle) != std::string::npos;
    }
    // The server's child processes in state Z, and all of them.
    [[nodiscard]] std::pair<int, int> zombies_and_children() const {
        int z = 0, all = 0;
        for (const pid_t c : wb::children_of(pid_)) {
            ++all;
            if (const auto s = wb::read_proc_stat(c); s && s->state == 'Z') ++z;
        }
        return {z, all};
    }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::thread reader_;
    std::mutex m_;
    std::condition_variable cv_;
    std::string out_;
    bool eof_ = false;
};

// One connection: ask each message, check the uppercased reply.
void converse(std::uint16_t port, const std::vector<std::string>& messages) {
    wb::UniqueFd c = wb::connect_loopback(port);
    for (const auto& m : messages) {
        wb::send_all(c.get(), m);
        const auto r = wb::receive_exact(c.get(), m.size(), 3000);  // logical, at scale 0.01: 30 s
        REQUIRE(r.status == wb::Received::data);
        REQUIRE(r.bytes == upper(m));
    }
}

void no_leftovers_after_interrupt(Server& server) {
    CHECK(server.interrupt() == 130);
    CHECK(harness::children_of_this_process().empty());  // we are a subreaper: orphans come here
}

}  // namespace

TEST_CASE("--serve: 200 concurrent connections, all answered, for each concurrent form", "[09][serve]") {
    wb::clock::set_time_scale(0.01);
    for (const std::string form : {"process", "thread"}) {
        INFO(form);
        Server server({"--form", form});
        std::vector<wb::UniqueFd> conns;
        for (int i = 0; i < 200; ++i) conns.push_back(wb::connect_loopback(server.port()));
        // Every connection asks while all 200 are open.
        for (int i = 0; i < 200; ++i) wb::send_all(conns[i].get(), "message " + std::to_string(i) + "\n");
        for (int i = 0; i < 200; ++i) {
            const std::string want = "MESSAGE " + std::to_string(i) + "\n";
            const auto r = wb::receive_exact(conns[i].get(), want.size(), 3000);
            REQUIRE(r.status == wb::Received::data);
            CHECK(r.bytes == want);
        }
        conns.clear();
        no_leftovers_after_interrupt(server);
    }
}

TEST_CASE("--serve: abusive clients do not stop the concurrent servers", "[09][serve]") {
    wb::clock::set_time_scale(0.01);
    for (const std::string form : {"process", "thread"}) {
        INFO(form);
        // Idle timeout 50 logical s = 0.5 s of real time at the tests' scale.
        Server server({"--form", form, "--idle-timeout", "50"});
        // A silent client, kept open through everything else.
        wb::UniqueFd silent = wb::connect_loopback(server.port());
        // Abrupt disconnects: RST with and without unread replies.
        for (int i = 0; i < 20; ++i) {
            wb::UniqueFd c = wb::connect_loopback(server.port());
            wb::send_all(c.get(), "goodbye cruel world");
            if (i % 2 == 0) (void)wb::receive_exact(c.get(), 19, 3000);
            wb::set_abortive_close(c.get());
        }
        // Writers that never read: the server's replies hit a closed socket (EPIPE, not SIGPIPE).
        for (int i = 0; i < 20; ++i) {
            wb::UniqueFd c = wb::connect_loopback(server.port());
            wb::send_all(c.get(), std::string(50000, 'q'));
        }
        // Binary data and a message far longer than the server's 1024-byte buffer.
        std::string binary;
        for (int b = 0; b < 256; ++b) binary.push_back(static_cast<char>(b));
        converse(server.port(), {binary, std::string(20000, 'z') + "\n", "still alive?"});
        // The silent client is closed by the server after its idle timeout, which it reports.
        const auto r = wb::receive_some(silent.get(), 16, 3000);
        CHECK(r.status == wb::Received::closed);
        converse(server.port(), {"and now?"});
        CHECK(server.output_contains("\"server.idle\"", std::chrono::seconds(30)));
        no_leftovers_after_interrupt(server);
    }
}

TEST_CASE("--serve, process form: no zombie piles up over 1,000 connections", "[09][serve]") {
    wb::clock::set_time_scale(0.01);
    Server server({"--form", "process"});
    int most_zombies = 0, most_children = 0;
    for (int i = 0; i < 1000; ++i) {
        converse(server.port(), {"ping"});
        if (i % 50 == 49) {
            const auto [z, all] = server.zombies_and_children();
            most_zombies = std::max(most_zombies, z);
            most_children = std::max(most_children, all);
        }
    }
    INFO("most zombies seen " << most_zombies << ", most children " << most_children);
    // Ended handlers are reaped at the next connection or within 50 ms: a handful at most.
    CHECK(most_zombies <= 5);
    CHECK(most_children <= 10);
    // Idle, the server reaps the last ones too.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (server.zombies_and_children().second > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(server.zombies_and_children().second == 0);
    no_leftovers_after_interrupt(server);
}

TEST_CASE("--serve: Ctrl-C while connections are open ends every handler and exits 130", "[09][serve]") {
    wb::clock::set_time_scale(0.01);
    for (const std::string form : {"serial", "process", "thread"}) {
        INFO(form);
        Server server({"--form", form, "--idle-timeout", "1000"});
        std::vector<wb::UniqueFd> open;
        for (int i = 0; i < 5; ++i) open.push_back(wb::connect_loopback(server.port()));
        wb::send_all(open[0].get(), "hi");
        CHECK(wb::receive_exact(open[0].get(), 2, 3000).bytes == "HI");
        no_leftovers_after_interrupt(server);
    }
}
