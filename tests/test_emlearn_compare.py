"""benchmarks/emlearn_compare.py: emlearn's build of a blob's policy runs and matches the reference."""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np
import pytest

from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.synth import random_policy
from chromatic.runtime.reference import forward
from chromatic.targets.build import selftest_vectors
from chromatic.targets.registry import get_target
from tests.bench_scripts import load_script


def _script():
    return load_script("emlearn_compare")


def _require() -> None:
    missing = [t for t in ("arm-none-eabi-gcc",) if shutil.which(t) is None]
    if importlib.util.find_spec("emlearn") is None:
        missing.append("emlearn (pip install -e .[dev])")
    if not missing:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {', '.join(missing)} is missing")
    pytest.skip(f"{', '.join(missing)} not installed")


@pytest.fixture(scope="module")
def blob():
    return decode(compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16"))


def test_folded_dense_mlp_is_the_reference(blob):
    """Normalization folded into layer 0 and sklearn's (in, out) layout: the same function."""
    ec = _script()
    obs, *_ = selftest_vectors(blob, get_target("cortex-m4f"), n=32)
    ref = forward(blob.policy, obs.astype(np.float64))
    printed = ec.printed_forward(ec.dense_mlp(blob.policy), obs)
    assert np.abs(printed - ref).max() < 1e-4  # emlearn's %.6f weights only
    assert np.abs(ref).max() > 0.1  # the outputs are not all ~0, so the check can fail


def test_importing_emlearn_keeps_numpy_error_state():
    """emlearn's import sets numpy.seterr(all='raise'); the script's import restores the state, so
    a later float16 underflow (the compiler's f16 quantization) does not raise in this process."""
    _require()
    before = np.geterr()
    _script().import_emlearn()
    assert np.geterr() == before
    np.array([1e-8]).astype(np.float16)  # an underflow: ignored, as before the import


@pytest.mark.firmware
def test_emlearn_build_runs_and_matches_reference(blob, tmp_path):
    _require()
    ec = _script()
    target = get_target("cortex-m4f")
    obs, *_ = selftest_vectors(blob, target, n=16)
    ref = forward(blob.policy, obs.astype(np.float64))
    img = ec.build_emlearn(blob.policy, "loadable", target, tmp_path)
    row = ec.measure_image(img, target, obs, ref)
    assert row["max_abs_diff_vs_reference"] < 2e-5
    # every dense weight and bias as one float32 in flash, emlearn's kernel and tanhf beside them
    sizes = blob.policy.layer_sizes
    params = sum(sizes[i] * sizes[i + 1] + sizes[i + 1] for i in range(len(sizes) - 1))
    assert row["flash_weights_bytes"] == 4 * params
    assert row["flash_code_bytes"] > 0 and row["flash_library_bytes"] > 0
    assert row["instructions_min"] > params  # one FMA per weight at least
