"""Firmware targets: self-tests under QEMU, emulated outputs vs the numpy reference, limits."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from chromatic.runtime.reference import forward
from chromatic.targets import fixed_point as fx
from chromatic.targets.registry import TARGETS, get_target
from tests.strategies import HIDDEN_ACTIVATIONS


def _toolchain() -> bool:
    return all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm"))


def test_docs_state_the_exact_build_flags():
    """The flags docs/targets.md documents are the ones build and measure compile with."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "targets.md").read_text()
    for t in TARGETS.values():
        if t.firmware:
            assert f"`{' '.join(t.cflags)}`" in doc, t.name


def test_targets_declare_their_core_and_no_code_tests_a_name():
    """cpu, fpu and fp16 are data (checked against the flags when the registry is built); which
    kernels a target runs follows from its features, never from its name."""
    import re
    from pathlib import Path

    from chromatic.targets.kernels import REGISTRY

    m4f, m3, host = get_target("cortex-m4f"), get_target("cortex-m3"), get_target("host")
    assert (m4f.cpu, m4f.fpu, m4f.fp16) == ("cortex-m4", "fpv4-sp-d16", True)
    assert m3.kernel == "fixed" and "integer-only" in m3.features and not m3.fp16
    assert host.kernel == "float" and "fpu" in host.features
    runs = {t.name: sorted(k.name for k in REGISTRY.values() if k.supports(t)) for t in TARGETS.values()}
    assert runs == {"host": ["inline", "loadable", "unrolled"],
                    "cortex-m4f": ["gather", "inline", "loadable", "unrolled"],
                    "cortex-m3": ["loadable", "muls", "packed", "smlal", "unrolled"],
                    "cortex-m0plus": ["loadable", "muls", "packed", "unrolled"]}
    names = "|".join(re.escape(n) for n in TARGETS)
    test = re.compile(rf'\.name\s*[!=]=\s*"|"({names})"\s*(==|!=|in\b)|(==|!=)\s*"({names})"')
    src = Path(__file__).resolve().parents[1] / "targets"
    hits = [f"{p.name}: {m.group(0)}" for p in src.rglob("*.py") if p.name != "registry.py"
            for m in test.finditer(p.read_text())]
    assert not hits, hits


def _require_toolchain() -> None:
    if _toolchain():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but the firmware toolchain is missing "
                    "(scripts/install_firmware_toolchain.sh)")
    pytest.skip("arm-none-eabi-gcc / qemu-system-arm not installed")


@pytest.fixture(scope="module")
def blob_f16() -> bytes:
    return compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")


def capped_relu_policy():
    """ReLU hidden units well past the fixed-point cap (INT32_MAX // 41 in Q16, about 799)."""
    p = random_policy((17, 41, 6), 17, seed=4, hidden_activation=Activation.RELU, weight_scale=90.0)
    return p.replace(palette=np.clip(p.palette, -127.0, 127.0))


RELU_POLICIES = {
    "relu": lambda: random_policy((17, 41, 6), 17, seed=2, hidden_activation=Activation.RELU),
    "relu-relu-out": lambda: random_policy((17, 41, 9, 6), 17, seed=2, hidden_activation=Activation.RELU,
                                           output_activation=Activation.RELU),
    "relu-capped": capped_relu_policy,
}


# -- pure Python: fixed-point model and registry ------------------------------------------
def test_fixed_tanh_within_documented_bound():
    err = fx.tanh_error()
    assert err <= fx.TANH_MAX_ABS_ERROR
    assert err > 0  # it is an approximation: a zero would mean the grid is wrong


