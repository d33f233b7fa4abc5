"""The muls kernel: fixed-point C for v6-M (Cortex-M0/M0+) in the narrow format, generated
per policy, reading the blob's packed indices at run time.

The packed kernel (targets/packed.py) keeps the Q16/Q24 format of the loadable fixed-point
kernel, whose row sums are exact int64: on v6-M, which has no 32 x 32 -> 64 multiply, each
product costs a 20-instruction call. This kernel computes in the narrow format of
targets/fixed_point.py (NarrowModel, bit-exact): every value is scaled per layer so that the
whole row sum fits int32, so each edge is one MULS (single-cycle on the M0+) and one ADD.
Per row: the bias (in the row's format) starts the sum, windows of 25 // b indices (one 32-bit
read each) give the colors, one product per edge; then the rounding to Q16, the activation of
chromatic_fixed.c (chromatic_fx_tanh, chromatic_fx_relu) and the rounding to the next
layer's input format. Init checks that the blob is the one it was generated for (CRC32), as
every generated kernel does. Less accurate than the Q16 kernels (a few 1e-3 on the benchmark
policy, within error_bound's narrow rule, tested); refuses a policy whose rows leave fewer than
NARROW_MIN_BITS bits (use --kernel packed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chromatic.errors import ChromaticError
from chromatic.targets.spec import WINDOW_BITS, KernelSpec, index_windows, require_dictionary
from chromatic.targets.templates import render

GROUP = 8  # indices per group: 8 * b bits is always whole bytes, so a row keeps its bit phase
MAX_BITS = WINDOW_BITS - 7  # so that one index always fits a window
#: the rows' frame: r4-r7 and lr, then r8 and r9
ROW_FRAME = 7 * 4
# registers of a row: r0 x, r1 the bit phase, r2 the palette, r3 the index mask << 2, r4 a
# window, r5 index / color / product, r6 an input, r7 the next index byte, r8 the sum,
# r9 the end of the row's groups


def check(spec: KernelSpec) -> None:
    """A one-line error for a policy this generator cannot write (or whose values the narrow
    format cannot hold)."""
    from chromatic.targets.fixed_point import NarrowModel

    require_dictionary(spec, "muls")
    if spec.index_bits > MAX_BITS:
        raise ChromaticError(f"the muls kernel reads at most {MAX_BITS} index bits; "
                             "use --kernel packed")
    NarrowModel(spec.blob)


def _window(o: int, fields: list[int], b: int, phase: int | None) -> list[str]:
    """r4 = the 32-bit little-endian window at byte o of the group (r7), shifted by the phase
    in r1 (``phase`` None) or not (a constant phase, row-aligned rows): byte loads (v6-M has no
    unaligned LDR), only as many as its fields and the phase need."""
    nbytes = min(4, ((7 if phase is None else phase) + fields[-1] * b + b - 8 * o + 7) // 8)
    lines = [f"ldrb    r4, [r7, #{o}]"]
    for k in range(1, nbytes):
        lines += [f"ldrb    r5, [r7, #{o + k}]", f"lsls    r5, r5, #{8 * k}", "orrs    r4, r5"]
    return lines + (["lsrs    r4, r1"] if phase is None else [])


def _edges(nfields: int, b: int, phase: int | None) -> list[str]:
    """s += palette[c_f] * x[f] for the nfields indices at the phase (r1's, or the constant
    ``phase``), from r7 and r0."""
    lines = []
    for o, fields in index_windows(nfields, b, phase):
        lines += _window(o, fields, b, phase)
        for f in fields:
            p = (phase or 0) + f * b - 8 * o - 2  # the field, scaled by 4: shift it to bit 2, mask
            lines += [f"lsrs    r5, r4, #{p}" if p > 0 else f"lsls    r5, r4, #{-p}" if p < 0
                      else "movs    r5, r4",
                      "ands    r5, r3", "ldr     r5, [r2, r5]", f"ldr     r6, [r0, #{4 * f}]",
                      "muls    r5, r6, r5", "add     r8, r5"]
    return lines


def _const(rd: str, v: int) -> list[str]:
    return [f"movs    {rd}, #{v}"] if 0 <= v < 256 else [f"ldr     {rd}, ={v}"]


def _row_asm(fn: str, n: int, b: int, palette: str, aligned: bool) -> list[str]:
    """int32_t fn(const int32_t *x, int32_t s, const uint8_t *p, uint32_t phase): s plus the
    row's n products, its indices from bit ``phase`` of byte p; the n mod 8 leftover indices
    first, then the groups of 8 (b bytes each). ``aligned`` (row-aligned rows: the phase is 0):
    the fields' bits are constants, so no window is shifted."""
    t, groups = n % GROUP, n // GROUP
    lines = ["push    {r4, r5, r6, r7, lr}", "mov     r4, r8", "mov     r5, r9",
             "push    {r4, r5}", "mov     r8, r1", "movs    r7, r2", "movs    r1, r3",
             f"ldr     r2, ={palette}", *_const("r3", ((1 << b) - 1) << 2)]
    if t:
        lines += _edges(t, b, 0 if aligned else None)
    if t and groups and aligned:  # the groups start at the constant phase t*b mod 8
        lines += [f"adds    r0, #{4 * t}"] + ([f"adds    r7, #{t * b // 8}"] if t * b >= 8 else [])
    elif t and groups:  # the groups start after the leftover indices, at their own phase
        lines += [f"adds    r0, #{4 * t}", f"adds    r1, #{t * b}", "lsrs    r5, r1, #3",
                  "adds    r7, r7, r5", "movs    r5, #7", "ands    r1, r5"]
    if groups:
        lines += [*_const("r5", groups * b), "add     r5, r7", "mov     r9, r5", f"{fn}_group:"]
        lines += _edges(GROUP, b, (t * b) % 8 if aligned else None)
        lines += [f"adds    r7, #{b}", "adds    r0, #32", "cmp     r7, r9", f"bne     {fn}_group"]
    lines += ["mov     r0, r8", "pop     {r4, r5}", "mov     r8, r4", "mov     r9, r5",
              "pop     {r4, r5, r6, r7, pc}", ".ltorg"]
    return [f".section .text.{fn},\"ax\",%progbits", f".global {fn}", f".type {fn}, %function",
            ".p2align 1", ".thumb_func", f"{fn}:"] + ["    " + x for x in lines] + [
            f".size {fn}, . - {fn}"]


