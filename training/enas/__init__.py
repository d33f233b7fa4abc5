"""ENAS over edge partitions (paper §3): controllers that ``sample`` colorings and ``update`` by REINFORCE.

Every controller takes ``(num_edges, num_colors, seed=...)`` and offers
``sample(batch, rng) -> (parts (B, E) int64, info)``, ``update(parts, rewards) -> stats`` (rewards
maximised), ``state_dict()`` and ``load_state_dict(state)``. Edges are numbered layer by layer,
row-major over each (out, in) partition matrix (see :mod:`training.enas.edges`).
"""

from __future__ import annotations

from typing import Any

from chromatic.errors import ChromaticError
from chromatic.training.enas.ablations import FactorizedController, RandomController
from chromatic.training.enas.controller import EnasController

CONTROLLERS: dict[str, type] = {
    "enas": EnasController,
    "factorized": FactorizedController,
    "random": RandomController,
}


def make_controller(name: str, num_edges: int, num_colors: int, seed: int = 0, **options: Any) -> Any:
    """Build a controller by registry name; unknown names are a user error."""
    try:
        cls = CONTROLLERS[name]
    except KeyError:
        raise ChromaticError(f"controller: expected one of {sorted(CONTROLLERS)}, found {name!r}") from None
    return cls(num_edges, num_colors, seed=seed, **options)


__all__ = ["CONTROLLERS", "EnasController", "FactorizedController", "RandomController", "make_controller"]
