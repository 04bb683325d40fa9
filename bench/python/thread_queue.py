"""Python peer of bench/thread_queue_bench.cpp: the seeds' queue.Queue between two threads.

  thread-queue-throughput/python/cpus:2   a producer thread puts ints into queue.Queue(1024), the
                                          main thread gets them; one item = one put + one get
  thread-queue-pingpong/python/cpus:2     one round trip: main puts into one queue.Queue, a partner
                                          thread gets it and puts it + 1 into another, main gets it

Both in real time, threads not pinned (as the C++ figures). Under the GIL the two threads take
turns, as they do in the seeds. Each prints one JSON line per measurement through peer.report
(bench/python/peer.py).
"""
import queue
import threading
import time

import peer

CAPACITY = 1024


def throughput(repetitions, count):
    values = []
    for _ in range(repetitions):
        q = queue.Queue(CAPACITY)

        def produce():
            for i in range(count):
                q.put(i)

        producer = threading.Thread(target=produce)
        begin = time.perf_counter_ns()
        producer.start()
        total = 0
        for _ in range(count):
            total += q.get()
        elapsed = time.perf_counter_ns() - begin
        producer.join()
        if total != count * (count - 1) // 2:
            raise SystemExit("an item was lost or duplicated")
        values.append(elapsed / count)
    peer.report("thread-queue-throughput/python/cpus:2", values, count)


def pingpong(repetitions, count):
    values = []
    for _ in range(repetitions):
        ping, pong = queue.Queue(CAPACITY), queue.Queue(CAPACITY)

        def answer():
            for _ in range(count):
                pong.put(ping.get() + 1)

        partner = threading.Thread(target=answer)
        partner.start()
        value = 0
        begin = time.perf_counter_ns()
        for _ in range(count):
            ping.put(value)
            value = pong.get()
        elapsed = time.perf_counter_ns() - begin
        partner.join()
        if value != count:
            raise SystemExit(f"a round trip went wrong: {value}")
        values.append(elapsed / count)
    peer.report("thread-queue-pingpong/python/cpus:2", values, count)


def main():
    args = peer.parse_args(__doc__, 100000)
    throughput(args.repetitions, peer.items(args, 200000, 100))
    pingpong(args.repetitions, peer.items(args, 50000, 100))


if __name__ == "__main__":
    main()
