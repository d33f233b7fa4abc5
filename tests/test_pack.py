import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from chromatic.compiler.passes.pack import pack_indices, pack_rows, packed_size, row_stride, unpack_indices


@given(bits=st.integers(1, 16), count=st.integers(0, 300), seed=st.integers(0, 2**32 - 1))
def test_pack_unpack_round_trip_all_widths(bits, count, seed):
    idx = np.random.default_rng(seed).integers(0, 2**bits, size=count)
    data = pack_indices(idx, bits)
    assert len(data) == packed_size(count, bits)
    np.testing.assert_array_equal(unpack_indices(data, count, bits), idx)


def test_bit_order_is_lsb_first():
    # indices 1, 2 at 3 bits: stream 100 010 -> byte 0b00010001
    assert pack_indices(np.array([1, 2]), 3) == bytes([0b00010001])
    # 8-bit and 16-bit widths are plain bytes and little-endian u16
    assert pack_indices(np.array([7, 200]), 8) == bytes([7, 200])
    assert pack_indices(np.array([0x1234]), 16) == bytes([0x34, 0x12])


def test_zero_width_packs_nothing():
    assert pack_indices(np.zeros(10, int), 0) == b""
    assert unpack_indices(b"", 10, 0).tolist() == [0] * 10


@given(bits=st.integers(1, 16), rows=st.integers(1, 20), n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_row_aligned_round_trip_and_every_row_starts_on_a_byte(bits, rows, n, seed):
    idx = np.random.default_rng(seed).integers(0, 2**bits, size=(rows, n))
    data = pack_rows(idx, bits)
    stride = row_stride(n, bits)
    assert stride % 8 == 0 and n * bits <= stride < n * bits + 8
    assert len(data) == rows * stride // 8
    np.testing.assert_array_equal(unpack_indices(data, rows * n, bits, row=n), idx.ravel())
    for r in range(rows):  # each row is the plain stream of its indices, on its own bytes
        own = data[r * stride // 8 : (r + 1) * stride // 8]
        assert own == pack_indices(idx[r], bits)


def test_row_aligned_example_of_the_format_page():
    # docs/blob-format.md: rows 1, 2, 3 and 4, 5, 6 at b = 3
    assert pack_rows(np.array([[1, 2, 3], [4, 5, 6]]), 3) == bytes([0xD1, 0x00, 0xAC, 0x01])
    assert pack_indices(np.array([1, 2, 3, 4, 5, 6]), 3) == bytes([0xD1, 0x58, 0x03])