@dataclass(frozen=True)
class MulsKernel:
    c_source: str  # init, infer and the constants, for the glue file (after the blob array)
    asm: str  # <prefix>_row<l>, one per layer
    rows: tuple[str, ...]  # the row functions' names


def _ints(v) -> str:
    return ", ".join(str(int(x)) for x in np.asarray(v).ravel())


def _round(expr: str, k: int) -> str:
    """expr / 2^k rounded half up, as NarrowModel (_round_shift)."""
    return f"({expr} + {1 << (k - 1)}) >> {k}" if k > 0 else expr


def muls_kernel(prefix: str, spec: KernelSpec) -> MulsKernel:
    """init/infer (muls.c.in) and the rows (muls.S.in) for an FPU-less target."""
    from chromatic.targets.fixed_point import ACT_FRAC, NarrowModel, c_activation

    check(spec)
    fx = NarrowModel(spec.blob)
    sizes, b = spec.layer_sizes, spec.index_bits
    bufs = ("a", "b")
    layers, palettes, bias_off, asm, rows = [], [], 0, [], []
    last = spec.num_layers - 1
    for l, (n, out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        f, act = fx.layers[l], spec.activations[l]
        palettes.append(f"const int32_t {prefix}_w{l}[{spec.num_colors}u] = "
                        f"{{{_ints(f.palette)}}}; /* Q{f.wf} */")
        x, pos0 = bufs[l % 2], spec.index_bit_offsets()[l]
        fn = f"{prefix}_row{l}"
        rows.append(fn)
        asm += _row_asm(fn, n, b, f"{prefix}_w{l}", spec.row_aligned)
        palettes.append(f"int32_t {fn}(const int32_t *x, int32_t s, const uint8_t *p, uint32_t phase);")
        s = (f"{fn}({x}, {prefix}_bias[{bias_off}u + i], d + (({pos0}u + i * {spec.row_bits[l]}u) >> 3), "
             f"({pos0}u + i * {spec.row_bits[l]}u) & 7u)")
        v = _round(s, f.shift)
        v = c_activation(v, act, out)
        if l == last:
            dst = "act[i] = chromatic_fx_output(v);"
        else:
            dst = f"{bufs[1 - l % 2]}[i] = {_round('v', ACT_FRAC - fx.layers[l + 1].xf)};"
        layers += [f"    for (i = 0; i < {out}u; i++) {{", f"        const int32_t v = {v};",
                   f"        {dst}", "    }"]
        bias_off += out
    biases = np.concatenate([np.asarray(f.bias).ravel() for f in fx.layers])
    k0 = ACT_FRAC - fx.layers[0].xf
    c = render("muls.c", prefix=prefix, palettes="\n".join(palettes),
               num_biases=spec.num_biases, biases=_ints(biases), d0=spec.d0,
               mean=_ints(fx.mean), inv_std=_ints(fx.inv_std),
               buf_words=max(1, spec.buffer_even + spec.buffer_odd), buf_a=spec.buffer_even,
               crc32=f"{spec.crc32:#010x}", dictionary_offset=spec.dictionary_offset,
               input_clamp=fx.input_clamp, input_half=(1 << (k0 - 1)) if k0 else 0,
               input_shift=k0, layers="\n".join(layers))
    return MulsKernel(c, render("muls.S", rows=", ".join(rows), body="\n".join(asm)), tuple(rows))
