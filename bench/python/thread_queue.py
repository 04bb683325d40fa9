"""Python peer of bench/thread_queue_bench.cpp: the seeds' queue.Queue between two threads.

  thread-queue-throughput/python/cpus:2   a producer thread puts ints into queue.Queue(1024), the
                                          main thread gets them; one item = one put + one get
  thread-queue-pingpong/python/cpus:2     one round trip: main puts into one queue.Queue, a partner
                                          thread gets it and puts it + 1 into another, main gets it

Both in real time. cpus:2: threads not pinned; cpus:1: both threads pinned to one CPU (as the C++
figures). Under the GIL the two threads take turns either way, as they do in the seeds. Each prints one JSON line per measurement through peer.report
(bench/python/peer.py).
"""
import os
import queue
import threading
import time

import peer

CAPACITY = 1024


def pinned(cpus, measure):
    """Runs `measure` with this thread (and the threads it starts) on one CPU when cpus is 1."""
    allowed = peer.allowed_cpus()
    if cpus == 1:
        peer.pin(allowed[0])
    try:
        return measure()
    finally:
        os.sched_setaffinity(0, allowed)


def throughput(repetitions, count, cpus):
    values = []
    for _ in range(repetitions):
        q = queue.Queue(CAPACITY)

        def produce():
            for i in range(count):
                q.put(i)

        def measure():
            producer = threading.Thread(target=produce)
            begin = time.perf_counter_ns()
            producer.start()
            total = 0
            for _ in range(count):
                total += q.get()
            elapsed = time.perf_counter_ns() - begin
            producer.join()
            return total, elapsed

        total, elapsed = pinned(cpus, measure)
        if total != count * (count - 1) // 2:
            raise SystemExit("an item was lost or duplicated")
        values.append(elapsed / count)
    peer.report(f"thread-queue-throughput/python/cpus:{cpus}", values, count)


def pingpong(repetitions, count, cpus):
    values = []
    for _ in range(repetitions):
        ping, pong = queue.Queue(CAPACITY), queue.Queue(CAPACITY)

        def answer():
            for _ in range(count):
                pong.put(ping.get() + 1)

        def measure():
            partner = threading.Thread(target=answer)
            partner.start()
            value = 0
            begin = time.perf_counter_ns()
            for _ in range(count):
                ping.put(value)
                value = pong.get()
            elapsed = time.perf_counter_ns() - begin
            partner.join()
            return value, elapsed

        value, elapsed = pinned(cpus, measure)
        if value != count:
            raise SystemExit(f"a round trip went wrong: {value}")
        values.append(elapsed / count)
    peer.report(f"thread-queue-pingpong/python/cpus:{cpus}", values, count)


def main():
    args = peer.parse_args(__doc__, 100000)
    for cpus in (2, 1):
        throughput(args.repetitions, peer.items(args, 200000, 100), cpus)
        pingpong(args.repetitions, peer.items(args, 50000, 100), cpus)


if __name__ == "__main__":
    main()
