"""Fig. 4 in miniature: ENAS against a fixed random population and a random controller.

HalfCheetah-v5, 17->41->6, 17 colors, at equal timesteps (same iterations, perturbations and
pivot rollouts; HalfCheetah episodes always last 1000 steps). Every case is an ordinary
``chromatic train --controller NAME`` run (alternating optimization, training/alternating.py)
under ``--runs-dir``; this script only wires them and collects the curves (mean and max return
of the perturbed rollouts, NAS steps), the final evaluation returns, timesteps and wall time into
benchmarks/results/ablation_halfcheetah.json and .png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from compiler.policy_file import load_policy
from training.run import EngineOptions, TrainConfig, read_log, start

RESULTS = Path(__file__).parent / "results"


@dataclass
class Args:
    """Settings of the ablation (one run per controller)."""

    controllers: tuple[str, ...] = ("enas", "population", "random")
    """controllers to compare (training/controllers.py)."""
    iterations: int = 100
    """ES iterations per run."""
    perturbations: int = 32
    """perturbed rollouts per iteration (one partition each)."""
    nas_every: int = 5
    """ES iterations per weight phase (the controller updates after each)."""
    pivot_episodes: int = 2
    """unperturbed rollouts per iteration (spread over the population)."""
    seed: int = 0
    """the runs' seed."""
    runs_dir: str = "runs/ablation_halfcheetah"
    """where the run directories go (replaced)."""
    workers: int | None = None
    """rollout workers (default: all cores)."""


def parse() -> Args:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    d = Args()
    p.add_argument("--controllers", nargs="+", default=list(d.controllers))
    for name in ("iterations", "perturbations", "nas_every", "pivot_episodes", "seed", "workers"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(d, name))
    p.add_argument("--runs-dir", default=d.runs_dir)
    a = p.parse_args()
    return Args(tuple(a.controllers), a.iterations, a.perturbations, a.nas_every, a.pivot_episodes,
                a.seed, a.runs_dir, a.workers)


def run_case(args: Args, controller: str) -> dict:
    out = Path(args.runs_dir) / controller
    shutil.rmtree(out, ignore_errors=True)
    cfg = TrainConfig("HalfCheetah-v5", hidden=(41,), colors=17, iterations=args.iterations,
                      perturbations=args.perturbations, seed=args.seed, controller=controller,
                      nas_every=args.nas_every, pivot_episodes=args.pivot_episodes)
    t0 = time.perf_counter()
    path = start(cfg, out, EngineOptions("local", args.workers), progress=True)
    wall = time.perf_counter() - t0
    meta = load_policy(path).metadata
    rows = read_log(out)
    return {
        "controller": controller,
        "train_command": meta["train_command"],
        "eval_return": meta["eval_return"],
        "eval_episodes": meta["eval_episodes"],
        "timesteps": meta["timesteps"],
        "wall_s": wall,
        "rollout_s": rows[-1]["elapsed"],
        "best_mean_return": max(r["mean_return"] for r in rows),
        "max_return": max(r["max_return"] for r in rows),
        "curve": [[r["timesteps"], r["mean_return"], r["max_return"]] for r in rows],
        "nas_steps": [[r["timesteps"], r["controller_mean_reward"], r["controller_entropy"]]
                      for r in rows if r.get("nas_update")],
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4), dpi=110)
    for name, r in results["cases"].items():
        t, mean, mx = zip(*r["curve"], strict=True)
        line, = axes[0].plot(t, mean, label=f"{name} (eval {r['eval_return']:.0f})")
        axes[0].plot(t, mx, color=line.get_color(), alpha=0.35, lw=0.8)
        if r["nas_steps"]:
            ts, rew, ent = zip(*r["nas_steps"], strict=True)
            axes[1].plot(ts, rew, marker=".", color=line.get_color(), label=name)
            if all(e is not None for e in ent):
                axes[2].plot(ts, ent, marker=".", color=line.get_color(), label=name)
    axes[0].set_title("HalfCheetah-v5 17-41-6, M=17: mean (bold) / max return")
    axes[1].set_title("controller reward (phase max return, mean over samples)")
    axes[2].set_title("controller entropy per edge (nats)")
    for ax in axes:
        ax.set_xlabel("timesteps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    args = parse()
    cases = {c: run_case(args, c) for c in args.controllers}
    results = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_avg": list(os.getloadavg())},
        "settings": vars(args) | {"controllers": list(args.controllers)},
        "cases": cases,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ablation_halfcheetah.json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results, RESULTS / "ablation_halfcheetah.png")
    for name, r in cases.items():
        print(f"{name:12s} eval {r['eval_return']:8.1f}  best mean {r['best_mean_return']:8.1f}  "
              f"max {r['max_return']:8.1f}  {r['timesteps']} steps  {r['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
