"""Where each perturbation's partition comes from: the hook for the ENAS controller (§3, eq. (2)).

A controller has ``sample(batch, rng) -> (B, E) int`` partitions (all layers' colors,
flattened as :meth:`PolicySpec.flat_partition`) and ``update(partitions, rewards)``. The driver
asks it for one partition per perturbation every iteration, so each perturbation can be judged
under its own partition; ``fixed`` (the default) always returns the run's one partition.
Other controllers register themselves in :data:`CONTROLLERS` (``training/enas``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from compiler.errors import ChromaticError
from training.policy_params import PolicySpec


class Controller(Protocol):
    def sample(self, batch: int, rng: np.random.Generator) -> np.ndarray: ...

    def update(self, partitions: np.ndarray, rewards: np.ndarray) -> None: ...


class FixedController:
    """The run's fixed partition for every perturbation (random, from a file, or canonical)."""

    fixed = True

    def __init__(self, spec: PolicySpec) -> None:
        self.partition = spec.flat_partition()

    def sample(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        return np.broadcast_to(self.partition, (batch, self.partition.size))

    def update(self, partitions: np.ndarray, rewards: np.ndarray) -> None:
        """A fixed partition learns nothing."""


#: name -> factory(spec, seed). ``sample`` may also return ``(partitions, info)`` as the ENAS
#: controllers do; controllers with state to checkpoint define ``state_dict() -> dict[str,
#: np.ndarray]`` and ``load_state_dict(dict)``, saved in every checkpoint.
CONTROLLERS: dict[str, Callable[[PolicySpec, int], Controller]] = {
    "fixed": lambda spec, seed: FixedController(spec),
}


def make_controller(name: str, spec: PolicySpec, seed: int) -> Controller:
    if name not in CONTROLLERS:
        raise ChromaticError(f"unknown controller {name!r}; available: {', '.join(CONTROLLERS)}")
    return CONTROLLERS[name](spec, seed)
