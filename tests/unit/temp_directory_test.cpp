// Unit tests of wb/temp_directory.hpp: where the directory is made, when it goes, the sweep of
// directories left by SIGKILLed runs (and what it must never remove), and children stopped first
// when the directory goes because of an exception.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "wb/process.hpp"
#include "wb/temp_directory.hpp"

namespace fs = std::filesystem;

namespace {

// A private TMPDIR for one test, restored and removed afterwards.
class ScopedTmpdir {
public:
    ScopedTmpdir() {
        char tmpl[] = "/tmp/wb-unit-tmpdir-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path_ = tmpl;
        if (const char* old = std::getenv("TMPDIR")) old_ = old;
        ::setenv("TMPDIR", path_.c_str(), 1);
    }
    ScopedTmpdir(const ScopedTmpdir&) = delete;
    ScopedTmpdir& operator=(const ScopedTmpdir&) = delete;
    ~ScopedTmpdir() {
        if (old_.empty()) {
            ::unsetenv("TMPDIR");
        } else {
            ::setenv("TMPDIR", old_.c_str(), 1);
        }
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
    std::string old_;
};

// The pid of a process that has ended and been reaped: no process has it (until reused).
pid_t dead_pid() {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(0);
    REQUIRE(::waitpid(pid, nullptr, 0) == pid);
    return pid;
}

}  // namespace

TEST_CASE("the directory is <TMPDIR>/<prefix><pid>-XXXXXX and goes with the object", "[temp_directory]") {
    ScopedTmpdir tmp;
    fs::path made;
    {
        wb::TempDirectory dir("wb-unit-");
        made = dir.path();
        CHECK(made.parent_path() == tmp.path());
        CHECK(made.filename().string().rfind("wb-unit-" + std::to_string(::getpid()) + "-", 0) == 0);
        CHECK(fs::is_directory(made));
        std::FILE* f = std::fopen((made / "file").c_str(), "w");
        REQUIRE(f != nullptr);
        std::fclose(f);
    }
    CHECK_FALSE(fs::exists(made));
}

TEST_CASE("a directory left by a killed run is swept; one still in use never is", "[temp_directory]") {
    ScopedTmpdir tmp;
    const pid_t gone = dead_pid();
    // Left by a SIGKILLed run: creator gone, nobody holds its lock.
    const fs::path stale = tmp.path() / ("wb-unit-" + std::to_string(gone) + "-aaaaaa");
    fs::create_directory(stale);
    std::FILE* f = std::fopen((stale / "db.json").c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
    // Creator gone too, but a process (a surviving child, here we) still holds the lock.
    const fs::path held = tmp.path() / ("wb-unit-" + std::to_string(gone) + "-bbbbbb");
    fs::create_directory(held);
    const int held_fd = ::open(held.c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(held_fd >= 0);
    REQUIRE(::flock(held_fd, LOCK_EX) == 0);
    // Creator alive (this process).
    const fs::path alive = tmp.path() / ("wb-unit-" + std::to_string(::getpid()) + "-cccccc");
    fs::create_directory(alive);
    // Another prefix, and names that are not <pid>-...: not ours to judge.
    const fs::path other = tmp.path() / ("wb-other-" + std::to_string(gone) + "-dddddd");
    fs::create_directory(other);
    const fs::path odd = tmp.path() / "wb-unit-12x-eeeeee";
    fs::create_directory(odd);

    {
        wb::TempDirectory dir("wb-unit-");
        CHECK_FALSE(fs::exists(stale));
        CHECK(fs::exists(held));
        CHECK(fs::exists(alive));
        CHECK(fs::exists(other));
        CHECK(fs::exists(odd));
    }
    ::close(held_fd);
}

TEST_CASE("leaving through an exception stops the children before the files go", "[temp_directory]") {
    ScopedTmpdir tmp;
    std::optional<wb::Process> reader;
    try {
        wb::TempDirectory dir("wb-unit-");
        reader.emplace([] { ::pause(); });  // stands for a buyer still reading db.json
        reader->start();
        throw std::runtime_error("fork failed for the next buyer");
    } catch (const std::runtime_error&) {
    }
    REQUIRE(reader);
    CHECK(wb::live_children() == 0);  // terminated and reaped before the directory went
    CHECK(reader->exitcode() == -SIGTERM);
}
