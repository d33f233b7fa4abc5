"""`chromatic import`: bring your own dense MLP (ONNX or a policy file), optionally colored.

A model becomes a :class:`DenseMLP` (float64 matrices, biases, the input normalization and
the hidden and output activations), then a ``dense`` policy (every edge its own color, which reproduces
the model to float32 rounding), and with ``colors`` a chromatic one whose single palette is
the exact 1-D k-means of all its weights (compiler/coloring.py; the paper's ``W_shared``, §3).

Observation statistics from a separate file (docs/import.md) compose *before* the model:
``obs -> (obs - mean) / std -> model``, the way VecNormalize feeds a Stable-Baselines3 policy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from chromatic.compiler.coloring import ColoringReport, color_policy, sensitivity_edge_weights
from chromatic.compiler.files import read_file
from chromatic.compiler.ir import (
    Activation,
    Layer,
    Normalization,
    Policy,
    Structure,
    canonical_partitions,
)
from chromatic.compiler.limits import check_sizes
from chromatic.compiler.npfile import NPY_MAGIC, read_npy, read_npz
from chromatic.compiler.policy_file import load_policy
from chromatic.errors import ChromaticError

WEIGHTINGS = ("none", "sensitivity")
STATS_KEYS = {"mean", "var", "std", "epsilon", "clip_obs", "count"}
REFIT_ROUNDS = 3  # reassignment sweeps, each followed by a palette and bias refit
REFIT_CANDIDATES = 8  # colors an edge may move to: the nearest in value to its current one
_REFIT_TOL = 1e-4  # stop refitting when a Gauss-Newton step gains less than this share of the loss


@dataclass(frozen=True)
class Affine:
    """The input of the next linear layer as ``(x - mean) / std`` of the current vector.

    Sub/Div compose exactly (the common ``(obs - mean) / std`` export keeps its float32
    values bit for bit); Mul by c divides std by c. ``std`` may be negative (a sign folded into
    the next layer's columns); it is never 0 or infinite.
    """

    mean: np.ndarray = field(default_factory=lambda: np.zeros(()))
    std: np.ndarray = field(default_factory=lambda: np.ones(()))

    @property
    def is_identity(self) -> bool:
        return bool((self.mean == 0).all() and (self.std == 1).all())

    def sub(self, c: np.ndarray) -> Affine:
        return Affine(self.mean + c * self.std, self.std + 0 * c)

    def add(self, c: np.ndarray) -> Affine:
        return Affine(self.mean - c * self.std, self.std + 0 * c)

    def neg(self) -> Affine:
        return Affine(self.mean, -self.std)

    def div(self, c: np.ndarray) -> Affine:
        return Affine(self.mean + 0 * c, self.std * c)

    def mul(self, c: np.ndarray) -> Affine:
        return Affine(self.mean + 0 * c, self.std / c)

    def then(self, inner: Affine) -> Affine:
        """``inner`` applied to this one's output: ((x - m)/s - m')/s' = (x - (m + m' s))/(s s')."""
        return Affine(self.mean + inner.mean * self.std, self.std * inner.std)

    def broadcast(self, d: int) -> Affine:
        return Affine(np.broadcast_to(self.mean, (d,)).copy(), np.broadcast_to(self.std, (d,)).copy())

    def fold_into(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``W (x - mean) / std + b`` as one linear layer on x."""
        a = self.broadcast(w.shape[1])
        return w / a.std[None, :], b - w @ (a.mean / a.std)


@dataclass(frozen=True)
class DenseMLP:
    """A tanh or ReLU MLP in dense form: ``x_{l+1} = act(W_l x_l + b_l)``, ``act`` the
    ``hidden_activation`` and the last layer's ``output_activation``, input
    ``(obs - input.mean) / input.std``."""

    weights: tuple[np.ndarray, ...]  # (out, in) each
    biases: tuple[np.ndarray, ...]
    input: Affine
    output_activation: Activation
    hidden_activation: Activation = Activation.TANH

    def to_policy(self, metadata: dict[str, str | int | float] | None = None) -> Policy:
        """The lossless ``dense`` policy (every edge its own color)."""
        a = self.input.broadcast(self.weights[0].shape[1])
        w0 = self.weights[0].copy()
        # The format needs std >= 0: a negative std is the same as flipping the column's sign.
        flip = a.std < 0
        w0[:, flip] *= -1.0
        weights = (w0,) + tuple(self.weights[1:])
        sizes = (w0.shape[1],) + tuple(w.shape[0] for w in weights)
        parts = canonical_partitions(Structure.DENSE, sizes)
        palette = np.concatenate([w.ravel() for w in weights])
        return Policy(
            layers=tuple(Layer(p, b) for p, b in zip(parts, self.biases, strict=True)),
            palette=palette,
            normalization=Normalization(a.mean, np.abs(a.std)),
            structure=Structure.DENSE,
            hidden_activation=self.hidden_activation,
            output_activation=self.output_activation,
            metadata=dict(metadata or {}),
        ).validate()


def mlp_from_policy(policy: Policy) -> DenseMLP:
    """A policy file of any structure, expanded to dense matrices."""
    std = np.where(policy.normalization.std == 0, 1.0, policy.normalization.std)
    inp = Affine(policy.normalization.mean, std)
    return DenseMLP(
        weights=tuple(policy.weight_matrices()),
        biases=tuple(layer.bias for layer in policy.layers),
        input=inp,
        output_activation=policy.output_activation,
        hidden_activation=policy.hidden_activation,
    )


# -- observation statistics file ------------------------------------------------------------
@dataclass(frozen=True)
class ObsStats:
    """``(obs - mean) / std`` applied before the model; ``clip`` is recorded, not applied."""

    mean: np.ndarray
    std: np.ndarray
    clip: float | None


def load_stats(path: str | os.PathLike[str]) -> ObsStats:
    """Read a statistics .npz (docs/import.md): ``mean`` and ``std``, or ``mean`` and ``var``
    with an optional ``epsilon`` (std = sqrt(var + epsilon), as SB3's VecNormalize); optional
    ``clip_obs``; ``count`` is ignored."""
    arrays = read_npz(path, "statistics file", ChromaticError)
    try:
        return _stats_from_arrays(arrays)
    except ChromaticError as e:
        raise ChromaticError(f"{path}: {e}") from None


def _vector(arrays: dict[str, np.ndarray], key: str) -> np.ndarray:
    a = arrays[key]
    if a.dtype.kind not in "fiu" or a.ndim != 1 or a.size < 1:
        raise ChromaticError(f"{key}: expected a 1-d float array, found dtype {a.dtype} shape {a.shape}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ChromaticError(f"{key}: expected finite values, found NaN or inf")
    return a


def _scalar(arrays: dict[str, np.ndarray], key: str) -> float:
    a = arrays[key]
    if a.dtype.kind not in "fiu" or a.size != 1:
        raise ChromaticError(f"{key}: expected a number, found dtype {a.dtype} shape {a.shape}")
    v = float(a.reshape(()))
    if not np.isfinite(v) or v < 0:
        raise ChromaticError(f"{key}: expected a finite number >= 0, found {v}")
    return v


def _stats_from_arrays(arrays: dict[str, np.ndarray]) -> ObsStats:
    unknown = sorted(set(arrays) - STATS_KEYS)
    if unknown:
        raise ChromaticError(f"{unknown[0]}: unexpected key; expected {sorted(STATS_KEYS)}")
    if "mean" not in arrays:
        raise ChromaticError("mean: missing key")
    if ("var" in arrays) == ("std" in arrays):
        raise ChromaticError("expected exactly one of 'var' and 'std'")
    mean = _vector(arrays, "mean")
    if "var" in arrays:
        var = _vector(arrays, "var")
        if (var < 0).any():
            raise ChromaticError("var: expected values >= 0, found a negative one")
        eps = _scalar(arrays, "epsilon") if "epsilon" in arrays else 0.0
        std = np.sqrt(var + eps)
        key = "var"
    else:
        if "epsilon" in arrays:
            raise ChromaticError(
                "epsilon: only used with 'var' (std = sqrt(var + epsilon)); fold it into 'std'"
            )
        std = _vector(arrays, "std")
        if (std < 0).any():
            raise ChromaticError("std: expected values >= 0, found a negative one")
        key = "std"
    if std.shape != mean.shape:
        raise ChromaticError(f"{key}: expected shape {mean.shape} (as mean), found {std.shape}")
    std = np.where(std == 0, 1.0, std)  # as in the policy file: a std of 0 counts as 1
    clip = _scalar(arrays, "clip_obs") if "clip_obs" in arrays else None
    return ObsStats(mean, std, clip)


# -- the command ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    """The imported policy, the lossless dense one, and for a coloring how far it moved."""

    policy: Policy
    dense: Policy
    coloring: ColoringReport | None
    notes: tuple[str, ...]
    action_rms_error: float | None = None  # colored vs dense actions, RMS over all outputs
    action_max_error: float | None = None
    error_inputs: str = ""  # which observations the errors are over
    refit: RefitReport | None = None  # with refit=True: the calibration refit's report


def actions(policy: Policy, obs: np.ndarray) -> np.ndarray:
    """The policy's actions in float64 (the same algebra as runtime/reference.py)."""
    std = np.where(policy.normalization.std == 0, 1.0, policy.normalization.std)
    x = (np.asarray(obs, np.float64) - policy.normalization.mean) / std
    for l, (layer, w) in enumerate(zip(policy.layers, policy.weight_matrices(), strict=True)):
        x = policy.activation(l).apply(x @ w.T + layer.bias)
    return x


def _magic(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as f:
        return f.read(6)


def is_policy_file(path: str | os.PathLike[str]) -> bool:
    """A .npz (zip) file, by its magic bytes rather than its name."""
    return _magic(path)[:4] in (b"PK\x03\x04", b"PK\x05\x06")  # a file, or an empty archive


def read_mlp(path: str | os.PathLike[str]) -> tuple[DenseMLP, dict[str, str | int | float]]:
    """The dense MLP in an ONNX file or a policy file, and the metadata to carry over."""
    p = Path(path)
    if not p.is_file():
        raise ChromaticError(f"{path}: no such model file")
    read_file(p, "model file")  # unreadable (e.g. /proc/self/mem) or huge: one line, before the parsers
    if is_policy_file(p):
        policy = load_policy(p)
        return mlp_from_policy(policy), dict(policy.metadata)
    if _magic(p) == NPY_MAGIC:
        raise ChromaticError(f"{path}: not a readable ONNX model or policy file "
                             "(a .npy array, not a .npz (zip) archive)")
    from chromatic.compiler.onnx_import import mlp_from_onnx

    return mlp_from_onnx(p), {}


def import_model(
    model: str | os.PathLike[str],
    colors: int | None = None,
    stats: str | os.PathLike[str] | None = None,
    weighting: str = "none",
    calibration: np.ndarray | None = None,
    refit: bool = False,
    refit_rounds: int = REFIT_ROUNDS,
) -> ImportResult:
    """Import ``model``; with ``colors`` cluster its weights into one palette of that size.

    ``weighting="sensitivity"`` weights each edge's squared error by its first-order effect on
    the action over ``calibration`` observations (raw, N x d0, ones the policy visits).
    ``refit=True`` then fits the palette and biases (and moves single edges, ``refit_rounds``
    sweeps) to reproduce the dense policy's actions on ``calibration`` (:func:`refit_coloring`).
    """
    if weighting not in WEIGHTINGS:
        raise ChromaticError(f"unknown weighting {weighting!r}; expected one of {list(WEIGHTINGS)}")
    if weighting != "none" and calibration is None:
        raise ChromaticError(
            f"--weighting {weighting} needs --calibration OBS.npy (observations the policy visits)"
        )
    if colors is not None and not 1 <= colors <= 1 << 16:
        raise ChromaticError(f"--colors must be in [1, 65536], got {colors}")
    if colors is None and (weighting != "none" or calibration is not None or refit):
        raise ChromaticError("--weighting, --calibration and --refit only apply with --colors")
    if refit and calibration is None:
        raise ChromaticError("--refit needs --calibration OBS.npy (observations the policy visits)")
    if refit_rounds < 0:
        raise ChromaticError(f"--refit-rounds must be >= 0, got {refit_rounds}")
    notes: list[str] = []
    meta: dict[str, str | int | float] = {}
    obs_stats = None if stats is None else load_stats(stats)
    mlp, carried = read_mlp(model)
    d0 = mlp.weights[0].shape[1]
    sizes = [d0, *(w.shape[0] for w in mlp.weights)]
    try:  # the limits `chromatic compile` applies to the policy file (compiler/limits.py)
        check_sizes(sizes, what=f"layer_sizes {sizes}")
    except ChromaticError as e:
        raise ChromaticError(f"{model}: {e}") from None
    if obs_stats is not None:
        s = obs_stats
        if s.mean.shape != (d0,):
            raise ChromaticError(f"{stats}: mean has {s.mean.size} entries, the model has {d0} inputs")
        mlp = replace(mlp, input=Affine(s.mean, s.std).then(mlp.input))
        if s.clip is not None:
            meta["obs_clip"] = s.clip
            notes.append(
                f"clip_obs={s.clip:g} recorded as metadata obs_clip but not applied: chromatic has no "
                "observation clip (normalized observations beyond it differ from the source)"
            )
    if colors is not None and "eval_return" in carried:  # the dense model's, not the colored one's
        carried["source_eval_return"] = carried.pop("eval_return")
    meta = {**carried, **meta, "import_source": Path(model).name}
    dense = mlp.to_policy(meta)
    if colors is None:
        return ImportResult(dense, dense, None, tuple(notes))
    d0 = dense.layer_sizes[0]
    if calibration is not None:
        if calibration.ndim != 2 or calibration.shape[1] != d0:
            raise ChromaticError(
                f"calibration observations have shape {calibration.shape}, expected (N, {d0})"
            )
        probe, probe_name = calibration, f"{calibration.shape[0]} calibration observations"
    else:  # inputs the policy's own normalization maps to standard normal
        z = np.random.default_rng(0).standard_normal((4096, d0))
        probe = dense.normalization.mean + z * np.where(
            dense.normalization.std == 0, 1.0, dense.normalization.std
        )
        probe_name = "4096 standard-normal normalized inputs"
    edge_weights = None if weighting == "none" else sensitivity_edge_weights(dense, probe)
    colored, report = color_policy(dense, colors, edge_weights)
    refit_report = None
    if refit:
        colored, refit_report = refit_coloring(colored, dense, probe, refit_rounds)
        loss, wloss = _weight_losses(dense, colored, edge_weights)  # of the refit weights
        report = replace(report, variance_loss=loss, weighted_loss=wloss)
    colored = colored.replace(
        metadata={**colored.metadata, "import_colors": colors, "import_variance_loss": report.variance_loss}
    )
    if refit_report is not None:
        colored = colored.replace(
            metadata={
                **colored.metadata,
                "import_refit_rounds": refit_rounds,
                "import_refit_observations": refit_report.observations,
                "import_refit_rms_before": refit_report.rms_before,
                "import_refit_rms_after": refit_report.rms_after,
                "import_refit_edges_moved": refit_report.edges_moved,
            }
        )
    if report.num_colors < colors:
        notes.append(f"only {report.distinct_weights} distinct weights: M={report.num_colors}, not {colors}")
    err = actions(colored, probe) - actions(dense, probe)
    return ImportResult(
        colored.validate(),
        dense,
        report,
        tuple(notes),
        action_rms_error=float(np.sqrt(np.mean(err * err))),
        action_max_error=float(np.abs(err).max()),
        error_inputs=probe_name,
        refit=refit_report,
    )


# -- data-aware refit of a coloring -----------------------------------------------------------


@dataclass(frozen=True)
class RefitReport:
    """What the calibration refit did: action RMS error against the dense policy on the
    calibration observations before (the k-means coloring) and after, and edges moved."""

    rms_before: float
    rms_after: float
    rounds: int
    edges_moved: int
    observations: int


def _normalized(policy: Policy, obs: np.ndarray) -> np.ndarray:
    std = np.where(policy.normalization.std == 0, 1.0, policy.normalization.std)
    return (np.asarray(obs, np.float64) - policy.normalization.mean) / std


def _forward(
    policy: Policy, x: np.ndarray, palette: np.ndarray, parts: list[np.ndarray], biases: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every layer's input (the last entry is the action) and pre-activation."""
    xs, zs = [x], []
    for l, (p, b) in enumerate(zip(parts, biases, strict=True)):
        zs.append(xs[-1] @ palette[p].T + b)
        xs.append(policy.activation(l).apply(zs[-1]))
    return xs, zs


def _slope(act: Activation, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    if act == Activation.TANH:
        return 1.0 - y * y
    if act == Activation.RELU:
        return (z > 0).astype(np.float64)
    return np.ones_like(z)


def _normal_equations(
    policy: Policy, x: np.ndarray, target: np.ndarray, palette: np.ndarray, parts: list[np.ndarray],
    biases: list[np.ndarray], chunk: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """J^T J and J^T r of the action residual with respect to (palette, every layer's bias)."""
    m = palette.size
    n_par = m + sum(b.size for b in biases)
    jtj, jtr = np.zeros((n_par, n_par)), np.zeros(n_par)
    # onehot[l][j, i*m + k] = 1 if edge (i, j) of layer l has color k
    onehot = []
    for p in parts:
        out, inp = p.shape
        oh = np.zeros((inp, out, m))
        oh[np.arange(inp)[None, :], np.arange(out)[:, None], p] = 1.0
        onehot.append(oh.reshape(inp, out * m))
    for s in range(0, x.shape[0], chunk):
        xs, zs = _forward(policy, x[s : s + chunk], palette, parts, biases)
        r = xs[-1] - target[s : s + chunk]
        n, d_out = r.shape
        jac = _slope(policy.activation(len(parts) - 1), zs[-1], xs[-1])[:, :, None] * np.eye(d_out)
        cols = [np.zeros((n, d_out, m))]
        bias_cols: list[np.ndarray] = []
        for l in range(len(parts) - 1, -1, -1):  # jac: d action / d z_l, (n, d_out, out_l)
            bias_cols.insert(0, jac)
            inputs_by_color = (xs[l] @ onehot[l]).reshape(n, parts[l].shape[0], m)
            cols[0] = cols[0] + jac @ inputs_by_color
            if l:
                slope = _slope(policy.activation(l - 1), zs[l - 1], xs[l])
                jac = (jac @ palette[parts[l]]) * slope[:, None, :]
        j = np.concatenate(cols + bias_cols, axis=2).reshape(n * d_out, n_par)
        jtj += j.T @ j
        jtr += j.T @ r.ravel()
    return jtj, jtr


def _loss(policy: Policy, x: np.ndarray, target: np.ndarray, palette, parts, biases) -> float:  # type: ignore[no-untyped-def]
    a = _forward(policy, x, palette, parts, biases)[0][-1]
    return float(((a - target) ** 2).sum())


def _refit_values(
    policy: Policy, x: np.ndarray, target: np.ndarray, palette: np.ndarray, parts: list[np.ndarray],
    biases: list[np.ndarray], iterations: int = 50,
) -> tuple[np.ndarray, list[np.ndarray], float]:
    """Levenberg-Marquardt on the palette and biases, partition fixed; a step is taken only if it
    lowers the calibration loss, so the result is never worse than the start."""
    loss = _loss(policy, x, target, palette, parts, biases)
    if loss == 0.0:  # the coloring is exact on these observations
        return palette, biases, loss
    m, lam = palette.size, 1e-3
    jtj, jtr = _normal_equations(policy, x, target, palette, parts, biases)
    for _ in range(iterations):
        d = np.diag(jtj).copy()
        d[d <= 0] = 1e-12 * max(float(d.max()), 1e-300)
        try:
            step = -np.linalg.solve(jtj + lam * np.diag(d), jtr)
        except np.linalg.LinAlgError:
            lam *= 10
            continue
        new_palette = palette + step[:m]
        new_biases, off = [], m
        for b in biases:
            new_biases.append(b + step[off : off + b.size])
            off += b.size
        new_loss = _loss(policy, x, target, new_palette, parts, new_biases)
        if np.isfinite(new_loss) and new_loss < loss:
            gain = (loss - new_loss) / loss
            palette, biases, loss = new_palette, new_biases, new_loss
            if gain < _REFIT_TOL:
                break
            lam = max(lam / 3, 1e-9)
            jtj, jtr = _normal_equations(policy, x, target, palette, parts, biases)
        else:
            lam *= 4
            if lam > 1e10:
                break
    return palette, biases, loss


def _reassign(
    policy: Policy, x: np.ndarray, target: np.ndarray, palette: np.ndarray, parts: list[np.ndarray],
    biases: list[np.ndarray],
) -> tuple[list[np.ndarray], float, int]:
    """One coordinate-descent sweep over the edges: each moves to the color (of the
    ``REFIT_CANDIDATES`` nearest in value to its own) that lowers the exact calibration loss
    most, if any does and its color keeps another edge. Never raises the loss."""
    parts = [p.copy() for p in parts]
    count = np.bincount(np.concatenate([p.ravel() for p in parts]), minlength=palette.size)
    near = np.argsort(np.abs(palette[:, None] - palette[None, :]), axis=1, kind="stable")
    near = near[:, : min(REFIT_CANDIDATES, palette.size)]
    xs, zs = _forward(policy, x, palette, parts, biases)
    loss = float(((xs[-1] - target) ** 2).sum())
    last, moved = len(parts) - 1, 0
    for l, p in enumerate(parts):
        act = policy.activation(l)
        for i, j in np.ndindex(p.shape):
            a = p[i, j]
            if count[a] == 1:
                continue
            cand = near[a]
            zi = zs[l][:, i, None] + xs[l][:, j, None] * (palette[cand] - palette[a])  # (N, K)
            hi = act.apply(zi)
            if l == last:
                old = float(((xs[-1][:, i] - target[:, i]) ** 2).sum())
                losses = loss - old + ((hi - target[:, i, None]) ** 2).sum(axis=0)
            else:
                dh = hi - xs[l + 1][:, i, None]  # (N, K): unit i's output under each candidate
                z = zs[l + 1][:, None, :] + dh[:, :, None] * palette[parts[l + 1][:, i]]
                h = policy.activation(l + 1).apply(z)
                for q in range(l + 2, len(parts)):
                    h = policy.activation(q).apply(h @ palette[parts[q]].T + biases[q])
                losses = ((h - target[:, None, :]) ** 2).sum(axis=(0, 2))
            best = int(np.argmin(losses))
            k = int(cand[best])
            if k != a and losses[best] < loss * (1 - 1e-9):
                p[i, j] = k
                count[a] -= 1
                count[k] += 1
                moved += 1
                xs, zs = _forward(policy, x, palette, parts, biases)
                loss = float(((xs[-1] - target) ** 2).sum())
    return parts, loss, moved


#: |z| beyond which float32 tanh is exactly +-1 (it is from about 9.01 on)
TANH_SATURATED = 10.0


def _unsaturate(
    policy: Policy, x: np.ndarray, palette: np.ndarray, parts: list[np.ndarray], biases: list[np.ndarray]
) -> list[np.ndarray]:
    """The biases with runaway values pulled back to where they act the same on ``x``.

    A unit that saturates (tanh) or is dead (ReLU) on every calibration observation has no
    gradient, so the least-squares refit can push its bias anywhere (Hopper at M = 4: 1.8e7, past
    float16). Clipped to ``TANH_SATURATED`` (tanh) or 1 (ReLU) beyond the largest ``|W x|`` seen,
    the unit still saturates (is still dead) on every observation, with float32 outputs unchanged.
    """
    xs, _ = _forward(policy, x, palette, parts, biases)
    out = []
    for l, (p, b) in enumerate(zip(parts, biases, strict=True)):
        wx = np.abs(xs[l] @ palette[p].T).max(axis=0) if len(x) else np.zeros_like(b)
        act = policy.activation(l)
        if act == Activation.TANH:
            b = np.clip(b, -(wx + TANH_SATURATED), wx + TANH_SATURATED)
        elif act == Activation.RELU:
            b = np.maximum(b, -(wx + 1.0))
        out.append(b)
    return out


def refit_coloring(
    colored: Policy, dense: Policy, obs: np.ndarray, rounds: int = REFIT_ROUNDS
) -> tuple[Policy, RefitReport]:
    """Fit ``colored``'s palette and biases so its actions match ``dense``'s on ``obs``.

    Gauss-Newton (Levenberg-Marquardt) on the M palette values and all biases with the
    partition fixed, minimizing the summed squared action difference over the calibration
    observations; then ``rounds`` times a coordinate-descent sweep that moves single edges to a
    color that lowers that loss (exactly evaluated) followed by another refit. Every step is
    accepted only if it lowers the loss, so the result is never worse than ``colored`` on ``obs``;
    M, the structure, the normalization and the activations are kept, and every color keeps at
    least one edge. ``rounds=0`` keeps the partition.
    """
    if rounds < 0:
        raise ChromaticError(f"--refit-rounds must be >= 0, got {rounds}")
    x = _normalized(colored, obs)
    target = actions(dense, obs)
    parts = [np.array(layer.partition) for layer in colored.layers]
    biases = [np.array(layer.bias) for layer in colored.layers]
    palette = np.array(colored.palette)
    before = _loss(colored, x, target, palette, parts, biases)
    palette, biases, loss = _refit_values(colored, x, target, palette, parts, biases)
    moved = 0
    for _ in range(rounds):
        parts, _, n_moved = _reassign(colored, x, target, palette, parts, biases) if loss else (parts, 0, 0)
        if not n_moved:
            break
        moved += n_moved
        palette, biases, loss = _refit_values(colored, x, target, palette, parts, biases)
    biases = _unsaturate(colored, x, palette, parts, biases)
    layers = tuple(Layer(p, b) for p, b in zip(parts, biases, strict=True))
    refit = colored.replace(layers=layers, palette=palette).validate()
    size = target.size
    return refit, RefitReport(
        rms_before=float(np.sqrt(before / size)),
        rms_after=float(np.sqrt(loss / size)),
        rounds=rounds,
        edges_moved=moved,
        observations=int(obs.shape[0]),
    )


def _weight_losses(
    dense: Policy, colored: Policy, edge_weights: list[np.ndarray] | None
) -> tuple[float, float]:
    """ColoringReport's (variance_loss, weighted_loss) of ``colored``'s weights against ``dense``'s
    (as compiler/coloring.py defines them), for a palette the refit moved off the cluster means."""
    flat = np.concatenate([w.ravel() for w in dense.weight_matrices()])
    err = flat - np.concatenate([w.ravel() for w in colored.weight_matrices()])
    total = float(((flat - flat.mean()) ** 2).sum())
    loss = float((err * err).sum()) / total if total > 0 else 0.0
    if edge_weights is None:
        return loss, loss
    ew = np.concatenate([np.asarray(e, np.float64).ravel() for e in edge_weights])
    ew = np.maximum(ew, 1e-12 * max(float(ew.max()), 1e-300))
    wtotal = float(np.dot(ew, (flat - np.dot(ew, flat) / ew.sum()) ** 2))
    wloss = float(np.dot(ew, err * err)) / wtotal if wtotal > 0 else 0.0
    return loss, wloss


def load_calibration(path: str | os.PathLike[str]) -> np.ndarray:
    """Observations (N, d0) from a .npy file, for sensitivity weighting."""
    obs = read_npy(path, "observation file")
    if obs.dtype.kind not in "fiu" or obs.ndim != 2 or obs.shape[0] < 1:
        raise ChromaticError(f"{path}: expected a numeric N x d0 array")
    if not np.isfinite(obs).all():
        raise ChromaticError(f"{path}: observations contain NaN or inf")
    return obs.astype(np.float64)


def summary(result: ImportResult) -> str:
    """One line: shape, activations, structure, M, and the coloring's variance loss."""
    p = result.policy
    sizes = "\u2192".join(str(s) for s in p.layer_sizes)
    hidden = f"{p.hidden_activation.name.lower()} hidden, " if len(p.layers) > 1 else ""
    line = (f"{sizes}, {hidden}{p.output_activation.name.lower()} output, "
            f"{p.structure.name.lower()} M={p.num_colors}")
    c = result.coloring
    if c is None:
        return line + " (lossless)"
    line += f", weight-variance loss {100 * c.variance_loss:.2f}%"
    if c.weighted_loss != c.variance_loss:
        line += f" ({100 * c.weighted_loss:.2f}% weighted)"
    if result.action_rms_error is not None:
        line += (
            f", action error vs dense RMS {result.action_rms_error:.4g} max {result.action_max_error:.4g}"
            f" (over {result.error_inputs})"
        )
    r = result.refit
    if r is not None:
        line += (
            f"; refit to them: RMS {r.rms_before:.4g} before (k-means), {r.edges_moved} edges moved"
            f" in {r.rounds} rounds"
        )
    return line
