"""The ``ray`` backend: Ray Core actors that each keep an environment (``pip install .[ray]``).

The job is put in the object store once per iteration and handed to every actor; tasks
(seeds) go out in batches, two in flight per actor, as actors finish. An actor that dies
mid-iteration (a node lost, a process killed) is replaced and its batches are resubmitted,
so the iteration completes with the same results. Point it at a cluster with
``--address HOST:PORT`` (or ``auto``); without an address it starts Ray on this machine.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from chromatic.errors import ChromaticError
from chromatic.training.rollout.engine import BatchSizer, default_workers, in_order
from chromatic.training.rollout.worker import (
    Job,
    RolloutResult,
    Task,
    TaskRunner,
    single_thread_env,
    timed_run,
)

IN_FLIGHT = 2


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ChromaticError("the ray backend needs Ray: pip install 'chromatic[ray]'") from None
    return ray


class _RolloutActor:
    """One Ray actor: a TaskRunner (its env survives across iterations)."""

    def __init__(self) -> None:
        from chromatic.training.rollout.worker import pin_blas_threads

        pin_blas_threads()
        self.runner = TaskRunner()

    def set_job(self, job: Job) -> bool:
        self.runner.set_job(job)
        return True

    def run(self, tasks: list[Task]) -> tuple[list[RolloutResult], float]:
        return timed_run(self.runner, tasks)

    def pid(self) -> int:
        import os

        return os.getpid()


#: Seconds to wait for a TCP connection to ``--address`` before giving up (Ray itself retries for minutes).
CONNECT_TIMEOUT = 5.0


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """A one-line error, after at most ``timeout`` seconds, if nothing listens at HOST:PORT.

    ``auto`` and ``ray://`` addresses are left to Ray; only a bare HOST:PORT is probed.
    """
    import socket

    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ChromaticError(f"--address {address!r}: expected HOST:PORT or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise ChromaticError(f"cannot reach a Ray cluster at {address} within {timeout:.0f} s "
                             f"({e.strerror or e}); is `ray start --head` running there?") from None


class RayEngine:
    """Rollouts on Ray actors, one per CPU of the cluster unless ``workers`` says otherwise."""

    def __init__(self, workers: int | None = None, address: str | None = None,
                 on_result: Callable[[RayEngine, int], None] | None = None,
                 init_kwargs: dict | None = None) -> None:
        if address:
            check_reachable(address)
        ray = _import_ray()
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False,
                          runtime_env={"env_vars": single_thread_env()})
            if address:
                kwargs["address"] = address
            elif workers:
                kwargs["num_cpus"] = workers
            kwargs.update(init_kwargs or {})
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as e:
                where = address or "a local Ray instance"
                raise ChromaticError(f"cannot start or reach {where}: {' '.join(str(e).split())}") from None
            self._owns_ray = True
        if workers is None:
            workers = int(ray.cluster_resources().get("CPU", default_workers()))
        self.num_workers = max(1, workers)
        self._actor_cls = ray.remote(num_cpus=1, max_restarts=0)(_RolloutActor)
        self.actors = [self._actor_cls.remote() for _ in range(self.num_workers)]
        self.sizer = BatchSizer()
        self.restarts = 0
        self._on_result = on_result  # test hook: called after each batch result

    def run(self, job: Job, tasks: Sequence[Task]) -> list[RolloutResult]:
        ray = self._ray
        job_ref = ray.put(job)  # once per iteration, shared by every actor
        pending = deque(self.sizer.batches(tasks, self.num_workers))
        inflight: dict = {}  # ObjectRef -> (actor slot, batch)
        for actor in self.actors:
            actor.set_job.remote(job_ref)  # actor calls run in submission order
        per_slot = [0] * len(self.actors)

        def fill(slot: int) -> None:
            while pending and per_slot[slot] < IN_FLIGHT:
                batch = pending.popleft()
                inflight[self.actors[slot].run.remote(batch)] = (slot, batch)
                per_slot[slot] += 1

        for slot in range(len(self.actors)):
            fill(slot)
        results: dict[int, RolloutResult] = {}
        done_batches = 0
        while len(results) < len(tasks):
            ready, _ = ray.wait(list(inflight), num_returns=1)
            ref = ready[0]
            slot, batch = inflight.pop(ref)
            per_slot[slot] -= 1
            try:
                out, seconds = ray.get(ref)
            except ray.exceptions.RayActorError:
                self._replace(slot, job_ref, inflight, per_slot, pending, batch)
                fill(slot)
                continue
            self.sizer.observe(len(batch), seconds)
            for r in out:
                results[r.index] = r
            done_batches += 1
            if self._on_result is not None:
                self._on_result(self, done_batches)
            fill(slot)
        return in_order(tasks, results)

    def _replace(self, slot: int, job_ref, inflight: dict, per_slot: list[int],
                 pending: deque, failed: list[Task]) -> None:
        """New actor in ``slot``; the failed batch and the slot's other batches run again."""
        lost = [failed]
        for ref, (s, batch) in list(inflight.items()):
            if s == slot:
                lost.append(batch)
                del inflight[ref]
                per_slot[slot] -= 1
        pending.extendleft(reversed(lost))
        self._ray.kill(self.actors[slot], no_restart=True)
        self.actors[slot] = self._actor_cls.remote()
        self.actors[slot].set_job.remote(job_ref)
        self.restarts += 1

    def close(self) -> None:
        for a in self.actors:
            try:
                self._ray.kill(a, no_restart=True)
            except Exception:
                pass
        self.actors = []
        if self._owns_ray:
            self._ray.shutdown()
