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


_F32_MAX = float(np.finfo(np.float32).max)


def check_obs(obs: object, d0: int, batch: bool) -> np.ndarray:
    """Observations as contiguous float32, with a clear ChromaticError for anything else.

    Numbers of any real dtype are accepted; strings, objects, complex numbers and ragged
    lists are refused, as is a wrong shape. Values beyond float32's range saturate to
    +-FLT_MAX instead of becoming inf; NaN and inf pass through to the bad-observation rule
    every kernel applies after normalization (docs/safety.md).
    """
    try:
        arr = np.asarray(obs)
    except (ValueError, TypeError) as e:  # ragged nesting, unconvertible objects
        raise ChromaticError(f"observations must be a numeric array: {e}") from None
    if arr.dtype.kind not in "fiub":
        raise ChromaticError(f"observations must be real numbers, found dtype {arr.dtype}")
    want = 2 if batch else 1
    if arr.ndim != want or arr.shape[-1] != d0:
        shape = f"(N, {d0})" if batch else f"({d0},)"
        raise ChromaticError(f"observation shape {arr.shape} does not match the blob: expected {shape}")
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 4:
        arr = np.clip(arr, -_F32_MAX, _F32_MAX)  # NaN stays NaN
    return np.ascontiguousarray(arr, dtype=np.float32)
