"""CRC-valid lies: a blob mutator for fuzzing the loaders (docs/safety.md).

A mutant is a valid blob with one to a few edits, **re-sealed** after every edit: the header's
total length is set to the real length and the CRC32 recomputed, so the CRC cannot hide a
loader bug and only the decoder's own checks stand between a lying header and the kernel.
The edits are the ones an attacker (or a bad radio link) would try: header fields and layer
sizes set to boundary values, M and the index width changed with the sections resized to
match (so the blob still passes the length checks and reaches the index and value checks),
index bits set to >= M, stored values set to 0 / -0 / NaN / inf / huge / subnormal, bodies
grown or shrunk, bits flipped. Two rare edits leave the length field or the CRC wrong on
purpose. Everything is driven by a ``numpy.random.Generator``, so a campaign is reproducible
from its seed.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from chromatic.compiler.blob import FIXED_HEADER, DType, Flag, align4, layout, pack_of
from chromatic.compiler.ir import Structure, implicit_num_colors, index_bits

# Boundary values for the u8 and u32 header fields and the u16 layer sizes.
U8 = (0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 63, 64, 65, 127, 128, 254, 255)
U16 = (0, 1, 2, 3, 7, 8, 255, 256, 257, 4095, 4096, 4097, 32767, 32768, 65534, 65535)
U32 = (0, 1, 2, 3, 4, 5, 15, 16, 17, 255, 256, 257, 65535, 65536, 65537, 1 << 24,
       (1 << 24) + 1, (1 << 31) - 1, 1 << 31, (1 << 32) - 2, (1 << 32) - 1)
COLORS = (1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 255, 256, 257, 511, 512, 513,
          4096, 65535, 65536, 65537, 1 << 20, (1 << 32) - 1)
# Special stored values (as float64; written in the blob's dtype).
SPECIALS = (0.0, -0.0, float("nan"), float("inf"), -float("inf"), 1e30, -1e30, 3.4028234e38,
            65504.0, -65504.0, 1e-30, 1e-40, 6e-8, -1.0, 1e6, 1.0)
MAX_FORGED = 1 << 21  # a resize that needs more bytes than this keeps the header only


@dataclass(frozen=True)
class Header:
    """The header fields as a lenient reader finds them (no check at all)."""

    version: int
    flags: int
    structure: int
    dtype: int
    hidden: int
    output: int
    bits: int
    colors: int
    sizes: tuple[int, ...]

    @property
    def value_bytes(self) -> int:
        return 2 if self.dtype == DType.F16 else 4


def parse(blob: bytes) -> Header | None:
    """The header of ``blob`` without validation, or None if it is too short to hold one."""
    if len(blob) < FIXED_HEADER.size:
        return None
    _, version, flags, st, dt, hidden, output, nl, bits, m, _ = FIXED_HEADER.unpack_from(blob)
    end = FIXED_HEADER.size + 2 * (nl + 1)
    if nl < 1 or len(blob) < end:
        return None
    sizes = struct.unpack_from(f"<{nl + 1}H", blob, FIXED_HEADER.size)
    return Header(version, flags, st, dt, hidden, output, bits, m, sizes)


def seal(blob: bytes | bytearray, length: bool = True, crc: bool = True) -> bytes:
    """Set the total-length field to the real length and recompute the CRC32 (last 4 bytes)."""
    out = bytearray(blob)
    if length and len(out) >= FIXED_HEADER.size:
        out[16:20] = struct.pack("<I", len(out))
    if crc and len(out) >= 4:
        out[-4:] = struct.pack("<I", zlib.crc32(bytes(out[:-4])))
    return bytes(out)


def consistent_bits(h: Header) -> int:
    """The index width the format implies for this header's M, structure and flags."""
    if h.structure in (Structure.TOEPLITZ, Structure.CIRCULANT, Structure.DENSE):
        return 0
    b = index_bits(max(h.colors, 1))
    return 8 * ((b + 7) // 8) if h.flags & Flag.BYTE_INDICES else b


def sections(blob: bytes, h: Header) -> tuple[bytes, bytes]:
    """(dictionary, values) bytes as ``h`` lays them out in ``blob``, zero-filled past its end."""
    lay = _layout(h)
    if lay is None:
        return b"", b""
    off = lay.offsets()
    d = blob[off["dictionary"] : off["dictionary"] + lay.dictionary]
    v = blob[off["palette"] : off["padding"]]
    return d.ljust(lay.dictionary, b"\0"), v.ljust(lay.palette + lay.biases + lay.normalization, b"\0")


def forge(h: Header, dictionary: bytes, values: bytes, rng: np.random.Generator) -> bytes:
    """A sealed blob with header ``h`` and sections sized for it, reusing the given bytes
    (cut, or extended with random bytes); just the sealed header if that would be huge."""
    lay = _layout(h)
    head = FIXED_HEADER.pack(b"CHRM", h.version & 0xFF, h.flags & 0xFF, h.structure & 0xFF,
                             h.dtype & 0xFF, h.hidden & 0xFF, h.output & 0xFF, (len(h.sizes) - 1) & 0xFF,
                             h.bits & 0xFF, h.colors & 0xFFFFFFFF, 0)
    head += struct.pack(f"<{len(h.sizes)}H", *(s & 0xFFFF for s in h.sizes))
    if lay is None or lay.total > MAX_FORGED:
        return seal(head.ljust(align4(len(head)), b"\0") + b"\0" * 4)
    nvalues = lay.palette + lay.biases + lay.normalization
    body = bytearray(head.ljust(lay.header, b"\0"))
    body += _fit(dictionary, lay.dictionary, rng) + b"\0" * lay.dictionary_padding
    body += _fit(values, nvalues, rng) + b"\0" * lay.padding + b"\0" * 4
    return seal(body)


def _fit(data: bytes, n: int, rng: np.random.Generator) -> bytes:
    if len(data) >= n:
        return data[:n]
    return data + rng.integers(0, 256, n - len(data), dtype=np.uint8).tobytes()


def _layout(h: Header):  # noqa: ANN202 - Layout | None
    if h.dtype not in (0, 1) or min(h.sizes) < 0:
        return None
    edges = sum(a * b for a, b in zip(h.sizes[:-1], h.sizes[1:], strict=True))
    if edges * max(h.bits, 0) > 8 * MAX_FORGED or h.colors > MAX_FORGED:
        return None
    return layout(h.sizes, h.colors, h.bits, DType(h.dtype), pack_of(h.flags) or "bits")


# -- the edits -------------------------------------------------------------------------------
# Each takes a (valid or already mutated) blob and the generator, and returns a sealed blob.
Edit = Callable[[bytes, np.random.Generator], bytes]


def _pick(rng: np.random.Generator, seq):  # noqa: ANN001, ANN202
    return seq[int(rng.integers(len(seq)))]


def edit_header_byte(blob: bytes, rng: np.random.Generator) -> bytes:
    """version, flags, structure, dtype, activations, L or b set to a boundary value."""
    if len(blob) < FIXED_HEADER.size:
        return edit_byte(blob, rng)
    out = bytearray(blob)
    out[int(rng.integers(4, 12))] = _pick(rng, U8) if rng.random() < 0.8 else int(rng.integers(256))
    return seal(out)


def edit_colors(blob: bytes, rng: np.random.Generator) -> bytes:
    """M (u32) set to a boundary value, sections left as they are."""
    if len(blob) < FIXED_HEADER.size:
        return edit_byte(blob, rng)
    out = bytearray(blob)
    out[12:16] = struct.pack("<I", _pick(rng, U32 + COLORS))
    return seal(out)


def edit_layer_size(blob: bytes, rng: np.random.Generator) -> bytes:
    """One u16 layer size set to a boundary value, sections left as they are."""
    h = parse(blob)
    if h is None:
        return edit_byte(blob, rng)
    out = bytearray(blob)
    k = int(rng.integers(len(h.sizes)))
    out[20 + 2 * k : 22 + 2 * k] = struct.pack("<H", _pick(rng, U16))
    return seal(out)


def edit_resize(blob: bytes, rng: np.random.Generator) -> bytes:
    """Change M, a layer size, L, the dtype or the packing and resize the sections to match
    (the index width follows M, or is off by one), so the lie passes the length checks."""
    h = parse(blob)
    if h is None:
        return edit_byte(blob, rng)
    d, v = sections(blob, h)
    what = int(rng.integers(6))
    if what == 0:
        h = replace(h, colors=_pick(rng, COLORS))
    elif what == 1:
        k = int(rng.integers(len(h.sizes)))
        s = list(h.sizes)
        s[k] = _pick(rng, (0, 1, 2, s[k] - 1, s[k] + 1, 2 * s[k], 64, 300, 4096, 65535))
        h = replace(h, sizes=tuple(x & 0xFFFF for x in s))
    elif what == 2:
        s = list(h.sizes)
        if rng.random() < 0.5 and len(s) > 2:
            del s[int(rng.integers(1, len(s)))]
        else:
            s.insert(int(rng.integers(1, len(s))), int(rng.integers(1, 9)))
        h = replace(h, sizes=tuple(s))
    elif what == 3:
        h = replace(h, dtype=1 - h.dtype if h.dtype in (0, 1) else 0)
    elif what == 4:
        # either packing flag, picked by M (no extra draw: the campaigns' streams stay as they were)
        h = replace(h, flags=h.flags ^ (Flag.ROW_ALIGNED if h.colors % 2 else Flag.BYTE_INDICES))
    else:
        h = replace(h, structure=int(rng.integers(5)))
    if h.structure in (Structure.TOEPLITZ, Structure.CIRCULANT, Structure.DENSE) and rng.random() < 0.7 \
            and min(h.sizes) > 0:
        h = replace(h, colors=implicit_num_colors(Structure(h.structure), h.sizes))
    bits = consistent_bits(h)
    if rng.random() < 0.1:
        bits = max(0, bits + _pick(rng, (-1, 1, 8)))
    return forge(replace(h, bits=bits), d, v, rng)


def edit_index(blob: bytes, rng: np.random.Generator) -> bytes:
    """One edge's color set to M, 2^b - 1 or a random b-bit value (bit-exact in the stream)."""
    h = parse(blob)
    lay = _layout(h) if h is not None else None
    if h is None or lay is None or h.bits <= 0 or lay.dictionary == 0 or lay.total > len(blob):
        return edit_byte(blob, rng)
    edges = (lay.dictionary * 8) // h.bits
    k = int(rng.integers(max(edges, 1)))
    top = (1 << h.bits) - 1
    value = _pick(rng, (min(h.colors, top), top, max(h.colors - 1, 0), int(rng.integers(top + 1))))
    out = bytearray(blob)
    pos = lay.header * 8 + k * h.bits
    for i in range(h.bits):
        byte, bit = divmod(pos + i, 8)
        out[byte] = (out[byte] & ~(1 << bit)) | (((value >> i) & 1) << bit)
    return seal(out)


def edit_dictionary_byte(blob: bytes, rng: np.random.Generator) -> bytes:
    """A byte of the dictionary set to 0xFF or a random value."""
    h = parse(blob)
    lay = _layout(h) if h is not None else None
    if lay is None or lay.dictionary == 0 or lay.header + lay.dictionary > len(blob) - 4:
        return edit_byte(blob, rng)
    out = bytearray(blob)
    out[lay.header + int(rng.integers(lay.dictionary))] = _pick(rng, (0xFF, int(rng.integers(256))))
    return seal(out)


def edit_value(blob: bytes, rng: np.random.Generator) -> bytes:
    """A palette, bias, mean or std value set to 0, -0, NaN, inf, huge, subnormal, negative."""
    h = parse(blob)
    lay = _layout(h) if h is not None else None
    if h is None or lay is None or lay.total > len(blob):
        return edit_byte(blob, rng)
    off, v = lay.offsets(), h.value_bytes
    region = _pick(rng, ("palette", "biases", "normalization", "std", "std"))
    if region == "std":
        start, size = off["normalization"] + lay.normalization // 2, lay.normalization // 2
    else:
        start, size = off[region], getattr(lay, region)
    if size < v:
        return edit_byte(blob, rng)
    slot = start + v * int(rng.integers(size // v))
    x = _pick(rng, SPECIALS)
    with np.errstate(over="ignore"):
        raw = np.asarray([x], np.dtype("<f2") if v == 2 else np.dtype("<f4")).tobytes()
    out = bytearray(blob)
    out[slot : slot + v] = raw
    return seal(out)


def edit_grow_shrink(blob: bytes, rng: np.random.Generator) -> bytes:
    """Insert or delete 1-16 bytes anywhere (the end included)."""
    out = bytearray(blob)
    at = int(rng.integers(len(out) + 1))
    n = int(rng.integers(1, 17))
    if rng.random() < 0.5:
        out[at:at] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    else:
        del out[at : at + n]
    return seal(out)


def edit_truncate(blob: bytes, rng: np.random.Generator) -> bytes:
    """Cut the blob at a random length (then re-seal what is left)."""
    return seal(blob[: int(rng.integers(len(blob) + 1))])


def edit_bit(blob: bytes, rng: np.random.Generator) -> bytes:
    if not blob:
        return blob
    out = bytearray(blob)
    k = int(rng.integers(8 * len(out)))
    out[k // 8] ^= 1 << (k % 8)
    return seal(out)


def edit_byte(blob: bytes, rng: np.random.Generator) -> bytes:
    if not blob:
        return blob
    out = bytearray(blob)
    out[int(rng.integers(len(out)))] = int(rng.integers(256))
    return seal(out)


def edit_total_length(blob: bytes, rng: np.random.Generator) -> bytes:
    """The total-length field lies (the CRC is recomputed over the lie)."""
    if len(blob) < FIXED_HEADER.size:
        return edit_byte(blob, rng)
    out = bytearray(blob)
    out[16:20] = struct.pack("<I", _pick(rng, (0, 1, len(out) - 1, len(out) + 1, len(out) + 4,
                                                (1 << 32) - 1)) & 0xFFFFFFFF)
    return seal(out, length=False)


def edit_crc(blob: bytes, rng: np.random.Generator) -> bytes:
    """The CRC is wrong (the only edit that is not re-sealed)."""
    if len(blob) < 4:
        return edit_byte(blob, rng)
    out = bytearray(blob)
    out[-1 - int(rng.integers(4))] ^= 1 << int(rng.integers(8))
    return bytes(out)


#: (edit, weight): header lies and consistent resizes dominate, they reach the deepest checks.
EDITS: tuple[tuple[Edit, float], ...] = (
    (edit_header_byte, 3), (edit_colors, 2), (edit_layer_size, 2), (edit_resize, 5),
    (edit_index, 4), (edit_dictionary_byte, 2), (edit_value, 5), (edit_grow_shrink, 2),
    (edit_truncate, 1), (edit_bit, 2), (edit_byte, 2), (edit_total_length, 0.5), (edit_crc, 0.3),
)
_CUMULATIVE = np.cumsum([w for _, w in EDITS]) / sum(w for _, w in EDITS)


def mutate(blob: bytes, rng: np.random.Generator, max_edits: int = 3) -> tuple[bytes, tuple[str, ...]]:
    """One mutant of ``blob``: 1 to ``max_edits`` edits, each re-sealed; and the edits' names."""
    names = []
    for _ in range(int(rng.integers(1, max_edits + 1))):
        edit = EDITS[min(int(np.searchsorted(_CUMULATIVE, rng.random(), side="right")), len(EDITS) - 1)][0]
        blob = edit(blob, rng)
        names.append(edit.__name__.removeprefix("edit_"))
    return blob, tuple(names)


def stored_values(blob: bytes) -> np.ndarray | None:
    """The float64 values of a blob that a decoder accepted (None if the header is unusable)."""
    h = parse(blob)
    lay = _layout(h) if h is not None else None
    if h is None or lay is None or lay.total != len(blob) or min(h.sizes) < 1:
        return None
    dt = np.dtype("<f2") if h.value_bytes == 2 else np.dtype("<f4")
    off = lay.offsets()["palette"]
    n = (lay.palette + lay.biases + lay.normalization) // h.value_bytes
    with np.errstate(invalid="ignore"):
        return np.frombuffer(blob, dt, count=n, offset=off).astype(np.float64)


def moderate(blob: bytes, limit: float = 1e3, min_std: float = 1e-3) -> bool:
    """Whether an accepted blob's values are moderate enough that every runtime must agree
    with the reference within float32 rounding (|value| <= limit, std >= min_std)."""
    h = parse(blob)
    values = stored_values(blob)
    if h is None or values is None:
        return False
    std = values[values.size - h.sizes[0] :]
    with np.errstate(invalid="ignore"):
        return bool(values.size and np.isfinite(values).all() and np.abs(values).max() <= limit
                    and std.min() >= min_std)
