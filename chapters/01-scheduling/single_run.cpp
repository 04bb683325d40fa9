#include "single_run.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

#include "report.hpp"
#include "scheduler.hpp"
#include "wb/output.hpp"
#include "wb/random.hpp"

namespace ch01 {

namespace {

using scheduling::Config;
using scheduling::Job;
using scheduling::Policy;
using scheduling::PreemptedTo;
using scheduling::Time;

// What the command line asked for. Each option only records its value; single_run() checks how
// they combine, once they are all known.
struct Request {
    std::optional<Policy> policy;
    std::optional<Time> quantum;
    std::optional<std::vector<Time>> quanta;
    std::optional<int> levels;
    std::optional<std::vector<Job>> jobs;
    std::optional<int> count;
    std::optional<PreemptedTo> preempted_to;
    std::optional<Time> io_time;
    std::optional<Time> boost;
    bool quiz = false;
    bool answers = false;
};
Request request;

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

// The workload of a quiz (--quiz): what the command line gave, the rest drawn from the random
// stream (seed, 1), so the same --seed asks the same questions (an MLFQ-only option without
// --policy makes it MLFQ). Jobs: 3 (or --count), arrivals
// 0 to 2(N-1), lengths 2-8, half of them doing an I/O every 1-3 units; the I/O time 1-3; the
// policy one of the four; RR's slice 1-3; MLFQ 3 levels with a top slice of 1 or 2, a boost
// (every 8-15 units) half the time, the preempted job to the tail or the head.
struct Quiz {
    Config config;
    std::vector<Job> jobs;
};
Quiz draw_quiz(const Request& r) {
    wb::Random random = wb::random_stream(1);
    Quiz q;
    const std::vector<Policy> policies = {Policy::fifo, Policy::sjf, Policy::rr, Policy::mlfq};
    q.config.policy = policies[static_cast<std::size_t>(random.uniform_int(0, 3))];
    // An option only MLFQ has asks for MLFQ.
    const bool mlfq_only = r.quanta || r.levels || r.preempted_to || r.boost;
    if (mlfq_only) q.config.policy = Policy::mlfq;
    if (r.policy) q.config.policy = *r.policy;
    if (mlfq_only && q.config.policy != Policy::mlfq) {
        wb::warn(fmt::format("--quanta, --levels, --preempted-to and --boost have no effect with --policy {}",
                             scheduling::to_string(q.config.policy)));
    }
    if (r.quantum && (q.config.policy == Policy::fifo || q.config.policy == Policy::sjf)) {
        wb::warn(fmt::format("--quantum has no effect with --policy {}", scheduling::to_string(q.config.policy)));
    }
    const int count = r.count.value_or(3);
    for (int i = 0; i < count; ++i) {
        Job job;
        job.arrival = random.uniform_int(0, 2 * (count - 1));
        job.length = random.uniform_int(2, 8);
        job.io_freq = random.uniform_int(0, 1) == 0 ? 0 : random.uniform_int(1, 3);
        q.jobs.push_back(job);
    }
    std::stable_sort(q.jobs.begin(), q.jobs.end(), [](const Job& a, const Job& b) { return a.arrival < b.arrival; });
    for (std::size_t i = 0; i < q.jobs.size(); ++i) q.jobs[i].id = static_cast<int>(i);
    if (r.jobs) q.jobs = *r.jobs;
    q.config.io_time = r.io_time.value_or(random.uniform_int(1, 3));
    const Time quantum = random.uniform_int(1, 3);
    const Time top = random.uniform_int(1, 2);
    const Time boost = random.uniform_int(0, 1) == 0 ? 0 : random.uniform_int(8, 15);
    const PreemptedTo where = random.uniform_int(0, 1) == 0 ? PreemptedTo::tail : PreemptedTo::head;
    if (q.config.policy == Policy::rr) q.config.quantum = r.quantum.value_or(quantum);
    if (q.config.policy == Policy::mlfq) {
        q.config.quanta = r.quanta ? *r.quanta : scheduling::doubling_quanta(r.quantum.value_or(top), r.levels.value_or(3));
        q.config.boost = r.boost.value_or(boost);
        q.config.preempted_to = r.preempted_to.value_or(where);
    }
    return q;
}

// The single-run options that give the same run as `config` on `jobs`.
std::string command_for(const Config& config, const std::vector<Job>& jobs) {
    std::string out = fmt::format("--policy {}", scheduling::to_string(config.policy));
    if (config.policy == Policy::rr) out += fmt::format(" --quantum {}", config.quantum);
    if (config.policy == Policy::mlfq) {
        std::string quanta;
        for (Time q : config.quanta) quanta += (quanta.empty() ? "" : ",") + std::to_string(q);
        out += fmt::format(" --quanta {} --preempted-to {}", quanta, scheduling::to_string(config.preempted_to));
        if (config.boost > 0) out += fmt::format(" --boost {}", config.boost);
    }
    if (std::any_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.io_freq > 0; })) {
        out += fmt::format(" --io-time {}", config.io_time);
    }
    return out + " --jobs " + scheduling::format_jobs(jobs);
}

