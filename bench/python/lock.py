"""Python peer of lock-uncontended: multiprocessing.Lock().acquire() then release(), nobody else
wanting the lock. One item = one acquire+release, including the interpreter's loop around it:
that is what a Python program pays. CPython's multiprocessing.Lock is a SemLock, a POSIX
semaphore with one permit (compare the bare-sem line of the C++ benchmark). Measured in CPU time
(time.process_time_ns), as the C++ figure is: time spent preempted by other programs is not the
lock's cost.
"""
import multiprocessing
import time

import peer


def main():
    args = peer.parse_args(__doc__, 200000)
    count = peer.items(args, 200000, 100)
    lock = multiprocessing.get_context("fork").Lock()
    values = []
    for _ in range(args.repetitions):
        begin = time.process_time_ns()
        for _ in range(count):
            lock.acquire()
            lock.release()
        values.append((time.process_time_ns() - begin) / count)
    peer.report("lock-uncontended/python", values, count)


if __name__ == "__main__":
    main()
