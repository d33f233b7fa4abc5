"""A gymnasium-native Minitaur quadruped on pybullet: the paper's forward-walking task (§4.2, [25]).

pybullet ships a Minitaur env (``pybullet_envs.bullet.minitaur_gym_env``), but it imports the
retired ``gym`` package, draws its randomness from the global RNGs and prints at start-up. This
module re-implements the same task for gymnasium (see docs/environments.md):

- robot: ``pybullet_data/quadruped/minitaur.urdf`` with self-collision, the four knee loops
  closed by point-to-point constraints, driven through pybullet's DC motor model (PD in PWM space,
  back-EMF, current-torque saturation, overheat shutdown);
- action: 8 numbers in [-1, 1] (the paper's action normalization, B.2) through the leg model:
  per leg an *extension* and a *swing*, mapped to the two motor angles;
- observation (28): motor angles, motor velocities, observed motor torques, base quaternion;
- reward: forward progress along x minus energy (and optional drift/shake), pybullet's weights;
- episode: ends when the robot falls (terminated) or after ``max_episode_steps`` (truncated,
  1000 through the registry: 10 s of walking at 100 Hz control).

Each instance owns its own ``pybullet.connect(DIRECT)`` client, so many can live in one process
or in worker processes. Reset rebuilds the world (``resetSimulation``), so a given seed replays
bit for bit.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pybullet_data

from chromatic.runtime.envs import silenced_output

with silenced_output():  # pybullet prints "pybullet build time: ..." to C stdout at import
    import pybullet

NUM_MOTORS = 8
MOTOR_NAMES = (  # order of actions and observations: (L, R) motor of each leg
    "motor_front_leftL_joint",
    "motor_front_leftR_joint",
    "motor_back_leftL_joint",
    "motor_back_leftR_joint",
    "motor_front_rightL_joint",
    "motor_front_rightR_joint",
    "motor_back_rightL_joint",
    "motor_back_rightR_joint",
)
LEGS = ("front_left", "back_left", "front_right", "back_right")
MOTOR_DIRECTION = np.array([-1, -1, -1, -1, 1, 1, 1, 1], dtype=np.float64)
INIT_POSITION = (0.0, 0.0, 0.2)
INIT_KNEE_ANGLE = -2.1834  # rad; with motors at pi/2 the leg stands folded
KNEE_PIVOT_R = (0.0, 0.005, 0.2)
KNEE_PIVOT_L = (0.0, 0.01, 0.2)

# Simulation: pybullet's env steps at 0.01 s per action, in 5 substeps of 0.002 s so that the
# motor model (a Python-side PD loop) runs at 500 Hz; solver iterations scale with the substep.
SIM_TIME_STEP = 0.002
ACTION_REPEAT = 5
SOLVER_ITERATIONS = 60
SETTLE_SUBSTEPS = 100  # let the robot drop onto its feet before the episode starts

# DC motor model (pybullet_envs/bullet/motor.py): PWM = kp (target - q) - kd qdot.
MOTOR_KP = 1.0
MOTOR_KD = 0.02
MOTOR_VOLTAGE = 16.0
MOTOR_RESISTANCE = 0.186
MOTOR_TORQUE_CONSTANT = 0.0954
VOLTAGE_CLIPPING = 50.0
OBSERVED_TORQUE_LIMIT = 5.7
MOTOR_SPEED_LIMIT = MOTOR_VOLTAGE / MOTOR_TORQUE_CONSTANT  # rad/s at full PWM, no load
CURRENT_TABLE = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
TORQUE_TABLE = np.array([0.0, 1.0, 1.9, 2.45, 3.0, 3.25, 3.5])
OVERHEAT_TORQUE = 2.45  # N m held for OVERHEAT_TIME seconds shuts a motor down
OVERHEAT_TIME = 1.0

# Leg model: motors (L, R) of leg k from extension e_k = a[k] and swing s_k = a[4 + k].
_LEG_OF_MOTOR = np.array([0, 0, 1, 1, 2, 2, 3, 3])
_EXTENSION_SIGN = np.array([1, -1, 1, -1, -1, 1, -1, 1], dtype=np.float64)
SWING_OFFSET = 1.5  # keeps the legs away from the singular, fully stretched pose

# Observation bounds; observations are clipped to them (the motor model saturates the same way).
OBS_HIGH = np.concatenate(
    [
        np.full(NUM_MOTORS, 2.0 * math.pi),  # motor angle, rad (stance is near pi/2 .. pi)
        np.full(NUM_MOTORS, MOTOR_SPEED_LIMIT),  # motor velocity, rad/s
        np.full(NUM_MOTORS, OBSERVED_TORQUE_LIMIT),  # observed motor torque, N m
        np.ones(4),  # base orientation quaternion (x, y, z, w)
    ]
)


def leg_model_to_motor_angles(action: np.ndarray) -> np.ndarray:
    """Map a normalized action (extension x4, swing x4) to 8 motor angles (pybullet's leg model).

    Motor angle = pi - (pi/4)(swing + 1.5) +- (pi/4) extension: swing turns both motors of a
    leg together (the leg rotates), extension turns them apart (the leg lengthens).
    """
    a = np.asarray(action, dtype=np.float64)
    swing = a[NUM_MOTORS // 2 + _LEG_OF_MOTOR]
    extension = a[_LEG_OF_MOTOR]
    quarter = math.pi / 4.0
    return math.pi - quarter * (swing + SWING_OFFSET) + _EXTENSION_SIGN * quarter * extension


def motor_torques(
    target: np.ndarray, q: np.ndarray, qdot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """pybullet's DC motor model: (torque applied to the joint, torque a sensor reports)."""
    pwm = np.clip(MOTOR_KP * (target - q) - MOTOR_KD * qdot, -1.0, 1.0)
    observed = np.clip(
        MOTOR_TORQUE_CONSTANT * pwm * MOTOR_VOLTAGE / MOTOR_RESISTANCE,
        -OBSERVED_TORQUE_LIMIT,
        OBSERVED_TORQUE_LIMIT,
    )
    voltage = np.clip(
        pwm * MOTOR_VOLTAGE - MOTOR_TORQUE_CONSTANT * qdot, -VOLTAGE_CLIPPING, VOLTAGE_CLIPPING
    )
    current = voltage / MOTOR_RESISTANCE
    actual = np.sign(current) * np.interp(np.abs(current), CURRENT_TABLE, TORQUE_TABLE)
    return actual, observed


class MinitaurEnv(gym.Env[np.ndarray, np.ndarray]):
    """Minitaur forward walking; reward weights default to pybullet's ``minitaur_gym_env``.

    ``reset_noise_scale`` (rad) perturbs the initial motor angles, drawn from the env's seeded
    RNG, so different seeds give different (and equal seeds identical) episodes.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 100}
    #: The control period (s): one action per env step, as gymnasium's MuJoCo envs' ``dt``.
    #: ``chromatic run`` takes its per-step inference deadline from it (100 Hz).
    dt = SIM_TIME_STEP * ACTION_REPEAT

    def __init__(
        self,
        distance_weight: float = 1.0,
        energy_weight: float = 0.005,
        drift_weight: float = 0.0,
        shake_weight: float = 0.0,
        reset_noise_scale: float = 0.05,
        self_collision: bool = True,
        motor_overheat_protection: bool = True,
        render_mode: str | None = None,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.distance_weight = float(distance_weight)
        self.energy_weight = float(energy_weight)
        self.drift_weight = float(drift_weight)
        self.shake_weight = float(shake_weight)
        self.reset_noise_scale = float(reset_noise_scale)
        self.self_collision = bool(self_collision)
        self.motor_overheat_protection = bool(motor_overheat_protection)
        self.render_mode = render_mode

        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(NUM_MOTORS,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(-OBS_HIGH, OBS_HIGH, dtype=np.float64)

        self._client = pybullet.connect(pybullet.DIRECT)
        if self._client < 0:
            raise RuntimeError("pybullet could not open a DIRECT physics client")
        self._robot = -1
        self._motor_ids: list[int] = []
        self._observed_torque = np.zeros(NUM_MOTORS)
        self._overheat_count = np.zeros(NUM_MOTORS)
        self._motor_enabled = np.ones(NUM_MOTORS, dtype=bool)
        self._last_position = np.zeros(3)

    # -- world ----------------------------------------------------------------------------
    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, physicsClientId=self._client, **kwargs)

    def _build_world(self) -> None:
        """Rebuild from scratch each reset: pybullet keeps no state between episodes."""
        c = self._call
        c(pybullet.resetSimulation)
        c(pybullet.setPhysicsEngineParameter, numSolverIterations=SOLVER_ITERATIONS)
        c(pybullet.setTimeStep, SIM_TIME_STEP)
        c(pybullet.setGravity, 0, 0, -10)
        data = pybullet_data.getDataPath()
        c(pybullet.loadURDF, f"{data}/plane.urdf")
        flags = pybullet.URDF_USE_SELF_COLLISION if self.self_collision else 0
        self._robot = c(
            pybullet.loadURDF, f"{data}/quadruped/minitaur.urdf", INIT_POSITION, flags=flags
        )
        joints = {
            c(pybullet.getJointInfo, self._robot, j)[1].decode(): j
            for j in range(c(pybullet.getNumJoints, self._robot))
        }
        self._motor_ids = [joints[name] for name in MOTOR_NAMES]

        noise = self.np_random.uniform(
            -self.reset_noise_scale, self.reset_noise_scale, size=NUM_MOTORS
        )
        for leg_index, leg in enumerate(LEGS):
            for side_index, side in enumerate("LR"):
                m = 2 * leg_index + side_index
                direction = MOTOR_DIRECTION[m]
                motor, knee = joints[f"motor_{leg}{side}_joint"], joints[f"knee_{leg}{side}_link"]
                c(
                    pybullet.resetJointState,
                    self._robot,
                    motor,
                    direction * (math.pi / 2 + noise[m]),
                    targetVelocity=0,
                )
                c(
                    pybullet.resetJointState,
                    self._robot,
                    knee,
                    direction * INIT_KNEE_ANGLE,
                    targetVelocity=0,
                )
                # Free the joints from pybullet's default velocity motors: torque comes from
                # the motor model, and the knees are passive.
                for joint in (motor, knee):
                    c(
                        pybullet.setJointMotorControl2,
                        self._robot,
                        joint,
                        pybullet.VELOCITY_CONTROL,
                        targetVelocity=0,
                        force=0,
                    )
            c(
                pybullet.createConstraint,
                self._robot,
                joints[f"knee_{leg}R_link"],
                self._robot,
                joints[f"knee_{leg}L_link"],
                pybullet.JOINT_POINT2POINT,
                [0, 0, 0],
                KNEE_PIVOT_R,
                KNEE_PIVOT_L,
            )

    def _motor_state(self) -> tuple[np.ndarray, np.ndarray]:
        states = self._call(pybullet.getJointStates, self._robot, self._motor_ids)
        q = np.array([s[0] for s in states]) * MOTOR_DIRECTION
        qdot = np.array([s[1] for s in states]) * MOTOR_DIRECTION
        return q, qdot

    def _apply_motor_angles(self, target: np.ndarray) -> None:
        """One substep of the motor model, then one physics step."""
        q, qdot = self._motor_state()
        actual, observed = motor_torques(target, q, qdot)
        if self.motor_overheat_protection:
            hot = np.abs(actual) > OVERHEAT_TORQUE
            self._overheat_count = np.where(hot, self._overheat_count + 1, 0)
            self._motor_enabled &= self._overheat_count <= OVERHEAT_TIME / SIM_TIME_STEP
        self._observed_torque = observed
        forces = np.where(self._motor_enabled, actual * MOTOR_DIRECTION, 0.0)
        self._call(
            pybullet.setJointMotorControlArray,
            self._robot,
            self._motor_ids,
            pybullet.TORQUE_CONTROL,
            forces=forces.tolist(),
        )
        self._call(pybullet.stepSimulation)

    def _base_pose(self) -> tuple[np.ndarray, tuple[float, ...]]:
        position, orientation = self._call(pybullet.getBasePositionAndOrientation, self._robot)
        return np.array(position), orientation

    def _observation(self) -> np.ndarray:
        q, qdot = self._motor_state()
        _, orientation = self._base_pose()
        obs = np.concatenate([q, qdot, self._observed_torque, orientation])
        return np.clip(obs, -OBS_HIGH, OBS_HIGH)

    def _fallen(self, position: np.ndarray, orientation: tuple[float, ...]) -> bool:
        """Tilted by more than ~32 degrees (up . z < 0.85) or base below 13 cm: pybullet's test."""
        up_z = self._call(pybullet.getMatrixFromQuaternion, orientation)[8]
        return bool(up_z < 0.85 or position[2] < 0.13)

    # -- gymnasium API --------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._build_world()
        self._overheat_count = np.zeros(NUM_MOTORS)
        self._motor_enabled = np.ones(NUM_MOTORS, dtype=bool)
        stand = np.full(NUM_MOTORS, math.pi / 2)
        for _ in range(SETTLE_SUBSTEPS):
            self._apply_motor_angles(stand)
        self._overheat_count = np.zeros(NUM_MOTORS)
        self._last_position, _ = self._base_pose()  # progress counts from the settled pose
        return self._observation(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._robot < 0:
            raise gym.error.ResetNeeded("call reset() before step()")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (NUM_MOTORS,):
            raise ValueError(f"Minitaur takes {NUM_MOTORS} actions, got shape {a.shape}")
        target = leg_model_to_motor_angles(np.clip(a, -1.0, 1.0))
        for _ in range(ACTION_REPEAT):
            self._apply_motor_angles(target)

        position, orientation = self._base_pose()
        forward = position[0] - self._last_position[0]
        drift = abs(position[1] - self._last_position[1])
        shake = abs(position[2] - self._last_position[2])
        self._last_position = position
        obs = self._observation()
        velocity = obs[NUM_MOTORS : 2 * NUM_MOTORS]
        # pybullet's energy term: |torque . velocity| over one *substep*, kept for its weights.
        energy = abs(float(np.dot(self._observed_torque, velocity))) * SIM_TIME_STEP
        reward = (
            self.distance_weight * forward
            - self.energy_weight * energy
            - self.drift_weight * drift
            - self.shake_weight * shake
        )
        info = {"forward": forward, "energy": energy, "x_position": float(position[0])}
        return obs, float(reward), self._fallen(position, orientation), False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array" or self._robot < 0:
            return None
        position, _ = self._base_pose()
        view = pybullet.computeViewMatrixFromYawPitchRoll(
            cameraTargetPosition=position.tolist(),
            distance=1.0,
            yaw=0,
            pitch=-30,
            roll=0,
            upAxisIndex=2,
        )
        projection = pybullet.computeProjectionMatrixFOV(
            fov=60, aspect=4 / 3, nearVal=0.1, farVal=100.0
        )
        _, _, pixels, _, _ = self._call(
            pybullet.getCameraImage,
            320,
            240,
            viewMatrix=view,
            projectionMatrix=projection,
            renderer=pybullet.ER_TINY_RENDERER,
        )
        return np.asarray(pixels, dtype=np.uint8).reshape(240, 320, 4)[:, :, :3]

    def close(self) -> None:
        """Disconnect this env's pybullet client; safe to call twice."""
        if self._client >= 0:
            pybullet.disconnect(physicsClientId=self._client)
            self._client = -1
            self._robot = -1

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
