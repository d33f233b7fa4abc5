"""Bit-exact numpy model of the fixed-point kernel (targets/firmware/chromatic_fixed.c).

Every rounding of the C kernel is mirrored here, so the firmware is checked against this
model exactly, and this model against the float reference (runtime/reference.py) for the
quantization error alone. Formats: activations, biases and mean in Q16.16, palette and
1/std in Q24, row sums exact in int64 and rounded once (docs/targets.md). NarrowModel is the
narrow format of the v6-M muls kernel (targets/muls.py): per-layer scales for which every row
sum fits int32, bit-exact with that kernel; error_bound covers both formats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chromatic.compiler.blob import Blob
from chromatic.compiler.ir import Activation
from chromatic.errors import ChromaticError
from chromatic.runtime.reference import OBS_LIMIT

ACT_FRAC = 16
W_FRAC = 24
ONE = 1 << ACT_FRAC
INT32_MAX = (1 << 31) - 1
TANH_MAX_ABS_ERROR = 1.0e-5  # documented bound of fx_tanh vs tanh, checked by tests
#: chromatic_fx_tanh's table: tanh on [0, 6.25) in segments of 2^-TANH_SEG_BITS (Q16 units
#: 2^13 = 1/8), per segment (c0, c1, c2, c3) in Q20 of the cubic c0 + c1 u + c2 u^2 + c3 u^3
#: in the offset u in [0, 1): Chebyshev least-squares fits rounded to Q20, then c0 moved by a
#: few units to minimise the segment's max error. The same literal is in chromatic_fixed.c.
TANH_SEG_BITS = 13
TANH_TABLE = (
    (1, 131074, -10, -671),
    (130394, 129052, -2039, -590),
    (256816, 123220, -3821, -449),
    (375765, 114251, -5172, -279),
    (484566, 103091, -6005, -112),
    (581540, 90765, -6331, 29),
    (666002, 78201, -6235, 131),
    (738099, 66131, -5834, 194),
    (798590, 55048, -5246, 222),
    (848614, 45224, -4574, 226),
    (889491, 36753, -3892, 214),
    (922566, 29608, -3249, 192),
    (949118, 23684, -2672, 167),
    (970297, 18838, -2171, 141),
    (987105, 14916, -1748, 117),
    (1000389, 11769, -1397, 96),
    (1010857, 9259, -1111, 78),
    (1019083, 7269, -879, 62),
    (1025536, 5696, -693, 50),
    (1030589, 4458, -545, 39),
    (1034540, 3485, -427, 31),
    (1037630, 2722, -335, 24),
    (1040041, 2125, -262, 19),
    (1041923, 1658, -205, 15),
    (1043391, 1293, -160, 12),
    (1044536, 1008, -125, 9),
    (1045428, 786, -97, 7),
    (1046124, 612, -76, 6),
    (1046666, 477, -59, 4),
    (1047088, 372, -46, 3),
    (1047417, 290, -36, 3),
    (1047673, 226, -28, 2),
    (1047873, 176, -22, 2),
    (1048029, 137, -17, 1),
    (1048150, 107, -13, 1),
    (1048244, 83, -10, 1),
    (1048317, 65, -8, 1),
    (1048375, 50, -6, 0),
    (1048419, 39, -5, 0),
    (1048454, 31, -4, 0),
    (1048481, 24, -3, 0),
    (1048502, 19, -2, 0),
    (1048518, 14, -2, 0),
    (1048531, 11, -1, 0),
    (1048536, 9, -1, 0),
    (1048549, 7, -1, 0),
    (1048552, 5, -1, 0),
    (1048553, 4, -1, 0),
    (1048557, 3, 0, 0),
    (1048560, 3, 0, 0),
)
TANH_END = len(TANH_TABLE) << TANH_SEG_BITS  # 6.25 in Q16: tanh rounds to 1 from here


def from_float32(values: np.ndarray, frac: int) -> tuple[np.ndarray, bool]:
    """float32 -> Q(frac) int64, round half away from zero, saturated; and whether it saturated."""
    u = np.asarray(values, np.float32).reshape(-1).view(np.uint32).astype(np.int64)
    e = (u >> 23) & 0xFF
    mant = (u & 0x7FFFFF) | 0x800000
    sh = e - 150 + frac
    sat = (e != 0) & (sh >= 8)
    left = mant << np.clip(sh, 0, 7)
    rs = np.clip(-sh, 1, 62)
    right = (mant + (np.int64(1) << (rs - 1))) >> rs
    mag = np.where(sh >= 0, left, np.where(sh >= -24, right, 0))
    mag = np.where(sat, INT32_MAX, mag)
    mag = np.where(e == 0, 0, mag)
    q = np.where(u >> 31 == 1, -mag, mag)
    return q.reshape(np.shape(values)), bool(sat.any())


def sat32(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -INT32_MAX, INT32_MAX)


def relu_limit(width: int) -> int:
    """The fixed-point ReLU's cap (Q16) for a layer of ``width`` outputs: INT32_MAX // width,
    so the next layer's per-color sums fit int32, as the input clamp does for the first."""
    return INT32_MAX // width


