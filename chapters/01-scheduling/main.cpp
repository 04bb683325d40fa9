// Chapter 01 - Scheduling.
//
// Seeds: 000 §1.3 (进程的调度算法) and 004 §二 (进程调度).
// The seeds open with theory: how the operating system decides which ready process gets the CPU,
// and what four classic policies - first come first served, shortest job first, round robin and
// the multi-level feedback queue - are good and bad at. They have no code, and no user program can
// drive the kernel's scheduler, so this chapter is a simulator (scheduler.hpp, in the spirit of
// the OSTEP homework simulators): jobs of known length arrive, a policy hands out the one CPU, and
// every claim of the seeds becomes a Gantt chart and a table of numbers you can check.
//
// Run with no options, it plays the demos below in order. With --policy it runs one simulation of
// your own, OSTEP-style: it echoes its arguments (ARG policy rr ...), then prints the chart and
// the table, or, with --format json, one JSON document and nothing else.
#include <algorithm>
#include <functional>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "scheduler.hpp"
#include "wb/chapter.hpp"
#include "wb/output.hpp"
#include "wb/random.hpp"

namespace {

using scheduling::Config;
using scheduling::Job;
using scheduling::Policy;
using scheduling::PreemptedTo;
using scheduling::Schedule;
using scheduling::Time;

// =============================================================================================
// Drawing a schedule: a Gantt chart and a table.
// =============================================================================================

// One line naming the policy and its parameters: "RR (slice 2)".
std::string describe(const Config& c) {
    switch (c.policy) {
    case Policy::fifo: return "FIFO (first come, first served)";
    case Policy::sjf: return "SJF (shortest job first, non-preemptive)";
    case Policy::rr: return fmt::format("RR (slice {})", c.quantum);
    case Policy::mlfq: {
        std::string quanta;
        for (Time q : c.quanta) quanta += (quanta.empty() ? "" : ",") + std::to_string(q);
        return fmt::format("MLFQ (slices {}, a preempted job goes to the {})", quanta,
                           scheduling::to_string(c.preempted_to));
    }
    }
    return "?";
}

// The schedule as data: the JSON document of --format json, and the fields of the "result" event.
// J is nlohmann::ordered_json for the document (keys in the order the chapter README documents) or
// wb::Json for events.
template <typename J>
J schedule_data(const Schedule& s) {
    J jobs = J::array();
    for (const auto& r : s.jobs) {
        J row;
        row["id"] = r.job.id;
        row["arrival"] = r.job.arrival;
        row["length"] = r.job.length;
        row["first_run"] = r.first_run;
        row["finish"] = r.finish;
        row["response"] = r.response;
        row["turnaround"] = r.turnaround;
        row["wait"] = r.wait;
        jobs.push_back(std::move(row));
    }
    J timeline = J::array();
    for (const auto& run : s.timeline) {
        J row;
        row["job"] = run.job;
        row["start"] = run.start;
        row["end"] = run.end;
        row["level"] = run.level;
        timeline.push_back(std::move(row));
    }
    J doc;
    doc["policy"] = std::string(scheduling::to_string(s.policy));
    doc["jobs"] = std::move(jobs);
    J avg;
    avg["response"] = s.avg.response;
    avg["turnaround"] = s.avg.turnaround;
    avg["wait"] = s.avg.wait;
    doc["avg"] = std::move(avg);
    doc["timeline"] = std::move(timeline);
    doc["context_switches"] = s.context_switches;
    return doc;
}

// The parameters of a run, as event fields.
wb::Json config_data(const Config& c) {
    wb::Json f = {{"policy", std::string(scheduling::to_string(c.policy))}};
    if (c.policy == Policy::rr) f["quantum"] = c.quantum;
    if (c.policy == Policy::mlfq) {
        f["quanta"] = c.quanta;
        f["preempted_to"] = std::string(scheduling::to_string(c.preempted_to));
    }
    return f;
}

// One character per MLFQ level in the chart: 0-9, then a-f (there are at most 16 levels).
char level_mark(int level) { return "0123456789abcdef"[std::clamp(level, 0, 15)]; }

// The Gantt chart: one row per job, one column per time unit (or per k units when the schedule
// is longer than 100). '#' (or the MLFQ level) while the job runs, '.' while it is ready and
// waiting, blank before it arrives and after it finishes.
//
//     time    0    5    10
//             |----|----|
//     job 0   ########
//     job 1   ........#
//
// Drawn from the fields of the "gantt" event only, so the chart shows what the JSON carries: the
// title from `label` and `jobs`, the arrivals from `jobs` (ARRIVAL:LENGTH, job i is the i-th), the
// bars from `timeline` (a job finishes at the end of its last run).
std::string gantt_chart(const wb::Json& fields) {
    const auto jobs = scheduling::parse_jobs(fields.at("jobs").get<std::string>());
    const wb::Json& timeline = fields.at("timeline");
    const std::string title =
        fmt::format("{} - jobs {}", fields.at("label").get<std::string>(), fields.at("jobs").get<std::string>());
    std::vector<Time> finish(jobs.size(), 0);
    for (const auto& run : timeline) {
        auto& f = finish.at(run.at("job").get<std::size_t>());
        f = std::max(f, run.at("end").get<Time>());
    }
    const Time end = timeline.back().at("end").get<Time>();
    const Time k = std::max<Time>(1, (end + 99) / 100);  // time units per column
    const auto columns = static_cast<std::size_t>((end + k - 1) / k);
    const auto column_of = [k](Time t) { return static_cast<std::size_t>(t / k); };
    const bool levels = fields.at("policy").get<std::string>() == scheduling::to_string(Policy::mlfq);

    std::size_t label_width = 0;
    for (const auto& job : jobs) label_width = std::max(label_width, fmt::format("job {}", job.id).size());
    label_width += 3;

    // The time axis: a label every 5 columns (10 when wide), and a ruler under it.
    const std::size_t step = columns <= 60 ? 5 : 10;
    std::string labels = fmt::format("{:<{}}", "time", label_width);
    std::string ruler(label_width, ' ');
    for (std::size_t c = 0; c < columns; ++c) {
        ruler += c % step == 0 ? '|' : '-';
        if (c % step == 0) {
            const std::size_t at = label_width + c;
            labels.resize(std::max(labels.size(), at), ' ');
            if (labels.size() == at) labels += std::to_string(static_cast<Time>(c) * k);
        }
    }

    std::string out = title + "\n" + labels + "\n" + ruler + "\n";
    for (const auto& job : jobs) {
        const Time job_finish = finish.at(static_cast<std::size_t>(job.id));
        std::string row(columns, ' ');
        // Ready from its arrival to its finish...
        for (std::size_t c = column_of(job.arrival); c < columns && static_cast<Time>(c) * k < job_finish; ++c) {
            row[c] = '.';
        }
        // ...except where it runs.
        for (const auto& run : timeline) {
            if (run.at("job").get<int>() != job.id) continue;
            const Time run_end = run.at("end").get<Time>();
            for (std::size_t c = column_of(run.at("start").get<Time>());
                 c < columns && static_cast<Time>(c) * k < run_end; ++c) {
                row[c] = levels ? level_mark(run.at("level").get<int>()) : '#';
            }
        }
        row.erase(row.find_last_not_of(' ') + 1);
        out += fmt::format("{:<{}}{}\n", fmt::format("job {}", job.id), label_width, row);
    }
    out += levels ? "0, 1, 2...: running at that level (0 = the top queue)   .: ready, waiting"
                  : "#: running   .: ready, waiting";
    if (k > 1) out += fmt::format("   (1 column = {} time units)", k);
    return out;
}

// The table of per-job numbers and their averages. "ta/len" is turnaround divided by length
// (what Chinese textbooks call 带权周转时间, weighted turnaround): 1.00 means the job never waited;
// it is the fairest way to see whom a policy favours.
//
// Drawn from the fields of the "result" event only (the --format json document): every number in
// the table is one of its numbers, or ta/len computed from them.
std::string result_table(const wb::Json& fields) {
    const std::vector<std::string> header = {"job", "arrival", "length", "first run", "finish",
                                             "response", "turnaround", "wait", "ta/len"};
    std::vector<std::vector<std::string>> rows;
    double stretch_sum = 0;
    const auto number = [](const wb::Json& row, const char* key) { return std::to_string(row.at(key).get<Time>()); };
    for (const auto& r : fields.at("jobs")) {
        const double ratio = static_cast<double>(r.at("turnaround").get<Time>()) /
                             static_cast<double>(r.at("length").get<Time>());
        stretch_sum += ratio;
        rows.push_back({number(r, "id"), number(r, "arrival"), number(r, "length"), number(r, "first_run"),
                        number(r, "finish"), number(r, "response"), number(r, "turnaround"), number(r, "wait"),
                        fmt::format("{:.2f}", ratio)});
    }
    const auto n = static_cast<double>(fields.at("jobs").size());
    const wb::Json& avg = fields.at("avg");
    rows.push_back({"average", "", "", "", "", fmt::format("{:.2f}", avg.at("response").get<double>()),
                    fmt::format("{:.2f}", avg.at("turnaround").get<double>()),
                    fmt::format("{:.2f}", avg.at("wait").get<double>()), fmt::format("{:.2f}", stretch_sum / n)});

    // Right-aligned columns as wide as their widest cell; the first column left-aligned.
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
    }
    const auto line = [&](const std::vector<std::string>& cells) {
        std::string text = fmt::format("{:<{}}", cells[0], width[0]);
        for (std::size_t c = 1; c < cells.size(); ++c) text += fmt::format("  {:>{}}", cells[c], width[c]);
        return text + "\n";
    };
    std::string out = line(header);
    for (const auto& row : rows) out += line(row);
    out += fmt::format("context switches: {}", fields.at("context_switches").get<Time>());
    return out;
}

