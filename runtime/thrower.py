"""Thrower: gym's 7-DoF arm task of throwing a ball into a box (paper §4.2, Table 1), for gymnasium.

gym's ``Thrower-v2`` was removed from gymnasium with ``mujoco-py``. This module rebuilds it on the
``mujoco`` bindings through gymnasium's :class:`MujocoEnv`, with our own model
(``runtime/assets/thrower.xml``) and the original's layout (docs/environments.md):

- action (7): torques of the arm's motors, in [-10, 10] for pan, lift, upper-arm roll and elbow
  flex and in [-15, 15] for forearm roll, wrist flex and wrist roll;
- observation (23): the 7 arm joint angles, their 7 velocities, then the positions (x, y, z) of
  the hand (``r_wrist_roll_link``), the ball and the goal box;
- reward, after each step (gymnasium v5's order): ``-|ball_xy − goal_xy| − 0.002 · |a|²``;
- episode: 100 steps of 0.05 s (5 physics steps of 0.01 s), truncated by the registry's
  ``max_episode_steps``; never terminated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import utils
from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
from gymnasium.spaces import Box

XML_FILE = str(Path(__file__).with_name("assets") / "thrower.xml")
OBS_DIM = 23
ARM_DOF = 7

GOAL_RANGE = 0.3  # the box moves by U(±0.3) m in x and in y from its model position (0.575, 0.5)
LANDING_HEIGHT = -0.25  # m: the ball is down (on the table or in the box) below this z

DEFAULT_CAMERA_CONFIG = {"trackbodyid": 0, "distance": 4.0}


class ThrowerEnv(MujocoEnv, utils.EzPickle):
    """Throw a ball, which starts in the hand, into a box placed at random on the table.

    Rewards are maximised and are never positive. ``latch_landing_point=True`` measures the
    distance term from where the ball first came down (below z = -0.25) for the rest of the
    episode, which is what gym's code meant; the default measures it from the ball's current
    position, which is what gym's code computed, because ``mujoco-py`` returned a live view of
    the position (docs/environments.md).
    """

    metadata = {"render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"]}

    def __init__(
        self,
        xml_file: str = XML_FILE,
        frame_skip: int = 5,
        default_camera_config: dict[str, float | int] | None = None,
        reward_dist_weight: float = 1.0,
        reward_control_weight: float = 0.002,
        latch_landing_point: bool = False,
        reset_noise_scale: float = 0.005,
        **kwargs: Any,
    ) -> None:
        camera = DEFAULT_CAMERA_CONFIG if default_camera_config is None else default_camera_config
        utils.EzPickle.__init__(
            self,
            xml_file,
            frame_skip,
            camera,
            reward_dist_weight,
            reward_control_weight,
            latch_landing_point,
            reset_noise_scale,
            **kwargs,
        )
        self.reward_dist_weight = float(reward_dist_weight)
        self.reward_control_weight = float(reward_control_weight)
        self.latch_landing_point = bool(latch_landing_point)
        self.reset_noise_scale = float(reset_noise_scale)
        observation_space = Box(low=-np.inf, high=np.inf, shape=(OBS_DIM,), dtype=np.float64)
        MujocoEnv.__init__(
            self,
            xml_file,
            frame_skip,
            observation_space=observation_space,
            default_camera_config=camera,
            **kwargs,
        )
        self.metadata = {**type(self).metadata, "render_fps": int(np.round(1.0 / self.dt))}
        self._landing_point: np.ndarray | None = None

    # -- episode ----------------------------------------------------------------------------
    # MujocoEnv types info as dict[str, float64]; ours also carries a bool flag.
    def step(  # type: ignore[override]
        self, action: np.ndarray
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.do_simulation(action, self.frame_skip)
        reward, info = self._reward(np.asarray(action, dtype=np.float64))
        if self.render_mode == "human":
            self.render()
        return self._get_obs(), reward, False, False, info

    def _reward(self, action: np.ndarray) -> tuple[float, dict[str, Any]]:
        ball = self.data.body("ball").xpos.copy()
        goal = self.data.body("goal").xpos.copy()
        if self._landing_point is None and ball[2] < LANDING_HEIGHT:
            self._landing_point = ball
        if self.latch_landing_point and self._landing_point is not None:
            ball = self._landing_point
        reward_dist = -self.reward_dist_weight * float(np.linalg.norm(ball[:2] - goal[:2]))
        reward_ctrl = -self.reward_control_weight * float(np.square(action).sum())
        info = {
            "reward_dist": reward_dist,
            "reward_ctrl": reward_ctrl,
            "landed": self._landing_point is not None,
        }
        return reward_dist + reward_ctrl, info

    def reset_model(self) -> np.ndarray:
        self._landing_point = None
        offset = self.np_random.uniform(-GOAL_RANGE, GOAL_RANGE, size=2)
        qpos = self.init_qpos.copy()
        qpos[self._qpos_index("goal_slidex")] = offset[0]
        qpos[self._qpos_index("goal_slidey")] = offset[1]
        qvel = self.init_qvel.copy()
        noise = self.reset_noise_scale
        qvel[:ARM_DOF] += self.np_random.uniform(-noise, noise, size=ARM_DOF)  # box and ball at rest
        self.set_state(qpos, qvel)
        return self._get_obs()

    def _qpos_index(self, joint: str) -> int:
        return int(self.model.joint(joint).qposadr[0])

    def _get_obs(self) -> np.ndarray:
        return np.concatenate(
            [
                self.data.qpos[:ARM_DOF],
                self.data.qvel[:ARM_DOF],
                self.data.body("r_wrist_roll_link").xpos,
                self.data.body("ball").xpos,
                self.data.body("goal").xpos,
            ]
        )
