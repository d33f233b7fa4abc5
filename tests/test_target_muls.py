"""The muls kernel (fixed point in the narrow format, Thumb-1 rows, v6-M): bit-exact against its
numpy model (fixed_point.NarrowModel) in unicorn over the shapes its code generator
distinguishes, the model within error_bound's rule against the float reference, the zoo's
17->41->6 policies keep their return (the zoo's re-earn rule), its frame and its limits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chromatic.compiler.blob import Status, decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from chromatic.runtime.reference import forward
from chromatic.targets import fixed_point as fx
from chromatic.targets import muls
from chromatic.targets.kernels import get_kernel
from chromatic.targets.registry import get_target
from chromatic.targets.spec import kernel_spec
from tests import kernel_cases
from tests.kernel_cases import require_toolchain

CASES = [*kernel_cases.CASES, kernel_cases.WIDE_BYTES]
ZOO = Path(__file__).resolve().parent.parent / "policies"


def _narrow(case):
    """The case's blob and its narrow model, or None where the format refuses the policy
    (its ReLU hidden units' cap leaves too few bits: such policies get packed)."""
    data = kernel_cases.case_blob(case)
    try:
        return data, fx.NarrowModel(decode(data))
    except ChromaticError as e:
        assert "fewer than" in str(e) and case[5:] == (Activation.RELU,), e
        return data, None


def test_rejects_what_it_cannot_run():
    blob = decode(compile_policy(random_policy((4, 3), structure=Structure.TOEPLITZ)))
    with pytest.raises(ChromaticError, match="toeplitz"):
        muls.muls_kernel("p", kernel_spec(blob))
    one = decode(compile_policy(random_policy((5, 3), 1, seed=0)))
    with pytest.raises(ChromaticError, match="muls kernel needs a dictionary"):
        muls.muls_kernel("p", kernel_spec(one))
    k = get_kernel("muls")  # the registry: any core without an FPU
    assert k.narrow and k.supports(get_target("cortex-m0plus")) and k.supports(get_target("cortex-m3"))
    assert not k.supports(get_target("cortex-m4f")) and not k.supports(get_target("host"))


def test_relu_past_its_range_falls_back_to_packed():
    """A ReLU hidden layer's cap (relu_limit) leaves the next layer too few bits: refused with
    one line, and the default kernel of cortex-m0plus is then packed."""
    from chromatic.targets.build import default_kernel

    blob = decode(compile_policy(random_policy((17, 41, 6), 17, seed=3, hidden_activation=Activation.RELU)))
    with pytest.raises(ChromaticError, match="use --kernel packed"):
        muls.check(kernel_spec(blob))
    assert default_kernel(blob, get_target("cortex-m0plus"))[0] == "packed"


@pytest.mark.parametrize("case", CASES, ids=kernel_cases.case_id)
def test_narrow_model_within_error_bound(case):
    """error_bound's rule, with the narrow format's steps (the self-test applies the same)."""
    data, model = _narrow(case)
    if model is None:
        return
    p = decode(data).policy
    obs = np.random.default_rng(0).normal(0, 1.5, size=(64, p.layer_sizes[0]))
    obs = (obs * p.normalization.std + p.normalization.mean).astype(np.float32)
    err = np.abs(model.forward(obs) - forward(p, obs.astype(np.float64)))
    assert 0 < err.max() <= fx.error_bound(p, obs, model.layers)
    for f in model.layers:  # every row sum fits int32 at the inputs' extremes
        assert f.xf + f.wf >= fx.NARROW_MIN_BITS and f.xf <= fx.ACT_FRAC


@pytest.mark.slow
@pytest.mark.parametrize("name", ["halfcheetah_h41_c17", "walker2d_h41_c17"])
def test_zoo_policy_keeps_its_return_in_the_narrow_format(name):
    """The zoo's re-earn rule (tests/test_zoo.py: the mean return over the recorded evaluation
    episodes within RTOL of eval_return) for the narrow model, which the kernel equals bit for bit."""
    from chromatic.compiler.policy_file import load_policy
    from chromatic.runtime.control_loop import run_episodes
    from tests.test_zoo import RTOL

    policy = load_policy(ZOO / f"{name}.npz")
    meta = policy.metadata
    model = fx.NarrowModel(decode(compile_policy(policy)))

    class Runner:
        layer_sizes = policy.layer_sizes

        def __call__(self, obs):
            return model.forward(np.asarray(obs, np.float32)[None])[0]

        def batch(self, obs):
            return model.forward(np.asarray(obs, np.float32))

    report = run_episodes(Runner(), meta["env_id"], meta["eval_episodes"], meta["eval_seed"], progress=False)
    assert report.mean_return == pytest.approx(meta["eval_return"], rel=RTOL), report.returns


def _run(tmp_path, data: bytes, target: str, rows=None):
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.emulate import run_infer

    t = get_target(target)
    blob = decode(data)
    r = build(data, t, tmp_path, kernel="muls")
    reference = bound = None
    if rows is None:  # the self-test's vectors: the float reference and error_bound's bound too
        rows, _, reference, _, _, bound = selftest_vectors(blob, t, n=3, seed=5, kernel="muls")
    model = fx.NarrowModel(blob)
    n = 0
    for i, o in enumerate(rows):
        dl = blob.policy.layer_sizes[-1]
        n, out, stack = run_infer(r.selftest, t.cpu, r.prefix, [float(v) for v in o], dl)
        np.testing.assert_array_equal(np.float32(out), model.forward(np.asarray(o)[None])[0])
        if reference is not None:
            assert np.abs(np.asarray(out, np.float64) - reference[i]).max() <= bound
        assert 0 < stack < 4096
    for su in (tmp_path / "build").glob(f"{r.prefix}_muls.su"):
        assert all(line.split("\t")[1] == str(muls.ROW_FRAME) for line in su.read_text().splitlines())
    return n


@pytest.mark.firmware
@pytest.mark.parametrize("case", CASES, ids=kernel_cases.case_id)
def test_emulated_outputs_are_the_model_bit_for_bit(tmp_path, case):
    require_toolchain()
    data, model = _narrow(case)
    if model is None:
        return
    n = _run(tmp_path, data, "cortex-m0plus")
    sizes = case[0]
    assert n < 10 * kernel_cases.edges(sizes) + 120 * sum(sizes[1:]) + 100 * sizes[0] + 200


@pytest.mark.firmware
def test_bad_observations_and_cortex_m3_are_the_model_bit_for_bit(tmp_path):
    """NaN, +-inf, huge inputs (clamped to NARROW_INPUT_CLAMP); the Thumb-1 rows on v7-M too."""
    require_toolchain()
    data = compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")
    rng = np.random.default_rng(1)
    rows = (rng.normal(size=(6, 17)) * 30).astype(np.float32)
    rows[0, ::2] = np.nan
    rows[1, 1::2] = np.inf
    rows[2, ::3] = -np.inf
    rows[3, :] = np.float32(3e38)
    rows[4, :] = np.float32(-3e38)
    _run(tmp_path / "m0plus", data, "cortex-m0plus", rows)
    _run(tmp_path / "m3", data, "cortex-m3", rows)


@pytest.mark.firmware
def test_refuses_any_other_blob_and_infer_before_init(tmp_path):
    require_toolchain()
    from chromatic.targets.build import build
    from chromatic.targets.emulate import Emulator

    data = compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")
    other = compile_policy(random_policy((17, 41, 6), 17, seed=2), dtype="f16")
    assert len(other) == len(data) and other != data
    r = build(data, get_target("cortex-m0plus"), tmp_path, kernel="muls")
    cpu = get_target("cortex-m0plus").cpu
    emu = Emulator(r.selftest, cpu)
    o, a = emu.alloc(b"\0" * 68), emu.alloc(b"\0" * 24)
    assert emu.call(f"{r.prefix}_infer", o, a) == 12  # CHROMATIC_ERR_ARGUMENT: not initialized
    for blob in (other, data[:100] + bytes([data[100] ^ 4]) + data[101:]):
        emu = Emulator(r.selftest, cpu)
        emu.uc.mem_write(emu.syms[f"{r.prefix}_blob"].addr, blob)
        assert emu.call(f"{r.prefix}_init") == Status.CRC
        o, a = emu.alloc(b"\0" * 68), emu.alloc(b"\0" * 24)
        assert emu.call(f"{r.prefix}_infer", o, a) == 12
    emu = Emulator(r.selftest, cpu)
    assert emu.call(f"{r.prefix}_init") == 0
    o, a = emu.alloc(b"\0" * 68), emu.alloc(b"\0" * 24)
    assert emu.call(f"{r.prefix}_infer", o, a) == 0


@pytest.mark.firmware
@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m3"])
def test_selftest_passes_under_qemu(tmp_path, target):
    """The self-test's rule for a fixed-point kernel: exactly its model (here NarrowModel), and
    the model within error_bound (the narrow format's) of the float reference."""
    require_toolchain()
    from chromatic.targets.build import build, run_selftest

    r = build(compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16"), get_target(target),
              tmp_path, kernel="muls")
    rc, out = run_selftest(r)
    assert rc == 0 and out.startswith("PASS"), out
