"""The paper's Table 2 accounting, reproduced exactly, on policies built like the paper's."""

import numpy as np
import pytest

from chromatic.compiler.bits import bit_report, compression, paper_bits, weight_params
from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Structure
from chromatic.compiler.synth import random_policy


def masked_policy(sizes, kept):
    """Masked: color 0 is the pruned class (weight 0), plus `kept` free weights."""
    p = random_policy(sizes, kept + 1, Structure.MASKED, seed=0)
    assert p.palette[0] == 0
    return p


@pytest.mark.parametrize(
    "name, policy, bits, params, compress",
    [
        ("HalfCheetah chromatic 17", random_policy((17, 41, 6), 17), 6571, 17, 0.94),
        ("Hopper toeplitz", random_policy((11, 41, 3), structure=Structure.TOEPLITZ), 4320, 94, 0.78),
        ("Hopper masked 17 kept", masked_policy((11, 41, 3), 17), 4726, 17, 0.91),
        ("Hopper chromatic 11", random_policy((11, 41, 3), 11), 3960, 11, 0.92),
        ("Hopper circulant", random_policy((11, 41, 3), structure=Structure.CIRCULANT), 3936, 82, 0.80),
        ("HalfCheetah unstructured", random_policy((17, 41, 6), structure=Structure.DENSE), 31488, 943, 0.0),
        ("Walker2d masked 19 kept", masked_policy((17, 41, 6), 19), 6635, 19, 0.94),
    ],
)
def test_table2_rows(name, policy, bits, params, compress):
    assert paper_bits(policy) == bits
    assert weight_params(policy) == params
    assert round(compression(policy), 2) == compress
    # The same figures come out of a compiled blob.
    report = bit_report(decode(compile_policy(policy)))
    assert (report.paper_bits, report.weight_params) == (bits, params)


def test_blob_bits_of_the_reference_policy():
    p = random_policy((17, 41, 6), 17)
    assert bit_report(decode(compile_policy(p, "f32"))).blob_bits == 8128
    assert bit_report(decode(compile_policy(p, "f16"))).blob_bits == 6560
    assert np.isclose(compression(p), 1 - 58 / 984)
