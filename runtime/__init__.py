"""Runtimes: load a blob and run it (numpy reference, Numba, C through cffi).

``load(blob, runtime)`` returns a Runner: ``runner(obs)`` maps a (d0,) observation to a
(dL,) float32 action and ``runner.batch(obs)`` maps (N, d0) to (N, dL).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Protocol

import numpy as np

from chromatic.errors import ChromaticError

if TYPE_CHECKING:
    from chromatic.compiler.files import BlobSource

# backend name -> "module:factory"; a factory takes blob bytes and returns a Runner.
BACKENDS = {
    "numpy": "chromatic.runtime.numpy_runner:NumpyRunner",
    "numba": "chromatic.runtime.numba_runner:NumbaRunner",
    "c": "chromatic.runtime.c_loader:CRunner",
}


class Runner(Protocol):
    layer_sizes: tuple[int, ...]

    def __call__(self, obs: np.ndarray) -> np.ndarray: ...

    def batch(self, obs: np.ndarray) -> np.ndarray: ...


def load(blob: BlobSource, runtime: str = "numpy") -> Runner:
    """A Runner for a blob (bytes, or the path of a .cblob file) on the named runtime.

    ``runtime`` is one of ``numpy`` (the reference), ``numba`` or ``c``; an unknown name or
    a bad blob raises ChromaticError. This is ``chromatic.load``.
    """
    if runtime not in BACKENDS:
        raise ChromaticError(f"unknown runtime {runtime!r}; expected one of {list(BACKENDS)}")
    if isinstance(blob, str | os.PathLike):
        from chromatic.compiler.files import read_blob

        blob, _ = read_blob(blob)
    module, _, name = BACKENDS[runtime].partition(":")
    factory = getattr(importlib.import_module(module), name)
    runner: Runner = factory(blob)
    return runner



def check_obs(obs: np.ndarray, d0: int, batch: bool) -> np.ndarray:
    """Observations as contiguous float32, with a clear error on a size mismatch."""
    obs = np.asarray(obs)
    want = 2 if batch else 1
    if obs.ndim != want or obs.shape[-1] != d0:
        shape = f"(N, {d0})" if batch else f"({d0},)"
        raise ChromaticError(f"observation shape {obs.shape} does not match the blob: expected {shape}")
    return np.ascontiguousarray(obs, dtype=np.float32)
