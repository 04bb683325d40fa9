"""Python peers of bench/thread_bench.cpp: the seeds' threading module doing the same things.

  thread-start/python                threading.Thread(target=f).start(); .join()   (real time)
  thread-lock-uncontended/python     threading.Lock acquire+release, nobody else wanting it,
                                     written as `with lock:` (CPU time, as the C++ figure)
  thread-counter/python/cpus:2       two threads add 1 to one counter under `with lock`, one item
                                     = one increment (real time); under the GIL they take turns

Each prints one JSON line per measurement through peer.report (bench/python/peer.py).
"""
import threading
import time

import peer


def nothing():
    pass


def thread_start(repetitions, count):
    values = []
    for _ in range(repetitions):
        begin = time.perf_counter_ns()
        for _ in range(count):
            t = threading.Thread(target=nothing)
            t.start()
            t.join()
        values.append((time.perf_counter_ns() - begin) / count)
    peer.report("thread-start/python", values, count)


def lock_uncontended(repetitions, count):
    lock = threading.Lock()
    values = []
    counter = 0
    for _ in range(repetitions):
        begin = time.process_time_ns()
        for _ in range(count):
            with lock:
                counter += 1
        values.append((time.process_time_ns() - begin) / count)
    peer.report("thread-lock-uncontended/python", values, count)


def counter_contended(repetitions, per_thread):
    values = []
    for _ in range(repetitions):
        lock = threading.Lock()
        box = [0]

        def add():
            for _ in range(per_thread):
                with lock:
                    box[0] = box[0] + 1

        threads = [threading.Thread(target=add) for _ in range(2)]
        begin = time.perf_counter_ns()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter_ns() - begin
        if box[0] != 2 * per_thread:
            raise SystemExit(f"lost an update under the lock: {box[0]}")
        values.append(elapsed / (2 * per_thread))
    peer.report("thread-counter/python/cpus:2", values, 2 * per_thread)


def main():
    args = peer.parse_args(__doc__, 20000)
    repetitions = args.repetitions
    thread_start(repetitions, peer.items(args, 5000, 50))
    lock_uncontended(repetitions, peer.items(args, 500000, 100))
    counter_contended(repetitions, peer.items(args, 100000, 100) // 2 or 1)


if __name__ == "__main__":
    main()
