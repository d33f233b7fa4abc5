"""Kernel latency on a 17->41->6, 17-color policy: every runtime next to its dense baselines.

Writes benchmarks/results/kernel_latency.json and .png. Targets (issue 3): C <= 2x dense
float32 C with bit-packed indices and <= 1.2x with byte indices; Python->C call overhead
<= 2 us; Numba <= 3x C. Run: .venv/bin/python benchmarks/kernel_latency.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.synth import random_policy
from chromatic.runtime.c_loader import CFLAGS, compiler
from chromatic.runtime.latency import NAMES, measure

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Args:
    """Benchmark settings."""

    quick: bool = False  # 3 short rounds instead of 9 long ones
    seed: int = 0  # seed of the random 17-color policy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = Args(**vars(ap.parse_args()))
    policy = random_policy((17, 41, 6), 17, seed=args.seed)
    runs = {}
    for pack in ("bits", "bytes"):
        blob = compile_policy(policy, "f32", pack)
        runs[pack] = measure(blob, quick=args.quick)
        runs[pack]["blob_bytes"] = len(blob)
    bits, byts = runs["bits"], runs["bytes"]
    ratios = {
        "c_over_dense_c_bits": bits["latency_ns"]["c"] / bits["latency_ns"]["dense_c"],
        "c_over_dense_c_bytes": byts["latency_ns"]["c"] / byts["latency_ns"]["dense_c"],
        "numba_over_c_bits": bits["latency_ns"]["numba"] / bits["latency_ns"]["c"],
        "numba_over_c_bytes": byts["latency_ns"]["numba"] / byts["latency_ns"]["c"],
        "python_to_c_overhead_ns": bits["call_overhead_ns"]["c"],
    }
    targets = {
        "c_over_dense_c_bits": 2.0, "c_over_dense_c_bytes": 1.2,
        "numba_over_c_bits": 3.0, "numba_over_c_bytes": 3.0, "python_to_c_overhead_ns": 2000.0,
    }
    cc = compiler()
    out = {
        "policy": "17->41->6 chromatic M=17 f32 (compiler.synth.random_policy)",
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "python": platform.python_version(),
                    "cc": subprocess.run([cc, "--version"], capture_output=True,
                                         text=True).stdout.splitlines()[0]},
        "cflags": list(CFLAGS),
        "runs": runs,
        "ratios": ratios,
        "targets": targets,
        "met": {k: ratios[k] <= v for k, v in targets.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kernel_latency.json").write_text(json.dumps(out, indent=2) + "\n")

    head = ("runtime", "bits: median ns", "[min, max]", "bytes: median ns", "[min, max]")
    print(f"{head[0]:<13}{head[1]:>16}{head[2]:>20}{head[3]:>18}{head[4]:>20}")
    for name in NAMES:
        row = f"{name:<13}"
        for r in (bits, byts):
            lo, hi = r["latency_spread_ns"][name]
            row += f"{r['latency_ns'][name]:>16,.0f}{f'[{lo:,.0f}, {hi:,.0f}]':>20}"
        print(row)
    for k, v in ratios.items():
        verdict = "met" if out["met"][k] else "NOT met"
        print(f"{k:<26} {v:>10.2f}   target <= {targets[k]:g}   {verdict}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.38
    for i, (pack, r) in enumerate(runs.items()):
        xs = [n + (i - 0.5) * width for n in range(len(NAMES))]
        med = [r["latency_ns"][n] for n in NAMES]
        err = [[m - r["latency_spread_ns"][n][0] for n, m in zip(NAMES, med, strict=True)],
               [r["latency_spread_ns"][n][1] - m for n, m in zip(NAMES, med, strict=True)]]
        ax.bar(xs, med, width, yerr=err, label=f"{pack} indices", capsize=2)
    ax.set_xticks(range(len(NAMES)), NAMES)
    ax.set_yscale("log")
    ax.set_ylabel("ns per inference (median)")
    ax.set_title("17->41->6, M=17: chromatic runtimes vs dense baselines")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "kernel_latency.png", dpi=120)


if __name__ == "__main__":
    main()
