"""Metrics and plots over learned partitions (paper App. C and D; Figs. 12-14).

Pure functions over partitions given either as a list of per-layer ``(out, in)`` int matrices or as
one flat int array (edges numbered as in :mod:`training.enas.edges`).

- C.1 single-partition metrics: the entropy of the color distribution (vs. ``log M`` for a uniform
  partition, Fig. 12) and the displacement rank of the induced weight matrices (Fig. 13).
- C.2 pairwise metrics: Rand index [34], variation of information [35] and the edge distance,
  the number of edges whose color index differs (Fig. 14).

Displacement operators (``nabla_{F,A}(R) = F R - R A``, [32, 33]) for an ``m x n`` matrix R:

- ``"toeplitz"``: ``F = Z_1`` (m x m), ``A = Z_{-1}`` (n x n), where ``Z_f`` is the down-shift with ``f``
  in its top-right corner. For Toeplitz R the difference is non-zero only in row 0 and column
  n-1, so its rank is <= 2 (also for m != n).
- ``"toeplitz_hankel"``: ``F = Y_m``, ``A = Y_n`` with ``Y = Z_0 + Z_0^T`` (the symmetric
  tridiagonal band). For R = Toeplitz + Hankel only the border rows/columns survive: rank <= 4.

Entries of the displacement with absolute value below ``threshold`` (0.1 as in Fig. 13) are set to
0 before the rank is taken; ``round_on="weights"`` rounds the weight matrix instead (the caption
of Fig. 13 can be read either way). Entropies and VI are in nats.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from chromatic.atomic import atomic_open
from chromatic.errors import ChromaticError
from chromatic.training.enas.edges import flatten_partitions, layer_shapes, split_partitions

PartitionLike = Sequence[np.ndarray] | np.ndarray
OPERATORS = ("toeplitz", "toeplitz_hankel")


# -- C.1: single partitions ----------------------------------------------------------------------
def color_entropy(partition: PartitionLike, num_colors: int | None = None) -> float:
    """Entropy (nats) of the fraction of edges in each color; unused colors contribute 0."""
    flat = flatten_partitions(partition)
    counts = np.bincount(flat, minlength=num_colors or 0)
    p = counts[counts > 0] / flat.size
    return float(-(p * np.log(p)).sum())


def uniform_entropy(num_colors: int) -> float:
    """Entropy of a partition with equally many edges per color: ``log M`` (the red line of Fig. 12)."""
    return math.log(num_colors)


def shift_matrix(n: int, f: float = 0.0) -> np.ndarray:
    """``Z_f``: ones on the sub-diagonal and ``f`` in the top-right corner (n x n)."""
    z = np.eye(n, k=-1)
    if n > 0:
        z[0, n - 1] += f
    return z


def displacement_operators(kind: str, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(F, A)`` for an ``m x n`` matrix, see the module docstring."""
    if kind == "toeplitz":
        return shift_matrix(m, 1.0), shift_matrix(n, -1.0)
    if kind == "toeplitz_hankel":
        ym, yn = shift_matrix(m), shift_matrix(n)
        return ym + ym.T, yn + yn.T
    raise ChromaticError(f"displacement operator: expected one of {list(OPERATORS)}, found {kind!r}")


def displacement(matrix: np.ndarray, kind: str = "toeplitz") -> np.ndarray:
    """``nabla_{F,A}(R) = F R - R A``."""
    r = np.asarray(matrix, np.float64)
    f, a = displacement_operators(kind, *r.shape)
    return f @ r - r @ a


def displacement_rank(
    matrix: np.ndarray, kind: str = "toeplitz", threshold: float = 0.1, round_on: str = "displacement"
) -> int:
    """Rank of the displacement of ``matrix`` after zeroing entries with ``|x| < threshold``."""
    r = np.asarray(matrix, np.float64)
    if round_on == "weights":
        r = np.where(np.abs(r) < threshold, 0.0, r)
        d = displacement(r, kind)
    elif round_on == "displacement":
        d = displacement(r, kind)
        d = np.where(np.abs(d) < threshold, 0.0, d)
    else:
        raise ChromaticError(f"round_on: expected 'displacement' or 'weights', found {round_on!r}")
    return int(np.linalg.matrix_rank(d)) if d.size else 0


