"""ES over the shared weights: Gaussian smoothing with forward finite differences (§3.1, eq. (3)).

Fitness is **maximized** everywhere in this module (a return, not a loss). With perturbations
``eps_k = sign_k * g_k``, ``g_k ~ N(0, I)`` drawn from the perturbation's own seed, the gradient
of the smoothed return ``E_g[F(theta + sigma g)]`` is estimated as

    grad = 1 / (N sigma) * sum_k (s(F(theta + sigma eps_k)) - s(F_pivot)) * eps_k,

eq. (3) with the factor ``g_k`` that the paper's formula leaves out. The pivot is the mean
unperturbed return (over the iteration's partitions, once a controller samples several); ``s``
is the fitness shaping (z-scoring by default, B.2's reward normalization). With antithetic
pairs (``sign = +1, -1`` on the same seed) the pivot cancels and no unperturbed rollout is
needed. Defaults: sigma = 0.1, eta = 0.01 (B.3), plain SGD; Adam as an option.

A strategy is ``init / ask / tell`` over an immutable :class:`ESState`; workers rebuild each
candidate from ``(seed, sign)`` with :func:`perturb`, so only seeds travel.

:class:`ARS` is Augmented Random Search V2-t (Mania, Guy and Recht, 2018, Algorithm 2): antithetic
pairs, only the ``b`` best directions by ``max(r+, r-)``, and a step scaled by the standard
deviation of the ``2b`` returns it uses. It is the default recipe of ``chromatic train``
(docs/training.md gives the evidence).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from chromatic.arrays import readonly
from chromatic.errors import ChromaticError

Shaping = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def noise(seed: int, dim: int) -> np.ndarray:
    """The direction ``g ~ N(0, I_dim)`` of one perturbation, a pure function of its seed."""
    return np.random.default_rng(int(seed)).standard_normal(dim)


def perturb(theta: np.ndarray, sigma: float, seed: int, sign: int) -> np.ndarray:
    """The candidate ``theta + sigma * sign * g(seed)`` (sign 0: the unperturbed pivot)."""
    if sign == 0:
        return np.array(theta, dtype=np.float64)
    return theta + (sigma * sign) * noise(seed, theta.shape[0])


def candidates(theta: np.ndarray, sigma: float, ask: Ask) -> np.ndarray:
    """All perturbed parameter vectors (N, D) of an ask (tests; workers build them one by one)."""
    return np.stack([perturb(theta, sigma, s, g) for s, g in zip(ask.seeds, ask.signs, strict=True)])


# -- fitness shaping ----------------------------------------------------------------------------
def z_score(returns: np.ndarray, pivot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardize returns by the iteration's perturbed returns (pivot shaped alike)."""
    mu, sd = float(returns.mean()), float(returns.std())
    scale = 1.0 / sd if sd > 1e-12 else 0.0
    return (returns - mu) * scale, (pivot - mu) * scale


def identity(returns: np.ndarray, pivot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """No shaping: the estimator is then an unbiased gradient of the smoothed return."""
    return returns, pivot


SHAPINGS: dict[str, Shaping] = {"z-score": z_score, "none": identity}


# -- optimizers (ascent) --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class OptState:
    """Adam's moments and step count (unused by SGD, kept so every state has one shape)."""

    m: np.ndarray
    v: np.ndarray
    t: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "m", readonly(self.m, np.float64))
        object.__setattr__(self, "v", readonly(self.v, np.float64))


def sgd_step(theta: np.ndarray, grad: np.ndarray, opt: OptState, lr: float) -> tuple[np.ndarray, OptState]:
    return theta + lr * grad, replace(opt, t=opt.t + 1)