// Simulates `jobs` under `config` and shows the result: the chart, then the table. Both are
// events ("gantt", "result") whose fields carry the same content as data.
Schedule show(const std::vector<Job>& jobs, const Config& config) {
    const Schedule s = scheduling::simulate(jobs, config);
    const std::string label = describe(config);
    const std::string job_list = scheduling::format_jobs(jobs);

    wb::Json chart = config_data(config);
    chart["label"] = label;
    chart["jobs"] = job_list;
    chart["timeline"] = schedule_data<wb::Json>(s)["timeline"];
    std::string chart_text = gantt_chart(chart);
    wb::emit_block("gantt", std::move(chart), chart_text);

    wb::Json result = schedule_data<wb::Json>(s);
    result.update(config_data(config));
    result["label"] = label;
    std::string table_text = result_table(result);
    wb::emit_block("result", std::move(result), table_text);
    return s;
}

// A small comparison table: one line per run, as an event "comparison".
struct Compared {
    std::string name;
    Schedule schedule;
};

void compare(const std::vector<Compared>& runs) {
    std::size_t name_width = 6;
    for (const auto& r : runs) name_width = std::max(name_width, r.name.size());
    wb::Json rows = wb::Json::array();
    for (const auto& r : runs) {
        const auto& s = r.schedule;
        rows.push_back({{"name", r.name},
                        {"avg", {{"response", s.avg.response}, {"turnaround", s.avg.turnaround}, {"wait", s.avg.wait}}},
                        {"context_switches", s.context_switches}});
    }
    // The text from the rows, so the table shows exactly the numbers the event carries.
    std::string text = fmt::format("{:<{}}  {:>12}  {:>14}  {:>8}  {:>16}\n", "policy", name_width, "avg response",
                                   "avg turnaround", "avg wait", "context switches");
    for (const auto& row : rows) {
        const wb::Json& avg = row.at("avg");
        text += fmt::format("{:<{}}  {:>12.2f}  {:>14.2f}  {:>8.2f}  {:>16}\n", row.at("name").get<std::string>(),
                            name_width, avg.at("response").get<double>(), avg.at("turnaround").get<double>(),
                            avg.at("wait").get<double>(), row.at("context_switches").get<Time>());
    }
    text.pop_back();
    wb::emit_block("comparison", {{"rows", std::move(rows)}}, text);
}

