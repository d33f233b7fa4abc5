"""Blob format v1 (.cblob): encode a Policy into bytes and decode it back.

The byte-by-byte specification is docs/blob-format.md; this module is its executable
form and the decoder every other runtime is compared with. Everything is
little-endian; every section starts 4-byte aligned so a Cortex-M can read floats in place.

Decoding never trusts the header: sizes are checked against hard limits and against
the real length *before* anything is allocated, then the CRC32 is verified.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from chromatic.compiler.ir import (
    Activation,
    Layer,
    Normalization,
    Policy,
    Structure,
    canonical_partitions,
    implicit_num_colors,
    index_bits,
)
from chromatic.compiler.limits import MAX_EDGES, MAX_INDEX_BITS, MAX_LAYERS, check_sizes
from chromatic.compiler.passes.pack import pack_indices, pack_rows, row_stride, unpack_indices
from chromatic.errors import BlobError, ChromaticError

MAGIC = b"CHRM"
VERSION = 1
FIXED_HEADER = struct.Struct("<4sBBBBBBBBII")  # magic .. total_length: 20 bytes
# The format's limits (MAX_LAYERS, MAX_INDEX_BITS, MAX_EDGES) live in compiler/limits.py.


class DType(enum.IntEnum):
    """Storage dtype of palette, biases and normalization. Wire/C values: CHROMATIC_DTYPE_*."""

    F32 = 0
    F16 = 1

    @property
    def numpy(self) -> np.dtype:
        return np.dtype("<f4") if self == DType.F32 else np.dtype("<f2")

    @property
    def label(self) -> str:
        return self.name.lower()


class Flag(enum.IntFlag):
    """Header flag bits. Wire/C values: CHROMATIC_FLAG_*."""

    BYTE_INDICES = 1  # indices rounded up to whole bytes (--pack bytes)
    ROW_ALIGNED = 2  # every row of indices starts on a byte (--pack rows)


PACK_MODES = ("bits", "bytes", "rows")
PACK_FLAGS = {"bits": Flag(0), "bytes": Flag.BYTE_INDICES, "rows": Flag.ROW_ALIGNED}


def align4(n: int) -> int:
    return (n + 3) & ~3


def index_width(num_colors: int, structure: Structure, pack: str) -> int:
    """Bits per stored edge index: 0 for implicit structures or M == 1."""
    if structure.implicit:
        return 0
    b = index_bits(num_colors)
    return 8 * ((b + 7) // 8) if pack == "bytes" else b


def pack_of(flags: int) -> str | None:
    """The packing a header's flag bits name, or None for unknown or clashing bits."""
    return next((p for p, f in PACK_FLAGS.items() if int(f) == flags), None)


def row_bits(sizes: tuple[int, ...], bits: int, pack: str) -> tuple[int, ...]:
    """Per layer, the stream bits from one row's first index to the next's (docs/blob-format.md)."""
    return tuple(row_stride(n, bits) if pack == "rows" else n * bits for n in sizes[:-1])


@dataclass(frozen=True)
class Layout:
    """Byte offsets and sizes of every section; the single source for encoder, decoder and bits."""

    header: int  # header bytes including its padding
    dictionary: int  # packed index bytes (no padding)
    dictionary_padding: int
    palette: int
    biases: int
    normalization: int
    padding: int  # before the CRC
    crc: int = 4

    @property
    def total(self) -> int:
        return (
            self.header
            + self.dictionary
            + self.dictionary_padding
            + self.palette
            + self.biases
            + self.normalization
            + self.padding
            + self.crc
        )

    def offsets(self) -> dict[str, int]:
        o, out = 0, {}
        for name in (
            "header",
            "dictionary",
            "dictionary_padding",
            "palette",
            "biases",
            "normalization",
            "padding",
            "crc",
        ):
            out[name] = o
            o += getattr(self, name)
        return out


def layout(layer_sizes: tuple[int, ...], num_colors: int, bits: int, dtype: DType,
           pack: str = "bits") -> Layout:
    """Section sizes for a blob with these parameters (pure integer arithmetic)."""
    rows = row_bits(layer_sizes, bits, pack)
    header_raw = FIXED_HEADER.size + 2 * len(layer_sizes)
    dictionary = (sum(r * out for r, out in zip(rows, layer_sizes[1:], strict=True)) + 7) // 8
    v = dtype.numpy.itemsize
    values = v * (num_colors + sum(layer_sizes[1:]) + 2 * layer_sizes[0])
    return Layout(
        header=align4(header_raw),
        dictionary=dictionary,
        dictionary_padding=align4(dictionary) - dictionary,
        palette=v * num_colors,
        biases=v * sum(layer_sizes[1:]),
        normalization=v * 2 * layer_sizes[0],
        padding=align4(values) - values,
    )


@dataclass(frozen=True, eq=False)
class Blob:
    """A decoded blob: the policy it holds and how it was stored."""

    policy: Policy
    dtype: DType
    pack: str
    index_bits: int
    layout: Layout
    crc32: int


