"""Python peer of process-fork and process-spawn: multiprocessing.Process(target=noop), start()
then join(), with the fork and the spawn start methods (the seeds' two ways to start a process).
One item = one whole start+join. The spawn child re-imports this module as __mp_main__, which is
why everything that runs the measurement sits under the main guard.
"""
import multiprocessing
import time

import peer


def noop():
    pass


def start_join(context, count):
    begin = time.perf_counter_ns()
    for _ in range(count):
        process = context.Process(target=noop)
        process.start()
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"the child ended with exit code {process.exitcode}")
    return (time.perf_counter_ns() - begin) / count


def main():
    args = peer.parse_args(__doc__, "fork 200, spawn 12")
    for method, normal, smoke in (("fork", 200, 3), ("spawn", 12, 2)):
        context = multiprocessing.get_context(method)
        count = peer.items(args, normal, smoke)
        start_join(context, 1)  # warm-up: spawn starts its resource tracker once
        values = [start_join(context, count) for _ in range(args.repetitions)]
        peer.report(f"process-{method}/python", values, count)


if __name__ == "__main__":
    main()