Config fifo() { return Config{Policy::fifo}; }
Config sjf() { return Config{Policy::sjf}; }
Config rr(Time quantum) {
    Config c{Policy::rr};
    c.quantum = quantum;
    return c;
}
Config mlfq(std::vector<Time> quanta, PreemptedTo preempted_to = PreemptedTo::tail) {
    Config c{Policy::mlfq};
    c.quanta = std::move(quanta);
    c.preempted_to = preempted_to;
    return c;
}

// The numbers of job `id` in a schedule (jobs are sorted by id, ids are 0..n-1 here).
const scheduling::JobResult& job(const Schedule& s, int id) { return s.jobs.at(static_cast<std::size_t>(id)); }

// Turnaround divided by length (the table's "ta/len").
double stretch(const scheduling::JobResult& r) {
    return static_cast<double>(r.turnaround) / static_cast<double>(r.job.length);
}

// An option setter that names its option in the error message: "--jobs: length 'x' is not ...".
template <typename Parse>
std::function<void(std::string_view)> option_setter(std::string name, Parse parse) {
    return [name = std::move(name), parse](std::string_view value) {
        try {
            parse(value);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(fmt::format("--{}: {}", name, e.what()));
        }
    };
}

// =============================================================================================
// The demos, in the seed's order.
// =============================================================================================

