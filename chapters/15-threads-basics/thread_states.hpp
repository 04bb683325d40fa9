// Chapter 15's props: the thread states of seed 002 (new, ready, running, blocked, ended) made
// visible on live threads, with what the kernel reports for each in /proc/self/task/TID/stat.
#pragma once

// Shows a thread created but not started, one computing (R), one blocked in a wait (S), and
// one that has ended; emits one "thread.state" event per state.
void show_thread_states();
