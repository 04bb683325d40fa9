"""What every Python peer shares: its command line, pinning, and the JSON it prints.

A peer measures the seeds' Python doing what one C++ figure does (bench/sync_bench.cpp,
bench/process_bench.cpp) and prints one JSON object per measurement on stdout:

    {"name": "process-fork/python", "ns_per_item": [r1, r2, ...], "items": n}

one value per repetition, in nanoseconds per item (an item is what the figure counts: one
start+join, one acquire+release, one increment, one round trip). bench/run_bench.py reads them.
Standard library only.
"""
import argparse
import json
import os
import sys


def parse_args(description, default_items):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repetitions", type=int, default=5, help="repetitions of each measurement")
    parser.add_argument("--items", type=int, default=None,
                        help=f"items per repetition (default {default_items})")
    parser.add_argument("--smoke", action="store_true", help="a few items only: checks that it runs")
    args = parser.parse_args()
    if args.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    return args


def items(args, normal, smoke):
    if args.items is not None:
        return args.items
    return smoke if args.smoke else normal


def report(name, ns_per_item, count):
    print(json.dumps({"name": name, "ns_per_item": ns_per_item, "items": count}), flush=True)


def allowed_cpus():
    return sorted(os.sched_getaffinity(0))


def placement(cpus):
    """(this process's CPU, the partner's CPU) for one CPU or two, as the C++ benchmarks pin."""
    allowed = allowed_cpus()
    if len(allowed) < cpus:
        sys.exit(f"needs {cpus} CPUs, this process may use {len(allowed)}")
    return allowed[0], (allowed[0] if cpus == 1 else allowed[1])


def pin(cpu):
    os.sched_setaffinity(0, {cpu})


def with_partner(context, target, args, timed):
    """Runs timed() while target(*args) runs in a partner process started from `context`.

    timed() does the measured loop and returns what it measured; the partner is joined whatever
    happens, and a partner that failed makes the measurement fail (RuntimeError) rather than
    count.
    """
    partner = context.Process(target=target, args=args)
    partner.start()
    try:
        result = timed()
    finally:
        partner.join()
    if partner.exitcode != 0:
        raise RuntimeError(f"the partner ended with exit code {partner.exitcode}")
    return result
