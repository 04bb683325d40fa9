#include "internal.hpp"
#include "wb/chapter.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <map>
#include <stdexcept>

#include <fmt/core.h>

#include "wb/clock.hpp"
#include "wb/error.hpp"
#include "wb/output.hpp"
#include "wb/process.hpp"
#include "wb/random.hpp"
#include "wb/thread.hpp"

namespace wb {

double parse_double(std::string_view text, std::string_view option) {
    double value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || !std::isfinite(value)) {
        throw std::invalid_argument(fmt::format("--{} needs a number, got '{}'", option, text));
    }
    return value;
}

long long parse_int(std::string_view text, std::string_view option, long long min, long long max) {
    long long value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end) {
        throw std::invalid_argument(fmt::format("--{} needs a whole number, got '{}'", option, text));
    }
    if (value < min || value > max) {
        throw std::invalid_argument(fmt::format("--{} must be between {} and {}, got {}", option, min, max, value));
    }
    return value;
}

bool is_spawned_child() noexcept { return std::getenv("WORKBOOK_SPAWN") != nullptr; }

namespace {

// The name run_chapter was started under, for usage_error() and warn().
std::string g_program = "chapter";

void write_stderr(const std::string& text) noexcept {
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, text.data(), text.size());
}

std::string usage_text(const std::string& prog, std::string_view problem) {
    return fmt::format("{}: {}\ntry '{} --help'\n", prog, problem, prog);
}

}  // namespace

int usage_error(std::string_view problem) noexcept {
    try {
        write_stderr(usage_text(g_program, problem));
    } catch (...) {
        // Out of memory while formatting: the exit status still says what happened.
    }
    return 2;
}

void warn(std::string_view problem) noexcept {
    try {
        write_stderr(fmt::format("{}: warning: {}\n", g_program, problem));
    } catch (...) {
    }
}

