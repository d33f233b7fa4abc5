"""Make the paper's control tasks (§4.2, Table 1) quietly, with user errors as ChromaticError.

Both the robot control loop and the ES trainer build environments through :func:`make_env`, so
one place decides which ids exist, how they are seeded and what reaches the user's terminal:
gymnasium's ``WARN:``/deprecation chatter is turned off, and C-level prints at model load
(MuJoCo's "settotalmass is deprecated" for HalfCheetah, pybullet's "pybullet build time") are
sent to /dev/null. See docs/environments.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import difflib
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from chromatic.errors import ChromaticError

#: The tasks chromatic supports and tests (paper Table 1, on gymnasium's MuJoCo v5 and pybullet).
SUPPORTED_ENVS: tuple[str, ...] = (
    "HalfCheetah-v5",
    "Hopper-v5",
    "Walker2d-v5",
    "Swimmer-v5",
    "Reacher-v5",
    "Pusher-v5",
    "Ant-v5",
    "chromatic/Minitaur-v0",
)

MINITAUR_ID = "chromatic/Minitaur-v0"

# gymnasium's logger.warn/deprecation print colored "WARN: ..." lines through `warnings`;
# raising its level to ERROR silences them for the whole process (chromatic is the application).
gym.logger.min_level = gym.logger.ERROR


def _register() -> None:
    """Register chromatic's own ids once per process (workers re-import this module)."""
    if MINITAUR_ID not in gym.registry:
        gym.register(
            id=MINITAUR_ID,
            entry_point="chromatic.runtime.minitaur:MinitaurEnv",
            max_episode_steps=1000,  # 10 s at 100 Hz control, as pybullet's MinitaurBulletEnv-v0
        )


_register()


@contextlib.contextmanager
def silenced_output() -> Iterator[None]:
    """Send C-level stdout/stderr (fds 1 and 2) to /dev/null, e.g. while a simulator loads.

    Python exceptions still propagate; only bytes written to the fds are dropped. The fds are
    process-wide, so output of other threads in that window is dropped too.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved: list[tuple[int, int]] = []
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:  # fd closed (e.g. a daemon): nothing to silence
                continue
            os.dup2(devnull, fd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        _flush_c_stdio()  # C stdio may still hold buffered text meant for /dev/null
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _flush_c_stdio() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


def _resolve_id(env_id: str) -> str:
    """Accept ``Minitaur-v0`` for ``chromatic/Minitaur-v0``; otherwise the id as given."""
    if env_id not in gym.registry and f"chromatic/{env_id}" in gym.registry:
        return f"chromatic/{env_id}"
    return env_id


def _unknown(env_id: str) -> ChromaticError:
    close = difflib.get_close_matches(env_id, SUPPORTED_ENVS + tuple(gym.registry), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return ChromaticError(f"unknown environment {env_id!r}{hint}; try {', '.join(SUPPORTED_ENVS)}")


def make_env(env_id: str, seed: int | None = None, **kwargs: Any) -> gym.Env:
    """Build a gymnasium env by id, seeded and silent; raise ChromaticError for user errors.

    ``seed`` seeds the env's RNG (through one ``reset(seed=...)``) and its action space, so the
    next ``env.reset()`` without a seed is reproducible. ``kwargs`` go to the env constructor
    (e.g. ``max_steps=500`` for Minitaur, ``exclude_current_positions_from_observation``).
    Any gymnasium-registered id works; :data:`SUPPORTED_ENVS` are the tested ones.
    """
    if not isinstance(env_id, str) or not env_id:
        raise ChromaticError(f"environment id must be a non-empty string, got {env_id!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise ChromaticError(f"environment seed must be an integer, got {seed!r}")
    resolved = _resolve_id(env_id)
    try:
        with silenced_output():
            env = gym.make(resolved, **kwargs)
            if seed is not None:
                env.reset(seed=int(seed))
                env.action_space.seed(int(seed))
    except gym.error.DeprecatedEnv as ex:
        raise ChromaticError(f"environment {env_id!r} is out of date: {_one_line(ex)}") from None
    except gym.error.UnregisteredEnv:
        raise _unknown(env_id) from None
    except (gym.error.DependencyNotInstalled, ImportError) as ex:
        raise ChromaticError(
            f"environment {env_id!r} needs a package that is not installed: {_one_line(ex)}"
        ) from None
    except TypeError as ex:
        if not kwargs:
            raise
        raise ChromaticError(
            f"environment {env_id!r} does not accept options {sorted(kwargs)}: {_one_line(ex)}"
        ) from None
    return env


def _one_line(ex: BaseException) -> str:
    return " ".join(str(ex).split())


def _space_dim(space: gym.Space, what: str, env_name: str) -> int:
    if isinstance(space, gym.spaces.Box):
        return int(np.prod(space.shape, dtype=np.int64))
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)  # one output per choice; the control loop takes the argmax
    raise ChromaticError(
        f"{env_name} has a {type(space).__name__} {what} space; chromatic needs Box or Discrete"
    )


def env_name(env: gym.Env) -> str:
    """The id an env was made with, for messages."""
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(env.unwrapped).__name__


def env_dims(env: gym.Env) -> tuple[int, int]:
    """``(obs_dim, act_dim)``: the input and output widths a policy for ``env`` must have."""
    name = env_name(env)
    return (
        _space_dim(env.observation_space, "observation", name),
        _space_dim(env.action_space, "action", name),
    )


def check_policy_fits(layer_sizes: Sequence[int], env: gym.Env, what: str = "policy") -> None:
    """Raise ChromaticError unless a policy's (input, ..., output) widths match ``env``.

    ``layer_sizes`` is e.g. ``Policy.layer_sizes``; ``what`` names the policy in the message
    ("blob", "policy file").
    """
    sizes = tuple(int(s) for s in layer_sizes)
    if len(sizes) < 2:
        raise ChromaticError(f"{what} has no layers (sizes {sizes})")
    obs_dim, act_dim = env_dims(env)
    name = env_name(env)
    if sizes[0] != obs_dim:
        raise ChromaticError(f"{what} expects {sizes[0]} observations, {name} gives {obs_dim}")
    if sizes[-1] != act_dim:
        raise ChromaticError(f"{what} outputs {sizes[-1]} actions, {name} takes {act_dim}")
