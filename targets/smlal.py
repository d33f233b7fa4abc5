"""The smlal kernel: the packed fixed-point kernel with its layers in Thumb-2 assembly (v7-M
without an FPU, e.g. Cortex-M3), generated per policy.

Same numbers as the packed C kernel (targets/packed.py) and the numpy model
(targets/fixed_point.py), bit for bit: palette in Q24, activations and biases in Q16, each
row sum exact in int64 and rounded once. What the assembly does per row: the accumulator
starts at bias * 2^24 + 2^23 (one LDRD from a per-row int64 table: ((s + 2^23) >> 24) + bias
== (s + bias * 2^24 + 2^23) >> 24 exactly), then one SMLAL per edge. Indices are taken 8 at a
time as in the gather kernel (8 b bits are b whole bytes, so every group of a row starts at
the row's bit phase): per 32-bit window one unaligned LDR and one LSR by the phase, per index
one UBFX (constant position) and one LDR of its Q24 color (register offset, scaled), the 8
inputs by two LDMs, 8 SMLAL: 32 instructions per 8 edges with the loop. The phase and the
group counter share one register (bits 0-2: the phase LSR reads; bits 8-31: a counter whose
carry ends the loop). The n mod 8 leftover indices of a row go first. Then the row: the
64-bit shift to Q16 and the int32 check (5 instructions, saturation out of line), the
activation, the store.

tanh is chromatic_fx_tanh's cubic per segment of 1/8 (fixed_point.TANH_TABLE, here as 16 B
per segment so one LDM loads it, the rounding constant folded into c0): 18 instructions, no
division. ReLU is chromatic_fx_relu (max(0, x), capped at INT32_MAX / width).

The C glue (smlal.c.in) checks the blob's CRC32 at init like every generated kernel, converts
the observations to Q16 with chromatic_fx_input, calls the assembly for all the layers and
converts the Q16 actions to float with chromatic_fx_output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chromatic.compiler.ir import Activation
from chromatic.errors import ChromaticError
from chromatic.targets.spec import WINDOW_BITS, KernelSpec, index_windows
from chromatic.targets.templates import render

GROUP = 8  # indices per group: 8 * b bits is always whole bytes
MAX_BITS = WINDOW_BITS - 7  # so that one index always fits a window
INT32_MAX = (1 << 31) - 1
# registers: r0:r1 the accumulator, r2 x, r3 the palette, r4 index / color, r5 a window,
# r7 phase | group counter, r8 the next index byte, r9-r12 four inputs, lr the counter reset
XREGS = ("r9", "r10", "r11", "r12")
PUSHED = 9 * 4  # r4-r11, lr
SLOTS = 4 * 4  # x start, row table pointer, y, y end


def check(spec: KernelSpec) -> None:
    """A one-line error for a policy this generator cannot write assembly for."""
    from chromatic.targets.packed import check as packed_check

    packed_check(spec)
    if spec.index_bits > MAX_BITS:
        raise ChromaticError(f"the smlal kernel reads at most {MAX_BITS} index bits; "
                             "use --kernel packed")
    if max(spec.layer_sizes) > 4095 // 4:
        raise ChromaticError("the smlal kernel handles layers of at most 1,023 units; "
                             "use --kernel packed")


def _edges(nfields: int, b: int, advance: int, phase: int | None = None) -> list[str]:
    """The SMLALs of nfields indices at the current phase (``phase`` None: r7's, a shift per
    window; an int: that constant bit, for row-aligned rows); r8 advances by ``advance`` bytes
    (with the first window's load). Inputs: LDM of up to 4 at a time from r2."""
    lines = []
    wins = index_windows(nfields, b, phase)
    loaded = 0
    for wi, (o, fields) in enumerate(wins):
        if wi == 0 and advance:
            lines.append(f"ldr     r5, [r8], #{advance}")
        else:
            off = o - (advance if wi > 0 else 0)
            lines.append(f"ldr     r5, [r8, #{off}]" if off >= 0 else f"ldr     r5, [r8, #-{-off}]")
        if phase is None:
            lines.append("lsr     r5, r5, r7")
        for f in fields:
            if f == loaded:  # the next up-to-4 inputs
                k = min(len(XREGS), nfields - loaded)
                lines.append(f"ldr     {XREGS[0]}, [r2], #4" if k == 1
                             else f"ldmia   r2!, {{{', '.join(XREGS[:k])}}}")
                loaded += k
            lines += [f"ubfx    r4, r5, #{(phase or 0) + f * b - 8 * o}, #{b}",
                      "ldr     r4, [r3, r4, lsl #2]",
                      f"smlal   r0, r1, r4, {XREGS[f % len(XREGS)]}"]
    return lines


def _tanh_table() -> list[str]:
    """fixed_point.TANH_TABLE as 4 words per segment, with the final rounding (+8) in c0."""
    from chromatic.targets.fixed_point import TANH_TABLE

    out = []
    for c0, c1, c2, c3 in TANH_TABLE:
        out.append(f".word   {c0 + 8}, {c1}, {c2}, {c3}")
    return out


def _layer(l: int, n: int, out: int, b: int, act: int, pos0: int, x_off: int,
           y_off: int, row_off: int, dictionary: str, aligned: bool) -> list[str]:
    """One layer's rows: x at x_off, y at y_off bytes from the buffers (kept in [sp, #16]),
    its indices from bit pos0 of the dictionary, its int64 row starts from row_off of
    .Lrowtab; ``aligned``: every row starts on a byte (--pack rows)."""
    t, groups = n % GROUP, n // GROUP
    L = f".Ll{l}"
    lines = ["ldr     r0, [sp, #16]", _offset("r1", x_off), _offset("r2", y_off),
             f"addw    r4, r2, #{4 * out}", "ldr     r3, =.Lrowtab", *_add_const("r3", row_off),
             "stmia   sp, {r1, r3}", "strd    r2, r4, [sp, #8]",
             f"ldr     r8, ={dictionary} + {pos0 // 8}", f"movs    r7, #{pos0 % 8}"]
    if groups:  # -(groups) << 5: bfi puts it at bit 8
        lines += [f"ldr     lr, ={(-groups * 32) & 0xFFFFFFFF:#010x}"]
    lines += ["ldr     r3, =.Lpalette", f"{L}_row:", "ldmia   sp, {r2, r4}",
              "ldrd    r0, r1, [r4], #8", "str     r4, [sp, #4]"]
    if aligned:  # row-aligned: the tail at bit 0 of the row's first byte, the groups at the
        # constant phase t*b mod 8 (no shifts); r7 only counts groups; the row's padding at its end
        if t:
            lines += _edges(t, b, (t * b) // 8 if groups else (t * b + 7) // 8, 0)
        if groups:
            lines += ["mov     r7, lr", f"{L}_group:", *_edges(GROUP, b, b, (t * b) % 8),
                      "adds    r7, #32", f"bcc     {L}_group"]
            lines += ["add     r8, r8, #1"] if (t * b) % 8 else []
    else:
        if t:
            lines += _edges(t, b, 0)
            lines += [f"adds    r7, r7, #{t * b}", "add     r8, r8, r7, lsr #3"]
        if groups:
            lines += ["bfi     r7, lr, #3, #29", f"{L}_group:", *_edges(GROUP, b, b),
                      "adds    r7, r7, #256", f"bcc     {L}_group"]
        elif t:
            lines += ["and     r7, r7, #7"]
    # v = s >> 24 (int64), saturated to +-INT32_MAX (out of line)
    lines += ["lsrs    r0, r0, #24", "orr     r0, r0, r1, lsl #8", "asrs    r4, r1, #23",
              "cmp     r4, r0, asr #31", f"bne     {L}_sat", f"{L}_act:"]
    if act == Activation.TANH:
        lines += [
            "eor     r4, r0, r0, asr #31", "sub     r4, r4, r0, asr #31",  # |v|
            "cmp     r4, #409600", f"bhs     {L}_one",
            "ldr     r5, =.Ltanh", "lsrs    r6, r4, #13", "add     r5, r5, r6, lsl #4",
            "ldmia   r5, {r9, r10, r11, r12}", "ubfx    r4, r4, #0, #13",
            "mul     r6, r12, r4", "add     r6, r11, r6, asr #13",
            "mul     r6, r6, r4", "add     r6, r10, r6, asr #13",
            "mul     r6, r6, r4", "add     r6, r9, r6, asr #13",
            "asrs    r6, r6, #4", f"{L}_sign:",
            "eor     r6, r6, r0, asr #31", "sub     r0, r6, r0, asr #31",
        ]
    elif act == Activation.RELU:
        from chromatic.targets.fixed_point import relu_limit

        lines += ["bic     r0, r0, r0, asr #31", "ldr     r4, =" + str(relu_limit(out)),
                  "cmp     r0, r4", "it      gt", "movgt   r0, r4"]
    else:  # identity: -2^31 fits int32 but the kernel's range is symmetric
        lines += ["cmp     r0, #0x80000000", "it      eq", "addeq   r0, r0, #1"]
    lines += ["ldrd    r4, r5, [sp, #8]", "str     r0, [r4], #4", "str     r4, [sp, #8]",
              "cmp     r4, r5", f"bne     {L}_row", f"b       {L}_end",
              f"{L}_sat:", "mvn     r0, #0x80000000", "cmp     r1, #0", "it      lt",
              "neglt   r0, r0", f"b       {L}_act"]
    if act == Activation.TANH:
        lines += [f"{L}_one:", "mov     r6, #65536", f"b       {L}_sign"]
    lines += [f"{L}_end:"]
    return lines


def _offset(rd: str, off: int) -> str:
    """rd = r0 + off (off < 4096)."""
    return f"addw    {rd}, r0, #{off}" if off else f"mov     {rd}, r0"


def _add_const(rd: str, imm: int) -> list[str]:
    if imm == 0:
        return []
    if imm < 4096:
        return [f"addw    {rd}, {rd}, #{imm}"]
    return [f"ldr     r5, ={imm}", f"add     {rd}, {rd}, r5"]


@dataclass(frozen=True)
class SmlalKernel:
    c_source: str  # init, infer and the buffers, for the glue file (after the blob array)
    asm: str  # <prefix>_layers
    stack_bytes: int  # the assembly's frame, for the .su file the assembler does not write


def smlal_kernel(prefix: str, spec: KernelSpec) -> SmlalKernel:
    """The glue (smlal.c.in) and the assembly of the layers (smlal.S.in), for one policy."""
    from chromatic.targets.fixed_point import W_FRAC, FixedModel

    check(spec)
    fx = FixedModel(spec.blob)
    sizes, b, nl = spec.layer_sizes, spec.index_bits, spec.num_layers
    # ping-pong buffers: layer l reads offs[l % 2] and writes offs[1 - l % 2], the last layer
    # too (the glue converts its outputs), so both hold every size of their parity
    na = max(sizes[0::2])
    nb = max(sizes[1::2])
    offs = (0, 4 * na)
    body = ["push    {r0, r4-r11, lr}", "sub     sp, sp, #16"]
    row_off = 0
    for l in range(nl):
        n, out = sizes[l], sizes[l + 1]
        body += _layer(l, n, out, b, spec.activations[l], spec.index_bit_offsets()[l],
                       offs[l % 2], offs[1 - l % 2], row_off,
                       f"{prefix}_blob + {spec.dictionary_offset}", spec.row_aligned)
        row_off += 8 * out
    body += ["add     sp, sp, #20", "pop     {r4-r11, pc}", ".ltorg"]
    rows = []
    for bias in fx.biases:
        for v in np.asarray(bias, np.int64).ravel():
            s = (int(v) << W_FRAC) + (1 << (W_FRAC - 1))
            rows.append(f".word   {s & 0xFFFFFFFF:#010x}, {(s >> 32) & 0xFFFFFFFF:#010x}")
    tail = [".p2align 2", ".Lpalette:"] + [f".word   {int(w)}" for w in fx.palette]
    if Activation.TANH in spec.activations:
        tail += [".Ltanh:", *_tanh_table()]
    tail += [".Lrowtab:", *rows]
    fn = f"{prefix}_layers"
    asm = render("smlal.S", fn=fn, body="\n".join("    " + line if not line.endswith(":") else line
                                for line in body + tail))
    last_off = offs[nl % 2] // 4
    c = render("smlal.c", prefix=prefix, fn=fn, d0=spec.d0, mean=", ".join(map(str, fx.mean)),
               inv_std=", ".join(map(str, fx.inv_std)), input_clamp=fx.input_clamp,
               buf_words=na + nb, crc32=f"{spec.crc32:#010x}",
               dl=sizes[-1], last=last_off)
    return SmlalKernel(c, asm, PUSHED + 4 + SLOTS)
