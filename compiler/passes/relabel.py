"""Relabel: drop the colors no edge uses and renumber the rest densely (lossless).

A partition that uses only k of its M colors (a learned partition often does) then compiles to
a k-entry palette and ceil(log2 k)-bit indices: the accounting of ``training.alternating.
partition_bits`` and the paper's Table 2 with M = k. The used colors keep their relative
order and every edge keeps its value, so the dense weight matrices -- and the numpy
reference's outputs -- are bit-identical. Masked policies keep color 0 (the pruned class,
whose weight is exactly 0) even when no edge uses it; implicit structures use every color by
construction and pass through unchanged.
"""

from __future__ import annotations

import numpy as np

from chromatic.compiler.ir import Layer, Policy, Structure


def used_colors(policy: Policy) -> np.ndarray:
    """(M,) bool: the colors some edge uses (and color 0 of a masked policy)."""
    used = np.zeros(policy.num_colors, dtype=bool)
    for layer in policy.layers:
        used[layer.partition.ravel()] = True
    if policy.structure == Structure.MASKED:
        used[0] = True
    return used


def relabel(policy: Policy) -> Policy:
    """The same policy over only its used colors, numbered 0 .. k-1 in their old order."""
    if policy.structure.implicit:
        return policy
    used = used_colors(policy)
    if used.all():
        return policy
    new_color = np.cumsum(used) - 1  # old color -> new color (meaningful where used)
    layers = tuple(Layer(new_color[layer.partition], layer.bias) for layer in policy.layers)
    return policy.replace(layers=layers, palette=policy.palette[used])
