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
  (8 x bytes), in three ``--colorings``: ``plain`` k-means, ``sensitivity``
  (``--weighting sensitivity``) and ``refit`` (``--refit``: plain k-means, then the palette,
  biases and single edges fitted to the dense actions). The last two use calibration
  observations from ``--calibration-episodes`` (3) on-policy episodes of the dense policy reset
  with seeds ``--calibration-seed`` (1000) and up, which must be disjoint from the evaluation
  seeds (an error otherwise) and are recorded in the JSON's ``calibration`` entry;
- **fine-tuned** chromatic policies (``--tuned POLICY.npz ...``, e.g. ES fine-tunes of colored
  imports, ``chromatic train --init-policy``), f32 and f16, on the C runtime;
- **trained from scratch** (``--trained POLICY.npz ...``: chromatic, Toeplitz, circulant or
  masked policies of ``chromatic train``), f32 and f16, on the C runtime, labelled from the
  policy: structure, colors, seed (and the partition controller when it is not ``fixed``).

The ``goal`` entry of the JSON is the issue's test: the smallest chromatic point whose return
reaches int8 per-tensor PTQ's, and its bits as a share of int8's. Chromatic points are the
colored imports (every coloring: a refit import is still a colored import of the dense policy),
the fine-tunes, and the trained policies whose structure is ``chromatic`` (not Toeplitz,
circulant or masked).