// Demo 1 - FCFS (seed: "FCFS算法比较有利于长作业, 而不利于短作业").
// One long job and two short ones, all arriving at time 0. FIFO runs them in the order they came:
// if the long one came first, the short ones wait for all of it (the convoy effect).
void demo_fcfs() {
    wb::note("Job 0 needs 8 units, jobs 1 and 2 one unit each; all arrive at 0, job 0 first:");
    const Schedule convoy = show(scheduling::parse_jobs("8,1,1"), fifo());
    wb::note(fmt::format(
        "The long job 0 never waited: its turnaround equals its length (ta/len {:.2f}). The short jobs 1\n"
        "and 2 each need 1 unit but waited {} and {} units behind it: ta/len {:.2f} and {:.2f}. That is\n"
        "what the seed means by \"FCFS favours long jobs and hurts short ones\". The short jobs stand for\n"
        "I/O-bound processes, which need the CPU only briefly between I/Os: behind a CPU-bound process\n"
        "they wait for its whole burst, hence \"suited to CPU-bound jobs, bad for I/O-bound ones\".",
        stretch(job(convoy, 0)), job(convoy, 1).wait, job(convoy, 2).wait, stretch(job(convoy, 1)),
        stretch(job(convoy, 2))));

    // The same three jobs, the long one last: FIFO's result depends on the luck of the arrival order.
    wb::note("The same jobs, the long one queued last:");
    const Schedule lucky = show(scheduling::parse_jobs("1,1,8"), fifo());
    wb::note(fmt::format("Same jobs, the long one arriving last: average turnaround {:.2f} instead of {:.2f}.\n"
                         "FIFO does not look at lengths, so it cannot avoid the bad order.",
                         lucky.avg.turnaround, convoy.avg.turnaround));
}

// Demo 2 - SJF (seed: "短作业优先 ... 对长作业不利; 作业的长短只是被估算出来的").
// The convoy again, now under SJF: the short jobs go first. Then the reverse side: a long job and
// a stream of short ones that keep overtaking it.
void demo_sjf() {
    const auto jobs = scheduling::parse_jobs("8,1,1");
    wb::note("The convoy of the fcfs demo (8, 1, 1, all at 0) under SJF:");
    const Schedule s = show(jobs, sjf());
    const Schedule f = scheduling::simulate(jobs, fifo());
    wb::note(fmt::format(
        "SJF runs the two 1-unit jobs first: average turnaround {:.2f} against FIFO's {:.2f}. With every\n"
        "job arriving together, no order does better (the shortest-first order minimises the average).\n"
        "The long job pays: it now waits {} units (ta/len {:.2f}).",
        s.avg.turnaround, f.avg.turnaround, job(s, 0).wait, stretch(job(s, 0))));

    // A long job (1) that is ready at 0, and short jobs arriving every 2 units. Whenever the CPU
    // is free there is a shorter job than job 1, so job 1 waits until the stream dries up.
    const auto stream = scheduling::parse_jobs("0:2,0:6,1:2,3:2,5:2,7:2");
    wb::note("Job 1 needs 6 units and is ready at 0; 2-unit jobs keep arriving. SJF, then FIFO:");
    const Schedule starved = show(stream, sjf());
    const Schedule served = show(stream, fifo());
    wb::note(fmt::format(
        "Under SJF the 6-unit job 1 was ready at time 0 but first ran at {}: every short job that arrived\n"
        "meanwhile went ahead of it. Under FIFO it ran at {}. If short jobs never stopped coming it would\n"
        "wait forever (starvation): SJF \"is bad for long jobs\". And SJF needs the lengths in advance: the\n"
        "simulator knows them, a real kernel can only estimate them (\"作业的长短只是被估算出来的\").",
        job(starved, 1).first_run, job(served, 1).first_run));
}

