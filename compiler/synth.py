"""Random policies of every structure: for tests, demos and random initial partitions."""

from __future__ import annotations

from collections.abc import Sequence

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


def random_partitions(
    layer_sizes: Sequence[int], num_colors: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Uniform random colors per edge (the paper's random partitioning baseline, §4.3)."""
    return [
        rng.integers(0, num_colors, size=(out, inp))
        for inp, out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    ]


def random_policy(
    layer_sizes: Sequence[int],
    num_colors: int = 17,
    structure: Structure = Structure.CHROMATIC,
    seed: int | np.random.Generator = 0,
    output_activation: Activation = Activation.TANH,
    weight_scale: float = 0.5,
    hidden_activation: Activation = Activation.TANH,
) -> Policy:
    """A valid random policy; ``num_colors`` is ignored for implicit structures."""
    rng = np.random.default_rng(seed)
    sizes = tuple(int(s) for s in layer_sizes)
    structure = Structure(structure)
    if structure.implicit:
        num_colors = implicit_num_colors(structure, sizes)
        parts = canonical_partitions(structure, sizes)
        # Implicit structures may use any bijective labeling; shuffle to exercise canonicalize.
        perm = rng.permutation(num_colors)
        parts = [perm[p] for p in parts]
    else:
        parts = random_partitions(sizes, num_colors, rng)
    palette = rng.normal(0.0, weight_scale, size=num_colors)
    if structure == Structure.MASKED:
        palette[0] = 0.0
    layers = tuple(Layer(p, rng.normal(0.0, 0.1, size=int(p.shape[0]))) for p in parts)
    norm = Normalization(rng.normal(0.0, 1.0, size=sizes[0]), rng.uniform(0.5, 2.0, size=sizes[0]))
    return Policy(
        layers=layers,
        palette=palette,
        normalization=norm,
        structure=structure,
        hidden_activation=hidden_activation,
        output_activation=output_activation,
    ).validate()
