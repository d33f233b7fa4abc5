"""Quantize: round palette, biases and normalization to the blob's storage dtype.

f32 is bit-exact for a policy file written in float32; f16 halves the value bytes.
A value that does not fit the dtype (overflow to inf, or a std that underflows to 0)
is a user error rather than a silent change of behaviour.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chromatic.compiler.ir import Layer, Normalization, Policy
from chromatic.errors import ChromaticError

DTYPES: dict[str, np.dtype[Any]] = {"f32": np.dtype("<f4"), "f16": np.dtype("<f2")}


def _widest(value: float, dtype: np.dtype) -> str:
    """What to do about a value ``dtype`` cannot hold: f32 if it holds it, else nothing can."""
    with np.errstate(over="ignore", under="ignore"):
        f32 = np.float32(value)
    if dtype != np.float32 and np.isfinite(f32) and (f32 != 0 or value == 0):
        return "; use --dtype f32"
    return " (float32, the widest a blob or policy file stores, cannot hold it either)"


def round_to(name: str, values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    with np.errstate(over="ignore"):
        stored = values.astype(dtype)
    if not np.isfinite(stored).all():
        bad = float(values[~np.isfinite(stored)][0])
        raise ChromaticError(f"{name}: value {bad:g} does not fit in {dtype.name} "
                             f"(|x| <= {float(np.finfo(dtype).max):g}){_widest(bad, dtype)}")
    return stored.astype(np.float64)


def stored(values: np.ndarray, dtype: str) -> np.ndarray:
    """``values`` as a ``dtype`` blob stores them (float64 again), saturating where
    :func:`round_to` would refuse: what quantization-aware training (``chromatic train
    --dtype f16``) runs its rollouts with."""
    dt = DTYPES[dtype]
    big = float(np.finfo(dt).max)
    return np.clip(np.asarray(values, np.float64), -big, big).astype(dt).astype(np.float64)


def quantize(policy: Policy, dtype: str) -> Policy:
    if dtype not in DTYPES:
        raise ChromaticError(f"unknown dtype {dtype!r}; expected one of {sorted(DTYPES)}")
    dt = DTYPES[dtype]
    std = round_to("obs_std", policy.normalization.std, dt)
    if (std == 0).any():
        bad = float(policy.normalization.std[std == 0][0])
        raise ChromaticError(f"obs_std: value {bad:g} underflows to 0 in {dt.name}{_widest(bad, dt)}")
    layers = tuple(
        Layer(layer.partition, round_to(f"bias_{l}", layer.bias, dt)) for l, layer in enumerate(policy.layers)
    )
    return policy.replace(
        layers=layers,
        palette=round_to("weights", policy.palette, dt),
        normalization=Normalization(round_to("obs_mean", policy.normalization.mean, dt), std),
    )
