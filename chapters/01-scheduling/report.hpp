// Chapter 01's report: how a schedule is shown. The lesson (main.cpp) and the single run
// (single_run.cpp) simulate; this file draws the result as a Gantt chart and a table of per-job
// numbers, compares runs side by side, echoes a single run's arguments and builds its
// --format json document.
//
// Every picture is an event whose fields carry the same content as data ("gantt", "result",
// "comparison", "args"), and each text is drawn from those fields only, so what is printed and
// what --format jsonl carries cannot disagree.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler.hpp"
#include "wb/output.hpp"

namespace ch01 {

// One line naming the policy and its parameters: "RR (slice 2)".
[[nodiscard]] std::string describe(const scheduling::Config& config);

// Simulates `jobs` under `config` and shows the result: the chart ("gantt"), then the table
// ("result"). Returns the schedule, for the numbers the lesson quotes.
scheduling::Schedule show(const std::vector<scheduling::Job>& jobs, const scheduling::Config& config);

// A small comparison table, one line per run: average response, turnaround and wait, and the
// context switches (the event "comparison").
struct Compared {
    std::string name;
    scheduling::Schedule schedule;
};
void compare(const std::vector<Compared>& runs);

// The arguments of a single run, echoed first as the OSTEP simulators do ("ARG quanta 1,2,4",
// one line each, in the order given), so a transcript says how it was made (the event "args").
void echo_arguments(const std::vector<std::pair<std::string, wb::Json>>& args);

// The --format json document of a schedule, keys in the order the chapter README documents:
// policy, jobs, avg, timeline, context_switches.
[[nodiscard]] nlohmann::ordered_json schedule_document(const scheduling::Schedule& s);

// The numbers of job `id` in a schedule (jobs are sorted by id, ids are 0..n-1).
[[nodiscard]] inline const scheduling::JobResult& job(const scheduling::Schedule& s, int id) {
    return s.jobs.at(static_cast<std::size_t>(id));
}

// Turnaround divided by length (the table's "ta/len"; 1.00 means the job never waited).
[[nodiscard]] inline double stretch(const scheduling::JobResult& r) {
    return static_cast<double>(r.turnaround) / static_cast<double>(r.job.length);
}

}  // namespace ch01
