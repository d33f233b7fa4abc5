"""The CLI end to end, as a user runs it: outputs, and one-line errors for bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from chromatic.compiler.policy_file import save_policy
from chromatic.compiler.synth import random_policy
from chromatic.runtime.reference import forward


def chromatic(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "chromatic", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    policy = random_policy((17, 41, 6), 17, seed=5)
    save_policy(policy, d / "p.npz")
    r = chromatic("compile", d / "p.npz", "-o", d / "p.cblob")
    assert r.returncode == 0, r.stderr
    return d, policy


def assert_one_line_error(r):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chromatic: error:"), r.stderr


def test_measure_json(compiled):
    d, _ = compiled
    r = chromatic("measure", d / "p.cblob", "--json", "--no-latency")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["paper_bits"] == 6571 and out["blob_bits"] == 8128
    assert out["weight_params"] == 17 and abs(out["compression"] - (1 - 58 / 984)) < 1e-12
    assert sum(out["parts_bits"].values()) == out["blob_bits"]


def test_measure_table_is_readable(compiled):
    d, _ = compiled
    r = chromatic("measure", d / "p.cblob", "--no-latency")
    assert r.returncode == 0 and "paper_bits" in r.stdout and "6,571" in r.stdout


def test_infer_matches_reference(compiled):
    d, policy = compiled
    obs = np.random.default_rng(0).normal(size=(7, 17)).astype(np.float32)
    np.save(d / "obs.npy", obs)
    r = chromatic("infer", d / "p.cblob", "--input", d / "obs.npy", "--output", d / "act.npy")
    assert r.returncode == 0, r.stderr
    act = np.load(d / "act.npy")
    assert act.shape == (7, 6)
    np.testing.assert_allclose(act, forward(policy, obs.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "args",
    [
        ["compile", "missing.npz", "-o", "out.cblob"],
        ["compile", "p.npz", "-o", "out.cblob", "--dtype", "f8"],
        ["compile", "p.npz", "-o", "out.cblob", "--pack", "nibbles"],
        ["compile", "garbage.npz", "-o", "out.cblob"],
        ["measure", "missing.cblob"],
        ["measure", "truncated.cblob"],
        ["measure", "flipped.cblob"],
        ["measure", "p.npz"],
        ["infer", "p.cblob", "--input", "wrongdim.npy", "--output", "out.npy"],
        ["infer", "p.cblob", "--input", "missing.npy", "--output", "out.npy"],
        ["infer", "p.cblob", "--input", "garbage.npz", "--output", "out.npy"],
        ["infer", "p.cblob", "--input", "obs.npy", "--output", "out.npy", "--runtime", "fortran"],
        ["frobnicate"],
    ],
)
def test_bad_input_one_line_error_and_no_output(compiled, args):
    d, _ = compiled
    blob = (d / "p.cblob").read_bytes()
    (d / "truncated.cblob").write_bytes(blob[:100])
    flipped = bytearray(blob)
    flipped[300] ^= 4
    (d / "flipped.cblob").write_bytes(bytes(flipped))
    (d / "garbage.npz").write_bytes(b"not a zip")
    np.save(d / "wrongdim.npy", np.zeros((3, 5)))
    np.save(d / "obs.npy", np.zeros((3, 17)))
    r = chromatic(*args, cwd=d)
    assert_one_line_error(r)
    assert not (d / "out.cblob").exists() and not (d / "out.npy").exists()
    assert not list(d.glob(".*.tmp"))  # no half-written temp files left behind


def test_existing_output_survives_a_failed_compile(tmp_path):
    (tmp_path / "out.cblob").write_bytes(b"precious")
    r = chromatic("compile", "missing.npz", "-o", "out.cblob", cwd=tmp_path)
    assert_one_line_error(r)
    assert (tmp_path / "out.cblob").read_bytes() == b"precious"


def test_compile_pack_choices_are_the_format_s_modes():
    """compiler/commands.py spells the choices out (registering imports no numpy): they must
    stay compiler.blob.PACK_MODES."""
    from chromatic.cli import build_parser
    from chromatic.compiler.blob import PACK_MODES

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    pack = next(a for a in sub.choices["compile"]._actions if a.dest == "pack")
    assert tuple(pack.choices) == PACK_MODES
