#include "wb/proc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "wb/error.hpp"

namespace wb {

std::optional<ProcStat> parse_proc_stat(pid_t pid, const std::string& line) {
    // The name is in parentheses and may itself contain spaces or ')': the last ')' ends it.
    const auto open_paren = line.find('(');
    const auto close_paren = line.rfind(')');
    if (open_paren == std::string::npos || close_paren == std::string::npos || close_paren < open_paren) {
        return std::nullopt;
    }
    ProcStat s;
    s.pid = pid;
    s.comm = line.substr(open_paren + 1, close_paren - open_paren - 1);
    // The fields after the name, split on spaces by hand and read with from_chars: no stream
    // object, no virtual calls, no allocation beyond the field list. (An istringstream here was
    // reported by UBSan's vptr check under RLIMIT_NOFILE 8, whose memory probe needs a pipe.)
    // Field 3 is the state, then 4 ppid, 5 pgrp, ... 52 the exit status (Linux 3.5 and later).
    std::vector<std::string_view> fields;
    const std::string_view rest = std::string_view(line).substr(close_paren + 1);
    for (std::size_t at = 0; at < rest.size();) {
        const auto start = rest.find_first_not_of(" \n", at);
        if (start == std::string_view::npos) break;
        const auto end = rest.find_first_of(" \n", start);
        fields.push_back(rest.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        at = end == std::string_view::npos ? rest.size() : end;
    }
    const auto number = [&](std::size_t field, auto& into) {  // field numbers as in proc(5)
        if (field - 3 >= fields.size()) return false;
        const std::string_view f = fields[field - 3];
        const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), into);
        return ec == std::errc{} && ptr == f.data() + f.size();
    };
    if (fields.size() < 3 || fields[0].size() != 1) return std::nullopt;
    s.state = fields[0][0];
    if (!number(4, s.ppid) || !number(5, s.pgrp)) return std::nullopt;
    if (!number(52, s.exit_status)) s.exit_status = 0;
    return s;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ESRCH) return std::nullopt;
        throw_errno("open " + path);
    }
    char buffer[1024];
    ssize_t n;
    do {
        n = ::read(fd, buffer, sizeof buffer);
    } while (n < 0 && errno == EINTR);
    const int read_errno = errno;
    ::close(fd);
    if (n < 0) {
        if (read_errno == ESRCH) return std::nullopt;  // reaped between open and read
        throw_errno("read " + path, read_errno);
    }
    return parse_proc_stat(pid, std::string(buffer, static_cast<std::size_t>(n)));
}

namespace {
std::vector<pid_t> listed_pids() {
    DIR* dir = ::opendir("/proc");
    if (dir == nullptr) throw_errno("opendir /proc");
    std::vector<pid_t> pids;
    errno = 0;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
            pids.push_back(static_cast<pid_t>(std::stol(name)));
        }
    }
    const int error = errno;
    ::closedir(dir);
    if (error != 0) throw_errno("readdir /proc", error);
    std::sort(pids.begin(), pids.end());
    return pids;
}
}  // namespace

std::vector<ProcStat> all_processes() {
    std::vector<ProcStat> out;
    for (const pid_t pid : listed_pids()) {
        if (auto s = read_proc_stat(pid)) out.push_back(std::move(*s));  // it may end meanwhile
    }
    return out;
}

std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    for (const auto& s : all_processes()) {
        if (s.ppid == parent) out.push_back(s.pid);
    }
    return out;
}

std::vector<pid_t> members_of_group(pid_t pgid) {
    std::vector<pid_t> out;
    for (const auto& s : all_processes()) {
        if (s.pgrp == pgid) out.push_back(s.pid);
    }
    return out;
}

}  // namespace wb
