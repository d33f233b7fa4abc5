"""chromatic: compile chromatic-network RL policies into bit-packed blobs and run them.

The Python API (docs/python-api.md); the command line is a thin layer over it::

    import chromatic
    blob = chromatic.compile("policies/halfcheetah_h41_c17.npz")   # bytes of a .cblob
    runner = chromatic.load(blob, "c")                               # numpy | numba | c
    action = runner(observation)                                     # runner.batch(obs) for N x d0

``chromatic.measure(blob, target=None)`` is the dict ``chromatic measure --json`` prints,
``chromatic.build(blob, target, out_dir)`` writes a target's sources, library and self-test,
``chromatic.load_policy`` / ``chromatic.save_policy`` read and write policy files, and every
error about the user's input is a :class:`ChromaticError`.

Each function is defined once, in the stage it belongs to, and imported here on first use,
so ``import chromatic`` loads nothing but this module and ``chromatic.errors``. The stages
are sub-packages: ``chromatic.compiler``, ``chromatic.runtime``, ``chromatic.targets`` and
``chromatic.training``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from chromatic.errors import ChromaticError

# The one place the version is written (pyproject.toml reads it there): chromatic/version.py
from chromatic.version import __version__

if TYPE_CHECKING:
    from chromatic.compiler.compile import compile_policy as compile
    from chromatic.compiler.ir import Policy
    from chromatic.compiler.policy_file import load_policy, save_policy
    from chromatic.runtime import Runner, load
    from chromatic.targets.build import BuildResult, build
    from chromatic.targets.measure import measure

# public name -> (module, attribute): what the lazy attributes below resolve to.
_API: dict[str, tuple[str, str]] = {
    "compile": ("chromatic.compiler.compile", "compile_policy"),
    "load": ("chromatic.runtime", "load"),
    "measure": ("chromatic.targets.measure", "measure"),
    "build": ("chromatic.targets.build", "build"),
    "load_policy": ("chromatic.compiler.policy_file", "load_policy"),
    "save_policy": ("chromatic.compiler.policy_file", "save_policy"),
    "Policy": ("chromatic.compiler.ir", "Policy"),
    "Runner": ("chromatic.runtime", "Runner"),
    "BuildResult": ("chromatic.targets.build", "BuildResult"),
}

__all__ = [
    "ChromaticError", "__version__", "compile", "load", "measure", "build", "load_policy", "save_policy",
    "Policy", "Runner", "BuildResult",
]


def __getattr__(name: str) -> object:
    """Import an API function's stage the first time it is used (PEP 562)."""
    try:
        module, attr = _API[name]
    except KeyError:
        raise AttributeError(f"module 'chromatic' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
