"""Shared by the tests of the generated kernels (tests/test_target_*.py): the policy shapes
their code generators distinguish, as parametrize cases, and the toolchain requirement."""

from __future__ import annotations

import os
import shutil

import pytest

from chromatic.compiler.ir import Activation

# (layer sizes, M, dtype, pack, output activation[, hidden activation]): tails n % 8 of 0..7,
# layers with no group (n < 8), 1..9 index bits, 3 and 4 layers (both ping-pong buffers), f32,
# byte-packed and row-aligned indices; tanh hidden layers unless a case says relu.
CASES = [
    ((17, 41, 6), 17, "f16", "bits", Activation.TANH),
    ((17, 41, 6), 17, "f32", "bytes", Activation.TANH),
    ((5, 3), 2, "f32", "bits", Activation.TANH),
    ((16, 24, 7, 3), 5, "f16", "bits", Activation.TANH),
    ((10, 19, 4), 100, "f32", "bits", Activation.TANH),
    ((9, 31, 2), 300, "f16", "bits", Activation.TANH),
    ((23, 12), 17, "f16", "bits", Activation.IDENTITY),
    ((14, 13, 12, 11, 3), 7, "f16", "bits", Activation.IDENTITY),
    ((17, 41, 6), 17, "f16", "bits", Activation.TANH, Activation.RELU),
    ((16, 24, 7, 3), 5, "f32", "bytes", Activation.IDENTITY, Activation.RELU),
    ((10, 19, 4), 100, "f16", "bits", Activation.RELU, Activation.RELU),
    ((23, 12), 17, "f32", "bits", Activation.RELU),
    # --pack rows: every row starts on a byte (rows of 85/205, 70/133/28 and 42/51/30/36 bits;
    # in the last, gather's pointer lags a byte behind the rows of the two middle layers only)
    ((17, 41, 6), 17, "f16", "rows", Activation.TANH),
    ((10, 19, 4), 100, "f32", "rows", Activation.TANH),
    ((14, 17, 10, 12, 3), 7, "f16", "rows", Activation.IDENTITY, Activation.RELU),
]
#: 9-bit indices packed in bytes (16 bits each): the fixed-point kernels' widest case
WIDE_BYTES = ((9, 31, 2), 300, "f16", "bytes", Activation.TANH)


def case_id(case) -> str:
    sizes, m, dtype, pack, *acts = case
    return "-".join(["x".join(map(str, sizes)), f"m{m}", dtype, pack, *(a.name.lower() for a in acts)])


def case_blob(case, seed: int = 3) -> bytes:
    """The case's random policy, compiled."""
    from chromatic.compiler.compile import compile_policy
    from chromatic.compiler.synth import random_policy

    sizes, m, dtype, pack, out_act, *hidden = case
    p = random_policy(sizes, m, seed=seed, output_activation=out_act,
                      hidden_activation=hidden[0] if hidden else Activation.TANH)
    return compile_policy(p, dtype=dtype, pack=pack)


def edges(sizes) -> int:
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


def require_toolchain() -> None:
    if all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm")):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but the firmware toolchain is missing")
    pytest.skip("arm-none-eabi-gcc / qemu-system-arm not installed")
