"""The gather kernel: Thumb-2 + FPv4 assembly for Cortex-M4F, generated per policy.

Per row it gathers the colors' float32 bits and does one FMA per edge (y_i = act(b_i +
sum_j w[Phi(i, j)] x_j)), reading the packed indices from the blob in flash. The hot loop
takes 8 indices at a time (8 * b bits = b whole bytes, so every group of a row starts at
the row's bit phase sh): two unaligned 32-bit windows shifted right by sh, one UBFX with a
constant position per index, one integer LDR of the color's float bits from a float32
palette in RAM (register offset, scaled: VLDR has no register offset), one 16-bit PUSH of
the 8 words (r0-r6, lr) and one VPOP into s0-s7, one VLDM of the 8 inputs into s8-s15 (the
accumulator is s16, which infer saves), 8 VFMA: 33 instructions per 8 edges. The bit phase
and the group counter share one register (low byte: the shift, which LSR-by-register reads;
bits 8-31: a counter whose carry-out ends the loop). The ``n mod 8`` remaining indices of a
row are done first, with the bias; one LDM reloads the row's slots (y end, x, group count)
at the end of every row.

Why gather and not the mailman form on this core: with a fused multiply-add the multiply is
free, so an edge costs decode + load + FMA; mailman would turn each edge into a
load-add-store of a per-color accumulator (plus one multiply per color and row), which is
more instructions, and per-color accumulators in registers cannot be indexed. The
``unrolled`` kernel is the mailman form with the indices baked into code (fewer
instructions, ~10x the flash).

tanh is an odd rational x P(x^2) / Q(x^2) of degree 7/8 (fitted here for float32 with FMA;
|error| <= TANH_MAX_ABS_ERROR, tested), scaled so Q is monic (8 stored coefficients), its
argument clamped to (-8, 8) by a round trip through signed Q3.28 fixed point (VCVT
saturates): 13 instructions, no branch. ReLU is max(0, x) on the float's bits: BIC with the
sign spread by ASR #31 (3 instructions, no branch; -0 becomes +0).

Normalization: (obs - mean) / std per input, then the bad-observation rule (chromatic.h):
|x0| > 1e4 or NaN is one VABS/VCMP/VMRS and a branch not taken (4 instructions); the rare
bad value is fixed out of line (.Lbad: +-1e4 by its sign, 0 for NaN; 8 more instructions).

Init (C, in the glue) checks that the blob is the one the code was generated for (its CRC32
against the generator's: chromatic_check_generated; the generator validated it), writes the palette as float32
into RAM and then three pointers into the blob (means, indices, biases; the first doubles as
the ready flag); inference reads indices, biases and normalization from the blob. Every
layer shares one rows subroutine per (n mod 8, groups, activation) shape; it pushes its own slots,
so infer's frame is act and the callee-saved registers only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chromatic.compiler.ir import Activation
from chromatic.errors import ChromaticError
from chromatic.runtime.reference import OBS_LIMIT
from chromatic.targets.spec import WINDOW_BITS, KernelSpec, index_windows, require_dictionary
from chromatic.targets.templates import render

# tanh(x) ~= x * P(x^2) / Q(x^2) on |x| < 8 (minimax for float32 evaluation with FMA), scaled
# so that Q is monic: its leading 1 is an add in the code, not a stored coefficient.
TANH_P = (4125553.4036779488, 532760.3795387057, 12124.39091763456, 46.661936272886045)
TANH_Q = (4125556.1086033187, 1907936.076915762, 98039.38222279807, 977.8871940148175, 1.0)
TANH_CLAMP_FBITS = 28  # Q3.28: VCVT saturates to (-8, 8), truncating to 2^-28
TANH_MAX_ABS_ERROR = 5e-7

_OBS_BITS = int(np.float32(OBS_LIMIT).view(np.uint32))  # the bad-observation clamp's float bits
GROUP = 8  # indices per group: 8 * b bits is always whole bytes
GROUP_REGS = ("r0", "r1", "r2", "r3", "r4", "r5", "r6", "lr")  # low + lr: a 16-bit PUSH
TAIL_REGS = ("r0", "r1", "r2", "r3", "r4", "r5", "r6")  # lr holds the counter reset
ACC = "s16"  # the row's accumulator (callee-saved: infer saves it), so s8-s15 hold 8 inputs
# infer pushes act (its only slot), r4-r11, lr and s16; rows pushes y end, x, -32*groups and
# its return address; the gathered words go through the stack below that (PUSH, then VPOP).
PUSHED = 11 * 4
ROWS_FRAME = 4 * 4
RAM_POINTERS = 3  # RAM words 0-2: means (0 until init has validated), indices, biases


def tanh_f32(x: np.ndarray) -> np.ndarray:
    """The kernel's tanh in numpy, float32 with FMA (single rounding), for tests."""
    f = np.float32
    x = np.asarray(x, np.float32)
    scale = float(1 << TANH_CLAMP_FBITS)
    lim = (1 << 31) - 1
    q = np.clip(np.trunc(x.astype(np.float64) * scale), -lim - 1, lim)
    x = (q / scale).astype(np.float32)
    x2 = (x.astype(np.float64) ** 2).astype(np.float32)

    def fma(a, b, c):
        return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(f)

    p = np.full_like(x, f(TANH_P[-1]))
    for c in TANH_P[-2::-1]:
        p = fma(x2, p, np.full_like(x, f(c)))
    q2 = np.full_like(x, f(TANH_Q[-1]))
    for c in TANH_Q[-2::-1]:
        q2 = fma(x2, q2, np.full_like(x, f(c)))
    p = (p.astype(np.float64) * x).astype(f)
    return (p.astype(np.float64) / q2).astype(f)


