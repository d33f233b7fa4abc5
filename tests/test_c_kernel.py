"""The C runtime against the numpy reference -- the in-place loadable kernel (targets/c/chromatic.c)
and the host's default expanded path (targets/c/chromatic_expand.c) -- and its blob validation."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy
from chromatic.errors import BlobError, ChromaticError
from chromatic.runtime.reference import forward
from tests.strategies import HIDDEN_ACTIVATIONS

pytestmark = pytest.mark.c

if shutil.which("gcc") is None:  # pragma: no cover - CI installs gcc
    pytest.skip("needs the system C compiler (gcc)", allow_module_level=True)

from chromatic.runtime.c_loader import CFLAGS, SOURCE_DIR, CRunner, DenseC, module  # noqa: E402

SHAPES = [(1, 1), (5, 3, 2), (17, 41, 6), (111, 41, 41, 8)]
RTOL, ATOL = 1e-5, 1e-5


def blob_for(sizes, m=17, structure=Structure.CHROMATIC, dtype="f32", pack="bits", seed=0,
             hidden=Activation.TANH):
    policy = random_policy(sizes, m, structure, seed=seed, hidden_activation=hidden)
    return compile_policy(policy, dtype, pack)


def obs_for(sizes, n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, sizes[0])).astype(np.float32)


def assert_matches_reference(runner, data, sizes):
    x = obs_for(sizes)
    ref = forward(decode(data).policy, x.astype(np.float64))
    np.testing.assert_allclose(runner.batch(x), ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(runner(x[0]), ref[0], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("structure", list(Structure))
@pytest.mark.parametrize("dtype", ["f32", "f16"])
@pytest.mark.parametrize("pack", ["bits", "bytes", "rows"])
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("expand", [True, False], ids=["expanded", "in_place"])
def test_matches_reference_every_structure(structure, dtype, pack, hidden, expand):
    for sizes in SHAPES:
        for m in (1, 2, 3, 17, 300):
            if structure.implicit and m != 17:
                continue  # M is implied by the sizes
            data = blob_for(sizes, m, structure, dtype, pack, seed=m, hidden=hidden)
            runner = CRunner(data, expand=expand)
            direct = not any(CRunner(data, expand=False).block_rows)
            assert runner.path == ("expanded" if expand and direct else "in_place")
            assert_matches_reference(runner, data, sizes)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 16, 17, 255, 256, 257, 300, 4096, 65536])
def test_expanded_equals_in_place_every_index_width(m):
    """Every index width (0 to 16 bits, bit and byte packed, M a power of two or not): the
    expanded path decodes the same colors as the in-place kernel reads, and sums them in the
    same order, so the actions are bit-identical (a chaotic gait would turn a last-bit
    difference into another episode, and the zoo's C-runtime returns into other numbers)."""
    sizes = (23, 19, 7)
    x = obs_for(sizes, n=3, seed=m)
    for pack in ("bits", "bytes", "rows"):
        for dtype in ("f32", "f16"):
            data = blob_for(sizes, m, dtype=dtype, pack=pack, seed=m)
            expanded, in_place = CRunner(data), CRunner(data, expand=False)
            np.testing.assert_array_equal(expanded.batch(x), in_place.batch(x))
            np.testing.assert_allclose(expanded.batch(x), forward(decode(data).policy, x.astype(np.float64)),
                                       rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("structure", list(Structure))
def test_expanded_equals_in_place_bit_for_bit_every_structure(structure):
    for sizes in ((17, 41, 6), (5, 3), (23, 19, 7)):
        x = obs_for(sizes, n=5, seed=len(sizes))
        for dtype in ("f32", "f16"):
            data = blob_for(sizes, 17, structure, dtype, "bits", seed=3)
            np.testing.assert_array_equal(CRunner(data).batch(x), CRunner(data, expand=False).batch(x))


def test_expanded_is_the_default_and_set_block_rows_runs_in_place():
    data = blob_for((17, 41, 6))
    runner = CRunner(data)
    assert runner.path == "expanded"
    x = obs_for((17, 41, 6))
    before = runner.batch(x)
    f64 = runner(x[0].astype(np.float64))  # the float64 glue takes the expanded path too
    np.testing.assert_allclose(f64, before[0], rtol=RTOL, atol=ATOL)
    runner.set_block_rows(0, 1)
    assert runner.path == "in_place" and runner.block_rows[0] == 1
    np.testing.assert_allclose(runner.batch(x), before, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(runner(x[0].astype(np.float64)), before[0], rtol=RTOL, atol=ATOL)
    assert runner.bench(x[0], 10) > 0


def test_expand_workspace_and_arguments_are_checked():
    ffi, lib = module().ffi, module().lib
    runner = CRunner(blob_for((17, 41, 6)), expand=False)
    need = lib.chromatic_expand_floats(runner.model)
    assert need == 17 * 41 + 41 * 6 + 41 + 6 + 2 * 17
    ws = ffi.new("float[]", need)
    e = ffi.new("chromatic_expanded *")
    assert lib.chromatic_expand(e, runner.model, ws, need - 1) == 11  # CHROMATIC_ERR_SCRATCH
    assert e.model == ffi.NULL and e.weights == ffi.NULL  # zeroed on error
    assert lib.chromatic_expand(ffi.NULL, runner.model, ws, need) == 1
    assert lib.chromatic_expand(e, ffi.NULL, ws, need) == 1
    assert lib.chromatic_expand(e, runner.model, ffi.NULL, need) == 1
    blank = ffi.new("chromatic_model *")  # never initialized
    assert lib.chromatic_expand_floats(blank) == 0 and lib.chromatic_expand_floats(ffi.NULL) == 0
    assert lib.chromatic_expand(e, blank, ws, need) == 12  # CHROMATIC_ERR_ARGUMENT
    obs, act = np.zeros(17, np.float32), np.zeros(6, np.float32)
    fb, scratch = ffi.from_buffer, ffi.new("float[]", 100)
    assert lib.chromatic_expanded_infer(e, fb("float[]", obs), fb("float[]", act), scratch) == 12
    assert lib.chromatic_expanded_infer(e, fb("float[]", obs), fb("float[]", act), ffi.NULL) == 1
    assert lib.chromatic_expand(e, runner.model, ws, need) == 0
    assert lib.chromatic_expanded_infer(e, fb("float[]", obs), fb("float[]", act), scratch) == 0
    np.testing.assert_allclose(act, runner(obs), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("m", [1, 2, 3, 4, 17])
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_every_block_size_gives_the_same_outputs(m, hidden):
    sizes = (17, 41, 6)
    for pack in ("bits", "bytes", "rows"):
        data = blob_for(sizes, m, pack=pack, seed=m, hidden=hidden)
        runner = CRunner(data)
        x = obs_for(sizes, n=3)
        ref = forward(decode(data).policy, x.astype(np.float64))
        tried = 0
        for k in range(0, 9):
            try:
                for layer in range(2):
                    runner.set_block_rows(layer, k)
            except ChromaticError:
                assert m**k > 4096, f"k={k} refused for M={m}"
                continue
            assert runner.block_rows == (k, k)
            np.testing.assert_allclose(runner.batch(x), ref, rtol=RTOL, atol=ATOL)
            tried += 1
        assert tried >= 3


def test_cost_model_choices():
    lib = module().lib
    assert all(lib.chromatic_choose_block_rows(m, 41, 17) in (0, 1) for m in (17, 32))
    assert lib.chromatic_choose_block_rows(300, 41, 111) == 0  # colors outnumber inputs
    for m, out, n in [(2, 41, 17), (3, 64, 400), (17, 41, 17)]:
        k = lib.chromatic_choose_block_rows(m, out, n)
        assert 0 <= k <= 8 and m**k <= 4096
    from chromatic.runtime.numba_runner import choose_block_rows

    for m in (1, 2, 3, 5, 17, 300):
        for out, n in [(1, 1), (6, 41), (41, 17), (64, 1000)]:
            assert choose_block_rows(m, out, n) == lib.chromatic_choose_block_rows(m, out, n)


def test_implicit_structure_refuses_blocks():
    runner = CRunner(blob_for((5, 3), structure=Structure.TOEPLITZ))
    assert runner.block_rows == (0,)
    with pytest.raises(ChromaticError):
        runner.set_block_rows(0, 1)


@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("output", list(Activation))
def test_dense_baseline_matches_reference(hidden, output):
    p = random_policy((17, 41, 41, 6), 17, hidden_activation=hidden, output_activation=output)
    policy = decode(compile_policy(p)).policy
    x = obs_for((17, 41, 6))[0]
    np.testing.assert_allclose(DenseC(policy)(x), forward(policy, x), rtol=RTOL, atol=ATOL)


def test_crc_is_zlibs():
    lib, ffi = module().lib, module().ffi
    for payload in (b"", b"a", b"chromatic" * 37):
        assert lib.chromatic_crc32(ffi.from_buffer(payload), len(payload)) == zlib.crc32(payload)


def test_null_scratch_uses_the_stack_or_refuses():
    ffi, lib = module().ffi, module().lib
    small = CRunner(blob_for((17, 41, 6)), expand=False)  # chromatic_infer's own fallback
    obs = np.zeros(17, np.float32)
    out = np.zeros(6, np.float32)
    fb = ffi.from_buffer
    assert lib.chromatic_infer(small.model, fb("float[]", obs), fb("float[]", out), ffi.NULL) == 0
    np.testing.assert_allclose(out, small(obs))
    big = CRunner(blob_for((300, 200)))
    out = np.zeros(200, np.float32)
    rc = lib.chromatic_infer(big.model, ffi.from_buffer("float[]", np.zeros(300, np.float32)),
                             ffi.from_buffer("float[]", out), ffi.NULL)
    assert rc == 11  # CHROMATIC_ERR_SCRATCH


def test_strerror_names_every_code():
    runner = CRunner(blob_for((1, 1)))
    messages = [runner.strerror(c) for c in range(13)]
    assert len(set(messages)) == 13
    assert runner.strerror(999) == "unknown chromatic error code"


# -- corrupted blobs -------------------------------------------------------------------------
def c_status(data: bytes) -> int:
    ffi, lib = module().ffi, module().lib
    m = ffi.new("chromatic_model *")
    buf = ffi.new("uint8_t[]", max(len(data), 1))
    ffi.memmove(buf, data, len(data))
    return lib.chromatic_init(m, buf, len(data))


def py_accepts(data: bytes) -> bool:
    try:
        decode(data)
        return True
    except BlobError:
        return False


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def test_truncations_are_rejected():
    data = blob_for((5, 3, 2), m=5)
    for n in range(len(data)):
        assert c_status(data[:n]) in (2, 5), n  # TRUNCATED or LENGTH


def test_bit_flips_are_rejected():
    data = blob_for((5, 3, 2), m=5, pack="bits")
    for bit in range(8 * len(data)):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert c_status(bytes(flipped)) != 0, bit


def test_lying_headers_with_valid_crc():
    data = bytearray(blob_for((5, 3, 2), m=5))
    body = data[:-4]
    cases = {
        "huge sizes": (20, struct.pack("<H", 65535)),
        "zero size": (20, struct.pack("<H", 0)),
        "M huge": (12, struct.pack("<I", 0xFFFFFFFF)),
        "M zero": (12, struct.pack("<I", 0)),
        "layers 0": (10, bytes([0])),
        "layers 200": (10, bytes([200])),
        "index bits 31": (11, bytes([31])),
        "structure 9": (6, bytes([9])),
        "dtype 7": (7, bytes([7])),
        "flags": (5, bytes([0x80])),
        "total": (16, struct.pack("<I", 0xFFFFFFF0)),
    }
    for name, (off, patch) in cases.items():
        bad = bytearray(body)
        bad[off:off + len(patch)] = patch
        blob = with_crc(bytes(bad))
        assert c_status(blob) != 0, name
        assert not py_accepts(blob), name


def test_index_out_of_range_and_bad_values():
    data = bytearray(blob_for((5, 3), m=5, pack="bytes"))
    header = 20 + 2 * 2
    header += (-header) % 4
    bad = bytearray(data[:-4])
    bad[header] = 7  # color 7 >= M = 5
    assert c_status(with_crc(bytes(bad))) == 9
    lay = decode(bytes(data)).layout
    bad = bytearray(data[:-4])
    bad[lay.offsets()["palette"]:lay.offsets()["palette"] + 4] = struct.pack("<f", float("nan"))
    assert c_status(with_crc(bytes(bad))) == 10


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_c_accepts_exactly_what_python_accepts(data):
    blob = bytearray(blob_for((4, 3, 2), m=3))
    body = blob[:-4]
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    fixed = with_crc(bytes(body))  # a valid CRC, so the header and value checks must decide
    assert (c_status(fixed) == 0) == py_accepts(fixed)


# -- AddressSanitizer and UBSan --------------------------------------------------------------
DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "chromatic.h"
#include "chromatic_expand.h"
/* Each argument is a blob file: load it into an exactly sized heap buffer, init, and infer in
   place with k = 0..3, then expanded into an exactly sized heap workspace. */
int main(int argc, char **argv) {
    int i, accepted = 0;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        long n; unsigned char *buf; chromatic_model m; int rc;
        if (!f) return 2;
        fseek(f, 0, SEEK_END); n = ftell(f); fseek(f, 0, SEEK_SET);
        buf = malloc(n ? (size_t)n : 1u);
        if (n && fread(buf, 1, (size_t)n, f) != (size_t)n) return 2;
        fclose(f);
        rc = chromatic_init(&m, buf, (size_t)n);
        if (rc == 0) {
            size_t s = chromatic_scratch_floats(&m);
            float *scratch = malloc(s * sizeof(float));
            float *obs = calloc(m.layers[0].in, sizeof(float));
            float *act = malloc(m.layers[m.num_layers - 1].out * sizeof(float));
            unsigned l, k;
            for (k = 0; k <= 3; k++) {
                for (l = 0; l < m.num_layers; l++) chromatic_set_block_rows(&m, l, k);
                if (chromatic_scratch_floats(&m) > s) continue; /* blocks need more than allocated */
                if (chromatic_infer(&m, obs, act, scratch) != 0) return 3;
            }
            {
                size_t wn = chromatic_expand_floats(&m);
                float *ws = malloc(wn * sizeof(float));
                chromatic_expanded e;
                if (chromatic_expand(&e, &m, ws, wn) != 0) return 5;
                if (chromatic_expanded_infer(&e, obs, act, scratch) != 0) return 6;
                free(ws);
            }
            free(scratch); free(obs); free(act);
            accepted++;
        } else if (chromatic_strerror(rc)[0] == 0) {
            return 4;
        }
        free(buf);
    }
    printf("%d\n", accepted);
    return 0;
}
"""


@pytest.mark.slow
def test_corrupted_blobs_under_asan_and_ubsan(tmp_path: Path):
    exe = tmp_path / "driver"
    (tmp_path / "driver.c").write_text(DRIVER)
    flags = [f for f in CFLAGS if f not in ("-fPIC", "-Wpedantic")]
    cmd = ["gcc", *flags, "-Wno-sign-conversion", "-Wno-conversion", "-g", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=all", "-I", str(SOURCE_DIR), str(tmp_path / "driver.c"),
           str(SOURCE_DIR / "chromatic.c"), str(SOURCE_DIR / "chromatic_expand.c"), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 and "sanitize" in proc.stderr:  # pragma: no cover
        pytest.skip(f"gcc lacks sanitizers: {proc.stderr.splitlines()[0]}")
    assert proc.returncode == 0, proc.stderr
    rng = np.random.default_rng(0)
    files, good = [], 0
    for structure in Structure:
        for dtype, pack in (("f32", "bits"), ("f16", "bytes")):
            data = blob_for((6, 5, 3), m=5, structure=structure, dtype=dtype, pack=pack)
            variants = [data, data[:-1], data[: len(data) // 2], data[:7], data + b"\0"]
            for _ in range(6):
                flipped = bytearray(data)
                flipped[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
                variants.append(bytes(flipped))
                body = bytearray(data[:-4])
                body[int(rng.integers(len(body)))] = int(rng.integers(256))
                variants.append(with_crc(bytes(body)))
            for v in variants:
                path = tmp_path / f"b{len(files)}.cblob"
                path.write_bytes(v)
                files.append(str(path))
                good += py_accepts(v)
    run = subprocess.run([str(exe), *files], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert int(run.stdout) == good  # the C loader accepts exactly the blobs Python accepts


def test_cli_infer_with_c_runtime(tmp_path: Path):
    from chromatic.cli import main

    data = blob_for((17, 41, 6))
    (tmp_path / "p.cblob").write_bytes(data)
    x = obs_for((17, 41, 6), n=5)
    np.save(tmp_path / "x.npy", x)
    assert main(["infer", str(tmp_path / "p.cblob"), "--input", str(tmp_path / "x.npy"),
                 "--output", str(tmp_path / "y.npy"), "--runtime", "c"]) == 0
    ref = forward(decode(data).policy, x)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ref, rtol=RTOL, atol=ATOL)


def test_observation_shape_mismatch_is_a_clear_error():
    runner = CRunner(blob_for((17, 41, 6)))
    with pytest.raises(ChromaticError, match="does not match"):
        runner(np.zeros(16, np.float32))
    with pytest.raises(ChromaticError, match="does not match"):
        runner.batch(np.zeros((2, 18), np.float32))


def test_the_runtime_cache_key_covers_every_header_its_sources_include():
    """The C runtime is rebuilt when a source or header changes: every local header the sources
    (and those headers) include must be in c_loader.HEADERS, or an edit to it would not rebuild."""
    import re

    from chromatic.runtime import c_loader

    seen, todo = set(), list(c_loader.SOURCES)
    while todo:
        name = todo.pop()
        for inc in re.findall(r'#include "([^"]+)"', (c_loader.SOURCE_DIR / name).read_text()):
            if inc not in seen:
                seen.add(inc)
                todo.append(inc)
    assert seen <= set(c_loader.HEADERS), sorted(seen - set(c_loader.HEADERS))
