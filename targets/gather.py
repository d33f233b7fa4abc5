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
bits 8-31: a counter whose carry-out ends the loop). On a row-aligned blob (``--pack rows``)
the groups' phase is a constant, compiled into the UBFX positions: no shift, and r7 is only
the counter (31 instructions a group, 2 fewer a row; 3 fewer when the row's first index
ends mid-byte: the pointer lags a byte behind the row, and the first index's pre-indexed
load steps it over the previous row's padding). The ``n mod 8`` remaining indices of a
row are done first, with the bias (an f16 bias travels to the FPU with their colors); their
inputs x[0..t-1] are the same for every row, so one VLDM per layer keeps them in s17..;
one LDM reloads the row's slots (the tanh coefficients' address, y end, x, group count) at
the end of every row, before the activation.

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
|x0| > 1e4 or NaN is an unsigned compare of its bits without the sign against 1e4's (NaN's are
above inf's): VMOV, CMP with the operand shifted left by 1, and a branch over the fix (3
instructions); the rare bad value falls into the fix (+-1e4 by its sign, 0 for NaN; 6 more
instructions, in line: out of line it needs a branch back). The integer bits are what is
stored.

Init (C, in the glue) checks that the blob is the one the code was generated for (its CRC32
against the generator's: chromatic_check_generated; the generator validated it), writes the palette as float32
into RAM and then three pointers into the blob (means, indices or the byte before them,
biases; the first doubles as
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
TAIL_S = 17  # s17..: a layer's t = n mod 8 tail inputs, loaded once per layer (callee-saved too)
# infer pushes act (its only slot), r4-r11, lr and s16 (+ s17.. for the tail inputs); rows
# pushes the tanh coefficients' address, y end, x + 4t, the group count and its return address; the
# gathered words go through the stack below that (PUSH, then VPOP).
PUSHED = 11 * 4
ROWS_FRAME = 5 * 4
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


def _decode(nfields: int, b: int, regs: tuple[str, ...], post: int | None,
            phase: int | None = None, lag: bool = False) -> tuple[list[str], dict[int, str]]:
    """Load, shift and split the windows of nfields indices into color float bits.

    Returns the lines and field -> register. Each window's register ends up holding its
    last field, so nfields registers suffice. ``post``: advance r10 by that many bytes with
    the offset-0 load (which then goes last). ``phase``: None, the fields start at the bit
    phase in r7 (a shift per window); an int, at that constant bit (row-aligned rows: no shift).
    ``lag``: r10 is one byte before the fields; the offset-0 load steps it onto them (a
    pre-indexed ``[r10, #1]!``, last)."""
    wins = index_windows(nfields, b, phase)
    if (post or lag) and all(o for o, _ in wins):
        raise AssertionError("a post-incremented decode needs a window at offset 0")
    low = [r for r in regs if r != "lr"]
    wregs = low[len(low) - len(wins):]  # windows in the highest low registers
    free = [r for r in regs if r not in wregs]
    lines, reg_of = [], {}
    for (o, _), w in sorted(zip(wins, wregs, strict=True), key=lambda t: t[0][0] == 0):
        if o == 0 and post:
            lines.append(f"ldr.w   {w}, [r10], #{post}")
        elif o == 0 and lag:
            lines.append(f"ldr.w   {w}, [r10, #1]!")
        else:
            lines.append(f"ldr.w   {w}, [r10, #{o + lag}]")
    if phase is None:
        lines += [f"lsrs    {w}, {w}, r7" for w in wregs]
    for (o, fields), w in zip(wins, wregs, strict=True):
        for f in fields:
            r = w if f == fields[-1] else free.pop(0)
            lines.append(f"ubfx    {r}, {w}, #{(phase or 0) + f * b - 8 * o}, #{b}")
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


def _rows(key: tuple[int, bool, int], b: int, f16: bool, aligned: bool) -> tuple[list[str], int]:
    """One rows subroutine for layers with t = n mod 8 tail indices, groups or not, an activation.

    In: r0 the tanh coefficients, r1 4*rows, r2 x, r3 the group count (:func:`_group_count`), r7
    row phase (count bits 0), r9 palette, r10 the row's first index byte (or the byte before
    it, below), r11 bias, r12 y. The t tail inputs x[0..t-1]
    are the same for every row: one VLDM puts them in s17.. for the whole layer. It pushes its
    slots (tanh coefficients, y end, x + 4t, the group count) with its return address; one LDM
    reloads them at the end of every row (the group loop clobbers them), before the
    activation, which reads the coefficients through r0; the pop hands r0 back and the
    layer's x + 4t in r2 for the next layer's setup. Out: r7, r10, r11 at the next layer's
    first row. Also returns the most bytes it pushes.

    ``aligned`` (every row starts on a byte: ``--pack rows``, or whole-byte indices): r10 is at
    the row's first byte, the tail indices are at bit 0 and the groups at the constant phase
    t*b mod 8, so no window is shifted and r7 is only the group counter (32*(groups-1), -32 a
    group: a 16-bit SUBS; the one that borrows ends the loop); r10 steps over the row's
    padding bits once at its end, or, when the tail fits in the row's first byte
    (:func:`_lags`), r10 lags one byte behind the row and the tail's pre-indexed load steps it
    onto the row: the padding costs nothing."""
    t, groups, act = key
    lag = _lags(key, b, aligned)
    # aligned: the tail's load steps r10 to the groups' first byte (a row without groups: to
    # the next row); the groups' fields start at bit ``phase`` of their bytes
    tail_post, phase = (((t * b) // 8 if groups else (t * b + 7) // 8), (t * b) % 8) if aligned \
        else (None, None)

    def tail(n: int) -> tuple[list[str], dict[int, str]]:  # the row's n mod 8 first indices
        return _decode(n, b, TAIL_REGS, tail_post, 0 if aligned else None, lag)

    name = f".Lrows_{t}_{int(groups)}_{act}"
    out = [f"{name}:", "add     r1, r1, r12"]
    out += ["negs    r3, r3"] if groups and not aligned else []  # _group_count's convention
    if t:  # the tail inputs: in registers for the whole layer; r2 -> the first group's input
        out += [f"vldmia  r2!, {{{_sregs(TAIL_S, t)}}}"]
    out += ["push    {r0, r1, r2, r3, lr}", "ldm.w   sp, {r0, r1, r8, lr}", f"{name}_row:"]
    pushed = 0
    if t == 1:
        lines, reg_of = tail(1)
        out += lines
        w = reg_of[0]
        if f16:
            bias = "r6" if w != "r6" else "r5"
            out += [f"ldrh.w  {bias}, [r11], #2", f"vmov    s0, s1, {w}, {bias}",
                    f"vcvtb.f32.f16 {ACC}, s1"]
        else:
            out += [f"vmov    s0, {w}", f"vldmia  r11!, {{{ACC}}}"]
        out += [f"vfma.f32 {ACC}, s0, s{TAIL_S}"]
    elif f16 and 1 < t < len(TAIL_REGS):  # the f16 bias goes to the FPU with the colors
        lines, reg_of = tail(t)
        bias = next(r for r in TAIL_REGS if r not in reg_of.values())
        moves, s_of = _to_fpu({**reg_of, -1: bias})
        pushed = 4 * (t + 1)
        out += [f"ldrh.w  {bias}, [r11], #2", *lines, *moves,
                f"vcvtb.f32.f16 {ACC}, s{s_of[-1]}"]
        out += [f"vfma.f32 {ACC}, s{s_of[f]}, s{TAIL_S + f}" for f in range(t)]
    else:
        out += (["ldrh.w  r0, [r11], #2", f"vmov    {ACC}, r0", f"vcvtb.f32.f16 {ACC}, {ACC}"]
                if f16 else [f"vldmia  r11!, {{{ACC}}}"])
        if t:
            lines, reg_of = tail(t)
            moves, s_of = _to_fpu(reg_of)
            pushed = 4 * t
            out += lines + moves
            out += [f"vfma.f32 {ACC}, s{s_of[f]}, s{TAIL_S + f}" for f in range(t)]
    if t and not aligned:
        out += [f"adds    r7, r7, #{t * b}", "add.w   r10, r10, r7, lsr #3"]
    if groups:
        lines, reg_of = _decode(GROUP, b, GROUP_REGS, b, phase)
        moves, s_of = _to_fpu(reg_of)
        pushed = 4 * GROUP
        # the 8 colors go to s0-s7, the 8 inputs to s8-s15 (one VLDM); s16 accumulates
        out += ["mov     r7, lr" if aligned else "bfi     r7, lr, #3, #29", f"{name}_group:",
                *lines, *moves, "vldmia  r8!, {s8-s15}"]
        out += [f"vfma.f32 {ACC}, s{s_of[f]}, s{8 + f}" for f in range(GROUP)]
        out += ["subs    r7, #32", f"bcs     {name}_group"] if aligned else \
            ["adds.w  r7, r7, #256", f"bcc     {name}_group"]
        if aligned and phase and not lag:  # the padding bits: the next row starts a byte on
            out += ["add.w   r10, r10, #1"]
    elif t and not aligned:
        out += ["and     r7, r7, #7"]
    # reload the coefficients, y end, x and the group count (the decode clobbers them)
    out += ["ldm.w   sp, {r0, r1, r8, lr}"]
    if act == Activation.TANH:  # Q is monic: its Horner chain starts with an add, so 8 coefficients
        out += ["vldm    r0, {s0-s7}",
                f"vcvt.s32.f32 {ACC}, {ACC}, #{TANH_CLAMP_FBITS}",
                f"vcvt.f32.s32 {ACC}, {ACC}, #{TANH_CLAMP_FBITS}",
                f"vmul.f32 s8, {ACC}, {ACC}",
                "vfma.f32 s1, s8, s0", "vfma.f32 s2, s8, s1", "vfma.f32 s3, s8, s2",
                "vadd.f32 s4, s4, s8", "vfma.f32 s5, s8, s4", "vfma.f32 s6, s8, s5",
                "vfma.f32 s7, s8, s6", f"vmul.f32 s3, s3, {ACC}", f"vdiv.f32 {ACC}, s3, s7"]
    elif act == Activation.RELU:  # a negative float (sign bit set, -0 too) becomes +0
        out += [f"vmov    r2, {ACC}", "bic.w   r2, r2, r2, asr #31", f"vmov    {ACC}, r2"]
    out += [f"vstmia  r12!, {{{ACC}}}", "cmp     r12, r1", f"bne     {name}_row",
            "pop     {r0, r1, r2, r3, pc}"]
    return out, ROWS_FRAME + pushed


def _group_count(groups: int, aligned: bool) -> int:
    """r3 for a rows call with groups: bit-packed rows negate it and count -32*groups up to the
    carry-out (the counter shares r7 with the bit phase, which must come out intact);
    row-aligned rows count 32*(groups-1) down to the borrow (no NEGS)."""
    return 32 * (groups - 1) if aligned else 32 * groups


def _lags(key: tuple[int, bool, int], b: int, aligned: bool) -> bool:
    """Whether the rows subroutine for ``key`` wants r10 one byte before each row: row-aligned
    rows whose tail (t*b < 8 bits, one window) ends mid-byte before the groups, so the byte
    after the last group is the next row's first."""
    t, groups, _ = key
    return aligned and groups and 0 < t * b < 8


def _sregs(first: int, n: int) -> str:
    return f"s{first}" if n == 1 else f"s{first}-s{first + n - 1}"


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

    layer_keys = [(sizes[l] % GROUP, sizes[l] >= GROUP, act[l]) for l in range(nl)]
    keys = list(dict.fromkeys(layer_keys))  # one rows subroutine per key, in first-use order
    tails = max(k[0] for k in keys)  # s17.. saved for the widest tail
    tanh = any(k[2] == Activation.TANH for k in keys)
    saved = _sregs(16, 1 + tails)
    body = [
        "push    {r1, r4-r11, lr}", f"vpush   {{{saved}}}",
        "ldr     r2, .Lram", "ldmia.w r2!, {r5, r10, r11}", "cbnz    r5, .Lready",
        "movs    r0, #12", "b       .Lret",  # CHROMATIC_ERR_ARGUMENT: not initialized
        ".Lready:", f"addw    r9, r2, #{pal_off}", f"movs    r7, #{d0}",
        # the bad-observation rule (chromatic.h): r3 = OBS_LIMIT's bits << 1 (the sign shifted out)
        "ldr     r3, .Lobs",
        ".Lnorm:",  # r0 obs, r5 means, r2 -> a (ends at a + 4 d0); r7 ends at 0: the first phase
    ]
    if f16:
        body += [f"ldrh    r6, [r5, #{2 * d0}]", "ldrh.w  r4, [r5], #2", "vmov    s0, s1, r4, r6",
                 "vcvtb.f32.f16 s0, s0", "vcvtb.f32.f16 s1, s1"]
    else:
        body += [f"vldr    s1, [r5, #{4 * d0}]", "vldmia  r5!, {s0}"]
    body += ["vldmia  r0!, {s2}", "vsub.f32 s2, s2, s0", "vdiv.f32 s2, s2, s1",
             # |x0| > L or NaN: its bits without the sign above L's (NaN's are above inf's),
             # an unsigned compare; a good one branches over the fix: 0 for NaN (bits << 1
             # above inf's, 0xff000000), else +-L by the sign (LSLS puts it in C, which RRX
             # shifts in on top of L's bits)
             "vmov    r4, s2", "cmp.w   r3, r4, lsl #1", "bcs     .Lgood",
             "lsls    r6, r4, #1", "rrx     r4, r3", "cmp.w   r6, #0xff000000",
             "it      hi", "movhi   r4, #0",
             ".Lgood:", "stmia   r2!, {r4}", "subs    r7, #1", "bne     .Lnorm"]
    # r0: the tanh coefficients for every layer (each rows call pushes and pops it)
    body += ["adr     r0, .Ltanh"] if tanh else []
    # r10 lags one byte behind the rows of a layer whose subroutine wants it (_lags): init
    # stores the dictionary's address minus the first layer's lag, and a step between two
    # layers that differ in it puts r10 where the next one wants it
    lags = [_lags(key, b, spec.row_aligned) for key in layer_keys]
    for l in range(nl):
        n, out = sizes[l], sizes[l + 1]
        key = layer_keys[l]
        if l and lags[l] != lags[l - 1]:
            body += [f"{'sub' if lags[l] else 'add'}.w   r10, r10, #1"]
        skip = 4 * (sizes[l - 1] % GROUP) if l > 0 else 0  # rows hands back x + 4t in r2
        if l == last:  # y = act
            body += [f"ldr.w   r12, [sp, #{4 * (1 + tails)}]"]
        elif l == 0:  # y = b; r2 is at a + 4 d0
            body += ([f"add.w   r12, r2, #{buf_off[1] - 4 * d0}"] if buf_off[1] != 4 * d0
                     else ["mov     r12, r2"])
        elif skip:  # ping-pong: y = the previous layer's x
            body += [f"sub.w   r12, r2, #{skip}"]
        else:
            body += ["mov     r12, r2"]
        if l == 0:  # x = a
            body += _step("r2", -4 * d0)
        else:
            body += _step("r2", buf_off[l % 2] - buf_off[1 - l % 2] - skip)
        body += _const("r1", 4 * out)
        if n >= GROUP:
            body += _const("r3", _group_count(n // GROUP, spec.row_aligned))
        body += [f"bl      .Lrows_{key[0]}_{int(key[1])}_{key[2]}"]
    body += ["movs    r0, #0", ".Lret:", f"vpop    {{{saved}}}", "pop     {r1, r4-r11, pc}"]
    deepest = 0
    for key in keys:
        lines, pushed = _rows(key, b, f16, spec.row_aligned)
        body += lines
        deepest = max(deepest, pushed)
    consts = [*TANH_P[::-1], *TANH_Q[-2::-1]]  # Q's leading 1 is an add in the code
    tail = [".p2align 2"]
    if tanh:
        tail += [".Ltanh:"] + [f".word   {np.float32(c).view(np.uint32):#010x}  /* {c!r} */"
                               for c in consts]
    tail += [".Lobs:", f".word   {_OBS_BITS << 1:#010x}  /* OBS_LIMIT's bits << 1 */",
             ".Lram:", f".word   {prefix}_ram", ".ltorg"]
    fn = f"{prefix}_infer"
    asm = render("gather.S", fn=fn, body="\n".join(
        "    " + line if not line.endswith(":") else line for line in body + tail))
    c = render("gather.c", fn=fn, prefix=prefix, buf_a=RAM_POINTERS, buf_b=RAM_POINTERS + na,
               pal_word=RAM_POINTERS + na + nb, ram_words=ram_words, ram_pointers=RAM_POINTERS,
               crc32=f"{spec.crc32:#010x}", num_colors=m, dtype="f16" if f16 else "f32",
               palette_offset=spec.palette_offset, value_bytes=spec.value_bytes,
               mean_offset=spec.mean_offset, dictionary_offset=spec.dictionary_offset - lags[0],
               biases_offset=spec.biases_offset)
    return GatherKernel(c, asm, PUSHED + 4 * tails + deepest, 4 * ram_words)
