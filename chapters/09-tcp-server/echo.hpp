// Chapter 09's props: the three forms of the seed's uppercase echo server and the seed's client,
// built on wb/socket.hpp. main.cpp's demos run them; --serve runs one server alone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "wb/event.hpp"
#include "wb/fd.hpp"
#include "wb/socket.hpp"

namespace ch09 {

// The seed's recv(1024): a server reads at most this much per recv.
inline constexpr std::size_t kBuffer = 1024;
// The seed's listen(5), kept for the serial server. The concurrent servers accept as fast as
// clients come, but a burst of connections (8 at once in the demos, 200 in the tests) can arrive
// before the accept loop runs: a longer queue keeps them from waiting for a SYN retry.
inline constexpr int kSeedBacklog = 5;
inline constexpr int kConcurrentBacklog = 256;

enum class Form { serial, process, thread };
[[nodiscard]] std::string_view form_name(Form form);

// How long a server waits for a silent client before it closes the connection (logical s).
extern double g_idle_timeout;

// The seed's work(conn): recv up to 1024 bytes, send them back uppercased, until the client
// leaves, resets, or says nothing for g_idle_timeout. Never throws for what a client does.
void serve_connection(int fd, int number);

// Accepts and serves until `stop` is set (nullptr: forever, until a signal ends the program).
// serial: one connection at a time, in this process. process: a child process per connection
// (wb::Process, reaped as soon as it has ended). thread: a std::jthread per connection.
// Before it returns it waits for every connection it started serving.
void run_server(Form form, wb::LoopbackListener& listener, const wb::Event* stop);

// Printable form of what a client sent: "hello" (quoted) or "5000 bytes" / "6 bytes, binary".
[[nodiscard]] std::string describe(std::string_view bytes);
[[nodiscard]] std::string ascii_upper(std::string_view bytes);

// The safety net for waits that normally end by synchronisation: 10 logical seconds, but never
// less than 5 s of real time.
[[nodiscard]] double safety_timeout();

// The seed's client, one connection: ask() sends a message and waits for its reply (as many
// bytes as were sent). Events carry the actor of the calling thread.
class Client {
public:
    Client(std::string name, std::uint16_t port);
    // A client on a connection that is already established (a finished wb::start_connect).
    Client(std::string name, wb::UniqueFd connection);
    // Sends `message`, waits at most `timeout` for the whole reply; the reply, or what came.
    [[nodiscard]] wb::Received ask(const std::string& message, double timeout);
    void send(const std::string& message);
    [[nodiscard]] wb::Received reply(std::size_t n, double timeout);
    void leave();
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

private:
    std::string name_;
    wb::UniqueFd fd_;
};

}  // namespace ch09
