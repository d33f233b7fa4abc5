"""The gather kernel: Thumb-2 + FPv4 assembly for Cortex-M4F, generated per policy.

Per row it gathers the colors' float32 bits and does one FMA per edge (y_i = act(b_i +
sum_j w[Phi(i, j)] x_j)), reading the packed indices from the blob in flash. The hot loop
takes 8 indices at a time (8 * b bits = b whole bytes, so every group of a row starts at
the row's bit phase sh): two unaligned 32-bit windows shifted right by sh, one UBFX with a
constant position per index, one integer LDR of the color's float bits from a float32
palette in RAM (register offset, scaled: VLDR has no register offset), one 16-bit PUSH of
the 8 words (r0-r6, lr) and one VPOP into s0-s7, one VLDM of 8 inputs, 8 VFMA: 33
instructions per 8 edges. The bit phase and the group counter share one register (low byte:
the shift, which LSR-by-register reads; bits 8-31: a counter whose carry-out ends the loop).
The ``n mod 8`` remaining indices of a row are done first, with the bias.

Why gather and not the mailman form on this core: with a fused multiply-add the multiply is
free, so an edge costs decode + load + FMA; mailman would turn each edge into a
load-add-store of a per-color accumulator (plus one multiply per color and row), which is
more instructions, and per-color accumulators in registers cannot be indexed. The
``unrolled`` kernel is the mailman form with the indices baked into code (fewer
instructions, ~10x the flash).

tanh is an odd rational x P(x^2) / Q(x^2) of degree 7/8 (9 coefficients, fitted here for
float32 with FMA; |error| <= TANH_MAX_ABS_ERROR, tested), its argument clamped to (-8, 8) by
a round trip through signed Q3.28 fixed point (VCVT saturates): 13 instructions, no branch.

Init (C, in the glue) validates the blob with chromatic_init and writes the palette as
float32 into RAM; inference reads indices, biases and normalization from the blob.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compiler.blob import Blob, DType
from compiler.errors import ChromaticError
from compiler.ir import Activation

# tanh(x) ~= x * P(x^2) / Q(x^2) on |x| < 8 (minimax for float32 evaluation with FMA).
TANH_P = (0.9999993443489075, 0.12913662195205688, 0.0029388500843197107,
          1.1310459740343504e-05)
TANH_Q = (1.0, 0.46246761083602905, 0.02376391924917698, 0.0002370316069573164,
          2.423915645977104e-07)
TANH_CLAMP_FBITS = 28  # Q3.28: VCVT saturates to (-8, 8), truncating to 2^-28
TANH_MAX_ABS_ERROR = 5e-7

GROUP = 8  # indices per group: 8 * b bits is always whole bytes
GROUP_REGS = ("r0", "r1", "r2", "r3", "r4", "r5", "r6", "lr")  # low + lr: a 16-bit PUSH
TAIL_REGS = ("r0", "r1", "r2", "r3", "r4", "r5", "r6")  # lr holds the counter reset
WINDOW_BITS = 25  # bits a 32-bit window still holds after a shift by up to 7
# push {r0-r11, lr} + vpush {s16}: the pushed r0-r3 words are the slots (obs/yend, act, x,
# counter), so there is no separate frame; rows pushes its return address, and the gathered
# words go through the stack (PUSH, then VPOP into s0..).
PUSHED = 13 * 4 + 4
SLOT_YEND, SLOT_ACT, SLOT_X = 4, 8, 12  # from sp in infer (rows: +4)


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


def supported(cflags: tuple[str, ...]) -> bool:
    """Thumb-2 with a single-precision FPv4 and the hard-float ABI."""
    return "-mfpu=fpv4-sp-d16" in cflags and "-mfloat-abi=hard" in cflags


def _windows(nfields: int, b: int) -> list[tuple[int, list[int]]]:
    """(byte offset, fields) per 32-bit window: field k sits at bit k*b after the row phase."""
    out, k = [], 0
    while k < nfields:
        o, fields = (k * b) // 8, []
        while k < nfields and k * b + b <= 8 * o + WINDOW_BITS:
            fields.append(k)
            k += 1
        out.append((o, fields))
    return out


def _decode(nfields: int, b: int, regs: tuple[str, ...],
            post: int | None) -> tuple[list[str], dict[int, str]]:
    """Load, shift and split the windows of nfields indices into color float bits.

    Returns the lines and field -> register. Each window's register ends up holding its
    last field, so nfields registers suffice. ``post``: advance r10 by that many bytes with
    the offset-0 load (which then goes last)."""
    wins = _windows(nfields, b)
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


def _rows(key: tuple[int, bool, bool], b: int, f16: bool) -> tuple[list[str], int]:
    """One rows subroutine for layers with t = n mod 8 tail indices, groups or not, tanh or not.

    In: r1 x, r2 32*groups, r3 4*rows, r7 row phase (count bits 0), r9 palette, r10 row's
    first index byte, r11 bias, r12 y. Out: r7, r10, r11 at the next layer's first row,
    r12 at y end. Also returns the most bytes it pushes (the return address included)."""
    t, groups, tanh = key
    name = f".Lrows_{t}_{int(groups)}_{int(tanh)}"
    out = [f"{name}:", "push    {lr}", "negs    r2, r2", "add     r3, r12",
           f"strd    r1, r2, [sp, #{SLOT_X + 4}]",
           f"str     r3, [sp, #{SLOT_YEND + 4}]",
           f"{name}_row:", f"ldrd    r8, lr, [sp, #{SLOT_X + 4}]"]
    pushed = 0
    if t == 1:
        lines, reg_of = _decode(1, b, TAIL_REGS, None)
        out += lines
        w = reg_of[0]
        if f16:
            bias = "r6" if w != "r6" else "r5"
            out += [f"ldrh.w  {bias}, [r11], #2", f"vmov    s0, s1, {w}, {bias}",
                    "vcvtb.f32.f16 s16, s1"]
        else:
            out += [f"vmov    s0, {w}", "vldmia  r11!, {s16}"]
        out += ["vldmia  r8!, {s8}", "vfma.f32 s16, s0, s8"]
    else:
        out += (["ldrh.w  r0, [r11], #2", "vmov    s16, r0", "vcvtb.f32.f16 s16, s16"] if f16
                else ["vldmia  r11!, {s16}"])
        if t:
            lines, reg_of = _decode(t, b, TAIL_REGS, None)
            moves, s_of = _to_fpu(reg_of)
            pushed = 4 * t
            out += lines + moves + [f"vldmia  r8!, {{s8-s{7 + t}}}" if t > 1 else "vldmia  r8!, {s8}"]
            out += [f"vfma.f32 s16, s{s_of[f]}, s{8 + f}" for f in range(t)]
    if t:
        out += [f"adds    r7, r7, #{t * b}", "add.w   r10, r10, r7, lsr #3"]
    if groups:
        lines, reg_of = _decode(GROUP, b, GROUP_REGS, b)
        moves, s_of = _to_fpu(reg_of)
        pushed = 4 * GROUP
        out += ["bfi     r7, lr, #3, #29", f"{name}_group:", *lines, *moves, "vldmia  r8!, {s8-s15}"]
        out += [f"vfma.f32 s16, s{s_of[f]}, s{8 + f}" for f in range(GROUP)]
        out += ["adds.w  r7, r7, #256", f"bcc     {name}_group"]
    elif t:
        out += ["and     r7, r7, #7"]
    if tanh:
        out += ["adr     r0, .Ltanh", "vldm    r0, {s0-s8}",
                f"vcvt.s32.f32 s16, s16, #{TANH_CLAMP_FBITS}",
                f"vcvt.f32.s32 s16, s16, #{TANH_CLAMP_FBITS}",
                "vmul.f32 s9, s16, s16",
                "vfma.f32 s1, s9, s0", "vfma.f32 s2, s9, s1", "vfma.f32 s3, s9, s2",
                "vfma.f32 s5, s9, s4", "vfma.f32 s6, s9, s5", "vfma.f32 s7, s9, s6",
                "vfma.f32 s8, s9, s7", "vmul.f32 s3, s3, s16", "vdiv.f32 s16, s3, s8"]
    out += [f"ldr     r1, [sp, #{SLOT_YEND + 4}]", "vstmia  r12!, {s16}", "cmp     r12, r1",
            f"bne     {name}_row", "pop     {pc}"]
    return out, 4 + pushed


def _const(rd: str, imm: int) -> list[str]:
    return [f"movs    {rd}, #{imm}"] if imm < 256 else [f"movw    {rd}, #{imm}"]


def _add(rd: str, rn: str, imm: int) -> list[str]:
    if imm < 4096:
        return [f"addw    {rd}, {rn}, #{imm}"]
    return [f"ldr     {rd}, ={imm}", f"add     {rd}, {rd}, {rn}"]


@dataclass(frozen=True)
class GatherKernel:
    c_source: str  # init and the RAM block, for the glue file (after the blob array)
    asm: str  # <prefix>_infer
    stack_bytes: int  # the infer call's frame, for the .su file the assembler does not write
    ram_bytes: int


def gather_kernel(prefix: str, blob: Blob) -> GatherKernel:
    """The glue's init plus the assembly of infer, for one policy."""
    p = blob.policy
    if p.structure.implicit:
        raise ChromaticError(f"the gather kernel needs stored partitions; structure "
                             f"{p.structure.name.lower()!r} is not supported (use --kernel loadable)")
    b = blob.index_bits
    if b == 0:
        raise ChromaticError("the gather kernel needs a dictionary (M = 1 policies have none); "
                             "use --kernel loadable")
    if b > WINDOW_BITS - 7:
        raise ChromaticError(f"the gather kernel reads at most {WINDOW_BITS - 7} index bits; "
                             "use --kernel loadable")
    f16 = blob.dtype == DType.F16
    lay = blob.layout
    sizes = p.layer_sizes
    d0, m, nl = sizes[0], p.num_colors, len(p.layers)
    off = lay.offsets()
    dict_off = off["dictionary"]
    pal_off = off["palette"]
    bias_off = off["biases"]
    mean_off = off["normalization"]
    last = nl - 1
    # RAM: float32 palette, ping-pong activations (layer l reads a if l is even), and a word
    # that holds the blob's address once init has validated it (0 before: infer refuses).
    na = max(sizes[k] for k in range(0, last + 1, 2))
    nb = max([sizes[k] for k in range(1, last + 1, 2)] or [0])
    a_off, b_off = 4 * m, 4 * (m + na)  # from the palette (RAM byte 4)
    ram_bytes = 4 * (1 + m + na + nb)
    if ram_bytes > 4095 or d0 > 255 or max(sizes) > 4095 // 4:
        raise ChromaticError("the gather kernel addresses at most 4 KiB of RAM and 255 inputs "
                             "(use --kernel inline)")

    keys = []
    for l in range(nl):
        key = (sizes[l] % GROUP, sizes[l] >= GROUP, p.activation(l) == Activation.TANH)
        if key not in keys:
            keys.append(key)
    # RAM word 0: the blob's address once init has validated it; r9: the palette after it.
    body = [
        "push    {r0-r11, lr}", "vpush   {s16}",
        "ldr     r2, .Lram", "ldmia   r2!, {r3}", "mov     r9, r2", "cbnz    r3, .Lready",
        "movs    r0, #12", "b       .Lret",  # CHROMATIC_ERR_ARGUMENT: not initialized
        ".Lready:", *_add("r1", "r9", a_off), "mov     r12, r1",
        *_add("r2", "r3", mean_off), f"movs    r7, #{d0}",
        ".Lnorm:",
    ]
    if f16:
        body += [f"ldrh    r5, [r2, #{2 * d0}]", "ldrh.w  r6, [r2], #2", "vmov    s0, s1, r6, r5",
                 "vcvtb.f32.f16 s0, s0", "vcvtb.f32.f16 s1, s1"]
    else:
        body += [f"vldr    s1, [r2, #{4 * d0}]", "vldmia  r2!, {s0}"]
    body += ["vldmia  r0!, {s2}", "vsub.f32 s2, s2, s0", "vdiv.f32 s2, s2, s1",
             "vstmia  r12!, {s2}", "subs    r7, #1", "bne     .Lnorm",  # r7 = 0: row phase
             *_add("r10", "r3", dict_off), *_add("r11", "r3", bias_off)]
    for l in range(nl):
        n, out = sizes[l], sizes[l + 1]
        key = (n % GROUP, n >= GROUP, p.activation(l) == Activation.TANH)
        x_off, y_off = (a_off, b_off) if l % 2 == 0 else (b_off, a_off)
        if l:  # layer 0: r1 still holds buffer a from the normalization
            body += _add("r1", "r9", x_off)
        if n >= GROUP:
            body += _const("r2", 32 * (n // GROUP))
        if l == last:  # y = act
            body += [f"ldr.w   r12, [sp, #{SLOT_ACT}]"]
        elif not (l == 0 and a_off + 4 * d0 == y_off):  # else the normalization left r12 there
            body += _add("r12", "r9", y_off)
        body += _const("r3", 4 * out)
        body += [f"bl      .Lrows_{key[0]}_{int(key[1])}_{int(key[2])}"]
    body += ["movs    r0, #0", ".Lret:", "vpop    {s16}", "add     sp, #16",
             "pop     {r4-r11, pc}"]
    deepest = 0
    for key in keys:
        lines, pushed = _rows(key, b, f16)
        body += lines
        deepest = max(deepest, pushed)
    consts = [*TANH_P[::-1], *TANH_Q[::-1]]
    tail = [".p2align 2", ".Ltanh:"] + [f".word   {np.float32(c).view(np.uint32):#010x}  /* {c!r} */"
                                        for c in consts]
    tail += [".Lram:", f".word   {prefix}_ram", ".ltorg"]
    fn = f"{prefix}_infer"
    asm = "\n".join([
        f"/* {fn}: the gather kernel (targets/gather.py) for this policy only. */",
        ".syntax unified", ".thumb", ".fpu fpv4-sp-d16",
        f'.section .text.{fn},"ax",%progbits', f".global {fn}", f".type {fn}, %function",
        ".p2align 2", ".thumb_func", f"{fn}:",
        *("    " + line if not line.endswith(":") else line for line in body + tail),
        f".size {fn}, . - {fn}", ""])
    c = f"""#include <string.h>

/* RAM of {fn} ({prefix}_gather.S): at byte 0 the blob's address once init has validated it
   (0: not ready), then the palette as float32 (written here, gathered by integer loads there)
   and the activations (layer l reads the buffer at byte {4 + a_off} if l is even, at {4 + b_off}
   if odd). */
uint32_t {prefix}_ram[{ram_bytes // 4}u];

int {prefix}_init(void)
{{
    chromatic_model m; /* validation only: offsets and sizes are constants of the assembly */
    const uint8_t *blob = {prefix}_blob;
    uint32_t j;
    int rc = chromatic_init(&m, blob, sizeof {prefix}_blob);
    if (rc == CHROMATIC_OK && m.index_bits != {b}u) rc = CHROMATIC_ERR_HEADER;
    {prefix}_ram[0] = 0u;
    if (rc != CHROMATIC_OK) return rc;
    for (j = 0; j < {m}u; j++) {{
        float w;
#if {int(f16)}
        __fp16 h;
        memcpy(&h, blob + {pal_off}u + 2u * j, sizeof h);
        w = (float)h;
#else
        memcpy(&w, blob + {pal_off}u + 4u * j, sizeof w);
#endif
        memcpy(&{prefix}_ram[1u + j], &w, sizeof w);
    }}
    memcpy(&{prefix}_ram[0], &blob, sizeof blob);
    return rc;
}}
"""
    return GatherKernel(c, asm, PUSHED + deepest, ram_bytes)
