// Unit tests of wb/atomic_file.hpp: contents replaced whole, no temporary file left, errors.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "../sync/process_test_support.hpp"
#include "wb/atomic_file.hpp"
#include "wb/error.hpp"
#include "wb/temp_directory.hpp"

namespace {
std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

int count_entries(const std::filesystem::path& dir) {
    int entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
    return entries;
}
}  // namespace

TEST_CASE("write_file_atomically creates and replaces, mode 0644, nothing else left", "[atomic_file]") {
    wb::TempDirectory dir("wb-atomic-");
    const auto path = dir.path() / "db.json";
    wb::write_file_atomically(path, "{\"tickets\": 1}\n");
    CHECK(slurp(path) == "{\"tickets\": 1}\n");
    wb::write_file_atomically(path, "{}");
    CHECK(slurp(path) == "{}");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    int entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 1);
}

TEST_CASE("write_file_atomically: errors name the call and leave the target alone", "[atomic_file][errors]") {
    wb::TempDirectory dir("wb-atomic-");
    CHECK_THROWS_AS(wb::write_file_atomically(dir.path() / "missing" / "db.json", "x"), wb::SystemError);
    try {
        wb::write_file_atomically(dir.path() / "missing" / "db.json", "x");
    } catch (const wb::SystemError& e) {
        CHECK(e.call().rfind("mkostemp", 0) == 0);
    }
    // The target is a directory: rename fails; the temporary file is removed.
    std::filesystem::create_directory(dir.path() / "taken");
    std::filesystem::create_directory(dir.path() / "taken" / "inside");
    CHECK_THROWS_AS(wb::write_file_atomically(dir.path() / "taken", "x"), wb::SystemError);
    int entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 1);
    CHECK_THROWS_AS(wb::write_file_atomically(dir.path() / "", "x"), std::invalid_argument);
}

TEST_CASE("a reader never sees a mix of the old and the new contents", "[atomic_file][process]") {
    wb::TempDirectory dir("wb-atomic-");
    const auto path = dir.path() / "data";
    const std::string a(200'000, 'a');
    const std::string b(100'000, 'b');
    wb::write_file_atomically(path, a);
    wb::test::Children children;
    const pid_t writer = children.fork([&] {
        for (int i = 0; i < 200; ++i) wb::write_file_atomically(path, i % 2 ? a : b);
        return 0;
    });
    int reads = 0;
    bool only_whole = true;
    for (;;) {
        const std::string got = slurp(path);
        ++reads;
        only_whole = only_whole && (got == a || got == b);
        if (const auto status = children.wait(writer, 0.0)) {
            CHECK(WEXITSTATUS(*status) == 0);
            break;
        }
    }
    INFO(reads << " reads");
    CHECK(only_whole);
}

TEST_CASE("the half-way hook sees half a temporary file and the old target", "[atomic_file]") {
    wb::TempDirectory dir("wb-atomic-");
    const auto path = dir.path() / "db.json";
    wb::write_file_atomically(path, "{\"count\": 1}");
    int calls = 0;
    wb::write_file_atomically(path, "{\"count\": 0}", [&](const std::filesystem::path& temp) {
        ++calls;
        CHECK(temp.parent_path() == dir.path());
        CHECK(temp.filename().string().rfind(".db.json.", 0) == 0);
        CHECK(slurp(temp) == "{\"coun");           // the first contents.size() / 2 bytes
        CHECK(slurp(path) == "{\"count\": 1}");  // readers still see the old file
    });
    CHECK(calls == 1);
    CHECK(slurp(path) == "{\"count\": 0}");
    CHECK(count_entries(dir.path()) == 1);
    // An empty hook is no hook.
    wb::write_file_atomically(path, "{}", wb::HalfWrittenHook{});
    CHECK(slurp(path) == "{}");
}

TEST_CASE("a hook that throws: temporary file removed, target untouched", "[atomic_file][errors]") {
    wb::TempDirectory dir("wb-atomic-");
    const auto path = dir.path() / "db.json";
    wb::write_file_atomically(path, "old");
    CHECK_THROWS_AS(wb::write_file_atomically(path, "new contents",
                                              [](const std::filesystem::path&) { throw std::runtime_error("stop"); }),
                    std::runtime_error);
    CHECK(slurp(path) == "old");
    CHECK(count_entries(dir.path()) == 1);
}

TEST_CASE("a writer killed mid-write leaves its temporary file and an intact target", "[atomic_file][process]") {
    wb::TempDirectory dir("wb-atomic-");
    const auto path = dir.path() / "db.json";
    wb::write_file_atomically(path, "{\"count\": 1}");
    wb::test::Children children;
    const pid_t writer = children.fork([&] {
        wb::write_file_atomically(path, "{\"count\": 0}", [](const std::filesystem::path&) { ::raise(SIGKILL); });
        return 0;
    });
    const auto status = children.wait(writer);
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGKILL);
    CHECK(slurp(path) == "{\"count\": 1}");
    int leftovers = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        if (e.path() == path) continue;
        ++leftovers;
        CHECK(e.path().filename().string().rfind(".db.json.", 0) == 0);
        CHECK(slurp(e.path()) == "{\"coun");
    }
    CHECK(leftovers == 1);
}
