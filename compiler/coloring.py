"""Color a dense policy: one palette for all layers by exact, optimal 1-D k-means.

The paper's chromatic network shares one weight vector ``W_shared`` in R^M across all layers
(§3), so coloring an existing MLP is clustering the scalar weights of every layer together.
In one dimension the optimal clusters are contiguous runs of the sorted values, and the
minimum (weighted) within-cluster sum of squares over k clusters is a dynamic programme
(Wang & Song, *Ckmeans.1d.dp*, R Journal 2011):

    D[m][j] = min_{i < j} D[m-1][i] + cost(i, j),   cost = SSE of sorted values i..j-1

Two exact solvers: ``"dense"`` evaluates every split at once (O(k n^2) time, O(n^2) memory),
``"dc"`` uses the monotonicity of the optimal split (the cost is Monge) with divide and
conquer, O(k n log n), vectorized one recursion level at a time. ``"auto"`` picks ``dense`` up
to ``DENSE_MAX_N`` distinct values, where it is faster (measured timings in docs/import.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chromatic.compiler.ir import Activation, Layer, Policy, Structure
from chromatic.errors import ChromaticError

DENSE_MAX_N = 512  # unique values; above this the n x n table costs more than divide and conquer
METHODS = ("auto", "dense", "dc")


@dataclass(frozen=True)
class KMeans1D:
    """An optimal clustering: sorted ``centers`` (k,), ``labels`` per value, weighted ``sse``."""

    centers: np.ndarray
    labels: np.ndarray
    sse: float


def kmeans_1d(
    values: np.ndarray, k: int, sample_weight: np.ndarray | None = None, method: str = "auto"
) -> KMeans1D:
    """Exact weighted 1-D k-means; returns at most ``k`` (non-empty) clusters.

    With fewer than ``k`` distinct values every distinct value is its own cluster (sse 0).
    Centers are the weighted means of their clusters, which is what minimizes the weighted SSE.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    w = np.ones_like(x) if sample_weight is None else np.asarray(sample_weight, np.float64).ravel()
    if x.size == 0:
        raise ValueError("kmeans_1d: no values")
    if w.shape != x.shape or not (w > 0).all() or not np.isfinite(w).all():
        raise ValueError("kmeans_1d: sample_weight must be positive and finite, one per value")
    if k < 1:
        raise ValueError(f"kmeans_1d: k must be >= 1, got {k}")
    if method not in METHODS:
        raise ValueError(f"kmeans_1d: method must be one of {METHODS}, got {method!r}")
    u, inv = np.unique(x, return_inverse=True)
    wu = np.bincount(inv, weights=w, minlength=u.size)
    n = u.size
    k = min(k, n)
    # Centre the values so the prefix sums of squares do not cancel catastrophically.
    shift = float(np.dot(wu, u) / wu.sum())
    c = u - shift
    s0 = np.concatenate([[0.0], np.cumsum(wu)])
    s1 = np.concatenate([[0.0], np.cumsum(wu * c)])
    s2 = np.concatenate([[0.0], np.cumsum(wu * c * c)])
    if method == "auto":
        method = "dense" if n <= DENSE_MAX_N else "dc"
    solve = _solve_dense if method == "dense" else _solve_dc
    bounds = solve(s0, s1, s2, n, k)  # cluster m is u[bounds[m]:bounds[m+1]]
    starts = bounds[:-1]
    cluster_of_unique = np.repeat(np.arange(k), np.diff(bounds))
    wsum = np.add.reduceat(wu, starts)
    centers = np.add.reduceat(wu * u, starts) / wsum
    # Keep centers inside their cluster's range (exact arithmetic guarantees it; floats nearly).
    centers = np.clip(centers, u[starts], u[bounds[1:] - 1])
    labels = cluster_of_unique[inv]
    sse = float(np.dot(w, (x - centers[labels]) ** 2))
    return KMeans1D(centers=centers, labels=labels, sse=sse)


