// wb/atomic_file.hpp - writing a file so that readers see the old contents or the new, never half.
//
// What it is
//   write_file_atomically(path, contents) writes the contents into a new temporary file in the
//   same directory, flushes it to disk (fsync), and renames it over `path`. rename(2) within one
//   file system replaces the name in one step: a reader that opens `path` at any moment gets the
//   complete old file or the complete new one. Meant for chapter 10's ticket database and the
//   --trace writer, so that a buyer killed mid-write cannot leave a truncated JSON file behind:
//
//       wb::write_file_atomically(dir / "db.json", db.dump(2));
//
// Guarantees
//   - `path` never holds partial contents. After a successful return it holds exactly `contents`,
//     with mode 0644 (the temporary file is made 0600 by mkostemp, then widened before rename).
//   - On any error the temporary file is removed and `path` is untouched.
//   - Concurrent writers: each rename is atomic, the last one wins; nobody sees a mix. (Deciding
//     WHAT to write from what was read is a read-modify-write and needs a lock: chapter 10.)
// Errors
//   A failed call throws wb::SystemError naming it ("mkostemp <dir>/.db.json.XXXXXX", "write",
//   "fsync", "rename ..."). A path without a file name: std::invalid_argument.
// Process death
//   A writer killed between creating and renaming the temporary file leaves it behind
//   (".<name>.XXXXXX" next to the target) - never a damaged target. Writers in a TempDirectory
//   (wb/temp_directory.hpp) have such leftovers removed with the directory.
// Half-way hook
//   The overload with `half_written` calls it once, after the first half of `contents`
//   (contents.size() / 2 bytes) is in the temporary file and before the rest is written, with
//   the temporary file's path. It is there to show what the guarantees above are about: at that
//   moment `path` still reads as the old file (chapter 10 reads it there), and a writer that is
//   stopped or killed inside the hook is a writer killed mid-write (chapter 10's killed buyer):
//
//       wb::write_file_atomically(db, "{\"count\": 0}", [&](const std::filesystem::path& temp) {
//           // temp holds the first 6 bytes, {"coun; db still reads as the old file
//       });
//
//   An exception thrown by the hook is handled like a failed write: the temporary file is
//   removed, `path` is untouched, and the exception propagates.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace wb {

void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

// The same, calling `half_written(temporary file)` half-way through the write (see above).
using HalfWrittenHook = std::function<void(const std::filesystem::path& temporary_file)>;
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           const HalfWrittenHook& half_written);

}  // namespace wb
