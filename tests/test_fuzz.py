"""Fuzzing in the suite: CRC-valid mutants of the corpus through every loader (docs/safety.md).

Every loader (the Python decoder behind the numpy reference, Numba, the C kernel in-process)
must give the same verdict -- the same ``chromatic_status`` code -- on every mutant, never a
foreign exception; an accepted blob with moderate values must give the reference's actions
in every runtime, and finite actions even on NaN/inf observations. The same mutants then go
through the C kernel built with AddressSanitizer and UBSan, out of process.
"""

from __future__ import annotations

import shutil
import struct
import zlib

import numpy as np
import pytest

from chromatic.compiler.blob import FIXED_HEADER, Status, decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Structure
from chromatic.compiler.mutate import EDITS, moderate, mutate, seal
from chromatic.compiler.synth import random_policy
from chromatic.errors import BlobError
from chromatic.runtime.fuzz import LOADERS, observations, try_loaders
from chromatic.runtime.reference import forward
from tests.corpus.regenerate import COLORS, ROW_COLORS, corpus, load_corpus

pytestmark = [pytest.mark.c, pytest.mark.numba]

if shutil.which("gcc") is None:  # pragma: no cover - CI installs gcc
    pytest.skip("needs the system C compiler (gcc)", allow_module_level=True)

N_MUTANTS = 4000  # ~10 s in-process for all three loaders, < 1 s under the sanitizers
RTOL, ATOL = 1e-4, 1e-4


@pytest.fixture(scope="module")
def blobs() -> dict[str, bytes]:
    return load_corpus(with_crashes=False)


def test_every_fuzzer_find_is_replayed():
    """tests/corpus/crashes/ holds every input a fuzzer ever crashed a loader with: now each must
    get one verdict from every loader, without a foreign exception."""
    finds = {k: v for k, v in load_corpus().items() if k.startswith("crashes/")}
    for name, data in finds.items():
        outcome = try_loaders(data, observations(4096))
        assert not outcome.foreign and outcome.agree, (name, outcome)


@pytest.fixture(scope="module")
def mutants(blobs) -> list[tuple[str, tuple[str, ...], bytes]]:
    rng = np.random.default_rng(12)
    names = sorted(blobs)
    out = []
    for _ in range(N_MUTANTS):
        name = names[int(rng.integers(len(names)))]
        data, edits = mutate(blobs[name], rng)
        out.append((name, edits, data))
    return out


def test_corpus_is_the_generator_s_output(blobs):
    """The checked-in files are exactly what tests/corpus/regenerate.py makes (on purpose only)."""
    assert blobs == corpus()


def test_corpus_covers_every_class():
    names = " ".join(corpus())
    for s in Structure:
        assert s.name.lower() in names
    for m in COLORS:
        for pack in ("bits", "bytes"):
            assert f"chromatic_m{m}_f16_{pack}" in names
    for m in ROW_COLORS:
        assert f"chromatic_m{m}_f16_rows" in names
    assert "_f32_" in names
    assert all(f"relu_{n}" in names for n in ("3x4x2_tanh", "2x3x3x2_identity", "5x3x2_relu"))


def test_corpus_runs_the_same_everywhere(blobs):
    for name, data in blobs.items():
        policy = decode(data).policy
        x = observations(policy.layer_sizes[0])
        outcome = try_loaders(data, x)
        assert outcome.accepted, (name, outcome)
        ref = forward(policy, x[:3].astype(np.float64))
        for loader, actions in outcome.actions.items():
            np.testing.assert_allclose(actions[:3], ref, rtol=RTOL, atol=ATOL, err_msg=f"{name} {loader}")
            assert np.isfinite(actions).all(), (name, loader)


def test_mutants_get_one_verdict_from_every_loader(mutants):
    verdicts = {int(s): 0 for s in Status}
    for name, edits, data in mutants:
        outcome = try_loaders(data, observations(300) if moderate(data) else None)
        assert not outcome.foreign, (name, edits, outcome.foreign)
        assert outcome.agree, (name, edits, outcome.codes)
        verdicts[outcome.codes["numpy"]] += 1
        if outcome.accepted and outcome.actions:
            d0 = decode(data).policy.layer_sizes[0]
            x = observations(300)[:, :d0]
            ref = forward(decode(data).policy, x[:3].astype(np.float64))
            for loader, actions in outcome.actions.items():
                np.testing.assert_allclose(actions[:3], ref, rtol=RTOL, atol=ATOL,
                                           err_msg=f"{name} {edits} {loader}")
                assert np.isfinite(actions).all(), (name, edits, loader, actions)
    # The mutator reaches every check: each refusal code, and acceptance.
    assert all(n > 0 for n in verdicts.values()), verdicts