def test_fixed_tanh_table_is_the_c_kernels():
    """chromatic_fx_tanh (chromatic_fixed.c) and the model read the same coefficients; the
    table's cubic reproduces tanh(0) = 0 and reaches 1 where the table ends."""
    import re
    from pathlib import Path

    c = (Path(fx.__file__).parent / "firmware" / "chromatic_fixed.c").read_text()
    body = c[c.index("fx_tanh_table[") :].split("};", 1)[0]
    rows = [tuple(map(int, r)) for r in re.findall(r"\{(-?\d+), (-?\d+), (-?\d+), (-?\d+)\}", body)]
    assert rows == list(fx.TANH_TABLE)
    assert f"#define FX_TANH_END ({len(fx.TANH_TABLE)}u << FX_TANH_SEG_BITS)" in c
    q = np.array([0, fx.TANH_END - 1, fx.TANH_END, -fx.TANH_END, fx.INT32_MAX, -fx.INT32_MAX])
    assert fx.tanh_q16(q).tolist() == [0, fx.ONE - 1, fx.ONE, -fx.ONE, fx.ONE, -fx.ONE]


def test_fixed_conversion_rounds_and_saturates():
    q, sat = fx.from_float32(np.array([1.0, -0.5, 1.5 / 65536, 40000.0], np.float32), 16)
    assert q.tolist()[:3] == [65536, -32768, 2]  # 1.5 LSB rounds half away from zero
    assert q[3] == fx.INT32_MAX and sat


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_fixed_model_error_within_bound(hidden):
    p = random_policy((17, 41, 6), 17, seed=3, hidden_activation=hidden)
    blob = decode(compile_policy(p))
    obs = np.random.default_rng(0).normal(size=(64, 17)).astype(np.float32)
    obs = obs * p.normalization.std + p.normalization.mean
    err = np.abs(fx.FixedModel(blob).forward(obs) - forward(blob.policy, obs.astype(np.float64)))
    assert err.max() <= fx.error_bound(blob.policy, obs)
    assert err.max() > 0


