// Unit tests of wb/sync_handle.hpp through its three users: Lock, Semaphore (and
// BoundedSemaphore) and Event hand over and adopt the same way, and refuse the same way.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "../sync/process_test_support.hpp"
#include "wb/event.hpp"
#include "wb/lock.hpp"
#include "wb/semaphore.hpp"

namespace {
bool close_on_exec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

// Forks a child that adopts `text` as a T and runs body(adopted); returns the exit code.
template <typename T, typename Body>
int in_child_adopting(const std::string& text, Body body) {
    wb::test::Children children;
    const pid_t pid = children.fork([&] {
        T adopted = T::adopt(text);
        return body(adopted);
    });
    const auto status = children.wait(pid);
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}
}  // namespace

TEST_CASE("hand_over makes the descriptor inheritable and returns it as text", "[sync_handle]") {
    wb::Event event;
    CHECK(close_on_exec(event.fd()));
    const std::string text = event.hand_over();
    CHECK(text == std::to_string(event.fd()));
    CHECK_FALSE(close_on_exec(event.fd()));
    event.set_inheritable(false);
    CHECK(close_on_exec(event.fd()));
}

TEST_CASE("Lock, Semaphore, BoundedSemaphore and Event adopted from hand_over() text", "[sync_handle][process]") {
    wb::Lock lock;
    CHECK(in_child_adopting<wb::Lock>(lock.hand_over(), [](wb::Lock& l) {
              const auto r = l.try_acquire();
              if (!r) return 1;
              l.release();
              return 0;
          }) == 0);

    wb::Semaphore semaphore(0);
    CHECK(in_child_adopting<wb::Semaphore>(semaphore.hand_over(), [](wb::Semaphore& s) {
              s.release();
              return 0;
          }) == 0);
    CHECK(semaphore.try_acquire());

    wb::BoundedSemaphore bounded(1);
    CHECK(in_child_adopting<wb::BoundedSemaphore>(bounded.hand_over(), [](wb::BoundedSemaphore& s) {
              return s.bound() == 1 ? 0 : 1;
          }) == 0);

    wb::Event event;
    CHECK(in_child_adopting<wb::Event>(event.hand_over(), [](wb::Event& e) {
              e.set();
              return 0;
          }) == 0);
    CHECK(event.is_set());
}

TEST_CASE("adopt refuses text that is not a descriptor, and memory of another kind", "[sync_handle][errors]") {
    CHECK_THROWS_AS(wb::Lock::adopt(std::string("seven")), std::invalid_argument);
    CHECK_THROWS_AS(wb::Event::adopt(std::string("")), std::invalid_argument);
    CHECK_THROWS_AS(wb::Semaphore::adopt(std::string("3x")), std::invalid_argument);
    CHECK_THROWS_AS(wb::BoundedSemaphore::adopt(std::string("-1")), std::invalid_argument);

    wb::Lock lock;
    const std::string text = lock.hand_over();
    // In a child (adopt takes the descriptor over): a Lock's memory is not an Event's.
    wb::test::Children children;
    const pid_t pid = children.fork([&] {
        try {
            (void)wb::Event::adopt(text);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what()) == "Event::adopt: fd " + text + " is not the memory of a wb::Event" ? 0 : 2;
        }
        return 1;
    });
    const auto status = children.wait(pid);
    REQUIRE(status.has_value());
    CHECK(WEXITSTATUS(*status) == 0);
}
