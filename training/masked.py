"""The masked baseline of the paper's Table 2 (§4.1, Appendix E): ES trains weights and a mask.

A dense MLP whose every layer has weights ``W`` and mask logits ``S`` of the same shape; ES
trains ``theta = [W (E), S (E), biases]`` (E the number of edges, in the dense canonical edge
order of :func:`compiler.ir.canonical_partitions`). Rollouts compute ``W * sigmoid(S / alpha)``
(the paper's "softmax applied elementwise", alpha = 0.01: a near-binary threshold); the policy
file gets the hard mask ``S > 0``, written as a ``masked`` policy (color 0 the pruned class,
each kept weight its own color), which every runtime runs and whose Table 2 bits
``compiler.bits.paper_bits`` counts.

The sparsity reward (App. E): ES maximises ``R' = beta * z(R) + (1 - beta) * z(1 - eta)``, R the
(shifted) training returns and eta the share of kept weights of each perturbation's hard mask,
both z-scored across the iteration's perturbations (the pivot shaped with the same statistics),
beta annealed linearly from 1 to ``--mask-beta-final`` over ``--mask-anneal`` iterations. With
``--mask-target T`` (default 0.1, Table 2's "> 90 % pruned") the sparsity term is
``z(-max(eta - T, 0))``: the same while every perturbation keeps more than T, no push once they
keep less (a constant term z-scores to 0), and only evaluations at eta <= T may ship.
``--mask-fixed`` is Lenc et al.'s fixed sparsity instead: exactly floor(T x E) weights from the
start, the logits shifted after every update so that exactly that many stay positive, no
sparsity reward. A perturbation's eta is a pure function of its noise seed, so the driver
computes it itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from chromatic.compiler.ir import (
    Activation,
    Layer,
    Normalization,
    Policy,
    Structure,
    canonical_partitions,
    implicit_num_colors,
)
from chromatic.errors import ChromaticError
from chromatic.training.es.strategy import Ask, perturb
from chromatic.training.policy_params import PolicySpec

if TYPE_CHECKING:
    from chromatic.training.checkpoint import RunState
    from chromatic.training.settings import TrainConfig

#: The paper's temperature of the mask's sigmoid ("softmax elementwise", App. E).
DEFAULT_ALPHA = 0.01


def masked_spec(layer_sizes: Sequence[int], hidden_activation: Activation = Activation.TANH,
                alpha: float = DEFAULT_ALPHA) -> PolicySpec:
    """The spec of a masked MLP: dense partitions (edge e is weight e), theta = [W, S, biases]."""
    from chromatic.compiler.limits import MAX_STORED_COLORS

    sizes = tuple(int(s) for s in layer_sizes)
    if not alpha >= 0:
        raise ChromaticError(f"--mask-alpha must be >= 0, got {alpha}")
    edges = implicit_num_colors(Structure.DENSE, sizes)
    if edges + 1 > MAX_STORED_COLORS:  # the policy file stores each kept weight as a color
        raise ChromaticError(f"--structure masked: {edges:,} edges; a masked policy holds at most "
                             f"{MAX_STORED_COLORS - 1:,} (one color per kept weight)")
    return PolicySpec(sizes, Structure.MASKED, edges, tuple(canonical_partitions(Structure.DENSE, sizes)),
                      hidden_activation, mask_alpha=float(alpha))


def initial_params(spec: PolicySpec, rng: np.random.Generator, scale: float = 0.1,
                   density: float = 0.5) -> np.ndarray:
    """[W, S, biases] at the start: W as a dense policy's palette (zero for a linear policy,
    N(0, scale^2) otherwise), S ~ scale * (N(0, 1) - t) with t between two draws so that exactly
    round(density * E) logits are positive (the paper starts at 50 % sparsity), biases zero."""
    e = spec.num_colors
    theta = np.zeros(spec.num_params)
    if len(spec.layer_sizes) > 2:
        theta[:e] = scale * rng.standard_normal(e)
    z = rng.standard_normal(e)
    kept = int(round(density * e))
    zs = np.sort(z)[::-1]
    if kept == 0:
        t = zs[0]
    elif kept == e:
        t = zs[-1] - 1.0
    else:
        t = 0.5 * (zs[kept - 1] + zs[kept])
    theta[e:2 * e] = scale * (z - t)
    return theta


def start(cfg: TrainConfig, layer_sizes: Sequence[int], rng: np.random.Generator,
          hidden_activation: Activation) -> tuple[PolicySpec, np.ndarray]:
    """The spec and initial parameters of a ``--structure masked`` run."""
    spec = masked_spec(layer_sizes, hidden_activation, cfg.mask_alpha)
    density = fixed_kept(cfg, spec) / spec.num_colors if cfg.mask_fixed else cfg.mask_init_density
    return spec, initial_params(spec, rng, cfg.init_scale, density)  # exactly round(density E) kept


def fixed_kept(cfg: TrainConfig, spec: PolicySpec) -> int:
    """How many weights a ``--mask-fixed`` run keeps: floor(target x E), at least one."""
    return max(1, int(cfg.mask_target * spec.num_colors))


def project(cfg: TrainConfig, spec: PolicySpec, theta: np.ndarray) -> np.ndarray:
    """``--mask-fixed``: the logits shifted so that exactly :func:`fixed_kept` of them are positive
    (the threshold midway between the k-th and k+1-th largest)."""
    e, k = spec.num_colors, fixed_kept(cfg, spec)
    out = np.array(theta, dtype=np.float64)
    s = np.sort(out[e:2 * e])[::-1]
    out[e:2 * e] -= 0.5 * (s[k - 1] + s[k]) if k < e else s[-1] - 1.0
    return out


# -- the forward pass and the deployed policy --------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large |x|


def logits(spec: PolicySpec, theta: np.ndarray) -> np.ndarray:
    """The mask logits S (E,) of parameters ``theta``."""
    e = spec.num_colors
    return np.asarray(theta, dtype=np.float64)[e:2 * e]


def soft_palette(spec: PolicySpec, theta: np.ndarray) -> np.ndarray:
    """The rollouts' weights per edge: W * sigmoid(S / alpha) (alpha 0: W * (S > 0))."""
    assert spec.mask_alpha is not None
    e = spec.num_colors
    theta = np.asarray(theta, dtype=np.float64)
    if spec.mask_alpha == 0:
        return np.where(theta[e:2 * e] > 0, theta[:e], 0.0)
    return theta[:e] * _sigmoid(theta[e:2 * e] / spec.mask_alpha)


