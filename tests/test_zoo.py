"""The zoo in policies/: every trained policy compiles and re-earns its eval_return on the C runtime.

Training's final evaluation runs the compiled blob on the numpy reference with
``run_episodes`` (episode k reset with ``eval_seed + k``); the C runtime, given the same seeds,
computes the same actions up to float32 rounding (checked along the recorded trajectory to
1e-5), and MuJoCo's chaotic dynamics turn those last-bit differences into slightly different
episodes, so the mean return is compared within :data:`RTOL`.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.policy_file import load_policy
from chromatic.runtime import load
from chromatic.runtime.control_loop import run_episodes

ZOO = Path(__file__).resolve().parent.parent / "policies"
TRAINED = sorted(p for p in ZOO.glob("*.npz") if "eval_return" in load_policy(p).metadata)
BENCHMARKS = ZOO.parent / "benchmarks"


def table1_rows():
    sys.path.insert(0, str(BENCHMARKS))  # table1.py imports seeds.py beside it
    try:
        import table1
    finally:
        sys.path.remove(str(BENCHMARKS))
    return table1.ROWS


def test_zoo_policies_match_their_table1_rows():
    """Every Table 1 row shipped as policies/<row>.npz has the row's task, architecture and color
    count (or fewer colors used) and the usual metadata; the original four rows are shipped."""
    rows = {r.name: r for r in table1_rows()}
    shipped = {p.stem for p in TRAINED} & set(rows)
    assert {"halfcheetah_h41_c17", "hopper_h41_c11", "walker2d_h41_c17", "swimmer_linear_c8"} <= shipped
    for name in sorted(shipped):
        row, policy = rows[name], load_policy(ZOO / f"{name}.npz")
        meta = policy.metadata
        assert meta["env_id"] == row.env_id, name
        assert tuple(policy.layer_sizes[1:-1]) == row.hidden and policy.num_colors == row.colors, name
        assert meta["train_command"].startswith(f"chromatic train --env {row.env_id}"), name
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
