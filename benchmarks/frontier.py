"""Reward versus bits without training (issue 15 item 4): what one dense policy becomes.

    python benchmarks/frontier.py --dense policies/halfcheetah_dense_h41.npz --env HalfCheetah-v5

From one dense policy (a policy file or an ONNX model, read by ``chromatic import``):

- **dense f32 / f16**: the lossless import compiled with ``--dtype f32`` / ``f16``;
- **int8 / int4 post-training quantization**, symmetric, per tensor (one scale per layer) and
  per channel (one scale per output row), the QuaRL / TFLite weight recipe: ``q = round(w / s)``
  clipped to ``[-(2^(b-1) - 1), 2^(b-1) - 1]``, ``s = max|w| / (2^(b-1) - 1)``; biases and
  normalization stay float32. The blob cannot store integer weights, so these run the
  dequantized weights on the **numpy** reference, and their size is *computed*: the dense f32
  blob with its palette replaced by ``b`` bits per edge plus one float32 scale per tensor or row;
- **colored imports** at M = 4, 8, 17, 32, 64 (``chromatic import --colors M``, bit-packed
  indices, an f32 and an f16 palette), run on the **C** runtime at their honest blob size
  (8 x bytes);
- **fine-tuned** chromatic policies (``--tuned POLICY.npz ...``, e.g. ES fine-tunes of colored
  imports, ``chromatic train --init-policy``), f32 and f16, on the C runtime.

The ``goal`` entry of the JSON is the issue's test: the smallest chromatic point whose return
reaches int8 per-tensor PTQ's, and its bits as a share of int8's.

Every point is the mean return of ``--episodes`` (5) evaluation episodes, episode k reset with
``--seed + k`` as in ``chromatic run`` and the zoo. Writes benchmarks/results/frontier_<env>.json
and .png. The dense starting policy is not trained here: ``chromatic train --structure dense``
(the training lead's zoo entry) makes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.importer import import_model
from chromatic.compiler.ir import Layer, Policy, Structure, canonical_partitions
from chromatic.compiler.policy_file import load_policy
from chromatic.runtime import load
from chromatic.runtime.control_loop import run_episodes

RESULTS = Path(__file__).parent / "results"
COLORS = (4, 8, 17, 32, 64)


def machine() -> dict:
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "load_avg": list(os.getloadavg())}


def evaluate(
    policy: Policy, env_id: str, episodes: int, seed: int, runtime: str = "c", dtype: str = "f32"
) -> dict:
    """Compile, run ``episodes`` episodes on ``runtime``; mean return and the blob's bits."""
    blob = compile_policy(policy, dtype=dtype)
    report = run_episodes(load(blob, runtime), env_id, episodes, seed, runtime_name=runtime, progress=False)
    return {
        "mean_return": report.mean_return,
        "std_return": report.std_return,
        "returns": report.returns,
        "blob_bits": 8 * len(blob),
        "runtime": runtime,
    }


def observations(policy: Policy, env_id: str, episodes: int, seed: int) -> np.ndarray:
    """Observations the policy visits (on the numpy runtime), for calibration and errors."""
    blob = compile_policy(policy)
    r = run_episodes(load(blob, "numpy"), env_id, episodes, seed, record_observations=True, progress=False)
    return np.asarray(r.observations, np.float64)


# -- post-training quantization -------------------------------------------------------------
def quantize_weights(w: np.ndarray, bits: int, per_channel: bool) -> tuple[np.ndarray, int]:
    """Symmetric fake-quantized weights and the number of scales stored."""
    qmax = 2 ** (bits - 1) - 1
    amax = np.abs(w).max(axis=1, keepdims=True) if per_channel else np.abs(w).max(keepdims=True)
    scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32).astype(np.float64)
    q = np.clip(np.round(w / scale), -qmax, qmax)
    return q * scale, int(scale.size)


def ptq_policy(dense: Policy, bits: int, per_channel: bool) -> tuple[Policy, int]:
    """The dense policy with every layer's weights quantized; and its computed size in bits."""
    mats, scales = [], 0
    for w in dense.weight_matrices():
        wq, n = quantize_weights(w, bits, per_channel)
        mats.append(wq)
        scales += n
    parts = canonical_partitions(Structure.DENSE, dense.layer_sizes)
    palette = np.concatenate([m.ravel() for m in mats]).astype(np.float32).astype(np.float64)
    layers = tuple(Layer(p, layer.bias) for p, layer in zip(parts, dense.layers, strict=True))
    policy = dense.replace(layers=layers, palette=palette)
    f32_bits = 8 * len(compile_policy(dense))
    size = f32_bits - 32 * dense.num_edges + bits * dense.num_edges + 32 * scales
    return policy.validate(), size