// Demo 3 - RR with a slice at least as long as the longest job (seed: "如果时间片长度选择过长 ...
// 则轮转法变成了先来先服务法").
void demo_rr_huge_slice() {
    const auto jobs = scheduling::parse_jobs("0:5,1:3,2:4");
    wb::note("Three jobs, the longest needs 5 units. First RR with a slice of 5, then FIFO:");
    const Schedule r = show(jobs, rr(5));
    const Schedule f = show(jobs, fifo());
    const bool same = r.timeline == f.timeline;
    wb::emit_block("same_schedule", {{"rr_quantum", 5}, {"same", same}},
                   wb::from_fields(same ? "RR with slice {rr_quantum} and FIFO: identical schedules"
                                        : "RR with slice {rr_quantum} and FIFO: different schedules"));
    wb::note("Every job finishes within its first slice, so no job is ever sent back to the queue: RR\n"
             "degenerates into FCFS, exactly as the seed says. The slice only matters when it is shorter\n"
             "than the jobs.");
}

// Demo 4 - the length of the slice (seed: "时间片长度过短, 则调度程序抢占处理机的次数增多 ... 上下文切换
// 次数也大大增加"). Three jobs of 6 units arriving together, under slices from 6 down to 1.
void demo_rr_slice() {
    const auto jobs = scheduling::parse_jobs("6,6,6");
    wb::note("Three jobs of 6 units, all at 0, with a slice of 1:");
    const Schedule tiny = show(jobs, rr(1));
    wb::note("The same jobs with slices from 6 down to 1:");
    std::vector<Compared> runs;
    for (Time q : {6, 3, 2, 1}) runs.push_back({fmt::format("RR slice {}", q), scheduling::simulate(jobs, rr(q))});
    compare(runs);
    wb::note(fmt::format(
        "With a slice of 1 every job gets the CPU within {} units (average response {:.2f}, against {:.2f}\n"
        "with a slice of 6), but the CPU changes hands {} times instead of {}. Each switch costs real time\n"
        "in a kernel (saving and loading registers, cold caches), which the simulator does not even\n"
        "charge. And turnaround gets worse: every job is now finished only near the very end. The slice\n"
        "is a trade-off between response time and overhead.",
        job(tiny, 2).response, tiny.avg.response, runs.front().schedule.avg.response, tiny.context_switches,
        runs.front().schedule.context_switches));
}

// Demo 5 - MLFQ (seed 004 §二: "多级反馈队列调度算法则不必事先知道各种进程所需的执行时间").
// A long job starts alone; two short jobs arrive while it runs. Nobody tells the scheduler any
// length.
void demo_mlfq() {
    const auto jobs = scheduling::parse_jobs("0:20,5:2,9:3");
    wb::note("A 20-unit job starts at 0; short jobs arrive at 5 and 9. MLFQ with slices 1, 2, 4, then FIFO:");
    const Schedule m = show(jobs, mlfq({1, 2, 4}));
    const Schedule f = show(jobs, fifo());
    compare({{"FIFO", f}, {"SJF", scheduling::simulate(jobs, sjf())}, {"MLFQ 1,2,4", m}});
    wb::note(fmt::format(
        "Under MLFQ the long job used up its slice at levels 0 and 1 and sank to level 2. When a short\n"
        "job arrived it entered the top queue and preempted the long one at once: jobs 1 and 2 had\n"
        "response times {} and {} and turnarounds {} and {}, against {} and {} under FIFO.\n"
        "SJF cannot help here: it does not preempt, and job 0 was alone when it started. MLFQ treats every\n"
        "new job as if it were short, and learns that a job is long by watching it use whole slices.",
        job(m, 1).response, job(m, 2).response, job(m, 1).turnaround, job(m, 2).turnaround,
        job(f, 1).turnaround, job(f, 2).turnaround));
}

// Demo 6 - where does the preempted job go? The seed: "由调度程序把正在运行的进程放回到第i队列的末尾"
// (back to the tail of its queue). The OSTEP simulator keeps it at the head. Same jobs, both rules.
void demo_mlfq_preempted() {
    const auto jobs = scheduling::parse_jobs("0:6,0:6,3:1");
    wb::note("Jobs 0 and 1 need 6 units each, job 2 arrives at 3. Slices 1, 2, 4; first the seed's rule:");
    const Schedule tail = show(jobs, mlfq({1, 2, 4}, PreemptedTo::tail));
    wb::note("Then the OSTEP rule:");
    const Schedule head = show(jobs, mlfq({1, 2, 4}, PreemptedTo::head));
    wb::note(fmt::format(
        "At time 3 job 2 arrives in the top queue and preempts job 0, which had used 1 of its 2 units at\n"
        "level 1. With the seed's rule job 0 goes to the tail of level 1, behind job 1: job 1 runs next\n"
        "and finishes first (at {}, job 0 at {}). With the OSTEP rule job 0 goes back to the head, resumes\n"
        "at 4 with the rest of its slice, and finishes first (at {}, job 1 at {}). Either way the preempted\n"
        "job keeps what is left of its slice; only its place in the queue differs.",
        job(tail, 1).finish, job(tail, 0).finish, job(head, 0).finish, job(head, 1).finish));
}

