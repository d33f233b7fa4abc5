"""The ``local`` backend: one worker process per core, each keeping its environment.

Parameters go to each worker once per iteration (the job); tasks are seeds, sent in batches
of at least ~30 ms, two batches in flight per worker so no worker waits on the driver, and
handed out as workers finish (dynamic scheduling). Workers start with BLAS pinned to one
thread and ignore Ctrl-C (the driver handles it and stops them). A worker that dies is
replaced and its batches are run again.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import traceback
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait

from chromatic.errors import ChromaticError
from chromatic.training.rollout.engine import BatchSizer, in_order
from chromatic.training.rollout.worker import (
    Job,
    RolloutResult,
    Task,
    TaskRunner,
    pin_blas_threads,
    single_thread_env,
    timed_run,
)

IN_FLIGHT = 2
#: Workers replaced in a row without one finished batch before the run stops (a crash at start-up
#: — a broken environment, a missing library, memory — would otherwise respawn forever).
MAX_FRUITLESS_RESTARTS = 3


def _serve(conn: Connection) -> None:
    """Worker main loop: ("job", Job) | ("tasks", [Task]) | ("stop",)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pin_blas_threads()
    runner = TaskRunner()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        try:
            if msg[0] == "stop":
                return
            if msg[0] == "job":
                runner.set_job(msg[1])
            elif msg[0] == "tasks":
                results, seconds = timed_run(runner, msg[1])
                conn.send(("ok", results, seconds))
        except Exception as e:  # report, keep serving; the driver decides
            conn.send(("error", f"{type(e).__name__}: {e}", traceback.format_exc()))


class _Worker:
    def __init__(self, ctx: mp.context.BaseContext) -> None:
        self.conn, child = ctx.Pipe()
        saved = {k: os.environ.get(k) for k in single_thread_env()}
        os.environ.update(single_thread_env())  # inherited by the spawned process at start
        try:
            self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)
            self.proc.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child.close()
        self.inflight: deque[list[Task]] = deque()

    def stop(self) -> None:
        try:
            self.conn.send(("stop",))
        except (OSError, ValueError):
            pass
        self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=2)
        self.conn.close()


class LocalEngine:
    """A process pool over the cores of this machine."""

    def __init__(self, workers: int) -> None:
        self.num_workers = workers
        self._ctx = mp.get_context("spawn")  # no forked simulator or BLAS state
        self._workers = [_Worker(self._ctx) for _ in range(workers)]
        self.sizer = BatchSizer()
        self.restarts = 0
        self._fruitless = 0  # replacements since the last finished batch

    def run(self, job: Job, tasks: Sequence[Task]) -> list[RolloutResult]:
        pending = deque(self.sizer.batches(tasks, self.num_workers))
        results: dict[int, RolloutResult] = {}
        for w in self._workers:
            self._send(w, ("job", job))
        for w in self._workers:
            self._fill(w, pending)
        while len(results) < len(tasks):
            busy = {w.conn: w for w in self._workers if w.inflight}
            for conn in wait(list(busy)):
                w = busy[conn]
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    w = self._replace(w, job, pending)
                    self._fill(w, pending)
                    continue
                if msg[0] == "error":
                    raise RuntimeError(f"rollout worker failed: {msg[1]}\n{msg[2]}")
                batch = w.inflight.popleft()
                self._fruitless = 0
                self.sizer.observe(len(batch), msg[2])
                for r in msg[1]:
                    results[r.index] = r
                self._fill(w, pending)
        return in_order(tasks, results)

    def _send(self, w: _Worker, msg: tuple) -> None:
        try:
            w.conn.send(msg)
        except (OSError, ValueError):  # dead; noticed (and replaced) when waited on
            pass

    def _fill(self, w: _Worker, pending: deque[list[Task]]) -> None:
        while pending and len(w.inflight) < IN_FLIGHT:
            batch = pending.popleft()
            w.inflight.append(batch)
            self._send(w, ("tasks", batch))

    def _replace(self, dead: _Worker, job: Job, pending: deque[list[Task]]) -> _Worker:
        """Start a new worker for a dead one and queue the dead one's batches again."""
        pending.extendleft(reversed(dead.inflight))
        dead.inflight.clear()
        dead.proc.join(timeout=1)
        self._fruitless += 1
        if self._fruitless > MAX_FRUITLESS_RESTARTS:
            code = dead.proc.exitcode
            cause = (f"killed by signal {-code}" if code is not None and code < 0
                     else f"exit code {code}")
            raise ChromaticError(
                f"rollout workers died {self._fruitless} times in a row without finishing a rollout "
                f"(last one: {cause}); check that the environment builds and runs in a fresh process")
        fresh = _Worker(self._ctx)
        self._workers[self._workers.index(dead)] = fresh
        self._send(fresh, ("job", job))
        self.restarts += 1
        return fresh

    def close(self) -> None:
        for w in self._workers:
            w.stop()
        self._workers = []