def _decode(nfields: int, b: int, regs: tuple[str, ...],
            post: int | None) -> tuple[list[str], dict[int, str]]:
    """Load, shift and split the windows of nfields indices into color float bits.

    Returns the lines and field -> register. Each window's register ends up holding its
    last field, so nfields registers suffice. ``post``: advance r10 by that many bytes with
    the offset-0 load (which then goes last)."""
    wins = index_windows(nfields, b)
    low = [r for r in regs if r != "lr"]
    wregs = low[len(low) - len(wins):]  # windows in the highest low registers
    free = [r for r in regs if r not in wregs]
    lines, reg_of = [], {}
    for (o, _), w in sorted(zip(wins, wregs, strict=True), key=lambda t: t[0][0] == 0):
        if o == 0 and post:
            lines.append(f"ldr.w   {w}, [r10], #{post}")
        else:
            lines.append(f"ldr.w   {w}, [r10, #{o}]")
    for _, w in zip(wins, wregs, strict=True):
        lines.append(f"lsrs    {w}, {w}, r7")
    for (o, fields), w in zip(wins, wregs, strict=True):
        for f in fields:
            r = w if f == fields[-1] else free.pop(0)
            lines.append(f"ubfx    {r}, {w}, #{f * b - 8 * o}, #{b}")
            reg_of[f] = r
    for f in sorted(reg_of):
        lines.append(f"ldr.w   {reg_of[f]}, [r9, {reg_of[f]}, lsl #2]")
    return lines, reg_of


def _regnum(r: str) -> int:
    return 14 if r == "lr" else int(r[1:])


def _to_fpu(reg_of: dict[int, str]) -> tuple[list[str], dict[int, int]]:
    """PUSH the gathered words, VPOP them to s0..: field -> s register."""
    order = sorted(set(reg_of.values()), key=_regnum)
    s_of = {f: order.index(r) for f, r in reg_of.items()}
    if len(order) == 1:
        return [f"vmov    s0, {order[0]}"], s_of
    return [f"push    {{{', '.join(order)}}}", f"vpop    {{s0-s{len(order) - 1}}}"], s_of


