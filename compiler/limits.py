"""The blob format's size limits, in one place (docs/blob-format.md, "Limits").

The decoder and every kernel refuse a blob past these limits, so anything that *chooses* sizes
checks them first with :func:`check_sizes`: ``compile`` before it writes a blob, and ``train``
at argument time (hidden widths, colors) and again once the environment fixes the input and
output sizes -- never after hours of training.
"""

from __future__ import annotations

from collections.abc import Sequence

from chromatic.errors import ChromaticError

MAX_LAYERS = 64  # the header's L: 1 ... 64
MAX_WIDTH = 65535  # a layer size is a u16
MAX_INDEX_BITS = 16  # so stored partitions hold at most 2^16 colors
MAX_STORED_COLORS = 1 << MAX_INDEX_BITS
MAX_COLORS = (1 << 32) - 1  # the header's M is a u32 (implicit structures: M = their class count)
MAX_EDGES = 1 << 24  # sum of d_l * d_{l+1}: bounds a decoder's memory (docs/blob-format.md)

# What a policy file (.npz) may hold, derived from the limits above so that every legal policy
# fits: its largest array is the palette of a dense policy (M = MAX_EDGES colors) or the
# partitions (MAX_EDGES colors in all), at 8 bytes a value (float64 / int64) -- 128 MiB. Both at
# that size plus the biases and normalization (at most (MAX_LAYERS + 2) * MAX_WIDTH float64s,
# 33 MiB) and the metadata stay under 4 such arrays. The readers (compiler/npfile.py) refuse a
# member that would decode to more, or an archive whose members would together, from the sizes
# its zip directory declares -- before decompressing anything (a zip bomb never gets to run).
MAX_ARRAY_BYTES = 8 * MAX_EDGES  # one array of a .npz file, decoded: 128 MiB
MAX_NPZ_BYTES = 4 * MAX_ARRAY_BYTES  # all arrays of a .npz file, decoded: 512 MiB (and the file itself)
MAX_NPZ_MEMBERS = 4096  # a policy has 7 + 2 L arrays (L <= 64) and a few metadata scalars

#: Structures whose partition is stored in the blob (the others are implicit: b = 0).
STORED = ("chromatic", "masked")


def check_sizes(layer_sizes: Sequence[int] | None = None, num_colors: int | None = None,
                structure: str = "chromatic", what: str = "policy") -> None:
    """Raise ChromaticError (one line naming the field) if a blob of these sizes could not be
    loaded. Any argument may be None when it is not known yet (e.g. the environment's sizes
    before it is made)."""
    if layer_sizes is not None:
        sizes = [int(s) for s in layer_sizes]
        if len(sizes) < 2:
            raise ChromaticError(f"{what}: needs an input and an output size, found {sizes}")
        if len(sizes) - 1 > MAX_LAYERS:
            raise ChromaticError(f"{what}: {len(sizes) - 1} layers; the blob format allows {MAX_LAYERS}")
        for k, s in enumerate(sizes):
            if not 1 <= s <= MAX_WIDTH:
                raise ChromaticError(f"{what}: layer size {k} is {s}; "
                                     f"the blob format allows 1 to {MAX_WIDTH}")
        edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        if edges > MAX_EDGES:
            raise ChromaticError(f"{what}: {edges:,} edges; the blob format allows {MAX_EDGES:,} (2^24)")
    if num_colors is not None:
        m = int(num_colors)
        if structure in STORED and not 1 <= m <= MAX_STORED_COLORS:
            raise ChromaticError(f"{what}: {m} colors; a stored partition allows 1 to {MAX_STORED_COLORS:,} "
                                 f"({MAX_INDEX_BITS}-bit indices)")
        if not 1 <= m <= MAX_COLORS:
            raise ChromaticError(f"{what}: {m} colors; the blob format allows 1 to {MAX_COLORS:,}")


def check_width(value: str) -> int:
    """argparse ``type=`` for a layer width: an integer in [1, MAX_WIDTH]."""
    return _int_in(value, 1, MAX_WIDTH, "a layer width")


def check_colors(value: str) -> int:
    """argparse ``type=`` for a palette size M: an integer in [1, 2^16] (stored partitions)."""
    return _int_in(value, 1, MAX_STORED_COLORS, "the number of colors")


def _int_in(value: str, lo: int, hi: int, what: str) -> int:
    import argparse

    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be an integer, got {value!r}") from None
    if not lo <= v <= hi:
        raise argparse.ArgumentTypeError(f"{what} must be in [{lo}, {hi:,}] "
                                         f"(the blob format's limit), got {v}")
    return v