def deployed(spec: PolicySpec, theta: np.ndarray) -> np.ndarray:
    """Parameters whose rollouts compute the hard mask exactly (the policy file's network): S set
    to +-40 alpha, where the sigmoid is exactly 1 or 0 in float64; unchanged if not masked."""
    if spec.mask_alpha is None:
        return theta
    e = spec.num_colors
    out = np.array(theta, dtype=np.float64)
    out[e:2 * e] = np.where(out[e:2 * e] > 0, 1.0, -1.0) * max(40.0 * spec.mask_alpha, 1.0)
    return out


def hard_mask(spec: PolicySpec, theta: np.ndarray) -> np.ndarray:
    """(E,) bool: the deployed mask S > 0."""
    return logits(spec, theta) > 0


def density(spec: PolicySpec, theta: np.ndarray) -> float:
    """eta: the share of weights the hard mask keeps."""
    return float(hard_mask(spec, theta).mean())


def bitmap_bits(spec: PolicySpec, kept: int) -> int:
    """A bitmap encoding: 32 per kept weight, one bit per mask entry, 32 per bias (all layers)."""
    return 32 * kept + spec.num_colors + 32 * spec.num_biases


def to_masked_policy(spec: PolicySpec, theta: np.ndarray, normalization: Normalization,
                     metadata: dict | None = None, partitions: Sequence[np.ndarray] | None = None) -> Policy:
    """The deployed policy: a ``masked`` policy with the hard mask (color 0 pruned, each kept
    weight its own color, in edge order), with metadata ``mask_density``, ``kept_weights``,
    ``paper_bits`` (Table 2's rule) and ``bitmap_bits``."""
    from chromatic.compiler.bits import paper_bits

    theta = np.asarray(theta, dtype=np.float64)
    e = spec.num_colors
    parts = spec.partitions if partitions is None else partitions
    flat = np.concatenate([np.asarray(p).reshape(-1) for p in parts])  # edge -> weight index
    keep = hard_mask(spec, theta)[flat]
    colors = np.zeros(e, dtype=np.int64)
    colors[keep] = 1 + np.arange(int(keep.sum()))
    palette = np.concatenate([[0.0], theta[:e][flat][keep]])
    layers, offset = [], 2 * e
    for p in parts:
        out = p.shape[0]
        layers.append(Layer(colors[:p.size].reshape(p.shape), theta[offset:offset + out]))
        colors, offset = colors[p.size:], offset + out
    policy = Policy(layers=tuple(layers), palette=palette, normalization=normalization,
                    structure=Structure.MASKED, hidden_activation=spec.hidden_activation,
                    output_activation=Activation.TANH, metadata={}).validate()
    kept = int(keep.sum())
    info = {"mask_density": kept / e, "kept_weights": kept, "paper_bits": paper_bits(policy),
            "bitmap_bits": bitmap_bits(spec, kept), "mask_alpha": float(spec.mask_alpha or 0.0)}
    return dataclasses.replace(policy, metadata={**(metadata or {}), **info}).validate()


# -- the sparsity reward -------------------------------------------------------------------------
def beta_at(cfg: TrainConfig, iteration: int) -> float:
    """beta of iteration ``iteration`` (0-based): 1 annealed linearly to the floor over
    ``mask_anneal`` iterations (a function of the iteration only, so resume is exact)."""
    frac = min(1.0, iteration / cfg.mask_anneal)
    return 1.0 - (1.0 - cfg.mask_beta_final) * frac


