"""Bit-pack color indices: b bits per edge, LSB-first in a little-endian byte stream.

Index k occupies stream bits [k*b, (k+1)*b); stream bit n is bit (n % 8) of byte n // 8,
and the lowest bit of the index comes first. With b = 8 or 16 this is exactly one byte
(or one little-endian u16) per index, so "byte packing" needs no second decoder.

Row-aligned packing (``--pack rows``) packs every row of ``n`` indices as its own stream,
padded with zero bits to whole bytes: row r starts at stream bit ``r * row_stride(n, b)``.
"""

from __future__ import annotations

import numpy as np


def packed_size(count: int, bits: int) -> int:
    """Bytes needed for ``count`` indices of ``bits`` bits."""
    return (count * bits + 7) // 8


def row_stride(n: int, bits: int) -> int:
    """Stream bits from one row's first index to the next's in a row-aligned dictionary."""
    return 8 * ((n * bits + 7) // 8)


def pack_rows(indices: np.ndarray, bits: int) -> bytes:
    """Pack each row of a 2-D index matrix as its own stream, padded to whole bytes."""
    idx = np.asarray(indices, dtype=np.uint64)
    rows, n = idx.shape
    if bits == 0 or idx.size == 0:
        return b""
    if int(idx.max()) >> bits:
        raise ValueError(f"index {int(idx.max())} does not fit in {bits} bits")
    shifts = np.arange(bits, dtype=np.uint64)
    stream = np.zeros((rows, row_stride(n, bits)), np.uint8)
    stream[:, : n * bits] = ((idx[:, :, None] >> shifts) & np.uint64(1)).reshape(rows, n * bits)
    return np.packbits(stream, axis=1, bitorder="little").tobytes()


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


def unpack_indices(data: bytes | memoryview, count: int, bits: int, row: int = 0) -> np.ndarray:
    """Inverse of pack_indices: the first ``count`` indices of ``bits`` bits (int64); with
    ``row`` = n > 0, of pack_rows (rows of n indices, each padded to whole bytes).

    Reads only the bytes that hold them, and allocates 8 bytes
    per index plus a bounded working set (indices are decoded in chunks), so a decoder's
    memory is a known multiple of the edge count (docs/blob-format.md, "Limits").
    """
    if bits == 0:
        return np.zeros(count, dtype=np.int64)
    stride = row_stride(row, bits) if row else 0
    nbytes = (count // row) * stride // 8 if row else packed_size(count, bits)
    raw = np.frombuffer(data, dtype=np.uint8, count=nbytes)
    if bits in (8, 16):  # whole bytes: a row-aligned stream is the plain one
        row = 0
    if bits == 8:
        return raw.astype(np.int64)
    if bits == 16:
        return raw.view("<u2").astype(np.int64)
    if bits > 16:  # not a blob width (the format stops at 16); the general path, plain streams
        stream = np.unpackbits(raw, bitorder="little")[: count * bits].reshape(count, bits)
        weights = np.left_shift(np.int64(1), np.arange(bits, dtype=np.int64))
        return stream.astype(np.int64) @ weights
    # b <= 16 and a start bit <= 7: every index lies within the 3 bytes from its first byte.
    padded = np.zeros(nbytes + 2, np.uint8)
    padded[:nbytes] = raw
    out = np.empty(count, dtype=np.int64)
    mask = np.uint32((1 << bits) - 1)
    for start in range(0, count, _CHUNK):
        k = np.arange(start, min(start + _CHUNK, count), dtype=np.int64)
        if row:  # row-aligned: row q's index r at q * stride + r * bits (in place: bounded memory)
            pos, r = np.divmod(k, row)
            pos *= stride
            r *= bits
            pos += r
        else:
            pos = k * bits
        byte = pos >> 3
        window = (padded[byte].astype(np.uint32) | (padded[byte + 1].astype(np.uint32) << 8)
                  | (padded[byte + 2].astype(np.uint32) << 16))
        out[start : start + pos.size] = (window >> (pos & 7).astype(np.uint32)) & mask
    return out


_CHUNK = 1 << 20  # indices decoded per step: bounds the working set to ~60 MB
