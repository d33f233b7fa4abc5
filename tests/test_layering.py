"""The one-way road, enforced: which stage may import which, and that starting costs little.

training -> policy file -> compiler (IR, passes, blob) -> targets / runtime. The compiler
imports no other stage; runtime and targets never import training; runtime does not import
targets (it reads their C sources as files); nothing below the top imports the top
(``chromatic`` itself, its CLI). The shared core (errors, atomic writes, read-only arrays)
imports no stage. Imports are read from the source with ``ast`` (function-level ones
included), so a violation fails here before it can hide behind a lazy import.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CORE = {"chromatic.errors", "chromatic.atomic", "chromatic.arrays", "chromatic.version"}
TOP = {"chromatic", "chromatic.cli", "chromatic.__main__"}
# stage -> the stages it may import (besides the core and itself)
MAY_IMPORT = {
    "compiler": set(),
    "runtime": {"compiler"},
    "targets": {"compiler", "runtime"},
    "training": {"compiler", "runtime"},
}
# Third-party packages only the commands that need them may load (simulators, ONNX, plots,
# Ray, the jit and C bridges, emulators): never at module level on the way to a handler.
HEAVY = {"gymnasium", "mujoco", "pybullet", "pybullet_data", "onnxruntime", "onnx", "matplotlib",
         "ray", "numba", "cffi", "tqdm", "unicorn", "capstone", "elftools"}


def package_modules() -> dict[str, Path]:
    """Every module the wheel installs, by dotted name, from pyproject's package-dir map."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = {}
    for package, folder in config["package-dir"].items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            if "__pycache__" in rel.parts:
                continue
            parts = [*package.split("."), *rel.parts]
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = package_modules()


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path, module_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for each import in a file; ``from a import b`` names ``a.b``
    when that is a module. ``module_level_only`` skips TYPE_CHECKING blocks and the bodies of
    functions other than ``register``."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if (module_level_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                    and child.name != "register"):  # the CLI calls every register() at start-up
                continue
            if module_level_only and isinstance(child, ast.If) and is_type_checking(child):
                for stmt in child.orelse:
                    visit(stmt)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"{path}:{child.lineno}: relative import; use chromatic.-absolute"
                base = child.module or ""
                for a in child.names:
                    sub = f"{base}.{a.name}"
                    found.append((child.lineno, sub if sub in MODULES else base))
            visit(child)

    visit(tree)
    return found


def layer(module: str) -> str:
    """'top', 'core', a stage name, or 'third-party'."""
    if module in TOP:
        return "top"
    if module in CORE:
        return "core"
    parts = module.split(".")
    if parts[0] == "chromatic" and len(parts) > 1 and parts[1] in MAY_IMPORT:
        return parts[1]
    if parts[0] == "chromatic":
        raise AssertionError(f"{module}: not in the layer table of tests/test_layering.py")
    return "third-party"


def test_every_module_is_in_a_layer():
    assert {layer(m) for m in MODULES} == {"top", "core", *MAY_IMPORT}


def test_imports_follow_the_road():
    bad = []
    for name, path in sorted(MODULES.items()):
        here = layer(name)
        if here == "top":
            continue
        allowed = {"core", "third-party"} | ({here} | MAY_IMPORT[here] if here in MAY_IMPORT else set())
        for line, target in imports(path):
            if target.split(".")[0] == "chromatic" and layer(target) not in allowed:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {name} ({here}) imports {target}")
    assert not bad, "imports against the one-way road:\n" + "\n".join(bad)


def module_level_closure(roots: list[str]) -> dict[str, str]:
    """Every chromatic module loaded by importing ``roots`` (module-level imports, parents
    included) -> the module that first pulled it in."""
    seen: dict[str, str] = {}
    todo = [(r, "<root>") for r in roots]
    while todo:
        name, via = todo.pop()
        if name in seen or name not in MODULES:
            continue
        seen[name] = via
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo += [(p, name) for p in parents]
        todo += [(t, name) for _, t in imports(MODULES[name], module_level_only=True)]
    return seen


def test_starting_the_cli_loads_no_heavy_package():
    """What ``chromatic --help`` (and so every command) imports before a handler runs."""
    roots = ["chromatic", "chromatic.cli", "chromatic.__main__",
             *(m for m in MODULES if m.endswith(".commands"))]
    closure = module_level_closure(roots)
    bad = []
    for name in sorted(closure):
        for line, target in imports(MODULES[name], module_level_only=True):
            if target.split(".")[0] in HEAVY:
                chain = [name]
                while closure[chain[-1]] != "<root>":
                    chain.append(closure[chain[-1]])
                bad.append(f"{MODULES[name].relative_to(ROOT)}:{line}: {target}  "
                           f"(loaded by {' <- '.join(chain)})")
    assert not bad, "heavy imports on the CLI's start-up path:\n" + "\n".join(bad)


def test_import_chromatic_is_cheap():
    assert module_level_closure(["chromatic"]).keys() <= {"chromatic", *CORE}


# -- the same, observed: which modules a real command loads --------------------------------
PROBE = """
import json, sys
from chromatic.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
SIMULATORS_ETC = {"gymnasium", "mujoco", "pybullet", "onnxruntime", "onnx", "matplotlib", "ray"}


def loaded(args: list[str], cwd: Path) -> set[str]:
    r = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True,
                       text=True, cwd=cwd, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["code"] in (0, None), (out["code"], r.stdout, r.stderr)
    return {m.split(".")[0] for m in out["modules"]}


@pytest.fixture(scope="module")
def blob_dir(tmp_path_factory):
    import numpy as np

    from chromatic.compiler.policy_file import save_policy
    from chromatic.compiler.synth import random_policy

    d = tmp_path_factory.mktemp("layering")
    save_policy(random_policy((5, 7, 3), 4, seed=1), d / "p.npz")
    np.save(d / "obs.npy", np.zeros((2, 5), np.float32))
    return d


@pytest.mark.parametrize("args", [
    ["--help"],
    ["compile", "p.npz", "-o", "p.cblob"],
])
def test_compile_and_help_load_no_heavy_package(blob_dir, args):
    mods = loaded(args, blob_dir)
    assert not mods & HEAVY, sorted(mods & HEAVY)


def test_infer_and_build_load_no_simulator(blob_dir):
    loaded(["compile", "p.npz", "-o", "p.cblob"], blob_dir)
    mods = loaded(["infer", "p.cblob", "--input", "obs.npy", "--output", "act.npy"], blob_dir)
    assert not mods & HEAVY, sorted(mods & HEAVY)  # the numpy runtime needs neither jit nor C
    if shutil.which("gcc"):
        mods = loaded(["build", "p.cblob", "--target", "host", "-o", "build"], blob_dir)
        assert not mods & SIMULATORS_ETC, sorted(mods & SIMULATORS_ETC)