# -- C.2: pairs of partitions -------------------------------------------------------------------
def _pair(a: PartitionLike, b: PartitionLike) -> tuple[np.ndarray, np.ndarray]:
    fa, fb = flatten_partitions(a), flatten_partitions(b)
    if fa.shape != fb.shape:
        raise ChromaticError(f"partitions: expected the same number of edges, found {fa.size} and {fb.size}")
    return fa, fb


def _contingency(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    _, ia = np.unique(fa, return_inverse=True)
    _, ib = np.unique(fb, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), np.int64)
    np.add.at(table, (ia, ib), 1)
    return table


def _pairs(x: np.ndarray) -> float:
    return float((x * (x - 1) // 2).sum())


def rand_index(a: PartitionLike, b: PartitionLike) -> float:
    """Fraction of edge pairs on which the two clusterings agree (same/same or different/different)."""
    fa, fb = _pair(a, b)
    n = fa.size
    if n < 2:
        return 1.0
    t = _contingency(fa, fb)
    total = n * (n - 1) / 2
    same_both = _pairs(t)
    disagreements = _pairs(t.sum(axis=1)) + _pairs(t.sum(axis=0)) - 2 * same_both
    return float(1.0 - disagreements / total)


def variation_of_information(a: PartitionLike, b: PartitionLike) -> float:
    """``VI = H(A|B) + H(B|A)`` in nats (Meila 2003): 0 iff the clusterings agree up to relabeling."""
    fa, fb = _pair(a, b)
    if fa.size == 0:
        return 0.0
    t = _contingency(fa, fb).astype(np.float64)
    n = fa.size
    row, col = t.sum(axis=1, keepdims=True), t.sum(axis=0, keepdims=True)
    nz = t > 0
    vi = -(t[nz] / n * (np.log((t / row)[nz]) + np.log((t / col)[nz]))).sum()
    return float(max(vi, 0.0))


def edge_distance(a: PartitionLike, b: PartitionLike) -> int:
    """Number of edges whose color index differs (paper C.2); not invariant to relabeling."""
    fa, fb = _pair(a, b)
    return int((fa != fb).sum())


# -- plots (Agg backend, PNG) ------------------------------------------------------------------
def _figure(nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, **kw)


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    import matplotlib.pyplot as plt

    try:
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)


def plot_entropy_histogram(
    entropies: Sequence[float], num_colors: int, path: str | os.PathLike[str], title: str = ""
) -> None:
    """Fig. 12: histogram of partition entropies with the uniform partition's ``log M`` as a line."""
    fig, ax = _figure(figsize=(5, 3.5))
    ax.hist(np.asarray(entropies, np.float64), bins=20, color="tab:blue", label="partitions")
    ax.axvline(uniform_entropy(num_colors), color="tab:red", label=f"uniform (log {num_colors})")
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel("entropy of the color distribution (nats)")
    ax.set_ylabel("number of partitions")
    ax.set_title(title or "Partition entropies")
    ax.legend()
    _save(fig, path)


def plot_displacement_ranks(
    ranks: Mapping[str, Sequence[int]],
    full_ranks: Mapping[str, int],
    path: str | os.PathLike[str],
    title: str = "",
) -> None:
    """Fig. 13: displacement ranks per (layer, operator) as points, the full rank as a dash."""
    labels = list(ranks)
    fig, ax = _figure(figsize=(max(5.0, 1.2 * len(labels)), 3.5))
    for x, label in enumerate(labels):
        vals = np.asarray(ranks[label], np.float64)
        jitter = np.linspace(-0.15, 0.15, vals.size) if vals.size > 1 else np.zeros(vals.size)
        ax.scatter(x + jitter, vals, s=12, color="tab:blue", label="partitions" if x == 0 else None)
        ax.hlines(full_ranks[label], x - 0.3, x + 0.3, color="tab:red", label="full rank" if x == 0 else None)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("displacement rank")
    ax.set_title(title or "Displacement ranks of the weight matrices")
    ax.legend()
    _save(fig, path)


def plot_pairwise_metrics(
    iterations: Sequence[int],
    metrics: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    title: str = "",
) -> None:
    """Fig. 14: one panel per metric (VI, Rand index, distance) over NAS iterations."""
    names = list(metrics)
    fig, axes = _figure(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        ax.plot(list(iterations), list(metrics[name]), marker="o", ms=3)
        ax.set_xlabel("NAS iteration")
        ax.set_title(name)
    fig.suptitle(title or "Pairwise partition metrics (vs. previous iteration)", y=1.03)
    _save(fig, path)


# -- one call for a run ------------------------------------------------------------------------
def analyze_partitions(
    partitions_by_iter: Sequence[Sequence[PartitionLike]] | Mapping[int, Sequence[PartitionLike]],
    layer_sizes: Sequence[int],
    palette: np.ndarray,
    out_dir: str | os.PathLike[str],
    threshold: float = 0.1,
) -> dict[str, Any]:
    """Write ``analysis.json`` and Figs. 12-14 as PNGs for the partitions a run sampled.

    ``partitions_by_iter`` holds, per NAS iteration (a list index or a mapping key), the population
    of partitions sampled at that iteration. Entropies cover all partitions; displacement ranks the
    last iteration's (weights ``palette[partition]``); pairwise metrics are the mean over all pairs
    between an iteration's population and the previous one's.
    """
    items = (
        sorted(partitions_by_iter.items())
        if isinstance(partitions_by_iter, Mapping)
        else list(enumerate(partitions_by_iter))
    )
    items = [(int(k), list(pop)) for k, pop in items if len(pop)]
    if not items:
        raise ChromaticError("analyze: expected at least one iteration with partitions, found none")
    palette = np.asarray(palette, np.float64).reshape(-1)
    m = palette.size
    shapes = layer_shapes(layer_sizes)
    flats: list[tuple[int, list[np.ndarray]]] = []
    for k, pop in items:
        fl = []
        for p in pop:
            f = flatten_partitions(p)
            split_partitions(f, layer_sizes)  # validates the edge count
            if f.min() < 0 or f.max() >= m:
                raise ChromaticError(f"partition: colors must lie in [0, {m}), found [{f.min()}, {f.max()}]")
            fl.append(f)
        flats.append((k, fl))

    entropies = [color_entropy(f, m) for _, fl in flats for f in fl]
    last_iter, last = flats[-1]
    ranks: dict[str, list[int]] = {}
    full: dict[str, int] = {}
    for (li, (o, i)), kind in product(enumerate(shapes), OPERATORS):
        label = f"layer {li} ({o}x{i}) {kind}"
        ranks[label] = [
            displacement_rank(palette[split_partitions(f, layer_sizes)[li]], kind, threshold) for f in last
        ]
        full[label] = min(o, i)

    pair_iters: list[int] = []
    pairwise: dict[str, list[float]] = {"variation of information": [], "Rand index": [], "distance": []}
    for (_, prev), (k, cur) in zip(flats[:-1], flats[1:], strict=False):
        vals = np.array(
            [
                (variation_of_information(a, b), rand_index(a, b), edge_distance(a, b))
                for a in cur
                for b in prev
            ]
        )
        pair_iters.append(k)
        for name, v in zip(pairwise, vals.mean(axis=0), strict=False):
            pairwise[name].append(float(v))

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ChromaticError(f"analyze: cannot create output directory {out}: {e.strerror}") from None
    plot_entropy_histogram(entropies, m, out / "entropy.png")
    plot_displacement_ranks(ranks, full, out / "displacement_ranks.png", title=f"iteration {last_iter}")
    if pair_iters:
        plot_pairwise_metrics(pair_iters, pairwise, out / "pairwise_metrics.png")
    result = {
        "layer_sizes": [int(s) for s in layer_sizes],
        "num_colors": m,
        "iterations": [k for k, _ in flats],
        "entropy": {
            "uniform": uniform_entropy(m),
            "values": entropies,
            "mean": float(np.mean(entropies)),
        },
        "displacement_rank": {
            "iteration": last_iter,
            "threshold": threshold,
            "ranks": ranks,
            "full_rank": full,
        },
        "pairwise_vs_previous": {"iterations": pair_iters, **pairwise},
    }
    with atomic_open(out / "analysis.json", "w") as fh:
        json.dump(result, fh, indent=1)
    return result