def output_range(act: int, width: int) -> int:
    """The largest |y| (Q16) a layer of ``width`` outputs with activation ``act`` can give."""
    return ONE if act == Activation.TANH else relu_limit(width) if act == Activation.RELU else INT32_MAX


def c_activation(v: str, act: int, width: int) -> str:
    """The generated kernels' C for the activation of a Q16 value ``v`` (chromatic_fixed.h)."""
    if act == Activation.TANH:
        return f"chromatic_fx_tanh({v})"
    if act == Activation.RELU:
        return f"chromatic_fx_relu({v}, {relu_limit(width)})"
    return v


def relu_q16(x: np.ndarray) -> np.ndarray:
    """The kernel's ReLU (chromatic_fx_relu) on a (N, width) Q16 array: max(0, x), capped."""
    return np.clip(x, 0, relu_limit(x.shape[-1]))


def tanh_q16(x: np.ndarray) -> np.ndarray:
    """The kernel's integer tanh: Q16.16 in, Q16 out (chromatic_fx_tanh): a cubic per segment
    of 1/8, Horner in Q20 with floor shifts (32-bit products), rounded to Q16."""
    x = np.asarray(x, np.int64)
    t = np.abs(x)
    big = t >= TANH_END
    tt = np.where(big, 0, t)
    c = np.asarray(TANH_TABLE, np.int64)[tt >> TANH_SEG_BITS]
    u = tt & ((1 << TANH_SEG_BITS) - 1)
    a = ((c[..., 3] * u) >> TANH_SEG_BITS) + c[..., 2]
    a = ((a * u) >> TANH_SEG_BITS) + c[..., 1]
    a = ((a * u) >> TANH_SEG_BITS) + c[..., 0]
    r = np.where(big, ONE, (a + 8) >> 4)
    return np.where(x < 0, -r, r)


