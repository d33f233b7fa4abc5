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
    "chromatic/Striker-v0",
    "chromatic/Thrower-v0",
    "chromatic/Minitaur-v0",
)

MINITAUR_ID = "chromatic/Minitaur-v0"
STRIKER_ID = "chromatic/Striker-v0"
THROWER_ID = "chromatic/Thrower-v0"

# gymnasium's logger.warn/deprecation print colored "WARN: ..." lines through `warnings`;
# raising its level to ERROR silences them for the whole process (chromatic is the application).
gym.logger.min_level = gym.logger.ERROR


#: chromatic's own ids: (entry point, max_episode_steps, reward_threshold).
_OWN_ENVS: dict[str, tuple[str, int, float | None]] = {
    # 10 s at 100 Hz control, as pybullet's MinitaurBulletEnv-v0
    MINITAUR_ID: ("chromatic.runtime.minitaur:MinitaurEnv", 1000, None),
    # 100 steps of 0.05 s and a threshold of 0, as gym's Striker-v2 and Thrower-v2
    STRIKER_ID: ("chromatic.runtime.striker:StrikerEnv", 100, 0.0),
    THROWER_ID: ("chromatic.runtime.thrower:ThrowerEnv", 100, 0.0),
}


def _register() -> None:
    """Register chromatic's own ids once per process (workers re-import this module)."""
    for env_id, (entry_point, steps, threshold) in _OWN_ENVS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id, entry_point=entry_point, max_episode_steps=steps, reward_threshold=threshold
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


def _no_mujoco_log_file(env_id: str) -> None:
    """Keep MuJoCo from appending to MUJOCO_LOG.TXT in the user's working folder.

    MuJoCo's default handler writes every warning (HalfCheetah's "settotalmass is deprecated"
    at each model load) to that file as well as to the console. The env's module is imported
    first, so MuJoCo is configured only for envs that load it (Minitaur does not).
    """
    spec = gym.registry.get(env_id)
    load_creator = getattr(gym.envs.registration, "load_env_creator", None)
    if spec is not None and isinstance(spec.entry_point, str) and load_creator is not None:
        with contextlib.suppress(Exception):  # gym.make reports a missing module properly
            load_creator(spec.entry_point)
    mujoco = sys.modules.get("mujoco")
    if mujoco is None:
        return
    if hasattr(mujoco, "MjLogConfig"):  # MuJoCo >= 3.10: the default handler's settings
        config = mujoco.MjLogConfig.get()
        if config.logto_file:
            config.logto_file = False
            config.set()
    elif mujoco.get_mju_user_warning() is None:  # older: a warning handler replaces the file
        mujoco.set_mju_user_warning(lambda msg: print(f"MuJoCo warning: {msg}", file=sys.stderr))


def _resolve_id(env_id: str) -> str:
    """Accept ``Minitaur-v0`` for ``chromatic/Minitaur-v0`` (and so on); otherwise the id as given."""
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
            _no_mujoco_log_file(resolved)
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
    except gym.error.Error as ex:  # e.g. a malformed id: "Malformed environment ID"
        raise ChromaticError(f"environment {env_id!r}: {_one_line(ex)}") from None
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
