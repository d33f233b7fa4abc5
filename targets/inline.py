"""The inline float kernel: C specialized to one policy's shapes, reading the blob's bits.

Layer sizes, the index width, the value dtype and every section offset become compile-time
constants, so the packed indices are decoded with constant shifts (one bit-field extract
per edge on v7-M) from one unaligned 32-bit window per group of indices, every loop bound
is known, and no model struct is read at inference. The indices and values still come
from the blob in flash (the honest bits: the smallest image); only the code is
specialized. `--kernel unrolled` (targets/unrolled.py) bakes the indices into the code
instead: faster, larger. Init checks that the blob is the one the code was generated for
(chromatic_check_generated: its CRC32 against the generator's, which validated it).
"""

from __future__ import annotations

from chromatic.targets.spec import KernelSpec, require_dictionary
from chromatic.targets.templates import render


def check(spec: KernelSpec) -> None:
    """A one-line error for a policy this generator cannot specialize."""
    require_dictionary(spec, "inline")


def inline_kernel(prefix: str, spec: KernelSpec) -> str:
    """init/infer for the glue file (the blob array is defined before): inline.c.in."""
    check(spec)
    blob_ = f"{prefix}_blob"
    layers = []
    for l, (pos, boff) in enumerate(zip(spec.index_bit_offsets(), spec.bias_offsets(), strict=True)):
        n, out = spec.layer_sizes[l], spec.layer_sizes[l + 1]
        x = f"{prefix}_a" if l % 2 == 0 else f"{prefix}_b"
        y = "act" if l == spec.num_layers - 1 else (f"{prefix}_b" if l % 2 == 0 else f"{prefix}_a")
        layers.append(f"    {prefix}_layer({pos}u, w, {x}, {y}, {blob_} + {boff}u, "
                      f"{n}u, {out}u, {spec.activations[l]}u);")
    if spec.f16:  # binary16: the palette is converted once per inference, onto the stack
        palette = render("inline_palette_f16.c", prefix=prefix, num_colors=spec.num_colors,
                         palette_offset=spec.palette_offset)
    else:  # float32: read in place
        palette = render("inline_palette_f32.c", prefix=prefix, palette_offset=spec.palette_offset)
    return render("inline.c", prefix=prefix, index_bits=spec.index_bits,
                  buffer_even=spec.buffer_even,
                  buffer_b=f", {prefix}_b[{spec.buffer_odd}u]" if spec.buffer_odd else "",  # none: one layer
                  crc32=f"{spec.crc32:#010x}", dtype="f16" if spec.f16 else "f32",
                  value_bytes=spec.value_bytes, dictionary_offset=spec.dictionary_offset,
                  palette=palette.removesuffix("\n"), d0=spec.d0, mean_offset=spec.mean_offset,
                  std_offset=spec.std_offset, layers="\n".join(layers),
                  row_end=("        pos = (pos + 7u) & ~7u; /* --pack rows: every row starts on a byte */\n"
                           if spec.row_aligned and spec.index_bits % 8 else ""))