def _z(x: np.ndarray, pivot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = float(x.mean()), float(x.std())
    scale = 1.0 / sd if sd > 1e-12 else 0.0
    return (x - mu) * scale, (pivot - mu) * scale


def perturbed_densities(spec: PolicySpec, theta: np.ndarray, sigma: float, ask: Ask) -> np.ndarray:
    """(N,) eta of each perturbation's hard mask (perturbed S > 0), from its noise seed."""
    return np.array([density(spec, perturb(theta, sigma, int(s), int(g)))
                     for s, g in zip(ask.seeds, ask.signs, strict=True)])


def sparsity_objective(cfg: TrainConfig, st: RunState, ask: Ask, sigma: float, shaped: np.ndarray,
                       pivot: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """R' = beta z(R) + (1 - beta) z(1 - eta) for the perturbations (and the pivots), and the
    log entries ``mask_density`` (eta of the mean parameters this iteration ran) and ``mask_beta``."""
    theta = st.es.params
    beta = beta_at(cfg, st.iteration)
    etas = perturbed_densities(st.spec, theta, sigma, ask)
    eta = density(st.spec, theta)
    if cfg.mask_fixed:  # no sparsity reward: the projection keeps the density
        return shaped, pivot, {"mask_density": eta, "mask_density_perturbed": float(etas.mean())}
    zr, zr_pivot = _z(np.asarray(shaped, dtype=np.float64), np.asarray(pivot, dtype=np.float64))
    # the sparsity term: -(eta - target)+, i.e. 1 - eta up to a constant while above the target
    zs, zs_pivot = _z(-np.maximum(etas - cfg.mask_target, 0.0),
                      np.full(len(pivot), -max(eta - cfg.mask_target, 0.0)))
    row = {"mask_density": eta, "mask_beta": beta, "mask_density_perturbed": float(etas.mean())}
    return beta * zr + (1 - beta) * zs, beta * zr_pivot + (1 - beta) * zs_pivot, row


def eligible(cfg: TrainConfig, spec: PolicySpec, theta: np.ndarray) -> bool:
    """Whether parameters may be shipped as the run's best: always, except in a masked run with
    ``--mask-target`` > 0, whose hard mask must keep at most that share of the weights."""
    return spec.mask_alpha is None or cfg.mask_target == 0 or density(spec, theta) <= cfg.mask_target


def check_settings(cfg: TrainConfig) -> None:
    """The ``--mask-*`` options: valid values, and only with ``--structure masked``."""
    from chromatic.training.settings import TrainConfig

    defaults = TrainConfig()
    names = ("mask_alpha", "mask_init_density", "mask_beta_final", "mask_anneal", "mask_target", "mask_fixed")
    if cfg.structure != "masked":
        changed = [n for n in names if getattr(cfg, n) != getattr(defaults, n)]
        if changed:
            flags = ", ".join("--" + n.replace("_", "-") for n in changed)
            raise ChromaticError(f"{flags} need --structure masked")
        return
    if not cfg.mask_alpha >= 0:
        raise ChromaticError(f"--mask-alpha must be >= 0, got {cfg.mask_alpha}")
    if not 0 < cfg.mask_init_density < 1:
        raise ChromaticError(f"--mask-init-density must lie in (0, 1), got {cfg.mask_init_density}")
    if not 0 <= cfg.mask_beta_final <= 1:
        raise ChromaticError(f"--mask-beta-final must lie in [0, 1], got {cfg.mask_beta_final}")
    if not 0 <= cfg.mask_target < 1:
        raise ChromaticError(f"--mask-target must lie in [0, 1), got {cfg.mask_target}")
    if cfg.mask_fixed:
        reward = [n for n in ("mask_init_density", "mask_beta_final", "mask_anneal")
                  if getattr(cfg, n) != getattr(defaults, n)]
        if reward:
            flags = ", ".join("--" + n.replace("_", "-") for n in reward)
            verb = "does" if len(reward) == 1 else "do"
            raise ChromaticError(f"{flags} {verb} not apply with --mask-fixed (it keeps --mask-target's "
                                 "share from the start, with no sparsity reward)")
        if cfg.mask_target == 0:
            raise ChromaticError("--mask-fixed needs --mask-target > 0 (the share of weights to keep)")
    if cfg.mask_anneal < 1:
        raise ChromaticError(f"--mask-anneal must be at least 1, got {cfg.mask_anneal}")
    if not cfg.init_scale > 0:
        raise ChromaticError(f"--structure masked needs --init-scale > 0 (the spread of the mask "
                             f"logits), got {cfg.init_scale}")
    if cfg.init_policy or cfg.init_partition:
        raise ChromaticError("--structure masked trains its weights and mask from scratch; "
                             "--init-policy and --init-partition do not apply")
