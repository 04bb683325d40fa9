// Chapter 09's props: the echo servers and the client; see echo.hpp.
#include "echo.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/thread.hpp"

namespace ch09 {

double g_idle_timeout = 5.0;

namespace {
// How often an idle accept loop looks at its stop flag and reaps finished handlers (real time).
constexpr std::chrono::milliseconds kPoll{50};

bool printable(std::string_view bytes) {
    std::string_view body = bytes;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    return !body.empty() && body.size() <= 60 &&
           std::all_of(body.begin(), body.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::string text_of(std::string_view bytes) {
    while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r')) bytes.remove_suffix(1);
    return std::string(bytes);
}
}  // namespace

std::string_view form_name(Form form) {
    switch (form) {
        case Form::serial: return "serial";
        case Form::process: return "process";
        case Form::thread: return "thread";
    }
    return "?";
}

std::string describe(std::string_view bytes) {
    if (printable(bytes)) return fmt::format("'{}'", text_of(bytes));
    const bool binary = std::any_of(bytes.begin(), bytes.end(), [](char c) {
        return (c < 0x20 && c != '\n' && c != '\r') || static_cast<unsigned char>(c) > 0x7e;
    });
    return fmt::format("{} bytes{}", bytes.size(), binary ? ", binary" : "");
}

std::string ascii_upper(std::string_view bytes) {
    std::string out(bytes);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

double safety_timeout() { return wb::clock::safety_timeout(10.0, std::chrono::seconds(5)); }

double effective_idle_timeout(double logical) { return wb::clock::safety_timeout(logical, std::chrono::seconds(1)); }

void serve_connection(int fd, int number, double idle_timeout) {
    for (;;) {
        wb::Received r = wb::receive_some(fd, kBuffer, idle_timeout);
        if (r.status == wb::Received::timeout) {
            wb::emit("server.idle", {{"conn", number}, {"timeout", idle_timeout}},
                     fmt::format("connection {}: nothing for {:g} s, closing it", number, idle_timeout));
            return;
        }
        if (r.status == wb::Received::closed) {
            wb::emit("server.disconnect", {{"conn", number}}, fmt::format("connection {}: the client left", number));
            return;
        }
        if (r.status == wb::Received::reset) {
            wb::emit("server.reset", {{"conn", number}}, fmt::format("connection {}: reset by the client", number));
            return;
        }
        wb::Json fields{{"conn", number}, {"bytes", r.bytes.size()}};
        if (printable(r.bytes)) fields["text"] = text_of(r.bytes);
        wb::emit("server.recv", fields, fmt::format("connection {}: the client sent {}", number, describe(r.bytes)));
        // conn.send(info.upper()): MSG_NOSIGNAL, so a client that already left costs this
        // connection, not the server (SIGPIPE would end the whole process).
        if (!wb::try_send_all(fd, ascii_upper(r.bytes))) {
            wb::emit("server.gone", {{"conn", number}},
                     fmt::format("connection {}: the client is gone, the reply is dropped", number));
            return;
        }
    }
}

namespace {

bool stopped(const wb::Event* stop) { return stop != nullptr && stop->is_set(); }

void serial_server(wb::LoopbackListener& listener, const wb::Event* stop, double idle, int& number) {
    while (!stopped(stop)) {
        wb::UniqueFd conn = listener.accept_for(kPoll);
        if (!conn) continue;
        ++number;
        wb::emit("server.accept", {{"conn", number}}, fmt::format("accepted connection {}", number));
        serve_connection(conn.get(), number, idle);  // nobody else is served meanwhile
    }
}

void process_server(wb::LoopbackListener& listener, const wb::Event* stop, double idle, int& number) {
    std::list<wb::Process> handlers;
    while (!stopped(stop)) {
        // Reap every handler that has ended: is_alive() reaps it (Python does the same in
        // Process.start(), through multiprocessing's _cleanup()). No zombie waits longer than
        // the next connection or kPoll.
        handlers.remove_if([](wb::Process& p) { return !p.is_alive(); });
        wb::UniqueFd conn = listener.accept_for(kPoll);
        if (!conn) continue;
        ++number;
        wb::emit("server.accept", {{"conn", number}}, fmt::format("accepted connection {}", number));
        const int fd = conn.get();
        wb::Process& p = handlers.emplace_back([fd, &listener, idle](int n) {
            listener.close();  // the child only serves its connection
            serve_connection(fd, n, idle);
        }, number);
        p.set_name(fmt::format("conn-{}", number));
        p.start();
        conn.reset();  // the child has its own copy; the connection ends when it closes it
    }
    for (auto& p : handlers) p.join();
}

void thread_server(wb::LoopbackListener& listener, const wb::Event* stop, double idle, int& number) {
    struct Handler {
        std::shared_ptr<std::atomic<bool>> done;
        std::jthread thread;
    };
    std::list<Handler> handlers;
    while (!stopped(stop)) {
        handlers.remove_if([](const Handler& h) { return h.done->load(); });  // jthread joins
        wb::UniqueFd conn = listener.accept_for(kPoll);
        if (!conn) continue;
        ++number;
        wb::emit("server.accept", {{"conn", number}}, fmt::format("accepted connection {}", number));
        auto done = std::make_shared<std::atomic<bool>>(false);
        handlers.push_back(Handler{done, wb::start_jthread([c = std::move(conn), done, n = number, idle] {
                                       wb::set_thread_actor(fmt::format("conn-{}", n));
                                       try {
                                           serve_connection(c.get(), n, idle);
                                       } catch (const std::exception& e) {
                                           wb::emit("server.error", {{"conn", n}, {"error", e.what()}},
                                                    fmt::format("connection {}: {}", n, e.what()));
                                       }
                                       done->store(true);
                                   })});
    }
    handlers.clear();  // joins every thread
}

}  // namespace

void run_server(Form form, wb::LoopbackListener& listener, const wb::Event* stop, double idle_timeout) {
    wb::emit("server.listening", {{"form", form_name(form)}, {"port", listener.port()}, {"backlog", listener.backlog()}},
             fmt::format("the {} server listens on 127.0.0.1:{} (backlog {})", form_name(form), listener.port(),
                         listener.backlog()));
    int connections = 0;
    switch (form) {
        case Form::serial: serial_server(listener, stop, idle_timeout, connections); break;
        case Form::process: process_server(listener, stop, idle_timeout, connections); break;
        case Form::thread: thread_server(listener, stop, idle_timeout, connections); break;
    }
    wb::emit("server.stop", {{"form", form_name(form)}, {"connections", connections}, {"children", wb::live_children()}},
             fmt::format("the {} server stops after {} connections; {} child processes left", form_name(form),
                         connections, wb::live_children()));
}

Client::Client(std::string name, std::uint16_t port) : name_(std::move(name)), fd_(wb::connect_loopback(port)) {
    wb::emit("client.connect", {{"client", name_}}, fmt::format("{} connected", name_));
}

Client::Client(std::string name, wb::UniqueFd connection) : name_(std::move(name)), fd_(std::move(connection)) {}

void Client::send(const std::string& message) {
    wb::send_all(fd_.get(), message);
    wb::Json fields{{"client", name_}, {"bytes", message.size()}};
    if (printable(message)) fields["text"] = text_of(message);
    wb::emit("client.send", fields, fmt::format("{} sends {}", name_, describe(message)));
}

wb::Received Client::reply(std::size_t n, double timeout) {
    wb::Received r = wb::receive_exact(fd_.get(), n, timeout);
    if (r.status == wb::Received::data) {
        wb::Json fields{{"client", name_}, {"bytes", r.bytes.size()}};
        if (printable(r.bytes)) fields["text"] = text_of(r.bytes);
        wb::emit("client.reply", fields, fmt::format("{} got the reply {}", name_, describe(r.bytes)));
    }
    return r;
}

wb::Received Client::ask(const std::string& message, double timeout) {
    send(message);
    return reply(message.size(), timeout);
}

void Client::leave() {
    fd_.reset();
    wb::emit("client.leave", {{"client", name_}}, fmt::format("{} leaves", name_));
}

void expect_reply(const wb::Received& r, const std::string& who) {
    if (r.status != wb::Received::data) throw std::runtime_error(fmt::format("{} got no reply in time", who));
}

void run_clients(const std::vector<NamedBody>& clients) {
    std::mutex m;
    std::exception_ptr first;
    {
        std::vector<std::jthread> threads;
        for (const auto& [name, body] : clients) {
            threads.push_back(wb::start_jthread([&, name = name, body = body] {
                wb::set_thread_actor(name);
                try {
                    body();
                } catch (...) {
                    const std::lock_guard lock(m);
                    if (!first) first = std::current_exception();
                }
            }));
        }
    }
    if (first) std::rethrow_exception(first);
}

ServerProcess::ServerProcess(Form form, int backlog, std::uint16_t port, double idle_timeout)
    : listener_(port, backlog), process_([this, form, idle_timeout] { run_server(form, listener_, &stop_, idle_timeout); }) {
    process_.set_name("server");
    process_.start();
    port_ = listener_.port();
    listener_.close();  // main's copy: only the server accepts
}

void ServerProcess::stop() {
    stop_.set();
    process_.join();
}

}  // namespace ch09
