"""The packed kernel: fixed-point C for FPU-less cores, generated per policy, reading the
blob's packed indices at run time.

The loadable fixed-point kernel (targets/firmware/chromatic_fixed.c) validates any blob at
init, converts its values into RAM and reads sizes and offsets from a model struct at every
row; this one is specialized to one policy: its values are constants in the formats of
targets/fixed_point.py (computed here, so the kernel is bit-exact with the numpy model), its
sizes and offsets are literals, and init only checks that the blob is the one it was
generated for (its CRC32: chromatic_check_generated). The indices stay in the blob, so flash
grows with b / 8 per edge (the unrolled kernel bakes them into code at ~4 B per edge).
Per row: windows of 25 // b indices (one unaligned 32-bit read each), one SMLAL per edge on
v7-M, per-color integer sums and one multiply per color on v6-M (the mailman form, where a
64-bit multiply is a library call); then the row's rounding, bias, saturation and
activation exactly as chromatic_fixed.c.
"""

from __future__ import annotations

import numpy as np

from chromatic.errors import ChromaticError
from chromatic.targets.spec import KernelSpec, require_dictionary
from chromatic.targets.templates import render

INT32_MAX = (1 << 31) - 1


def check(spec: KernelSpec) -> None:
    """A one-line error for a policy this generator cannot write."""
    require_dictionary(spec, "packed")
    if spec.index_bits > 25:
        raise ChromaticError("the packed kernel reads at most 25 index bits; use --kernel loadable")


def _ints(v) -> str:
    return ", ".join(str(int(x)) for x in np.asarray(v).ravel())


#: the frame of <prefix>_mul64 (packed.S.in, v6-M): it pushes r4 and r5
MUL64_FRAME = 8


def packed_asm(prefix: str) -> str:
    """<prefix>_packed.S: the exact 32 x 32 -> 64 product on v6-M (empty on other cores)."""
    return render("packed.S", fn=f"{prefix}_mul64")


def packed_kernel(prefix: str, spec: KernelSpec) -> str:
    """init/infer for an FPU-less target (after the blob array): packed.c.in."""
    from chromatic.targets.fixed_point import W_FRAC, FixedModel, c_activation, output_range

    check(spec)
    fx = FixedModel(spec.blob)
    sizes, b = spec.layer_sizes, spec.index_bits
    group = 25 // b
    na = spec.buffer_even
    bufs = ("a", "b")
    x_max, wide = fx.input_clamp, False
    layers, bias_off, forms = [], 0, set()
    last = spec.num_layers - 1
    for l, (n, out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        act = spec.activations[l]
        wide |= n * x_max > INT32_MAX  # a per-color int32 sum could overflow
        x, pos0 = bufs[l % 2], spec.index_bit_offsets()[l]
        # chromatic_fixed.c's cost model with v6-M's 64-bit multiply (fx_choose_mailman)
        form = "v6m_mailman" if n <= 32767 and 3 * n + spec.num_colors * 27 < 25 * n else "direct"
        forms.add(form)
        v = (f"chromatic_fx_sat32((({prefix}_row_{form}({pos0}u + i * {spec.row_bits[l]}u, {x}, {n}u) + "
             f"{1 << (W_FRAC - 1)}) >> {W_FRAC}) + {prefix}_bias[{bias_off}u + i])")
        v = c_activation(v, act, out)
        dst = "act[i] = chromatic_fx_output(v);" if l == last else f"{bufs[1 - l % 2]}[i] = v;"
        layers += [f"    for (i = 0; i < {out}u; i++) {{", f"        const int32_t v = {v};",
                   f"        {dst}", "    }"]
        bias_off += out
        x_max = output_range(act, out)
    biases = np.concatenate([np.asarray(bl).ravel() for bl in fx.biases])
    return render("packed.c", prefix=prefix, num_colors=spec.num_colors, palette=_ints(fx.palette),
                  num_biases=spec.num_biases, biases=_ints(biases), d0=spec.d0,
                  mean=_ints(fx.mean), inv_std=_ints(fx.inv_std),
                  buf_words=max(1, spec.buffer_even + spec.buffer_odd), buf_a=na,
                  crc32=f"{spec.crc32:#010x}", group=group, group_bits=group * b, bits=b,
                  mask=(1 << b) - 1, dictionary_offset=spec.dictionary_offset,
                  acc_type="int64_t" if wide else "int32_t", input_clamp=fx.input_clamp,
                  layers="\n".join(layers), any_direct=int("direct" in forms),
                  # int32 per-color sums (not wide) go through the same exact product
                  mailman_mul=(f"(int64_t){prefix}_w[k] * acc[k]" if wide
                               else f"CHROMATIC_PACKED_MUL({prefix}_w[k], acc[k])"),
                  any_mailman=int("v6m_mailman" in forms))
