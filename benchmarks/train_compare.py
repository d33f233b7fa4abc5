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
from dataclasses import dataclass
from pathlib import Path

from training_runs import RESULTS, machine, plot_curves, summary_line, train_case

from chromatic.training.run import EngineOptions, TrainConfig


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
    out: dict = {"machine": machine(), "settings": vars(args), "cases": {}}
    cases = [c for c in CASES if not args.only or any(s in c.name for s in args.only)]
    for case in cases:
        run_dir = Path(args.runs_dir) / case.name.replace(" ", "_").replace("=", "")
        cfg = TrainConfig(env_id=case.env_id, hidden=case.hidden, structure=case.structure,
                          colors=case.colors, iterations=args.iterations,
                          perturbations=args.perturbations, seed=args.seed, horizon=args.horizon,
                          eval_episodes=5)
        c = train_case(cfg, run_dir, EngineOptions(args.backend, args.workers))
        out["cases"][case.name] = {"structure": case.structure, **c}
        print(summary_line(case.name, c))
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if not args.only else "_" + "_".join(args.only).replace(" ", "")
    (RESULTS / f"train_compare{suffix}.json").write_text(json.dumps(out, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({c["env_id"] for c in out["cases"].values()})
    fig, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 3.6), dpi=120, squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        plot_curves(ax, {n: c for n, c in out["cases"].items() if c["env_id"] == env}, env,
                    show_max=False)
    fig.savefig(RESULTS / f"train_compare{suffix}.png", bbox_inches="tight")


if __name__ == "__main__":
    main()
