"""mypy on the package as it installs: ``chromatic`` with compiler/, runtime/, targets/ inside it.

The stage folders sit at the top of the repository but install as ``chromatic.compiler`` etc.
(pyproject's package-dir map), a layout mypy cannot follow from the folders, and the editable
install's import hook is invisible to it. So this links the installed layout under
build/typecheck/ (symlinks to the sources: nothing is copied), runs mypy there, and prints the
errors with the repository's paths. training/ is not checked (house style: compiler, runtime,
targets and the root package).

    .venv/bin/python scripts/typecheck.py [extra mypy options]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"
CHECKED = ("chromatic", "chromatic.compiler", "chromatic.runtime", "chromatic.targets")


def _link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` (atomically; safe when two runs race)."""
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def link_tree() -> dict[Path, Path]:
    """Build the installed layout under TREE; returns {tree prefix: repository prefix}."""
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    root_folder = ROOT / package_dir["chromatic"]
    top = TREE / "chromatic"
    top.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for package, folder in package_dir.items():
        if package == "chromatic":
            continue
        _link(TREE.joinpath(*package.split(".")), ROOT / folder)
        mapping[TREE.joinpath(*package.split("."))] = ROOT / folder
    wanted = {p.name for p in root_folder.iterdir() if p.suffix == ".py" or p.name == "py.typed"}
    for name in wanted:
        _link(top / name, root_folder / name)
    for stale in top.iterdir():  # files since removed from chromatic/
        if stale.is_symlink() and stale.name not in wanted and not stale.exists():
            stale.unlink()
    mapping[top] = root_folder
    return mapping


def main(argv: list[str]) -> int:
    mapping = link_tree()
    targets = [str(TREE / "chromatic" / p.name) for p in sorted((TREE / "chromatic").glob("*.py"))]
    targets += [str(TREE.joinpath(*pkg.split("."))) for pkg in CHECKED[1:]]
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *argv, *targets],
        capture_output=True, text=True, cwd=ROOT,
    )
    out = r.stdout + r.stderr
    # longest prefix first: build/typecheck/chromatic/compiler/ before build/typecheck/chromatic/
    for tree, repo in sorted(mapping.items(), key=lambda kv: -len(str(kv[0]))):
        out = out.replace(str(tree.relative_to(ROOT)) + "/", str(repo.relative_to(ROOT)) + "/")
        out = out.replace(str(tree) + "/", str(repo.relative_to(ROOT)) + "/")
    print(out, end="")
    return r.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
