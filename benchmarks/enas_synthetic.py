"""Does the controller learn? A hidden target coloring of 943 edges in 17 colors (issue 14, item 6).

The task of :mod:`training.enas.synthetic`: the 17->41->6 net's 943 edges, M = 17, a uniformly
random hidden target coloring, batch 32, reward = 1000 x the share of edges colored like the
target + 5 x the update index (a reward that rises every update, as ES returns do under the
controller). A case runs ``--updates`` sample/update rounds and records the batch's mean matching
share at every update; the figure of merit is the share of the gap from chance (1/17) to the
optimum (all edges) closed at update 300 (mean of updates 291-300), and the cost per update
(median CPU seconds of this process for one ``sample`` of 32 partitions and one ``update``: the
development machine is shared, so wall time -- also recorded -- mostly measures the other jobs).

Cases (``NAME``, run for ``--seeds`` seeds unless marked one-seed):

- ``enas``, ``factorized``: the controllers with their defaults (training/enas/optim.DEFAULTS);
- ``enas-paper``, ``factorized-paper``: the old recipe, App. B.1 (EMA critic 0.99, Adam lr 1e-3,
  entropy weight 0.3; ``enas-paper`` without per-edge logits: the paper's pointer network);
- ``enas-pointer``: the pointer network alone (no per-edge logits) with the new REINFORCE step;
- ``enas-anchored``, ``factorized-anchored``: started concentrated (keep probability 0.97) on a
  random partition, as ``chromatic train`` starts on the run's initial partition -- here a
  partition at chance, the worst case for local edits;
- ``*-warm``: concentrated on a partition that already matches the target on half of the edges
  (the situation of a trained partition): how far do local edits climb from there?
- ``factorized-rank``, ``factorized-steps2``, ``factorized-ema``, ``factorized-adam``, and
  ``factorized-lrL``/``factorized-betaB``: one change each to the default recipe (rank advantages,
  two optimizer steps per batch, the EMA critic, Adam at 0.2 on the logits, another learning rate
  or entropy weight), the evidence behind each default;
- ``random``: uniform partitions, nothing learned (the floor).

Results go to benchmarks/results/enas_synthetic.json (written after every case: a rerun skips the
cases already there, so an interrupted benchmark resumes) and enas_synthetic.png. BLAS is pinned
to one thread (the controller's small matmuls run 5-7x slower multi-threaded on a busy machine).
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # before numpy is imported
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse
import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chromatic.training.enas import make_controller
from chromatic.training.enas.synthetic import HiddenTarget, run

RESULTS = Path(__file__).parent / "results"
EDGES, COLORS = 17 * 41 + 41 * 6, 17
PAPER = dict(baseline="ema", entropy_weight=0.3)

#: case -> (controller, options, one seed only); "anchor" / "warm" plant a partition
CASES: dict[str, tuple[str, dict, bool]] = {
    "enas": ("enas", {}, False),
    "factorized": ("factorized", {}, False),
    "enas-paper": ("enas", dict(per_edge=False, learning_rate=1e-3, **PAPER), True),
    "factorized-paper": ("factorized", dict(learning_rate=1e-3, **PAPER), True),
    "enas-pointer": ("enas", dict(per_edge=False), True),
    "enas-anchored": ("enas", dict(plant="chance"), True),
    "factorized-anchored": ("factorized", dict(plant="chance"), False),
    "enas-warm": ("enas", dict(plant="half"), True),
    "factorized-warm": ("factorized", dict(plant="half"), False),
    "factorized-rank": ("factorized", dict(baseline="rank"), False),
    "factorized-steps2": ("factorized", dict(update_steps=2), False),
    "factorized-ema": ("factorized", dict(baseline="ema"), False),
    "factorized-adam": ("factorized", dict(learning_rate=0.2), False),
    "factorized-lr2": ("factorized", dict(edge_learning_rate=2.0), False),
    "factorized-lr10": ("factorized", dict(edge_learning_rate=10.0), False),
    "factorized-beta0": ("factorized", dict(entropy_weight=0.0), False),
    "factorized-beta0.05": ("factorized", dict(entropy_weight=0.05), False),
    "random": ("random", {}, True),
}


@dataclass
class Args:
    """Settings of the synthetic benchmark."""

    cases: tuple[str, ...] = tuple(CASES)
    """cases to run (see the module docstring)."""
    updates: int = 300
    """sample/update rounds per case."""
    batch: int = 32
    """partitions per update."""
    seeds: int = 3
    """seeds per case (cases marked one-seed run seed 0 only)."""
    out: str = str(RESULTS / "enas_synthetic.json")
    """results file (cases already in it are skipped)."""


def parse() -> Args:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    d = Args()
    p.add_argument("--cases", nargs="+", default=list(d.cases), choices=list(CASES))
    p.add_argument("--updates", type=int, default=d.updates)
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--seeds", type=int, default=d.seeds)
    p.add_argument("--out", default=d.out)
    a = p.parse_args()
    return Args(tuple(a.cases), a.updates, a.batch, a.seeds, a.out)


def one_run(case: str, seed: int, args: Args) -> dict:
    name, options, _ = CASES[case]
    options = dict(options)
    rng = np.random.default_rng([seed, 14])
    task = HiddenTarget.random(EDGES, COLORS, rng)
    plant = options.pop("plant", None)
    if plant is not None:
        start = rng.integers(0, COLORS, EDGES)
        if plant == "half":  # right on a random half of the edges
            half = rng.permutation(EDGES)[: EDGES // 2]
            start[half] = task.target[half]
        options["init_partition"] = start
    ctrl = make_controller(name, EDGES, COLORS, seed=seed, **options)
    curve = run(ctrl, task, args.updates, args.batch, rng)
    gap = task.gap_closed(curve.share)
    return {
        "seed": seed,
        "gap_closed": gap.round(5).tolist(),
        "gap_at_end": float(gap[-10:].mean()),
        "greedy_gap": float(task.gap_closed(curve.greedy_share)),
        "entropy": curve.entropy.round(5).tolist(),
        "sample_s": float(np.median(curve.sample_s)),
        "update_s": float(np.median(curve.update_s)),
        "wall_s": float(np.median(curve.wall_s)),
    }


def summarize(runs: list[dict], updates: int) -> dict:
    g = np.array([r["gap_closed"] for r in runs])
    marks = {f"gap_at_{u}": float(g[:, u - 10 : u].mean()) for u in (50, 100, 200, 300) if u <= updates}
    return {
        **marks,
        "gap_at_end": float(np.mean([r["gap_at_end"] for r in runs])),
        "gap_at_end_per_seed": [r["gap_at_end"] for r in runs],
        "greedy_gap": float(np.mean([r["greedy_gap"] for r in runs])),
        "update_cost_s": float(np.median([r["sample_s"] + r["update_s"] for r in runs])),
        "sample_s": float(np.median([r["sample_s"] for r in runs])),
        "update_s": float(np.median([r["update_s"] for r in runs])),
        "wall_s": float(np.median([r["wall_s"] for r in runs])),
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    main = {"enas", "factorized", "enas-paper", "factorized-paper", "enas-pointer", "enas-anchored",
            "enas-warm", "factorized-warm", "random"}
    for case, res in results["cases"].items():
        g = np.mean([r["gap_closed"] for r in res["runs"]], axis=0)
        style = dict(lw=2.2) if case in ("enas", "factorized") else dict(lw=1.1)
        if case not in main:
            style.update(lw=0.8, alpha=0.5, ls=":")
        ax.plot(np.arange(1, len(g) + 1), g, label=f"{case} ({res['summary']['gap_at_end']:.2f})", **style)
    ax.axhline(0.75, color="k", ls="--", lw=0.8)
    ax.set_xlabel("controller update (batch of 32 partitions)")
    ax.set_ylabel("share of the gap chance -> optimum closed")
    ax.set_title("hidden target coloring, 943 edges, M = 17 (mean over seeds; gap at the last update)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    args = parse()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {"cases": {}}
    results["meta"] = {
        "edges": EDGES, "colors": COLORS, "batch": args.batch, "updates": args.updates,
        "reward": "1000 * matching share + 5 * update", "machine": platform.machine(),
        "python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count(),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }
    for case in args.cases:
        if case in results["cases"]:
            print(f"{case}: already in {out}, skipped")
            continue
        seeds = [0] if CASES[case][2] else list(range(args.seeds))
        runs = []
        for seed in seeds:
            runs.append(one_run(case, seed, args))
            print(f"{case} seed {seed}: gap closed {runs[-1]['gap_at_end']:.3f}, "
                  f"{runs[-1]['sample_s'] + runs[-1]['update_s']:.3f} CPU s/update "
                  f"({runs[-1]['wall_s']:.3f} s wall)", flush=True)
        results["cases"][case] = {"options": {k: str(v) for k, v in CASES[case][1].items()},
                                  "controller": CASES[case][0], "load_avg": os.getloadavg(),
                                  "summary": summarize(runs, args.updates), "runs": runs}
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        plot(results, out.with_suffix(".png"))
    for case, res in results["cases"].items():
        s = res["summary"]
        print(f"{case:>22}: gap closed at the end {s['gap_at_end']:.3f} (greedy {s['greedy_gap']:.3f}), "
              f"{s['update_cost_s'] * 1e3:.0f} CPU ms/update")


if __name__ == "__main__":
    main()
