// Unit tests of wb::SharedMemory and wb::Shared<T> (wb/shared_memory.hpp), of handing the
// primitives to a spawned (re-executed) child by descriptor, and of the cleanup promise: no
// /dev/shm entry and no descriptor is left behind.
#include "wb/shared_memory.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "process_test_support.hpp"
#include "wb/error.hpp"
#include "wb/event.hpp"
#include "wb/lock.hpp"
#include "wb/semaphore.hpp"

extern char** environ;

using wb::test::Children;

namespace {

// A pointer-free struct of the kind chapters share.
struct Tally {
    std::atomic<int> visits{0};
    long total = 0;
    std::array<int, 16> slots{};
    std::uintptr_t creator_address = 0;
    std::uintptr_t adopter_address = 0;
};

// Counts its destructions in another shared object. (It holds a pointer into a MAP_SHARED
// mapping, which is valid in forked children because they inherit the same addresses; it would
// not be after spawn - see the header's requirements.)
struct Counted {
    explicit Counted(std::atomic<int>* destructions) : destructions_(destructions) {}
    ~Counted() { destructions_->fetch_add(1); }
    Counted(const Counted&) = delete;
    Counted& operator=(const Counted&) = delete;
    std::atomic<int>* destructions_;
};

std::string fd_target(int fd) {
    std::array<char, 256> buffer{};
    const auto length = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buffer.data(), buffer.size() - 1);
    return length > 0 ? std::string(buffer.data(), static_cast<std::size_t>(length)) : std::string();
}

}  // namespace

TEST_CASE("SharedMemory: zero-filled, sized, written by a forked child, seen by the parent", "[shared-memory]") {
    constexpr std::size_t size = 10'000;  // not a multiple of the page size
    wb::SharedMemory memory(size, "wb-test");
    REQUIRE(memory.size() == size);
    REQUIRE(memory.data() != nullptr);
    auto* bytes = static_cast<unsigned char*>(memory.data());
    bool zero = true;
    for (std::size_t i = 0; i < size; ++i) zero = zero && bytes[i] == 0;
    CHECK(zero);
    CHECK(fd_target(memory.fd()).rfind("/memfd:wb-test", 0) == 0);  // a memfd, no file anywhere

    Children children;
    const pid_t child = children.fork([&] {
        for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<unsigned char>(i % 251);
        return 0;
    });
    REQUIRE(wb::test::exited_with(children.wait(child), 0));
    bool pattern = true;
    for (std::size_t i = 0; i < size; ++i) pattern = pattern && bytes[i] == i % 251;
    CHECK(pattern);

    // A second mapping of the same file (what a spawned child does) sees the same bytes.
    wb::SharedMemory view = wb::SharedMemory::adopt(wb::check(::dup(memory.fd()), "dup"));
    CHECK(view.size() == size);
    CHECK(view.data() != memory.data());
    CHECK(std::memcmp(view.data(), memory.data(), size) == 0);
    static_cast<unsigned char*>(view.data())[0] = 77;
    CHECK(bytes[0] == 77);

    // The size is sealed: nobody can shrink the file under the others' mappings.
    CHECK(::ftruncate(memory.fd(), 0) == -1);
    CHECK(errno == EPERM);

    // Moving leaves an empty object behind.
    wb::SharedMemory moved = std::move(memory);
    CHECK(memory.data() == nullptr);
    CHECK(memory.fd() == -1);
    CHECK(moved.size() == size);

    CHECK_THROWS_AS(wb::SharedMemory(0), std::invalid_argument);
}

TEST_CASE("SharedMemory: inheritable descriptors", "[shared-memory]") {
    wb::SharedMemory memory(64);
    auto cloexec = [&] { return (wb::check(::fcntl(memory.fd(), F_GETFD), "fcntl") & FD_CLOEXEC) != 0; };
    CHECK(cloexec());  // by default, an exec'd program does not inherit it
    memory.set_inheritable(true);
    CHECK_FALSE(cloexec());
    memory.set_inheritable(false);
    CHECK(cloexec());
}

