// Unit tests of wb/socket.hpp: the loopback listener, connect, send/receive with timeouts.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/socket.hpp"

namespace {
bool close_on_exec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
}  // namespace

TEST_CASE("a listener on port 0 gets a port; a client connects and both sides talk", "[socket]") {
    wb::LoopbackListener listener(0, 5);
    REQUIRE(listener.port() != 0);
    CHECK(close_on_exec(listener.fd()));
    wb::UniqueFd client = wb::connect_loopback(listener.port());
    wb::UniqueFd server = listener.accept();
    CHECK(close_on_exec(server.get()));
    wb::send_all(client.get(), "hello\nworld\n");
    std::string pending;
    auto line = wb::receive_line(server.get(), pending, 1024, 10);
    CHECK(line.status == wb::Received::data);
    CHECK(line.bytes == "hello\n");
    line = wb::receive_line(server.get(), pending, 1024, 10);
    CHECK(line.bytes == "world\n");
    wb::send_all(server.get(), "ABCDEF");
    const auto exact = wb::receive_exact(client.get(), 6, 10);
    CHECK(exact.status == wb::Received::data);
    CHECK(exact.bytes == "ABCDEF");
    client.reset();
    CHECK(wb::receive_some(server.get(), 16, 10).status == wb::Received::closed);
}

TEST_CASE("a busy port is AddressInUse; the port is free again after the listener closes", "[socket]") {
    std::uint16_t port = 0;
    {
        wb::LoopbackListener first(0, 1);
        port = first.port();
        CHECK_THROWS_AS(wb::LoopbackListener(port, 1), wb::AddressInUse);
        try {
            wb::LoopbackListener again(port, 1);
        } catch (const wb::AddressInUse& e) {
            CHECK(e.port() == port);
            CHECK(e.code().value() == EADDRINUSE);
            CHECK(std::string(e.what()).find("bind(127.0.0.1:") != std::string::npos);
        }
    }
    wb::LoopbackListener reopened(port, 1);  // SO_REUSEADDR, nobody else holds it
    CHECK(reopened.port() == port);
}

TEST_CASE("timeouts: receive_some, receive_exact, receive_line and accept_for return when time is up", "[socket]") {
    wb::clock::set_time_scale(0.01);
    wb::LoopbackListener listener(0, 1);
    CHECK_FALSE(static_cast<bool>(listener.accept_for(std::chrono::milliseconds(20))));
    wb::UniqueFd client = wb::connect_loopback(listener.port());
    wb::UniqueFd server = listener.accept_for(std::chrono::milliseconds(5000));
    REQUIRE(server);
    const wb::clock::Stopwatch watch;
    CHECK(wb::receive_some(server.get(), 16, 2).status == wb::Received::timeout);
    CHECK(watch.elapsed() >= 2.0 - 1e-3);  // a timeout never returns early
    wb::send_all(client.get(), "abc");
    const auto partial = wb::receive_exact(server.get(), 5, 1);
    CHECK(partial.status == wb::Received::timeout);
    CHECK(partial.bytes == "abc");
    std::string pending;
    wb::send_all(client.get(), "no newline");
    const auto line = wb::receive_line(server.get(), pending, 1024, 1);
    CHECK(line.status == wb::Received::timeout);
    CHECK(line.bytes == "no newline");
    // A line longer than the limit comes cut at the limit.
    wb::send_all(client.get(), std::string(40, 'x') + "\n");
    const auto cut = wb::receive_line(server.get(), pending, 16, 10);
    CHECK(cut.bytes == std::string(16, 'x'));
    CHECK(pending.size() <= 25);
}

TEST_CASE("a reset is a status; sending to a closed peer never raises SIGPIPE", "[socket]") {
    wb::LoopbackListener listener(0, 1);
    wb::UniqueFd client = wb::connect_loopback(listener.port());
    wb::UniqueFd server = listener.accept();
    wb::set_abortive_close(client.get());
    client.reset();  // RST
    CHECK(wb::receive_some(server.get(), 16, 10).status == wb::Received::reset);
    // SIGPIPE's default action is to end the process: this test would die if send raised it.
    bool refused = false;
    for (int i = 0; i < 100 && !refused; ++i) refused = !wb::try_send_all(server.get(), "after the reset");
    CHECK(refused);
    CHECK_THROWS_AS(wb::send_all(server.get(), "again"), wb::SystemError);
}

TEST_CASE("connect to a port nobody listens on is refused; start_connect completes on loopback", "[socket]") {
    std::uint16_t port = 0;
    {
        wb::LoopbackListener l(0, 1);
        port = l.port();
    }
    CHECK_THROWS_AS(wb::connect_loopback(port), wb::SystemError);
    wb::LoopbackListener listener(0, 1);
    wb::PendingConnect p = wb::start_connect(listener.port());
    CHECK(wb::finish_connect(p, 10));
    wb::UniqueFd server = listener.accept();
    wb::send_all(p.fd.get(), "x");
    CHECK(wb::receive_exact(server.get(), 1, 10).bytes == "x");
}

TEST_CASE("beyond the backlog, connects wait instead of being refused", "[socket]") {
    wb::clock::set_time_scale(0.01);
    wb::LoopbackListener listener(0, 1);  // nobody accepts
    std::vector<wb::PendingConnect> pending;
    int connected = 0, waiting = 0;
    for (int i = 0; i < 5; ++i) pending.push_back(wb::start_connect(listener.port()));
    for (auto& p : pending) {
        if (wb::finish_connect(p, 20)) {
            ++connected;
        } else {
            ++waiting;  // no exception: not refused
        }
    }
    CHECK(connected >= 1);
    CHECK(waiting >= 1);
    CHECK(connected + waiting == 5);
}
