"""Observation normalization as in ARS (paper B.2, ref. [7]): running mean and std of states.

Workers return the count, sum and sum of squares of the raw states they visited; the driver
merges them after each iteration, and the policy sees ``(obs - mean) / std`` with the
statistics frozen for the whole next iteration (so every perturbation of one iteration is
judged by the same filter, and results do not depend on which worker ran what).
Evaluation rollouts do not update them. Swimmer trains without normalization (B.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chromatic.arrays import readonly
from chromatic.compiler.ir import Normalization

#: A dimension with a smaller std (e.g. a constant observation) is left unscaled.
STD_FLOOR = 1e-6


@dataclass(frozen=True, eq=False)
class RunningStats:
    """Sufficient statistics of a set of observations; merging is exact addition."""

    count: int
    sum: np.ndarray
    sumsq: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", int(self.count))
        object.__setattr__(self, "sum", readonly(self.sum, np.float64))
        object.__setattr__(self, "sumsq", readonly(self.sumsq, np.float64))

    @staticmethod
    def zeros(dim: int) -> RunningStats:
        return RunningStats(0, np.zeros(dim), np.zeros(dim))

    @staticmethod
    def of(observations: np.ndarray) -> RunningStats:
        """Statistics of an (N, d) batch of observations."""
        x = np.asarray(observations, dtype=np.float64)
        return RunningStats(x.shape[0], x.sum(axis=0), np.square(x).sum(axis=0))

    def merge(self, other: RunningStats) -> RunningStats:
        return RunningStats(self.count + other.count, self.sum + other.sum, self.sumsq + other.sumsq)

    @property
    def mean(self) -> np.ndarray:
        return self.sum / max(self.count, 1)

    @property
    def std(self) -> np.ndarray:
        """Population std; dimensions with (near-)zero spread get 1 so they pass through."""
        if self.count < 2:
            return np.ones_like(self.sum)
        var = np.maximum(self.sumsq / self.count - np.square(self.mean), 0.0)
        std = np.sqrt(var)
        return np.where(std < STD_FLOOR, 1.0, std)

    def to_normalization(self) -> Normalization:
        """The filter the policy applies; identity until any state has been seen."""
        if self.count == 0:
            return Normalization.identity(self.sum.shape[0])
        return Normalization(self.mean, self.std)


def normalize_by_default(env_id: str) -> bool:
    """The paper normalizes states in every environment except Swimmer (B.2)."""
    return not env_id.split("/")[-1].lower().startswith("swimmer")