def test_every_edit_is_resealed():
    data = load_corpus()["chromatic_m17_f32_bits.cblob"]
    rng = np.random.default_rng(0)
    for edit, _ in EDITS:
        for _ in range(20):
            out = edit(data, rng)
            if edit.__name__ in ("edit_crc",) or len(out) < FIXED_HEADER.size:
                continue
            if edit.__name__ != "edit_total_length" and len(out) >= 24:  # (shorter: the CRC overlaps it)
                assert struct.unpack_from("<I", out, 16)[0] == len(out), edit.__name__
            assert struct.unpack_from("<I", out, len(out) - 4)[0] == zlib.crc32(out[:-4]), edit.__name__


def test_mutants_under_asan_and_ubsan(tmp_path, mutants):  # a few seconds: in the fast suite too
    from chromatic.runtime.fuzz import build_sanitized_driver, run_sanitized

    try:
        exe = build_sanitized_driver(tmp_path)
    except Exception as e:  # pragma: no cover - CI's gcc has the sanitizers
        pytest.skip(f"no sanitizer runtime: {e}")
    data = [d for _, _, d in mutants] + list(load_corpus().values())  # the fuzzers' finds too
    codes = run_sanitized(exe, data)
    for (name, edits, blob), code in zip(mutants, codes, strict=False):
        assert code == try_loaders(blob, loaders=("numpy",)).codes["numpy"], (name, edits)


# -- the bugs of issue 12, one by one ----------------------------------------------------------
def _with_index(data: bytes, edge: int, value: int) -> bytes:
    """Set edge's color in a byte-packed blob (b = 8) and re-seal."""
    out = bytearray(data)
    header = (FIXED_HEADER.size + 2 * (out[10] + 1) + 3) & ~3
    out[header + edge] = value
    return seal(out)


@pytest.mark.parametrize("m", [1 << k for k in range(1, 9)])
def test_power_of_two_m_with_byte_indices_checks_every_index(m):
    """The C kernel skipped the index scan for a power-of-two M; with --pack bytes an index >= M
    then read past the palette and wrote past the scratch."""
    data = compile_policy(random_policy((5, 3), m, seed=m), "f32", "bytes")
    if m == 256:
        pytest.skip("b = 8 holds exactly 0..255")
    bad = _with_index(data, 4, m)
    outcome = try_loaders(bad)
    assert outcome.codes == {loader: Status.INDEX for loader in LOADERS}, outcome


@pytest.mark.parametrize("std", [0.0, -0.0, -1.0, float("nan"), float("inf")])
@pytest.mark.parametrize("dtype", ["f32", "f16"])
def test_std_must_be_positive_everywhere(std, dtype):
    data = bytearray(compile_policy(random_policy((3, 2), 5, seed=1), dtype, "bits"))
    lay = decode(bytes(data)).layout
    off = lay.offsets()["normalization"] + lay.normalization // 2
    raw = np.asarray([std], "<f2" if dtype == "f16" else "<f4").tobytes()
    data[off : off + len(raw)] = raw
    outcome = try_loaders(seal(data))
    assert outcome.codes == {loader: Status.VALUE for loader in LOADERS}, outcome


def test_index_width_over_16_bits_is_refused_everywhere():
    """M = 70000 needs 17-bit indices: the Python decoder accepted them, C refused."""
    p = random_policy((2, 2), 3, seed=0)
    good = bytearray(compile_policy(p, "f32", "bits"))
    hdr = FIXED_HEADER.unpack_from(good)
    sizes = (2, 2)
    m = 70000
    head = FIXED_HEADER.pack(*hdr[:8], 17, m, 0) + struct.pack("<2H", *sizes)
    head = head.ljust((len(head) + 3) & ~3, b"\0")
    dictionary = bytes((4 * 17 + 7) // 8).ljust(12, b"\0")
    values = np.zeros(m + 2 + 4, "<f4")
    values[-2:] = 1.0
    data = seal(head + dictionary + values.tobytes() + b"\0" * 4)
    outcome = try_loaders(data)
    assert outcome.codes == {loader: Status.TOO_LARGE for loader in LOADERS}, outcome
    with pytest.raises(BlobError, match="17-bit"):
        decode(data)


def test_non_bytes_are_a_blob_error():
    for bad in (None, 5, 3.0, [1, 2], object()):
        outcome = try_loaders(bad)  # type: ignore[arg-type]
        assert not outcome.foreign, outcome
        assert set(outcome.codes.values()) == {-1}, outcome