def test_fixed_relu_is_exact_and_capped():
    """max(0, x) in Q16, capped at INT32_MAX // width so the next layer's sums fit int32."""
    x = np.array([[-5, -1, 0, 1, 123456, fx.INT32_MAX]], np.int64)
    assert fx.relu_limit(41) == fx.INT32_MAX // 41
    assert fx.relu_q16(x).tolist() == [[0, 0, 0, 1, 123456, fx.INT32_MAX // 6]]
    p = capped_relu_policy()  # its hidden layer alone, as a one-layer policy with a ReLU output
    hidden = decode(compile_policy(p.replace(layers=p.layers[:1], output_activation=Activation.RELU)))
    obs = np.random.default_rng(0).normal(size=(8, 17)).astype(np.float32)
    assert forward(hidden.policy, obs).max() > fx.relu_limit(41) / fx.ONE  # the float one passes the cap
    q = fx.FixedModel(hidden).forward_q(obs)
    assert q.max() == fx.relu_limit(41) and q.min() == 0  # the fixed one saturates there
    err = np.abs(fx.FixedModel(hidden).forward(obs) - forward(hidden.policy, obs.astype(np.float64)))
    assert err.max() > 1.0 and err.max() <= fx.error_bound(hidden.policy, obs)  # the bound counts the excess


def test_fixed_model_rejects_implicit_structure():
    from chromatic.compiler.ir import Structure

    blob = decode(compile_policy(random_policy((4, 3), structure=Structure.TOEPLITZ)))
    with pytest.raises(ChromaticError, match="toeplitz"):
        fx.FixedModel(blob)


def test_registry_kinds():
    assert TARGETS["cortex-m4f"].kernel == "float" and "-mfloat-abi=hard" in TARGETS["cortex-m4f"].cflags
    assert TARGETS["cortex-m3"].kernel == "fixed" and TARGETS["cortex-m0plus"].kernel == "fixed"
    with pytest.raises(ChromaticError, match="unknown target"):
        get_target("avr")


# -- toolchain-bound ----------------------------------------------------------------------
@pytest.mark.firmware
@pytest.mark.parametrize("target,kernel", [("cortex-m4f", "loadable"), ("cortex-m4f", "inline"),
                                           ("cortex-m4f", "gather"), ("cortex-m4f", "unrolled"),
                                           ("cortex-m3", "loadable"), ("cortex-m3", "unrolled"),
                                           ("cortex-m3", "packed"), ("cortex-m3", "smlal"),
                                           ("cortex-m0plus", "loadable"),
                                           ("cortex-m0plus", "unrolled"), ("cortex-m0plus", "packed")])
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_selftest_passes_under_qemu(tmp_path, blob_f16, target, kernel, hidden):
    _require_toolchain()
    from chromatic.targets.build import build, run_selftest

    data = blob_f16 if hidden == Activation.TANH else compile_policy(RELU_POLICIES["relu"](), dtype="f16")
    r = build(data, get_target(target), tmp_path, kernel=kernel)
    rc, out = run_selftest(r)
    assert rc == 0, out
    assert out.startswith("PASS")
    text = (tmp_path / "src" / "chromatic_policy.c").read_text()
    assert "generated from policy" in text and "do not edit" in text
    assert "const uint8_t chromatic_policy_blob" in text
    assert "malloc" not in text
    assert r.library.exists()


@pytest.mark.firmware
def test_selftest_detects_a_wrong_expectation(tmp_path, blob_f16, monkeypatch):
    """The firmware really compares: corrupt the embedded expectations and it fails."""
    _require_toolchain()
    import chromatic.targets.build as tb

    real = tb.selftest_vectors

    def wrong(*a, **k):
        obs, expected, reference, rtol, atol, bound = real(*a, **k)
        return obs, expected + 0.01, reference, rtol, atol, bound

    monkeypatch.setattr(tb, "selftest_vectors", wrong)
    r = tb.build(blob_f16, get_target("cortex-m3"), tmp_path)
    rc, out = tb.run_selftest(r)
    assert rc != 0 and out.startswith("FAIL")


@pytest.mark.firmware
@pytest.mark.parametrize("target,kernel", [("cortex-m4f", "loadable"), ("cortex-m4f", "inline"),
                                           ("cortex-m4f", "gather"), ("cortex-m4f", "unrolled"),
                                           ("cortex-m3", "loadable"), ("cortex-m3", "unrolled"),
                                           ("cortex-m3", "packed"), ("cortex-m3", "smlal"),
                                           ("cortex-m0plus", "loadable"), ("cortex-m0plus", "packed")])
@pytest.mark.parametrize("policy", ["tanh", *RELU_POLICIES])
def test_emulated_outputs_match_reference(tmp_path, target, kernel, policy):
    """Float kernels vs the reference, fixed-point kernels bit-exact vs the model (which
    test_fixed_model_error_within_bound checks against the reference)."""
    _require_toolchain()
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.emulate import run_infer

    p = random_policy((17, 41, 6), 17, seed=2) if policy == "tanh" else RELU_POLICIES[policy]()
    blob = compile_policy(p, dtype="f32")
    t = get_target(target)
    r = build(blob, t, tmp_path, kernel=kernel)
    obs, expected, reference, *_ = selftest_vectors(decode(blob), t, n=3, seed=5)
    for o, e in zip(obs, expected, strict=True):
        n, out, stack = run_infer(r.selftest, t.cpu, r.prefix, list(map(float, o)), 6)
        if t.kernel == "fixed":
            np.testing.assert_array_equal(np.float32(out), e)  # bit-exact vs the model
        else:
            np.testing.assert_allclose(out, e, rtol=1e-5, atol=1e-6)
        assert 1000 < n < 200_000
        assert 0 < stack < 4096  # the painted high-water mark saw the call's frame


@pytest.mark.firmware
@pytest.mark.parametrize("target,kernel", [("cortex-m4f", "loadable"), ("cortex-m4f", "inline"),
                                           ("cortex-m4f", "gather"), ("cortex-m4f", "unrolled"),
                                           ("cortex-m3", "loadable"), ("cortex-m3", "packed"),
                                           ("cortex-m3", "smlal"), ("cortex-m3", "muls"),
                                           ("cortex-m0plus", "loadable"), ("cortex-m0plus", "packed"),
                                           ("cortex-m0plus", "muls")])
def test_row_aligned_blob_gives_the_bit_packed_outputs(tmp_path, target, kernel):
    """--pack rows (every row on a byte; rows of 85 and 205 bits here) changes where each
    index is read, not what is computed: every kernel's emulated outputs equal those of the
    bit-packed blob of the same policy, bit for bit, and match the reference."""
    _require_toolchain()
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.emulate import run_infer

    p, t = random_policy((17, 41, 6), 17, seed=6), get_target(target)
    outs = {}
    for pack in ("bits", "rows"):
        blob = compile_policy(p, dtype="f16", pack=pack)
        r = build(blob, t, tmp_path / pack, kernel=kernel)
        obs, expected, _, rtol, atol, _ = selftest_vectors(decode(blob), t, n=3, seed=5, kernel=kernel)
        outs[pack] = [run_infer(r.selftest, t.cpu, r.prefix, list(map(float, o)), 6)[1] for o in obs]
    np.testing.assert_array_equal(outs["rows"], outs["bits"])
    np.testing.assert_allclose(outs["rows"], expected, rtol=rtol, atol=atol)  # the self-test's rule


@pytest.mark.firmware
def test_unrolled_runs_fewer_instructions_than_inline(tmp_path, blob_f16):
    """The point of baking indices into code: fewer instructions, more flash."""
    _require_toolchain()
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.emulate import count_infer, symbols

    t = get_target("cortex-m4f")
    obs = selftest_vectors(decode(blob_f16), t, n=1)[0][0]
    n, size = {}, {}
    for k in ("inline", "unrolled"):
        r = build(blob_f16, t, tmp_path / k, kernel=k)
        n[k], _ = count_infer(r.selftest, t.cpu, r.prefix, list(map(float, obs)), 6)
        size[k] = symbols(r.selftest)["chromatic_policy_infer"].size
    assert n["unrolled"] < n["inline"] and size["unrolled"] > size["inline"]


@pytest.mark.firmware
def test_gather_is_faster_and_smaller_than_inline(tmp_path, blob_f16):
    """Gather + FMA from the blob's bits: fewer instructions than the C inline kernel, and
    less infer-path flash; unrolled stays the fastest."""
    _require_toolchain()
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.measure import footprint, instructions

    t = get_target("cortex-m4f")
    obs = selftest_vectors(decode(blob_f16), t, n=1)[0][0]
    n, flash = {}, {}
    for k in ("inline", "gather", "unrolled"):
        r = build(blob_f16, t, tmp_path / k, kernel=k)
        n[k] = instructions(r, r.selftest, r.prefix, obs, 6)[0]
        flash[k] = footprint(r)["flash_kernel_bytes"]
    assert n["unrolled"] < n["gather"] < n["inline"]
    assert flash["gather"] < flash["inline"] < flash["unrolled"]


def test_specialized_kernels_reject_implicit_structure():
    from chromatic.compiler.ir import Structure
    from chromatic.targets.inline import inline_kernel
    from chromatic.targets.spec import kernel_spec
    from chromatic.targets.unrolled import float_kernel

    spec = kernel_spec(decode(compile_policy(random_policy((4, 3), structure=Structure.TOEPLITZ))))
    for gen in (inline_kernel, float_kernel):
        with pytest.raises(ChromaticError, match="toeplitz"):
            gen("p", spec)


def test_pack_hint_names_row_alignment_only_where_it_helps():
    """gather, smlal and muls read row-aligned rows without shifts: a bit-packed blob whose
    rows end mid-byte gets the hint (with the exact extra bytes), nothing else does."""
    from chromatic.targets.build import pack_hint

    p = random_policy((17, 41, 6), 17, seed=1)
    bits, rows = (decode(compile_policy(p, dtype="f16", pack=k)) for k in ("bits", "rows"))
    extra = rows.layout.total - bits.layout.total
    assert extra == 16
    for k in ("gather", "smlal", "muls"):
        assert f"--pack rows` (+{extra} B" in pack_hint(bits, k)
        assert pack_hint(rows, k) is None
    assert pack_hint(bits, "inline") is None and pack_hint(bits, "loadable") is None
    aligned = decode(compile_policy(random_policy((16, 8, 8), 17, seed=1), dtype="f16"))  # 80, 40 bits
    assert pack_hint(aligned, "gather") is None


@pytest.mark.firmware
def test_too_big_blob_is_a_build_error(tmp_path, blob_f16):
    _require_toolchain()
    from chromatic.targets.build import build

    with pytest.raises(ChromaticError, match="flash"):
        build(blob_f16, get_target("cortex-m0plus"), tmp_path, flash_bytes=512)
    with pytest.raises(ChromaticError, match="RAM"):
        build(blob_f16, get_target("cortex-m3"), tmp_path, ram_bytes=256)
    assert not (tmp_path / "selftest" / "selftest.elf").exists()


@pytest.mark.firmware
@pytest.mark.slow
def test_measure_report_keys(blob_f16):
    _require_toolchain()
    from chromatic.targets.measure import target_report

    rep, lines = target_report(blob_f16, "cortex-m3")
    assert rep["kernel"] == "smlal"
    assert set(rep["kernels"]) == {"loadable", "muls", "packed", "smlal", "unrolled"}
    top = {k: v for k, v in rep.items() if k in rep["kernels"]["smlal"]}
    assert top == {k: v for k, v in rep["kernels"]["smlal"].items() if k in top}
    assert rep["ram_bytes"] == rep["ram_static_bytes"] + max(rep["ram_init_stack_bytes"],
                                                             rep["ram_infer_stack_bytes"])
    assert rep["ram_measured_bytes"] <= rep["ram_bytes"]  # the bound holds
    for k in ("flash_bytes", "ram_bytes", "instructions_per_inference",
              "dense_instructions_per_inference", "flash_kernel_bytes", "flash_blob_bytes",
              "flash_library_bytes"):
        assert k in rep
    assert rep["flash_blob_bytes"] == len(blob_f16)
    assert rep["dense_instructions_per_inference"] > rep["instructions_per_inference"]


@pytest.mark.firmware
@pytest.mark.parametrize("target", ["cortex-m3", "cortex-m0plus"])
def test_packed_mailman_layer_without_a_tail_is_bit_exact(tmp_path, target):
    """M = 9 (4-bit indices, 6 a window) and a 30-input v6-M mailman layer with no leftover
    index: gcc once refused the inlined row (-Waggressive-loop-optimizations under -Werror)."""
    _require_toolchain()
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.emulate import run_infer

    data = compile_policy(random_policy((10, 30, 4), 9, seed=4, output_activation=Activation.IDENTITY))
    t = get_target(target)
    r = build(data, t, tmp_path, kernel="packed")
    obs, expected, *_ = selftest_vectors(decode(data), t, n=3, seed=5)
    for o, e in zip(obs, expected, strict=True):
        _, out, _ = run_infer(r.selftest, t.cpu, r.prefix, list(map(float, o)), 4)
        np.testing.assert_array_equal(np.float32(out), e)


@pytest.mark.firmware
@pytest.mark.parametrize("target", ["cortex-m3", "cortex-m0plus"])
def test_packed_follows_the_bad_observation_rule_bit_exactly(tmp_path, target):
    """NaN, +-inf and huge observations through the packed kernel: exactly the numpy model."""
    _require_toolchain()
    from chromatic.targets.build import build
    from chromatic.targets.emulate import run_infer

    data = compile_policy(random_policy((17, 41, 6), 17, seed=2), "f16")
    blob = decode(data)
    t = get_target(target)
    r = build(data, t, tmp_path, kernel="packed")
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(4, 17)).astype(np.float32)
    rows[0, ::2] = np.nan
    rows[1, 1::2] = np.inf
    rows[2, ::3] = -np.inf
    rows[3, :] = np.float32(3e38)
    for o in rows:
        _, out, _ = run_infer(r.selftest, t.cpu, r.prefix, [float(v) for v in o], 6)
        np.testing.assert_array_equal(np.float32(out), fx.FixedModel(blob).forward(o[None])[0])
