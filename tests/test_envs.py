"""runtime/envs.py: every supported task builds, seeds and steps; user errors are ChromaticError."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from chromatic.runtime.envs import SUPPORTED_ENVS, check_policy_fits, env_dims, make_env

# gymnasium MuJoCo v5 (obs, act); the paper's Table 1 differs for Reacher (11) and Ant (111),
# which were the older gym v2 observations (docs/environments.md).
MUJOCO_DIMS = {
    "HalfCheetah-v5": (17, 6),
    "Hopper-v5": (11, 3),
    "Walker2d-v5": (17, 6),
    "Swimmer-v5": (8, 2),
    "Reacher-v5": (10, 2),
    "Pusher-v5": (23, 7),
    "Ant-v5": (105, 8),
}


def test_every_mujoco_env_is_supported() -> None:
    assert set(MUJOCO_DIMS) < set(SUPPORTED_ENVS)


@pytest.mark.parametrize("env_id", sorted(MUJOCO_DIMS))
def test_mujoco_env_resets_and_steps(env_id: str) -> None:
    env = make_env(env_id, seed=0)
    try:
        assert env_dims(env) == MUJOCO_DIMS[env_id]
        obs, _ = env.reset()
        assert env.observation_space.contains(obs)
        for _ in range(3):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            assert obs.shape == (MUJOCO_DIMS[env_id][0],)
            assert np.isfinite(reward)
    finally:
        env.close()


def test_seed_makes_resets_reproducible() -> None:
    first = [make_env("Hopper-v5", seed=s).reset()[0] for s in (7, 7, 8)]
    np.testing.assert_array_equal(first[0], first[1])
    assert not np.array_equal(first[0], first[2])


def test_unknown_env_is_one_clear_line() -> None:
    with pytest.raises(ChromaticError) as info:
        make_env("Foo-v9")
    message = str(info.value)
    assert message.startswith("unknown environment 'Foo-v9'")
    assert "HalfCheetah-v5" in message and "\n" not in message


def test_typo_gets_a_suggestion() -> None:
    with pytest.raises(ChromaticError, match="did you mean Hopper-v5"):
        make_env("Hoper-v5")


@pytest.mark.parametrize("bad", ["", None])
def test_empty_id_is_rejected(bad: object) -> None:
    with pytest.raises(ChromaticError, match="non-empty string"):
        make_env(bad)  # type: ignore[arg-type]


def test_bad_seed_is_rejected() -> None:
    with pytest.raises(ChromaticError, match="seed must be an integer"):
        make_env("Hopper-v5", seed="zero")  # type: ignore[arg-type]


def test_out_of_date_version_names_the_current_one() -> None:
    with pytest.raises(ChromaticError, match="Hopper-v5"):
        make_env("Hopper-v1")


def test_unknown_option_is_chromatic_error() -> None:
    with pytest.raises(ChromaticError, match=r"does not accept options \['bogus'\]"):
        make_env("Hopper-v5", bogus=1)


def test_missing_dependency_is_chromatic_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pybullet", None)  # `import pybullet` now fails
    monkeypatch.delitem(sys.modules, "chromatic.runtime.minitaur", raising=False)
    with pytest.raises(ChromaticError, match="needs a package that is not installed"):
        make_env("chromatic/Minitaur-v0")


def test_short_minitaur_id_resolves() -> None:
    env = make_env("Minitaur-v0")
    try:
        assert env.spec is not None and env.spec.id == "chromatic/Minitaur-v0"
    finally:
        env.close()


def test_model_load_chatter_is_silenced(capfd: pytest.CaptureFixture[str]) -> None:
    # MuJoCo prints "settotalmass is deprecated" to C stderr whenever half_cheetah.xml compiles.
    make_env("HalfCheetah-v5", seed=0).close()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_pybullet_import_banner_is_silenced() -> None:
    code = "import chromatic.runtime.minitaur; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "ok\n"
    assert "pybullet build time" not in done.stderr


def test_mujoco_leaves_no_log_file(tmp_path) -> None:
    # MuJoCo's default handler appends each warning (HalfCheetah's "settotalmass is
    # deprecated") to MUJOCO_LOG.TXT in the working folder; a fresh process, as a user's.
    code = "from chromatic.runtime.envs import make_env; make_env('HalfCheetah-v5').close()"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True)
    assert list(tmp_path.iterdir()) == []


def test_check_policy_fits() -> None:
    env = make_env("Hopper-v5")
    check_policy_fits((11, 41, 3), env)
    with pytest.raises(ChromaticError, match="blob expects 17 observations, Hopper-v5 gives 11"):
        check_policy_fits((17, 41, 6), env, what="blob")
    with pytest.raises(ChromaticError, match="outputs 6 actions, Hopper-v5 takes 3"):
        check_policy_fits((11, 6), env)
    with pytest.raises(ChromaticError, match="no layers"):
        check_policy_fits((11,), env)


def test_check_policy_fits_takes_policy_layer_sizes() -> None:
    env = make_env("Swimmer-v5")
    check_policy_fits(random_policy((8, 41, 2)).layer_sizes, env)