// =============================================================================================
// One simulation of your own: --policy and friends (the chapter's mode).
// =============================================================================================

// What the command line asked for. Each option only records its value; simulation_main checks how
// they combine, once they are all known.
struct Request {
    std::optional<Policy> policy;
    std::optional<Time> quantum;
    std::optional<std::vector<Time>> quanta;
    std::optional<int> levels;
    std::optional<std::vector<Job>> jobs;
    std::optional<int> count;
    std::optional<PreemptedTo> preempted_to;
};
Request request;

// Generated jobs (--count N): lengths 1-10, arrivals spread over 0 to 3(N-1), drawn from the
// random stream (seed, 0) so that the same --seed gives the same jobs; numbered in arrival order.
std::vector<Job> generate_jobs(int count) {
    wb::Random random = wb::random_stream(0);
    std::vector<Job> jobs;
    for (int i = 0; i < count; ++i) {
        const Time arrival = random.uniform_int(0, 3 * (count - 1));
        const Time length = random.uniform_int(1, 10);
        jobs.push_back(Job{0, arrival, length});
    }
    std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.arrival < b.arrival; });
    for (std::size_t i = 0; i < jobs.size(); ++i) jobs[i].id = static_cast<int>(i);
    return jobs;
}

std::optional<int> simulation_main() {
    const bool json = wb::output_config().format == wb::Format::json;
    const Request& r = request;
    if (!r.policy) {
        // No --policy: the demos run, and the simulation options would be silently ignored.
        if (r.quantum || r.quanta || r.levels || r.jobs || r.count || r.preempted_to) {
            return wb::usage_error("--quantum, --quanta, --levels, --jobs, --count and --preempted-to need --policy");
        }
        if (json) return wb::usage_error("--format json needs --policy (one simulation, one document)");
        return std::nullopt;
    }
    if (r.jobs && r.count) return wb::usage_error("give either --jobs or --count, not both");

    // The configuration, with the defaults: RR slice 1; MLFQ 3 levels, top slice 1, doubling.
    Config config;
    config.policy = *r.policy;
    const auto ignored = [&](bool given, const char* option) {
        if (given) wb::warn(fmt::format("{} has no effect with --policy {}", option, scheduling::to_string(config.policy)));
    };
    if (config.policy == Policy::rr) {
        config.quantum = r.quantum.value_or(1);
    } else {
        ignored(r.quantum && config.policy != Policy::mlfq, "--quantum");
    }
    if (config.policy == Policy::mlfq) {
        if (r.quanta && r.quantum) return wb::usage_error("give either --quantum (doubled per level) or --quanta, not both");
        if (r.quanta && r.levels && static_cast<std::size_t>(*r.levels) != r.quanta->size()) {
            return wb::usage_error(fmt::format("--levels {} but --quanta lists {} slices", *r.levels, r.quanta->size()));
        }
        config.quanta = r.quanta ? *r.quanta : scheduling::doubling_quanta(r.quantum.value_or(1), r.levels.value_or(3));
        config.preempted_to = r.preempted_to.value_or(PreemptedTo::tail);
    } else {
        ignored(r.quanta.has_value(), "--quanta");
        ignored(r.levels.has_value(), "--levels");
        ignored(r.preempted_to.has_value(), "--preempted-to");
    }
    const std::vector<Job> jobs = r.jobs ? *r.jobs : generate_jobs(r.count.value_or(3));

    const Schedule s = scheduling::simulate(jobs, config);
    if (json) {
        // --format json: exactly one document on stdout, nothing else.
        wb::write_stdout(schedule_data<nlohmann::ordered_json>(s).dump(2) + "\n");
        return 0;
    }

    // Echo the arguments first, as the OSTEP simulators do, so a transcript says how it was made.
    // Each argument is shown as text ("ARG quanta 1,2,4") and kept as data in the event's fields.
    std::vector<std::pair<std::string, wb::Json>> args = {{"policy", scheduling::to_string(config.policy)}};
    if (r.jobs) {
        args.emplace_back("jobs", scheduling::format_jobs(jobs));
    } else {
        args.emplace_back("seed", wb::seed());
        args.emplace_back("count", jobs.size());
    }
    if (config.policy == Policy::rr) args.emplace_back("quantum", config.quantum);
    if (config.policy == Policy::mlfq) {
        args.emplace_back("levels", config.quanta.size());
        args.emplace_back("quanta", config.quanta);
        args.emplace_back("preempted_to", scheduling::to_string(config.preempted_to));
    }
    wb::Json fields = wb::Json::object();
    for (const auto& [name, value] : args) fields[name] = value;
    // The text from the fields, in the order of the arguments.
    std::string text;
    for (const auto& [name, unused] : args) {
        const wb::Json& value = fields.at(name);
        std::string shown;
        if (value.is_string()) {
            shown = value.get<std::string>();
        } else if (value.is_array()) {
            for (const auto& v : value) shown += (shown.empty() ? "" : ",") + v.dump();
        } else {
            shown = value.dump();
        }
        text += fmt::format("{}ARG {} {}", text.empty() ? "" : "\n", name, shown);
    }
    wb::emit_block("args", std::move(fields), text);
    show(jobs, config);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return wb::run_chapter(argc, argv, wb::Chapter{
        .id = "01-scheduling",
        .title = "Scheduling",
        .description =
            "A simulator of the CPU scheduling policies of the seeds: FCFS (fifo), SJF, round robin (rr) and the\n"
            "multi-level feedback queue (mlfq). The demos show the seeds' claims; with --policy it runs one\n"
            "simulation of your own jobs and prints a Gantt chart and the per-job response, turnaround and wait\n"
            "times (or, with --format json, one JSON document). Time is in whole units.",
        .demos = {
            {"fcfs", "FCFS: short jobs behind a long one wait for all of it", demo_fcfs},
            {"sjf", "SJF: short jobs first, and a long job that keeps being overtaken", demo_sjf},
            {"rr-huge-slice", "RR with a slice as long as the longest job is FCFS", demo_rr_huge_slice},
            {"rr-slice", "RR: a tiny slice answers fast but switches all the time", demo_rr_slice},
            {"mlfq", "MLFQ: short jobs finish fast without anyone knowing lengths", demo_mlfq},
            {"mlfq-preempted", "MLFQ: the preempted job to the tail (seed) or the head (OSTEP)", demo_mlfq_preempted},
        },
        .options = {
            {"policy", "P", "run one simulation: fifo, sjf, rr or mlfq (instead of the demos)",
             option_setter("policy", [](std::string_view v) { request.policy = scheduling::parse_policy(v); })},
            {"jobs", "LIST", "the jobs: LEN,LEN,... (all arriving at 0) or ARRIVAL:LEN,...",
             option_setter("jobs", [](std::string_view v) { request.jobs = scheduling::parse_jobs(v); })},
            {"count", "N", "generate N jobs from --seed (lengths 1-10, arrivals 0-3(N-1); default 3)",
             [](std::string_view v) {
                 request.count = static_cast<int>(wb::parse_int(v, "count", 1, scheduling::max_jobs));
             }},
            {"quantum", "Q", "RR: the time slice (default 1); MLFQ: the top slice, doubled per level",
             [](std::string_view v) { request.quantum = wb::parse_int(v, "quantum", 1, scheduling::max_quantum); }},
            {"levels", "N", "MLFQ: the number of queues (default 3)",
             [](std::string_view v) {
                 request.levels = static_cast<int>(wb::parse_int(v, "levels", 1, scheduling::max_levels));
             }},
            {"quanta", "LIST", "MLFQ: the slice of each queue, top first, e.g. 1,2,4",
             option_setter("quanta", [](std::string_view v) { request.quanta = scheduling::parse_quanta(v); })},
            {"preempted-to", "END", "MLFQ: where a preempted job goes: tail (default, the seed) or head (OSTEP)",
             option_setter("preempted-to",
                           [](std::string_view v) { request.preempted_to = scheduling::parse_preempted_to(v); })},
        },
        .formats = {wb::Format::text, wb::Format::jsonl, wb::Format::json},
        .mode = simulation_main,
    });
}
