// Unit tests of wb/atomic_file.hpp: contents replaced whole, no temporary file left, errors.
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
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
