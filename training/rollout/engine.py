"""The rollout engine interface and the pieces every backend shares.

An engine takes one iteration's :class:`~training.rollout.worker.Job` (sent to each worker
once) and a list of tasks (seeds, not parameter vectors), schedules them dynamically over
its workers (episodes of Hopper or Walker end at very different times), and returns the
results in task order, so the outcome never depends on scheduling.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Protocol

from chromatic.errors import ChromaticError
from chromatic.training.rollout.worker import Job, RolloutResult, Task, TaskRunner

#: Batch short episodes so one task costs at least this long (amortizes messaging).
MIN_TASK_SECONDS = 0.03


class Engine(Protocol):
    """Runs rollouts; ``run`` returns one result per task, in task order."""

    num_workers: int

    def run(self, job: Job, tasks: Sequence[Task]) -> list[RolloutResult]: ...

    def close(self) -> None: ...


class BatchSizer:
    """Picks tasks per message from the measured seconds per task (1 until measured)."""

    def __init__(self, min_seconds: float = MIN_TASK_SECONDS) -> None:
        self.min_seconds = min_seconds
        self.seconds_per_task: float | None = None

    def observe(self, num_tasks: int, seconds: float) -> None:
        if num_tasks <= 0:
            return
        s = seconds / num_tasks
        self.seconds_per_task = s if self.seconds_per_task is None else 0.8 * self.seconds_per_task + 0.2 * s

    def batches(self, tasks: Sequence[Task], num_workers: int) -> list[list[Task]]:
        """Consecutive task batches: >= min_seconds each, but >= 2 batches per worker."""
        n = len(tasks)
        size = 1
        if self.seconds_per_task:
            size = math.ceil(self.min_seconds / max(self.seconds_per_task, 1e-9))
        size = max(1, min(size, math.ceil(n / (2 * max(num_workers, 1)))))
        return [list(tasks[i:i + size]) for i in range(0, n, size)]


def in_order(tasks: Sequence[Task], results: dict[int, RolloutResult]) -> list[RolloutResult]:
    return [results[t[0]] for t in tasks]


class InlineEngine:
    """Runs every task in this process: the single-process baseline and a debugging aid."""

    num_workers = 1

    def __init__(self) -> None:
        self.runner = TaskRunner()

    def run(self, job: Job, tasks: Sequence[Task]) -> list[RolloutResult]:
        self.runner.set_job(job)
        return self.runner.run(list(tasks))

    def close(self) -> None:
        if self.runner.env is not None:
            self.runner.env.close()


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def make_engine(backend: str, workers: int | None = None, address: str | None = None) -> Engine:
    """Build the engine a run asked for (``local``, ``ray`` or ``inline``)."""
    if workers is not None and workers < 1:
        raise ChromaticError(f"--workers must be at least 1, got {workers}")
    if backend == "local":
        from chromatic.training.rollout.local import LocalEngine

        return LocalEngine(workers or default_workers())
    if backend == "ray":
        from chromatic.training.rollout.ray_backend import RayEngine

        return RayEngine(workers, address)
    if backend == "inline":
        return InlineEngine()
    raise ChromaticError(f"unknown backend {backend!r}; expected local or ray")
