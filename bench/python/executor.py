"""Python peer of bench/executor_bench.cpp: concurrent.futures.ThreadPoolExecutor(2).

  executor-batch/python/cpus:2      1000 submit(trivial, i), then result() of each; one item = one task
  executor-roundtrip/python/cpus:2  submit(trivial, x).result() one at a time; one item = one round trip
  executor-map/python/cpus:2        list(executor.map(trivial, range(1000))); one item = one input

The executor is started once, outside the timed part (as in the C++ benchmark), and warmed up so
that both workers exist. Standard library only.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import peer

BATCH = 1000


def trivial(x):
    return x + 1


def batch(executor, batches):
    begin = time.perf_counter_ns()
    total = 0
    for _ in range(batches):
        futures = [executor.submit(trivial, i) for i in range(BATCH)]
        for f in futures:
            total += f.result()
    return (time.perf_counter_ns() - begin) / (batches * BATCH)


def roundtrip(executor, count):
    begin = time.perf_counter_ns()
    x = 0
    for _ in range(count):
        x = executor.submit(trivial, x).result()
    return (time.perf_counter_ns() - begin) / count


def mapped(executor, batches):
    begin = time.perf_counter_ns()
    total = 0
    for _ in range(batches):
        total += sum(executor.map(trivial, range(BATCH)))
    return (time.perf_counter_ns() - begin) / (batches * BATCH)


def main():
    args = peer.parse_args(__doc__, 20)
    batches = peer.items(args, 20, 1)
    count = peer.items(args, 20000, 100)
    with ThreadPoolExecutor(2) as executor:
        list(executor.map(trivial, range(100)))  # warm-up: the workers run
        peer.report("executor-batch/python/cpus:2", [batch(executor, batches) for _ in range(args.repetitions)],
                    batches * BATCH)
        peer.report("executor-roundtrip/python/cpus:2",
                    [roundtrip(executor, count) for _ in range(args.repetitions)], count)
        peer.report("executor-map/python/cpus:2", [mapped(executor, batches) for _ in range(args.repetitions)],
                    batches * BATCH)


if __name__ == "__main__":
    main()
