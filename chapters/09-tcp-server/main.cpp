// Chapter 09 - TCP server.
//
// Seeds: 000 §2.2.4 (多进程实现TCP服务端并发), 004 (socket 聊天).
// The seed's server uppercases what a client sends. Served one connection at a time (serial), a
// second client waits until the first has left; with a process per connection, or a thread per
// connection, every client is served at once. Everything runs on 127.0.0.1 inside this program:
// the server in a child process, the clients in threads of main. The servers and the client are
// in echo.cpp; the sockets (bind, accept, timeouts, MSG_NOSIGNAL) in common/ (wb/socket.hpp).
//
// The seed's serial client connects to port 9696 while its server binds 9000 (and the concurrent
// pair uses 9020): as printed, that client is refused. Here every server binds port 0 - the
// kernel picks a free port - and the clients are given the port the server really got.
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "echo.hpp"
#include "wb/chapter.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/event.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/socket.hpp"
#include "wb/start_gate.hpp"

namespace {

// --port, --form, --serve, --client (parsed below main's demos).
std::uint16_t g_port = 0;
ch09::Form g_form = ch09::Form::process;
bool g_serve = false;
bool g_client = false;

using ch09::Client;
using ch09::expect_reply;
using ch09::Form;
using ch09::run_clients;

// The demos' clients are never silent: their servers' idle timeout is only a safety net.
struct ServerProcess : ch09::ServerProcess {
    ServerProcess(Form form, int backlog) : ch09::ServerProcess(form, backlog, g_port, ch09::safety_timeout()) {}
};

// ------------------------------------------------------------------------------------------------
// Demo 1 - the serial server (000 §2.2.4 (1)): accept, then serve that client until it leaves.
//
// Client A connects and is served. Client B connects too - the connection succeeds, the kernel
// completes it and queues it (listen(5)) - and sends; but the server is still in A's loop, so B's
// reply does not come (B gives up waiting after 1 s and says so). Only when A leaves does the
// server accept B and answer it.
// ------------------------------------------------------------------------------------------------
void demo_serial() {
    ServerProcess server(Form::serial, ch09::kSeedBacklog);
    wb::Event a_served, b_waited;
    const double patience = ch09::safety_timeout();
    run_clients({
        {"client-A", [&] {
             Client a("client-A", server.port());
             expect_reply(a.ask("hello from A", patience), "client-A");
             a_served.set();
             if (!b_waited.wait(patience)) throw std::runtime_error("client-B never reported");
             expect_reply(a.ask("bye from A", patience), "client-A");
             a.leave();
         }},
        {"client-B", [&] {
             if (!a_served.wait(patience)) throw std::runtime_error("client-A was never served");
             Client b("client-B", server.port());
             b.send("hello from B");
             const wb::Received early = b.reply(12, 1.0);
             wb::emit("client.waiting", {{"client", "client-B"}, {"timeout", 1.0}, {"replied", early.status == wb::Received::data}},
                      wb::from_fields("{client}: no reply within {timeout:g} s - the server is still serving client-A"));
             b_waited.set();
             expect_reply(b.reply(12, patience), "client-B");
             b.leave();
         }},
    });
    server.stop();
    wb::note("B's connect succeeded at once (the kernel queued it), but the serial server answered B\n"
             "only after A had left. (The seed's client connects to port 9696 while its server binds\n"
             "9000: as printed it is refused. Here the clients use the port the server really got.)");
}

// ------------------------------------------------------------------------------------------------
// Demo 2 - what listen(5) means on Linux. The seed says a serial server "can connect at most
// backlog + 1 clients". The backlog bounds the queue of connections the kernel has completed and
// the program has not accepted yet. While the serial server is busy with one client, ten more
// start connecting: backlog + 1 of them complete and wait in the queue; the others are NOT
// refused - their SYN is dropped and connect() keeps retrying, so they simply wait too. The ones
// still connecting give up; when client-0 leaves, the queued ones are served, one after another.
// ------------------------------------------------------------------------------------------------
void demo_backlog() {
    ServerProcess server(Form::serial, ch09::kSeedBacklog);
    const double patience = ch09::safety_timeout();
    run_clients({{"client-0", [&] {
        Client busy("client-0", server.port());
        expect_reply(busy.ask("keep the server busy", patience), "client-0");
        std::vector<wb::PendingConnect> others;
        for (int i = 0; i < 10; ++i) others.push_back(wb::start_connect(server.port()));
        // Give every connect 1 s in all to complete.
        constexpr double kWithin = 1.0;
        const wb::clock::Stopwatch watch;
        int connected = 0, waiting = 0, refused = 0;
        for (auto& p : others) {
            try {
                if (wb::finish_connect(p, std::max(0.0, kWithin - watch.elapsed()))) {
                    ++connected;
                } else {
                    ++waiting;
                }
            } catch (const wb::SystemError& e) {
                if (e.code().value() != ECONNREFUSED) throw;
                ++refused;
            }
        }
        wb::emit("backlog", {{"backlog", ch09::kSeedBacklog}, {"tried", others.size()}, {"connected", connected},
                             {"waiting", waiting}, {"refused", refused}, {"within", kWithin}},
                 wb::from_fields("listen({backlog}): of {tried} more clients, {connected} connected (queued), {waiting} "
                                 "still connecting after {within:g} s, {refused} refused"));
        // The ones still connecting give up now, before the server has room for them.
        std::vector<wb::UniqueFd> queued;
        for (auto& p : others) {
            if (p.connected) queued.push_back(std::move(p.fd));
        }
        others.clear();
        busy.leave();
        // The queued clients ask, all at once; the serial server answers them in turn.
        std::vector<ch09::NamedBody> in_queue;
        for (auto& fd : queued) {
            in_queue.emplace_back("queued", [&fd, patience] {
                Client q("queued", std::move(fd));
                expect_reply(q.ask("waited in the queue", patience), "queued");
                q.leave();
            });
        }
        run_clients(in_queue);
    }}});
    server.stop();
    wb::note("The queue holds backlog + 1 finished connections; later clients wait in connect(),\n"
             "retrying, until there is room or they give up. Nobody is refused.");
}

// ------------------------------------------------------------------------------------------------
// Demos 3 and 4 - the concurrent servers (000 §2.2.4 (2)): eight clients at once. Each connects,
// is answered, and waits at a gate until all eight have been answered; only then do they send
// their second message and leave. With a serial server the gate could never open (the first client
// holds the server while it waits): here it opens, so all eight were being served at once.
// ------------------------------------------------------------------------------------------------
constexpr int kClients = 8;

void eight_clients(Form form) {
    ServerProcess server(form, ch09::kConcurrentBacklog);
    const double patience = ch09::safety_timeout();
    wb::StartGate all_answered(kClients);
    // The clients connect in turn (client-i once client-(i-1) is connected), so that connection
    // numbers match client numbers in the output; after that nothing orders them.
    std::vector<wb::Event> connected(kClients);
    std::vector<ch09::NamedBody> clients;
    for (int i = 0; i < kClients; ++i) {
        const std::string name = fmt::format("client-{}", i);
        clients.emplace_back(name, [&, name, i] {
            if (i > 0 && !connected[i - 1].wait(patience)) throw std::runtime_error("the previous client never connected");
            Client c(name, server.port());
            connected[i].set();
            expect_reply(c.ask(fmt::format("hello from {}", name), patience), name);
            if (!all_answered.arrive_and_wait(patience)) throw std::runtime_error("the gate never opened");
            expect_reply(c.ask("goodbye", patience), name);
            c.leave();
        });
    }
    clients.emplace_back("main-gate", [&] {
        const bool all = all_answered.wait_until_ready(patience);
        wb::emit("all.answered", {{"clients", kClients}, {"all", all}},
                 wb::from_fields(all ? "all {clients} clients are connected and answered at the same time"
                                     : "not every client was answered in time"));
        all_answered.open();
    });
    run_clients(clients);
    server.stop();
}

void demo_process_per_connection() {
    eight_clients(Form::process);
    wb::note("One child process per connection (conn-1 ... conn-8), each reaped as soon as it ended:\n"
             "the server's last line counts the children left - none.");
}

void demo_thread_per_connection() {
    eight_clients(Form::thread);
    wb::note("The same with one thread per connection: one process, eight threads (all one pid).");
}

// ------------------------------------------------------------------------------------------------
// Demo 5 - clients that misbehave, against the process-per-connection server. The seed's server
// would not survive them: `.decode()` of binary data raises UnicodeDecodeError, and a 5000-byte
// message arrives in several recv(1024)s (a multi-byte character can be cut in two). Here the
// server works on bytes, bounds a silent client by its idle timeout, and a client that resets its
// connection or leaves without reading costs only that connection.
// ------------------------------------------------------------------------------------------------
void demo_misbehaving() {
    const double idle = ch09::effective_idle_timeout(ch09::g_idle_timeout);
    ch09::ServerProcess server(Form::process, ch09::kConcurrentBacklog, g_port, idle);
    const double patience = ch09::safety_timeout();
    run_clients({{"clients", [&] {
        {
            Client silent("silent", server.port());  // says nothing: the server times it out
            const wb::Received r = wb::receive_some(silent.fd(), 16, idle + patience);
            const bool closed = r.status == wb::Received::closed;
            wb::emit("client.closed_by_server", {{"client", "silent"}, {"closed", closed}},
                     wb::from_fields(closed ? "{client}: the server closed the connection"
                                            : "{client}: the server never closed it"));
        }
        {
            Client abrupt("abrupt", server.port());
            expect_reply(abrupt.ask("one question", patience), "abrupt");
            wb::set_abortive_close(abrupt.fd());  // then RST instead of a goodbye
            abrupt.leave();
        }
        {
            Client binary("binary", server.port());
            std::string bytes;
            for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
            const wb::Received r = binary.ask(bytes, patience);
            expect_reply(r, "binary");
            wb::emit("binary.check", {{"ok", r.bytes == ch09::ascii_upper(bytes)}, {"bytes", r.bytes.size()}},
                     wb::from_fields("binary: {bytes} bytes back, only a-z changed: {ok}"));
            binary.leave();
        }
        {
            Client long_line("long", server.port());
            const std::string line = std::string(5000, 'x') + "\n";
            const wb::Received r = long_line.ask(line, patience);
            expect_reply(r, "long");
            wb::emit("long.check", {{"ok", r.bytes == ch09::ascii_upper(line)}, {"bytes", r.bytes.size()}},
                     wb::from_fields("long: {bytes} bytes back in order, all uppercased: {ok}"));
            long_line.leave();
        }
        {
            Client well("polite", server.port());
            expect_reply(well.ask("still there?", patience), "polite");
            well.leave();
        }
    }}});
    server.stop();
}

// ------------------------------------------------------------------------------------------------
// The command-line modes: --serve runs only a server (for the chapter's --client or nc), until
// Ctrl-C; --client sends each line of stdin and prints the reply.
// ------------------------------------------------------------------------------------------------
[[noreturn]] void usage_error(const std::string& text) { throw std::invalid_argument(text); }

std::optional<int> port_in_use(std::uint16_t port) {
    const std::string msg = fmt::format(
        "09-tcp-server: port {} on 127.0.0.1 is already in use; choose another with --port, or --port 0 for any "
        "free port\n", port);
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, msg.data(), msg.size());
    return 2;
}

