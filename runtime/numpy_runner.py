"""The numpy backend: the reference forward pass behind the Runner interface."""

from __future__ import annotations

import numpy as np

from chromatic.compiler.blob import decode
from chromatic.runtime import check_obs
from chromatic.runtime.reference import forward


class NumpyRunner:
    def __init__(self, blob: bytes) -> None:
        self.policy = decode(blob).policy
        self.layer_sizes = self.policy.layer_sizes

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return forward(self.policy, check_obs(obs, self.layer_sizes[0], False)).astype(np.float32)

    def batch(self, obs: np.ndarray) -> np.ndarray:
        return forward(self.policy, check_obs(obs, self.layer_sizes[0], True)).astype(np.float32)
