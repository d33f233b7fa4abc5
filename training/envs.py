"""Environments for training: built by runtime.envs (quiet, seeded, ChromaticError on bad ids)."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from chromatic.errors import ChromaticError
from chromatic.runtime.envs import env_dims, make_env

__all__ = ["EnvInfo", "describe_env", "make_env", "to_action"]


@dataclass(frozen=True)
class EnvInfo:
    """What the trainer needs to know about an environment before any rollout."""

    env_id: str
    obs_dim: int
    act_dim: int
    discrete: bool
    max_episode_steps: int | None


def describe_env(env_id: str) -> EnvInfo:
    """Build the env once in the driver so a bad id fails before workers start."""
    env = make_env(env_id)
    try:
        obs_dim, act_dim = env_dims(env)
        if len(env.observation_space.shape or ()) != 1:
            raise ChromaticError(f"{env_id}: training needs a flat (1-d) observation space")
        spec = getattr(env, "spec", None)
        steps = spec.max_episode_steps if spec is not None else None
        return EnvInfo(env_id, obs_dim, act_dim, isinstance(env.action_space, gym.spaces.Discrete), steps)
    finally:
        env.close()


def to_action(space: gym.Space, y: np.ndarray) -> np.ndarray | int:
    """The env action for a tanh output: argmax for Discrete, clipped to the Box otherwise."""
    if isinstance(space, gym.spaces.Discrete):
        return int(np.argmax(y))
    return np.clip(y, space.low, space.high).reshape(space.shape)
