"""runtime/minitaur.py: a seeded, self-contained pybullet Minitaur behind the gymnasium API."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pybullet
import pytest

from chromatic.runtime.envs import env_dims, make_env
from chromatic.runtime.minitaur import (
    NUM_MOTORS,
    MinitaurEnv,
    leg_model_to_motor_angles,
    motor_torques,
)

ENV_ID = "chromatic/Minitaur-v0"


@pytest.fixture
def env() -> gym.Env:
    e = make_env(ENV_ID)
    yield e
    e.close()


def _rollout(env: gym.Env, seed: int, steps: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Observations and rewards under a fixed action sequence (independent of ``seed``)."""
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(1234).uniform(-1.0, 1.0, size=(steps, NUM_MOTORS))
    observations, rewards = [obs], []
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(a)
        observations.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    return np.array(observations), np.array(rewards)


def test_spaces_and_registry(env: gym.Env) -> None:
    assert env_dims(env) == (28, 8)
    assert env.spec is not None and env.spec.max_episode_steps == 1000
    np.testing.assert_array_equal(env.action_space.low, -1.0)
    np.testing.assert_array_equal(env.action_space.high, 1.0)


def test_reset_and_step_stay_in_observation_space(env: gym.Env) -> None:
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert np.linalg.norm(obs[24:28]) == pytest.approx(1.0)  # base quaternion
    assert abs(obs[27]) > 0.99  # standing upright after the settle phase
    for _ in range(5):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        assert np.isfinite(reward) and not truncated
        assert reward == pytest.approx(info["forward"] - 0.005 * info["energy"])


def test_same_seed_same_trajectory_different_seed_differs() -> None:
    a, b, c = (make_env(ENV_ID) for _ in range(3))
    try:
        obs_a, rew_a = _rollout(a, seed=3)
        obs_b, rew_b = _rollout(b, seed=3)
        obs_c, rew_c = _rollout(c, seed=4)
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(rew_a, rew_b)
        assert not np.array_equal(obs_a[0], obs_c[0])
        assert not np.array_equal(rew_a, rew_c[: len(rew_a)])
        # reset(seed) rebuilds the world, so a used env replays the same episode too.
        obs_again, rew_again = _rollout(c, seed=3)
        np.testing.assert_array_equal(obs_a, obs_again)
        np.testing.assert_array_equal(rew_a, rew_again)
    finally:
        for e in (a, b, c):
            e.close()


def test_make_env_seed_seeds_the_next_reset() -> None:
    a, b = make_env(ENV_ID, seed=11), make_env(ENV_ID, seed=11)
    try:
        np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    finally:
        a.close()
        b.close()


def test_close_disconnects_its_own_client() -> None:
    a, b = MinitaurEnv(), MinitaurEnv()
    assert a._client != b._client
    a.reset(seed=0)
    client = a._client
    a.close()
    assert pybullet.getConnectionInfo(physicsClientId=client)["isConnected"] == 0
    a.close()  # idempotent
    b.reset(seed=0)  # the other instance is unaffected
    b.step(np.zeros(NUM_MOTORS))
    b.close()
    with pytest.raises(gym.error.ResetNeeded):
        b.step(np.zeros(NUM_MOTORS))


def test_wrong_action_shape_is_rejected(env: gym.Env) -> None:
    env.reset(seed=0)
    with pytest.raises(ValueError, match="8 actions"):
        env.unwrapped.step(np.zeros(3))


def test_falling_terminates() -> None:
    # Swing all legs hard back and forth at 2 Hz: the robot tips over well before 300 steps.
    env = make_env(ENV_ID)
    try:
        env.reset(seed=0)
        for i in range(300):
            s = math.copysign(1.0, math.sin(2 * math.pi * 2.0 * i * 0.01))
            _, _, terminated, _, _ = env.step(np.r_[np.ones(4), np.full(4, s)])
            if terminated:
                break
        assert terminated
    finally:
        env.close()


def test_leg_model_neutral_and_directions() -> None:
    neutral = leg_model_to_motor_angles(np.zeros(NUM_MOTORS))
    np.testing.assert_allclose(neutral, math.pi - 1.5 * math.pi / 4)
    swing = leg_model_to_motor_angles(np.r_[np.zeros(4), np.ones(4)]) - neutral
    np.testing.assert_allclose(swing, -math.pi / 4)  # swing turns both motors of a leg together
    ext = leg_model_to_motor_angles(np.r_[np.ones(4), np.zeros(4)]) - neutral
    np.testing.assert_allclose(ext[0::2], -ext[1::2])  # extension turns them apart
    np.testing.assert_allclose(np.abs(ext), math.pi / 4)


def test_motor_model_saturates_and_opposes_error() -> None:
    q = np.zeros(NUM_MOTORS)
    actual, observed = motor_torques(np.full(NUM_MOTORS, 0.1), q, q)
    assert np.all(actual > 0) and np.all(observed > 0)
    actual, observed = motor_torques(np.full(NUM_MOTORS, 100.0), q, q)
    np.testing.assert_allclose(observed, 5.7)  # sensor clip
    np.testing.assert_allclose(actual, 3.5)  # current-torque table's last entry


def _worker_rollout(seed: int) -> tuple[np.ndarray, np.ndarray]:
    env = make_env(ENV_ID)
    try:
        return _rollout(env, seed, steps=10)
    finally:
        env.close()


def test_worker_processes_replay_the_parent() -> None:
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # a fresh interpreter, as ES workers use
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        results = list(pool.map(_worker_rollout, [5, 5]))
    local_obs, local_rew = _worker_rollout(5)
    for obs, rew in results:
        np.testing.assert_array_equal(obs, local_obs)
        np.testing.assert_array_equal(rew, local_rew)