def _rows(key: tuple[int, bool, int], b: int, f16: bool) -> tuple[list[str], int]:
    """One rows subroutine for layers with t = n mod 8 tail indices, groups or not, an activation.

    In: r1 4*rows, r2 x, r3 32*groups, r7 row phase (count bits 0), r9 palette, r10 the
    row's first index byte, r11 bias, r12 y. It pushes its slots (y end, x, -32*groups) with
    its return address; one LDM reloads them at the end of every row, and the pop hands the
    layer's x back in r2 for the next layer's setup. Out: r7, r10, r11 at the next layer's
    first row. Also returns the most bytes it pushes."""
    t, groups, act = key
    name = f".Lrows_{t}_{int(groups)}_{act}"
    out = [f"{name}:", "add     r1, r1, r12"]
    out += ["negs    r3, r3"] if groups else []
    out += ["push    {r1, r2, r3, lr}", f"b       {name}_load", f"{name}_row:"]
    pushed = 0
    if t == 1:
        lines, reg_of = _decode(1, b, TAIL_REGS, None)
        out += lines
        w = reg_of[0]
        if f16:
            bias = "r6" if w != "r6" else "r5"
            out += [f"ldrh.w  {bias}, [r11], #2", f"vmov    s0, s1, {w}, {bias}",
                    f"vcvtb.f32.f16 {ACC}, s1"]
        else:
            out += [f"vmov    s0, {w}", f"vldmia  r11!, {{{ACC}}}"]
        out += ["vldmia  r8!, {s8}", f"vfma.f32 {ACC}, s0, s8"]
    else:
        out += (["ldrh.w  r0, [r11], #2", f"vmov    {ACC}, r0", f"vcvtb.f32.f16 {ACC}, {ACC}"]
                if f16 else [f"vldmia  r11!, {{{ACC}}}"])
        if t:
            lines, reg_of = _decode(t, b, TAIL_REGS, None)
            moves, s_of = _to_fpu(reg_of)
            pushed = 4 * t
            out += lines + moves + [f"vldmia  r8!, {{s8-s{7 + t}}}" if t > 1 else "vldmia  r8!, {s8}"]
            out += [f"vfma.f32 {ACC}, s{s_of[f]}, s{8 + f}" for f in range(t)]
    if t:
        out += [f"adds    r7, r7, #{t * b}", "add.w   r10, r10, r7, lsr #3"]
    if groups:
        lines, reg_of = _decode(GROUP, b, GROUP_REGS, b)
        moves, s_of = _to_fpu(reg_of)
        pushed = 4 * GROUP
        # the 8 colors go to s0-s7, the 8 inputs to s8-s15 (one VLDM); s16 accumulates
        out += ["bfi     r7, lr, #3, #29", f"{name}_group:", *lines, *moves,
                "vldmia  r8!, {s8-s15}"]
        out += [f"vfma.f32 {ACC}, s{s_of[f]}, s{8 + f}" for f in range(GROUP)]
        out += ["adds.w  r7, r7, #256", f"bcc     {name}_group"]
    elif t:
        out += ["and     r7, r7, #7"]
    if act == Activation.TANH:  # Q is monic: its Horner chain starts with an add, so 8 coefficients
        out += ["adr     r0, .Ltanh", "vldm    r0, {s0-s7}",
                f"vcvt.s32.f32 {ACC}, {ACC}, #{TANH_CLAMP_FBITS}",
                f"vcvt.f32.s32 {ACC}, {ACC}, #{TANH_CLAMP_FBITS}",
                f"vmul.f32 s8, {ACC}, {ACC}",
                "vfma.f32 s1, s8, s0", "vfma.f32 s2, s8, s1", "vfma.f32 s3, s8, s2",
                "vadd.f32 s4, s4, s8", "vfma.f32 s5, s8, s4", "vfma.f32 s6, s8, s5",
                "vfma.f32 s7, s8, s6", f"vmul.f32 s3, s3, {ACC}", f"vdiv.f32 {ACC}, s3, s7"]
    elif act == Activation.RELU:  # a negative float (sign bit set, -0 too) becomes +0
        out += [f"vmov    r0, {ACC}", "bic.w   r0, r0, r0, asr #31", f"vmov    {ACC}, r0"]
    # reload y end, x and the group count for the next row (the group loop clobbers them)
    out += [f"vstmia  r12!, {{{ACC}}}", f"{name}_load:", "ldm.w   sp, {r1, r8, lr}",
            "cmp     r12, r1", f"bne     {name}_row", "pop     {r1, r2, r3, pc}"]
    return out, ROWS_FRAME + pushed


