// Chapter 01's single run: one simulation of the user's own jobs, OSTEP-style. It is the
// chapter's mode (wb::Chapter::mode): with --policy it runs instead of the demos, echoes its
// arguments (ARG policy rr ...) and prints the chart and the table, or, with --format json, one
// JSON document and nothing else.
#pragma once

#include <optional>
#include <vector>

#include "wb/chapter.hpp"

namespace ch01 {

// The options of a single run, in --help order: --policy, --jobs, --count, --quantum, --levels,
// --quanta, --preempted-to, --io-time, --boost, --quiz, --answers. Each only records its value (a malformed value is a usage error
// naming its option); single_run() checks how they combine, once they are all known.
[[nodiscard]] std::vector<wb::Option> single_run_options();

// Without --policy: std::nullopt (the demos run), or exit status 2 if a single-run option or
// --format json was given, which would otherwise be silently ignored. With --policy: the
// simulation, exit status 0 (2 for options that contradict each other; an option that does not
// apply to the policy is only warned about). With --quiz (with or without --policy): a workload
// drawn from --seed and the questions about it, and with --answers the answers (a single run's
// chart and table).
[[nodiscard]] std::optional<int> single_run();

}  // namespace ch01