// --quiz: the workload and the questions; with --answers, the answers too (the chart and the table
// of a single run, the very numbers of the --format json document of the command it names).
int quiz(const Request& r) {
    const Quiz q = draw_quiz(r);
    const std::string command = command_for(q.config, q.jobs);
    wb::Json jobs = wb::Json::array();
    std::string text = fmt::format("QUIZ (seed {}): {}", wb::seed(), describe(q.config));
    for (const Job& j : q.jobs) {
        jobs.push_back({{"id", j.id}, {"arrival", j.arrival}, {"length", j.length}, {"io_freq", j.io_freq}});
        text += fmt::format("\n  job {}: arrives at {}, needs {} units of CPU, {}", j.id, j.arrival, j.length,
                            j.io_freq > 0 ? fmt::format("starts an I/O after every {} units of running", j.io_freq)
                                          : std::string("no I/O"));
    }
    if (std::any_of(q.jobs.begin(), q.jobs.end(), [](const Job& j) { return j.io_freq > 0; })) {
        text += fmt::format("\n  every I/O takes {} unit{}", q.config.io_time, q.config.io_time == 1 ? "" : "s");
    }
    text += "\nPredict: the schedule (who runs when, who is blocked in I/O, when the CPU idles), and each\n"
            "job's response (first run - arrival) and turnaround (finish - arrival).";
    text += fmt::format("\nThe same run: {}", command);
    text += r.answers ? "\nThe answers:" : "\nCheck your predictions: the same command with --answers.";
    wb::emit_block("quiz", {{"seed", wb::seed()}, {"label", describe(q.config)}, {"jobs", std::move(jobs)},
                            {"command", command}, {"answers", r.answers}},
                   text);
    if (r.answers) show(q.jobs, q.config);
    return 0;
}

}  // namespace

std::vector<wb::Option> single_run_options() {
    return {
        {"policy", "P", "run one simulation: fifo, sjf, rr or mlfq (instead of the demos)",
         option_setter("policy", [](std::string_view v) { request.policy = scheduling::parse_policy(v); })},
        {"jobs", "LIST", "the jobs: LEN,... (all arriving at 0), ARRIVAL:LEN,... or ARRIVAL:LEN:IOFREQ,... (with I/O)",
         option_setter("jobs", [](std::string_view v) { request.jobs = scheduling::parse_jobs(v); })},
        {"count", "N", "generate N jobs from --seed (lengths 1-10, arrivals 0-3(N-1); default 3)",
         [](std::string_view v) { request.count = static_cast<int>(wb::parse_int(v, "count", 1, scheduling::max_jobs)); }},
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
        {"io-time", "N", "how long each I/O takes (default 5), for jobs given as ARRIVAL:LEN:IOFREQ",
         [](std::string_view v) { request.io_time = wb::parse_int(v, "io-time", 1, scheduling::max_io_time); }},
        {"boost", "N", "MLFQ: every N units, every job back to the top queue with a fresh slice",
         [](std::string_view v) { request.boost = wb::parse_int(v, "boost", 1, scheduling::max_boost); }},
        {"quiz", "", "print a workload drawn from --seed and questions about its schedule (no answers)",
         [](std::string_view) { request.quiz = true; }},
        {"answers", "", "with --quiz: print the answers too",
         [](std::string_view) { request.answers = true; }},
    };
}

std::optional<int> single_run() {
    const bool json = wb::output_config().format == wb::Format::json;
    const Request& r = request;
    if (r.answers && !r.quiz) return wb::usage_error("--answers needs --quiz");
    if (r.quiz) {
        if (json) return wb::usage_error("--quiz is for people; for the document, run the command it names with --format json");
        if (r.jobs && r.count) return wb::usage_error("give either --jobs or --count, not both");
        if (r.quanta && r.quantum) return wb::usage_error("give either --quantum (doubled per level) or --quanta, not both");
        if (r.quanta && r.levels && static_cast<std::size_t>(*r.levels) != r.quanta->size()) {
            return wb::usage_error(fmt::format("--levels {} but --quanta lists {} slices", *r.levels, r.quanta->size()));
        }
        if (r.count && *r.count > 20) return wb::usage_error("--quiz: at most 20 jobs (--count), a quiz is worked by hand");
        return quiz(r);
    }
    if (!r.policy) {
        // No --policy: the demos run, and the simulation options would be silently ignored.
        if (r.quantum || r.quanta || r.levels || r.jobs || r.count || r.preempted_to || r.io_time || r.boost) {
            return wb::usage_error(
                "--quantum, --quanta, --levels, --jobs, --count, --preempted-to, --io-time and --boost need --policy (or --quiz)");
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
        config.boost = r.boost.value_or(0);
    } else {
        ignored(r.quanta.has_value(), "--quanta");
        ignored(r.levels.has_value(), "--levels");
        ignored(r.preempted_to.has_value(), "--preempted-to");
        ignored(r.boost.has_value(), "--boost");
    }
    const std::vector<Job> jobs = r.jobs ? *r.jobs : generate_jobs(r.count.value_or(3));
    const bool io = std::any_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.io_freq > 0; });
    config.io_time = r.io_time.value_or(config.io_time);
    if (r.io_time && !io) wb::warn("--io-time has no effect: no job does I/O (give them as ARRIVAL:LEN:IOFREQ)");

    if (json) {
        // --format json: exactly one document on stdout, nothing else.
        wb::write_stdout(schedule_document(scheduling::simulate(jobs, config)).dump(2) + "\n");
        return 0;
    }

    // Echo the arguments first, so a transcript says how it was made.
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
        if (config.boost > 0) args.emplace_back("boost", config.boost);
    }
    if (io) args.emplace_back("io_time", config.io_time);
    echo_arguments(args);
    show(jobs, config);
    return 0;
}

}  // namespace ch01
