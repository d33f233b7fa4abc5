"""Bit-pack color indices: b bits per edge, LSB-first in a little-endian byte stream.

Index k occupies stream bits [k*b, (k+1)*b); stream bit n is bit (n % 8) of byte n // 8,
and the lowest bit of the index comes first. With b = 8 or 16 this is exactly one byte
(or one little-endian u16) per index, so "byte packing" needs no second decoder.
"""

from __future__ import annotations

import numpy as np


def packed_size(count: int, bits: int) -> int:
    """Bytes needed for ``count`` indices of ``bits`` bits."""
    return (count * bits + 7) // 8


def pack_indices(indices: np.ndarray, bits: int) -> bytes:
    """Pack non-negative integers < 2**bits into ceil(len*bits/8) bytes."""
    idx = np.asarray(indices, dtype=np.uint64).ravel()
    if bits == 0 or idx.size == 0:
        return b""
    if int(idx.max()) >> bits:
        raise ValueError(f"index {int(idx.max())} does not fit in {bits} bits")
    # (count, bits) matrix of bits, LSB first, flattened in stream order.
    shifts = np.arange(bits, dtype=np.uint64)
    stream = ((idx[:, None] >> shifts) & np.uint64(1)).astype(np.uint8).ravel()
    return np.packbits(stream, bitorder="little").tobytes()


def unpack_indices(data: bytes | memoryview, count: int, bits: int) -> np.ndarray:
    """Inverse of pack_indices: the first ``count`` indices of ``bits`` bits (int64)."""
    if bits == 0:
        return np.zeros(count, dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8, count=packed_size(count, bits))
    stream = np.unpackbits(raw, bitorder="little")[: count * bits].reshape(count, bits)
    weights = np.left_shift(np.int64(1), np.arange(bits, dtype=np.int64))
    return stream.astype(np.int64) @ weights
