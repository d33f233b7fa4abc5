"""Run ``chromatic`` and SIGKILL it at its N-th file write (the kill campaign's timed kills).

    python benchmarks/kill_at_write.py N EVENTS.txt -- train ARGS...

A *write event* is one of the moments a run's files change: just before and just after each
atomic rename (``os.replace``: the temp file is complete but not yet in place / just in place),
and for each ``log.jsonl`` append, halfway through the line (a torn line) and just after it.
Event N (counted from 0) kills the process with SIGKILL on the spot; with N < 0 nothing is
killed. Every event reached is appended to EVENTS.txt first (``index kind path``), so a run with
N < 0 lists all the events of an uninterrupted run. Nothing here touches the package: the
functions are wrapped in this process only.
"""

from __future__ import annotations

import os
import signal
import sys


def main() -> int:
    kill_at, events_path = int(sys.argv[1]), sys.argv[2]
    if sys.argv[3] != "--":
        sys.exit("usage: kill_at_write.py N EVENTS.txt -- CHROMATIC-ARGS...")
    count = 0

    def event(kind: str, path: object) -> None:
        nonlocal count
        with open(events_path, "a") as f:
            f.write(f"{count} {kind} {os.path.basename(str(path))}\n")
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        count += 1

    real_replace = os.replace

    def replace(src, dst, *a, **kw):
        event("before-rename", dst)
        real_replace(src, dst, *a, **kw)
        event("after-rename", dst)

    os.replace = replace

    import json

    from chromatic.training import run as driver
    from chromatic.training.checkpoint import LOG

    def append_log(run_dir, row: dict) -> None:
        line = json.dumps(row) + "\n"
        with open(run_dir / LOG, "a") as f:
            f.write(line[: len(line) // 2])
            f.flush()
            event("torn-log-line", run_dir / LOG)
            f.write(line[len(line) // 2:])
        event("after-log-line", run_dir / LOG)

    driver.append_log = append_log
    from chromatic.cli import main as cli

    return cli(sys.argv[4:])


if __name__ == "__main__":
    sys.exit(main())
