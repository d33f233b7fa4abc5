"""The Numba runtime: the C kernel's algorithm (targets/c/chromatic.c) jitted over the blob's bytes.

The packed color indices are read in place from the blob (a uint8 array, LSB-first bit
stream, compiler/passes/pack.py); only the values (palette, biases, normalization) are
widened once to float32, which is exact for both f32 and f16 blobs. Each layer runs the
direct gather (k = 0), mailman with k = 1, or Liberty & Zucker k-row blocks (paper §4.2),
as picked by the same cost model as the C kernel (:func:`choose_block_rows`).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from chromatic.compiler.blob import blob_bytes, decode, row_bits
from chromatic.compiler.ir import Activation, Structure
from chromatic.errors import ChromaticError
from chromatic.runtime import check_obs
from chromatic.runtime.reference import OBS_LIMIT

ACT_TANH, ACT_RELU = int(Activation.TANH), int(Activation.RELU)  # compile-time constants in the jit

# Mirrors CHROMATIC_COST_* and CHROMATIC_MAX_* in targets/c/chromatic.{c,h}.
COST_DECODE, COST_DIRECT, COST_BUCKET, COST_MUL = 3, 2, 5, 2
MAX_BLOCK_ROWS, MAX_BUCKETS = 8, 4096


def block_cost(num_colors: int, n: int, k: int) -> int | None:
    """Cost of one k-row block (None if M^k exceeds MAX_BUCKETS); see chromatic.c."""
    mk = num_colors**k
    if mk > MAX_BUCKETS:
        return None
    return mk + (2 * mk if k > 1 else 0) + n * (k * COST_DECODE + COST_BUCKET) + k * num_colors * COST_MUL


def choose_block_rows(num_colors: int, out: int, n: int) -> int:
    """Rows per block for a layer, 0 = direct gather (chromatic_choose_block_rows in C)."""
    best, best_div, best_k = n * (COST_DECODE + COST_DIRECT), 1, 0
    for k in range(1, min(MAX_BLOCK_ROWS, out) + 1):
        c = block_cost(num_colors, n, k)
        if c is None:
            break
        if c * best_div < best * k:
            best, best_div, best_k = c, k, k
    return best_k


@njit(cache=True, inline="always", error_model="numpy")
def _index(blob, dict_off, bits, pos):  # type: ignore[no-untyped-def]
    """The color index at stream bit pos, LSB first."""
    p = dict_off + (pos >> 3)
    shift = pos & 7
    acc = 0
    got = 0
    while got < bits + shift:
        acc |= np.int64(blob[p]) << got
        p += 1
        got += 8
    return (acc >> shift) & ((1 << bits) - 1)


@njit(cache=True, error_model="numpy")
def _layer(blob, dict_off, bits, M, structure, n, out, b0, rb, c0, k, pal, bias, x, y, s):  # type: ignore[no-untyped-def]
    if structure >= 2:  # implicit: toeplitz, circulant, dense (compiler/ir.py formulas)
        wrap = max(out, n)
        for i in range(out):
            acc = np.float32(0.0)
            for j in range(n):
                if structure == 4:
                    c = i * n + j
                elif structure == 2:
                    c = i - j + n - 1
                else:
                    c = i - j if j <= i else i - j + wrap
                acc += pal[c0 + c] * x[j]
            y[i] = acc + bias[i]
        return
    if k == 0:  # direct gather, reading the bit stream with a running buffer
        for i in range(out):
            acc = np.float32(0.0)
            if bits == 0:
                for j in range(n):
                    acc += pal[0] * x[j]
            elif bits == 8:  # byte indices: one load per index
                base = dict_off + ((b0 + i * rb) >> 3)
                for j in range(n):
                    acc += pal[blob[base + j]] * x[j]
            else:
                pos = b0 + i * rb  # the row's first index: rb bits from the last row's
                p = dict_off + (pos >> 3)
                buf = np.int64(blob[p]) >> (pos & 7)
                nb = 8 - (pos & 7)
                p += 1
                mask = (1 << bits) - 1
                for j in range(n):
                    while nb < bits:
                        buf |= np.int64(blob[p]) << nb
                        p += 1
                        nb += 8
                    acc += pal[buf & mask] * x[j]
                    buf >>= bits
                    nb -= bits
            y[i] = acc + bias[i]
        return
    # Mailman blocks of k rows: bucket by the k-color pattern, then fold digit by digit.
    for i0 in range(0, out, k):
        kk = min(k, out - i0)
        nbk = M**kk
        for t in range(nbk):
            s[t] = 0.0
        for j in range(n):
            p = 0
            if bits != 0:
                for r in range(kk - 1, -1, -1):
                    p = p * M + _index(blob, dict_off, bits, b0 + (i0 + r) * rb + j * bits)
            s[p] += x[j]
        h = nbk // M
        for r in range(kk - 1, -1, -1):
            acc = np.float32(0.0)
            for c in range(M):
                tot = np.float32(0.0)
                for t in range(h):
                    tot += s[c * h + t]
                acc += pal[c] * tot
            y[i0 + r] = acc + bias[i0 + r]
            if r == 0:
                break
            for c in range(1, M):
                for t in range(h):
                    s[t] += s[c * h + t]
            h //= M


@njit(cache=True, error_model="numpy")
def _forward(blob, dict_off, bits, M, structure, sizes, bit_offs, row_strides, color_offs, ks, acts,
             pal, biases, bias_offs, mean, std, obs, act, scratch):  # type: ignore[no-untyped-def]
    width = sizes.max()
    a = scratch[:width]
    b = scratch[width:2 * width]
    s = scratch[2 * width:]
    d0 = sizes[0]
    for j in range(d0):  # the bad-observation rule: NaN -> 0, clamp (runtime/reference.py)
        v = (obs[j] - mean[j]) / std[j]
        if v > OBS_LIMIT:
            v = OBS_LIMIT
        elif v < -OBS_LIMIT:
            v = -OBS_LIMIT
        elif v != v:
            v = 0.0
        a[j] = v
    x = a
    L = sizes.shape[0] - 1
    for l in range(L):
        n, out = sizes[l], sizes[l + 1]
        y = act if l == L - 1 else (b if l % 2 == 0 else a)
        _layer(blob, dict_off, bits, M, structure, n, out, bit_offs[l], row_strides[l], color_offs[l], ks[l],
               pal, biases[bias_offs[l]:bias_offs[l] + out], x[:n], y, s)
        if acts[l] == ACT_TANH:
            for i in range(out):
                y[i] = np.tanh(y[i])
        elif acts[l] == ACT_RELU:
            for i in range(out):
                if not y[i] > 0.0:  # max(0, y) as chromatic_relu: -0 becomes +0
                    y[i] = 0.0
        x = y


@njit(cache=True, error_model="numpy")
def _batch(blob, dict_off, bits, M, structure, sizes, bit_offs, row_strides, color_offs, ks, acts,
           pal, biases, bias_offs, mean, std, obs, act, scratch):  # type: ignore[no-untyped-def]
    for r in range(obs.shape[0]):
        _forward(blob, dict_off, bits, M, structure, sizes, bit_offs, row_strides, color_offs, ks, acts,
                 pal, biases, bias_offs, mean, std, obs[r], act[r], scratch)


@njit(cache=True, error_model="numpy")
def _bench(reps, blob, dict_off, bits, M, structure, sizes, bit_offs, row_strides, color_offs, ks, acts,
           pal, biases, bias_offs, mean, std, obs, act, scratch):  # type: ignore[no-untyped-def]
    for _ in range(reps):
        _forward(blob, dict_off, bits, M, structure, sizes, bit_offs, row_strides, color_offs, ks, acts,
                 pal, biases, bias_offs, mean, std, obs, act, scratch)


class NumbaRunner:
    """A blob run by the jitted kernel (not thread-safe: one scratch buffer)."""

    def __init__(self, blob: bytes) -> None:
        blob = blob_bytes(blob)
        b = decode(blob)  # the acceptance rule of chromatic_init (docs/blob-format.md)
        p = self.policy = b.policy
        sizes = np.asarray(p.layer_sizes, np.int64)
        self.layer_sizes = p.layer_sizes
        L = len(p.layers)
        rows = np.asarray(row_bits(p.layer_sizes, b.index_bits, b.pack), np.int64)
        if p.structure.implicit:
            from chromatic.compiler.ir import structure_colors_per_layer

            per = [structure_colors_per_layer(p.structure, int(o), int(i))
                   for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
        else:
            per = [0] * L
        self._blob = np.frombuffer(blob, np.uint8)
        self._bits = b.index_bits
        self._ks = np.asarray([0 if p.structure.implicit else
                               choose_block_rows(p.num_colors, int(o), int(i))
                               for i, o in zip(sizes[:-1], sizes[1:], strict=True)], np.int64)
        bias_offs = np.concatenate([[0], np.cumsum(sizes[1:])]).astype(np.int64)
        self._static = (
            self._blob, b.layout.offsets()["dictionary"], self._bits, p.num_colors, int(p.structure),
            sizes, np.concatenate([[0], np.cumsum(rows * sizes[1:])[:-1]]).astype(np.int64), rows,
            np.concatenate([[0], np.cumsum(per)[:-1]]).astype(np.int64),
        )
        self._values = (
            np.asarray([int(p.activation(l)) for l in range(L)], np.int64),
            p.palette.astype(np.float32),
            np.concatenate([layer.bias for layer in p.layers]).astype(np.float32),
            bias_offs,
            p.normalization.mean.astype(np.float32),
            p.normalization.std.astype(np.float32),
        )
        self._alloc_scratch()

    @property
    def block_rows(self) -> tuple[int, ...]:
        return tuple(int(k) for k in self._ks)

    def set_block_rows(self, layer: int, k: int) -> None:
        """Override the cost model for one layer (tests: every k gives the same outputs)."""
        implicit = Structure(self._static[4]).implicit
        if not 0 <= layer < len(self._ks) or not 0 <= k <= MAX_BLOCK_ROWS or (k and implicit) \
                or (k and block_cost(self._static[3], 1, k) is None):
            raise ChromaticError(f"block rows {k} for layer {layer}: out of range")
        self._ks = self._ks.copy()
        self._ks[layer] = k
        self._alloc_scratch()

    def _alloc_scratch(self) -> None:
        m = self._static[3]
        buckets = max([m**int(k) if k else 0 for k in self._ks] + [0])
        self._scratch = np.zeros(2 * max(self.layer_sizes) + buckets, np.float32)

    def _args(self) -> tuple:
        return (*self._static, self._ks, *self._values)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = check_obs(obs, self.layer_sizes[0], False)
        out = np.empty(self.layer_sizes[-1], np.float32)
        _forward(*self._args(), obs, out, self._scratch)  # type: ignore[call-arg]
        return out

    def batch(self, obs: np.ndarray) -> np.ndarray:
        obs = check_obs(obs, self.layer_sizes[0], True)
        out = np.empty((obs.shape[0], self.layer_sizes[-1]), np.float32)
        _batch(*self._args(), obs, out, self._scratch)  # type: ignore[call-arg]
        return out

    def bench(self, obs: np.ndarray, reps: int) -> float:
        """Nanoseconds per inference over ``reps`` calls made inside the jitted code."""
        obs = check_obs(obs, self.layer_sizes[0], False)
        out = np.empty(self.layer_sizes[-1], np.float32)
        args = self._args()
        _bench(1, *args, obs, out, self._scratch)  # type: ignore[call-arg]  # compile first
        t0 = time.perf_counter_ns()
        _bench(reps, *args, obs, out, self._scratch)  # type: ignore[call-arg]
        return (time.perf_counter_ns() - t0) / reps