TEST_CASE("Shared<T> with several types: constructed once, shared after fork", "[shared-memory]") {
    wb::Shared<long> number;  // value-initialised
    CHECK(*number == 0);
    wb::Shared<long> answer(42L);
    CHECK(*answer == 42);
    wb::Shared<Tally> tally;
    CHECK(tally->visits.load() == 0);
    CHECK(tally->total == 0);
    wb::Shared<std::atomic<int>> atomic_counter(5);
    CHECK(atomic_counter->load() == 5);
    auto named = wb::Shared<std::array<int, 4>>::create_named("wb-test-array", std::array<int, 4>{1, 2, 3, 4});
    CHECK((*named)[3] == 4);
    CHECK(fd_target(named.fd()).rfind("/memfd:wb-test-array", 0) == 0);
    CHECK(tally.is_creator());

    Children children;
    for (int p = 0; p < 4; ++p) {
        children.fork([&, p] {
            tally->visits.fetch_add(1);
            tally->slots[static_cast<std::size_t>(p)] = p + 1;  // each child its own slot
            atomic_counter->fetch_add(10);
            (*named)[0] = 100;
            return tally.is_creator() ? 1 : 0;  // a forked copy is not the creator
        });
    }
    REQUIRE(children.wait_all_failures() == 0);
    CHECK(tally->visits.load() == 4);
    CHECK(tally->slots[0] + tally->slots[1] + tally->slots[2] + tally->slots[3] == 10);
    CHECK(atomic_counter->load() == 45);
    CHECK((*named)[0] == 100);
}

TEST_CASE("Shared<T>: only the creating process destroys the object, once", "[shared-memory]") {
    wb::Shared<std::atomic<int>> destructions;
    {
        wb::Shared<Counted> counted(destructions.get());
        Children children;
        const pid_t child = children.fork([&] {
            { wb::Shared<Counted> taken = std::move(counted); }  // the child's copy: only unmaps
            return destructions->load() == 0 ? 0 : 1;
        });
        REQUIRE(wb::test::exited_with(children.wait(child), 0));
        CHECK(destructions->load() == 0);

        // An adopted view never destroys either.
        {
            auto view = wb::Shared<Counted>::adopt(wb::check(::dup(counted.fd()), "dup"));
            CHECK_FALSE(view.is_creator());
            CHECK(view.get() != counted.get());
            CHECK(view->destructions_ == destructions.get());
        }
        CHECK(destructions->load() == 0);

        // Moving within the creator moves the duty.
        wb::Shared<Counted> moved = std::move(counted);
        CHECK(counted.get() == nullptr);
        CHECK_FALSE(counted.is_creator());
        CHECK(moved.is_creator());
    }
    CHECK(destructions->load() == 1);

    // A file too small for T is refused.
    wb::SharedMemory small(1);
    CHECK_THROWS_AS(wb::Shared<Tally>::adopt(wb::check(::dup(small.fd()), "dup")), std::invalid_argument);
}

TEST_CASE("adopt() refuses the memory of another kind of primitive", "[shared-memory]") {
    wb::Event event;
    wb::Lock lock;
    wb::Semaphore semaphore(1);
    CHECK_THROWS_AS(wb::Lock::adopt(wb::check(::dup(event.fd()), "dup")), std::invalid_argument);
    CHECK_THROWS_AS(wb::Event::adopt(wb::check(::dup(lock.fd()), "dup")), std::invalid_argument);
    CHECK_THROWS_AS(wb::Semaphore::adopt(wb::check(::dup(lock.fd()), "dup")), std::invalid_argument);
    CHECK_THROWS_AS(wb::BoundedSemaphore::adopt(wb::check(::dup(semaphore.fd()), "dup")), std::invalid_argument);
    // The right kind works, and is the same object.
    wb::Semaphore view = wb::Semaphore::adopt(wb::check(::dup(semaphore.fd()), "dup"));
    view.acquire();
    CHECK(semaphore.value() == 0);
    view.release();
}

