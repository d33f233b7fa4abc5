"""Fig. 4 in miniature: ENAS against a fixed random population and a random controller.

HalfCheetah-v5, 17->41->6, 17 colors, at equal timesteps (same iterations and perturbations;
HalfCheetah episodes always last 1000 steps). ES is antithetic, so the two halves of a pair share
their partition and their difference measures the perturbation, not the partition
(training/alternating.py); the controller updates after every iteration (``--nas-every 1``).
A case is ``CONTROLLER`` or ``CONTROLLER:LR[:BETA]`` (controller learning rate and entropy
weight; default the paper's 0.001 and 0.3), e.g. ``enas:0.01``; ``fixed`` (one random partition,
no NAS) is the reference. Every case is an ordinary
``chromatic train`` run under ``--runs-dir``; the curves (mean and max return of the perturbed
rollouts, the controller's reward and entropy at each NAS step), final evaluation returns,
timesteps and wall time go to benchmarks/results/ablation_halfcheetah.json and .png.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from training_runs import RESULTS, machine, plot_curves, summary_line, train_case

from chromatic.training.run import EngineOptions, TrainConfig


@dataclass
class Args:
    """Settings of the ablation (one run per case)."""

    cases: tuple[str, ...] = ("enas", "enas:0.01", "factorized:0.01", "population", "random", "fixed")
    """controllers to compare, ``NAME[:LR[:BETA]]`` (training/controllers.py)."""
    iterations: int = 150
    """ES iterations per run."""
    perturbations: int = 24
    """perturbed rollouts per iteration (12 antithetic pairs, one partition each)."""
    nas_every: int = 1
    """ES iterations per weight phase (the controller updates after each)."""
    seed: int = 0
    """the runs' seed."""
    runs_dir: str = "runs/ablation_halfcheetah"
    """where the run directories go (replaced)."""
    workers: int | None = None
    """rollout workers (default: all cores)."""


def parse() -> Args:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    d = Args()
    p.add_argument("--cases", nargs="+", default=list(d.cases))
    for name in ("iterations", "perturbations", "nas_every", "seed", "workers"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(d, name))
    p.add_argument("--runs-dir", default=d.runs_dir)
    a = p.parse_args()
    return Args(tuple(a.cases), a.iterations, a.perturbations, a.nas_every, a.seed, a.runs_dir,
                a.workers)


def config(args: Args, case: str) -> TrainConfig:
    name, *rest = case.split(":")
    lr = float(rest[0]) if rest else 1e-3
    beta = float(rest[1]) if len(rest) > 1 else 0.3
    return TrainConfig("HalfCheetah-v5", hidden=(41,), colors=17, iterations=args.iterations,
                       perturbations=args.perturbations, seed=args.seed, controller=name,
                       nas_every=args.nas_every, strategy="antithetic", sigma=0.1, lr=0.01,
                       controller_lr=lr, entropy_weight=beta).validate()


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4), dpi=110)
    plot_curves(axes[0], results["cases"], "HalfCheetah-v5 17-41-6, M=17: mean (bold) / max return")
    for name, r in results["cases"].items():
        if r["nas_steps"]:
            ts, rew, ent = zip(*r["nas_steps"], strict=True)
            axes[1].plot(ts, rew, lw=0.8, label=name)
            if all(e is not None for e in ent):
                axes[2].plot(ts, ent, lw=0.8, label=name)
    axes[1].set_title("controller reward (mean over sampled partitions)")
    axes[2].set_title("controller entropy per edge (nats)")
    for ax in axes[1:]:
        ax.set_xlabel("timesteps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    args = parse()
    opts = EngineOptions("local", args.workers)
    cases = {c: train_case(config(args, c), Path(args.runs_dir) / c.replace(":", "_"), opts)
             for c in args.cases}
    results = {"machine": machine(), "settings": vars(args) | {"cases": list(args.cases)},
               "cases": cases}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ablation_halfcheetah.json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results, RESULTS / "ablation_halfcheetah.png")
    for name, r in cases.items():
        print(summary_line(name, r))


if __name__ == "__main__":
    main()