class FixedModel:
    """The kernel's parameters after chromatic_fx_init, and its forward pass."""

    def __init__(self, blob: Blob):
        p = blob.policy
        if p.structure.implicit:
            raise ChromaticError(f"the fixed-point kernel reads stored partitions; "
                                 f"structure {p.structure.name.lower()!r} is not supported")
        f32 = np.float32
        self.policy = p
        self.palette, s1 = from_float32(p.palette.astype(f32), W_FRAC)
        self.biases = []
        sat = s1
        for layer in p.layers:
            b, s = from_float32(layer.bias.astype(f32), ACT_FRAC)
            self.biases.append(b)
            sat |= s
        self.mean, s2 = from_float32(p.normalization.mean.astype(f32), ACT_FRAC)
        inv = (f32(1.0) / p.normalization.std.astype(f32)).astype(f32)
        self.inv_std, s3 = from_float32(inv, W_FRAC)
        if sat or s2 or s3:
            raise ChromaticError("a palette, bias, mean or 1/std value is outside the fixed-point "
                                 "range (|w| < 128, |bias|, |mean| < 32768); use a float target")
        # the bad-observation rule's clamp (OBS_LIMIT), or the format's own smaller one
        self.input_clamp = min(INT32_MAX // p.layer_sizes[0], int(OBS_LIMIT) << ACT_FRAC)

    def inputs_q(self, obs: np.ndarray) -> np.ndarray:
        """The normalized observations in Q16 (chromatic_fx_input), clamped to input_clamp."""
        obs = np.atleast_2d(np.asarray(obs, np.float32))
        nan = np.isnan(obs)
        x, _ = from_float32(np.where(nan, np.float32(0), obs), ACT_FRAC)
        d = sat32(x - self.mean)
        x = np.clip((d * self.inv_std + (1 << (W_FRAC - 1))) >> W_FRAC,
                    -self.input_clamp, self.input_clamp)
        return np.where(nan, 0, x)  # the bad-observation rule: a NaN reading is the mean

    def forward_q(self, obs: np.ndarray) -> np.ndarray:
        """Q16 actions (int64) for float observations of shape (N, d0)."""
        x = self.inputs_q(obs)
        for l in range(len(self.policy.layers)):
            y = self.rows_q16(l, x)
            act = self.policy.activation(l)
            x = tanh_q16(y) if act == Activation.TANH else relu_q16(y) if act == Activation.RELU else y
        return x

    def rows_q16(self, l: int, x: np.ndarray) -> np.ndarray:
        """Layer l's rows before the activation, Q16, for its inputs x (Q16)."""
        w = self.palette[self.policy.layers[l].partition]  # (out, in) Q24
        s = np.einsum("oi,ni->no", w, x)  # exact: |terms| < 2^62 / in
        return sat32(((s + (1 << (W_FRAC - 1))) >> W_FRAC) + self.biases[l])

    def forward(self, obs: np.ndarray) -> np.ndarray:
        """float32 actions, converted exactly as the kernel does (round to nearest even)."""
        return (self.forward_q(obs).astype(np.float64) / ONE).astype(np.float32)


def tanh_error(samples: int = 200_001, limit: float = 12.0) -> float:
    """Max |tanh_q16(x) - tanh(x)| over a grid of Q16 inputs in [-limit, limit]."""
    q = np.unique(np.round(np.linspace(-limit, limit, samples) * ONE).astype(np.int64))
    return float(np.abs(tanh_q16(q) / ONE - np.tanh(q / ONE)).max())


def error_bound(policy, obs: np.ndarray, narrow: tuple[NarrowLayer, ...] | None = None) -> float:
    """A first-order bound on |fixed-point kernel - float reference| for these observations.

    Rounding sources, each at most half a step: observation and mean to Q16 (2^-17 each),
    1/std to float32 and Q24, palette to Q24 (2^-25 per weight), one rounding per row sum
    (2^-17) and per bias (2^-17), and the integer tanh (TANH_MAX_ABS_ERROR). An input error
    e grows to max_i sum_j |W_ij| e through a layer; tanh and ReLU are 1-Lipschitz, and the
    integer ReLU is exact up to its cap (relu_limit): a unit of the reference past the cap adds
    its excess. After a ReLU layer the inputs' sum |x| is the float reference's on these
    observations plus e per unit.

    ``narrow`` (NarrowModel.layers): the same rule for the narrow format, whose steps are its
    own: palette 2^-(wf+1), bias 2^-(wf+xf+1), and one more rounding of each layer's inputs to
    Q(xf) (2^-(xf+1)); a normalized input past NARROW_INPUT_CLAMP adds its excess.
    """
    from chromatic.runtime.reference import normalize  # the reference's hidden units bound ReLU's

    obs = np.atleast_2d(np.asarray(obs, np.float64))
    mean, std = policy.normalization.mean, policy.normalization.std
    inv = 1.0 / std
    d = np.abs(obs - mean).max(axis=0)
    e = float((2.0**-16 * inv + d * (2.0**-25 + inv * 2.0**-24) + 2.0**-17).max())
    x_abs_sum = float(np.abs((obs - mean) * inv).sum(axis=1).max())
    x_ref = normalize(policy, obs)
    if narrow is not None:
        e += max(0.0, float(np.abs(x_ref).max()) - NARROW_INPUT_CLAMP)
    for l, (w, layer) in enumerate(zip(policy.weight_matrices(), policy.layers, strict=True)):
        act = policy.activation(l)
        w_step, b_step = (2.0**-25, 2.0**-17) if narrow is None else \
            (2.0**-(narrow[l].wf + 1), 2.0**-(narrow[l].wf + narrow[l].xf + 1))
        if narrow is not None:
            e += 2.0**-(narrow[l].xf + 1)
        e = float(np.abs(w).sum(axis=1).max()) * e + x_abs_sum * w_step + 2.0**-17 + b_step
        x_ref = act.apply(x_ref @ w.T + layer.bias)
        if act == Activation.TANH:
            e += TANH_MAX_ABS_ERROR
            x_abs_sum = float(w.shape[0])
        elif act == Activation.RELU:  # past the cap, the kernel's unit is the cap: add the excess
            e += max(0.0, float(x_ref.max()) - relu_limit(w.shape[0]) / ONE)
            x_abs_sum = float(np.abs(x_ref).sum(axis=1).max()) + w.shape[0] * e
        else:
            x_abs_sum = np.inf
    return e * 1.01 + 2.0**-24


# -- the narrow format (the v6-M ``muls`` kernel, targets/muls.py) --------------------------
#: |normalized input| the narrow format holds; beyond it an input saturates (the bad-observation
#: rule's own clamp, OBS_LIMIT, is larger). 32 standard deviations of the blob's normalization.
NARROW_INPUT_CLAMP = 32
#: Fewest bits of wf + xf a layer may get (else the kernel refuses: use --kernel packed).
NARROW_MIN_BITS = 18


@dataclass(frozen=True)
class NarrowLayer:
    """One layer of the narrow format: inputs in Q(xf) with |x| <= x_max (int units), the
    palette in Q(wf), the biases in Q(wf + xf); every row sum, bias and rounding fits int32."""

    xf: int
    wf: int
    x_max: int
    palette: np.ndarray  # (M,) int64, Q(wf)
    bias: np.ndarray  # (out,) int64, Q(wf + xf)

    @property
    def shift(self) -> int:  # the row sum's shift to Q16
        return self.xf + self.wf - ACT_FRAC


def _narrow_layer(layer, palette: np.ndarray, x_real: float, n: int) -> NarrowLayer:
    """The most fractional bits T = wf + xf for which the layer's worst row cannot overflow
    int32, split so the two first-order rounding terms (n 2^-wf and S 2^-xf, S the largest
    row sum of |w|) are about equal."""
    f32 = np.float32
    part = np.asarray(layer.partition)
    s_real = float(np.abs(palette.astype(np.float64))[part].sum(axis=1).max())
    for t in range(30, NARROW_MIN_BITS - 1, -1):
        xf = int(round((t + np.log2(max(s_real, 2.0**-20) / n)) / 2))
        xf = min(ACT_FRAC, max(1, xf))
        wf = t - xf
        x_max = int(x_real * (1 << xf)) if x_real * (1 << xf) < INT32_MAX else INT32_MAX
        wq, s1 = from_float32(palette.astype(f32), wf)
        bq, s2 = from_float32(np.asarray(layer.bias, f32), t)
        if s1 or s2:
            continue
        worst = np.abs(wq)[part].sum(axis=1) * x_max + np.abs(bq) + (1 << max(0, t - 17))
        if int(worst.max()) <= INT32_MAX:
            return NarrowLayer(xf, wf, x_max, wq, bq)
    raise ChromaticError(f"a layer's largest row sum of |w| ({s_real:.3g}) times its inputs' range "
                         f"leaves fewer than {NARROW_MIN_BITS} bits in 32; use --kernel packed")


class NarrowModel(FixedModel):
    """The narrow format of the v6-M ``muls`` kernel (targets/muls.py), bit-exact with it.

    32-bit arithmetic only, so v6-M's single-cycle 32 x 32 -> 32 MULS does every product:
    per layer l the inputs are Q(xf_l) (at most 17 bits: |x| <= 1 after tanh, <=
    NARROW_INPUT_CLAMP for the normalized observations), the palette Q(wf_l), the biases
    Q(wf_l + xf_l), and xf_l + wf_l is the most bits for which no row sum can leave int32 (the
    largest row sum of |w| times the inputs' range, computed from the blob); each row sum is
    rounded once to Q16, the activation is chromatic_fx_tanh / chromatic_fx_relu of the Q16
    kernels, and its output is rounded to the next layer's Q(xf). The observations go through
    FixedModel's Q16 conversion (clamped to NARROW_INPUT_CLAMP) and are rounded to Q(xf_0)."""

    def __init__(self, blob: Blob):
        super().__init__(blob)
        p = self.policy
        self.input_clamp = NARROW_INPUT_CLAMP << ACT_FRAC
        x_real, layers = float(NARROW_INPUT_CLAMP), []
        for l, layer in enumerate(p.layers):
            n, out = p.layer_sizes[l], p.layer_sizes[l + 1]
            layers.append(_narrow_layer(layer, p.palette, x_real, n))
            x_real = output_range(p.activation(l), out) / ONE
        self.layers = tuple(layers)

    def rows_q16(self, l: int, x: np.ndarray) -> np.ndarray:
        """Layer l's rows, Q16: its Q16 inputs rounded to Q(xf), the exact int32 row sums
        with the bias, rounded once to Q16."""
        f = self.layers[l]
        x = _round_shift(x, ACT_FRAC - f.xf)
        s = np.einsum("oi,ni->no", f.palette[self.policy.layers[l].partition], x) + f.bias
        return _round_shift(s, f.shift)


def _round_shift(x: np.ndarray, k: int) -> np.ndarray:
    """x / 2^k rounded (half up: (x + 2^(k-1)) >> k), as the kernel's ADDS and ASRS."""
    return (x + (1 << (k - 1))) >> k if k > 0 else x
