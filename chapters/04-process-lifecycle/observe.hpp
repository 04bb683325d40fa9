// Chapter 04's props: how main observes its children from the outside - the time limits of its
// waits, the program file behind a process, the names ps shows, the state letters of /proc
// (read with wb/proc.hpp) and the drawing of the process tree.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "wb/output.hpp"
#include "wb/proc.hpp"
#include "wb/process.hpp"

namespace ch04 {

// --- time limits
// The chapter's waits end by synchronisation (an Event, a StartGate), never by luck; these limits
// are only safety nets for a machine that is far too slow. They are logical seconds, but never
// shorter than a few real seconds: at --time-scale 0.01, "10 s" would be 0.1 s of real time,
// which a loaded machine can need just to schedule a freshly forked child.
// --hold S: main keeps each observed state, the tree and the group for S logical seconds, so that
// a reader can look at them with ps in another terminal. 0 (the default) moves straight on.
extern double g_hold;
[[nodiscard]] double sync_timeout();    // main waiting for a child
[[nodiscard]] double child_patience();  // a child waiting for main
// With --hold: says what is held and how to look at it, then waits.
void hold(const std::string& what);

// --- what a process is
// The program file behind /proc/PID/exe: its path, and (device, inode) to tell whether two
// processes run the very same file.
struct ExeFile {
    std::string path;
    dev_t device = 0;
    ino_t inode = 0;
};
[[nodiscard]] ExeFile exe_of(const std::string& proc_entry);  // "self" or a pid
[[nodiscard]] std::string base_name(const std::string& path);
// Names the calling process in the kernel too (/proc/PID/comm, what ps and top show), so that a
// process tree read from /proc carries the names the workbook uses. At most 15 characters.
void name_in_kernel();
[[nodiscard]] std::string signal_name(int sig);  // "SIGKILL"

// --- states
// The five-state model's name for a Linux state letter.
[[nodiscard]] const std::map<char, std::string>& model_state();

struct Observation {
    bool reached = false;
    std::string seen;  // every letter seen while waiting, in order, repeats folded ("RS")
    wb::ProcStat last;
};
// Reads /proc/PID/stat until the process is in state `wanted`, at most sync_timeout().
[[nodiscard]] Observation watch_for(pid_t pid, char wanted);
// Emits "state.observed" for what watch_for found.
void report_state(const wb::Process& p, char wanted, const Observation& o, const std::string& what);

// Ends the SIGSTOP of a stopped child however the demo is left: a stopped process would not act
// on the SIGTERM that cleans up after an error.
struct ContinueOnExit {
    pid_t pid;
    ~ContinueOnExit();
};

// --- the tree
// Emits block "tree": main's subtree of the process tree as /proc links it (field 4, the parent).
void show_tree();

}  // namespace ch04
