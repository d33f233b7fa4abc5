"""Canonicalize: one representation per policy, so equal policies give equal blobs.

- a std of 0 becomes 1 (the format says a std of 0 counts as 1);
- implicit structures (toeplitz, circulant, dense) are relabeled to their canonical
  coloring (compiler.ir.canonical_partitions), permuting the palette to match, so the
  blob can omit the dictionary.
"""

from __future__ import annotations

import numpy as np

from chromatic.compiler.ir import Layer, Normalization, Policy, canonical_partitions


def canonicalize(policy: Policy) -> Policy:
    std = np.where(policy.normalization.std == 0.0, 1.0, policy.normalization.std)
    policy = policy.replace(normalization=Normalization(policy.normalization.mean, std))
    if not policy.structure.implicit:
        return policy
    canon = canonical_partitions(policy.structure, policy.layer_sizes)
    palette = np.empty(policy.num_colors)
    for layer, c in zip(policy.layers, canon, strict=True):
        palette[c.ravel()] = policy.palette[layer.partition.ravel()]
    layers = tuple(Layer(c, layer.bias) for layer, c in zip(policy.layers, canon, strict=True))
    return policy.replace(layers=layers, palette=palette)
