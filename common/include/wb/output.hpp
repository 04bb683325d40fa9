// wb/output.hpp - the event/output layer: one stream of events, several renderings.
//
// What it is
//   Chapters do not print; they emit events. An event is (logical time, pid, thread id, actor,
//   event name, fields, text): "Process-1 (pid 4242) began a 2 s rest at t=0.01". From that one
//   stream the layer renders
//     - human text on stdout (default): "  0.01  Process-1[4242]  starts resting 2 s",
//       coloured by actor only when stdout is a terminal, --color is not off and NO_COLOR is unset;
//     - JSON lines on stdout with --format jsonl, one object per event (schema: docs/events.md);
//     - a journal: every event of every process of the run, appended to one anonymous memory file
//       (memfd) the children inherit. The timeline renderer (wb/timeline.hpp) and the
//       --trace writer (Chrome trace-event JSON for Perfetto / chrome://tracing) read it.
//
// Guarantees
//   - One event is one write(2) of one whole line (or one block for multi-line text such as a
//     timeline). On a pipe, writes up to PIPE_BUF (4096 bytes) are atomic, and on a file the kernel
//     serialises writes through the shared file offset, so lines from many processes never tear.
//   - Nothing goes through stdio buffers, so nothing emitted before a fork is printed twice;
//     Process::start() still flushes stdio first, for code that uses printf/std::cout directly.
//   - Events of a process appear in the order it emitted them. Between processes, the order of
//     lines is the order of the writes, which is why tests check properties, not line order.
// Errors
//   A failed write to stdout (EPIPE when the reader has gone) is ignored: output is best effort,
//   the program's work and exit status are not changed by it. A failed journal write throws.
// Thread-safety
//   emit(), emit_as(), note(), emit_block(), rest(), Span and the journal's readers may be called
//   from several threads at once: each event is built in the calling thread's own memory and
//   leaves in one write(2) (the kernel orders the writes), and the configuration they read is
//   only written before any thread starts. set_thread_actor() names the *calling* thread's actor
//   (thread_local): wb::Thread sets it to the thread's name, a bare std::thread should set its
//   own, or its events are attributed to the process's name. configure_output(), journal::open()
//   and journal::adopt() are for the driver, before any thread starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb {

using Json = nlohmann::json;

enum class Format { text, jsonl, json };

struct OutputConfig {
    Format format = Format::text;
    bool color = false;        // already resolved: terminal, --color/--no-color, NO_COLOR
    std::string trace_path;    // empty: no trace
};

// Set by the chapter driver (and, in a spawned child, from the parent's settings).
void configure_output(const OutputConfig& config);
[[nodiscard]] const OutputConfig& output_config() noexcept;

// The actor name events are attributed to by default: the current process's name
// ("MainProcess", "Process-2", ...) unless a thread set its own with set_thread_actor().
[[nodiscard]] std::string current_actor();
// Names the calling thread's actor (thread chapters); an empty name restores the default.
void set_thread_actor(std::string name);

// A sentence made from the event's own fields, so that what is printed and what the JSON
// carries are written once and cannot disagree: `format` is a fmt format string whose named
// arguments are the fields,
//
//     wb::emit("join.done", {{"exitcode", code}, {"waited", watch.elapsed()}},
//              wb::from_fields("join() returned after {waited:.2f} s; exit code {exitcode}"));
//
// Integers, floating-point numbers, booleans and strings format as themselves (so format specs
// such as :.2f or :>3 apply); null, arrays and objects as their JSON text. A placeholder that names
// no field is a programming error: std::logic_error naming the event (the chapter's tests find it
// on the first run). Literal braces are written {{ and }}, as in fmt.
struct FromFields {
    // Explicit, so that a plain string (or {}) is never taken for a format by accident.
    explicit constexpr FromFields(std::string_view f) noexcept : format(f) {}
    std::string_view format;
};
[[nodiscard]] constexpr FromFields from_fields(std::string_view format) noexcept { return FromFields{format}; }
// The text a FromFields gives for these fields (what emit prints).
[[nodiscard]] std::string format_fields(std::string_view format, const Json& fields);

// Emits one event as the current actor. `fields` must be a JSON object (or null for none);
// `text` is the human sentence shown in text mode. Prefer the FromFields form whenever the
// sentence shows a value that is also a field.
void emit(std::string_view event, Json fields, std::string_view text);
void emit(std::string_view event, Json fields, FromFields text);
// The same with an explicit actor.
void emit_as(std::string_view actor, std::string_view event, Json fields, std::string_view text);
void emit_as(std::string_view actor, std::string_view event, Json fields, FromFields text);

// Narration: what the reader should notice. Event "note", actor "narrator"; printed without a
// time stamp, as the lesson's prose between the events.
void note(std::string_view text);

// A block: multi-line content (a chart, a table) emitted as one event and, in text mode, printed
// as-is under the last line, indented. The fields carry the same content as data for the tests.
void emit_block(std::string_view event, Json fields, std::string_view text);
void emit_block(std::string_view event, Json fields, FromFields text);

// A span: something that lasts (a rest, a wait, a lock hold). Emits `<name>` with
// "phase":"begin" now and "phase":"end" when end() is called or the Span is destroyed.
// The timeline and the trace draw spans as bars.
class Span {
public:
    Span(std::string name, Json fields, std::string_view begin_text);
    // The begin text made from the span's fields.
    Span(std::string name, Json fields, FromFields begin_text);
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    ~Span();
    // Ends the span now with its own text (and extra fields). Idempotent.
    void end(std::string_view end_text = {}, Json fields = nullptr);
    // The end text made from the span's fields with the end's extra fields merged in.
    void end(FromFields end_text, Json fields = nullptr);

private:
    std::string name_;
    std::string actor_;
    Json fields_;
    bool ended_ = false;
};

// Convenience for the seeds' favourite step: a span "rest" around a scaled sleep.
// Emits "<actor> starts resting N s" / "<actor> finished resting".
void rest(double logical_seconds);

namespace journal {
// The journal of the run: every event of every process, in write order, as JSON objects.
// mark() is a position; events_since(mark) reads everything appended after it.
[[nodiscard]] std::size_t mark();
[[nodiscard]] std::vector<Json> events_since(std::size_t mark);
// The file descriptor (for a spawned child to inherit), or -1 if there is no journal.
[[nodiscard]] int fd() noexcept;
}  // namespace journal

// Writes the Chrome trace-event JSON for the whole journal to `path` (a new temp file beside it,
// then rename). Checks the path again first (check_trace_path).
void write_trace(const std::string& path);
// Throws std::invalid_argument unless `path` can take a trace: it is absent or a regular file
// (never a directory, a device such as /dev/null, or a symbolic link, which rename would
// replace), and a file can be created in its directory. The driver calls it before any demo
// runs, so a bad --trace is a usage error (exit 2), not a failure after the whole run.
void check_trace_path(const std::string& path);

// Low level: writes `bytes` to fd 1 in one write(2) (loops only on partial writes).
void write_stdout(std::string_view bytes) noexcept;

}  // namespace wb
