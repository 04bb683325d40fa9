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

}  // namespace

std::vector<wb::Option> single_run_options() {
    return {
        {"policy", "P", "run one simulation: fifo, sjf, rr or mlfq (instead of the demos)",
         option_setter("policy", [](std::string_view v) { request.policy = scheduling::parse_policy(v); })},
        {"jobs", "LIST", "the jobs: LEN,LEN,... (all arriving at 0) or ARRIVAL:LEN,...",
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
    };
}

std::optional<int> single_run() {
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
    }
    echo_arguments(args);
    show(jobs, config);
    return 0;
}

}  // namespace ch01