def encode(policy: Policy, dtype: DType, pack: str) -> bytes:
    """Serialize a canonical, quantized policy (see compiler/compile.py for the pipeline)."""
    if pack not in PACK_MODES:
        raise ValueError(f"pack must be one of {PACK_MODES}")
    sizes = policy.layer_sizes
    try:  # the limits every loader enforces: never write a blob nothing can load
        check_sizes(sizes, policy.num_colors, policy.structure.name.lower(), what="blob")
    except ChromaticError as e:
        raise BlobError(str(e)) from None
    bits = index_width(policy.num_colors, policy.structure, pack)
    if bits > MAX_INDEX_BITS:
        raise BlobError(
            f"M={policy.num_colors} colors need {bits}-bit indices; the format allows {MAX_INDEX_BITS}"
        )
    if len(policy.layers) > MAX_LAYERS:
        raise BlobError(f"{len(policy.layers)} layers; the format allows {MAX_LAYERS}")
    lay = layout(sizes, policy.num_colors, bits, dtype, pack)
    flags = PACK_FLAGS[pack]
    head = FIXED_HEADER.pack(
        MAGIC,
        VERSION,
        int(flags),
        int(policy.structure),
        int(dtype),
        int(policy.hidden_activation),
        int(policy.output_activation),
        len(policy.layers),
        bits,
        policy.num_colors,
        lay.total,
    ) + struct.pack(f"<{len(sizes)}H", *sizes)
    out = bytearray(head.ljust(lay.header, b"\0"))
    if bits:
        if pack == "rows":
            packed = b"".join(pack_rows(layer.partition, bits) for layer in policy.layers)
        else:
            packed = pack_indices(np.concatenate([la.partition.ravel() for la in policy.layers]), bits)
        out += packed.ljust(lay.dictionary + lay.dictionary_padding, b"\0")
    dt = dtype.numpy
    for arr in (
        policy.palette,
        *(layer.bias for layer in policy.layers),
        policy.normalization.mean,
        policy.normalization.std,
    ):
        out += np.asarray(arr).astype(dt).tobytes()
    out += b"\0" * lay.padding
    out += struct.pack("<I", zlib.crc32(out))
    assert len(out) == lay.total
    return bytes(out)


class Status(enum.IntEnum):
    """Why a blob is refused: the C kernel's chromatic_status codes (targets/c/chromatic.h).

    Every loader checks in the same order (docs/blob-format.md, "Checks a decoder must
    make"), so a refused blob carries the same code in Python (``BlobError.code``) and C.
    """

    OK = 0
    TRUNCATED = 2
    MAGIC = 3
    VERSION = 4
    LENGTH = 5
    HEADER = 6
    TOO_LARGE = 7
    CRC = 8
    INDEX = 9
    VALUE = 10


