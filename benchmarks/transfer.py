"""Appendix D: transfer HalfCheetah's best learned partitions to Walker2d, against random ones.

The top ``--top`` partitions (by reward) of a HalfCheetah NAS run's replay buffer (default: the
ENAS run of benchmarks/ablation_halfcheetah.py) are written as policy files, and each trains its
own palette on Walker2d-v5 (same 17->41->6 shapes) with vanilla ES and a fixed partition
(``chromatic train --init-partition``). The same number of random partitions (``--seed`` s,
s+1, ...) train at the same budget. Curves, evaluation returns, timesteps and wall time go to
benchmarks/results/transfer_walker2d.json and .png.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
from training_runs import RESULTS, machine, plot_curves, summary_line, train_case

from chromatic.compiler.policy_file import load_policy, save_policy
from chromatic.training.alternating import NasState, finalists, split_state
from chromatic.training.enas.edges import num_edges, split_partitions
from chromatic.training.run import CHECKPOINT, POLICY, EngineOptions, TrainConfig, load_checkpoint


def top_partition_files(source: Path, top: int, out_dir: Path) -> list[Path]:
    """The run's ``top`` best partitions as policy files (its final palette; only the partition
    is reused by --init-partition)."""
    policy = load_policy(source / POLICY)
    _, nas = split_state(load_checkpoint(source / CHECKPOINT).controller_state)
    sizes = policy.layer_sizes
    state = NasState.from_arrays(nas, num_edges(sizes))
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for k, flat in enumerate(finalists(state, top)):
        layers = tuple(dataclasses.replace(layer, partition=part)
                       for layer, part in zip(policy.layers, split_partitions(flat, sizes), strict=True))
        path = out_dir / f"source_partition_{k}.npz"
        save_policy(dataclasses.replace(policy, layers=layers), path)
        files.append(path)
    return files


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default="runs/ablation_halfcheetah/enas",
                   help="a HalfCheetah NAS run directory (17->41->6)")
    p.add_argument("--env", default="Walker2d-v5")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--iterations", type=int, default=60)
    p.add_argument("--perturbations", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs-dir", default="runs/transfer_walker2d")
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args()
    runs = Path(args.runs_dir)
    sources = top_partition_files(Path(args.source), args.top, runs / "partitions")
    base = TrainConfig(args.env, hidden=(41,), colors=17, iterations=args.iterations,
                       perturbations=args.perturbations, seed=args.seed, strategy="antithetic",
                       sigma=0.1, lr=0.01)
    configs = {f"transferred #{k}": dataclasses.replace(base, init_partition=str(f))
               for k, f in enumerate(sources)}
    configs |= {f"random (seed {args.seed + k})": dataclasses.replace(base, seed=args.seed + k)
                for k in range(len(sources))}
    opts = EngineOptions("local", args.workers)
    cases = {name: train_case(cfg.validate(), runs / name.replace(" ", "_").replace("#", "")
                              .replace("(", "").replace(")", ""), opts)
             for name, cfg in configs.items()}
    groups = {g: [c["eval_return"] for n, c in cases.items() if n.startswith(g)]
              for g in ("transferred", "random")}
    results = {"machine": machine(), "settings": vars(args), "cases": cases,
               "eval_return": {g: {"mean": float(np.mean(v)), "values": v} for g, v in groups.items()}}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "transfer_walker2d.json").write_text(json.dumps(results, indent=1) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    plot_curves(ax, cases, f"{args.env} 17-41-6, M=17: HalfCheetah partitions vs random",
                show_max=False)
    fig.tight_layout()
    fig.savefig(RESULTS / "transfer_walker2d.png")
    for name, c in cases.items():
        print(summary_line(name, c))
    print(json.dumps(results["eval_return"]))


if __name__ == "__main__":
    main()
