// wb/proc.hpp - reading process state from /proc, the way ps does.
//
// What it is
//   The kernel describes every process in /proc/PID/stat (proc(5)): one line with its command
//   name, its state letter, its parent, its process group, and - for a zombie - the exit status it
//   keeps for its parent. read_proc_stat() parses that line; the other functions build on it.
//   Chapter 04 watches a child go through R, S, T and Z and draws the process tree with them; the
//   test harness finds processes a chapter left behind with children_of():
//
//       if (auto s = wb::read_proc_stat(pid)) {
//           if (s->state == 'Z') fmt::print("{} is a zombie, exit code {}\n", s->comm, s->exit_status >> 8);
//       } else {
//           // the process no longer exists (reaped)
//       }
//
// Guarantees
//   - A snapshot, never a promise: a process read as running may have exited by the time the
//     caller looks at the result. A process that disappears while it is being read (between
//     open and read, or while /proc is listed) is reported as absent, not as an error.
//   - The command name may contain spaces and ')' (a program may name itself anything with
//     prctl(PR_SET_NAME)): it runs from the first '(' to the LAST ')' of the line.
// Errors
//   Any other failure (no /proc mounted, EACCES) throws wb::SystemError naming the call and path.
// Limits
//   Linux only. exit_status (field 52) exists since Linux 3.5; before, it reads 0. Processes in
//   other pid namespaces are invisible, and the parent of a namespace's first process reads 0.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace wb {

// The fields of /proc/PID/stat the workbook uses (numbers as in proc(5)).
struct ProcStat {
    pid_t pid = 0;      // 1
    std::string comm;   // 2: the command name, at most 15 characters (prctl PR_SET_NAME sets it)
    char state = '?';   // 3: R running/runnable, S sleeping, D disk wait, T stopped, Z zombie, ...
    pid_t ppid = 0;     // 4: the parent
    pid_t pgrp = 0;     // 5: the process group
    int exit_status = 0;  // 52: a zombie's status in waitpid's encoding (code << 8, or the signal)
};

// Parses one /proc/PID/stat line (exposed for tests); std::nullopt when it is malformed.
[[nodiscard]] std::optional<ProcStat> parse_proc_stat(pid_t pid, const std::string& line);

// /proc/PID/stat now; std::nullopt when the process does not exist (any more).
[[nodiscard]] std::optional<ProcStat> read_proc_stat(pid_t pid);

// Every process /proc lists now, in pid order.
[[nodiscard]] std::vector<ProcStat> all_processes();

// The pids of the processes whose parent is `parent` (running or zombie), in pid order.
[[nodiscard]] std::vector<pid_t> children_of(pid_t parent);

// The pids of the members of process group `pgid`, in pid order.
[[nodiscard]] std::vector<pid_t> members_of_group(pid_t pgid);

}  // namespace wb