def _cost(s0: np.ndarray, s1: np.ndarray, s2: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Weighted SSE of sorted unique values i..j-1 (i < j), from prefix sums."""
    w = s0[j] - s0[i]
    m1 = s1[j] - s1[i]
    return np.maximum(s2[j] - s2[i] - m1 * m1 / w, 0.0)


def _backtrack(arg: np.ndarray, n: int, k: int) -> np.ndarray:
    bounds = np.empty(k + 1, dtype=np.int64)
    bounds[k] = n
    j = n
    for m in range(k - 1, 0, -1):
        j = int(arg[m, j])
        bounds[m] = j
    bounds[0] = 0
    return bounds


def _solve_dense(s0, s1, s2, n: int, k: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """O(k n^2): the whole (split i, end j) cost table at once, one min per cluster count."""
    i = np.arange(n + 1)[:, None]
    j = np.arange(n + 1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = _cost(s0, s1, s2, i, j)
    cost[np.broadcast_to(i >= j, cost.shape)] = np.inf
    prev = cost[0].copy()  # D[1][j] for clusters of u[0:j]
    arg = np.zeros((k, n + 1), dtype=np.int64)
    for m in range(1, k):
        total = prev[:, None] + cost  # total[i, j] = D[m][i] + cost(i, j)
        a = np.argmin(total, axis=0)
        arg[m] = a
        prev = total[a, np.arange(n + 1)]
    return _backtrack(arg, n, k)


def _solve_dc(s0, s1, s2, n: int, k: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """O(k n log n): the leftmost optimal split is nondecreasing in j, so each recursion level
    of divide and conquer evaluates O(n) candidates; all segments of a level run as one batch."""
    ends = np.arange(n + 1)
    prev = np.full(n + 1, np.inf)
    prev[1:] = _cost(s0, s1, s2, np.zeros(n, np.int64), ends[1:])
    arg = np.zeros((k, n + 1), dtype=np.int64)
    for m in range(1, k):
        cur = np.full(n + 1, np.inf)
        # segments of ends [lo, hi] whose optimal split lies in [olo, ohi]; ends need >= m+1 values
        lo = np.array([m + 1])
        hi = np.array([n])
        olo = np.array([m])
        ohi = np.array([n - 1])
        while lo.size:
            mid = (lo + hi) // 2
            top = np.minimum(ohi, mid - 1)
            counts = top - olo + 1
            seg = np.repeat(np.arange(mid.size), counts)
            first = np.concatenate([[0], np.cumsum(counts)[:-1]])
            cand = olo[seg] + (np.arange(seg.size) - first[seg])
            tot = prev[cand] + _cost(s0, s1, s2, cand, mid[seg])
            best = np.minimum.reduceat(tot, first)
            hit = np.flatnonzero(tot == best[seg])
            _, firsthit = np.unique(seg[hit], return_index=True)
            opt = cand[hit[firsthit]]
            cur[mid] = best
            arg[m, mid] = opt
            left = mid - 1 >= lo
            right = mid + 1 <= hi
            lo, hi, olo, ohi = (
                np.concatenate([lo[left], mid[right] + 1]),
                np.concatenate([mid[left] - 1, hi[right]]),
                np.concatenate([olo[left], opt[right]]),
                np.concatenate([opt[left], ohi[right]]),
            )
        prev = cur
    return _backtrack(arg, n, k)


# -- coloring a policy ----------------------------------------------------------------------
@dataclass(frozen=True)
class ColoringReport:
    """How much a coloring changed the weights.

    ``variance_loss`` is the unweighted within-cluster sum of squares over the total sum of
    squares about the mean (1 - R^2 of the palette; 0 is lossless); ``weighted_loss`` is the same
    under the edge weights the clustering minimized (equal to ``variance_loss`` without them).
    """

    num_colors: int
    requested_colors: int
    num_weights: int
    distinct_weights: int
    variance_loss: float
    weighted_loss: float


def color_policy(
    policy: Policy, num_colors: int, edge_weights: list[np.ndarray] | None = None, method: str = "auto"
) -> tuple[Policy, ColoringReport]:
    """A chromatic policy with ``num_colors`` (or fewer, if fewer distinct weights) colors.

    Every layer's dense weights are clustered together (one palette, as the blob stores it);
    ``edge_weights`` (one (out, in) array per layer) weights each edge's squared error.
    Biases, normalization and activations are kept as they are.
    """
    if num_colors < 1:
        raise ChromaticError(f"--colors must be >= 1, got {num_colors}")
    mats = policy.weight_matrices()
    flat = np.concatenate([w.ravel() for w in mats])
    if edge_weights is None:
        ew = None
    else:
        ew = np.concatenate([np.asarray(e, np.float64).ravel() for e in edge_weights])
        ew = np.maximum(ew, 1e-12 * max(float(ew.max()), 1e-300))  # an unused input still counts a little
    km = kmeans_1d(flat, num_colors, ew, method)
    layers, offset = [], 0
    for layer, w in zip(policy.layers, mats, strict=True):
        part = km.labels[offset : offset + w.size].reshape(w.shape)
        offset += w.size
        layers.append(Layer(part, layer.bias))
    colored = policy.replace(layers=tuple(layers), palette=km.centers, structure=Structure.CHROMATIC)
    colored.validate()
    approx = km.centers[km.labels]
    total = float(((flat - flat.mean()) ** 2).sum())
    loss = float(((flat - approx) ** 2).sum()) / total if total > 0 else 0.0
    if ew is None:
        wloss = loss
    else:
        wmean = float(np.dot(ew, flat) / ew.sum())
        wtotal = float(np.dot(ew, (flat - wmean) ** 2))
        wloss = km.sse / wtotal if wtotal > 0 else 0.0
    report = ColoringReport(
        num_colors=km.centers.size,
        requested_colors=num_colors,
        num_weights=flat.size,
        distinct_weights=int(np.unique(flat).size),
        variance_loss=loss,
        weighted_loss=wloss,
    )
    return colored, report


# -- output-aware edge weights --------------------------------------------------------------
def sensitivity_edge_weights(policy: Policy, obs: np.ndarray) -> list[np.ndarray]:
    """Weight edge (i, j) of layer l by E[||d action / d z_{l,i}||^2 x_{l,j}^2] over ``obs``.

    To first order a weight error e_ij moves the action by (d action / d z_i) x_j e_ij, so these
    weights make the clustering minimize the expected squared action error with the edges' errors
    taken independently (the diagonal Gauss-Newton approximation, as in Optimal Brain Damage).
    ``obs`` are raw observations (N, d0) the policy visits; the policy's normalization is applied.
    """
    x = (np.asarray(obs, np.float64) - policy.normalization.mean) / np.where(
        policy.normalization.std == 0, 1.0, policy.normalization.std
    )
    mats = policy.weight_matrices()
    inputs, slopes = [], []
    for l, (layer, w) in enumerate(zip(policy.layers, mats, strict=True)):
        inputs.append(x)
        z = x @ w.T + layer.bias
        if policy.activation(l) == Activation.TANH:
            x = np.tanh(z)
            slopes.append(1.0 - x * x)
        elif policy.activation(l) == Activation.RELU:
            x = np.maximum(z, 0.0)
            slopes.append((z > 0).astype(np.float64))
        else:
            x = z
            slopes.append(np.ones_like(z))
    out: list[np.ndarray] = [np.empty(0)] * len(mats)
    jac = slopes[-1][:, :, None] * np.eye(slopes[-1].shape[1])[None]  # (N, dL, dL): d action / d z_last
    for l in range(len(mats) - 1, -1, -1):
        g2 = (jac * jac).sum(axis=1)  # (N, d_{l+1}): ||d action / d z_{l,i}||^2
        out[l] = g2.T @ (inputs[l] ** 2) / x.shape[0]
        if l:
            jac = (jac @ mats[l]) * slopes[l - 1][:, None, :]
    return out
