"""Coloring an imported dense policy: k-means timing and whether output-aware weighting helps.

    python benchmarks/import_coloring.py [--episodes 5] [--noise 0 0.2]

The zoo has no trained dense policy yet, so the dense policies are the zoo's chromatic ones
expanded to dense and, for ``noise > 0``, perturbed: every edge gets its own Gaussian offset of
``noise`` x the palette's std (a dense policy near a known 17/11-color one: how much of the
partition does k-means recover?). With noise 0 and M below the policy's own color count the
question is how well an already chromatic policy compresses further. Each is colored at M = 4, 8, 17, 32 with

- ``none``: plain k-means on the weights;
- ``activation (gaussian)``: each edge weighted by its input's mean square over standard-normal
  normalized observations (an experiment here, not a chromatic option: it did not help);
- ``activation (on-policy)``: the same over observations the dense policy visits
  (``--calibration``, 3 episodes, seeds 1000+);
- ``sensitivity``: E[||da/dz_i||^2 x_j^2], the diagonal Gauss-Newton weight of edge (i, j)
  (``chromatic import --weighting sensitivity --calibration OBS.npy``), over the same gaussian or
  on-policy observations;
- ``refit (on-policy)``: plain k-means, then the palette and biases fitted and single edges
  moved to reproduce the dense actions on the on-policy calibration observations
  (``chromatic import --refit --calibration OBS.npy``, importer.refit_coloring).

Reported per point: weight-variance loss, RMS action error against the dense policy on
held-out on-policy observations (seeds 2000+), and the mean return of ``--episodes`` episodes on
the C runtime (seeds 0+, as the zoo). Writes benchmarks/results/import_coloring.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # tiny matrices: see frontier.py
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from frontier import RESULTS, evaluate, machine, observations  # noqa: E402

from chromatic.compiler.coloring import color_policy, kmeans_1d, sensitivity_edge_weights  # noqa: E402
from chromatic.compiler.importer import mlp_from_policy, refit_coloring  # noqa: E402
from chromatic.compiler.ir import Activation, Policy  # noqa: E402
from chromatic.compiler.policy_file import load_policy  # noqa: E402
from chromatic.runtime.reference import forward  # noqa: E402

ZOO = {
    "halfcheetah_h41_c17": "HalfCheetah-v5",
    "hopper_h41_c11": "Hopper-v5",
    "walker2d_h41_c17": "Walker2d-v5",
}
COLORS = (4, 8, 17, 32)
WEIGHTINGS = (
    "none",
    "activation (gaussian)",
    "activation (on-policy)",
    "sensitivity (gaussian)",
    "sensitivity (on-policy)",
    "refit (on-policy)",
)


def activation_edge_weights(policy: Policy, obs: np.ndarray) -> list[np.ndarray]:
    """Edge (i, j) of layer l weighted by E[x_{l,j}^2], its input's mean square (the experiment
    that did not help; not a chromatic option)."""
    x = (obs - policy.normalization.mean) / policy.normalization.std
    out = []
    for l, (layer, w) in enumerate(zip(policy.layers, policy.weight_matrices(), strict=True)):
        out.append(np.broadcast_to((x * x).mean(axis=0)[None, :], w.shape).copy())
        z = x @ w.T + layer.bias
        x = np.tanh(z) if policy.activation(l) == Activation.TANH else z
    return out


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """Share of edges whose cluster's majority original color is their own (1 = recovered)."""
    hits = 0
    for c in np.unique(labels):
        hits += np.bincount(truth[labels == c]).max()
    return hits / labels.size


