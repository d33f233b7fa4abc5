"""Load a script of benchmarks/ as a module for a test (the scripts are not a package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load_script(name: str) -> ModuleType:
    """A fresh module of ``benchmarks/<name>.py``, registered in ``sys.modules`` as
    ``<name>_under_test`` (dataclasses look their module up there). ``benchmarks/`` is on
    ``sys.path`` while it loads, as when run as a script, so ``import seeds`` beside it works."""
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(BENCH))
    return mod
