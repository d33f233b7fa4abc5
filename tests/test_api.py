"""The Python API (chromatic/__init__.py, docs/python-api.md): the documented example runs,
the functions are the ones the commands call, and importing the package costs nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chromatic
from chromatic.compiler.synth import random_policy
from chromatic.runtime.reference import forward

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "python-api.md"


def python_blocks(path: Path) -> str:
    return "\n".join(re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M))


@pytest.mark.c
def test_the_documented_example_runs(tmp_path):
    if not shutil.which("gcc"):
        pytest.skip("the example builds for the host with gcc")
    (tmp_path / "policies").symlink_to(ROOT / "policies")  # the page runs from the repository root
    code = python_blocks(DOC)
    assert "chromatic.compile(" in code and "chromatic.build(" in code
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "1016 bytes" and lines[1] == "6571 8128"
    assert lines[2] == "out/host/build/libchromatic_policy.a" and lines[3].startswith("refused: ")
    assert (tmp_path / "out" / "host" / "selftest" / "selftest").is_file()


@pytest.mark.firmware
def test_the_readme_example_runs(tmp_path):
    if not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm")):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the firmware toolchain is missing")
        pytest.skip("the README's example builds for cortex-m4f")
    (tmp_path / "policies").symlink_to(ROOT / "policies")
    r = subprocess.run([sys.executable, "-c", python_blocks(ROOT / "README.md")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "m4f" / "selftest" / "selftest.elf").is_file()


def test_import_chromatic_loads_no_stage():
    code = ("import sys, chromatic; "
            "print(sorted(m for m in sys.modules if m.startswith('chromatic') or m == 'numpy'))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "['chromatic', 'chromatic.errors', 'chromatic.version']"


def test_api_functions_are_the_stage_functions_the_commands_call():
    from chromatic.compiler.compile import compile_policy
    from chromatic.compiler.policy_file import load_policy, save_policy
    from chromatic.runtime import load
    from chromatic.targets.build import build
    from chromatic.targets.measure import measure

    assert chromatic.compile is compile_policy and chromatic.load is load
    assert chromatic.measure is measure and chromatic.build is build
    assert chromatic.load_policy is load_policy and chromatic.save_policy is save_policy
    assert set(chromatic.__all__) == {"ChromaticError", "__version__", *chromatic._API}
    assert set(chromatic.__all__) <= set(dir(chromatic))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        chromatic.nope  # noqa: B018


def test_compile_takes_a_path_or_a_policy(tmp_path):
    policy = random_policy((5, 7, 3), 4, seed=2)
    chromatic.save_policy(policy, tmp_path / "p.npz")
    from_path = chromatic.compile(tmp_path / "p.npz", pack="bytes")
    assert from_path == chromatic.compile(str(tmp_path / "p.npz"), pack="bytes")
    assert from_path == chromatic.compile(chromatic.load_policy(tmp_path / "p.npz"), pack="bytes")
    with pytest.raises(chromatic.ChromaticError, match="no such policy file"):
        chromatic.compile(tmp_path / "missing.npz")
    with pytest.raises(chromatic.ChromaticError, match="expected a Policy"):
        chromatic.compile({"weights": 1})  # type: ignore[arg-type]
    with pytest.raises(chromatic.ChromaticError, match="dtype"):
        chromatic.compile(policy, dtype="f8")


def test_load_takes_bytes_or_a_path(tmp_path):
    policy = random_policy((5, 7, 3), 4, seed=3)
    blob = chromatic.compile(policy)
    (tmp_path / "p.cblob").write_bytes(blob)
    obs = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    want = forward(policy, obs.astype(np.float64))
    for source in (blob, bytearray(blob), tmp_path / "p.cblob", str(tmp_path / "p.cblob")):
        runner = chromatic.load(source)
        assert runner.layer_sizes == (5, 7, 3)
        np.testing.assert_allclose(runner.batch(obs), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(runner(obs[0]), want[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(chromatic.ChromaticError, match="unknown runtime"):
        chromatic.load(blob, "tpu")
    with pytest.raises(chromatic.ChromaticError, match="p.cblob: no such blob file"):
        chromatic.load(tmp_path / "missing" / "p.cblob")
    (tmp_path / "cut.cblob").write_bytes(blob[:-3])
    with pytest.raises(chromatic.ChromaticError, match="cut.cblob: "):
        chromatic.load(tmp_path / "cut.cblob")


def test_measure_is_what_the_command_prints(tmp_path):
    (tmp_path / "p.cblob").write_bytes(chromatic.compile(random_policy((17, 41, 6), 17, seed=5)))
    r = subprocess.run([sys.executable, "-m", "chromatic", "measure", "p.cblob", "--json", "--no-latency"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == chromatic.measure(str(tmp_path / "p.cblob"), latency=False) | {
        "blob": "p.cblob"}
    from_bytes = chromatic.measure((tmp_path / "p.cblob").read_bytes(), latency=False)
    assert from_bytes["blob"] is None and from_bytes["blob_bits"] == 8128


def test_build_refuses_unknown_names(tmp_path):
    blob = chromatic.compile(random_policy((5, 7, 3), 4, seed=4))
    with pytest.raises(chromatic.ChromaticError, match="unknown target"):
        chromatic.build(blob, "cortex-z9", tmp_path)
    with pytest.raises(chromatic.ChromaticError, match="unknown kernel"):
        chromatic.build(blob, "host", tmp_path, kernel="fast")
    with pytest.raises(chromatic.ChromaticError, match="not a C identifier"):
        chromatic.build(blob, "host", tmp_path, prefix="my-policy")
