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

std::string add_message(wb::Json& fields, std::string_view bytes) {
    fields["bytes"] = bytes.size();
    if (printable(bytes)) {
        fields["text"] = text_of(bytes);
        return "'{text}'";
    }
    const bool binary = std::any_of(bytes.begin(), bytes.end(), [](char c) {
        return (c < 0x20 && c != '\n' && c != '\r') || static_cast<unsigned char>(c) > 0x7e;
    });
    fields["binary"] = binary;
    return binary ? "{bytes} bytes, binary" : "{bytes} bytes";
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
                     wb::from_fields("connection {conn}: nothing for {timeout:g} s, closing it"));
            return;
        }
        if (r.status == wb::Received::closed) {
            wb::emit("server.disconnect", {{"conn", number}}, wb::from_fields("connection {conn}: the client left"));
            return;
        }
        if (r.status == wb::Received::reset) {
            wb::emit("server.reset", {{"conn", number}}, wb::from_fields("connection {conn}: reset by the client"));
            return;
        }
        wb::Json fields{{"conn", number}};
        const std::string sent = "connection {conn}: the client sent " + add_message(fields, r.bytes);
        wb::emit("server.recv", std::move(fields), wb::from_fields(sent));
        // conn.send(info.upper()): MSG_NOSIGNAL, so a client that already left costs this
        // connection, not the server (SIGPIPE would end the whole process).
        if (!wb::try_send_all(fd, ascii_upper(r.bytes))) {
            wb::emit("server.gone", {{"conn", number}},
                     wb::from_fields("connection {conn}: the client is gone, the reply is dropped"));
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
        wb::emit("server.accept", {{"conn", number}}, wb::from_fields("accepted connection {conn}"));
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
        wb::emit("server.accept", {{"conn", number}}, wb::from_fields("accepted connection {conn}"));
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
        wb::emit("server.accept", {{"conn", number}}, wb::from_fields("accepted connection {conn}"));
        auto done = std::make_shared<std::atomic<bool>>(false);
        handlers.push_back(Handler{done, wb::start_jthread([c = std::move(conn), done, n = number, idle] {
                                       wb::set_thread_actor(fmt::format("conn-{}", n));
                                       try {
                                           serve_connection(c.get(), n, idle);
                                       } catch (const std::exception& e) {
                                           wb::emit("server.error", {{"conn", n}, {"error", e.what()}},
                                                    wb::from_fields("connection {conn}: {error}"));
                                       }
                                       done->store(true);
                                   })});
    }
    handlers.clear();  // joins every thread
}

}  // namespace

void run_server(Form form, wb::LoopbackListener& listener, const wb::Event* stop, double idle_timeout) {
    wb::emit("server.listening", {{"form", form_name(form)}, {"port", listener.port()}, {"backlog", listener.backlog()}},
             wb::from_fields("the {form} server listens on 127.0.0.1:{port} (backlog {backlog})"));
    int connections = 0;
    switch (form) {
        case Form::serial: serial_server(listener, stop, idle_timeout, connections); break;
        case Form::process: process_server(listener, stop, idle_timeout, connections); break;
        case Form::thread: thread_server(listener, stop, idle_timeout, connections); break;
    }
    wb::emit("server.stop", {{"form", form_name(form)}, {"connections", connections}, {"children", wb::live_children()}},
             wb::from_fields("the {form} server stops after {connections} connections; {children} child processes "
                             "left"));
}

Client::Client(std::string name, std::uint16_t port) : name_(std::move(name)), fd_(wb::connect_loopback(port)) {
    wb::emit("client.connect", {{"client", name_}}, wb::from_fields("{client} connected"));
}

Client::Client(std::string name, wb::UniqueFd connection) : name_(std::move(name)), fd_(std::move(connection)) {}

void Client::send(const std::string& message) {
    wb::send_all(fd_.get(), message);
    wb::Json fields{{"client", name_}};
    const std::string sends = "{client} sends " + add_message(fields, message);
    wb::emit("client.send", std::move(fields), wb::from_fields(sends));
}

wb::Received Client::reply(std::size_t n, double timeout) {
    wb::Received r = wb::receive_exact(fd_.get(), n, timeout);
    if (r.status == wb::Received::data) {
        wb::Json fields{{"client", name_}};
        const std::string got = "{client} got the reply " + add_message(fields, r.bytes);
        wb::emit("client.reply", std::move(fields), wb::from_fields(got));
    }
    return r;
}

wb::Received Client::ask(const std::string& message, double timeout) {
    send(message);
    return reply(message.size(), timeout);
}

void Client::leave() {
    // The event first: closing the socket lets the serial server answer the next client at once,
    // and that client's reply must not be printed (nor time-stamped) before this client left.
    wb::emit("client.leave", {{"client", name_}}, wb::from_fields("{client} leaves"));
    fd_.reset();
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
