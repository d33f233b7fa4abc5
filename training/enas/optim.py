"""REINFORCE pieces shared by the controllers: softmax math, baselines, optimizers (App. B.1).

The controllers minimise the surrogate loss of REINFORCE with a baseline and an entropy bonus,

    L = -1/B sum_b [A_b * sum_t log pi(a_bt) + beta * sum_t H_t(b)],

with ``H_t`` the entropy of the softmax at decision ``t``; rewards are maximised. The advantage
``A_b`` comes from :func:`advantages`:

- ``"batch"`` (the default): z-scores of the batch's rewards, ``(R_b - mean R) / std R``. The
  baseline is the batch itself, so a reward that rises from one update to the next (ES raising
  the returns under the controller) cancels exactly, and the step does not depend on the reward's
  scale, which lets one ``beta`` and one learning rate serve returns in [0, 1] and in the thousands;
- ``"rank"``: centred ranks scaled to unit variance (robust to outliers, ties share a rank);
- ``"ema"``: the paper's critic, ``R_b - baseline`` with an exponential moving average of past
  batch means (App. B.1: decay 0.99). It lags a rising reward, so every sample of a batch then gets
  nearly the same positive advantage, and its scale is the reward's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from chromatic.errors import ChromaticError
from chromatic.training.es.strategy import adam_update

#: The REINFORCE recipe's defaults shared by the learning controllers, chosen on
#: benchmarks/enas_synthetic.py (docs/enas.md): advantages z-scored within the batch, an entropy
#: weight for advantages of unit scale, plain gradient steps on per-edge logits, and the keep
#: probability of a planted partition (local edits of ~3 % of the edges).
DEFAULTS: dict = {
    "entropy_weight": 0.02, "baseline": "batch", "edge_learning_rate": 5.0, "concentration": 0.97,
}


def softmax(logits: np.ndarray, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and log-probabilities of ``softmax(logits / temperature)`` over the last axis."""
    s = logits / temperature
    s = s - s.max(axis=-1, keepdims=True)
    logz = np.log(np.exp(s).sum(axis=-1, keepdims=True))
    logp = s - logz
    return np.exp(logp), logp