std::optional<int> serve_or_client() {
    if (g_client) {
        if (g_port == 0) {
            const std::string msg = "09-tcp-server: --client needs the server's --port\ntry '09-tcp-server --help'\n";
            [[maybe_unused]] const auto n = ::write(STDERR_FILENO, msg.data(), msg.size());
            return 2;
        }
        Client c("client", g_port);
        std::string line;
        while (std::getline(std::cin, line)) {
            if (line.empty()) continue;  // as the seed: `if not msg: continue`
            if (c.ask(line, ch09::safety_timeout()).status != wb::Received::data) return 1;
        }
        c.leave();
        return 0;
    }
    if (g_serve) {
        std::optional<wb::LoopbackListener> listener;
        try {
            listener.emplace(g_port, g_form == Form::serial ? ch09::kSeedBacklog : ch09::kConcurrentBacklog);
        } catch (const wb::AddressInUse&) {
            return port_in_use(g_port);
        }
        ch09::run_server(g_form, *listener, nullptr, ch09::effective_idle_timeout(ch09::g_idle_timeout));  // until Ctrl-C (SIGINT) or SIGTERM
        return 0;
    }
    if (g_port != 0) {  // the demos will bind it: say now, clearly, if they cannot
        try {
            wb::LoopbackListener probe(g_port, 1);
        } catch (const wb::AddressInUse&) {
            return port_in_use(g_port);
        }
    }
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "09-tcp-server",
        .title = "TCP server",
        .description = "The seed's uppercase echo server on 127.0.0.1: serial (a second client waits until the first\n"
                       "leaves; what listen(5) really does), one process per connection, one thread per connection,\n"
                       "and clients that misbehave. --serve runs one server alone (try it with nc or --client).",
        .demos = {
            {"serial", "serial server: the second client is served after the first leaves", demo_serial},
            {"backlog", "listen(5): later clients wait in connect(), none is refused", demo_backlog},
            {"process-per-connection", "a child process per connection: 8 clients served at once", demo_process_per_connection},
            {"thread-per-connection", "a thread per connection: 8 clients served at once", demo_thread_per_connection},
            {"misbehaving", "silent, abrupt, binary and long clients: the server keeps serving", demo_misbehaving},
        },
        .options = {
            {"port", "N", "the port on 127.0.0.1 (default 0: the kernel picks a free one, printed)",
             [](std::string_view v) { g_port = static_cast<std::uint16_t>(wb::parse_int(v, "--port", 0, 65535)); }},
            {"form", "F", "the server --serve runs: serial, process (default) or thread",
             [](std::string_view v) {
                 if (v == "serial") g_form = Form::serial;
                 else if (v == "process") g_form = Form::process;
                 else if (v == "thread") g_form = Form::thread;
                 else usage_error("--form must be serial, process or thread");
             }},
            {"serve", "", "run only a server (--form, --port) until Ctrl-C, instead of the demos",
             [](std::string_view) { g_serve = true; }},
            {"client", "", "send each line of stdin to the server at --port and print the replies",
             [](std::string_view) { g_client = true; }},
            {"idle-timeout", "S", "close a connection that sends nothing for S logical seconds (default 5)",
             [](std::string_view v) {
                 const double s = wb::parse_double(v, "--idle-timeout");
                 if (!(s >= 0.01 && s <= 3600)) usage_error("--idle-timeout must be between 0.01 and 3600 seconds");
                 ch09::g_idle_timeout = s;
             }},
        },
        .mode = serve_or_client,
    });
}