# -- the benchmark --------------------------------------------------------------------------
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dense", default="policies/halfcheetah_dense_h41.npz", help="dense policy file or ONNX")
    p.add_argument("--env", default="HalfCheetah-v5")
    p.add_argument("--normalization", help="statistics file for chromatic import (docs/import.md)")
    p.add_argument("--episodes", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--colors", type=int, nargs="+", default=list(COLORS))
    p.add_argument(
        "--tuned",
        nargs="*",
        default=[],
        metavar="POLICY.npz",
        help="fine-tuned chromatic policy files to add (f32 and f16)",
    )
    p.add_argument("--out", help="JSON to write (default benchmarks/results/frontier_<env>.json)")
    args = p.parse_args()
    if not Path(args.dense).is_file():
        print(
            f"frontier: no dense policy at {args.dense}; train one with `chromatic train --structure dense` "
            "(or export one to ONNX) and pass it with --dense",
            file=sys.stderr,
        )
        return 1
    t0 = time.perf_counter()
    dense = import_model(args.dense, stats=args.normalization).policy
    points: list[dict] = []

    def add(name: str, kind: str, result: dict, **extra: object) -> None:
        points.append({"name": name, "kind": kind, **result, **extra})
        print(
            f"{name:24s} {result['mean_return']:9.1f}  {result['blob_bits']:>8,} bits  ({result['runtime']})"
        )

    for dtype in ("f32", "f16"):
        add(f"dense {dtype}", "dense", evaluate(dense, args.env, args.episodes, args.seed, "c", dtype))
    for bits in (8, 4):
        for per_channel in (False, True):
            q, size = ptq_policy(dense, bits, per_channel)
            r = evaluate(q, args.env, args.episodes, args.seed, "numpy")
            r["blob_bits"] = size  # computed, see the module docstring
            add(f"int{bits} per-{'channel' if per_channel else 'tensor'}", "ptq", r)
    for m in args.colors:
        imp = import_model(args.dense, colors=m, stats=args.normalization)
        assert imp.coloring is not None
        for dtype in ("f32", "f16"):
            r = evaluate(imp.policy, args.env, args.episodes, args.seed, "c", dtype)
            add(
                f"colored M={m}" + (" f16" if dtype == "f16" else ""),
                "colored",
                r,
                colors=imp.policy.num_colors,
                variance_loss=imp.coloring.variance_loss,
                dtype=dtype,
            )
    for path in args.tuned:
        tuned = load_policy(path)
        for dtype in ("f32", "f16"):
            r = evaluate(tuned, args.env, args.episodes, args.seed, "c", dtype)
            label = Path(path).parent.name if Path(path).stem == "policy" else Path(path).stem
            add(
                f"{label} M={tuned.num_colors}" + (" f16" if dtype == "f16" else ""),
                "tuned",
                r,
                colors=tuned.num_colors,
                dtype=dtype,
                source=str(path),
                train_command=tuned.metadata.get("train_command"),
            )
    ref = points[0]["mean_return"]
    for pt in points:
        pt["return_vs_dense"] = pt["mean_return"] / ref if ref else float("nan")
    goal = goal_point(points)
    out = Path(args.out) if args.out else RESULTS / f"frontier_{args.env.split('-')[0].lower()}.json"
    result = {
        "machine": machine(),
        "settings": vars(args),
        "dense_source": str(args.dense),
        "layer_sizes": list(dense.layer_sizes),
        "wall_s": time.perf_counter() - t0,
        "goal": goal,
        "points": points,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    plot(points, out.with_suffix(".png"), f"{args.env}: reward vs bits from {Path(args.dense).name}")
    print(f"wrote {out} and {out.with_suffix('.png')}")
    return 0


def goal_point(points: list[dict]) -> dict:
    """The issue's test: the smallest chromatic point (colored or tuned) whose return reaches
    int8 per-tensor PTQ's, and its bits as a share of int8's (goal <= 0.5)."""
    int8 = next(p for p in points if p["name"] == "int8 per-tensor")
    ok = [p for p in points if p["kind"] in ("colored", "tuned") and p["mean_return"] >= int8["mean_return"]]
    best = min(ok, key=lambda p: p["blob_bits"], default=None)
    return {
        "int8_return": int8["mean_return"],
        "int8_bits": int8["blob_bits"],
        "point": best and best["name"],
        "bits": best and best["blob_bits"],
        "bits_vs_int8": best and best["blob_bits"] / int8["blob_bits"],
    }


def plot(points: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, marker in (("dense", "s"), ("ptq", "^"), ("colored", "o"), ("tuned", "*")):
        pts = [p for p in points if p["kind"] == kind]
        ax.scatter([p["blob_bits"] for p in pts], [p["mean_return"] for p in pts], marker=marker, label=kind)
        for p in pts:
            ax.annotate(
                p["name"],
                (p["blob_bits"], p["mean_return"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel("honest size (bits)")
    ax.set_ylabel("mean return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
