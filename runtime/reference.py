"""The numpy reference runtime: the living definition of what a blob computes.

Written for reading, not speed. Every other runtime and target is compared with it
on the same blob. It computes in float64 from the stored (f32 or f16) values, so the
difference to a float32 kernel is that kernel's rounding alone.

    x_0 = clamp(nan_to_0((obs - mean) / std), +-OBS_LIMIT)
    x_{l+1} = act_l(W_l x_l + b_l),  W_l[i, j] = palette[partition_l[i, j]]
"""

from __future__ import annotations

import numpy as np

from chromatic.compiler.ir import Activation, Policy


def activate(kind: Activation, x: np.ndarray) -> np.ndarray:
    """identity, tanh or relu = max(0, x) (compiler.ir.Activation.apply)."""
    return kind.apply(x)


#: The bad-observation rule (docs/safety.md), the same in every runtime and kernel
#: (CHROMATIC_OBS_LIMIT in targets/c/chromatic.h): a NaN normalized input counts as 0 (the
#: mean), and every normalized input is clamped to [-OBS_LIMIT, OBS_LIMIT].
OBS_LIMIT = 1e4


def normalize(policy: Policy, obs: np.ndarray) -> np.ndarray:
    """x_0 = (obs - mean) / std, then NaN -> 0 and clamped to +-OBS_LIMIT (float64)."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf and overflow are handled here
        x = (np.asarray(obs, dtype=np.float64) - policy.normalization.mean) / policy.normalization.std
    return np.clip(np.where(np.isnan(x), 0.0, x), -OBS_LIMIT, OBS_LIMIT)


def forward(policy: Policy, obs: np.ndarray) -> np.ndarray:
    """Actions for observations of shape (d0,) or (N, d0), in float64."""
    x = normalize(policy, obs)
    for l, (layer, w) in enumerate(zip(policy.layers, policy.weight_matrices(), strict=True)):
        x = activate(policy.activation(l), x @ w.T + layer.bias)
    return x


def output_bound(policy: Policy) -> float:
    """An upper bound on |any layer sum| of any kernel for any observation (float64).

    Inputs are clamped to +-OBS_LIMIT; tanh bounds a hidden unit by 1 (ReLU and identity by
    the layer's own bound). Per layer, every
    partial sum of every algorithm (direct gather, mailman per-color sums, k-row buckets) is
    at most ``max|w| * in * bound_in + max|b|``.
    """
    w = float(np.abs(policy.palette).max())
    bound = OBS_LIMIT
    worst = 0.0
    for l, layer in enumerate(policy.layers):
        s = w * layer.shape[1] * bound + float(np.abs(layer.bias).max())
        worst = max(worst, s)
        bound = 1.0 if policy.activation(l).bounded else s
    return worst
