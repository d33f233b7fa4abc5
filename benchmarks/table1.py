"""Every row of the paper's Table 1: train it (``--train``) and print ours next to the paper's.

    python benchmarks/table1.py --train [ROW ...]   # train the missing rows, resumable
    python benchmarks/table1.py                     # the table of what policies/ holds

A row is a ``chromatic train`` command at the project's defaults (the recipe of
docs/training.md) with a budget in timesteps chosen to fit 30 minutes on 2 cores; ``--train``
runs it as an ordinary run directory under ``--runs`` (seed 0; a finished run is skipped, an
interrupted one resumed) and copies its ``policy.npz`` to ``policies/<row>.npz`` unless that
file already holds a better evaluation. The table: the evaluation return recorded at training
(mean over its ``eval_episodes`` on the reporting seeds, re-earned by the C runtime in
tests/test_zoo.py), the best perturbed return seen during training (the closest we have to the
paper's "max reward", a maximum over workers), the paper's mean and max, the timesteps, the wall
time of the rollouts, and the compiled blob's bits. Writes benchmarks/results/table1.json, .png
and table1.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from seeds import Case, run_seed

from chromatic.atomic import atomic_write_bytes
from chromatic.compiler.bits import bit_report
from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.policy_file import load_policy
from chromatic.training.run import read_log
from chromatic.training.settings import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Row:
    """One row of the paper's Table 1 and the run that reproduces it."""

    name: str  # policies/<name>.npz
    env_id: str
    hidden: tuple[int, ...]
    colors: int
    paper_mean: float
    paper_max: float
    timesteps: int
    note: str = ""

    @property
    def architecture(self) -> str:
        return ", ".join(f"H{h}" for h in self.hidden) or "L"

    def config(self) -> TrainConfig:
        return TrainConfig(env_id=self.env_id, hidden=self.hidden, colors=self.colors,
                           timesteps=self.timesteps).validate()


#: Paper Table 1, in its order. Budgets: about 30 minutes on 2 cores at most (env speeds in
#: benchmarks/results/env_speed.json; the Minitaur, pybullet with self-collision, steps at ~570/s
#: with 2 workers during training, so 1 M steps fill the half hour).
ROWS = [
    Row("swimmer_linear_c8", "Swimmer-v5", (), 8, 97, 365, 2_000_000),
    Row("reacher_linear_c11", "Reacher-v5", (), 11, -144, -6, 1_000_000),
    Row("hopper_linear_c11", "Hopper-v5", (), 11, 216, 999, 1_000_000),
    Row("hopper_h41_c11", "Hopper-v5", (41,), 11, 247, 3408, 4_000_000),
    Row("halfcheetah_linear_c17", "HalfCheetah-v5", (), 17, 1812, 3653, 2_000_000),
    Row("halfcheetah_linear_c50", "HalfCheetah-v5", (), 50, 1383, 4318, 2_000_000),
    Row("halfcheetah_h41_c17", "HalfCheetah-v5", (41,), 17, 2148, 3779, 3_000_000),
    Row("halfcheetah_h41h41_c17", "HalfCheetah-v5", (41, 41), 17, 3036, 5285, 3_000_000),
    Row("walker2d_h41_c17", "Walker2d-v5", (41,), 17, 1943, 3695, 5_000_000),
    Row("pusher_h41_c23", "Pusher-v5", (41,), 23, -419, -144, 1_000_000),
    Row("striker_h41_c23", "chromatic/Striker-v0", (41,), 23, -1926, -248, 1_000_000),
    Row("thrower_h41_c23", "chromatic/Thrower-v0", (41,), 23, -1651, -61, 1_000_000),
    Row("ant_h41h41_c50", "Ant-v5", (41, 41), 50, 1047, 1440, 3_000_000,
        "Ant-v5 has 105 observations, the paper's Ant 111"),
    Row("minitaur_linear_c13", "chromatic/Minitaur-v0", (), 13, 4.84, 7.2, 1_000_000),
    Row("minitaur_linear_c50", "chromatic/Minitaur-v0", (), 50, 6.08, 7.91, 1_000_000),
    Row("minitaur_h41_c13", "chromatic/Minitaur-v0", (41,), 13, 7.12, 9.34, 1_000_000),
]
BY_NAME = {r.name: r for r in ROWS}


def train(row: Row, runs: Path, policies: Path) -> None:
    """Run (or resume) the row's training and ship its policy unless the zoo's is better."""
    t0 = time.time()
    case = Case(row.config(), row.paper_mean, f"Table 1: {row.env_id} {row.architecture} M={row.colors}")
    path = run_seed(case, "table1_" + row.name, 0, runs, None)
    meta = load_policy(path).metadata
    target = policies / f"{row.name}.npz"
    old = load_policy(target).metadata.get("eval_return") if target.exists() else None
    ship = old is None or meta["eval_return"] > old
    if ship:
        shutil.copyfile(path, target)
    kept = "shipped" if ship else f"kept the zoo's {old:.1f}"
    print(f"{row.name}: eval {meta['eval_return']:.1f} after {meta['timesteps']:,} steps "
          f"({time.time() - t0:.0f} s; {kept})", flush=True)


