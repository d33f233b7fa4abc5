"""Runtimes: load a blob and run it (numpy reference, Numba, C through cffi).

``load(blob_bytes, backend)`` returns a Runner: ``runner(obs)`` maps a (d0,) observation
to a (dL,) float32 action and ``runner.batch(obs)`` maps (N, d0) to (N, dL).
"""

from __future__ import annotations

import importlib
from typing import Protocol

import numpy as np

from chromatic.errors import ChromaticError

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


def load(blob: bytes, backend: str = "numpy") -> Runner:
    """A Runner for the blob on the named backend (raises ChromaticError if unknown)."""
    if backend not in BACKENDS:
        raise ChromaticError(f"unknown runtime {backend!r}; expected one of {list(BACKENDS)}")
    module, _, name = BACKENDS[backend].partition(":")
    factory = getattr(importlib.import_module(module), name)
    return factory(blob)


def check_obs(obs: np.ndarray, d0: int, batch: bool) -> np.ndarray:
    """Observations as contiguous float32, with a clear error on a size mismatch."""
    obs = np.asarray(obs)
    want = 2 if batch else 1
    if obs.ndim != want or obs.shape[-1] != d0:
        shape = f"(N, {d0})" if batch else f"({d0},)"
        raise ChromaticError(f"observation shape {obs.shape} does not match the blob: expected {shape}")
    return np.ascontiguousarray(obs, dtype=np.float32)