def _const(rd: str, imm: int) -> list[str]:
    return [f"movs    {rd}, #{imm}"] if imm < 256 else [f"movw    {rd}, #{imm}"]


def _step(rd: str, delta: int) -> list[str]:
    """rd += delta (bytes), the 16-bit form where it fits."""
    op, imm = ("adds", delta) if delta >= 0 else ("subs", -delta)
    if imm < 256:
        return [f"{op}    {rd}, #{imm}"] if imm else []
    return [f"{op[:3]}w    {rd}, {rd}, #{imm}"]


@dataclass(frozen=True)
class GatherKernel:
    c_source: str  # init and the RAM block, for the glue file (after the blob array)
    asm: str  # <prefix>_infer
    stack_bytes: int  # the infer call's frame, for the .su file the assembler does not write
    ram_bytes: int


def check(spec: KernelSpec) -> None:
    """A one-line error for a policy this generator cannot write assembly for."""
    require_dictionary(spec, "gather")
    b = spec.index_bits
    if b > WINDOW_BITS - 7:
        raise ChromaticError(f"the gather kernel reads at most {WINDOW_BITS - 7} index bits; "
                             "use --kernel loadable")
    if 4 * _ram_words(spec) > 4095 or spec.d0 > 255 or spec.max_width > 4095 // 4:
        raise ChromaticError("the gather kernel addresses at most 4 KiB of RAM and 255 inputs "
                             "(use --kernel inline)")


def _ram_words(spec: KernelSpec) -> int:
    """RAM: three pointers into the blob (written by init once it has validated the blob),
    ping-pong activations a, b (layer l reads a if l is even), the float32 palette."""
    return RAM_POINTERS + spec.buffer_even + spec.buffer_odd + spec.num_colors


