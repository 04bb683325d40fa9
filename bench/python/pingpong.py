"""Python peer of semaphore-pingpong and event-pingpong, pinned to one CPU and across two.

Semaphore: two multiprocessing.Semaphore(0); one round trip = ping.release(), the partner's
ping.acquire() and pong.release(), then pong.acquire().
Event: two multiprocessing.Event; one round trip = ping.set(), the partner's ping.wait(),
ping.clear(), pong.set(), then pong.wait(), pong.clear().
One warm-up round trip before the timed ones makes sure the partner runs. One item = one round trip.
"""
import multiprocessing
import os
import time

import peer


def semaphore_answer(ping, pong, cpu, rounds):
    peer.pin(cpu)
    for _ in range(rounds):
        ping.acquire()
        pong.release()


def semaphore_ping(ping, pong):
    ping.release()
    pong.acquire()


def event_answer(ping, pong, cpu, rounds):
    peer.pin(cpu)
    for _ in range(rounds):
        ping.wait()
        ping.clear()
        pong.set()


def event_ping(ping, pong):
    ping.set()
    pong.wait()
    pong.clear()


def measure(context, kind, partner_cpu, count):
    if kind == "semaphore":
        ping, pong = context.Semaphore(0), context.Semaphore(0)
        answer, ping_and_wait = semaphore_answer, semaphore_ping
    else:
        ping, pong = context.Event(), context.Event()
        answer, ping_and_wait = event_answer, event_ping

    def timed():
        ping_and_wait(ping, pong)  # warm-up
        begin = time.perf_counter_ns()
        for _ in range(count):
            ping_and_wait(ping, pong)
        return time.perf_counter_ns() - begin

    elapsed = peer.with_partner(context, answer, (ping, pong, partner_cpu, count + 1), timed)
    return elapsed / count


def main():
    args = peer.parse_args(__doc__, 2000)
    count = peer.items(args, 2000, 20)
    context = multiprocessing.get_context("fork")
    previous = os.sched_getaffinity(0)
    try:
        for kind in ("semaphore", "event"):
            for cpus in (1, 2):
                mine, partner_cpu = peer.placement(cpus)
                peer.pin(mine)
                values = [measure(context, kind, partner_cpu, count) for _ in range(args.repetitions)]
                os.sched_setaffinity(0, previous)
                peer.report(f"{kind}-pingpong/python/cpus:{cpus}", values, count)
    finally:
        os.sched_setaffinity(0, previous)


if __name__ == "__main__":
    main()
