#!/usr/bin/env python3
"""./workbook bench: the workbook's library, the bare mechanism and the seeds' Python, side by side.

Runs every Google Benchmark binary in bench/ (library and bare lines come from the same binary,
--benchmark_format=json) and the Python peers in bench/python/ (one JSON line per measurement) in
N rounds, each round running everything once in a new random order, and prints one table:

    figure | CPUs | library | bare | Python | library/bare | Python/library

Each cell is the median of the repetitions in time per item, with [min-max] beside it. A
measurement whose repetitions differ by more than NOISY_SPREAD (max/min) is marked "noisy", and
a ratio computed from a noisy measurement is marked "~": it says what happened in this run, not
what the machine can do. Ratios are medians divided by medians. Everything is also written as JSON
lines (one per measurement, one per row, one describing the machine) to --out.

--smoke runs a few iterations of everything (for the test suite); --check then verifies that every
expected figure came out as finite positive numbers. No timing is asserted anywhere.
Standard library only.
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOISY_SPREAD = 1.5  # max/min of the repetitions above which a measurement is "noisy"

# The Google Benchmark binaries (built by bench/meson.build) and the Python peers.
BINARIES = ["process-bench", "sync-bench", "socket-bench", "thread-bench", "queue-bench",
            "thread-queue-bench", "executor-bench"]
PEERS = ["process_start.py", "lock.py", "counter.py", "pingpong.py", "socket_echo.py", "threading_peer.py",
         "queues.py", "pool.py", "thread_queue.py", "executor.py"]


class Row:
    """One line of the table: a figure, the library's measurement, one bare one, Python's."""

    def __init__(self, figure, label, cpus, library, bare, bare_label, python):
        self.figure, self.label, self.cpus = figure, label, cpus
        self.library, self.bare, self.bare_label, self.python = library, bare, bare_label, python


def _rows():
    rows = [
        Row("process-fork", "Process start+join, fork", "-",
            "process-fork/library", "process-fork/bare", "fork+waitpid", "process-fork/python"),
        Row("process-spawn", "Process start+join, spawn", "-",
            "process-spawn/library", "process-spawn/bare", "posix_spawn+waitpid", "process-spawn/python"),
        Row("lock-uncontended", "Lock acquire+release, uncontended", "-",
            "lock-uncontended/library", "lock-uncontended/bare-mutex", "robust errorcheck mutex",
            "lock-uncontended/python"),
        Row("lock-uncontended", "  same, bare = sem_t lock (Python's kind)", "-",
            "lock-uncontended/library", "lock-uncontended/bare-sem", "sem_t as a lock",
            "lock-uncontended/python"),
        Row("counter", "2 processes increment a counter under the Lock", "2",
            "counter/library/cpus:2", "counter/bare-mutex/cpus:2", "robust errorcheck mutex",
            "counter/python/cpus:2"),
        Row("counter", "  same, bare = sem_t lock (Python's kind)", "2",
            "counter/library/cpus:2", "counter/bare-sem/cpus:2", "sem_t as a lock",
            "counter/python/cpus:2"),
    ]
    for cpus in (1, 2):
        rows.append(Row("semaphore-pingpong", "Semaphore ping-pong, one round trip", str(cpus),
                        f"semaphore-pingpong/library/cpus:{cpus}", f"semaphore-pingpong/bare/cpus:{cpus}",
                        "two sem_t", f"semaphore-pingpong/python/cpus:{cpus}"))
        rows.append(Row("event-pingpong", "Event ping-pong, one round trip", str(cpus),
                        f"event-pingpong/library/cpus:{cpus}", f"event-pingpong/bare-futex/cpus:{cpus}",
                        "two futex words", f"event-pingpong/python/cpus:{cpus}"))
        rows.append(Row("event-pingpong", "  same, bare = mutex+condvar+flag", str(cpus),
                        f"event-pingpong/library/cpus:{cpus}", f"event-pingpong/bare-condvar/cpus:{cpus}",
                        "mutex+condvar+flag", f"event-pingpong/python/cpus:{cpus}"))
    # Chapter 09: 16-byte round trips through the uppercase echo server (Python: the seed's
    # fork-per-connection server, socketserver.ForkingTCPServer). Connects included for 8.
    for conns in (1, 8):
        for form, label in (("serial", "serial server"), ("process", "process per connection"),
                            ("thread", "thread per connection")):
            rows.append(Row(f"socket-echo-{conns}conn", f"Echo round trip, {conns} conn., {label}", "-",
                            f"socket-echo-{conns}conn/{form}", f"socket-echo-{conns}conn/bare",
                            "blocking C echo loop", f"socket-echo-{conns}conn/python"))
    # Chapters 15-17: threads (Python: threading). The library's lock for threads is std::mutex,
    # chapter 17's; Python's threading.Lock is a semaphore, hence the second bare line.
    rows += [
        Row("thread-start", "Thread start+join", "-",
            "thread-start/library", "thread-start/bare", "std::jthread", "thread-start/python"),
        Row("thread-lock-uncontended", "Thread lock acquire+release, uncontended", "-",
            "thread-lock-uncontended/library", "thread-lock-uncontended/bare-mutex", "pthread mutex",
            "thread-lock-uncontended/python"),
        Row("thread-lock-uncontended", "  same, bare = semaphore (Python's kind)", "-",
            "thread-lock-uncontended/library", "thread-lock-uncontended/bare-sem", "binary semaphore",
            "thread-lock-uncontended/python"),
        Row("thread-counter", "2 threads increment a counter under a lock", "2",
            "thread-counter/library/cpus:2", "thread-counter/bare-mutex/cpus:2", "pthread mutex",
            "thread-counter/python/cpus:2"),
    ]
    # Chapters 13-14: wb::Queue (8-byte items) and wb::ProcessPool (a trivial task), Python's
    # multiprocessing.Queue and Pool beside them. The pool's bare line is forked workers reading
    # tasks from pipes, with no result handles, callbacks or replacement of dead workers.
    rows += [
        Row("queue-throughput", "Queue put+get, 8-byte items, 2 processes", "2",
            "queue-throughput/library/cpus:2", "queue-throughput/bare-ring/cpus:2", "mutex+condvar ring",
            "queue-throughput/python/cpus:2"),
        Row("queue-pingpong", "Queue ping-pong, one round trip", "2",
            "queue-pingpong/library/cpus:2", "queue-pingpong/bare-ring/cpus:2", "mutex+condvar ring",
            "queue-pingpong/python/cpus:2"),
        Row("queue-pingpong", "  same, bare = two pipes", "2",
            "queue-pingpong/library/cpus:2", "queue-pingpong/bare-pipe/cpus:2", "two pipes",
            "queue-pingpong/python/cpus:2"),
        Row("pool-apply-async", "Pool apply_async, trivial task (Python's dispatch)", "2",
            "pool-apply-async/library/cpus:2", "pool-tasks/bare/cpus:2", "bare forked workers",
            "pool-apply-async/python/cpus:2"),
        Row("pool-apply-async", "  same, 8 tasks in flight per worker", "2",
            "pool-apply-async/library-in-flight-8/cpus:2", "pool-tasks/bare/cpus:2", "bare forked workers",
            "pool-apply-async/python/cpus:2"),
        Row("pool-map", "Pool map, per item", "2",
            "pool-map/library/cpus:2", "pool-tasks/bare/cpus:2", "bare forked workers",
            "pool-map/python/cpus:2"),
    ]
    # Chapter 19: wb::threads::Queue between two threads (8-byte items), Python's queue.Queue beside
    # it; the bare queue is a std::mutex, two std::condition_variables and a std::deque.
    # cpus:1 pins both threads to one CPU, where they take turns as Python's do under the GIL.
    for cpus in (2, 1):
        rows += [
            Row("thread-queue-throughput", "Thread queue put+get, 2 threads", str(cpus),
                f"thread-queue-throughput/library/cpus:{cpus}", f"thread-queue-throughput/bare/cpus:{cpus}",
                "mutex+condvar+deque", f"thread-queue-throughput/python/cpus:{cpus}"),
            Row("thread-queue-pingpong", "Thread queue ping-pong, one round trip", str(cpus),
                f"thread-queue-pingpong/library/cpus:{cpus}", f"thread-queue-pingpong/bare/cpus:{cpus}",
                "mutex+condvar+deque", f"thread-queue-pingpong/python/cpus:{cpus}"),
        ]
    # Chapter 20: wb::ThreadPoolExecutor(2) and a trivial task, next to a bare std::mutex +
    # std::condition_variable pool of std::packaged_task and Python's ThreadPoolExecutor(2).
    rows += [
        Row("executor-batch", "ThreadPoolExecutor: 1000 submits, then each result", "2",
            "executor-batch/library/cpus:2", "executor-batch/bare/cpus:2", "mutex+condvar packaged_task pool",
            "executor-batch/python/cpus:2"),
        Row("executor-roundtrip", "ThreadPoolExecutor: submit + result, one at a time", "2",
            "executor-roundtrip/library/cpus:2", "executor-roundtrip/bare/cpus:2", "mutex+condvar packaged_task pool",
            "executor-roundtrip/python/cpus:2"),
        Row("executor-map", "ThreadPoolExecutor: map over 1000 inputs, per input", "2",
            "executor-map/library/cpus:2", "executor-batch/bare/cpus:2", "mutex+condvar packaged_task pool",
            "executor-map/python/cpus:2"),
    ]
    return rows


ROWS = _rows()


def _row(figure, nth=0):
    """The index of the nth row of a figure in ROWS."""
    return [i for i, r in enumerate(ROWS) if r.figure == figure][nth]


# The targets: (row index, ratio, comparison, bound, what it says).
TARGETS = [
    (0, "library/bare", "<=", 1.3, "fork start+join at most 1.3x bare fork+waitpid"),
    (0, "python/library", ">=", 7.0, "fork start+join at least 7x faster than Python's"),
    (1, "library/bare", "<=", 1.3, "spawn start+join at most 1.3x bare posix_spawn of the same program"),
    (1, "python/library", ">=", 30.0, "spawn start+join at least 30x faster than Python's"),
    (2, "library/bare", "<=", 1.2, "Lock uncontended at most 1.2x the bare robust mutex"),
    (4, "python/library", ">=", 15.0, "contended counter at least 15x faster than Python's"),
    (_row("queue-throughput"), "library/bare", "<=", 2.0, "Queue at least half the bare ring's items/s"),
    (_row("queue-throughput"), "python/library", ">=", 30.0, "Queue at least 30x Python's items/s"),
    (_row("pool-apply-async"), "python/library", ">=", 10.0,
     "apply_async at least 10x Python's tasks/s (Python's dispatch: a task to the first free worker)"),
    (_row("pool-apply-async", 1), "python/library", ">=", 10.0,
     "apply_async at least 10x Python's tasks/s (8 tasks in flight per worker)"),
    # Issue 13: at least 0.7x the bare queue's items/s (time per item at most 1/0.7 = 1.43x), at
    # least 30x Python's queue.Queue.
    (_row("thread-queue-throughput"), "library/bare", "<=", 1 / 0.7,
     "thread Queue at least 0.7x the bare queue's items/s"),
    (_row("thread-queue-throughput"), "python/library", ">=", 30.0, "thread Queue at least 30x Python's items/s"),
    (_row("thread-queue-pingpong"), "library/bare", "<=", 1 / 0.7,
     "thread Queue ping-pong at least 0.7x the bare queues' round trips/s"),
    (_row("thread-queue-pingpong"), "python/library", ">=", 30.0,
     "thread Queue ping-pong at least 30x Python's round trips/s"),
    (_row("thread-queue-throughput", 1), "library/bare", "<=", 1 / 0.7,
     "thread Queue at least 0.7x the bare queue's items/s, both threads on one CPU"),
    (_row("thread-queue-throughput", 1), "python/library", ">=", 30.0,
     "thread Queue at least 30x Python's items/s, both threads on one CPU"),
    (_row("executor-batch"), "python/library", ">=", 10.0, "ThreadPoolExecutor at least 10x Python's tasks/s"),
]


def say(text):
    print(text, file=sys.stderr, flush=True)


# ---- measuring ---------------------------------------------------------------------------------

def run_job(command, timeout, cwd=None):
    """Runs one binary or peer in its own process group and returns its CompletedProcess. On a
    timeout or Ctrl-C the whole group is killed, so no partner process blocked on a semaphore
    outlives the run."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=cwd, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def run_binary(path, min_time, timeout):
    """Runs one Google Benchmark binary once (one repetition of each benchmark, in a random order);
    returns ({name: [ns per item]}, {name: error}, the report's context)."""
    command = [str(path), "--benchmark_format=json", "--benchmark_repetitions=1",
               f"--benchmark_min_time={min_time}", "--benchmark_enable_random_interleaving=true"]
    done = run_job(command, timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{path.name} exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    report = json.loads(done.stdout)
    results, errors = {}, {}
    for run in report["benchmarks"]:
        if run.get("run_type", "iteration") != "iteration":
            continue  # Google Benchmark's own aggregates: we compute ours from the repetitions
        name = run.get("run_name", run["name"])
        for suffix in ("/real_time", "/manual_time"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
        if run.get("error_occurred"):
            errors[name] = run.get("error_message", "error")
            continue
        rate = run.get("items_per_second")
        if not rate:
            errors[name] = "no items_per_second in the report"
            continue
        results.setdefault(name, []).append(1e9 / rate)
    return results, errors, report.get("context", {})


def run_peer(script, smoke, timeout):
    """Runs one Python peer once (one repetition of each of its measurements)."""
    command = [sys.executable, str(HERE / "python" / script), "--repetitions=1"]
    if smoke:
        command.append("--smoke")
    done = run_job(command, timeout, cwd=HERE / "python")
    if done.returncode != 0:
        raise RuntimeError(f"python/{script} exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    results = {}
    for line in done.stdout.splitlines():
        if line.strip():
            record = json.loads(line)
            results[record["name"]] = [float(v) for v in record["ns_per_item"]]
    return results


def summarise(values):
    low, high = min(values), max(values)
    return {
        "median": statistics.median(values),
        "min": low,
        "max": high,
        "spread": high / low if low > 0 else None,
        "noisy": low <= 0 or high / low > NOISY_SPREAD,
        "repetitions": values,
    }


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def build_options(build_dir):
    try:
        options = json.loads((build_dir / "meson-info" / "intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return {}
    wanted = {"buildtype", "b_sanitize", "b_ndebug"}
    return {o["name"]: o["value"] for o in options if o["name"] in wanted}


def machine(build_dir):
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "cores_allowed": len(os.sched_getaffinity(0)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "build": build_options(build_dir),
    }


# ---- the table --------------------------------------------------------------------------------

def human(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.3g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3g} us"
    return f"{ns:.3g} ns"


def cell(summary):
    if summary is None:
        return "n/a"
    text = f"{human(summary['median'])} [{human(summary['min'])}-{human(summary['max'])}]"
    return text + (" noisy" if summary["noisy"] else "")


def ratio(numerator, denominator):
    if numerator is None or denominator is None:
        return None
    return numerator["median"] / denominator["median"]


def ratio_cell(value, *parts):
    if value is None:
        return "n/a"
    firm = all(p is not None and not p["noisy"] for p in parts)
    return f"{'' if firm else '~'}{value:.2f}"


def make_rows(measured):
    rows = []
    for row in ROWS:
        lib, bare, py = (measured.get(row.library), measured.get(row.bare), measured.get(row.python))
        rows.append({
            "figure": row.figure, "label": row.label.strip(), "cpus": row.cpus,
            "library": row.library, "bare": row.bare, "bare_label": row.bare_label, "python": row.python,
            "library_median_ns": lib and lib["median"], "bare_median_ns": bare and bare["median"],
            "python_median_ns": py and py["median"],
            "library/bare": ratio(lib, bare), "python/library": ratio(py, lib),
            "firm": all(p is not None and not p["noisy"] for p in (lib, bare, py)),
        })
    return rows


def print_table(measured, rows, info, extra, out):
    header = ["figure", "CPUs", "library (wb::)", "bare", "bare is", "Python", "lib/bare", "Py/lib"]
    lines = []
    for spec, row in zip(ROWS, rows):
        lib, bare, py = measured.get(spec.library), measured.get(spec.bare), measured.get(spec.python)
        lines.append([spec.label, spec.cpus, cell(lib), cell(bare), spec.bare_label, cell(py),
                      ratio_cell(row["library/bare"], lib, bare), ratio_cell(row["python/library"], py, lib)])
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines)]

    def fmt(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    build = info["build"]
    print(f"Machine: {info['cpu_model']}, {info['cores']} cores ({info['cores_allowed']} allowed), "
          f"load average {' '.join(map(str, info['load_average']))} at the start, "
          f"{' '.join(map(str, info['load_average_end']))} at the end", file=out)
    print(f"Python {info['python']}, Linux {info['kernel']}, build {build.get('buildtype', '?')}"
          f" (sanitize: {build.get('b_sanitize', '?')}), {info['date']}, "
          f"{info['repetitions']} repetitions per measurement", file=out)
    if build.get("b_sanitize", "none") != "none":
        print("WARNING: a sanitized build: the library and bare figures are not what a release build does",
              file=out)
    print("", file=out)
    print(fmt(header), file=out)
    print(fmt(["-" * w for w in widths]), file=out)
    for line in lines:
        print(fmt(line), file=out)
    print("", file=out)
    print("Time per item: the median of the repetitions [min-max]; wall-clock time, except the "
          "uncontended Lock (CPU time of its one process). An item is one start+join, one "
          "acquire+release, one increment, one round trip.", file=out)
    print(f"CPUs: 1 = both processes pinned to one CPU, 2 = one process per CPU, - = not pinned. "
          f"noisy: max/min of the repetitions > {NOISY_SPREAD}; ~ratio: computed from a noisy "
          "measurement, not firm.", file=out)
    print("lib/bare: what the library adds (1.00 = nothing). Py/lib: how many times longer the "
          "seeds' Python takes.", file=out)
    if extra:
        print("\nAlso measured (no Python peer):", file=out)
        for name, summary in sorted(extra.items()):
            print(f"  {name:<34} {cell(summary)}", file=out)
    print("\nTargets (issues 9 and 13):", file=out)
    for index, which, op, bound, text in TARGETS:
        value = rows[index][which]
        if value is None:
            verdict = "not measured"
        else:
            met = value <= bound if op == "<=" else value >= bound
            verdict = f"{'met' if met else 'MISSED'} ({which} = {value:.2f}{'' if rows[index]['firm'] else ', not firm: noisy'})"
        print(f"  {text}: {verdict}", file=out)


# ---- checking (the smoke test) -----------------------------------------------------------------

def expected_names():
    names = set()
    for row in ROWS:
        names.update((row.library, row.bare, row.python))
    return names


def check(path):
    """Problems with the JSON lines at `path`: every figure present, every number finite and > 0."""
    problems = []
    measurements, rows, machines = {}, [], []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError as error:
            problems.append(f"line {number} is not JSON: {error}")
            continue
        kind = record.get("type")
        if kind == "measurement":
            measurements[record["name"]] = record
        elif kind == "row":
            rows.append(record)
        elif kind == "machine":
            machines.append(record)
        else:
            problems.append(f"line {number}: unknown type {kind!r}")

    def positive(value):
        return isinstance(value, (int, float)) and math.isfinite(value) and value > 0

    for name in sorted(expected_names()):
        record = measurements.get(name)
        if record is None:
            problems.append(f"figure {name} is missing")
            continue
        values = record.get("repetitions", [])
        if not values or not all(positive(v) for v in values):
            problems.append(f"figure {name}: repetitions {values} are not finite positive numbers")
        for key in ("median", "min", "max"):
            if not positive(record.get(key)):
                problems.append(f"figure {name}: {key} = {record.get(key)!r}")
    if len(rows) != len(ROWS):
        problems.append(f"{len(rows)} table rows, expected {len(ROWS)}")
    for row in rows:
        for key in ("library/bare", "python/library"):
            if not positive(row.get(key)):
                problems.append(f"row {row.get('label')!r}: {key} = {row.get(key)!r}")
    if len(machines) != 1 or not machines[0].get("cpu_model") or not machines[0].get("python"):
        problems.append("the machine description is missing or incomplete")
    return problems


# ---- main --------------------------------------------------------------------------------------

def main():
    # SIGTERM ends the run like Ctrl-C: run_job kills the running job's process group first.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=HERE.parent / "build")
    parser.add_argument("--repetitions", type=int, default=7, help="repetitions of every measurement (default 7)")
    parser.add_argument("--min-time", type=float, default=0.2,
                        help="Google Benchmark's minimum time per repetition, seconds (default 0.2)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the order of each round (default: random)")
    parser.add_argument("--smoke", action="store_true",
                        help="a few iterations of everything, 2 repetitions (the test suite's run)")
    parser.add_argument("--check", action="store_true",
                        help="verify afterwards that every figure is present and well-formed")
    parser.add_argument("--out", type=Path, default=None,
                        help="the JSON lines file (default BUILD_DIR/bench-results.jsonl)")
    args = parser.parse_args()
    if args.smoke:
        args.repetitions, args.min_time = 2, 0.001
    if args.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    out_path = args.out or args.build_dir / "bench-results.jsonl"

    info = machine(args.build_dir)
    info["repetitions"] = args.repetitions
    started = time.monotonic()
    raw, errors = {}, {}
    # Rounds: each round runs every binary and every peer once (one repetition each), in a new
    # random order. A burst of load from elsewhere then lands on the library, the bare and the
    # Python sides alike instead of skewing whichever ran during it; the repetitions of one
    # measurement are spread over the whole run.
    jobs = [("binary", b) for b in BINARIES] + [("peer", p) for p in PEERS]
    for kind, name in jobs:
        if kind == "binary" and not (args.build_dir / "bench" / name).exists():
            sys.exit(f"run_bench: {args.build_dir / 'bench' / name} is missing: build it first "
                     "(./workbook setup, or meson compile -C build)")
    order = random.Random(args.seed)
    for round_number in range(1, args.repetitions + 1):
        order.shuffle(jobs)
        say(f"bench: round {round_number} of {args.repetitions}: {', '.join(name for _, name in jobs)}")
        for kind, name in jobs:
            if kind == "binary":
                results, binary_errors, context = run_binary(args.build_dir / "bench" / name, args.min_time,
                                                             timeout=600)
                errors.update(binary_errors)
                info.setdefault("benchmark_library", {})[name] = {
                    k: context.get(k) for k in ("library_build_type", "num_cpus", "mhz_per_cpu")}
            else:
                results = run_peer(name, args.smoke, timeout=600)
            for measurement, values in results.items():
                raw.setdefault(measurement, []).extend(values)
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    info["seconds"] = round(time.monotonic() - started, 1)

    measured = {name: summarise(values) for name, values in raw.items()}
    rows = make_rows(measured)
    wanted = expected_names()
    extra = {name: s for name, s in measured.items() if name not in wanted}

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as out:
        out.write(json.dumps({"type": "machine", **info}) + "\n")
        for name, summary in sorted(measured.items()):
            out.write(json.dumps({"type": "measurement", "name": name, "unit": "ns per item", **summary}) + "\n")
        for row in rows:
            out.write(json.dumps({"type": "row", **row}) + "\n")

    print_table(measured, rows, info, extra, sys.stdout)
    for name, message in sorted(errors.items()):
        print(f"ERROR in {name}: {message}")
    print(f"\nResults as JSON lines: {out_path} ({info['seconds']} s)")

    if args.check:
        problems = check(out_path) + [f"{name}: {message}" for name, message in sorted(errors.items())]
        for problem in problems:
            print(f"check: {problem}")
        print(f"check: {'FAILED' if problems else 'every figure present and well-formed'}")
        return 1 if problems else 0
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as error:
        # A benchmark or peer that failed, hung or printed something that is not its JSON.
        sys.exit(f"run_bench: error: {error}")
