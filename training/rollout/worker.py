"""What a rollout worker does, shared by every backend: rebuild candidates from seeds, run episodes.

A worker keeps its environment across tasks and iterations; each episode starts with
``reset(seed=episode_seed)``, so a rollout's return depends only on the task and the job, never
on which worker ran it or what it ran before (the basis of backend- and worker-count
independence).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from chromatic.compiler.passes.quantize import stored
from chromatic.training.envs import make_env, to_action
from chromatic.training.es.strategy import perturb
from chromatic.training.policy_params import DenseNet, PolicySpec

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def single_thread_env() -> dict[str, str]:
    """Environment variables that pin BLAS to one thread (workers already fill every core)."""
    return {k: "1" for k in BLAS_THREAD_VARS}


def pin_blas_threads() -> None:
    """Pin BLAS to one thread in this process (for pools whose env vars came too late)."""
    os.environ.update(single_thread_env())
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # optional; the env vars cover fresh processes
        pass


@dataclass(frozen=True, eq=False)
class Job:
    """One iteration's shared data, sent to each worker once per iteration."""

    env_id: str
    spec: PolicySpec
    theta: np.ndarray
    sigma: float
    obs_mean: np.ndarray
    obs_std: np.ndarray
    horizon: int | None
    collect_stats: bool
    #: Per-partition layer color matrices; tasks index into it (a controller may sample several).
    partitions: tuple[tuple[np.ndarray, ...], ...] = ()
    #: The blob dtype trained for: f16 rounds every candidate's values as the blob will store them.
    dtype: str = "f32"


#: (index, noise seed, sign, partition id, episode seed); sign 0 is an unperturbed rollout.
Task = tuple[int, int, int, int, int]


@dataclass(frozen=True, eq=False)
class RolloutResult:
    index: int
    ret: float
    steps: int
    obs_count: int
    obs_sum: np.ndarray | None
    obs_sumsq: np.ndarray | None


class TaskRunner:
    """Per-worker state: the environment (kept between tasks) and the current job."""

    def __init__(self) -> None:
        self.env = None
        self.env_id: str | None = None
        self.job: Job | None = None

    def set_job(self, job: Job) -> None:
        if job.env_id != self.env_id:
            if self.env is not None:
                self.env.close()
            self.env = make_env(job.env_id)
            self.env_id = job.env_id
        self.job = job

    def run(self, tasks: list[Task]) -> list[RolloutResult]:
        assert self.job is not None, "set_job first"
        return [self.run_one(t) for t in tasks]

    def run_one(self, task: Task) -> RolloutResult:
        job = self.job
        index, seed, sign, pid, episode_seed = task
        theta = perturb(job.theta, job.sigma, seed, sign)
        if job.dtype != "f32":
            theta = stored(theta, job.dtype)
        parts = job.partitions[pid] if job.partitions else None
        net = DenseNet(job.spec, theta, parts)
        return rollout(self.env, net, job.obs_mean, job.obs_std, job.horizon, episode_seed,
                       job.collect_stats, index)


def rollout(env, net: DenseNet, mean: np.ndarray, std: np.ndarray, horizon: int | None,
            episode_seed: int, collect: bool, index: int = 0) -> RolloutResult:
    """One episode; returns the undiscounted return and the raw states the policy saw."""
    inv_std = 1.0 / std
    space = env.action_space
    obs, _ = env.reset(seed=int(episode_seed))
    seen = []
    total, steps = 0.0, 0
    limit = horizon if horizon is not None else np.inf
    while steps < limit:
        obs = np.asarray(obs, dtype=np.float64)
        if collect:
            seen.append(obs)
        y = net((obs - mean) * inv_std)
        obs, reward, terminated, truncated, _ = env.step(to_action(space, y))
        total += float(reward)
        steps += 1
        if terminated or truncated:
            break
    if collect and seen:
        x = np.stack(seen)
        return RolloutResult(index, total, steps, len(seen), x.sum(axis=0), np.square(x).sum(axis=0))
    return RolloutResult(index, total, steps, 0, None, None)


def timed_run(runner: TaskRunner, tasks: list[Task]) -> tuple[list[RolloutResult], float]:
    t0 = time.perf_counter()
    out = runner.run(tasks)
    return out, time.perf_counter() - t0