namespace {

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Settings {
    bool help = false;
    bool list = false;
    std::vector<std::string> demos;
    double time_scale = 1.0;
    std::uint64_t seed = 1;
    Format format = Format::text;
    std::string trace;
    int color = -1;  // -1 auto, 0 off, 1 on
};

// The name --format F gives a format, and how --help describes it.
std::string_view format_name(Format f) {
    switch (f) {
    case Format::text: return "text";
    case Format::jsonl: return "jsonl";
    case Format::json: return "json";
    }
    return "?";
}

std::string_view format_help(Format f) {
    switch (f) {
    case Format::text: return "text (default)";
    case Format::jsonl: return "jsonl (one JSON event per line)";
    case Format::json: return "json (one document)";
    }
    return "?";
}

std::string program_name(const char* argv0) {
    std::string name = argv0 != nullptr ? argv0 : "chapter";
    if (const auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    return name;
}

void print_help(const std::string& prog, const Chapter& ch) {
    std::string h = fmt::format("{} - {}\n\n", ch.id, ch.title);
    if (!ch.description.empty()) h += ch.description + "\n\n";
    h += fmt::format("usage: {} [options]\n\n", prog);
    h += "With no options every demo runs in order, each under a heading.\n\n";
    h += "options:\n";
    h += "  --help              this text\n";
    h += "  --list              list the demos (name and one line each)\n";
    h += "  --demo NAME         run only this demo (repeatable; see --list)\n";
    h += "  --time-scale X      real seconds per logical second, 0.001 to 1000 (default 1.0,\n"
         "                      the seed's pace; 0.01 makes a 2 s rest last 20 ms). Printed\n"
         "                      times stay logical. Default from WORKBOOK_TIME_SCALE when set.\n";
    h += "  --seed N            seed of every random choice (default 1); child i draws from\n"
         "                      stream (seed, i), so values do not depend on scheduling\n";
    std::string formats;
    for (const Format f : ch.formats) formats += fmt::format("{}{}", formats.empty() ? "" : ", ", format_help(f));
    h += fmt::format("  --format F          {}\n", formats);
    h += "  --trace FILE        also write Chrome trace-event JSON (open in ui.perfetto.dev)\n";
    h += "  --color, --no-color colour the text output (default: only on a terminal, never\n"
         "                      when NO_COLOR is set)\n";
    if (!ch.options.empty()) {
        h += "\nchapter options:\n";
        for (const auto& o : ch.options) {
            const std::string flag = o.metavar.empty() ? "--" + o.name : "--" + o.name + " " + o.metavar;
            h += fmt::format("  {:<18}  {}\n", flag, o.help);
        }
    }
    h += "\ndemos:\n";
    for (const auto& d : ch.demos) h += fmt::format("  {:<18}  {}\n", d.name, d.summary);
    h += "\nexit status: 0 done, 1 error, 2 bad options, 130 interrupted (Ctrl-C)\n";
    write_stdout(h);
}

// The time scale, within the clock's bounds (a scale the clock cannot honour is a usage error
// before anything runs, not a hang or an overflow later).
double parse_time_scale(std::string_view text) {
    const double scale = parse_double(text, "time-scale");
    if (scale < clock::min_time_scale || scale > clock::max_time_scale) {
        throw std::invalid_argument(fmt::format("--time-scale must be between {} and {}, got {}",
                                                clock::min_time_scale, clock::max_time_scale, text));
    }
    return scale;
}

// Parses argv into settings; chapter options are applied as they are met.
Settings parse(int argc, char** argv, const Chapter& ch) {
    Settings s;
    if (const char* env = std::getenv("WORKBOOK_TIME_SCALE"); env != nullptr && *env != '\0') {
        try {
            s.time_scale = parse_time_scale(env);
        } catch (const std::exception&) {
            throw UsageError(fmt::format("WORKBOOK_TIME_SCALE must be a number between {} and {}, got '{}'",
                                         clock::min_time_scale, clock::max_time_scale, env));
        }
    }
    std::map<std::string, const Option*> chapter_options;
    for (const auto& o : ch.options) chapter_options[o.name] = &o;

    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) throw UsageError(fmt::format("unexpected argument '{}'", arg));
        std::string name = arg.substr(2);
        std::optional<std::string> inline_value;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        auto value = [&]() -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= argc) throw UsageError(fmt::format("--{} needs a value", name));
            return argv[++i];
        };
        auto no_value = [&] {
            if (inline_value) throw UsageError(fmt::format("--{} takes no value", name));
        };
        try {
            if (name == "help") {
                no_value();
                s.help = true;
            } else if (name == "list") {
                no_value();
                s.list = true;
            } else if (name == "demo") {
                const std::string d = value();
                bool known = false;
                for (const auto& demo : ch.demos) known = known || demo.name == d;
                if (!known) throw UsageError(fmt::format("no demo named '{}' (see --list)", d));
                s.demos.push_back(d);
            } else if (name == "time-scale") {
                s.time_scale = parse_time_scale(value());
            } else if (name == "seed") {
                s.seed = static_cast<std::uint64_t>(parse_int(value(), name, 0, (1LL << 62)));
            } else if (name == "format") {
                const std::string f = value();
                const auto named = std::find_if(ch.formats.begin(), ch.formats.end(),
                                                [&](Format offered) { return format_name(offered) == f; });
                if (named == ch.formats.end()) {
                    std::string names;
                    for (const Format offered : ch.formats) {
                        names += fmt::format("{}{}", names.empty() ? "" : " or ", format_name(offered));
                    }
                    throw UsageError(fmt::format("--format must be {}, got '{}'", names, f));
                }
                s.format = *named;
            } else if (name == "trace") {
                s.trace = value();
                check_trace_path(s.trace);
            } else if (name == "color") {
                no_value();
                s.color = 1;
            } else if (name == "no-color") {
                no_value();
                s.color = 0;
            } else if (auto it = chapter_options.find(name); it != chapter_options.end()) {
                const Option& o = *it->second;
                if (o.metavar.empty()) {
                    no_value();
                    o.set("");
                } else {
                    o.set(value());
                }
            } else {
                throw UsageError(fmt::format("unknown option '{}'", arg));
            }
        } catch (const UsageError&) {
            throw;
        } catch (const std::exception& e) {
            throw UsageError(e.what());
        }
    }
    return s;
}

void configure(const Settings& s) {
    clock::set_time_scale(s.time_scale);
    clock::reset_epoch();
    set_seed(s.seed);
    reset_rng(0);
    OutputConfig out;
    out.format = s.format;
    out.trace_path = s.trace;
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    const bool no_color_env = std::getenv("NO_COLOR") != nullptr && *std::getenv("NO_COLOR") != '\0';
    out.color = s.format == Format::text && (s.color == 1 || (s.color == -1 && terminal && !no_color_env));
    configure_output(out);
    journal::open();
}

