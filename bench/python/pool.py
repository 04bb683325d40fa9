"""Python peer of pool-apply-async and pool-map (bench/queue_bench.cpp): multiprocessing.Pool(2).

apply_async: batches of 1000 apply_async(trivial, (i,)) calls, then get() on each; one item = one
task. map: pool.map(trivial, range(1000)) with the default chunk size; one item = one input.
The pool is started once per measurement, outside the timed part (as in the C++ benchmark).
Standard library only.
"""
import multiprocessing
import time

import peer

BATCH = 1000


def trivial(x):
    return x + 1


def apply_async(pool, batches):
    begin = time.perf_counter_ns()
    for _ in range(batches):
        results = [pool.apply_async(trivial, (i,)) for i in range(BATCH)]
        for r in results:
            r.get()
    return (time.perf_counter_ns() - begin) / (batches * BATCH)


def pool_map(pool, batches):
    inputs = range(BATCH)
    begin = time.perf_counter_ns()
    for _ in range(batches):
        pool.map(trivial, inputs)
    return (time.perf_counter_ns() - begin) / (batches * BATCH)


def main():
    args = peer.parse_args(__doc__, 10)
    batches = peer.items(args, 10, 1)
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        pool.map(trivial, range(10))  # warm-up: the workers run
        values = [apply_async(pool, batches) for _ in range(args.repetitions)]
        peer.report("pool-apply-async/python/cpus:2", values, batches * BATCH)
        values = [pool_map(pool, batches) for _ in range(args.repetitions)]
        peer.report("pool-map/python/cpus:2", values, batches * BATCH)


if __name__ == "__main__":
    main()
