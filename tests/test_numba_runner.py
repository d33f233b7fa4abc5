"""The Numba runtime (runtime/numba_runner.py) against the numpy reference on the same blobs."""

from __future__ import annotations

import numpy as np
import pytest

from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy
from chromatic.errors import BlobError, ChromaticError
from chromatic.runtime import load
from chromatic.runtime.numba_runner import NumbaRunner
from chromatic.runtime.reference import forward
from tests.strategies import HIDDEN_ACTIVATIONS

pytestmark = pytest.mark.numba

SHAPES = [(1, 1), (5, 3, 2), (17, 41, 6), (111, 41, 41, 8)]
RTOL, ATOL = 1e-5, 1e-5


def check(data: bytes, runner: NumbaRunner) -> None:
    sizes = decode(data).policy.layer_sizes
    x = np.random.default_rng(1).normal(size=(4, sizes[0])).astype(np.float32)
    ref = forward(decode(data).policy, x.astype(np.float64))
    np.testing.assert_allclose(runner.batch(x), ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(runner(x[0]), ref[0], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("structure", list(Structure))
@pytest.mark.parametrize("dtype,pack", [("f32", "bits"), ("f16", "bytes"), ("f32", "bytes"), ("f16", "bits"),
                                        ("f16", "rows")])
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_matches_reference_every_structure(structure, dtype, pack, hidden):
    for sizes in SHAPES:
        for m in ((17,) if structure.implicit else (1, 2, 17, 300)):
            p = random_policy(sizes, m, structure, seed=m, hidden_activation=hidden)
            data = compile_policy(p, dtype, pack)
            check(data, load(data, "numba"))


@pytest.mark.parametrize("m", [1, 2, 3, 17])
def test_every_block_size_gives_the_same_outputs(m):
    data = compile_policy(random_policy((17, 41, 6), m, seed=m), "f32", "bits")
    runner = NumbaRunner(data)
    for k in range(0, 5):
        if m**k > 4096:
            with pytest.raises(ChromaticError):
                runner.set_block_rows(0, k)
            continue
        runner.set_block_rows(0, k)
        runner.set_block_rows(1, k)
        assert runner.block_rows == (k, k)
        check(data, runner)


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("output", list(Activation))
def test_same_outputs_as_c_runtime(hidden, output):
    pytest.importorskip("cffi")
    from chromatic.runtime.c_loader import CRunner

    p = random_policy((17, 41, 6), 17, seed=5, hidden_activation=hidden, output_activation=output)
    data = compile_policy(p, "f32", "bits")
    x = np.random.default_rng(2).normal(size=(8, 17)).astype(np.float32)
    np.testing.assert_allclose(NumbaRunner(data).batch(x), CRunner(data).batch(x), rtol=1e-5, atol=1e-6)


def test_bad_blob_and_bad_observation():
    data = compile_policy(random_policy((5, 3), 4), "f32", "bits")
    with pytest.raises(BlobError):
        NumbaRunner(data[:-1])
    with pytest.raises(ChromaticError, match="does not match"):
        NumbaRunner(data)(np.zeros(4, np.float32))
