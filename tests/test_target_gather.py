"""The gather kernel (generated Cortex-M4F assembly): differential tests against the numpy
reference in unicorn over the shapes its code generator distinguishes, its tanh, its limits."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from chromatic.compiler.blob import Status, decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from chromatic.targets import gather
from chromatic.targets.kernels import get_kernel
from chromatic.targets.registry import get_target
from chromatic.targets.spec import kernel_spec
from tests import kernel_cases
from tests.kernel_cases import require_toolchain


def test_tanh_within_documented_bound():
    x = np.linspace(-12.0, 12.0, 400_001, dtype=np.float32)
    err = np.abs(gather.tanh_f32(x).astype(np.float64) - np.tanh(x.astype(np.float64)))
    assert err.max() <= gather.TANH_MAX_ABS_ERROR
    assert err.max() > 1e-8  # an approximation: zero would mean the check is broken
    assert np.all(np.abs(gather.tanh_f32(x)) <= 1.0)  # saturates, no overshoot past +-1
    np.testing.assert_array_equal(gather.tanh_f32(-x), -gather.tanh_f32(x))  # odd


def test_rejects_what_it_cannot_run():
    blob = decode(compile_policy(random_policy((4, 3), structure=Structure.TOEPLITZ)))
    with pytest.raises(ChromaticError, match="toeplitz"):
        gather.gather_kernel("p", kernel_spec(blob))
    k = get_kernel("gather")  # the registry: FPv4 is a declared feature, not a target name
    assert k.supports(get_target("cortex-m4f"))
    assert not k.supports(get_target("cortex-m3"))
    assert not k.supports(get_target("host"))


def test_build_refuses_targets_without_fpv4(tmp_path):
    from chromatic.targets.build import build

    data = compile_policy(random_policy((5, 3), 3, seed=0))
    for t in ("host", "cortex-m3"):
        with pytest.raises(ChromaticError, match="gather kernel"):
            build(data, get_target(t), tmp_path / t, kernel="gather")


CASES = kernel_cases.CASES


@pytest.mark.firmware
@pytest.mark.parametrize("case", CASES, ids=kernel_cases.case_id)
def test_emulated_outputs_match_reference(tmp_path, case):
    require_toolchain()
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.emulate import run_infer

    sizes, m, dtype, pack, out_act, *hidden = case
    p = random_policy(sizes, m, seed=3, output_activation=out_act,
                      hidden_activation=hidden[0] if hidden else Activation.TANH)
    data = compile_policy(p, dtype=dtype, pack=pack)
    t = get_target("cortex-m4f")
    r = build(data, t, tmp_path, kernel="gather")
    obs, expected, *_ = selftest_vectors(decode(data), t, n=3, seed=5)
    frame = gather.gather_kernel(r.prefix, kernel_spec(decode(data))).stack_bytes
    for o, e in zip(obs, expected, strict=True):
        n, out, stack = run_infer(r.selftest, t.cpu, r.prefix, list(map(float, o)), sizes[-1])
        np.testing.assert_allclose(out, e, rtol=1e-5, atol=1e-6)
        assert stack == frame  # the .su line is the real frame
    edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    assert n < 6 * edges + 40 * sum(sizes[1:]) + 20 * sizes[0] + 60
    su = (tmp_path / "build" / f"{r.prefix}_gather.su").read_text()
    assert su.split("\t")[1] == str(frame)


@pytest.mark.firmware
def test_infer_before_init_is_an_error(tmp_path):
    require_toolchain()
    from chromatic.targets.build import build
    from chromatic.targets.emulate import Emulator

    data = compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")
    r = build(data, get_target("cortex-m4f"), tmp_path, kernel="gather")
    emu = Emulator(r.selftest, "cortex-m4")
    o = emu.alloc(struct.pack("<17f", *([0.0] * 17)))
    a = emu.alloc(b"\0" * 24)
    assert emu.call(f"{r.prefix}_infer", o, a) == 12  # CHROMATIC_ERR_ARGUMENT
    assert emu.call(f"{r.prefix}_init") == 0
    assert emu.call(f"{r.prefix}_infer", o, a) == 0


@pytest.mark.firmware
def test_corrupt_blob_is_refused_and_infer_stays_off(tmp_path):
    """init validates (CRC): a flipped bit is an error and infer keeps refusing."""
    require_toolchain()
    from chromatic.targets.build import build
    from chromatic.targets.emulate import Emulator

    data = bytearray(compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16"))
    r = build(bytes(data), get_target("cortex-m4f"), tmp_path, kernel="gather")
    emu = Emulator(r.selftest, "cortex-m4")
    blob = emu.syms[f"{r.prefix}_blob"].addr
    emu.uc.mem_write(blob + 40, bytes([data[40] ^ 1]))
    assert emu.call(f"{r.prefix}_init") != 0
    o = emu.alloc(b"\0" * 68)
    assert emu.call(f"{r.prefix}_infer", o, emu.alloc(b"\0" * 24)) == 12



@pytest.mark.firmware
@pytest.mark.parametrize("kernel", ["gather", "inline", "unrolled"])
def test_generated_kernels_refuse_any_other_blob(tmp_path, kernel):
    """A kernel generated for one blob has its sizes and offsets baked in, so its init checks
    that the bytes are that blob's (CRC32 against the generator's, chromatic_load.h): another
    blob of the same length -- valid, CRC-sealed -- is CHROMATIC_ERR_CRC, and so is a flipped
    bit; infer stays off."""
    require_toolchain()
    from chromatic.targets.build import build
    from chromatic.targets.emulate import Emulator

    data = compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")
    other = compile_policy(random_policy((17, 41, 6), 17, seed=2), dtype="f16")
    assert len(other) == len(data) and other != data
    decode(other)  # valid: the acceptance rule alone would take it
    r = build(data, get_target("cortex-m4f"), tmp_path, kernel=kernel)
    for blob in (other, data[:100] + bytes([data[100] ^ 4]) + data[101:]):
        emu = Emulator(r.selftest, "cortex-m4")
        emu.uc.mem_write(emu.syms[f"{r.prefix}_blob"].addr, blob)
        assert emu.call(f"{r.prefix}_init") == Status.CRC
        o = emu.alloc(b"\0" * 68)
        assert emu.call(f"{r.prefix}_infer", o, emu.alloc(b"\0" * 24)) == 12  # CHROMATIC_ERR_ARGUMENT
    emu = Emulator(r.selftest, "cortex-m4")
    assert emu.call(f"{r.prefix}_init") == 0

@pytest.mark.firmware
def test_stack_bound_reaches_no_function_from_the_literal_pool(tmp_path):
    """infer calls nothing: its tanh coefficients (data after the code) must not disassemble
    into calls that the stack bound would follow."""
    require_toolchain()
    from chromatic.targets.build import build
    from chromatic.targets.emulate import symbols
    from chromatic.targets.measure import call_graph_frames

    data = compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")
    r = build(data, get_target("cortex-m4f"), tmp_path, kernel="gather")
    reach = call_graph_frames(r.selftest, symbols(r.selftest), f"{r.prefix}_infer")
    assert list(reach) == [f"{r.prefix}_infer"]


@pytest.mark.firmware
@pytest.mark.parametrize("dtype", ["f16", "f32"])
def test_bad_observations_take_the_fix_path(tmp_path, dtype):
    """NaN, +-inf, huge and just-past-the-limit inputs, mixed with normal ones: the outputs
    follow the reference's rule, and each bad input costs at most 6 more instructions (the
    fix a good input branches over)."""
    require_toolchain()
    from chromatic.runtime.reference import OBS_LIMIT, forward
    from chromatic.targets.build import build
    from chromatic.targets.emulate import run_infer

    p = random_policy((17, 41, 6), 17, seed=4)
    data = compile_policy(p, dtype=dtype)
    blob = decode(data)
    t = get_target("cortex-m4f")
    r = build(data, t, tmp_path, kernel="gather")
    mean = np.asarray(blob.policy.normalization.mean, np.float64)
    std = np.asarray(blob.policy.normalization.std, np.float64)
    good = (mean + 0.5 * std).astype(np.float32)
    n_good, _, _ = run_infer(r.selftest, t.cpu, r.prefix, list(map(float, good)), 6)
    rows = np.tile(good, (5, 1))
    rows[0, ::2] = np.nan
    rows[1, 1::2] = np.inf
    rows[2, ::3] = -np.inf
    rows[3, :] = np.float32(3e38) * np.where(np.arange(17) % 2, 1, -1)
    rows[4, :] = (mean + 1.01 * OBS_LIMIT * std * np.where(np.arange(17) % 2, 1, -1)).astype(np.float32)
    for o in rows:
        n, out, _ = run_infer(r.selftest, t.cpu, r.prefix, list(map(float, o)), 6)
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out, forward(blob.policy, o.astype(np.float64)), rtol=1e-5, atol=1e-6)
        assert n_good <= n <= n_good + 6 * 17
