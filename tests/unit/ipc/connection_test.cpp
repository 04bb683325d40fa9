// Unit tests of wb::Connection / wb::make_pipe (wb/connection.hpp): whole messages both ways,
// one-way pipes, end of file when the other end is closed or its process dies (also mid-message),
// poll with a timeout, and a send to a vanished reader that neither kills nor hangs the sender.
#include "wb/connection.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"
#include "wb/clock.hpp"
#include "wb/output.hpp"
#include "wb/error.hpp"
#include "wb/shared_memory.hpp"

using wb::test::Children;
using wb::test::eventually;

TEST_CASE("duplex: whole messages both ways between two processes, of any size", "[connection]") {
    auto [parent_end, child_end] = wb::make_pipe();
    Children children;
    const pid_t child = children.fork([&] {
        parent_end.close();
        // Echo in upper case until end of file.
        for (;;) {
            std::string m;
            try {
                m = child_end.recv();
            } catch (const wb::ConnectionClosed&) {
                return 0;
            }
            for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            child_end.send(m);
        }
    });
    child_end.close();
    for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{1} << 20}) {
        const std::string message(size, 'a');
        parent_end.send(message);
        CHECK(parent_end.recv() == std::string(size, 'A'));
    }
    parent_end.send_json(wb::Json{{"hello", "world"}});
    CHECK(parent_end.recv() == R"({"HELLO":"WORLD"})");
    parent_end.close();
    CHECK(wb::test::exited_with(children.wait(child), 0));
}

TEST_CASE("one-way: the first end receives, the second sends", "[connection]") {
    auto [reader, writer] = wb::make_pipe(false);
    CHECK(reader.mode() == wb::Connection::Mode::receive_only);
    CHECK(writer.mode() == wb::Connection::Mode::send_only);
    CHECK_THROWS_AS(reader.send("x"), std::logic_error);
    CHECK_THROWS_AS((void)writer.recv(), std::logic_error);
    writer.send("one");
    writer.send("two");
    CHECK(reader.recv() == "one");
    CHECK(reader.recv() == "two");
    writer.close();
    CHECK_THROWS_AS((void)reader.recv(), wb::ConnectionClosed);
    CHECK_THROWS_AS(writer.send("closed"), std::logic_error);
}

TEST_CASE("EOF when the other end is closed: the messages sent before still arrive", "[connection][eof]") {
    for (const bool duplex : {true, false}) {
        INFO("duplex " << duplex);
        auto [reader, writer] = wb::make_pipe(duplex);
        Children children;
        const pid_t child = children.fork([&] {
            reader.close();
            writer.send("1.jpg");
            writer.send("5.exe");
            writer.close();
            return 0;
        });
        writer.close();  // the parent's copy, or the reader would never see EOF
        CHECK(reader.recv() == "1.jpg");
        CHECK(reader.recv() == "5.exe");
        CHECK_THROWS_AS((void)reader.recv(), wb::ConnectionClosed);
        CHECK(wb::test::exited_with(children.wait(child), 0));
    }
}

TEST_CASE("EOF when the writer's process dies, also in the middle of a message", "[connection][eof]") {
    for (const bool duplex : {true, false}) {
        INFO("duplex " << duplex);
        {
            auto [reader, writer] = wb::make_pipe(duplex);
            Children children;
            const pid_t child = children.fork([&] {
                reader.close();
                writer.send("last words");
                for (;;) ::pause();
                return 0;
            });
            writer.close();
            CHECK(reader.recv() == "last words");
            CHECK_FALSE(reader.poll(0));  // nothing yet, and the writer lives
            children.kill(child);
            CHECK(reader.poll(1000.0));   // end of file is "readable"
            CHECK_THROWS_AS((void)reader.recv(), wb::ConnectionClosed);
        }
        {
            // A length that promises 100 bytes, 3 bytes, then death: no half message.
            auto [reader, writer] = wb::make_pipe(duplex);
            Children children;
            const pid_t child = children.fork([&] {
                reader.close();
                const char partial[] = {100, 0, 0, 0, 'a', 'b', 'c'};
                wb::write_all(writer.fd(), std::string_view(partial, sizeof partial));
                for (;;) ::pause();
                return 0;
            });
            writer.close();
            REQUIRE(reader.poll(1000.0));
            children.kill(child);
            try {
                (void)reader.recv();
                FAIL("recv returned a torn message");
            } catch (const wb::ConnectionClosed& e) {
                CHECK(std::string(e.what()).find("middle of a message") != std::string::npos);
            }
        }
    }
}

TEST_CASE("poll(timeout) returns false after about the timeout, true as soon as a message is there", "[connection][timing]") {
    auto [a, b] = wb::make_pipe();
    for (const double timeout : {5.0, 20.0}) {
        const wb::clock::Stopwatch stopwatch;
        CHECK_FALSE(a.poll(timeout));
        const double ratio = stopwatch.elapsed() / timeout;
        CHECK(ratio >= 0.99);
        CHECK(ratio <= 3.0);
    }
    b.send("x");
    CHECK(a.poll(0));
    CHECK(a.poll(1000.0));
    CHECK(a.recv() == "x");
}

TEST_CASE("send to an end whose reader is gone throws ConnectionClosed, without SIGPIPE", "[connection]") {
    // The test process keeps SIGPIPE's default action (terminate): surviving proves it is handled.
    REQUIRE(::signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    for (const bool duplex : {true, false}) {
        auto [reader, writer] = wb::make_pipe(duplex);
        reader.close();
        CHECK_THROWS_AS(writer.send("nobody listens"), wb::ConnectionClosed);
        sigset_t pending;
        sigpending(&pending);
        CHECK(sigismember(&pending, SIGPIPE) == 0);  // consumed, not left pending
    }
}

TEST_CASE("adopt: an end handed over as text", "[connection]") {
    auto [a, b] = wb::make_pipe();
    auto again = wb::Connection::adopt(std::to_string(::dup(b.fd())), wb::Connection::Mode::duplex);
    a.send("via the adopted end");
    CHECK(again.recv() == "via the adopted end");
    CHECK_THROWS_AS(wb::Connection::adopt("nope", wb::Connection::Mode::duplex), std::invalid_argument);
}
