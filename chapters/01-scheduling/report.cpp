#include "report.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace ch01 {

using scheduling::Config;
using scheduling::Job;
using scheduling::Policy;
using scheduling::Schedule;
using scheduling::Time;

// One line naming the policy and its parameters: "RR (slice 2)".
std::string describe(const Config& c) {
    switch (c.policy) {
    case Policy::fifo: return "FIFO (first come, first served)";
    case Policy::sjf: return "SJF (shortest job first, non-preemptive)";
    case Policy::rr: return fmt::format("RR (slice {})", c.quantum);
    case Policy::mlfq: {
        std::string quanta;
        for (Time q : c.quanta) quanta += (quanta.empty() ? "" : ",") + std::to_string(q);
        return fmt::format("MLFQ (slices {}, a preempted job goes to the {}{})", quanta,
                           scheduling::to_string(c.preempted_to),
                           c.boost > 0 ? fmt::format(", boost every {}", c.boost) : std::string());
    }
    }
    return "?";
}

namespace {

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
    if (s.has_io) {
        // Only when some job does I/O, so the document of a CPU-bound run keeps its five keys.
        J io = J::array();
        for (const auto& span : s.io) {
            J row;
            row["job"] = span.job;
            row["start"] = span.start;
            row["end"] = span.end;
            io.push_back(std::move(row));
        }
        J idle = J::array();
        for (const auto& span : s.idle) {
            J row;
            row["start"] = span.start;
            row["end"] = span.end;
            idle.push_back(std::move(row));
        }
        doc["io"] = std::move(io);
        doc["idle"] = std::move(idle);
        doc["cpu_utilisation"] = s.cpu_utilisation();
    }
    return doc;
}

// The parameters of a run, as event fields.
wb::Json config_data(const Config& c) {
    wb::Json f = {{"policy", std::string(scheduling::to_string(c.policy))}};
    if (c.policy == Policy::rr) f["quantum"] = c.quantum;
    if (c.policy == Policy::mlfq) {
        f["quanta"] = c.quanta;
        f["preempted_to"] = std::string(scheduling::to_string(c.preempted_to));
        if (c.boost > 0) f["boost"] = c.boost;
    }
    return f;
}

// One character per MLFQ level in the chart: 0-9, then a-f (there are at most 16 levels).
char level_mark(int level) { return "0123456789abcdef"[std::clamp(level, 0, 15)]; }

// The Gantt chart: one row per job, one column per time unit (or per k units when the schedule
// is longer than 100). '#' (or the MLFQ level) while the job runs, 'o' while it is blocked in
// I/O, '.' while it is ready and waiting, blank before it arrives and after it finishes. When the
// CPU idles at some point, a last row "idle" marks those columns with '-'.
//
//     time    0    5    10
//             |----|----|
//     job 0   ########
//     job 1   ........#
//
// Drawn from the fields of the "gantt" event only, so the chart shows what the JSON carries: the
// title from `label` and `jobs`, the arrivals from `jobs` (ARRIVAL:LENGTH[:IOFREQ], job i is the
// i-th), the bars from `timeline` (a job finishes at the end of its last run), the I/Os from `io`
// (present when some job does I/O), the idle columns from the gaps of `timeline`.
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
    // One row per job, filled in one pass over the I/Os and one over the runs (a run may have
    // thousands of jobs and a hundred thousand runs).
    std::vector<std::string> rows;
    for (const auto& job : jobs) {
        const Time job_finish = finish.at(static_cast<std::size_t>(job.id));
        std::string row(columns, ' ');
        // Ready from its arrival to its finish...
        for (std::size_t c = column_of(job.arrival); c < columns && static_cast<Time>(c) * k < job_finish; ++c) {
            row[c] = '.';
        }
        rows.push_back(std::move(row));
    }
    // ...except where it is blocked in I/O...
    const auto mark = [&](const wb::Json& span, char c) {
        std::string& row = rows.at(span.at("job").get<std::size_t>());
        const Time span_end = span.at("end").get<Time>();
        for (std::size_t col = column_of(span.at("start").get<Time>());
             col < columns && static_cast<Time>(col) * k < span_end; ++col) {
            row[col] = c;
        }
    };
    if (fields.contains("io")) {
        for (const auto& span : fields.at("io")) mark(span, 'o');
    }
    // ...and where it runs.
    for (const auto& run : timeline) mark(run, levels ? level_mark(run.at("level").get<int>()) : '#');
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::string& row = rows[i];
        row.erase(row.find_last_not_of(' ') + 1);
        out += fmt::format("{:<{}}{}\n", fmt::format("job {}", jobs[i].id), label_width, row);
    }
    // The idle columns: those no run touches.
    std::string idle(columns, '-');
    for (const auto& run : timeline) {
        const Time run_end = run.at("end").get<Time>();
        for (std::size_t c = column_of(run.at("start").get<Time>()); c < columns && static_cast<Time>(c) * k < run_end;
             ++c) {
            idle[c] = ' ';
        }
    }
    const bool any_idle = idle.find('-') != std::string::npos;
    if (any_idle) {
        idle.erase(idle.find_last_not_of(' ') + 1);
        out += fmt::format("{:<{}}{}\n", "idle", label_width, idle);
    }
    out += levels ? "0, 1, 2...: running at that level (0 = the top queue)   .: ready, waiting"
                  : "#: running   .: ready, waiting";
    if (fields.contains("io")) out += "   o: in I/O";
    if (any_idle) out += "   -: the CPU idles";
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
    // CPU utilisation: the time the CPU ran a job over the time from 0 to the last finish.
    Time busy = 0, end = 0;
    for (const auto& run : fields.at("timeline")) {
        busy += run.at("end").get<Time>() - run.at("start").get<Time>();
        end = std::max(end, run.at("end").get<Time>());
    }
    out += fmt::format("\nCPU utilisation: {:.2f}% (busy {} of {} units)",
                       100.0 * static_cast<double>(busy) / static_cast<double>(std::max<Time>(end, 1)), busy, end);
    return out;
}

}  // namespace

nlohmann::ordered_json schedule_document(const Schedule& s) { return schedule_data<nlohmann::ordered_json>(s); }

// Simulates `jobs` under `config` and shows the result: the chart, then the table. Both are
// events ("gantt", "result") whose fields carry the same content as data.
Schedule show(const std::vector<Job>& jobs, const Config& config) {
    const Schedule s = scheduling::simulate(jobs, config);
    const std::string label = describe(config);
    const std::string job_list = scheduling::format_jobs(jobs);

    wb::Json chart = config_data(config);
    chart["label"] = label;
    chart["jobs"] = job_list;
    const wb::Json data = schedule_data<wb::Json>(s);
    chart["timeline"] = data["timeline"];
    if (s.has_io) {
        chart["io"] = data["io"];
        chart["io_time"] = config.io_time;
    }
    std::string chart_text = gantt_chart(chart);
    wb::emit_block("gantt", std::move(chart), chart_text);

    wb::Json result = schedule_data<wb::Json>(s);
    result.update(config_data(config));
    result["label"] = label;
    std::string table_text = result_table(result);
    wb::emit_block("result", std::move(result), table_text);
    return s;
}

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

void echo_arguments(const std::vector<std::pair<std::string, wb::Json>>& args) {
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
}

}  // namespace ch01
