#include "wb/output.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include <fmt/args.h>
#include <fmt/core.h>
#include <fmt/format.h>

#include "internal.hpp"
#include "wb/atomic_file.hpp"
#include "wb/clock.hpp"
#include "wb/error.hpp"

namespace wb {
namespace {

OutputConfig g_config;
thread_local std::string t_actor;
int g_journal_fd = -1;

// ANSI colours for actors: the same name always gets the same colour.
constexpr const char* kPalette[] = {"\x1b[36m", "\x1b[33m", "\x1b[35m", "\x1b[32m", "\x1b[34m", "\x1b[91m"};
constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kDim = "\x1b[2m";

std::string actor_colour(std::string_view actor) {
    if (actor == "MainProcess" || actor == "MainThread") return kBold;
    return kPalette[std::hash<std::string_view>{}(actor) % std::size(kPalette)];
}

// Indents every line after the first so multi-line text stays under its column.
std::string indent_continuation(std::string_view text, std::size_t column) {
    std::string out;
    for (char c : text) {
        out += c;
        if (c == '\n') out.append(column, ' ');
    }
    return out;
}

std::string render_text(const Json& e, bool block) {
    const std::string event = e["event"].get<std::string>();
    const std::string text = e.value("text", "");
    const bool colour = g_config.color;
    if (event == "demo.begin") {
        const auto& f = e["fields"];
        std::string heading = fmt::format("== demo {}: {} ==", f.value("demo", ""), f.value("summary", ""));
        return colour ? fmt::format("\n{}{}{}\n", kBold, heading, kReset) : fmt::format("\n{}\n", heading);
    }
    if (text.empty()) return {};
    if (event == "note") {
        const std::string body = "  " + indent_continuation(text, 2);
        return colour ? fmt::format("{}{}{}\n", kDim, body, kReset) : body + "\n";
    }
    if (block) {
        return "    " + indent_continuation(text, 4) + "\n";
    }
    const std::string actor = e["actor"].get<std::string>();
    const std::string who = fmt::format("{}[{}]", actor, e["pid"].get<long>());
    const std::string stamp = fmt::format("{:7.2f}", e["t"].get<double>());
    const std::size_t pad = who.size() < 20 ? 20 - who.size() : 1;
    const std::size_t column = stamp.size() + 2 + who.size() + pad;
    const bool error = event == "error";
    if (colour) {
        return fmt::format("{}{}{}  {}{}{}{}{}{}{}\n", kDim, stamp, kReset, actor_colour(actor), who, kReset,
                           std::string(pad, ' '), error ? "\x1b[31m" : "", indent_continuation(text, column),
                           error ? kReset : "");
    }
    return fmt::format("{}  {}{}{}\n", stamp, who, std::string(pad, ' '), indent_continuation(text, column));
}

void journal_append(const std::string& line) {
    if (g_journal_fd < 0) return;
    std::string_view rest = line;
    // O_APPEND: the kernel places the whole write at the end, atomically with respect to other
    // appenders (all processes of the run share this open file description).
    while (!rest.empty()) {
        const ssize_t n = ::write(g_journal_fd, rest.data(), rest.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write (journal)");
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

// The process's default actor, told by the process layer (it names the process).
std::string g_process_actor = "MainProcess";

void configure_output(const OutputConfig& config) { g_config = config; }
const OutputConfig& output_config() noexcept { return g_config; }

std::string current_actor() {
    if (!t_actor.empty()) return t_actor;
    return g_process_actor;
}

void detail::set_process_actor(std::string name) { g_process_actor = std::move(name); }

void set_thread_actor(std::string name) { t_actor = std::move(name); }

void write_stdout(std::string_view bytes) noexcept {
    while (!bytes.empty()) {
        const ssize_t n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // EPIPE and friends: output is best effort (see the header)
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

namespace detail {
void emit_event(std::string_view actor, std::string_view event, Json fields, std::string_view text,
                std::string_view phase, bool block) {
    if (fields.is_null()) fields = Json::object();
    Json e = {
        {"t", std::round(clock::now() * 1e4) / 1e4},
        {"pid", static_cast<long>(::getpid())},
        {"tid", static_cast<long>(::syscall(SYS_gettid))},
        {"actor", std::string(actor)},
        {"event", std::string(event)},
    };
    if (!phase.empty()) e["phase"] = std::string(phase);
    e["fields"] = std::move(fields);
    e["text"] = std::string(text);
    const std::string line = e.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    journal_append(line);
    switch (g_config.format) {
        case Format::jsonl: write_stdout(line); break;
        case Format::text: {
            const std::string rendered = render_text(e, block);
            if (!rendered.empty()) write_stdout(rendered);
            break;
        }
        case Format::json: break;  // the chapter prints one document itself
    }
}
}  // namespace detail

std::string format_fields(std::string_view format, const Json& fields) {
    fmt::dynamic_format_arg_store<fmt::format_context> args;
    if (fields.is_object()) {
        for (const auto& [name, value] : fields.items()) {
            // fmt copies each name into the store, so the temporaries here are safe.
            switch (value.type()) {
            case Json::value_t::number_integer:
                args.push_back(fmt::arg(name.c_str(), value.get<long long>()));
                break;
            case Json::value_t::number_unsigned:
                args.push_back(fmt::arg(name.c_str(), value.get<unsigned long long>()));
                break;
            case Json::value_t::number_float:
                args.push_back(fmt::arg(name.c_str(), value.get<double>()));
                break;
            case Json::value_t::boolean:
                args.push_back(fmt::arg(name.c_str(), value.get<bool>()));
                break;
            case Json::value_t::string:
                args.push_back(fmt::arg(name.c_str(), value.get<std::string>()));
                break;
            default:
                args.push_back(fmt::arg(name.c_str(), value.dump()));
                break;
            }
        }
    }
    try {
        return fmt::vformat(format, args);
    } catch (const fmt::format_error& e) {
        throw std::logic_error(fmt::format("the text \"{}\" does not fit the fields {}: {}", format,
                                           fields.is_null() ? "{}" : fields.dump(), e.what()));
    }
}

void emit(std::string_view event, Json fields, FromFields text) {
    std::string sentence = format_fields(text.format, fields);
    detail::emit_event(current_actor(), event, std::move(fields), sentence, {});
}

void emit_as(std::string_view actor, std::string_view event, Json fields, FromFields text) {
    std::string sentence = format_fields(text.format, fields);
    detail::emit_event(actor, event, std::move(fields), sentence, {});
}

void emit_block(std::string_view event, Json fields, FromFields text) {
    std::string block = format_fields(text.format, fields);
    detail::emit_event(current_actor(), event, std::move(fields), block, {}, true);
}

Span::Span(std::string name, Json fields, FromFields begin_text)
    : Span(std::move(name), fields, format_fields(begin_text.format, fields)) {}

void Span::end(FromFields end_text, Json fields) {
    if (ended_) return;
    Json f = fields_;
    if (fields.is_object()) f.update(fields);
    end(format_fields(end_text.format, f), std::move(fields));
}

void emit(std::string_view event, Json fields, std::string_view text) {
    detail::emit_event(current_actor(), event, std::move(fields), text, {});
}

void emit_as(std::string_view actor, std::string_view event, Json fields, std::string_view text) {
    detail::emit_event(actor, event, std::move(fields), text, {});
}

void note(std::string_view text) { detail::emit_event("narrator", "note", Json::object(), text, {}); }

void emit_block(std::string_view event, Json fields, std::string_view text) {
    detail::emit_event(current_actor(), event, std::move(fields), text, {}, true);
}

Span::Span(std::string name, Json fields, std::string_view begin_text)
    : name_(std::move(name)), actor_(current_actor()), fields_(fields.is_null() ? Json::object() : fields) {
    detail::emit_event(actor_, name_, fields_, begin_text, "begin");
}

Span::~Span() {
    if (!ended_) {
        try {
            end();
        } catch (...) {
            // A destructor must not throw; the journal write failing here loses one end event.
        }
    }
}

void Span::end(std::string_view end_text, Json fields) {
    if (ended_) return;
    ended_ = true;
    Json f = fields_;
    if (fields.is_object()) f.update(fields);
    detail::emit_event(actor_, name_, std::move(f), end_text, "end");
}

void rest(double logical_seconds) {
    const std::string amount = std::floor(logical_seconds) == logical_seconds
                                   ? fmt::format("{:.0f}", logical_seconds)
                                   : fmt::format("{:.2f}", logical_seconds);
    Span span("rest", {{"seconds", logical_seconds}}, fmt::format("starts resting {} s", amount));
    clock::sleep(logical_seconds);
    span.end(fmt::format("finished resting {} s", amount));
}

namespace journal {

void open() {
    if (g_journal_fd >= 0) return;
    // No MFD_CLOEXEC: a spawned child (posix_spawn of this program) inherits it and adopts it.
    const int fd = check(static_cast<int>(::syscall(SYS_memfd_create, "wb-journal", 0u)), "memfd_create");
    const int flags = check(::fcntl(fd, F_GETFL), "fcntl(F_GETFL)");
    check(::fcntl(fd, F_SETFL, flags | O_APPEND), "fcntl(F_SETFL)");
    g_journal_fd = fd;
}

void adopt(int fd) { g_journal_fd = fd; }

int fd() noexcept { return g_journal_fd; }

std::size_t mark() {
    if (g_journal_fd < 0) return 0;
    struct stat st {};
    check(::fstat(g_journal_fd, &st), "fstat (journal)");
    // The size can fall inside a line another process is still writing (a write that crosses a
    // page of the memfd grows the file page by page): step back to just after the last newline.
    auto end = static_cast<std::size_t>(st.st_size);
    char buf[4096];
    while (end > 0) {
        const std::size_t chunk = std::min(end, sizeof buf);
        const ssize_t n = ::pread(g_journal_fd, buf, chunk, static_cast<off_t>(end - chunk));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("pread (journal)");
        }
        for (std::size_t i = static_cast<std::size_t>(n); i > 0; --i) {
            if (buf[i - 1] == '\n') return end - chunk + i;
        }
        end -= chunk;
    }
    return 0;
}

std::vector<Json> events_since(std::size_t from) {
    std::vector<Json> events;
    if (g_journal_fd < 0) return events;
    const std::size_t end = mark();
    std::string data(end > from ? end - from : 0, '\0');
    std::size_t got = 0;
    while (got < data.size()) {
        const ssize_t n = ::pread(g_journal_fd, data.data() + got, data.size() - got,
                                  static_cast<off_t>(from + got));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("pread (journal)");
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    std::size_t start = 0;
    while (start < got) {
        std::size_t nl = data.find('\n', start);
        if (nl == std::string::npos || nl > got) break;  // an incomplete last line: not yet written
        events.push_back(Json::parse(data.begin() + static_cast<long>(start), data.begin() + static_cast<long>(nl)));
        start = nl + 1;
    }
    return events;
}

}  // namespace journal

void write_trace(const std::string& path) {
    const std::vector<Json> events = journal::events_since(0);
    Json trace = Json::array();
    std::set<long> named_pids;
    for (const Json& e : events) {
        const long pid = e["pid"].get<long>();
        // A process is named after the actor of its main thread (not the narrator's notes).
        if (e["tid"].get<long>() == pid && e["actor"] != "narrator" && named_pids.insert(pid).second) {
            trace.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", pid}, {"tid", pid},
                             {"args", {{"name", e["actor"]}}}});
        }
        Json t = {{"name", e["event"]},
                  {"ts", std::llround(e["t"].get<double>() * 1e6)},  // microseconds of logical time
                  {"pid", pid},
                  {"tid", e["tid"]},
                  {"args", e["fields"]}};
        const std::string phase = e.value("phase", "");
        if (phase == "begin") {
            t["ph"] = "B";
        } else if (phase == "end") {
            t["ph"] = "E";
        } else {
            t["ph"] = "i";
            t["s"] = "t";
            if (!e.value("text", "").empty()) t["args"]["text"] = e["text"];
        }
        trace.push_back(std::move(t));
    }
    const Json doc = {{"traceEvents", std::move(trace)}, {"displayTimeUnit", "ms"},
                      {"otherData", {{"clock", "logical seconds (time scale removed)"}}}};
    const std::string text = doc.dump(1);
    check_trace_path(path);  // again: the file may have been replaced since the run began
    // wb/atomic_file.hpp: a fresh temp file beside the target (O_EXCL through mkostemp: never an
    // existing file, never through a symlink), fsync, then rename over the target: a reader never
    // sees half a trace, and a run killed while writing leaves the old trace whole.
    write_file_atomically(path, text);
}

void check_trace_path(const std::string& path) {
    if (path.empty()) throw std::invalid_argument("--trace needs a file name");
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            throw std::invalid_argument(fmt::format("--trace {}: is a symbolic link; give the file itself", path));
        }
        if (!S_ISREG(st.st_mode)) {
            throw std::invalid_argument(fmt::format(
                "--trace {}: is not a regular file (a directory or device is never replaced)", path));
        }
    } else if (errno != ENOENT) {
        throw std::invalid_argument(fmt::format("--trace {}: {}", path, std::strerror(errno)));
    }
    // Can a file be made beside it? Try it, as the writer will (write_file_atomically's temp file
    // .<name>.XXXXXX in the same directory), and remove it at once.
    const std::filesystem::path target(path);
    if (!target.has_filename()) throw std::invalid_argument(fmt::format("--trace {}: names no file", path));
    std::string probe =
        ((target.has_parent_path() ? target.parent_path() : std::filesystem::path(".")) /
         ("." + target.filename().string() + ".XXXXXX"))
            .string();
    const int fd = ::mkstemp(probe.data());
    if (fd < 0) {
        throw std::invalid_argument(fmt::format("--trace {}: cannot create a file there: {}", path, std::strerror(errno)));
    }
    ::close(fd);
    ::unlink(probe.c_str());
}

}  // namespace wb