// Run only when named: the body of the spawned child of the next test (a re-execution of this
// test program, as posix_spawn does for a chapter).
TEST_CASE("spawned child: adopt the descriptors", "[.spawned]") {
    const char* tally_fd = std::getenv("WB_TEST_TALLY_FD");
    const char* lock_fd = std::getenv("WB_TEST_LOCK_FD");
    const char* event_fd = std::getenv("WB_TEST_EVENT_FD");
    const char* semaphore_fd = std::getenv("WB_TEST_SEMAPHORE_FD");
    REQUIRE(tally_fd != nullptr);
    REQUIRE(lock_fd != nullptr);
    REQUIRE(event_fd != nullptr);
    REQUIRE(semaphore_fd != nullptr);
    auto tally = wb::Shared<Tally>::adopt(std::stoi(tally_fd));
    wb::Lock lock = wb::Lock::adopt(std::stoi(lock_fd));
    wb::Event go = wb::Event::adopt(std::stoi(event_fd));
    wb::BoundedSemaphore done = wb::BoundedSemaphore::adopt(std::stoi(semaphore_fd));
    tally->adopter_address = reinterpret_cast<std::uintptr_t>(tally.get());
    REQUIRE(go.wait(1e6));
    for (int i = 0; i < 1000; ++i) {
        auto guard = lock.hold();
        tally->total += 1;
    }
    tally->visits.fetch_add(1);
    done.release();
}

TEST_CASE("a posix_spawn'ed re-execution adopts shared memory, Lock, Event and Semaphore by descriptor",
          "[shared-memory][spawn]") {
    wb::Shared<Tally> tally;
    tally->creator_address = reinterpret_cast<std::uintptr_t>(tally.get());
    wb::Lock lock;
    wb::Event go;
    wb::BoundedSemaphore done(1);
    done.acquire();  // released by the child when it is done
    tally.set_inheritable(true);
    lock.set_inheritable(true);
    go.set_inheritable(true);
    done.set_inheritable(true);

    std::vector<std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) environment.emplace_back(*entry);
    environment.push_back("WB_TEST_TALLY_FD=" + std::to_string(tally.fd()));
    environment.push_back("WB_TEST_LOCK_FD=" + std::to_string(lock.fd()));
    environment.push_back("WB_TEST_EVENT_FD=" + std::to_string(go.fd()));
    environment.push_back("WB_TEST_SEMAPHORE_FD=" + std::to_string(done.fd()));
    std::vector<char*> envp;
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::string exe = "/proc/self/exe";
    std::string name = "spawned child: adopt the descriptors";
    std::string out_flag = "--out";
    std::string out_file = "/dev/null";
    std::vector<char*> argv{exe.data(), name.data(), out_flag.data(), out_file.data(), nullptr};

    pid_t pid = 0;
    wb::check_pthread(::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), envp.data()), "posix_spawn");
    tally.set_inheritable(false);
    lock.set_inheritable(false);
    go.set_inheritable(false);
    done.set_inheritable(false);

    go.set();
    for (int i = 0; i < 1000; ++i) {
        auto guard = lock.hold();
        tally->total += 1;
    }
    const bool child_done = done.acquire(2000.0);  // 20 s of real time at scale 0.01
    int status = 0;
    if (!child_done) ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    REQUIRE(child_done);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // Catch2's exit code: the number of failed assertions
    CHECK(tally->visits.load() == 1);
    CHECK(tally->total == 2000);
    INFO("creator mapped it at " << tally->creator_address << ", the spawned child at " << tally->adopter_address);
    CHECK(tally->adopter_address != 0);
}

TEST_CASE("nothing is left behind: no /dev/shm entry, no descriptor", "[shared-memory][cleanup]") {
    // Compares listings before and after. (Another program creating /dev/shm entries at the same
    // moment would disturb the first check; nothing in the workbook does.)
    const auto shm_before = wb::test::directory_entries("/dev/shm");
    const auto fds_before = wb::test::directory_entries("/proc/self/fd");
    {
        wb::SharedMemory raw(100);
        wb::Shared<Tally> tally;
        wb::Lock lock;
        wb::Lock plain(wb::Robustness::not_robust);
        wb::Semaphore semaphore(2);
        wb::BoundedSemaphore bounded(2);
        wb::Event event;
        Children children;
        for (int p = 0; p < 3; ++p) {
            children.fork([&] {
                {
                    auto guard = lock.hold();
                    tally->total += 1;
                }
                (void)plain.acquire();
                plain.release();
                auto permit = semaphore.hold();
                bounded.acquire();
                bounded.release();
                return event.wait(1e6) ? 0 : 1;
            });
        }
        event.set();
        REQUIRE(children.wait_all_failures() == 0);
        CHECK(tally->total == 3);
        CHECK(wb::test::directory_entries("/dev/shm") == shm_before);  // also while they exist
    }
    CHECK(wb::test::directory_entries("/dev/shm") == shm_before);
    CHECK(wb::test::directory_entries("/proc/self/fd") == fds_before);
}
