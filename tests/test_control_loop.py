"""`chromatic run`: the control loop, size checks, and the same action from every runtime."""

import json
import subprocess
import sys

import numpy as np
import pytest

from chromatic.compiler.compile import compile_policy
from chromatic.errors import ChromaticError
from chromatic.compiler.synth import random_policy
from chromatic.runtime import BACKENDS, load
from chromatic.runtime.control_loop import run_episodes


@pytest.fixture(scope="module")
def cheetah_blob():
    return compile_policy(random_policy((17, 41, 6), 17, seed=11))


def test_run_reports_returns_and_latency(cheetah_blob):
    r = run_episodes(
        load(cheetah_blob),
        "HalfCheetah-v5",
        episodes=2,
        seed=3,
        max_steps=50,
        record_observations=True,
        progress=False,
    )
    assert r.steps == 100 and len(r.returns) == 2
    assert r.latency_ns_median > 0 and r.latency_ns_p99 >= r.latency_ns_median
    # Deterministic under a seed.
    again = run_episodes(
        load(cheetah_blob), "HalfCheetah-v5", episodes=2, seed=3, max_steps=50, progress=False
    )
    assert again.returns == r.returns


def test_size_mismatch_is_a_clear_error(cheetah_blob):
    with pytest.raises(ChromaticError, match="expects 17 observations, Hopper-v5 gives 11"):
        run_episodes(load(cheetah_blob), "Hopper-v5", progress=False)


def test_fixed_rate_counts_deadline_misses(cheetah_blob):
    r = run_episodes(load(cheetah_blob), "HalfCheetah-v5", max_steps=20, hz=1e6, progress=False)
    assert r.deadline_misses == r.steps == 20  # a 1 µs period cannot be met
    slow = run_episodes(load(cheetah_blob), "HalfCheetah-v5", max_steps=10, hz=200, progress=False)
    assert slow.deadline_misses <= 2


@pytest.mark.parametrize("backend", sorted(set(BACKENDS) - {"numpy"}))
def test_same_observation_same_action_in_every_runtime(cheetah_blob, backend):
    ref = run_episodes(
        load(cheetah_blob), "HalfCheetah-v5", max_steps=100, seed=1, record_observations=True, progress=False
    )
    obs = np.asarray(ref.observations, dtype=np.float32)
    expected = load(cheetah_blob).batch(obs)
    runner = load(cheetah_blob, backend)
    got = np.stack([runner(o) for o in obs])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # and the loop itself follows the same trajectory for a few steps (float32 vs float64
    # rounding differences grow chaotically over a long HalfCheetah episode)
    short_ref = run_episodes(load(cheetah_blob), "HalfCheetah-v5", max_steps=5, seed=1, progress=False)
    short = run_episodes(runner, "HalfCheetah-v5", max_steps=5, seed=1, progress=False)
    np.testing.assert_allclose(short.returns, short_ref.returns, rtol=1e-4, atol=1e-5)


def test_cli_run_json(tmp_path, cheetah_blob):
    (tmp_path / "p.cblob").write_bytes(cheetah_blob)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "chromatic",
            "run",
            str(tmp_path / "p.cblob"),
            "--env",
            "HalfCheetah-v5",
            "--runtime",
            "numpy",
            "--max-steps",
            "20",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("mean_return", "std_return", "latency_ns_median", "latency_ns_p99"):
        assert isinstance(out[key], float)
