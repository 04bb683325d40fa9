#include "wb/atomic_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "wb/error.hpp"
#include "wb/fd.hpp"

namespace wb {

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
    write_file_atomically(path, contents, HalfWrittenHook{});
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           const HalfWrittenHook& half_written) {
    if (!path.has_filename()) {
        throw std::invalid_argument("write_file_atomically: '" + path.string() + "' names no file");
    }
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::string temp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
    UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd) throw_errno("mkostemp " + temp);
    try {
        const std::size_t half = contents.size() / 2;
        write_all(fd.get(), contents.substr(0, half), "write");
        if (half_written) half_written(std::filesystem::path(temp));
        write_all(fd.get(), contents.substr(half), "write");
        check(::fchmod(fd.get(), 0644), "fchmod");
        check(::fsync(fd.get()), "fsync");
        // close() can report a delayed write error (NFS): check it instead of letting reset() drop it.
        check(::close(fd.release()), "close");
        if (::rename(temp.c_str(), path.c_str()) != 0) throw_errno("rename " + temp + " -> " + path.string());
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
}

}  // namespace wb
