"""The installed package: one top-level name, every data file, and every verb from a wheel.

The fast tests read pyproject.toml against the folders, so a new sub-package or data file
that the wheel would leave out fails here. The slow test builds the wheel (offline: the
dev extra brings setuptools, so no build isolation is needed), installs it into a fresh
venv that borrows only the third-party packages of the running one, and runs compile,
infer on the C runtime, build and measure for a Cortex-M4F from there, outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = CONFIG["tool"]["setuptools"]
PACKAGE_DIR: dict[str, str] = SETUPTOOLS["package-dir"]
IGNORED = ("__pycache__", "*.pyc", "*.so", "*.o", "*.nbi", "*.nbc")


def source_files() -> dict[str, Path]:
    """Every file the wheel must carry, by its path inside the wheel (chromatic/...)."""
    out = {}
    for package, folder in PACKAGE_DIR.items():
        for path in sorted((ROOT / folder).rglob("*")):
            rel = path.relative_to(ROOT / folder)
            if path.is_dir() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".so", ".o"):
                continue
            out["/".join([*package.split("."), *rel.parts])] = path
    return out


def test_every_folder_is_a_listed_package():
    """A folder of the stages holding files installs only if pyproject lists it."""
    folders = {str(Path(name).parent).replace("/", ".") for name in source_files()}
    missing = sorted(folders - set(SETUPTOOLS["packages"]))
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_package_data_patterns_cover_every_data_file():
    patterns = [p for pats in SETUPTOOLS["package-data"].values() for p in pats]
    data = [n for n in source_files() if not n.endswith(".py")]
    uncovered = [n for n in data if not any(Path(n).match(p) for p in patterns)]
    assert not uncovered, f"add a [tool.setuptools.package-data] pattern for: {uncovered}"


def test_version_is_written_once():
    import chromatic

    assert "version" in CONFIG["project"]["dynamic"] and "version" not in CONFIG["project"]
    assert CONFIG["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "chromatic.version.__version__"}
    assert metadata.version("chromatic") == chromatic.__version__, "reinstall: scripts/setup.sh"


def test_version_flag():
    import chromatic

    script = Path(sys.executable).with_name("chromatic")  # the console script (the wheel test checks it)
    commands = [[sys.executable, "-m", "chromatic", "--version"], [str(script), "--version"]]
    for cmd in commands[: 1 + script.exists()]:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == f"chromatic {chromatic.__version__}", r


# -- the wheel, installed into a fresh venv -----------------------------------------------
def _require_firmware_toolchain() -> None:
    if all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc")):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but a toolchain is missing (scripts/install_firmware_toolchain.sh)")
    pytest.skip("gcc / arm-none-eabi-gcc / qemu-system-arm not installed")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline from a copy of the sources (the checkout stays clean)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", CONFIG["project"]["readme"]):
        shutil.copy2(ROOT / name, src / name)
    for folder in PACKAGE_DIR.values():
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns(*IGNORED))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                        "--no-build-isolation", "--no-index", "-q", "-w", str(tmp / "dist")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{r.stderr}\n(the dev extra brings setuptools>=77: scripts/setup.sh)"
    (whl,) = (tmp / "dist").glob("chromatic-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_has_one_top_level_name_and_every_file(wheel):
    import chromatic

    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = f"chromatic-{chromatic.__version__}.dist-info"
        top_level = z.read(f"{info}/top_level.txt").decode().split()
        record = {line.split(",")[0] for line in z.read(f"{info}/RECORD").decode().splitlines()}
    assert {n.split("/")[0] for n in names} == {"chromatic", info}
    assert top_level == ["chromatic"]
    assert record == set(names)
    missing = sorted(set(source_files()) - set(names))
    assert not missing, f"the wheel leaves out {missing}"


@pytest.mark.slow
@pytest.mark.c
@pytest.mark.firmware
def test_wheel_installs_and_every_verb_works(wheel, tmp_path):
    """compile, infer --runtime c, build and measure --target cortex-m4f from a fresh venv."""
    _require_firmware_toolchain()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # Third-party packages (and pip) come from the running venv, appended after the fresh
    # site-packages; its .pth files (the editable install's import hook) are not processed.
    borrowed = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (purelib / "_borrowed_site_packages.pth").write_text("\n".join(dict.fromkeys(borrowed)) + "\n")
    r = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
                        "--disable-pip-version-check", "-q", str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in purelib.iterdir() if p.name != "_borrowed_site_packages.pth") == [
        "chromatic", wheel.name.split("-py3")[0] + ".dist-info"]

    work = tmp_path / "work"  # not the repository: its chromatic/ folder must not be found
    work.mkdir()
    env = {**os.environ, "CHROMATIC_CACHE": str(tmp_path / "cache")}  # build C from the wheel
    env.pop("PYTHONPATH", None)

    def run(*args: str | Path) -> str:
        r = subprocess.run([str(venv / "bin" / "chromatic"), *map(str, args)], capture_output=True,
                           text=True, cwd=work, env=env, timeout=300)
        assert r.returncode == 0, f"chromatic {' '.join(map(str, args))}:\n{r.stderr}"
        return r.stdout

    where = subprocess.run([str(py), "-c", "import chromatic, chromatic.targets.build as b; "
                            "print(chromatic.__file__); print(b.FW_DIR / 'firmware.ld.in')"],
                           capture_output=True, text=True, cwd=work, env=env, check=True).stdout.split()
    assert all(Path(p).is_relative_to(purelib) and Path(p).is_file() for p in where), where

    import numpy as np

    np.save(work / "obs.npy", np.zeros((3, 17), np.float32))
    run("compile", ROOT / "policies" / "halfcheetah_h41_c17.npz", "-o", "p.cblob")
    run("infer", "p.cblob", "--input", "obs.npy", "--output", "act.npy", "--runtime", "c")
    assert np.load(work / "act.npy").shape == (3, 6)
    assert list((tmp_path / "cache").iterdir()), "the C runtime was not built from the wheel"
    assert "PASS" in run("build", "p.cblob", "--target", "cortex-m4f", "-o", "fw", "--run")
    assert (work / "fw" / "selftest" / "selftest.elf").is_file()
    report = json.loads(run("measure", "p.cblob", "--target", "cortex-m4f", "--no-latency", "--json"))
    assert report["target"] == "cortex-m4f" and report["flash_bytes"] > 0
    assert report["instructions_per_inference"] > 0 and report["blob_bits"] == 8 * 1016
