// wb/temp_directory.hpp - a private directory under $TMPDIR that is removed even on Ctrl-C.
//
// What it is
//   TempDirectory makes a fresh directory $TMPDIR/<prefix><pid>-XXXXXX with mkdtemp() (TMPDIR
//   defaults to /tmp), for the files a demo works on (chapter 10's db.json). It is removed, with
//   the files in it, when
//     - the TempDirectory is destroyed in the process that created it (children that inherited a
//       copy through fork never remove it: they end with _exit and the pid is checked). When it is
//       destroyed by an exception unwinding the stack, the creator's children are terminated and
//       reaped first (wb::terminate_children), since they may be using the files: a child never
//       reports a file that vanished under it instead of the real error;
//     - the program is interrupted (SIGINT/SIGTERM): the driver's signal handler, after ending
//       and reaping the children, removes every live TempDirectory with async-signal-safe calls
//       (open, getdents64, unlinkat, rmdir);
//     - the program was SIGKILLed, which nothing can catch: the next TempDirectory made with the
//       same prefix removes the leftover. A directory counts as left over when its creator's pid
//       no longer exists *and* no process holds the flock() its creator took on it (the creator
//       and its forked children hold it through an inherited descriptor while they run), so a
//       directory in use is never removed, even when a pid was reused.
// Limits
//   The signal-time removal deletes regular files directly inside the directory, not
//   subdirectories (the workbook never makes any); the destructor removes everything. At most
//   16 directories are registered at once (creating a 17th throws std::length_error). Each holds
//   one descriptor (the lock) for its lifetime.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace wb {

class TempDirectory {
public:
    // Creates $TMPDIR/<prefix><pid>-XXXXXX (after sweeping leftovers of killed runs). Throws
    // wb::SystemError if mkdtemp, open or flock fails.
    explicit TempDirectory(const std::string& prefix = "wb-");
    TempDirectory(const TempDirectory&) = delete;
    TempDirectory& operator=(const TempDirectory&) = delete;
    ~TempDirectory();

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
    pid_t creator_;
    int uncaught_at_creation_;
    int lock_fd_ = -1;
    int slot_ = -1;
};


}  // namespace wb
