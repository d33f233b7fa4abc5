"""KernelSpec: everything the code generators read from a blob, computed once.

Every kernel (targets/kernels.py) and the glue (targets/render.py) render from one
KernelSpec instead of walking the decoded blob themselves: the layer sizes and activations,
the index width and value dtype, every section's byte offset, the ping-pong activation
buffers, and the blob's size and CRC32 (the init check of a generated kernel). Generators that
need the policy's numbers themselves (the unrolled kernel bakes in the partitions, the
fixed-point formats convert the palette) read ``spec.blob``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chromatic.compiler.blob import Blob, DType, row_bits
from chromatic.errors import ChromaticError


@dataclass(frozen=True)
class KernelSpec:
    """Plain ints (and the decoded blob) the generated code is specialized to."""

    blob: Blob = field(repr=False, compare=False)
    blob_bytes: int  # the blob's length
    crc32: int  # its CRC32 (what chromatic_check_generated compares at init)
    layer_sizes: tuple[int, ...]  # d0, hidden..., dl
    activations: tuple[int, ...]  # per layer, Activation codes (CHROMATIC_ACT_*)
    structure: str  # 'chromatic', 'toeplitz', ... (lower case)
    implicit: bool  # the partitions are a formula (toeplitz, ...), not stored indices
    index_bits: int  # bits per stored index (0: no dictionary, M = 1)
    row_bits: tuple[int, ...]  # per layer, stream bits from a row's first index to the next's
    f16: bool  # values are binary16 (else float32)
    num_colors: int  # M, the palette's length
    # byte offsets of the sections in the blob
    dictionary_offset: int
    palette_offset: int
    biases_offset: int
    mean_offset: int
    std_offset: int
    # ping-pong activations: layer l reads buffer l % 2 (even: the input too), the last writes act
    buffer_even: int
    buffer_odd: int  # 0 for a one-layer policy

    @property
    def d0(self) -> int:
        return self.layer_sizes[0]

    @property
    def dl(self) -> int:
        return self.layer_sizes[-1]

    @property
    def num_layers(self) -> int:
        return len(self.layer_sizes) - 1

    @property
    def max_width(self) -> int:
        return max(self.layer_sizes)

    @property
    def num_biases(self) -> int:
        return sum(self.layer_sizes[1:])

    @property
    def value_bytes(self) -> int:
        return 2 if self.f16 else 4

    def bias_offsets(self) -> tuple[int, ...]:
        """The byte offset of each layer's biases."""
        out, o = [], self.biases_offset
        for n in self.layer_sizes[1:]:
            out.append(o)
            o += self.value_bytes * n
        return tuple(out)

    def index_bit_offsets(self) -> tuple[int, ...]:
        """The bit offset of each layer's first index in the dictionary."""
        out, pos = [], 0
        for r, m in zip(self.row_bits, self.layer_sizes[1:], strict=True):
            out.append(pos)
            pos += r * m
        return tuple(out)

    @property
    def row_aligned(self) -> bool:
        """Every row's first index starts on a byte (``--pack rows``, or whole-byte indices)."""
        return all(r % 8 == 0 for r in self.row_bits)


def kernel_spec(blob: Blob) -> KernelSpec:
    """The one KernelSpec of a decoded blob."""
    p = blob.policy
    sizes = tuple(int(s) for s in p.layer_sizes)
    nl = len(p.layers)
    f16 = blob.dtype == DType.F16
    off = blob.layout.offsets()
    last = nl - 1
    return KernelSpec(
        blob=blob, blob_bytes=blob.layout.total, crc32=blob.crc32, layer_sizes=sizes,
        activations=tuple(int(p.activation(l)) for l in range(nl)),
        structure=p.structure.name.lower(), implicit=bool(p.structure.implicit),
        index_bits=int(blob.index_bits),
        row_bits=row_bits(sizes, int(blob.index_bits), blob.pack), f16=f16, num_colors=int(p.num_colors),
        dictionary_offset=off["dictionary"], palette_offset=off["palette"],
        biases_offset=off["biases"], mean_offset=off["normalization"],
        std_offset=off["normalization"] + (2 if f16 else 4) * sizes[0],
        buffer_even=max(sizes[k] for k in range(0, last + 1, 2)),
        buffer_odd=max([sizes[k] for k in range(1, last + 1, 2)] or [0]))


def require_dictionary(spec: KernelSpec, kernel: str) -> None:
    """The one-line errors of a kernel generated from the stored indices (``kernel`` is its
    name): it needs stored partitions (not a formula) and a dictionary (M > 1)."""
    if spec.implicit:
        raise ChromaticError(f"the {kernel} kernel needs stored partitions; structure "
                             f"{spec.structure!r} is not supported (use --kernel loadable)")
    if spec.index_bits == 0:
        raise ChromaticError(f"the {kernel} kernel needs a dictionary (M = 1 policies have none); "
                             "use --kernel loadable")


#: Bits a 32-bit little-endian window still holds after a shift by up to 7 (an index read at any
#: bit phase): the assembly kernels load one word and extract several indices from it.
WINDOW_BITS = 25


def index_windows(nfields: int, b: int, phase: int | None = None) -> list[tuple[int, list[int]]]:
    """(byte offset, fields) per 32-bit window. ``phase`` None: field k of ``b`` bits sits at
    bit k*b after a run-time shift by the row phase, so each window holds the fields that fit
    in its :data:`WINDOW_BITS`. An int: field k sits at bit phase + k*b, a constant (row-aligned
    dictionaries), so a window holds all 32 bits and needs no shift; field k then starts at bit
    ``phase + k*b - 8*offset`` of its window."""
    p, bits = (0, WINDOW_BITS) if phase is None else (phase, 32)
    out, k = [], 0
    while k < nfields:
        o, fields = (p + k * b) // 8, []
        while k < nfields and p + k * b + b <= 8 * o + bits:
            fields.append(k)
            k += 1
        out.append((o, fields))
    return out
