"""Where each perturbation's partition comes from: the hook for the ENAS controller (§3, eq. (2)).

A controller has ``sample(batch, rng) -> (B, E) int`` partitions (all layers' colors,
flattened as :meth:`PolicySpec.flat_partition`) and ``update(partitions, rewards)``. The driver
asks it for one partition per perturbation every iteration, so each perturbation can be judged
under its own partition; ``fixed`` (the default) always returns the run's one partition.
The learning controllers live in ``training/enas`` (``enas``: the pointer-network LSTM with
per-edge logits, ``factorized``: an independent softmax per edge, ``random``: uniform colors);
``enas`` and ``factorized`` start concentrated on the run's initial partition (local edits of a few
percent of its edges, ``concentration``) and move from there. ``population``
is the Fig. 4 baseline of a fixed random population of partitions; all but ``fixed`` run the
alternating optimization of :mod:`training.alternating`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from chromatic.compiler.ir import Structure
from chromatic.errors import ChromaticError
from chromatic.training.policy_params import PolicySpec


class Controller(Protocol):
    def sample(self, batch: int, rng: np.random.Generator) -> np.ndarray: ...

    def update(self, partitions: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        """Learn from rewarded partitions; returns statistics (``mean_reward``, ``entropy``, or none)."""
        ...


class FixedController:
    """The run's fixed partition for every perturbation (random, from a file, or canonical)."""

    fixed = True

    def __init__(self, spec: PolicySpec) -> None:
        self.partition = spec.flat_partition()

    def sample(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        return np.broadcast_to(self.partition, (batch, self.partition.size))

    def update(self, partitions: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        """A fixed partition learns nothing (and has no statistics to report)."""
        return {}


class PopulationController:
    """A fixed random population of partitions (Fig. 4's baseline): the same ones every phase.

    Perturbation k always gets population member k; nothing is learned, but the replay buffer
    and the final selection still pick the best member.
    """

    def __init__(self, spec: PolicySpec, seed: int) -> None:
        self.num_edges, self.num_colors, self.seed = spec.num_edges, spec.num_colors, seed

    def sample(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        own = np.random.default_rng([self.seed, 5])  # independent of the iteration stream
        return own.integers(0, self.num_colors, size=(batch, self.num_edges), dtype=np.int64)

    def update(self, partitions: np.ndarray, rewards: np.ndarray) -> dict[str, float]:
        return {"mean_reward": float(np.mean(rewards)), "entropy": float(np.log(self.num_colors))}


def _seed(seed: int) -> int:
    """The controller's own initialization seed, derived from the run's seed."""
    return int(np.random.SeedSequence([seed, 4]).generate_state(1)[0])


def _enas(name: str) -> Callable[..., Controller]:
    def factory(spec: PolicySpec, seed: int, **options: float | None) -> Controller:
        """Options that are None take the controller's default. A learning controller starts
        concentrated on the run's initial partition (``concentration`` > 0, default
        :data:`DEFAULTS` ["concentration"]) and samples local edits of it; ``concentration`` 0
        starts from the uniform distribution (the paper's controller)."""
        from chromatic.training.enas import make_controller as make_enas
        from chromatic.training.enas.optim import DEFAULTS

        opts = {k: v for k, v in options.items() if v is not None}
        if name != "random":
            conc = opts.pop("concentration", DEFAULTS["concentration"])
            if conc:
                opts.update(init_partition=spec.flat_partition(), concentration=conc)
        else:
            opts.pop("concentration", None)
        return make_enas(name, spec.num_edges, spec.num_colors, seed=_seed(seed), **opts)

    return factory


#: name -> factory(spec, seed). ``sample`` may also return ``(partitions, info)`` as the ENAS
#: controllers do; controllers with state to checkpoint define ``state_dict() -> dict[str,
#: np.ndarray]`` and ``load_state_dict(dict)``, saved in every checkpoint.
CONTROLLERS: dict[str, Callable[[PolicySpec, int], Controller]] = {
    "fixed": lambda spec, seed, **_: FixedController(spec),
    "population": lambda spec, seed, **_: PopulationController(spec, seed),
    "enas": _enas("enas"),
    "factorized": _enas("factorized"),
    "random": _enas("random"),
}


#: How each controller's partitions are used (``--nas-search``'s default): the learning controllers
#: propose challengers to the incumbent partition that ES trains; the Fig. 4 baselines keep the
#: paper's population, every perturbation trained under its own partition (docs/enas.md).
SEARCH_DEFAULTS = {"enas": "incumbent", "factorized": "incumbent"}


def default_search(name: str) -> str:
    return SEARCH_DEFAULTS.get(name, "population")


def make_controller(name: str, spec: PolicySpec, seed: int, **options: float | None) -> Controller:
    """``options`` (learning_rate, entropy_weight, concentration, ...; None: the default) go to the
    learning controllers."""
    if name not in CONTROLLERS:
        raise ChromaticError(f"unknown controller {name!r}; available: {', '.join(CONTROLLERS)}")
    if name != "fixed" and spec.structure != Structure.CHROMATIC:
        raise ChromaticError(f"--controller {name} learns partitions: it needs --structure chromatic")
    return CONTROLLERS[name](spec, seed, **options)