def row(r: Row, policies: Path, before: dict[str, dict] | None = None) -> dict:
    """The row's figures; those read from its run's log (the largest training return, the wall
    time) come from ``before`` (the committed table1.json's rows) when the run directory is gone
    and the policy is the same one (its ``train_command``)."""
    path = policies / f"{r.name}.npz"
    out = {"row": r.name, "env_id": r.env_id, "architecture": r.architecture, "colors": r.colors,
           "note": r.note, "budget_timesteps": r.timesteps,
           "paper": {"mean_reward": r.paper_mean, "max_reward": r.paper_max}, "trained": path.exists()}
    if not path.exists():
        return out
    policy = load_policy(path)
    meta = policy.metadata
    bits = bit_report(decode(compile_policy(policy)))
    cmd = meta["train_command"].split()
    run_dir = Path(cmd[cmd.index("--out") + 1]) if "--out" in cmd else None
    log = read_log(run_dir) if run_dir is not None and run_dir.is_dir() else []
    from_log = {"max_training_return": max((x["max_return"] for x in log), default=None),
                "wall_s": log[-1]["elapsed"] if log else None}
    old = (before or {}).get(r.name, {})
    if not log and old.get("train_command") == meta["train_command"]:
        from_log = {k: old.get(k) for k in from_log}
    return {**out, "policy": path.name, "layer_sizes": list(policy.layer_sizes),
            "train_command": meta["train_command"], "eval_return": meta["eval_return"],
            "eval_episodes": meta["eval_episodes"],
            "timesteps": meta["timesteps"], **from_log,
            "paper_bits": bits.paper_bits, "blob_bits": bits.blob_bits,
            "beats_paper_mean": meta["eval_return"] >= r.paper_mean,
            "beats_paper_max": meta["eval_return"] >= r.paper_max}


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(12, 4.5), dpi=110)
    x = np.arange(len(rows))
    w = 0.2
    # returns differ by orders of magnitude across tasks: each bar is relative to the paper's max
    def rel(v):
        return [(x[v] if x.get(v) is not None else np.nan) for x in rows]

    scale = np.array([abs(r["paper"]["max_reward"]) for r in rows])
    series = [("ours: eval return", rel("eval_return")),
              ("ours: max training return", rel("max_training_return")),
              ("paper: mean reward", [r["paper"]["mean_reward"] for r in rows]),
              ("paper: max reward", [r["paper"]["max_reward"] for r in rows])]
    for k, (label, vals) in enumerate(series):
        ax.bar(x + (k - 1.5) * w, np.asarray(vals, float) / scale, w, label=label)
    ax.set_xticks(x, [f"{r['env_id'].split('/')[-1]}\n{r['architecture']} M={r['colors']}" for r in rows],
                  fontsize=6, rotation=60)
    ax.set_ylabel("return / |paper max|")
    ax.set_title("Chromatic policies: our zoo (2-core budget) vs the paper's Table 1")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def table(rows: list[dict]) -> str:
    lines = ["| env | arch | M | ours: eval (episodes) | ours: max in training | paper mean / max | "
             "≥ mean | ≥ max | timesteps | rollout wall | blob bits |",
             "|---|---|---:|---:|---:|---:|:-:|:-:|---:|---:|---:|"]
    for r in rows:
        p = f"{r['paper']['mean_reward']:g} / {r['paper']['max_reward']:g}"
        if not r["trained"]:
            lines.append(f"| {r['env_id']} | {r['architecture']} | {r['colors']} | not trained | | {p} | | | "
                         f"(budget {r['budget_timesteps']:,}) | | |")
            continue
        mx = f"{r['max_training_return']:.1f}" if r["max_training_return"] is not None else "n/a"
        wall = f"{r['wall_s'] / 60:.1f} min" if r["wall_s"] is not None else "n/a"
        lines.append(f"| {r['env_id']} | {r['architecture']} | {r['colors']} | {r['eval_return']:.1f} "
                     f"({r['eval_episodes']}) | {mx} | {p} | {'yes' if r['beats_paper_mean'] else 'no'} | "
                     f"{'yes' if r['beats_paper_max'] else 'no'} | {r['timesteps']:,} | {wall} | "
                     f"{r['blob_bits']:,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rows", nargs="*", help=f"rows to train (default: all): {', '.join(BY_NAME)}")
    p.add_argument("--train", action="store_true", help="train the rows whose run has not finished")
    p.add_argument("--policies", type=Path, default=ROOT / "policies")
    p.add_argument("--runs", type=Path, default=Path(__file__).parent / "runs")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    unknown = [n for n in args.rows if n not in BY_NAME]
    if unknown:
        sys.exit(f"table1.py: unknown row {unknown[0]!r}; rows: {', '.join(BY_NAME)}")
    if args.train:
        for name in args.rows or list(BY_NAME):
            train(BY_NAME[name], args.runs, args.policies)
    committed = args.results / "table1.json"
    before = ({x["row"]: x for x in json.loads(committed.read_text())["rows"]} if committed.exists() else {})
    rows = [row(r, args.policies, before) for r in ROWS]
    args.results.mkdir(parents=True, exist_ok=True)
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "rows": rows}
    atomic_write_bytes(args.results / "table1.json", (json.dumps(result, indent=1) + "\n").encode())
    atomic_write_bytes(args.results / "table1.md", table(rows).encode())
    plot([r for r in rows if r["trained"]], args.results / "table1.png")
    print(table(rows), end="")


if __name__ == "__main__":
    main()
