import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chromatic.compiler.bits import bit_report
from chromatic.compiler.blob import FIXED_HEADER, Status, decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy
from chromatic.errors import BlobError, ChromaticError
from chromatic.runtime.reference import forward
from tests.strategies import policies

GOLDEN = Path(__file__).parent / "golden"


def dense_forward(policy, obs):
    """An independent oracle: expand the colors to dense float64 matrices and matmul."""
    std = np.where(policy.normalization.std == 0, 1.0, policy.normalization.std)
    x = (obs - policy.normalization.mean) / std
    for l, layer in enumerate(policy.layers):
        w = np.array([[policy.palette[c] for c in row] for row in layer.partition])
        x = w @ x + layer.bias
        act = policy.activation(l)
        x = np.tanh(x) if act == Activation.TANH else np.where(x > 0, x, 0.0) if act == Activation.RELU else x
    return x


@given(
    policy=policies(),
    dtype=st.sampled_from(["f32", "f16"]),
    pack=st.sampled_from(["bits", "bytes", "rows"]),
    seed=st.integers(0, 1000),
)
def test_policy_blob_reference_matches_dense_expansion(policy, dtype, pack, seed):
    blob = decode(compile_policy(policy, dtype, pack))
    obs = np.random.default_rng(seed).normal(size=policy.layer_sizes[0])
    # The blob's values are the policy's rounded to the storage dtype; compare against
    # a dense expansion of those rounded values, and against the original within f16 error.
    expected = dense_forward(blob.policy, obs)
    np.testing.assert_allclose(forward(blob.policy, obs), expected, rtol=1e-12, atol=1e-12)
    if dtype == "f32":
        orig = dense_forward(policy, obs.astype(np.float32).astype(np.float64))
        np.testing.assert_allclose(expected, orig, rtol=1e-4, atol=1e-4)


@given(policy=policies(), dtype=st.sampled_from(["f32", "f16"]),
       pack=st.sampled_from(["bits", "bytes", "rows"]))
def test_encode_decode_encode_is_identity(policy, dtype, pack):
    data = compile_policy(policy, dtype, pack)
    assert compile_policy(decode(data).policy, dtype, pack) == data


@given(policy=policies())
def test_budget_blob_bits_equal_sum_of_parts(policy):
    report = bit_report(decode(compile_policy(policy)))
    assert report.blob_bits == sum(report.parts.values())
    assert report.blob_bits == 8 * len(compile_policy(policy))


def test_f32_is_bit_exact_for_float32_inputs():
    p = random_policy((17, 41, 6), 17, seed=3)
    p32 = p.replace(palette=p.palette.astype(np.float32).astype(np.float64))
    d = decode(compile_policy(p32, "f32")).policy
    assert d.palette.tobytes() == p32.palette.tobytes()
    for a, b in zip(d.layers, p32.layers, strict=True):
        np.testing.assert_array_equal(a.partition, b.partition)


def test_size_limits_for_17_41_6_with_17_colors():
    p = random_policy((17, 41, 6), 17, seed=0)
    f32, f16 = compile_policy(p, "f32"), compile_policy(p, "f16")
    assert 8 * len(f32) <= 8400 and 8 * len(f16) <= 6900
    for data in (f32, f16):
        lay = decode(data).layout
        assert lay.header + lay.dictionary_padding + lay.padding <= 64


def test_implicit_structures_store_no_dictionary():
    for s in (Structure.TOEPLITZ, Structure.CIRCULANT, Structure.DENSE):
        blob = decode(compile_policy(random_policy((11, 41, 3), structure=s)))
        assert blob.layout.dictionary == 0 and blob.index_bits == 0


def test_byte_packing_uses_whole_bytes():
    p = random_policy((17, 41, 6), 17)
    assert decode(compile_policy(p, pack="bytes")).index_bits == 8
    assert decode(compile_policy(p, pack="bits")).index_bits == 5
    # 6 edges use at most 6 of 300 colors: keep them all to store 16-bit indices
    assert decode(compile_policy(random_policy((3, 2), 300), pack="bytes", relabel=False)).index_bits == 16


def test_row_aligned_packing_pads_each_row_to_a_byte():
    """--pack rows: the same colors, each row's indices on whole bytes (3 more bits a row here:
    85 -> 88 and 205 -> 208), flag 2 in the header, and the padding is what the size adds."""
    p = random_policy((17, 41, 6), 17, seed=4)
    bits, rows = decode(compile_policy(p, pack="bits")), decode(compile_policy(p, pack="rows"))
    data = compile_policy(p, pack="rows")
    assert data[5] == 2 and rows.pack == "rows" and rows.index_bits == bits.index_bits == 5
    assert rows.layout.dictionary == 41 * 11 + 6 * 26 == (943 * 5 + 47 * 3) // 8  # 47 rows, 3 bits each
    assert bits.layout.dictionary == (943 * 5 + 7) // 8
    for a, b in zip(rows.policy.layers, bits.policy.layers, strict=True):
        np.testing.assert_array_equal(a.partition, b.partition)
    # row i of layer 0 starts at byte 11 i of the dictionary: its first index is bits 0-4 there
    d = rows.layout.offsets()["dictionary"]
    for i in range(41):
        assert data[d + 11 * i] & 31 == rows.policy.layers[0].partition[i, 0]


