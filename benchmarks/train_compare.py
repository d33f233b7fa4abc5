"""Training curves at equal timesteps: a fixed random 17-color partition against a dense policy.

Paper §4.3 / Table 1 in miniature: HalfCheetah-v5 17->41->6, chromatic (M=17, a random fixed
partition from the seed) vs dense, the same ES settings and the same budget of timesteps; and
Swimmer-v5 and Hopper-v5 with linear chromatic policies. Each run is an ordinary
``chromatic train`` run under ``--runs-dir``; this script only wires them and collects the
curves, final evaluation returns, timesteps and wall time into
benchmarks/results/train_compare.json and .png.
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
class Case:
    """One run of the comparison."""

    name: str
    """label in the JSON and the plot."""
    env_id: str
    """gymnasium id."""
    hidden: tuple[int, ...]
    """hidden widths; () is linear."""
    structure: str
    """chromatic or dense."""
    colors: int = 17
    """palette size of a chromatic policy."""


CASES = [
    Case("HalfCheetah chromatic M=17", "HalfCheetah-v5", (41,), "chromatic"),
    Case("HalfCheetah dense", "HalfCheetah-v5", (41,), "dense"),
    Case("Swimmer linear chromatic M=17", "Swimmer-v5", (), "chromatic"),
    Case("Hopper linear chromatic M=17", "Hopper-v5", (), "chromatic"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--perturbations", type=int, default=16)
    parser.add_argument("--horizon", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--backend", default="local")
    parser.add_argument("--only", nargs="*", help="substrings of case names to run")
    parser.add_argument("--runs-dir", default="runs/train_compare")
    args = parser.parse_args()
    out: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
                 "settings": vars(args), "cases": {}}
    cases = [c for c in CASES if not args.only or any(s in c.name for s in args.only)]
    for case in cases:
        run_dir = Path(args.runs_dir) / case.name.replace(" ", "_").replace("=", "")
        shutil.rmtree(run_dir, ignore_errors=True)
        cfg = TrainConfig(env_id=case.env_id, hidden=case.hidden, structure=case.structure,
                          colors=case.colors, iterations=args.iterations,
                          perturbations=args.perturbations, seed=args.seed, horizon=args.horizon,
                          eval_episodes=5)
        t0 = time.perf_counter()
        policy_path = start(cfg, run_dir, EngineOptions(args.backend, args.workers))
        wall = time.perf_counter() - t0
        policy, log = load_policy(policy_path), read_log(run_dir)
        out["cases"][case.name] = {
            "env_id": case.env_id, "layer_sizes": list(policy.layer_sizes),
            "structure": case.structure, "params": policy.num_colors + policy.num_hidden_biases
            + policy.layer_sizes[-1], "eval_return": policy.metadata["eval_return"],
            "timesteps": policy.metadata["timesteps"], "wall_s": wall,
            "best_mean_return": max(r["mean_return"] for r in log),
            "max_return": max(r["max_return"] for r in log),
            "curve": [[r["timesteps"], r["mean_return"], r["max_return"]] for r in log],
            "run_dir": str(run_dir),
        }
        print(json.dumps({k: v for k, v in out["cases"][case.name].items() if k != "curve"}))
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if not args.only else "_" + "_".join(args.only).replace(" ", "")
    (RESULTS / f"train_compare{suffix}.json").write_text(json.dumps(out, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({c["env_id"] for c in out["cases"].values()})
    fig, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 3.6), dpi=120, squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        for name, c in out["cases"].items():
            if c["env_id"] == env:
                t, mean, _ = zip(*c["curve"], strict=True)
                ax.plot(t, mean, label=f"{name} (eval {c['eval_return']:.0f})")
        ax.set_title(env)
        ax.set_xlabel("timesteps")
        ax.set_ylabel("mean return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.savefig(RESULTS / f"train_compare{suffix}.png", bbox_inches="tight")


if __name__ == "__main__":
    main()
