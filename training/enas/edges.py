"""Edge numbering shared by the controllers and the analysis: flat index <-> per-layer partitions.

Edges are numbered layer by layer, row-major over each ``(out, in)`` partition matrix, the layout
of :class:`compiler.ir.Layer.partition`; 17->41->6 gives 17*41 + 41*6 = 943 edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chromatic.errors import ChromaticError


def layer_shapes(layer_sizes: Sequence[int]) -> list[tuple[int, int]]:
    """(out, in) of each layer's partition matrix."""
    sizes = [int(s) for s in layer_sizes]
    return [(o, i) for i, o in zip(sizes[:-1], sizes[1:], strict=False)]


def num_edges(layer_sizes: Sequence[int]) -> int:
    return sum(o * i for o, i in layer_shapes(layer_sizes))


def flatten_partitions(parts: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """One flat int64 array of colors from per-layer matrices (a flat array passes through)."""
    if isinstance(parts, np.ndarray):
        return parts.reshape(-1).astype(np.int64)
    return np.concatenate([np.asarray(p).reshape(-1) for p in parts]).astype(np.int64)


def split_partitions(flat: np.ndarray, layer_sizes: Sequence[int]) -> list[np.ndarray]:
    """Per-layer (out, in) matrices from one flat coloring of ``num_edges(layer_sizes)`` edges."""
    flat = np.asarray(flat).reshape(-1)
    shapes = layer_shapes(layer_sizes)
    if flat.shape[0] != sum(o * i for o, i in shapes):
        raise ChromaticError(
            f"partition: expected {sum(o * i for o, i in shapes)} edges for layer sizes "
            f"{list(layer_sizes)}, found {flat.shape[0]}"
        )
    out, start = [], 0
    for o, i in shapes:
        out.append(flat[start : start + o * i].reshape(o, i).astype(np.int64))
        start += o * i
    return out
