// Chapter 09's props: the three forms of the seed's uppercase echo server and the seed's client,
// built on wb/socket.hpp. main.cpp's demos run them; --serve runs one server alone.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wb/event.hpp"
#include "wb/fd.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
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

// --idle-timeout: how long a server waits for a silent client before it closes the connection
// (logical s). Bounded by the option to [0.01, 3600].
extern double g_idle_timeout;

// The idle timeout a server really applies: `logical` seconds, but never less than 1 s of real
// time. At the tests' time scale 5 logical seconds are 50 ms, less than a loaded machine (or a
// sanitizer build) may take between a client's connect and its first message: the server would
// close a well-behaved client. The floor keeps the lesson (a silent client is closed) without
// that race.
[[nodiscard]] double effective_idle_timeout(double logical);

// The seed's work(conn): recv up to 1024 bytes, send them back uppercased, until the client
// leaves, resets, or says nothing for `idle_timeout` logical seconds. Never throws for what a
// client does.
void serve_connection(int fd, int number, double idle_timeout);

// Accepts and serves until `stop` is set (nullptr: forever, until a signal ends the program).
// serial: one connection at a time, in this process. process: a child process per connection
// (wb::Process, reaped as soon as it has ended). thread: a thread per connection.
// Before it returns it waits for every connection it started serving.
void run_server(Form form, wb::LoopbackListener& listener, const wb::Event* stop, double idle_timeout);

// A message in an event: adds its fields to `fields` - `bytes` (its size), and `text` when it is
// printable, else `binary` (it holds bytes other than text and line ends) - and returns how a
// sentence shows it, as a wb::from_fields fragment over those fields: "'{text}'" (quoted), or
// "{bytes} bytes" / "{bytes} bytes, binary".
[[nodiscard]] std::string add_message(wb::Json& fields, std::string_view bytes);
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

// What the demos are made of.

// Throws "WHO got no reply in time" unless `r` carries data.
void expect_reply(const wb::Received& r, const std::string& who);

// Runs each function in its own thread, named as an actor, joins them all, and rethrows the first
// exception one of them threw (a thread must not let an exception escape: that ends the program).
using NamedBody = std::pair<std::string, std::function<void()>>;
void run_clients(const std::vector<NamedBody>& clients);

// A server of the given form in a child process named "server", listening before the constructor
// returns (so no client can come too early); stop() ends it once its clients are done. The
// demos whose clients never fall silent pass the safety timeout as the idle timeout (there it is
// only a net); the misbehaving-clients demo passes --idle-timeout.
class ServerProcess {
public:
    ServerProcess(Form form, int backlog, std::uint16_t port, double idle_timeout);
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    void stop();

private:
    wb::LoopbackListener listener_;
    wb::Event stop_;
    wb::Process process_;
    std::uint16_t port_ = 0;
};

}  // namespace ch09
