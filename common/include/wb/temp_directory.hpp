// wb/temp_directory.hpp - a private directory under $TMPDIR that is removed even on Ctrl-C.
//
// What it is
//   TempDirectory makes a fresh directory with mkdtemp() under $TMPDIR (default /tmp), for the
//   files a demo works on (chapter 10's db.json). It is removed, with the files in it, when
//     - the TempDirectory is destroyed in the process that created it (children that inherited a
//       copy through fork never remove it: they end with _exit and the pid is checked), or
//     - the program is interrupted (SIGINT/SIGTERM): the driver's signal handler, after ending
//       and reaping the children, removes every live TempDirectory with async-signal-safe calls
//       (open, getdents64, unlinkat, rmdir).
// Limits
//   The signal-time removal deletes regular files directly inside the directory, not
//   subdirectories (the workbook never makes any); the destructor removes everything. At most
//   16 directories are registered at once (creating a 17th throws std::length_error).
//   SIGKILL cannot be caught: a killed program leaves its directory behind.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace wb {

class TempDirectory {
public:
    // Creates $TMPDIR/<prefix>XXXXXX. Throws wb::SystemError if mkdtemp fails.
    explicit TempDirectory(const std::string& prefix = "wb-");
    TempDirectory(const TempDirectory&) = delete;
    TempDirectory& operator=(const TempDirectory&) = delete;
    ~TempDirectory();

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
    pid_t creator_;
    int slot_;
};

namespace detail {
// Called from the signal handler: removes every registered directory. Async-signal-safe.
void remove_temp_directories_from_signal() noexcept;
}  // namespace detail

}  // namespace wb