def time_kmeans(values: np.ndarray, k: int, method: str, reps: int = 5) -> float:
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        kmeans_1d(values, k, method=method)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=5)
    p.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.1])
    p.add_argument("--colors", type=int, nargs="+", default=list(COLORS))
    p.add_argument("--policies", nargs="+", default=list(ZOO))
    p.add_argument("--weightings", nargs="+", choices=WEIGHTINGS, default=list(WEIGHTINGS))
    p.add_argument("--out", default=str(RESULTS / "import_coloring.json"))
    args = p.parse_args()
    t_start = time.perf_counter()
    rng = np.random.default_rng(0)
    timing = {}
    for n in (256, 943, 65536):  # 943 = the 17->41->6 policy's edges; 65536 = a 256x256 layer
        vals = rng.normal(size=n)
        timing[str(n)] = {
            f"{m} k={k}": time_kmeans(vals, k, m, 3 if n < 10000 else 1)
            for k in (17, 64)
            for m in (("dense", "dc") if n <= 1000 else ("dc",))
        }
        print(
            f"k-means timing n={n}: " + ", ".join(f"{k} {1000 * v:.1f} ms" for k, v in timing[str(n)].items())
        )
    cases = []
    for name in args.policies:
        env = ZOO[name]
        zoo = load_policy(Path("policies") / f"{name}.npz")
        truth = np.concatenate([layer.partition.ravel() for layer in zoo.layers])
        for noise in args.noise:
            mlp = mlp_from_policy(zoo)
            sd = float(zoo.palette.std())
            noisy = tuple(w + noise * sd * rng.standard_normal(w.shape) for w in mlp.weights)
            dense = type(mlp)(noisy, mlp.biases, mlp.input, mlp.output_activation).to_policy()
            calib = observations(dense, env, 3, 1000)
            held = observations(dense, env, 3, 2000)
            gauss = dense.normalization.mean + rng.standard_normal((4096, dense.layer_sizes[0])) * (
                dense.normalization.std
            )
            act_ref = forward(dense, held)
            base = evaluate(dense, env, args.episodes, 0)
            print(
                f"{name} noise {noise}: dense {base['mean_return']:.1f} "
                f"(zoo {zoo.metadata['eval_return']:.1f})"
            )
            weightings = {
                "none": None,
                "activation (gaussian)": activation_edge_weights(dense, gauss),
                "activation (on-policy)": activation_edge_weights(dense, calib),
                "sensitivity (gaussian)": sensitivity_edge_weights(dense, gauss),
                "sensitivity (on-policy)": sensitivity_edge_weights(dense, calib),
                "refit (on-policy)": None,
            }
            points = []
            for m in args.colors:
                for wname, ew in weightings.items():
                    if wname not in args.weightings:
                        continue
                    t_col = time.perf_counter()
                    colored, rep = color_policy(dense, m, ew)
                    if wname.startswith("refit"):
                        colored, _ = refit_coloring(colored, dense, calib)
                    color_s = time.perf_counter() - t_col
                    labels = np.concatenate([layer.partition.ravel() for layer in colored.layers])
                    err = float(np.sqrt(((forward(colored, held) - act_ref) ** 2).mean()))
                    exact = all(
                        np.array_equal(a, b)
                        for a, b in zip(colored.weight_matrices(), dense.weight_matrices(), strict=True)
                    )
                    r = base if exact else evaluate(colored, env, args.episodes, 0)
                    points.append(
                        {
                            "colors": m,
                            "weighting": wname,
                            "variance_loss": rep.variance_loss,
                            "action_rmse": err,
                            "mean_return": r["mean_return"],
                            "returns": r["returns"],
                            "blob_bits": r["blob_bits"],
                            "purity": purity(labels, truth),
                            "coloring_s": color_s,
                        }
                    )
                    print(
                        f"  M={m:3d} {wname:24s} var-loss {100 * rep.variance_loss:6.2f}%  "
                        f"rmse {err:.4f}  return {r['mean_return']:8.1f}  purity {purity(labels, truth):.3f}"
                    )
            cases.append(
                {
                    "policy": name,
                    "env": env,
                    "noise": noise,
                    "dense": base,
                    "zoo_eval_return": zoo.metadata["eval_return"],
                    "points": points,
                }
            )
    summary = {}
    for wname in args.weightings:
        pairs = [
            (pt, next(q for q in c["points"] if q["colors"] == pt["colors"] and q["weighting"] == "none"), c)
            for c in cases
            for pt in c["points"]
            if pt["weighting"] == wname
        ]
        lossy = [
            (pt, ref, c) for pt, ref, c in pairs if ref["action_rmse"] > 0
        ]  # M below the distinct weights
        ratio = [pt["action_rmse"] / ref["action_rmse"] for pt, ref, _ in lossy]
        rel = [pt["mean_return"] / c["dense"]["mean_return"] for pt, _, c in lossy]
        summary[wname] = {
            "points": len(lossy),
            "action_rmse_vs_none_geomean": float(np.exp(np.mean(np.log(ratio)))),
            "lower_rmse_than_none": int(sum(r < 1 for r in ratio)),
            "mean_return_vs_dense": float(np.mean(rel)),
        }
        print(
            f"{wname:24s} rmse/none {summary[wname]['action_rmse_vs_none_geomean']:.3f} "
            f"(lower at {summary[wname]['lower_rmse_than_none']}/{len(lossy)})  "
            f"return/dense {np.mean(rel):.3f}"
        )
    out = {
        "machine": machine(),
        "settings": vars(args),
        "kmeans_seconds": timing,
        "cases": cases,
        "summary": summary,
        "wall_s": time.perf_counter() - t_start,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
