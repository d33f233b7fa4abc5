"""runtime/striker.py and runtime/thrower.py: gym's 7-DoF arm tasks rebuilt for gymnasium.

Reward terms are checked on states placed by hand (a ball on the goal, a ball a 3-4-5 triangle
away from it), against numbers worked out from the model's geometry rather than from the env.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import pytest

from chromatic.cli import main
from chromatic.compiler.policy_file import load_policy
from chromatic.runtime.envs import SUPPORTED_ENVS, env_dims, make_env

STRIKER, THROWER = "chromatic/Striker-v0", "chromatic/Thrower-v0"
IDS = (STRIKER, THROWER)
ZERO = np.zeros(7)

# Observation layout (docs/environments.md): 7 joint angles, 7 velocities, then x, y, z of the
# hand, the ball and the goal.
HAND, BALL, GOAL = slice(14, 17), slice(17, 20), slice(20, 23)
STRIKER_BALL_Z, STRIKER_GOAL_Z = -0.27, -0.323  # the model's heights: 5.3 cm apart


@pytest.fixture
def striker() -> gym.Env:
    env = make_env(STRIKER, seed=0)
    yield env
    env.close()


@pytest.fixture
def thrower() -> gym.Env:
    env = make_env(THROWER, seed=0)
    yield env
    env.close()


def place(env: gym.Env, **joints: float | Sequence[float]) -> None:
    """Set the named joints' positions and every velocity to 0 (gymnasium's ``set_state``)."""
    base = env.unwrapped
    qpos = base.data.qpos.copy()
    for name, value in joints.items():
        adr = int(base.model.joint(name).qposadr[0])
        qpos[adr : adr + np.size(value)] = value
    base.set_state(qpos, np.zeros(base.model.nv))


def position(env: gym.Env, body: str) -> np.ndarray:
    return env.unwrapped.data.body(body).xpos.copy()


def rollout(env: gym.Env, seed: int, steps: int = 30) -> tuple[np.ndarray, np.ndarray]:
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(99).uniform(env.action_space.low, env.action_space.high, (steps, 7))
    observations, rewards = [obs], []
    for a in actions:
        obs, reward, *_ = env.step(a)
        observations.append(obs)
        rewards.append(reward)
    return np.array(observations), np.array(rewards)


# -- both tasks ---------------------------------------------------------------------------------
def test_registered_and_supported() -> None:
    assert set(IDS) <= set(SUPPORTED_ENVS)
    for env_id in IDS:
        assert gym.spec(env_id).max_episode_steps == 100
    short = make_env("Striker-v0")
    assert short.spec is not None and short.spec.id == STRIKER


@pytest.mark.parametrize("env_id", IDS)
def test_reset_and_step_shapes(env_id: str) -> None:
    env = make_env(env_id, seed=0)
    assert env_dims(env) == (23, 7)
    obs, info = env.reset(seed=1)
    assert obs.shape == (23,) and obs.dtype == np.float64 and env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert obs.shape == (23,) and np.isfinite(reward) and reward <= 0
    assert not terminated and not truncated
    assert {"reward_dist", "reward_ctrl"} <= set(info)
    assert env.unwrapped.dt == pytest.approx(0.05)


def test_action_spaces_are_the_original_motor_limits(striker: gym.Env, thrower: gym.Env) -> None:
    np.testing.assert_array_equal(striker.action_space.high, [3.0] * 7)
    np.testing.assert_array_equal(thrower.action_space.high, [10.0] * 4 + [15.0] * 3)
    np.testing.assert_array_equal(thrower.action_space.low, -thrower.action_space.high)


@pytest.mark.parametrize("env_id", IDS)
def test_a_seed_replays_the_episode(env_id: str) -> None:
    used = make_env(env_id)
    rollout(used, seed=5)
    obs_a, rew_a = rollout(used, seed=3)
    obs_b, rew_b = rollout(make_env(env_id), seed=3)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    obs_c, _ = rollout(make_env(env_id), seed=4)
    assert not np.array_equal(obs_a[0], obs_c[0])


@pytest.mark.parametrize("env_id", IDS)
def test_truncated_after_100_steps_never_terminated(env_id: str) -> None:
    env = make_env(env_id, seed=0)
    env.reset()
    for step in range(1, 101):
        _, _, terminated, truncated, _ = env.step(ZERO)
        assert not terminated
        assert truncated == (step == 100)


@pytest.mark.parametrize("env_id", IDS)
def test_control_cost_is_the_squared_action(env_id: str) -> None:
    weight = {STRIKER: 0.1, THROWER: 0.002}[env_id]
    env = make_env(env_id, seed=0)
    env.reset()
    a = np.array([0.5, -1.0, 0.0, 2.0, 0.0, 0.0, -0.5])
    _, reward, _, _, info = env.step(a)
    assert info["reward_ctrl"] == pytest.approx(-weight * 5.5)
    parts = sum(v for k, v in info.items() if k.startswith("reward_"))
    assert reward == pytest.approx(parts)


# -- Striker ------------------------------------------------------------------------------------
def test_striker_reset_distribution(striker: gym.Env) -> None:
    for seed in range(20):
        obs, _ = striker.reset(seed=seed)
        np.testing.assert_allclose(obs[BALL], [0.5, -0.175, STRIKER_BALL_Z])
        gx, gy, gz = obs[GOAL]
        assert 0.15 <= gx <= 0.7 and 0.1 <= gy <= 1.0 and gz == pytest.approx(STRIKER_GOAL_Z)
        assert np.all(obs[:7] == 0) and 0 < np.abs(obs[7:14]).max() <= 0.1


def test_striker_goal_walls_turn_towards_the_ball(striker: gym.Env) -> None:
    # gym's turn, 2·atan(angle / 3.14), of the yaw `angle` that faces the ball (0 straight ahead).
    striker.reset(seed=0)
    base = striker.unwrapped
    gx, gy = base.data.body("goal").xpos[:2]
    angle = -np.arctan((0.5 - gx) / (-0.175 - gy))
    w, _, _, z = base.data.body("goal").xquat
    assert 2 * np.arctan2(z, w) == pytest.approx(2 * np.arctan(angle / 3.14))


def test_striker_ball_on_the_goal_leaves_only_the_height_gap(striker: gym.Env) -> None:
    obs, _ = striker.reset(seed=2)
    goal = obs[GOAL]
    place(striker, obj_slidex=goal[0], obj_slidey=goal[1])
    obs, _, _, _, info = striker.step(ZERO)
    np.testing.assert_allclose(obs[BALL][:2], goal[:2])  # the walls, 7.4 cm away, do not touch it
    assert info["reward_dist"] == pytest.approx(-3.0 * (STRIKER_BALL_Z - STRIKER_GOAL_Z))
    assert info["reward_near"] == pytest.approx(-0.5 * np.linalg.norm(obs[BALL] - obs[HAND]))
    assert info["reward_ctrl"] == 0 and not info["struck"]


def test_striker_distance_term_keeps_the_closest_approach(striker: gym.Env) -> None:
    obs, _ = striker.reset(seed=2)
    goal = obs[GOAL][:2]
    towards_ball = (obs[BALL][:2] - goal) / np.linalg.norm(obs[BALL][:2] - goal)  # the open side
    gap = STRIKER_BALL_Z - STRIKER_GOAL_Z
    _, _, _, _, start = striker.step(ZERO)
    assert start["reward_dist"] == pytest.approx(-3.0 * np.linalg.norm(obs[BALL] - obs[GOAL]))
    rewards = []
    for distance in (0.5, 0.05, 1.0):
        x, y = goal + distance * towards_ball
        place(striker, obj_slidex=x, obj_slidey=y)
        rewards.append(striker.step(ZERO)[4]["reward_dist"])
    assert rewards[0] == pytest.approx(-3.0 * np.hypot(0.5, gap))
    assert rewards[1] == pytest.approx(-3.0 * np.hypot(0.05, gap))
    assert rewards[2] == rewards[1]  # the closest approach so far, not the current distance
    striker.reset(seed=2)
    assert striker.step(ZERO)[4]["reward_dist"] == start["reward_dist"]  # reset forgets it


@pytest.mark.parametrize("latch", [False, True])
def test_striker_near_term_after_a_strike(latch: bool) -> None:
    env = make_env(STRIKER, seed=0, latch_strike_point=latch)
    env.reset(seed=1)
    # lower the arm (shoulder lift) until the paddle is near the ball's height, then put the ball
    # 8 cm in front of it: within the 0.1 m strike threshold, not touching
    place(env, r_shoulder_lift_joint=0.38)
    paddle = position(env, "tips_arm")
    place(env, obj_slidex=paddle[0] + 0.08, obj_slidey=paddle[1])
    assert np.linalg.norm(position(env, "object") - paddle) < 0.1
    obs, _, _, _, info = env.step(ZERO)
    assert info["struck"]
    strike_point = obs[HAND].copy()
    place(env, obj_slidex=0.2, obj_slidey=0.6)
    obs, _, _, _, info = env.step(np.full(7, 0.5))  # the paddle moves on
    assert info["struck"] and not np.allclose(obs[HAND], strike_point)
    near_to = strike_point if latch else obs[HAND]
    assert info["reward_near"] == pytest.approx(-0.5 * np.linalg.norm(obs[BALL] - near_to))


# -- Thrower ------------------------------------------------------------------------------------
def test_thrower_reset_distribution(thrower: gym.Env) -> None:
    for seed in range(20):
        obs, _ = thrower.reset(seed=seed)
        np.testing.assert_allclose(obs[BALL], [0.5, -0.8, 0.275])
        gx, gy, gz = obs[GOAL]
        assert abs(gx - 0.575) <= 0.3 and abs(gy - 0.5) <= 0.3 and gz == pytest.approx(-0.328)
        assert 0 < np.abs(obs[7:14]).max() <= 0.005


def test_thrower_ball_rests_in_the_hand(thrower: gym.Env) -> None:
    obs, _ = thrower.reset(seed=0)
    for _ in range(100):
        obs, *_ = thrower.step(ZERO)
    hand, ball = obs[HAND], obs[BALL]
    assert np.linalg.norm(ball - hand) < 0.15 and ball[2] > 0.1  # caught by the fingers, not dropped


def test_thrower_distance_is_in_the_table_plane(thrower: gym.Env) -> None:
    obs, _ = thrower.reset(seed=4)
    goal = obs[GOAL]
    obs = place(thrower, ball_free=[goal[0] + 0.3, goal[1] + 0.4, 0.5, 1, 0, 0, 0])
    obs, reward, _, _, info = thrower.step(ZERO)  # falling straight down, 1 m above the box
    assert obs[BALL][2] < 0.5
    assert info["reward_dist"] == pytest.approx(-0.5) and reward == pytest.approx(-0.5)
    place(thrower, ball_free=[goal[0], goal[1], 0.5, 1, 0, 0, 0])
    _, _, _, _, info = thrower.step(ZERO)
    assert info["reward_dist"] == pytest.approx(0.0, abs=1e-12) and not info["landed"]


@pytest.mark.parametrize("latch", [False, True])
def test_thrower_landing_point(latch: bool) -> None:
    env = make_env(THROWER, seed=0, latch_landing_point=latch)
    obs, _ = env.reset(seed=4)
    goal = obs[GOAL]
    # on the table (resting height -0.295 < -0.25), 0.5 m from the box
    place(env, ball_free=[goal[0] + 0.3, goal[1] + 0.4, -0.295, 1, 0, 0, 0])
    _, _, _, _, info = env.step(ZERO)
    assert info["landed"] and info["reward_dist"] == pytest.approx(-0.5, abs=1e-6)
    place(env, ball_free=[goal[0], goal[1], 0.5, 1, 0, 0, 0])  # then lifted over the box
    _, _, _, _, info = env.step(ZERO)
    assert info["reward_dist"] == pytest.approx(-0.5 if latch else 0.0, abs=1e-6)


# -- training -----------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", IDS)
def test_es_trains_a_policy(env_id: str, tmp_path) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--env",
            env_id,
            "--hidden",
            "8",
            "--colors",
            "5",
            "--iterations",
            "3",
            "--perturbations",
            "8",
            "--eval-episodes",
            "2",
            "--backend",
            "inline",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    policy = load_policy(out / "policy.npz")
    assert policy.layer_sizes == (23, 8, 7) and policy.metadata["env_id"] == env_id
    assert policy.metadata["timesteps"] >= 3 * 8 * 100
    assert -1000 < policy.metadata["eval_return"] < 0
