"""Ablation controllers with the ENAS controller's API (paper §4.3, Fig. 4).

- :class:`FactorizedController`: an independent softmax per edge (no LSTM, no attention), trained
  with the same REINFORCE recipe as the ENAS controller's per-edge logits (batch baseline, entropy
  bonus, plain gradient steps): what does the pointer network add to the per-edge table?
- :class:`RandomController`: uniform colors and a no-op update, the paper's "random NAS
  controller" baseline.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from chromatic.errors import ChromaticError
from chromatic.training.enas.optim import (
    DEFAULTS,
    Adam,
    EmaCritic,
    Optimizers,
    Sgd,
    anchor_logits,
    check_baseline,
    check_parts,
    check_rewards,
    check_sizes,
    dloss_dlogits,
    entropy,
    recenter,
    reinforce_step,
    softmax,
)


def _check_checkpoint(state: Mapping[str, np.ndarray], num_edges: int, num_colors: int) -> None:
    shape = tuple(np.asarray(state.get("config/shape", ())).tolist())
    if shape != (num_edges, num_colors):
        raise ChromaticError(
            f"controller checkpoint: expected (edges, colors) = {(num_edges, num_colors)}, found {shape}"
        )


class FactorizedController:
    """``pi(Phi) = prod_e softmax(z_e / temperature)[Phi(e)]`` with free logits ``z`` (E, M)."""

    name = "factorized"

    def __init__(
        self,
        num_edges: int,
        num_colors: int,
        seed: int = 0,
        entropy_weight: float = DEFAULTS["entropy_weight"],
        baseline: str = DEFAULTS["baseline"],
        edge_learning_rate: float = DEFAULTS["edge_learning_rate"],
        learning_rate: float | None = None,
        init_partition: np.ndarray | None = None,
        concentration: float = DEFAULTS["concentration"],
        update_steps: int = 1,
        critic_decay: float = 0.99,
        temperature: float = 1.0,
        init_scale: float = 0.1,
    ) -> None:
        """Plain gradient steps at ``edge_learning_rate`` on the logits, or Adam at
        ``learning_rate`` if that is given (the paper recipe's optimizer); the other options are
        the ENAS controller's."""
        check_sizes(num_edges, num_colors)
        self.num_edges, self.num_colors = int(num_edges), int(num_colors)
        self.entropy_weight, self.temperature = float(entropy_weight), float(temperature)
        self.baseline, self.update_steps = check_baseline(baseline), int(update_steps)
        rng = np.random.default_rng(seed)
        logits = rng.uniform(-init_scale, init_scale, (self.num_edges, self.num_colors))
        self.concentration = concentration if init_partition is not None else None
        if init_partition is not None:
            logits = logits + anchor_logits(init_partition, self.num_edges, self.num_colors, concentration)
        self.params = {"logits": logits}
        self.optimizer = Optimizers(
            sgd=Sgd(self.params, lr=edge_learning_rate)
        ) if learning_rate is None else Optimizers(adam=Adam(self.params, lr=learning_rate))
        self.critic = EmaCritic(critic_decay)

    def recenter(self, old: np.ndarray, new: np.ndarray) -> None:
        """Samples become local edits of ``new`` instead of ``old`` (:func:`optim.recenter`)."""
        recenter(self.params["logits"], old, new, self.concentration)

    def sample(
        self, batch: int, rng: np.random.Generator, greedy: bool = False
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        p, lp = softmax(self.params["logits"], self.temperature)
        if greedy:
            parts = np.broadcast_to(p.argmax(axis=1), (int(batch), self.num_edges)).copy()
        else:
            u = rng.random((int(batch), self.num_edges, 1))
            parts = np.minimum((p.cumsum(axis=1)[None] < u).sum(axis=2), self.num_colors - 1)
        logp = lp[np.arange(self.num_edges), parts].sum(axis=1)
        ent = np.full(int(batch), entropy(p, lp).sum())
        return parts.astype(np.int64), {"log_prob": logp, "entropy": ent}

    def loss_and_grads(
        self, parts: np.ndarray, advantages: np.ndarray, params: Mapping[str, np.ndarray] | None = None
    ) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Same surrogate loss as :meth:`EnasController.loss_and_grads`."""
        z = (self.params if params is None else params)["logits"]
        parts = check_parts(parts, self.num_edges, self.num_colors)
        adv = np.asarray(advantages, np.float64)
        B = parts.shape[0]
        p, lp = softmax(z, self.temperature)
        logp = lp[np.arange(self.num_edges), parts].sum(axis=1)
        ent = entropy(p, lp).sum()
        loss = float(-(adv * logp).mean() - self.entropy_weight * ent)
        pb = np.broadcast_to(p, (B,) + p.shape)
        lpb = np.broadcast_to(lp, (B,) + lp.shape)
        g = dloss_dlogits(pb, lpb, parts, adv[:, None] / B, self.entropy_weight / B, self.temperature).sum(
            axis=0
        )
        return loss, {"logits": g}, {"log_prob": logp, "entropy": np.full(B, ent)}

    def update(self, parts: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        parts = check_parts(parts, self.num_edges, self.num_colors)
        return reinforce_step(self, parts, check_rewards(rewards, parts.shape[0]))

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {
            "params/logits": self.params["logits"].copy(),
            "config/shape": np.array(self.params["logits"].shape),
        }
        out.update(self.optimizer.state_dict())
        out.update(self.critic.state_dict())
        return out

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        _check_checkpoint(state, self.num_edges, self.num_colors)
        self.params["logits"] = np.array(state["params/logits"], np.float64)
        self.optimizer.load_state_dict(state)
        self.critic.load_state_dict(state)


class RandomController:
    """Uniformly random partitions; ``update`` learns nothing (the paper's random controller)."""

    name = "random"

    def __init__(self, num_edges: int, num_colors: int, seed: int = 0, **_: object) -> None:
        check_sizes(num_edges, num_colors)
        self.num_edges, self.num_colors = int(num_edges), int(num_colors)

    def sample(
        self, batch: int, rng: np.random.Generator, greedy: bool = False
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        parts = rng.integers(0, self.num_colors, size=(int(batch), self.num_edges))
        logm = float(np.log(self.num_colors))
        return parts, {
            "log_prob": np.full(int(batch), -self.num_edges * logm),
            "entropy": np.full(int(batch), self.num_edges * logm),
        }

    def update(self, parts: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        parts = check_parts(parts, self.num_edges, self.num_colors)
        rewards = check_rewards(rewards, parts.shape[0])
        logm = float(np.log(self.num_colors))
        return {
            "mean_reward": float(rewards.mean()),
            "baseline": float(rewards.mean()),
            "entropy": logm,
            "log_prob": -self.num_edges * logm,
            "loss": 0.0,
            "grad_norm": 0.0,
        }

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"config/shape": np.array([self.num_edges, self.num_colors])}

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        _check_checkpoint(state, self.num_edges, self.num_colors)
