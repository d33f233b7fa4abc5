"""The zoo in policies/: every trained policy compiles and re-earns its eval_return on the C runtime.

Training's final evaluation runs the compiled blob on the numpy reference with
``run_episodes`` (episode k reset with ``eval_seed + k``); the C runtime, given the same seeds,
computes the same actions up to float32 rounding (checked along the recorded trajectory to
1e-5), and MuJoCo's chaotic dynamics turn those last-bit differences into slightly different
episodes, so the mean return is compared within :data:`RTOL`.
"""

from pathlib import Path

import numpy as np
import pytest

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.policy_file import load_policy
from chromatic.runtime import load
from chromatic.runtime.control_loop import run_episodes

ZOO = Path(__file__).resolve().parent.parent / "policies"
TRAINED = sorted(p for p in ZOO.glob("*.npz") if "eval_return" in load_policy(p).metadata)
EXPECTED = {  # the paper's Table 1 architectures and color counts
    "HalfCheetah-v5": ((17, 41, 6), 17),
    "Hopper-v5": ((11, 41, 3), 11),
    "Walker2d-v5": ((17, 41, 6), 17),
    "Swimmer-v5": ((8, 2), 8),
}


def test_zoo_covers_table1_architectures():
    found = {load_policy(p).metadata["env_id"]: load_policy(p) for p in TRAINED}
    assert set(EXPECTED) <= set(found)
    for env_id, (sizes, colors) in EXPECTED.items():
        policy = found[env_id]
        assert policy.layer_sizes == sizes and policy.num_colors == colors
        meta = policy.metadata
        assert meta["train_command"].startswith(f"chromatic train --env {env_id}")
        assert meta["timesteps"] > 0 and meta["eval_episodes"] >= 5 and isinstance(meta["seed"], int)


#: Relative tolerance on the mean return (last-bit action differences, amplified by the dynamics).
RTOL = 0.05


@pytest.mark.c
@pytest.mark.parametrize("path", TRAINED, ids=[p.stem for p in TRAINED])
def test_zoo_policy_reearns_its_return_on_the_c_runtime(path):
    policy = load_policy(path)
    meta = policy.metadata
    blob = compile_policy(policy)
    c_runner = load(blob, "c")
    report = run_episodes(c_runner, meta["env_id"], meta["eval_episodes"], meta["eval_seed"], progress=False)
    assert np.all(np.isfinite(report.returns))
    expected = meta["eval_return"]
    assert report.mean_return == pytest.approx(expected, rel=RTOL), report.returns
    # last-bit agreement of the two runtimes along a reference trajectory
    ref = run_episodes(load(blob, "numpy"), meta["env_id"], 1, meta["eval_seed"], progress=False,
                       record_observations=True)
    obs = np.asarray(ref.observations, np.float32)
    np.testing.assert_allclose(c_runner.batch(obs), load(blob, "numpy").batch(obs), atol=1e-5)


def test_reference_runtime_reearns_eval_return_exactly():
    """The numpy reference with the same seeds gives exactly the recorded eval_return."""
    path = min(TRAINED, key=lambda p: load_policy(p).layer_sizes[0])  # the cheapest (Swimmer)
    meta = load_policy(path).metadata
    report = run_episodes(load(compile_policy(load_policy(path)), "numpy"), meta["env_id"],
                          meta["eval_episodes"], meta["eval_seed"], progress=False)
    assert report.mean_return == meta["eval_return"]