def blob_bytes(data: object) -> bytes:
    """The blob as ``bytes`` from any bytes-like object; anything else is a BlobError."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        raise BlobError("a blob must be bytes, found str (read the file in binary mode)")
    try:
        return memoryview(data).tobytes()  # type: ignore[arg-type]
    except (TypeError, ValueError, BufferError) as e:
        raise BlobError(f"a blob must be bytes, found {type(data).__name__} ({e})") from None


def _fail(code: Status, message: str) -> BlobError:
    return BlobError(message, int(code))


def decode(data: bytes) -> Blob:
    """Parse and verify a blob; raise BlobError (with ``code``) with one clear line on any problem.

    The checks and their order are chromatic_init's (targets/c/chromatic.c): nothing is
    allocated or read from a size the header claims before it is bounded by the real length.
    """
    data = blob_bytes(data)
    n = len(data)
    if n < FIXED_HEADER.size:
        raise _fail(Status.TRUNCATED, f"truncated blob: {n} bytes, a header alone needs {FIXED_HEADER.size}")
    (magic, version, flags, structure, dtype, hidden, output, num_layers, bits, num_colors, total) = (
        FIXED_HEADER.unpack_from(data)
    )
    if magic != MAGIC:
        raise _fail(Status.MAGIC, f"not a chromatic blob: magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise _fail(
            Status.VERSION, f"unsupported blob version {version}; this chromatic reads version {VERSION}"
        )
    if total != n:
        raise _fail(
            Status.LENGTH,
            f"blob length mismatch: header says {total} bytes, found {n} (truncated or padded?)",
        )
    _check_enum("structure", structure, Structure)
    _check_enum("dtype", dtype, DType)
    _check_enum("hidden activation", hidden, Activation)
    _check_enum("output activation", output, Activation)
    pack = pack_of(flags)
    if pack is None:
        raise _fail(Status.HEADER, f"corrupt blob: unknown or clashing flag bits 0x{flags:02x}")
    if not 1 <= num_layers <= MAX_LAYERS:
        raise _fail(Status.HEADER, f"corrupt blob: {num_layers} layers, expected 1 to {MAX_LAYERS}")
    sizes_end = FIXED_HEADER.size + 2 * (num_layers + 1)
    if n < sizes_end:
        raise _fail(Status.TRUNCATED, f"truncated blob: {n} bytes, the header needs {sizes_end}")
    sizes = struct.unpack_from(f"<{num_layers + 1}H", data, FIXED_HEADER.size)
    if min(sizes) < 1:
        raise _fail(Status.HEADER, f"corrupt blob: layer sizes {list(sizes)} contain 0")
    edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if edges > MAX_EDGES:
        raise _fail(Status.TOO_LARGE, f"blob too large: {edges} edges, the format allows {MAX_EDGES}")
    struct_ = Structure(structure)
    if num_colors < 1:
        raise _fail(Status.HEADER, "corrupt blob: M = 0 colors")
    if struct_.implicit and num_colors != implicit_num_colors(struct_, sizes):
        raise _fail(
            Status.HEADER,
            f"corrupt blob: {struct_.name.lower()} layer sizes {list(sizes)} "
            f"imply {implicit_num_colors(struct_, sizes)} colors, header says {num_colors}",
        )
    expected_bits = index_width(num_colors, struct_, pack)
    if bits != expected_bits:
        raise _fail(
            Status.HEADER,
            f"corrupt blob: index width {bits} bits, expected {expected_bits} for M={num_colors}",
        )
    if bits > MAX_INDEX_BITS:
        raise _fail(
            Status.TOO_LARGE,
            f"blob too large: M={num_colors} colors need {bits}-bit indices, "
            f"the format allows {MAX_INDEX_BITS}",
        )
    lay = layout(sizes, num_colors, bits, DType(dtype), pack)  # Python ints: no overflow
    if lay.total != n:
        raise _fail(Status.LENGTH, f"corrupt blob: sections need {lay.total} bytes, blob has {n}")
    stored_crc = struct.unpack_from("<I", data, n - 4)[0]
    if zlib.crc32(memoryview(data)[: n - 4]) != stored_crc:
        raise _fail(Status.CRC, "corrupt blob: CRC32 mismatch")
    if num_layers > 1 and hidden == Activation.IDENTITY:
        raise _fail(
            Status.HEADER, "corrupt blob: hidden activation 'identity', expected 'tanh' or 'relu'"
        )
    # Only now is it safe to materialize arrays: every size is bounded by n.
    off = lay.offsets()
    if bits:
        dictionary = memoryview(data)[off["dictionary"] :]
        if pack == "rows":  # every layer starts on a byte: one stream of rows per layer
            chunks, at = [], 0
            for inp, out, r in zip(sizes[:-1], sizes[1:], row_bits(sizes, bits, pack), strict=True):
                chunks.append(unpack_indices(dictionary[at:], out * inp, bits, row=inp))
                at += out * r // 8
            flat = np.concatenate(chunks)
        else:
            flat = unpack_indices(dictionary, edges, bits)
        top = int(flat.max())
        if top >= num_colors:
            raise _fail(Status.INDEX, f"corrupt blob: color index {top} >= M={num_colors}")
        parts, start = [], 0
        for inp, out in zip(sizes[:-1], sizes[1:], strict=True):
            parts.append(flat[start : start + out * inp].reshape(out, inp))
            start += out * inp
    elif struct_.implicit:
        parts = canonical_partitions(struct_, sizes)
    else:  # M == 1: every edge has color 0
        parts = [np.zeros((out, inp), np.int64) for inp, out in zip(sizes[:-1], sizes[1:], strict=True)]
    dt = DType(dtype).numpy
    values = np.frombuffer(
        data,
        dtype=dt,
        offset=off["palette"],
        count=(lay.palette + lay.biases + lay.normalization) // dt.itemsize,
    )
    with np.errstate(invalid="ignore"):  # a NaN's payload may not survive the cast; it stays NaN
        values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise _fail(Status.VALUE, "corrupt blob: a stored value is NaN or inf")
    d0 = sizes[0]
    std = values[values.size - d0 :]
    if not (std > 0).all():
        raise _fail(Status.VALUE, f"corrupt blob: obs_std {float(std[~(std > 0)][0])!r}, expected > 0")
    # -0.0 == 0.0: a pruned weight stored as -0 is still exactly 0 (as chromatic_init)
    if struct_ == Structure.MASKED and values[0] != 0.0:
        raise _fail(Status.VALUE, f"corrupt blob: masked weights[0] = {float(values[0])!r}, expected 0")
    palette, values = values[:num_colors], values[num_colors:]
    layers = []
    for part in parts:
        layers.append(Layer(part, values[: part.shape[0]]))
        values = values[part.shape[0] :]
    norm = Normalization(values[:d0], values[d0 : 2 * d0])
    policy = Policy(
        layers=tuple(layers),
        palette=palette,
        normalization=norm,
        structure=struct_,
        hidden_activation=Activation(hidden),
        output_activation=Activation(output),
    )
    try:
        policy.validate()  # every rule above implies it; a failure here is a decoder bug
    except ChromaticError as e:
        raise _fail(Status.VALUE, f"corrupt blob: {e}") from None
    return Blob(policy, DType(dtype), pack, bits, lay, stored_crc)


def _check_enum(what: str, value: int, enum_type: type[enum.IntEnum]) -> None:
    if value not in {int(e) for e in enum_type}:
        raise _fail(Status.HEADER, f"corrupt blob: unknown {what} code {value}")
