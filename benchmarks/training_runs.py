"""Shared by the training benchmarks: run one ``chromatic train`` configuration, summarise it.

Every benchmark case is an ordinary training run (a run directory with its log, checkpoint and
policy.npz, so ``chromatic plot`` / ``analyze`` work on it afterwards); these helpers only start
it in a fresh directory and collect what the closing notes and docs quote: the curve, the final
evaluation, timesteps and wall time.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from pathlib import Path

from chromatic.compiler.policy_file import load_policy
from chromatic.training.run import EngineOptions, TrainConfig, read_log, start

RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "load_avg": list(os.getloadavg())}


def train_case(cfg: TrainConfig, run_dir: Path, opts: EngineOptions | None = None) -> dict:
    """Train ``cfg`` into a fresh ``run_dir``; the summary the benchmarks report."""
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.perf_counter()
    path = start(cfg, run_dir, opts or EngineOptions("local"), progress=True)
    wall = time.perf_counter() - t0
    policy, rows = load_policy(path), read_log(run_dir)
    meta = policy.metadata
    return {
        "env_id": cfg.env_id,
        "layer_sizes": list(policy.layer_sizes),
        "train_command": meta["train_command"],
        "eval_return": meta["eval_return"],
        "eval_episodes": meta["eval_episodes"],
        "timesteps": meta["timesteps"],
        "wall_s": wall,
        "rollout_s": rows[-1]["elapsed"] if rows else 0.0,
        "best_mean_return": max((r["mean_return"] for r in rows), default=float("nan")),
        "max_return": max((r["max_return"] for r in rows), default=float("nan")),
        "curve": [[r["timesteps"], r["mean_return"], r["max_return"]] for r in rows],
        "nas_steps": [[r["timesteps"], r["controller_mean_reward"], r["controller_entropy"]]
                      for r in rows if r.get("nas_update")],
        "run_dir": str(run_dir),
    }


def plot_curves(ax, cases: dict[str, dict], title: str, show_max: bool = True) -> None:
    """Mean return (bold) and max return (faint) of each case against timesteps."""
    for name, c in cases.items():
        t, mean, mx = zip(*c["curve"], strict=True)
        line, = ax.plot(t, mean, label=f"{name} (eval {c['eval_return']:.0f})")
        if show_max:
            ax.plot(t, mx, color=line.get_color(), alpha=0.35, lw=0.8)
    ax.set_title(title)
    ax.set_xlabel("timesteps")
    ax.set_ylabel("return")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def summary_line(name: str, c: dict) -> str:
    return (f"{name:28s} eval {c['eval_return']:8.1f}  best mean {c['best_mean_return']:8.1f}  "
            f"max {c['max_return']:8.1f}  {c['timesteps']} steps  {c['wall_s']:.0f} s")
