"""Python peer of queue-throughput and queue-pingpong (bench/queue_bench.cpp), across two CPUs.

Throughput: a producer process puts `count` small ints into multiprocessing.Queue(1024), the
parent gets them; one item = one get. Ping-pong: two Queue(1024); the parent puts a number, the
partner gets it and puts it + 1 back, the parent gets it; one item = one round trip.
Standard library only.
"""
import multiprocessing
import os
import time

import peer


def produce(q, cpu, count):
    peer.pin(cpu)
    for i in range(count):
        q.put(i)


def answer(ping, pong, cpu, count):
    peer.pin(cpu)
    for _ in range(count):
        pong.put(ping.get() + 1)


def throughput(context, partner_cpu, count):
    q = context.Queue(1024)

    def timed():
        q.get()  # warm-up: the partner runs
        begin = time.perf_counter_ns()
        for _ in range(count):
            q.get()
        return time.perf_counter_ns() - begin

    elapsed = peer.with_partner(context, produce, (q, partner_cpu, count + 1), timed)
    return elapsed / count


def pingpong(context, partner_cpu, count):
    ping, pong = context.Queue(1024), context.Queue(1024)

    def timed():
        ping.put(0)
        value = pong.get()  # warm-up
        begin = time.perf_counter_ns()
        for _ in range(count):
            ping.put(value)
            value = pong.get()
        return time.perf_counter_ns() - begin

    elapsed = peer.with_partner(context, answer, (ping, pong, partner_cpu, count + 1), timed)
    return elapsed / count


def main():
    args = peer.parse_args(__doc__, 20000)
    count = peer.items(args, 20000, 50)
    context = multiprocessing.get_context("fork")
    previous = os.sched_getaffinity(0)
    try:
        mine, partner_cpu = peer.placement(2)
        peer.pin(mine)
        values = [throughput(context, partner_cpu, count) for _ in range(args.repetitions)]
        peer.report("queue-throughput/python/cpus:2", values, count)
        values = [pingpong(context, partner_cpu, count // 4 or 1) for _ in range(args.repetitions)]
        peer.report("queue-pingpong/python/cpus:2", values, count // 4 or 1)
    finally:
        os.sched_setaffinity(0, previous)


if __name__ == "__main__":
    main()
