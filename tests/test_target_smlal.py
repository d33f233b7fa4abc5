"""The smlal kernel (generated Thumb-2 assembly, fixed point, v7-M): bit-exact against the numpy
model (targets/fixed_point.py) in unicorn over the shapes its code generator distinguishes,
the saturation and bad-observation paths, its frame and its limits."""

from __future__ import annotations

import numpy as np
import pytest

from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from chromatic.targets import fixed_point as fx
from chromatic.targets import gather, smlal
from chromatic.targets.kernels import get_kernel
from chromatic.targets.registry import get_target
from chromatic.targets.spec import index_windows, kernel_spec
from tests import kernel_cases
from tests.kernel_cases import require_toolchain


def test_windows_cover_every_field_within_a_shifted_word():
    """spec.index_windows, shared by the smlal and gather kernels, for each one's group size."""
    for group in sorted({smlal.GROUP, gather.GROUP}):
        for b in range(1, smlal.MAX_BITS + 1):
            for n in range(1, group + 1):
                wins = index_windows(n, b)
                assert [f for _, fs in wins for f in fs] == list(range(n))
                for o, fs in wins:  # after a shift by up to 7, a 32-bit window keeps 25 valid bits
                    assert all(8 * o <= f * b and f * b + b <= 8 * o + 25 for f in fs)


def test_rejects_what_it_cannot_run():
    blob = decode(compile_policy(random_policy((4, 3), structure=Structure.TOEPLITZ)))
    with pytest.raises(ChromaticError, match="toeplitz"):
        smlal.smlal_kernel("p", kernel_spec(blob))
    one = decode(compile_policy(random_policy((5, 3), 1, seed=0)))
    with pytest.raises(ChromaticError, match="dictionary"):
        smlal.smlal_kernel("p", kernel_spec(one))
    k = get_kernel("smlal")  # the registry: Thumb-2 without an FPU, features not names
    assert k.supports(get_target("cortex-m3"))
    assert not k.supports(get_target("cortex-m0plus"))
    assert not k.supports(get_target("cortex-m4f"))
    assert not k.supports(get_target("host"))


def big_policy(sizes):
    """Weights and inputs large enough that row sums pass the Q16 range: the saturation path."""
    p = random_policy(sizes, 17, seed=4, weight_scale=90.0, output_activation=Activation.IDENTITY)
    return p.replace(palette=np.clip(p.palette, -127.0, 127.0))


CASES = [*kernel_cases.CASES, kernel_cases.WIDE_BYTES]


def _run(tmp_path, data: bytes, rows: np.ndarray | None = None, n_vectors: int = 3):
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.emulate import run_infer

    t = get_target("cortex-m3")
    blob = decode(data)
    r = build(data, t, tmp_path, kernel="smlal")
    if rows is None:
        rows, *_ = selftest_vectors(blob, t, n=n_vectors, seed=5)
    model = fx.FixedModel(blob)
    dl = blob.policy.layer_sizes[-1]
    frame = smlal.smlal_kernel(r.prefix, kernel_spec(blob)).stack_bytes
    n = 0
    for o in rows:
        n, out, stack = run_infer(r.selftest, t.cpu, r.prefix, [float(v) for v in o], dl)
        np.testing.assert_array_equal(np.float32(out), model.forward(np.asarray(o)[None])[0])
        assert 0 < stack < 4096
    su = (tmp_path / "build" / f"{r.prefix}_smlal.su").read_text()
    assert su.split("\t")[1] == str(frame)  # the .su line is the assembly's real frame
    return n


@pytest.mark.firmware
@pytest.mark.parametrize("case", CASES, ids=kernel_cases.case_id)
def test_emulated_outputs_are_the_model_bit_for_bit(tmp_path, case):
    require_toolchain()
    sizes, m, dtype, pack, out_act, *hidden = case
    p = random_policy(sizes, m, seed=3, output_activation=out_act,
                      hidden_activation=hidden[0] if hidden else Activation.TANH)
    n = _run(tmp_path, compile_policy(p, dtype=dtype, pack=pack))
    edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    assert n < 6 * edges + 60 * sum(sizes[1:]) + 60 * sizes[0] + 200


@pytest.mark.firmware
def test_saturation_and_bad_observations_are_the_model_bit_for_bit(tmp_path):
    """Row sums past +-32768 (saturated to +-INT32_MAX in Q16), NaN, +-inf and huge inputs."""
    require_toolchain()
    data = compile_policy(big_policy((17, 6)), dtype="f32")
    rng = np.random.default_rng(1)
    rows = (rng.normal(size=(6, 17)) * 3000).astype(np.float32)
    rows[0, ::2] = np.nan
    rows[1, 1::2] = np.inf
    rows[2, ::3] = -np.inf
    rows[3, :] = np.float32(3e38)
    rows[4, :] = np.float32(-3e38)
    q = fx.FixedModel(decode(data)).forward_q(rows)
    assert (q == fx.INT32_MAX).any() and (q == -fx.INT32_MAX).any()  # it really saturates
    _run(tmp_path, data, rows)
    _run(tmp_path / "tanh", compile_policy(big_policy((17, 41, 6)), dtype="f16"), rows)
    relu = compile_policy(random_policy((17, 41, 6), 17, seed=2, hidden_activation=Activation.RELU), "f16")
    _run(tmp_path / "relu", relu, rows)


@pytest.mark.firmware
def test_refuses_any_other_blob_and_infer_before_init(tmp_path):
    """Its values and offsets are constants of the assembly: init checks the blob's CRC32
    against the generator's (another valid blob of the same size, or a flipped bit, is
    CHROMATIC_ERR_CRC) and infer refuses to run until init has succeeded."""
    require_toolchain()
    from chromatic.compiler.blob import Status
    from chromatic.targets.build import build
    from chromatic.targets.emulate import Emulator

    data = compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")
    other = compile_policy(random_policy((17, 41, 6), 17, seed=2), dtype="f16")
    assert len(other) == len(data) and other != data
    r = build(data, get_target("cortex-m3"), tmp_path, kernel="smlal")
    emu = Emulator(r.selftest, "cortex-m3")
    o, a = emu.alloc(b"\0" * 68), emu.alloc(b"\0" * 24)
    assert emu.call(f"{r.prefix}_infer", o, a) == 12  # CHROMATIC_ERR_ARGUMENT: not initialized
    for blob in (other, data[:100] + bytes([data[100] ^ 4]) + data[101:]):
        emu = Emulator(r.selftest, "cortex-m3")
        emu.uc.mem_write(emu.syms[f"{r.prefix}_blob"].addr, blob)
        assert emu.call(f"{r.prefix}_init") == Status.CRC
        o, a = emu.alloc(b"\0" * 68), emu.alloc(b"\0" * 24)
        assert emu.call(f"{r.prefix}_infer", o, a) == 12
    emu = Emulator(r.selftest, "cortex-m3")
    assert emu.call(f"{r.prefix}_init") == 0
    o, a = emu.alloc(b"\0" * 68), emu.alloc(b"\0" * 24)
    assert emu.call(f"{r.prefix}_infer", o, a) == 0