Every point is the mean return of ``--episodes`` (5) evaluation episodes, episode k reset with
``--seed + k`` as in ``chromatic run`` and the zoo. Writes benchmarks/results/frontier_<env>.json,
.png and .md (the docs table). The dense starting policy is not trained here:
``chromatic train --structure dense`` (the training lead's zoo entry) makes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

# The policies are tiny: BLAS threads only contend (the refit's forward passes run 10x slower
# with them on a loaded machine), as chromatic/cli.py sets for the command line.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from chromatic.compiler.compile import compile_policy  # noqa: E402
from chromatic.compiler.importer import actions, import_model  # noqa: E402
from chromatic.compiler.ir import Layer, Policy, Structure, canonical_partitions  # noqa: E402
from chromatic.compiler.policy_file import load_policy  # noqa: E402
from chromatic.errors import ChromaticError  # noqa: E402
from chromatic.runtime import load  # noqa: E402
from chromatic.runtime.control_loop import run_episodes  # noqa: E402

RESULTS = Path(__file__).parent / "results"
COLORS = (4, 8, 17, 32, 64)
CALIBRATION_EPISODES, CALIBRATION_SEED = 3, 1000  # the refit's on-policy episodes of the dense policy
COLORINGS = ("plain", "sensitivity", "refit")  # chromatic import without / with --weighting / --refit
SUFFIX = {"plain": "", "sensitivity": " sens", "refit": " refit"}
CHROMATIC_KINDS = ("colored", "tuned", "trained")  # trained counts only with structure chromatic


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
    p.add_argument(
        "--colorings",
        nargs="+",
        choices=COLORINGS,
        default=list(COLORINGS),
        help="how the colored imports are made: plain k-means, --weighting sensitivity, --refit",
    )
    p.add_argument(
        "--calibration-episodes",
        type=int,
        default=CALIBRATION_EPISODES,
        help="on-policy episodes of the dense policy",
    )
    p.add_argument(
        "--calibration-seed", type=int, default=CALIBRATION_SEED, help="reset seed of the first one"
    )
    p.add_argument(
        "--trained",
        nargs="*",
        default=[],
        metavar="POLICY.npz",
        help="policies trained from scratch (chromatic, toeplitz, circulant, masked) to add (f32 and f16)",
    )
    p.add_argument("--out", help="JSON to write (default benchmarks/results/frontier_<env>.json)")
    p.add_argument(
        "--keep-gone",
        action="store_true",
        help="a --tuned/--trained file that no longer exists keeps its points from the --out JSON "
        "(run folders need not outlive a session; only if that JSON was written from the same "
        "--dense, --env, --episodes and --seed)",
    )
    args = p.parse_args()
    problem = check_seeds(args.seed, args.episodes, args.calibration_seed, args.calibration_episodes)
    if problem:
        print(f"frontier: {problem}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else RESULTS / f"frontier_{args.env.split('-')[0].lower()}.json"
    kept = kept_points(out, args) if args.keep_gone else {}
    for path in [*args.tuned, *args.trained]:
        if not Path(path).is_file() and path not in kept:
            where = f" (and no points kept in {out})" if args.keep_gone else ""
            print(f"frontier: no policy file at {path}{where}", file=sys.stderr)
            return 1
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
    calibration: dict = {
        "episodes": args.calibration_episodes,
        "seeds": list(range(args.calibration_seed, args.calibration_seed + args.calibration_episodes)),
        "evaluation_seeds": list(range(args.seed, args.seed + args.episodes)),
        "policy": "the dense import, numpy runtime",
    }

    skipped: list[dict] = []

    def attempt(policy: Policy, dtype: str, what: str) -> dict | None:
        """A point on the C runtime, or None (recorded in ``skipped``) if it cannot compile, e.g.
        a refit bias beyond float16's range in an f16 blob."""
        try:
            return evaluate(policy, args.env, args.episodes, args.seed, "c", dtype)
        except ChromaticError as e:
            skipped.append({"name": what, "dtype": dtype, "reason": str(e)})
            print(f"{what} ({dtype}): skipped: {e}")
            return None

    def keep_if_gone(path: str) -> bool:
        """A --keep-gone file that no longer exists: its committed points instead."""
        if Path(path).is_file():
            return False
        points.extend(kept[path])
        print(f"{path}: gone; its points kept from {out}")
        return True

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
    calib = None
    if set(args.colorings) - {"plain"}:
        t_cal = time.perf_counter()
        calib = observations(dense, args.env, args.calibration_episodes, args.calibration_seed)
        calibration["observations"] = int(calib.shape[0])
        calibration["wall_s"] = time.perf_counter() - t_cal
    for m in args.colors:
        for coloring in args.colorings:
            t_imp = time.perf_counter()
            imp = import_model(
                args.dense,
                colors=m,
                stats=args.normalization,
                weighting="sensitivity" if coloring == "sensitivity" else "none",
                calibration=None if coloring == "plain" else calib,
                refit=coloring == "refit",
            )
            import_s = time.perf_counter() - t_imp
            assert imp.coloring is not None
            refit = imp.refit
            rmse = None  # every coloring's action error on the calibration observations
            if calib is not None:
                rmse = float(np.sqrt(np.mean((actions(imp.policy, calib) - actions(dense, calib)) ** 2)))
            name = f"colored M={m}{SUFFIX[coloring]}"
            for dtype in ("f32", "f16"):
                r = attempt(imp.policy, dtype, name)
                if r is None:
                    continue
                add(
                    name + (" f16" if dtype == "f16" else ""),
                    "colored",
                    r,
                    coloring=coloring,
                    colors=imp.policy.num_colors,
                    variance_loss=imp.coloring.variance_loss,
                    calibration_action_rmse=rmse,
                    refit_rmse_before=refit and refit.rms_before,
                    refit_edges_moved=refit and refit.edges_moved,
                    import_s=import_s,
                    dtype=dtype,
                    structure="chromatic",
                )
    for path in args.trained:
        if keep_if_gone(path):
            continue
        trained = load_policy(path)
        for dtype in ("f32", "f16"):
            r = attempt(trained, dtype, str(path))
            if r is None:
                continue
            add(
                trained_label(trained) + (" f16" if dtype == "f16" else ""),
                "trained",
                r,
                colors=trained.num_colors,
                dtype=dtype,
                structure=trained.structure.name.lower(),
                seed=trained.metadata.get("seed"),
                source=str(path),
                train_command=trained.metadata.get("train_command"),
                source_eval_return=trained.metadata.get("eval_return"),
            )
    for path in args.tuned:
        if keep_if_gone(path):
            continue
        tuned = load_policy(path)
        for dtype in ("f32", "f16"):
            r = attempt(tuned, dtype, str(path))
            if r is None:
                continue
            label = run_label(Path(path))
            add(
                f"{label} M={tuned.num_colors}" + (" f16" if dtype == "f16" else ""),
                "tuned",
                r,
                colors=tuned.num_colors,
                dtype=dtype,
                structure=tuned.structure.name.lower(),
                source=str(path),
                train_command=tuned.metadata.get("train_command"),
            )
    ref = points[0]["mean_return"]
    for pt in points:
        pt["return_vs_dense"] = pt["mean_return"] / ref if ref else float("nan")
    goal = goal_point(points)
    result = {
        "machine": machine(),
        "settings": vars(args),
        "dense_source": str(args.dense),
        "layer_sizes": list(dense.layer_sizes),
        "wall_s": time.perf_counter() - t0,
        "calibration": calibration,
        "goal": goal,
        "points": points,
        "skipped": skipped,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    plot(points, out.with_suffix(".png"), f"{args.env}: reward vs bits from {Path(args.dense).name}")
    out.with_suffix(".md").write_text(markdown(points, goal, args.episodes))
    print(f"wrote {out} and its .png and .md")
    return 0


def kept_points(out: Path, args: argparse.Namespace) -> dict[str, list[dict]]:
    """The trained and tuned points of the committed frontier JSON by source file, if it was
    written from the same dense policy, environment and evaluation episodes (else none)."""
    if not out.is_file():
        return {}
    old = json.loads(out.read_text())
    if any(old["settings"].get(k) != getattr(args, k) for k in ("dense", "env", "episodes", "seed")):
        return {}
    by_source: dict[str, list[dict]] = {}
    for pt in old["points"]:
        if pt["kind"] in ("trained", "tuned"):
            by_source.setdefault(pt["source"], []).append(pt)
    return by_source


def check_seeds(seed: int, episodes: int, calibration_seed: int, calibration_episodes: int) -> str | None:
    """Why the calibration episodes would not be disjoint from the evaluation ones, or None."""
    if episodes < 1 or calibration_episodes < 1:
        return "--episodes and --calibration-episodes must be >= 1"
    evaluation = set(range(seed, seed + episodes))
    shared = sorted(evaluation & set(range(calibration_seed, calibration_seed + calibration_episodes)))
    if shared:
        last = calibration_seed + calibration_episodes - 1
        return (
            f"calibration seeds {calibration_seed}..{last} overlap the evaluation seeds "
            f"{seed}..{seed + episodes - 1} (seed {shared[0]}); pick disjoint ones"
        )
    return None


def trained_label(policy: Policy) -> str:
    """``chromatic M=17 s3``, ``toeplitz s0``, ``chromatic M=17 s3 enas``: structure, colors
    (where the structure does not fix them), seed, and a non-default partition controller."""
    structure = policy.structure.name.lower()
    label = structure if policy.structure.implicit else f"{structure} M={policy.num_colors}"
    seed = policy.metadata.get("seed")
    if seed is not None:
        label += f" s{seed}"
    controller = policy.metadata.get("controller")
    if controller not in (None, "fixed"):
        label += f" {controller}"
    return label


def run_label(path: Path) -> str:
    """A fine-tune's label: ``RUN/seedS`` for a run folder's ``policy.npz``, else the file's stem."""
    if path.stem == "policy":
        return f"{path.parent.parent.name}/{path.parent.name}"
    return path.stem


def markdown(points: list[dict], goal: dict, episodes: int) -> str:
    """The frontier as a docs table (benchmarks/results/frontier_<env>.md), with the goal's line."""
    lines = [f"| point | kind | return ({episodes} ep.) | of dense | bits | runtime |",
             "|---|---|---:|---:|---:|---|"]
    for p in points:
        size = f"{p['blob_bits']:,}" + (" (computed)" if p["kind"] == "ptq" else "")
        lines.append(f"| {p['name']} | {p['kind']} | {p['mean_return']:,.0f} | "
                     f"{100 * p['return_vs_dense']:.1f} % | {size} | {p['runtime']} |")
    if goal["point"] is None:
        verdict = "no chromatic point reaches it"
    else:
        verdict = (f"the smallest chromatic point reaching it is **{goal['point']}** at {goal['bits']:,} "
                   f"bits, **{goal['bits_vs_int8']:.2f} x** int8's (goal <= 0.5)")
    lines += ["", f"int8 per-tensor: {goal['int8_return']:,.0f} at {goal['int8_bits']:,} bits; {verdict}."]
    return "\n".join(lines) + "\n"


def is_chromatic(point: dict) -> bool:
    """A point the goal may pick: a colored import (any coloring), a fine-tune, or a policy
    trained from scratch with a chromatic structure."""
    if point["kind"] not in CHROMATIC_KINDS:
        return False
    return point["kind"] != "trained" or point.get("structure") == "chromatic"


def goal_point(points: list[dict]) -> dict:
    """The issue's test: the smallest chromatic point (:func:`is_chromatic`) whose return reaches
    int8 per-tensor PTQ's, and its bits as a share of int8's (goal <= 0.5)."""
    int8 = next(p for p in points if p["name"] == "int8 per-tensor")
    ok = [p for p in points if is_chromatic(p) and p["mean_return"] >= int8["mean_return"]]
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
    groups = [("dense", "s", "dense"), ("ptq", "^", "ptq")]
    groups += [(f"colored {c}", m, c) for c, m in zip(COLORINGS, ("o", "D", "P"), strict=True)]
    groups += [("tuned", "*", "tuned"), ("trained", "X", "trained")]
    for label, marker, key in groups:
        pts = [p for p in points if (p.get("coloring") or p["kind"]) == key]
        if not pts:
            continue
        ax.scatter([p["blob_bits"] for p in pts], [p["mean_return"] for p in pts], marker=marker, label=label)
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