def entropy(p: np.ndarray, logp: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each distribution along the last axis."""
    return -(p * logp).sum(axis=-1)


def dloss_dlogits(
    p: np.ndarray,
    logp: np.ndarray,
    actions: np.ndarray,
    coef_logp: np.ndarray,
    entropy_weight: float,
    temperature: float,
) -> np.ndarray:
    """Gradient of ``-coef * log p[a] - entropy_weight * H`` w.r.t. the *unscaled* logits.

    ``p``/``logp``: (..., M); ``actions``: (...); ``coef_logp``: broadcastable to (...).
    d log p_a / ds = onehot(a) - p and dH/ds = -p (log p + H), with s = logits / temperature.
    """
    h = entropy(p, logp)[..., None]
    onehot = np.zeros_like(p)
    np.put_along_axis(onehot, actions[..., None], 1.0, axis=-1)
    g = -np.asarray(coef_logp)[..., None] * (onehot - p) + entropy_weight * p * (logp + h)
    return g / temperature


class EmaCritic:
    """Baseline = exponential moving average of the mean batch reward (paper App. B.1: 0.99).

    Starts at the first batch's mean reward rather than 0, so that RL returns in the thousands do
    not produce a huge first advantage.
    """

    def __init__(self, decay: float = 0.99) -> None:
        self.decay = float(decay)
        self.value = 0.0
        self.initialized = False

    def advantages(self, rewards: np.ndarray) -> np.ndarray:
        """``rewards - baseline`` with the baseline *before* this batch, then move the baseline."""
        rewards = np.asarray(rewards, np.float64)
        if not self.initialized:
            self.value, self.initialized = float(rewards.mean()), True
        adv = rewards - self.value
        self.value = self.decay * self.value + (1.0 - self.decay) * float(rewards.mean())
        return adv

    def state_dict(self, prefix: str = "critic/") -> dict[str, np.ndarray]:
        return {prefix + "value": np.array(self.value), prefix + "initialized": np.array(self.initialized)}

    def load_state_dict(self, state: Mapping[str, np.ndarray], prefix: str = "critic/") -> None:
        self.value = float(state[prefix + "value"])
        self.initialized = bool(state[prefix + "initialized"])


class Adam:
    """Adam (Kingma & Ba) over a dict of parameter arrays (those it was built with), in place."""

    def __init__(
        self,
        params: Mapping[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.lr, self.betas, self.eps = float(lr), betas, float(eps)
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.step_count = 0

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """One descent step (the update itself is ``training.es.strategy.adam_update``)."""
        self.step_count += 1
        b1, b2 = self.betas
        for k in self.m:
            step, self.m[k], self.v[k] = adam_update(self.m[k], self.v[k], self.step_count, grads[k],
                                                     self.lr, b1, b2, self.eps)
            params[k] -= step

    def state_dict(self, prefix: str = "adam/") -> dict[str, np.ndarray]:
        out = {prefix + "step": np.array(self.step_count)}
        out.update({prefix + "m/" + k: v.copy() for k, v in self.m.items()})
        out.update({prefix + "v/" + k: v.copy() for k, v in self.v.items()})
        return out

    def load_state_dict(self, state: Mapping[str, np.ndarray], prefix: str = "adam/") -> None:
        self.step_count = int(state[prefix + "step"])
        for k in self.m:
            self.m[k] = np.array(state[prefix + "m/" + k], dtype=self.m[k].dtype)
            self.v[k] = np.array(state[prefix + "v/" + k], dtype=self.v[k].dtype)


class Sgd:
    """Plain gradient descent over the parameters it was built with, in place.

    Used for free per-edge logits: with z-scored advantages the REINFORCE gradient of a logit is
    already scale-free, and its size says how much evidence the batch holds about that edge's
    color. Adam would divide that evidence away (every logit moving ~lr per step however weak its
    signal), which on the synthetic benchmark closes less of the gap (see docs/enas.md).
    """

    def __init__(self, params: Mapping[str, np.ndarray], lr: float) -> None:
        self.lr, self.keys = float(lr), tuple(params)

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        for k in self.keys:
            params[k] -= (self.lr * grads[k]).astype(params[k].dtype)

    def state_dict(self, prefix: str = "sgd/") -> dict[str, np.ndarray]:
        return {}

    def load_state_dict(self, state: Mapping[str, np.ndarray], prefix: str = "sgd/") -> None:
        pass


class Optimizers:
    """Several optimizers, each over its own parameters, stepped together (one ``step`` call)."""

    def __init__(self, **parts: Adam | Sgd) -> None:
        self.parts = parts

    @property
    def step_count(self) -> int:
        return max((getattr(o, "step_count", 0) for o in self.parts.values()), default=0)

    def step(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        for opt in self.parts.values():
            opt.step(params, grads)

    def state_dict(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, opt in self.parts.items():
            out.update(opt.state_dict(prefix=f"{name}/"))
        return out

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        for name, opt in self.parts.items():
            opt.load_state_dict(state, prefix=f"{name}/")


BASELINES = ("batch", "rank", "ema")


def check_baseline(baseline: str) -> str:
    if baseline not in BASELINES:
        raise ChromaticError(f"controller baseline: expected one of {list(BASELINES)}, found {baseline!r}")
    return baseline


def advantages(rewards: np.ndarray, baseline: str, critic: EmaCritic | None = None) -> np.ndarray:
    """Per-sample advantages of a batch of rewards (module docstring); all zero if they are equal."""
    r = np.asarray(rewards, np.float64)
    if baseline == "ema":
        assert critic is not None
        return critic.advantages(r)
    if baseline == "rank":
        # average ranks (ties share one), centred
        order = np.argsort(r, kind="stable")
        ranks = np.empty(len(r))
        ranks[order] = np.arange(len(r), dtype=np.float64)
        _, inverse, counts = np.unique(r, return_inverse=True, return_counts=True)
        ranks = (np.bincount(inverse.reshape(-1), weights=ranks) / counts)[inverse.reshape(-1)]
        r = ranks
    centred = r - r.mean()
    std = centred.std()
    return centred / std if std > 1e-12 * max(1.0, float(np.abs(r).max())) else np.zeros_like(r)


def anchor_logits(partition: np.ndarray, num_edges: int, num_colors: int, concentration: float) -> np.ndarray:
    """Per-edge logits (E, M) under which every edge keeps ``partition``'s color with probability
    ``concentration`` and otherwise takes one of the other colors uniformly: samples are local
    edits of ``partition`` touching a ``1 - concentration`` share of the edges on average."""
    part = check_parts(np.asarray(partition).reshape(1, -1), num_edges, num_colors)[0]
    if not 1.0 / num_colors <= concentration < 1.0:
        raise ChromaticError(
            f"controller concentration: expected a probability in [1/M, 1) = [{1 / num_colors:.3g}, 1), "
            f"found {concentration}"
        )
    kappa = np.log(concentration * (num_colors - 1) / (1.0 - concentration))
    logits = np.zeros((num_edges, num_colors))
    logits[np.arange(num_edges), part] = kappa
    return logits


def recenter(logits: np.ndarray, old: np.ndarray, new: np.ndarray, concentration: float | None) -> None:
    """Move a planted partition's share of the per-edge logits (in place) from ``old`` to ``new``:
    what REINFORCE learned stays, and samples become local edits of ``new`` (an incumbent search
    re-centres the controller on each partition it accepts). Nothing planted: nothing to move."""
    if not concentration:
        return
    num_edges, num_colors = logits.shape
    delta = anchor_logits(new, num_edges, num_colors, concentration) - anchor_logits(
        old, num_edges, num_colors, concentration)
    logits += delta.astype(logits.dtype)


def grad_norm(grads: Mapping[str, np.ndarray]) -> float:
    return float(np.sqrt(sum(float((g * g).sum()) for g in grads.values())))


def check_sizes(num_edges: int, num_colors: int) -> None:
    """A controller needs an edge to color and a choice of at least two colors."""
    if num_edges < 1 or num_colors < 2:
        raise ChromaticError(
            f"controller: expected num_edges >= 1 and num_colors >= 2, found {num_edges}, {num_colors}"
        )


def check_parts(parts: np.ndarray, num_edges: int, num_colors: int) -> np.ndarray:
    """Partitions as an int64 (B, num_edges) array of colors in [0, num_colors)."""
    parts = np.asarray(parts)
    if parts.ndim != 2 or parts.shape[1] != num_edges:
        raise ChromaticError(f"partitions: expected shape (B, {num_edges}), found {parts.shape}")
    if parts.size and (parts.min() < 0 or parts.max() >= num_colors):
        raise ChromaticError(
            f"partitions: colors must lie in [0, {num_colors}), found [{parts.min()}, {parts.max()}]"
        )
    return parts.astype(np.int64)


def check_rewards(rewards: np.ndarray, batch: int) -> np.ndarray:
    """Rewards as a float64 vector of ``batch`` finite values (ChromaticError otherwise)."""
    rewards = np.asarray(rewards, np.float64).reshape(-1)
    if rewards.shape[0] != batch or not np.all(np.isfinite(rewards)):
        raise ChromaticError(f"rewards: expected {batch} finite values, found {rewards.shape[0]}")
    return rewards


def reinforce_step(ctrl, parts: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
    """One REINFORCE update (reward maximised) shared by every learning controller.

    ``ctrl`` has ``baseline`` (a name of :data:`BASELINES`), ``critic``, ``optimizer``, ``params``,
    ``update_steps``, ``num_edges`` and ``loss_and_grads(parts, advantages)``; ``parts`` and
    ``rewards`` are already checked. With ``update_steps > 1`` the optimizer takes that many steps on
    the same batch and advantages, each at the current parameters (importance ratios are not
    applied: the later steps are slightly off-policy; the benchmark found no gain, default 1).
    """
    before = ctrl.critic.value if ctrl.critic.initialized else float(rewards.mean())
    adv = advantages(rewards, ctrl.baseline, ctrl.critic)
    first = None
    for _ in range(max(1, int(ctrl.update_steps))):
        loss, grads, st = ctrl.loss_and_grads(parts, adv)
        ctrl.optimizer.step(ctrl.params, grads)
        first = first or (loss, grads, st)
    loss, grads, st = first
    return {
        "mean_reward": float(rewards.mean()),
        "baseline": before if ctrl.baseline == "ema" else float(rewards.mean()),
        "entropy": float(st["entropy"].mean() / ctrl.num_edges),
        "log_prob": float(st["log_prob"].mean()),
        "loss": loss,
        "grad_norm": grad_norm(grads),
    }