void report_error(const std::string& prog, const std::string& what) {
    write_stdout({});  // nothing buffered: the output layer writes directly
    const std::string line = fmt::format("{}: error: {}\n", prog, what);
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

[[noreturn]] void run_spawned(const Chapter& ch, const detail::SpawnDescription& d) {
    detail::install_signal_handlers();
    if (ch.module_level) ch.module_level();
    const EntryPoint* entry = nullptr;
    for (const auto& e : ch.entry_points) {
        if (e.name == d.entry) entry = &e;
    }
    int code = 1;
    if (entry == nullptr) {
        report_error(current_process().name, fmt::format("no entry point named '{}'", d.entry));
    } else {
        code = detail::run_child_body([&] { entry->run(d.args); });
    }
    reap_children_at_exit();
    detail::child_exit(code);
}

// Descriptors 0, 1 and 2 are the program's standard streams even when the user closed them
// (`prog >&-`): otherwise the first file the program opens (the journal, a pipe) would become
// "stdout" and the program's own output would be written into it. A closed one is reopened on
// /dev/null, as daemons do, before anything else opens a file.
void keep_standard_descriptors() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (opened < 0) throw_errno("open /dev/null");
        if (opened != fd) {  // cannot happen (the lowest free number is taken), but never assume
            check(::dup2(opened, fd), "dup2");
            ::close(opened);
        }
    }
}

}  // namespace

int run_chapter(int argc, char** argv, const Chapter& ch) {
    const std::string prog = program_name(argc > 0 ? argv[0] : nullptr);
    g_program = prog;
    try {
        keep_standard_descriptors();
    } catch (const std::exception& e) {
        report_error(prog, e.what());
        return 1;
    }
    std::vector<std::string> entry_names;
    for (const auto& e : ch.entry_points) entry_names.push_back(e.name);
    detail::set_program(argc > 0 ? argv[0] : prog, entry_names);

    // The main guard: a spawned child runs its entry point and never reaches the demos.
    if (auto spawned = detail::adopt_spawn_description()) run_spawned(ch, *spawned);

    Settings settings;
    try {
        settings = parse(argc, argv, ch);
    } catch (const std::exception& e) {
        return usage_error(e.what());
    }
    if (settings.help) {
        print_help(prog, ch);
        return 0;
    }
    if (settings.list) {
        std::string out;
        for (const auto& d : ch.demos) out += fmt::format("{:<20} {}\n", d.name, d.summary);
        write_stdout(out);
        return 0;
    }

    try {
        configure(settings);
        detail::install_signal_handlers();
        if (ch.module_level) ch.module_level();
        std::optional<int> mode_status;
        if (ch.mode) mode_status = ch.mode();
        if (!mode_status) {
            if (settings.format == Format::json) {
                return usage_error("--format json: nothing in this run prints a document (see --help)");
            }
            emit("run.begin",
                 {{"chapter", ch.id}, {"seed", settings.seed}, {"time_scale", settings.time_scale}},
                 {});
            for (const auto& demo : ch.demos) {
                const bool selected = settings.demos.empty() ||
                                      std::find(settings.demos.begin(), settings.demos.end(), demo.name) !=
                                          settings.demos.end();
                if (!selected) continue;
                detail::reset_for_demo();
                detail::reset_thread_numbering();  // Thread-N restarts too
                emit("demo.begin", {{"demo", demo.name}, {"summary", demo.summary}}, demo.summary);
                demo.run();
                reap_children_at_exit();
                emit("demo.end", {{"demo", demo.name}}, {});
            }
            emit("run.end", {{"chapter", ch.id}}, {});
        }
        if (!settings.trace.empty()) write_trace(settings.trace);
        return mode_status.value_or(0);
    } catch (const ExitProcess& e) {
        // exit_process(N) in the main program: end like sys.exit(N), children cleaned up.
        try {
            terminate_children();
        } catch (...) {
        }
        return e.code;
    } catch (const std::exception& e) {
        report_error(prog, e.what());
        try {
            terminate_children();
        } catch (...) {
            // Reporting the first error matters more than a second one while cleaning up.
        }
        return 1;
    }
}

}  // namespace wb
