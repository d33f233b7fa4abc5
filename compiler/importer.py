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
from chromatic.compiler.policy_file import load_policy, read_npz
from chromatic.errors import ChromaticError

WEIGHTINGS = ("none", "sensitivity")
STATS_KEYS = {"mean", "var", "std", "epsilon", "clip_obs", "count"}


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


def actions(policy: Policy, obs: np.ndarray) -> np.ndarray:
    """The policy's actions in float64 (the same algebra as runtime/reference.py)."""
    std = np.where(policy.normalization.std == 0, 1.0, policy.normalization.std)
    x = (np.asarray(obs, np.float64) - policy.normalization.mean) / std
    for l, (layer, w) in enumerate(zip(policy.layers, policy.weight_matrices(), strict=True)):
        x = policy.activation(l).apply(x @ w.T + layer.bias)
    return x


def is_policy_file(path: str | os.PathLike[str]) -> bool:
    """A .npz (zip) file, by its magic bytes rather than its name."""
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def read_mlp(path: str | os.PathLike[str]) -> tuple[DenseMLP, dict[str, str | int | float]]:
    """The dense MLP in an ONNX file or a policy file, and the metadata to carry over."""
    p = Path(path)
    if not p.is_file():
        raise ChromaticError(f"{path}: no such model file")
    read_file(p, "model file")  # unreadable (e.g. /proc/self/mem) or huge: one line, before the parsers
    if is_policy_file(p):
        policy = load_policy(p)
        return mlp_from_policy(policy), dict(policy.metadata)
    from chromatic.compiler.onnx_import import mlp_from_onnx

    return mlp_from_onnx(p), {}


def import_model(
    model: str | os.PathLike[str],
    colors: int | None = None,
    stats: str | os.PathLike[str] | None = None,
    weighting: str = "none",
    calibration: np.ndarray | None = None,
) -> ImportResult:
    """Import ``model``; with ``colors`` cluster its weights into one palette of that size.

    ``weighting="sensitivity"`` weights each edge's squared error by its first-order effect on
    the action over ``calibration`` observations (raw, N x d0, ones the policy visits).
    """
    if weighting not in WEIGHTINGS:
        raise ChromaticError(f"unknown weighting {weighting!r}; expected one of {list(WEIGHTINGS)}")
    if weighting != "none" and calibration is None:
        raise ChromaticError(
            f"--weighting {weighting} needs --calibration OBS.npy (observations the policy visits)"
        )
    if colors is not None and not 1 <= colors <= 1 << 16:
        raise ChromaticError(f"--colors must be in [1, 65536], got {colors}")
    if colors is None and (weighting != "none" or calibration is not None):
        raise ChromaticError("--weighting and --calibration only apply with --colors")
    notes: list[str] = []
    meta: dict[str, str | int | float] = {}
    obs_stats = None if stats is None else load_stats(stats)
    mlp, carried = read_mlp(model)
    d0 = mlp.weights[0].shape[1]
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
    colored = colored.replace(
        metadata={**colored.metadata, "import_colors": colors, "import_variance_loss": report.variance_loss}
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
    )


def load_calibration(path: str | os.PathLike[str]) -> np.ndarray:
    """Observations (N, d0) from a .npy file, for sensitivity weighting."""
    p = Path(path)
    if not p.is_file():
        raise ChromaticError(f"{path}: no such observation file")
    try:
        obs = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ChromaticError(f"{path}: not a readable .npy array ({e})") from None
    if not isinstance(obs, np.ndarray) or obs.dtype.kind not in "fiu" or obs.ndim != 2 or obs.shape[0] < 1:
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
    return line
