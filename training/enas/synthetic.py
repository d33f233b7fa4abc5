"""A synthetic partition-search task: does a controller learn from a scalar reward per partition?

A hidden target coloring of the edges; a partition's reward is ``scale x`` the share of edges it
colors like the target, plus a ``drift x update`` term that rises every update as ES raises the
returns under the controller during a real run (the same for every sample of a batch, so it only
hurts a baseline that lags it). Chance is 1/M of the edges, the optimum all of them; the *gap
closed* is ``(share - 1/M) / (1 - 1/M)``. No structure is shared between edges when the target is
uniformly random: a controller has to credit each edge's color from the batch's rewards alone.
Used by ``benchmarks/enas_synthetic.py`` and ``tests/test_enas_controller.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class HiddenTarget:
    """Reward = ``scale * share(parts == target) + drift * update`` (maximised)."""

    target: np.ndarray  # (E,) int64 colors
    num_colors: int
    scale: float = 1000.0
    drift: float = 5.0

    @staticmethod
    def random(num_edges: int, num_colors: int, rng: np.random.Generator, **kw: float) -> HiddenTarget:
        return HiddenTarget(rng.integers(0, num_colors, num_edges).astype(np.int64), num_colors, **kw)

    def share(self, parts: np.ndarray) -> np.ndarray:
        return (np.asarray(parts) == self.target).mean(axis=-1)

    def reward(self, parts: np.ndarray, update: int) -> np.ndarray:
        return self.scale * self.share(parts) + self.drift * update

    def gap_closed(self, share: np.ndarray | float) -> np.ndarray:
        chance = 1.0 / self.num_colors
        return (np.asarray(share) - chance) / (1.0 - chance)


@dataclass(frozen=True)
class Curve:
    share: np.ndarray  # (U,) mean matching share of each update's batch (before the update)
    greedy_share: float  # share of the controller's most likely partition after the last update
    entropy: np.ndarray  # (U,) mean entropy per decision (nats) reported by each update
    sample_s: np.ndarray  # (U,) CPU seconds per sample call (of this process: robust to a busy machine)
    update_s: np.ndarray  # (U,) CPU seconds per update call
    wall_s: np.ndarray  # (U,) wall seconds per sample + update


def run(controller, task: HiddenTarget, updates: int, batch: int, rng: np.random.Generator,
        start: int = 0) -> Curve:
    """``updates`` rounds of sample -> reward -> update (update indices from ``start``)."""
    share, ent, ts, tu, tw = (np.zeros(updates) for _ in range(5))
    for u in range(updates):
        w0, t0 = time.perf_counter(), time.process_time()
        parts, _ = controller.sample(batch, rng)
        t1 = time.process_time()
        stats = controller.update(parts, task.reward(parts, start + u))
        t2 = time.process_time()
        share[u], ent[u], ts[u], tu[u] = task.share(parts).mean(), stats["entropy"], t1 - t0, t2 - t1
        tw[u] = time.perf_counter() - w0
    greedy, _ = controller.sample(1, rng, greedy=True)
    return Curve(share, float(task.share(greedy)[0]), ent, ts, tu, tw)
