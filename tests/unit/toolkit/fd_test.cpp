// Unit tests of wb/fd.hpp: UniqueFd, Pipe and the read/write helpers.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "../sync/process_test_support.hpp"
#include "wb/error.hpp"
#include "wb/fd.hpp"

namespace {
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
bool close_on_exec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
}  // namespace

TEST_CASE("UniqueFd closes on destruction and reset, hands over on move and release", "[fd]") {
    int number = -1;
    {
        wb::Pipe pipe;
        number = pipe.read_end.get();
        REQUIRE(is_open(number));
        wb::UniqueFd moved(std::move(pipe.read_end));
        CHECK(pipe.read_end.get() == -1);
        CHECK_FALSE(static_cast<bool>(pipe.read_end));
        CHECK(moved.get() == number);
        wb::UniqueFd assigned;
        assigned = std::move(moved);
        CHECK(assigned.get() == number);
        CHECK(is_open(number));
    }
    CHECK_FALSE(is_open(number));

    wb::Pipe pipe;
    const int w = pipe.write_end.release();
    CHECK(pipe.write_end.get() == -1);
    CHECK(is_open(w));
    ::close(w);
    pipe.read_end.reset();
    pipe.read_end.reset();  // twice: nothing happens
    CHECK(pipe.read_end.get() == -1);
}

TEST_CASE("Pipe: close-on-exec ends, bytes come out in order, end of file when the writers close", "[fd]") {
    wb::Pipe pipe;
    CHECK(close_on_exec(pipe.read_end.get()));
    CHECK(close_on_exec(pipe.write_end.get()));
    pipe.read_end.set_inheritable(true);
    CHECK_FALSE(close_on_exec(pipe.read_end.get()));
    pipe.read_end.set_inheritable(false);
    CHECK(close_on_exec(pipe.read_end.get()));

    wb::write_all(pipe.write_end.get(), "hello ");
    wb::write_all(pipe.write_end.get(), "world");
    pipe.write_end.reset();
    CHECK(wb::read_all(pipe.read_end.get()) == "hello world");
    CHECK(wb::read_some(pipe.read_end.get()) == std::string());  // end of file
}

TEST_CASE("read_some: nothing yet on a non-blocking pipe is std::nullopt, not an error", "[fd]") {
    wb::Pipe pipe;
    pipe.read_end.set_non_blocking();
    CHECK_FALSE(wb::read_some(pipe.read_end.get()).has_value());
    wb::write_all(pipe.write_end.get(), "abc");
    CHECK(wb::read_some(pipe.read_end.get(), 2) == std::string("ab"));
    CHECK(wb::read_some(pipe.read_end.get(), 2) == std::string("c"));
    pipe.read_end.set_non_blocking(false);
    CHECK((::fcntl(pipe.read_end.get(), F_GETFL) & O_NONBLOCK) == 0);
}

TEST_CASE("write_all and read_all across processes move more than a pipe holds", "[fd][process]") {
    wb::test::Children children;
    wb::Pipe pipe;
    const std::string big(1 << 20, 'x');  // 1 MiB: the writer blocks until the reader drains
    const pid_t writer = children.fork([&] {
        pipe.read_end.reset();
        wb::write_all(pipe.write_end.get(), big);
        return 0;
    });
    pipe.write_end.reset();  // only the child writes: its exit is end of file
    const std::string got = wb::read_all(pipe.read_end.get());
    CHECK(got.size() == big.size());
    CHECK(got == big);
    const auto status = children.wait(writer);
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("failed calls throw SystemError naming the call", "[fd][errors]") {
    wb::UniqueFd closed;
    CHECK_THROWS_AS(wb::read_all(closed.get(), "read (reply)"), wb::SystemError);
    try {
        (void)wb::read_some(-1, 16, "read (reply)");
        FAIL("no exception");
    } catch (const wb::SystemError& e) {
        CHECK(e.call() == "read (reply)");
        CHECK(e.code().value() == EBADF);
    }
    CHECK_THROWS_AS(wb::write_all(-1, "x"), wb::SystemError);
    CHECK_THROWS_AS(closed.set_non_blocking(), wb::SystemError);
    // A writer whose readers are gone, with SIGPIPE ignored: EPIPE as an exception.
    wb::Pipe pipe;
    pipe.read_end.reset();
    struct sigaction ignore {}, old {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old);
    CHECK_THROWS_AS(wb::write_all(pipe.write_end.get(), "x"), wb::SystemError);
    ::sigaction(SIGPIPE, &old, nullptr);
}
