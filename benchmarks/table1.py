"""Our zoo against the paper's Table 1 (mean / max reward of chromatic policies), plus bits.

For each trained policy in policies/: the evaluation return recorded at training (mean over its
``eval_episodes``, re-earned by the C runtime in tests/test_zoo.py), the best perturbed return
seen during training (the closest we have to the paper's "max reward"), the training budget
(timesteps from the metadata; wall time from the run's log if ``--runs-dir`` holds it) and the
compiled blob's bits (``chromatic measure``'s paper_bits and blob_bits). Writes
benchmarks/results/table1.json and .png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
from dataclasses import dataclass
from pathlib import Path

from chromatic.compiler.bits import bit_report
from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.policy_file import load_policy
from chromatic.training.run import read_log

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
#: Paper Table 1, chromatic rows: env -> (architecture, colors, mean reward, max reward).
PAPER = {
    "HalfCheetah-v5": ("H41", 17, 2148, 3779),
    "Hopper-v5": ("H41", 11, 247, 3408),
    "Walker2d-v5": ("H41", 17, 1943, 3695),
    "Swimmer-v5": ("L", 8, 97, 365),
}


@dataclass
class Args:
    """Where to read the zoo and its runs."""

    policies: str = str(ROOT / "policies")
    """directory of the zoo's policy files."""


def row(path: Path) -> dict:
    policy = load_policy(path)
    meta = policy.metadata
    bits = bit_report(decode(compile_policy(policy)))
    out = shlex.split(meta["train_command"])
    run_dir = ROOT / out[out.index("--out") + 1]
    log = read_log(run_dir) if run_dir.is_dir() else []
    arch, colors, p_mean, p_max = PAPER[meta["env_id"]]
    return {
        "policy": path.name, "env_id": meta["env_id"], "layer_sizes": list(policy.layer_sizes),
        "colors": policy.num_colors, "train_command": meta["train_command"],
        "eval_return": meta["eval_return"], "eval_episodes": meta["eval_episodes"],
        "max_training_return": max((r["max_return"] for r in log), default=None),
        "timesteps": meta["timesteps"], "iterations": len(log) or None,
        "wall_s": log[-1]["elapsed"] if log else None,
        "paper_bits": bits.paper_bits, "blob_bits": bits.blob_bits,
        "paper": {"architecture": arch, "colors": colors, "mean_reward": p_mean, "max_reward": p_max},
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(9, 4), dpi=110)
    x = np.arange(len(rows))
    w = 0.2
    series = [("ours: eval return", [r["eval_return"] for r in rows]),
              ("ours: max training return", [r["max_training_return"] or 0 for r in rows]),
              ("paper: mean reward", [r["paper"]["mean_reward"] for r in rows]),
              ("paper: max reward", [r["paper"]["max_reward"] for r in rows])]
    for k, (label, vals) in enumerate(series):
        ax.bar(x + (k - 1.5) * w, vals, w, label=label)
    ax.set_xticks(x, [f"{r['env_id']}\n{'-'.join(map(str, r['layer_sizes']))} M={r['colors']}" for r in rows],
                  fontsize=8)
    ax.set_ylabel("return")
    ax.set_title("Chromatic policies: our zoo (2-core budget) vs the paper's Table 1")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--policies", default=Args.policies)
    args = Args(p.parse_args().policies)
    paths = sorted(Path(args.policies).glob("*.npz"))
    rows = [row(q) for q in paths if load_policy(q).metadata.get("env_id") in PAPER
            and "eval_return" in load_policy(q).metadata]
    RESULTS.mkdir(exist_ok=True)
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "rows": rows}
    (RESULTS / "table1.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(rows, RESULTS / "table1.png")
    print("| env | policy | ours eval (mean of N) | ours max (training) | paper mean / max | timesteps | "
          "wall s | paper_bits | blob_bits |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mx = f"{r['max_training_return']:.0f}" if r["max_training_return"] is not None else "n/a"
        wall = f"{r['wall_s']:.0f}" if r["wall_s"] is not None else "n/a"
        print(f"| {r['env_id']} | `{r['policy']}` | {r['eval_return']:.1f} ({r['eval_episodes']}) | {mx} | "
              f"{r['paper']['mean_reward']} / {r['paper']['max_reward']} | {r['timesteps']:,} | {wall} | "
              f"{r['paper_bits']:,} | {r['blob_bits']:,} |")


if __name__ == "__main__":
    main()