def gather_kernel(prefix: str, spec: KernelSpec) -> GatherKernel:
    """The glue's init (gather.c.in) plus the assembly of infer (gather.S.in), for one policy."""
    check(spec)
    b, f16, sizes, act = spec.index_bits, spec.f16, spec.layer_sizes, spec.activations
    d0, m, nl = spec.d0, spec.num_colors, spec.num_layers
    last = nl - 1
    na, nb = spec.buffer_even, spec.buffer_odd
    buf_off = (0, 4 * na)  # from a
    pal_off = 4 * (na + nb)
    ram_words = _ram_words(spec)

    keys = []
    for l in range(nl):
        key = (sizes[l] % GROUP, sizes[l] >= GROUP, act[l])
        if key not in keys:
            keys.append(key)
    body = [
        "push    {r1, r4-r11, lr}", "vpush   {s16}",
        "ldr     r2, .Lram", "ldmia.w r2!, {r5, r10, r11}", "cbnz    r5, .Lready",
        "movs    r0, #12", "b       .Lret",  # CHROMATIC_ERR_ARGUMENT: not initialized
        ".Lready:", "mov     r1, r2", f"addw    r9, r2, #{pal_off}", f"movs    r7, #{d0}",
        # the bad-observation rule (chromatic.h): s3 = +OBS_LIMIT, r3 its bits (for .Lbad)
        "ldr     r3, .Lobs", "vmov    s3, r3",
        ".Lnorm:",  # r0 obs, r5 means, r1 -> a (r2 stays at a); r7 ends at 0: the first phase
    ]
    if f16:
        body += [f"ldrh    r6, [r5, #{2 * d0}]", "ldrh.w  r4, [r5], #2", "vmov    s0, s1, r4, r6",
                 "vcvtb.f32.f16 s0, s0", "vcvtb.f32.f16 s1, s1"]
    else:
        body += [f"vldr    s1, [r5, #{4 * d0}]", "vldmia  r5!, {s0}"]
    body += ["vldmia  r0!, {s2}", "vsub.f32 s2, s2, s0", "vdiv.f32 s2, s2, s1",
             # |x0| > L or NaN (HI, unordered included): out of line, .Lbad
             "vabs.f32 s4, s2", "vcmp.f32 s4, s3", "vmrs    APSR_nzcv, fpscr", "bhi     .Lbad",
             ".Lgood:", "vstmia  r1!, {s2}", "subs    r7, #1", "bne     .Lnorm"]
    for l in range(nl):
        n, out = sizes[l], sizes[l + 1]
        key = (n % GROUP, n >= GROUP, act[l])
        if l == last:  # y = act
            body += ["ldr.w   r12, [sp, #4]"]
        elif l == 0:  # y = b; x = a is in r2
            body += [f"add.w   r12, r2, #{buf_off[1]}"]
        else:  # ping-pong: y = the previous layer's x, which rows hands back in r2
            body += ["mov     r12, r2"]
        if l > 0:
            body += _step("r2", buf_off[l % 2] - buf_off[1 - l % 2])
        body += _const("r1", 4 * out)
        if n >= GROUP:
            body += _const("r3", 32 * (n // GROUP))
        body += [f"bl      .Lrows_{key[0]}_{int(key[1])}_{key[2]}"]
    body += ["movs    r0, #0", ".Lret:", "vpop    {s16}", "pop     {r1, r4-r11, pc}"]
    # a bad observation (rare: out of the straight path): +-L by the sign, 0 for NaN (V set
    # by the unordered compare; the shifts and ORRS leave V alone)
    body += [".Lbad:", "vmov    r6, s2", "lsrs    r6, r6, #31", "lsls    r6, r6, #31",
             "orrs    r6, r3", "it      vs", "movvs   r6, #0", "vmov    s2, r6", "b       .Lgood"]
    deepest = 0
    for key in keys:
        lines, pushed = _rows(key, b, f16)
        body += lines
        deepest = max(deepest, pushed)
    consts = [*TANH_P[::-1], *TANH_Q[-2::-1]]  # Q's leading 1 is an add in the code
    tail = [".p2align 2", ".Ltanh:"] + [f".word   {np.float32(c).view(np.uint32):#010x}  /* {c!r} */"
                                        for c in consts]
    tail += [".Lobs:", f".word   {_OBS_BITS:#010x}  /* OBS_LIMIT */",
             ".Lram:", f".word   {prefix}_ram", ".ltorg"]
    fn = f"{prefix}_infer"
    asm = render("gather.S", fn=fn, body="\n".join(
        "    " + line if not line.endswith(":") else line for line in body + tail))
    c = render("gather.c", fn=fn, prefix=prefix, buf_a=RAM_POINTERS, buf_b=RAM_POINTERS + na,
               pal_word=RAM_POINTERS + na + nb, ram_words=ram_words, ram_pointers=RAM_POINTERS,
               crc32=f"{spec.crc32:#010x}", num_colors=m, dtype="f16" if f16 else "f32",
               palette_offset=spec.palette_offset, value_bytes=spec.value_bytes,
               mean_offset=spec.mean_offset, dictionary_offset=spec.dictionary_offset,
               biases_offset=spec.biases_offset)
    return GatherKernel(c, asm, PUSHED + deepest, 4 * ram_words)
