"""REINFORCE pieces shared by the controllers: softmax math, the EMA critic, Adam (paper App. B.1).

The controllers minimise the surrogate loss of REINFORCE with a baseline and an entropy bonus,

    L = -1/B sum_b [(R_b - baseline) * sum_t log pi(a_bt) + beta * sum_t H_t(b)],

where ``baseline`` is an exponential moving average of past rewards (the "critic", decay 0.99)
and ``H_t`` the entropy of the softmax at decision ``t``. Rewards are maximised.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from chromatic.errors import ChromaticError


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
    """Adam (Kingma & Ba) over a dict of parameter arrays, updated in place."""

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
        self.step_count += 1
        b1, b2 = self.betas
        c1 = 1.0 - b1**self.step_count
        c2 = 1.0 - b2**self.step_count
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            params[k] -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

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
    """One REINFORCE step (reward maximised) shared by every learning controller.

    ``ctrl`` has ``critic``, ``optimizer``, ``params``, ``num_edges`` and
    ``loss_and_grads(parts, advantages)``; ``parts`` and ``rewards`` are already checked.
    """
    baseline = ctrl.critic.value if ctrl.critic.initialized else float(rewards.mean())
    loss, grads, st = ctrl.loss_and_grads(parts, ctrl.critic.advantages(rewards))
    ctrl.optimizer.step(ctrl.params, grads)
    return {
        "mean_reward": float(rewards.mean()),
        "baseline": baseline,
        "entropy": float(st["entropy"].mean() / ctrl.num_edges),
        "log_prob": float(st["log_prob"].mean()),
        "loss": loss,
        "grad_norm": grad_norm(grads),
    }
