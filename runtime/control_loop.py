"""The robot control loop: step an environment with a compiled policy (`chromatic run`).

Each step: time the policy call alone (inference latency), clip the action to the action
space, step the environment (timed separately, so the loop's own overhead is visible).
With ``hz`` the loop runs at a fixed control rate like a real controller and counts the
steps that missed their deadline. Every step's inference latency is also held against a
deadline, the robot's control period (the env's ``dt``, ``1 / hz``, or ``deadline_us``), and
against a budget, a share of it (:class:`DeadlineStats`). The blob carries its own observation
normalization.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from chromatic.errors import ChromaticError
from chromatic.runtime import Runner
from chromatic.runtime.envs import check_policy_fits, make_env

#: The share of the control period the policy's inference may use by default: the rest of the
#: period belongs to sensing, state estimation, actuation and communication.
DEFAULT_BUDGET_SHARE = 0.1


@dataclass(frozen=True)
class DeadlineStats:
    """Per-step inference latency against the control period (each step's deadline).

    A step is *over* the deadline (or the budget) when its inference alone took longer than it.
    """

    deadline_us: float  # the control period, in microseconds
    source: str  # where the deadline came from: "env" (its dt), "hz", or "deadline_us"
    budget_share: float  # the share of the deadline inference may use
    budget_us: float  # budget_share * deadline_us
    latency_p50_of_deadline: float  # inference latency p50 / deadline
    latency_p99_of_deadline: float
    latency_max_of_deadline: float
    steps_over_deadline: int
    steps_over_budget: int
    share_over_deadline: float  # steps_over_deadline / steps
    share_over_budget: float


def deadline_stats(
    latency_ns: np.ndarray, deadline_us: float, budget_share: float = DEFAULT_BUDGET_SHARE,
    source: str = "deadline_us",
) -> DeadlineStats:
    """Hold per-step inference latencies (ns) against a deadline and a budget share of it."""
    check_deadline_options(deadline_us, budget_share)
    lat = np.asarray(latency_ns, dtype=np.float64)
    if lat.ndim != 1 or lat.size == 0:
        raise ChromaticError(f"deadline statistics need a 1-d array of latencies, got shape {lat.shape}")
    deadline_ns = 1e3 * float(deadline_us)
    budget_ns = budget_share * deadline_ns
    over_deadline = int(np.count_nonzero(lat > deadline_ns))
    over_budget = int(np.count_nonzero(lat > budget_ns))
    return DeadlineStats(
        deadline_us=float(deadline_us),
        source=source,
        budget_share=float(budget_share),
        budget_us=budget_share * float(deadline_us),
        latency_p50_of_deadline=float(np.median(lat)) / deadline_ns,
        latency_p99_of_deadline=float(np.percentile(lat, 99)) / deadline_ns,
        latency_max_of_deadline=float(lat.max()) / deadline_ns,
        steps_over_deadline=over_deadline,
        steps_over_budget=over_budget,
        share_over_deadline=over_deadline / lat.size,
        share_over_budget=over_budget / lat.size,
    )


def control_period_s(env) -> float | None:
    """The period (s) at which ``env`` takes actions, when it declares one (``env.unwrapped.dt``:
    gymnasium's MuJoCo envs and chromatic's own), else None."""
    dt = getattr(env.unwrapped, "dt", None)
    if isinstance(dt, bool) or not isinstance(dt, int | float) or not 0 < dt < math.inf:
        return None
    return float(dt)


def resolve_deadline_us(
    env, hz: float | None = None, deadline_us: float | None = None
) -> tuple[float, str] | None:
    """The per-step deadline (us) and its source: ``deadline_us``, else ``1 / hz``, else the env's
    control period; None when none is known."""
    if deadline_us is not None:
        return float(deadline_us), "deadline_us"
    if hz is not None:
        return 1e6 / hz, "hz"
    dt = control_period_s(env)
    # rounded to the nanosecond: 0.002 s * 5 is 10000.000000000002 us in floating point
    return (round(1e6 * dt, 3), "env") if dt is not None else None


@dataclass
class RunReport:
    env_id: str
    runtime: str
    episodes: int
    steps: int
    returns: list[float]
    mean_return: float
    std_return: float
    latency_ns_median: float
    latency_ns_p99: float
    latency_ns_max: float
    env_step_ns_median: float
    loop_overhead_ns_median: float  # per step: everything but env.step (inference included)
    hz: float | None = None
    deadline_misses: int = 0  # with hz: steps whose whole loop iteration overran the period
    deadline: DeadlineStats | None = None  # inference latency against the control period
    observations: list[list[float]] = field(default_factory=list, repr=False)


def _action_map(env) -> Callable[[np.ndarray], np.ndarray | int]:
    """Raw policy output -> the env's action: argmax for a Discrete space, else clipped to the
    box (in place, with bounds cast once: np.clip's wrapper alone costs ~1 us a step)."""
    space = env.action_space
    if hasattr(space, "n"):  # Discrete: one output per choice
        return lambda raw: int(np.argmax(raw))
    low, high = np.asarray(space.low, np.float32), np.asarray(space.high, np.float32)
    # fmax/fmin, not maximum/minimum: a NaN output (impossible for a blob check_finite accepted)
    # still becomes an in-bounds action, at the same cost.
    return lambda raw: np.fmin(np.fmax(raw, low, out=raw), high, out=raw)


def check_finite(runner: Runner) -> None:
    """Refuse a blob whose values are so large that float32 arithmetic could overflow.

    Every kernel clamps its normalized inputs to +-OBS_LIMIT and tanh bounds hidden units by
    1, so no layer sum can exceed ``max|w| * in * bound + max|b|``; past FLT_MAX / 4 some
    observation might give an infinite or NaN action, so `run` says so before it starts.
    """
    from chromatic.runtime.reference import output_bound

    policy = getattr(runner, "policy", None)
    if policy is not None and not output_bound(policy) < float(np.finfo(np.float32).max) / 4:
        raise ChromaticError("the blob's weights are so large that float32 inference could overflow "
                             "to inf or NaN; refusing to drive an environment with it")


def check_run_options(
    episodes: int,
    seed: int,
    hz: float | None,
    max_steps: int | None,
    deadline_us: float | None = None,
    budget_share: float = DEFAULT_BUDGET_SHARE,
) -> None:
    """The control loop's numeric options, checked before anything is built (one line each)."""
    if not isinstance(episodes, int) or episodes < 1:
        raise ChromaticError(f"--episodes must be an integer >= 1, got {episodes}")
    if not isinstance(seed, int) or seed < 0:
        raise ChromaticError(f"--seed must be an integer >= 0, got {seed}")
    if hz is not None and not (isinstance(hz, int | float) and 0 < hz < float("inf")):
        raise ChromaticError(f"--hz must be a finite number > 0, got {hz}")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise ChromaticError(f"--max-steps must be an integer >= 1, got {max_steps}")
    check_deadline_options(deadline_us, budget_share)


def check_deadline_options(deadline_us: float | None, budget_share: float) -> None:
    """``deadline_us`` finite and > 0 (or None: the env's period), ``budget_share`` in (0, 1]."""

    def number(x: object) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool)

    if deadline_us is not None and not (number(deadline_us) and 0 < deadline_us < math.inf):
        raise ChromaticError(f"--deadline-us must be a finite number of microseconds > 0, got {deadline_us}")
    if not (number(budget_share) and 0 < budget_share <= 1):
        raise ChromaticError(f"--budget-share must be a number in (0, 1], got {budget_share}")


def run_episodes(
    runner: Runner,
    env_id: str,
    episodes: int = 1,
    seed: int = 0,
    hz: float | None = None,
    max_steps: int | None = None,
    runtime_name: str = "",
    record_observations: bool = False,
    progress: bool = True,
    deadline_us: float | None = None,
    budget_share: float = DEFAULT_BUDGET_SHARE,
) -> RunReport:
    """Run ``episodes`` episodes (episode k is reset with seed ``seed + k``).

    Inference latency is held against ``deadline_us``, else ``1 / hz``, else the env's control
    period, and against ``budget_share`` of it (``report.deadline``; None if no period is known).
    """
    check_run_options(episodes, seed, hz, max_steps, deadline_us, budget_share)
    check_finite(runner)
    env = make_env(env_id)
    try:
        check_policy_fits(runner.layer_sizes, env, "blob")
        resolved = resolve_deadline_us(env, hz, deadline_us)
        period = None if hz is None else 1.0 / hz
        to_action = _action_map(env)
        returns, latency, env_ns, loop_ns, observations = [], [], [], [], []
        misses = steps = 0
        bar = tqdm(
            total=episodes,
            desc=f"{env_id} [{runtime_name}]",
            unit="ep",
            disable=not progress,
            file=sys.stderr,
            leave=False,
        )
        for ep in range(episodes):
            obs, _ = env.reset(seed=seed + ep)
            total, done, t = 0.0, False, 0
            deadline = time.perf_counter()
            while not done and (max_steps is None or t < max_steps):
                t0 = time.perf_counter_ns()
                raw = runner(obs if getattr(obs, "ndim", 0) == 1 else np.ravel(obs))
                t1 = time.perf_counter_ns()
                action = to_action(raw)
                if record_observations:
                    observations.append(np.asarray(obs, np.float32).ravel().tolist())
                t2 = time.perf_counter_ns()
                obs, reward, terminated, truncated, _ = env.step(action)
                t3 = time.perf_counter_ns()
                latency.append(t1 - t0)
                env_ns.append(t3 - t2)
                loop_ns.append(t2 - t0)
                total += float(reward)
                done = terminated or truncated
                t += 1
                if period is not None:
                    deadline += period
                    slack = deadline - time.perf_counter()
                    if slack > 0:
                        time.sleep(slack)
                    else:
                        misses += 1
            returns.append(total)
            steps += t
            bar.update(1)
            bar.set_postfix(ret=f"{total:.1f}")
        bar.close()
    finally:
        env.close()
    lat = np.asarray(latency, dtype=np.float64)
    return RunReport(
        env_id=env_id,
        runtime=runtime_name,
        episodes=episodes,
        steps=steps,
        returns=returns,
        mean_return=float(np.mean(returns)),
        std_return=float(np.std(returns)),
        latency_ns_median=float(np.median(lat)),
        latency_ns_p99=float(np.percentile(lat, 99)),
        latency_ns_max=float(lat.max()),
        env_step_ns_median=float(np.median(env_ns)),
        loop_overhead_ns_median=float(np.median(loop_ns)),
        hz=hz,
        deadline_misses=misses,
        deadline=None if resolved is None else deadline_stats(lat, resolved[0], budget_share, resolved[1]),
        observations=observations,
    )


def format_report(r: RunReport) -> str:
    lines = [
        f"env            {r.env_id}   runtime {r.runtime}   {r.episodes} episodes, {r.steps} steps",
        f"return         mean {r.mean_return:.2f}   std {r.std_return:.2f}",
        f"inference      median {r.latency_ns_median / 1e3:.2f} us   p99 {r.latency_ns_p99 / 1e3:.2f} us   "
        f"max {r.latency_ns_max / 1e3:.2f} us",
        f"env step       median {r.env_step_ns_median / 1e3:.2f} us   "
        f"loop overhead {r.loop_overhead_ns_median / 1e3:.2f} us "
        f"({100 * r.loop_overhead_ns_median / max(r.env_step_ns_median, 1):.1f}% of a step)",
    ]
    if r.hz is not None:
        lines.append(f"control rate   {r.hz:g} Hz   deadline misses {r.deadline_misses} of {r.steps}")
    d = r.deadline
    if d is not None:
        source = {"env": "the env's control period", "hz": "--hz", "deadline_us": "--deadline-us"}
        lines += [
            f"deadline       {d.deadline_us:g} us ({1e6 / d.deadline_us:g} Hz, "
            f"{source.get(d.source, d.source)})   inference p50 {100 * d.latency_p50_of_deadline:.3g}%  "
            f"p99 {100 * d.latency_p99_of_deadline:.3g}%  max {100 * d.latency_max_of_deadline:.3g}% of it",
            f"over deadline  {d.steps_over_deadline} of {r.steps} steps "
            f"({100 * d.share_over_deadline:.3g}%)   "
            f"over budget ({100 * d.budget_share:g}% = {d.budget_us:g} us) {d.steps_over_budget} "
            f"({100 * d.share_over_budget:.3g}%)",
        ]
    return "\n".join(lines)