def adam_update(m: np.ndarray, v: np.ndarray, t: int, grad: np.ndarray, lr: float, b1: float = 0.9,
                b2: float = 0.999, eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam (Kingma & Ba), the one implementation: step ``t`` (from 1) -> (step, new m, new v).

    The ES strategies ascend with it and the ENAS controllers (``training/enas/optim.py``)
    descend with it.
    """
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * np.square(grad)
    return lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps), m, v


def adam_step(theta: np.ndarray, grad: np.ndarray, opt: OptState, lr: float,
              b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> tuple[np.ndarray, OptState]:
    t = opt.t + 1
    step, m, v = adam_update(opt.m, opt.v, t, grad, lr, b1, b2, eps)
    return theta + step, OptState(m, v, t)


OPTIMIZERS = {"sgd": sgd_step, "adam": adam_step}


# -- the strategy ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ESState:
    """Everything a strategy carries between iterations (immutable)."""

    params: np.ndarray
    opt: OptState
    generation: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", readonly(self.params, np.float64))


@dataclass(frozen=True, eq=False)
class Ask:
    """One iteration's requests: perturbed rollouts ``(seed, sign)`` and unperturbed pivots."""

    seeds: np.ndarray  # (N,) int64, one noise seed per perturbed rollout
    signs: np.ndarray  # (N,) int8, +1 or -1
    num_pivot: int  # unperturbed rollouts whose mean return is the pivot (0 if antithetic)


@dataclass(frozen=True, eq=False)
class ForwardES:
    """Forward finite-difference ES (eq. (3)); fitness is maximized."""

    num_perturbations: int
    sigma: float = 0.1
    lr: float = 0.01
    antithetic: bool = False
    optimizer: str = "sgd"
    num_pivot: int = 1
    shaping: Shaping = field(default=z_score)

    def __post_init__(self) -> None:
        if self.num_perturbations < 1:
            raise ChromaticError(f"perturbations must be at least 1, got {self.num_perturbations}")
        if self.antithetic and self.num_perturbations % 2:
            raise ChromaticError(
                f"antithetic pairs need an even number of perturbations, got {self.num_perturbations}"
            )
        if not self.sigma > 0 or not self.lr > 0:
            raise ChromaticError(f"sigma and learning rate must be positive, got {self.sigma}, {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ChromaticError(f"unknown optimizer {self.optimizer!r}; expected one of {list(OPTIMIZERS)}")
        if not self.antithetic and self.num_pivot < 1:
            raise ChromaticError("forward differences need at least one unperturbed (pivot) rollout")

    def init(self, params: np.ndarray) -> ESState:
        p = np.asarray(params, dtype=np.float64)
        return ESState(p, OptState(np.zeros_like(p), np.zeros_like(p), 0), 0)

    def sigma_at(self, generation: int) -> float:
        return self.sigma

    def ask(self, state: ESState, rng: np.random.Generator) -> Ask:
        n = self.num_perturbations
        if self.antithetic:
            half = rng.integers(0, 2**62, size=n // 2)
            seeds = np.repeat(half, 2)
            signs = np.tile(np.array([1, -1], dtype=np.int8), n // 2)
            return Ask(seeds, signs, 0)
        return Ask(rng.integers(0, 2**62, size=n), np.ones(n, dtype=np.int8), self.num_pivot)

    def candidates(self, state: ESState, ask: Ask) -> np.ndarray:
        """All perturbed parameter vectors (N, D); workers build them one at a time instead."""
        return candidates(state.params, self.sigma, ask)

    def gradient(self, state: ESState, ask: Ask, returns: np.ndarray,
                 pivot_returns: np.ndarray) -> np.ndarray:
        """The estimator of eq. (3) (as an ascent direction) from shaped returns."""
        returns = np.asarray(returns, dtype=np.float64)
        pivot = np.asarray([np.mean(pivot_returns)] if len(pivot_returns) else [0.0])
        shaped, shaped_pivot = self.shaping(returns, pivot)
        if self.antithetic:
            shaped_pivot = np.zeros(1)  # cancels within each pair
        dim = state.params.shape[0]
        grad = np.zeros(dim)
        for s, sign, f in zip(ask.seeds, ask.signs, shaped, strict=True):
            grad += (f - shaped_pivot[0]) * sign * noise(s, dim)
        return grad / (len(returns) * self.sigma)

    def tell(self, state: ESState, ask: Ask, returns: np.ndarray,
             pivot_returns: np.ndarray) -> ESState:
        """A new state one optimizer step up the estimated gradient."""
        grad = self.gradient(state, ask, returns, pivot_returns)
        params, opt = OPTIMIZERS[self.optimizer](state.params, grad, state.opt, self.lr)
        return ESState(params, opt, state.generation + 1)


@dataclass(frozen=True, eq=False)
class ARS:
    """ARS V2-t: antithetic pairs, top-``b`` directions, step / std of the used returns.

    Fitness is maximized. With ``N = num_perturbations / 2`` directions ``g_k`` and returns
    ``r_k+ = F(theta + sigma g_k)``, ``r_k- = F(theta - sigma g_k)``, the ascent direction is

        grad = 1 / (b * sd) * sum_{k in top b by max(r_k+, r_k-)} (r_k+ - r_k-) g_k,

    ``sd`` the std of the ``2b`` returns used. With SGD, ``lr`` is ARS's step size alpha and
    ``sigma`` its exploration noise nu. ``weight_decay`` shrinks the parameters by
    ``lr * weight_decay * theta`` each step; ``sigma_decay`` multiplies sigma every iteration
    (down to ``sigma_min``), as some ES variants do (it is off by default: see docs/training.md).
    """

    num_perturbations: int
    top_directions: int | None = None
    sigma: float = 0.03
    lr: float = 0.02
    optimizer: str = "sgd"
    weight_decay: float = 0.0
    sigma_decay: float = 1.0
    sigma_min: float = 0.0

    num_pivot = 0  # no unperturbed rollouts: the pivot cancels within each pair

    def __post_init__(self) -> None:
        if self.num_perturbations < 2 or self.num_perturbations % 2:
            raise ChromaticError(
                f"ARS needs an even number (>= 2) of perturbations (antithetic pairs), "
                f"got {self.num_perturbations}")
        if not 1 <= self.top <= self.num_perturbations // 2:
            raise ChromaticError(f"--top-directions must be in [1, {self.num_perturbations // 2}] "
                                 f"(the number of pairs), got {self.top_directions}")
        if not self.sigma > 0 or not self.lr > 0:
            raise ChromaticError(f"sigma and learning rate must be positive, got {self.sigma}, {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ChromaticError(f"unknown optimizer {self.optimizer!r}; expected one of {list(OPTIMIZERS)}")
        if not 0 < self.sigma_decay <= 1 or self.sigma_min < 0 or self.weight_decay < 0:
            raise ChromaticError("--sigma-decay must be in (0, 1], --sigma-min and --weight-decay >= 0")

    @property
    def top(self) -> int:
        """b, the number of directions used (default: half of the pairs)."""
        return max(1, self.num_perturbations // 4) if self.top_directions is None else self.top_directions

    @property
    def antithetic(self) -> bool:
        return True

    def sigma_at(self, generation: int) -> float:
        """The exploration noise of iteration ``generation`` (decayed, floored at sigma_min)."""
        return max(self.sigma * self.sigma_decay**generation, self.sigma_min) if self.sigma_decay < 1 \
            else self.sigma

    def init(self, params: np.ndarray) -> ESState:
        p = np.asarray(params, dtype=np.float64)
        return ESState(p, OptState(np.zeros_like(p), np.zeros_like(p), 0), 0)

    def ask(self, state: ESState, rng: np.random.Generator) -> Ask:
        half = rng.integers(0, 2**62, size=self.num_perturbations // 2)
        return Ask(np.repeat(half, 2), np.tile(np.array([1, -1], dtype=np.int8), len(half)), 0)

    def candidates(self, state: ESState, ask: Ask) -> np.ndarray:
        """All perturbed parameter vectors (N, D); workers build them one at a time instead."""
        return candidates(state.params, self.sigma_at(state.generation), ask)

    def gradient(self, state: ESState, ask: Ask, returns: np.ndarray,
                 pivot_returns: np.ndarray) -> np.ndarray:
        r = np.asarray(returns, dtype=np.float64).reshape(-1, 2)  # (pairs, [+, -])
        order = np.argsort(-r.max(axis=1), kind="stable")[: self.top]
        used = r[order]
        sd = float(used.std())
        dim = state.params.shape[0]
        grad = np.zeros(dim)
        if not sd > 1e-12:
            return grad
        seeds = np.asarray(ask.seeds).reshape(-1, 2)[:, 0]
        for k in order:
            grad += (r[k, 0] - r[k, 1]) * noise(seeds[k], dim)
        return grad / (self.top * sd)

    def tell(self, state: ESState, ask: Ask, returns: np.ndarray,
             pivot_returns: np.ndarray) -> ESState:
        grad = self.gradient(state, ask, returns, pivot_returns)
        if self.weight_decay:
            grad = grad - self.weight_decay * state.params
        params, opt = OPTIMIZERS[self.optimizer](state.params, grad, state.opt, self.lr)
        return ESState(params, opt, state.generation + 1)


Strategy = ForwardES | ARS

#: Every strategy the trainer can use (``--strategy``); the driver builds its strategy from here
#: and one parametrized test runs them all.
STRATEGIES: dict[str, Callable[..., Strategy]] = {
    "ars": lambda **kw: ARS(**kw),
    "antithetic": lambda **kw: ForwardES(antithetic=True, **kw),
    "forward": lambda **kw: ForwardES(antithetic=False, **kw),
}
