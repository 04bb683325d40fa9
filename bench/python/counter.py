"""Python peer of counter: two processes, one per CPU, each incrementing one shared
multiprocessing.Value under a multiprocessing.Lock (`with lock: counter.value += 1`).

The Value is made with lock=False, so each increment takes exactly one lock, the explicit one, as
in the C++ figure (Value's default lock=True would add an RLock around every .value access).
One item = one increment by either process, counted while both run: the counter's value when
this process's timed loop ends, the same definition as the C++ benchmark.
"""
import multiprocessing
import os
import time

import peer


def increment(lock, counter, barrier, cpu, count):
    peer.pin(cpu)
    barrier.wait()
    for _ in range(count):
        with lock:
            counter.value += 1


def measure(context, mine, partner_cpu, count):
    lock = context.Lock()
    counter = context.Value("l", 0, lock=False)
    barrier = context.Barrier(2)

    def timed():
        barrier.wait()
        begin = time.perf_counter_ns()
        for _ in range(count):
            with lock:
                counter.value += 1
        elapsed = time.perf_counter_ns() - begin
        with lock:
            return elapsed, counter.value

    elapsed, together = peer.with_partner(context, increment, (lock, counter, barrier, partner_cpu, count), timed)
    if counter.value != 2 * count:
        raise RuntimeError("the counter lost increments")
    return elapsed / together


def main():
    args = peer.parse_args(__doc__, 20000)
    count = peer.items(args, 20000, 50)
    context = multiprocessing.get_context("fork")
    previous = os.sched_getaffinity(0)
    mine, partner_cpu = peer.placement(2)
    peer.pin(mine)
    try:
        values = [measure(context, mine, partner_cpu, count) for _ in range(args.repetitions)]
    finally:
        os.sched_setaffinity(0, previous)
    peer.report("counter/python/cpus:2", values, count)


if __name__ == "__main__":
    main()
