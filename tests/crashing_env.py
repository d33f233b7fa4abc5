"""An environment whose process dies as it is built (for the rollout engine's give-up rule)."""

import os

import gymnasium as gym


class Crash(gym.Env):
    def __init__(self) -> None:
        os._exit(3)


gym.register("Crash-v0", entry_point=Crash)