@pytest.mark.parametrize("flags", [3, 4, 0x80])
def test_clashing_or_unknown_flags_are_refused(flags):
    data = compile_policy(random_policy((5, 3), 3), pack="rows")
    with pytest.raises(BlobError, match="flag") as e:
        decode(_reheader(data, flags=flags))
    assert e.value.code == Status.HEADER


def test_f16_overflow_is_a_clear_error():
    p = random_policy((3, 2), 4)
    big = p.replace(palette=np.array([1e6, 0, 0, 0.0]))
    with pytest.raises(ChromaticError, match="does not fit in float16"):
        compile_policy(big, "f16")


# -- corruption -------------------------------------------------------------------------------
SMALL = compile_policy(random_policy((3, 4, 2), 5, seed=1))


def test_every_truncation_is_rejected():
    for n in range(len(SMALL)):
        with pytest.raises(BlobError):
            decode(SMALL[:n])


def test_every_single_bit_flip_is_rejected():
    for i in range(len(SMALL) * 8):
        flipped = bytearray(SMALL)
        flipped[i // 8] ^= 1 << (i % 8)
        with pytest.raises(BlobError):
            decode(bytes(flipped))


def _reheader(data: bytes, **fields) -> bytes:
    names = [
        "magic",
        "version",
        "flags",
        "structure",
        "dtype",
        "hidden",
        "output",
        "layers",
        "bits",
        "colors",
        "total",
    ]
    values = dict(zip(names, FIXED_HEADER.unpack_from(data), strict=True))
    values.update(fields)
    out = bytearray(data)
    FIXED_HEADER.pack_into(out, 0, *values.values())
    out[-4:] = struct.pack("<I", zlib.crc32(bytes(out[:-4])))
    return bytes(out)


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"colors": 2**32 - 1}, "index width|corrupt"),
        ({"layers": 200}, "layers"),
        ({"total": 2**32 - 1}, "length mismatch"),
        ({"version": 9}, "version"),
        ({"structure": 77}, "structure"),
        ({"magic": b"ELF\0"}, "not a chromatic blob"),
    ],
)
def test_absurd_header_values_are_rejected_before_allocation(fields, match):
    with pytest.raises(BlobError, match=match):
        decode(_reheader(SMALL, **fields))


def test_activation_codes_are_the_header_bytes_8_and_9():
    """relu is code 2 in both fields; a v1 blob's layout is otherwise unchanged."""
    for hidden in (Activation.TANH, Activation.RELU):
        for output in Activation:
            data = compile_policy(
                random_policy((3, 4, 2), 5, seed=1, hidden_activation=hidden, output_activation=output)
            )
            assert (data[4], data[8], data[9]) == (1, int(hidden), int(output))
            assert decode(data).policy.hidden_activation == hidden
            assert decode(data).policy.output_activation == output


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"hidden": 3}, "hidden activation"),
        ({"output": 3}, "output activation"),
        ({"hidden": 0}, "hidden activation 'identity', expected 'tanh' or 'relu'"),
    ],
)
def test_unknown_activation_codes_and_identity_hidden_layers_are_refused(fields, match):
    """An unknown code is check 5 (HEADER): how a reader older than relu refuses a relu blob."""
    with pytest.raises(BlobError, match=match) as e:
        decode(_reheader(SMALL, **fields))
    assert e.value.code == Status.HEADER


def test_huge_implicit_layer_is_rejected():
    # A toeplitz blob whose header claims 65535 x 65535 edges (CRC recomputed so only sizes lie).
    data = compile_policy(random_policy((3, 4), structure=Structure.TOEPLITZ))
    out = bytearray(_reheader(data, colors=65535 + 65535 - 1))
    struct.pack_into("<2H", out, FIXED_HEADER.size, 65535, 65535)
    with pytest.raises(BlobError, match="too large|length|sections"):
        decode(bytes(out))


# -- golden bytes -----------------------------------------------------------------------------
def golden_policy():
    return random_policy((3, 4, 2), 5, seed=1)


def golden_rows_policy():
    return random_policy((9, 4, 2), 5, seed=1)


def test_golden_blob_bytes():
    """A byte change here is a format change: regenerate on purpose (see tests/golden/README)."""
    assert compile_policy(golden_policy(), "f32") == (GOLDEN / "small_3_4_2_m5_f32.cblob").read_bytes()
    assert compile_policy(golden_policy(), "f16") == (GOLDEN / "small_3_4_2_m5_f16.cblob").read_bytes()
    rows = compile_policy(golden_rows_policy(), "f16", "rows")
    assert rows == (GOLDEN / "small_9_4_2_m5_f16_rows.cblob").read_bytes()
