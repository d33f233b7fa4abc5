"""`chromatic run`: the control loop, size checks, and the same action from every runtime."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
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
    # a 50 ms period is met by a ~50 µs step even on a loaded machine (a 5 ms one was not, in CI-like load)
    slow = run_episodes(load(cheetah_blob), "HalfCheetah-v5", max_steps=10, hz=20, progress=False)
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


# -- deadline statistics: inference latency against the control period ----------------------
def test_deadline_stats_counts_steps_over_the_deadline_and_the_budget():
    from chromatic.runtime.control_loop import deadline_stats

    lat = np.array([1000, 2000, 3000, 50_000], dtype=np.int64)  # ns
    d = deadline_stats(lat, deadline_us=10.0, budget_share=0.2, source="deadline_us")
    assert (d.deadline_us, d.budget_us, d.source) == (10.0, 2.0, "deadline_us")
    assert d.steps_over_deadline == 1 and d.share_over_deadline == 0.25  # 50 us > 10 us
    assert d.steps_over_budget == 2 and d.share_over_budget == 0.5  # 3 and 50 us > 2 us; 2 us is not over
    assert d.latency_p50_of_deadline == 0.25 and d.latency_max_of_deadline == 5.0
    assert d.latency_p50_of_deadline <= d.latency_p99_of_deadline <= d.latency_max_of_deadline
    for bad in ({"deadline_us": 0.0}, {"deadline_us": float("nan")},
                {"deadline_us": 1.0, "budget_share": 0.0}, {"deadline_us": 1.0, "budget_share": 1.5}):
        with pytest.raises(ChromaticError, match="--deadline-us|--budget-share"):
            deadline_stats(lat, **bad)


class SlowRunner:
    """A runner that takes at least ``seconds`` per call: a policy too slow for its robot."""

    def __init__(self, runner, seconds):
        self.runner, self.seconds = runner, seconds
        self.layer_sizes = runner.layer_sizes

    def __call__(self, obs):
        time.sleep(self.seconds)
        return self.runner(obs)


def test_slow_inference_is_over_a_tiny_deadline_and_within_a_huge_one(cheetah_blob):
    slow = SlowRunner(load(cheetah_blob), 0.002)  # >= 2 ms a step
    tiny = run_episodes(slow, "HalfCheetah-v5", max_steps=5, deadline_us=1000, budget_share=0.5,
                        progress=False)
    d = tiny.deadline
    assert d is not None and (d.deadline_us, d.source, d.budget_us) == (1000.0, "deadline_us", 500.0)
    assert d.steps_over_deadline == d.steps_over_budget == tiny.steps == 5 and d.share_over_deadline == 1.0
    assert tiny.latency_ns_max >= tiny.latency_ns_p99 >= tiny.latency_ns_median >= 2e6
    huge = run_episodes(slow, "HalfCheetah-v5", max_steps=5, deadline_us=1e9, budget_share=1.0,
                        progress=False)
    assert huge.deadline is not None
    assert huge.deadline.steps_over_deadline == huge.deadline.steps_over_budget == 0
    assert huge.deadline.share_over_deadline == huge.deadline.share_over_budget == 0.0


def test_the_deadline_defaults_to_the_env_control_period_then_hz(cheetah_blob):
    from chromatic.runtime.control_loop import DEFAULT_BUDGET_SHARE

    r = run_episodes(load(cheetah_blob), "HalfCheetah-v5", max_steps=3, progress=False)
    assert r.deadline is not None  # HalfCheetah-v5 acts every 0.05 s (frame skip 5 x 0.01 s)
    assert (r.deadline.deadline_us, r.deadline.source) == (50_000.0, "env")
    assert r.deadline.budget_share == DEFAULT_BUDGET_SHARE and r.deadline.budget_us == 5000.0
    fixed = run_episodes(load(cheetah_blob), "HalfCheetah-v5", max_steps=3, hz=400, progress=False)
    assert fixed.deadline is not None
    assert (fixed.deadline.deadline_us, fixed.deadline.source) == (2500.0, "hz")


def test_an_env_without_a_control_period_has_no_deadline_unless_given():
    import gymnasium as gym

    from chromatic.runtime.control_loop import control_period_s, resolve_deadline_us

    class NoPeriod(gym.Env):
        pass

    env = NoPeriod()
    assert control_period_s(env) is None and resolve_deadline_us(env) is None
    assert resolve_deadline_us(env, deadline_us=250.0) == (250.0, "deadline_us")


def test_cli_budget_share_default_is_the_libraries():
    from chromatic.cli import build_parser
    from chromatic.runtime.control_loop import DEFAULT_BUDGET_SHARE

    args = build_parser().parse_args(["run", "p.cblob"])
    assert args.budget_share == DEFAULT_BUDGET_SHARE and args.deadline_us is None


@pytest.mark.parametrize(
    ("option", "value"),
    [("--deadline-us", "0"), ("--deadline-us", "-5"), ("--deadline-us", "nan"),
     ("--deadline-us", "inf"), ("--deadline-us", "fast"),
     ("--budget-share", "0"), ("--budget-share", "1.5"), ("--budget-share", "nan")],
)
def test_cli_deadline_options_are_one_line_errors(tmp_path, cheetah_blob, capsys, option, value):
    from chromatic.cli import main

    (tmp_path / "p.cblob").write_bytes(cheetah_blob)
    try:
        code = main(["run", str(tmp_path / "p.cblob"), "--env", "HalfCheetah-v5", option, value])
    except SystemExit as e:  # argparse refuses a non-number itself, also in one line (exit 2)
        code = e.code
    assert code != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chromatic: error:") and option in lines[0], lines
