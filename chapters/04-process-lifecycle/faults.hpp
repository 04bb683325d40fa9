// Chapter 04's props for the fatal endings: a child that faults on purpose, quietly.
#pragma once

namespace ch04 {

// Before faulting on purpose: no core file, and the signal's default action (end the process).
// A sanitizer build installs its own SIGSEGV/SIGFPE handlers to print a report; putting the
// default action back makes the child die of the signal exactly as in a normal build.
void die_quietly_of(int sig);

// 1/0 with ints: a real division instruction, which the CPU refuses (SIGFPE on x86; on ARM, which
// does not trap, the signal is raised instead). Returns only if it did not fault.
int divide_by_zero(int numerator);

// A store to address 0, which no process has mapped: the CPU faults, the kernel sends SIGSEGV.
void write_to_address_zero();

}  // namespace ch04
