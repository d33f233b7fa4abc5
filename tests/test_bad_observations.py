"""The bad-observation rule (docs/safety.md), the same in every runtime, kernel and in `run`.

x0 = (obs - mean) / std; NaN -> 0; clamped to +-OBS_LIMIT. So NaN, +-inf and values beyond
float32's range never give a NaN, infinite or out-of-bound action; a wrong dtype, kind or shape
is a ChromaticError, never a ValueError/TypeError from numpy.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from chromatic.runtime import load
from chromatic.runtime.reference import OBS_LIMIT, forward, normalize

RUNTIMES = ["numpy", "numba", "c"]
RTOL, ATOL = 1e-5, 1e-5

BLOBS = {
    "17x41x6 f32 bits": compile_policy(random_policy((17, 41, 6), 17, seed=3), "f32", "bits"),
    "5x3 f16 bytes, identity out": compile_policy(
        random_policy((5, 3), 4, seed=4, output_activation=Activation.IDENTITY), "f16", "bytes"),
    "toeplitz 6x4x2": compile_policy(random_policy((6, 4, 2), 0, Structure.TOEPLITZ, seed=5), "f32", "bits"),
}


def bad_rows(d0: int) -> np.ndarray:
    """float64 observations: NaN, +-inf, beyond float32's range, huge, and a normal row."""
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(9, d0))
    rows[0, ::2] = np.nan
    rows[1, :] = np.inf
    rows[2, :] = -np.inf
    rows[3, :] = 1e39  # float32 would make it inf
    rows[4, :] = -1e300
    rows[5, ::3] = np.nan
    rows[5, 1::3] = np.inf
    rows[6, :] = 3e38
    rows[7, :] = np.nan
    return rows


def test_reference_rule():
    p = decode(BLOBS["5x3 f16 bytes, identity out"]).policy
    x = normalize(p, bad_rows(5))
    assert np.isfinite(x).all() and np.abs(x).max() <= OBS_LIMIT
    assert (x[7] == 0).all()  # an all-NaN observation is the mean
    assert (x[1] == OBS_LIMIT).all() and (x[2] == -OBS_LIMIT).all() and (x[3] == OBS_LIMIT).all()


@pytest.mark.c
@pytest.mark.numba
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", list(BLOBS))
def test_runtimes_follow_the_rule(runtime, name):
    if runtime == "c" and shutil.which("gcc") is None:  # pragma: no cover
        pytest.skip("needs gcc")
    data = BLOBS[name]
    policy = decode(data).policy
    runner = load(data, runtime)
    obs = bad_rows(policy.layer_sizes[0])
    ref = forward(policy, obs)
    assert np.isfinite(ref).all()
    batch = runner.batch(obs)
    np.testing.assert_allclose(batch, ref, rtol=RTOL, atol=ATOL)
    for row, want in zip(obs, ref, strict=True):
        with np.errstate(over="ignore"):
            row32 = row.astype(np.float32)
        for x in (row, row32, list(row)):  # float64 fast path, float32, a list
            got = runner(x)
            assert got.dtype == np.float32 and np.isfinite(got).all()
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.c
@pytest.mark.numba
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_wrong_kinds_are_chromatic_errors(runtime):
    if runtime == "c" and shutil.which("gcc") is None:  # pragma: no cover
        pytest.skip("needs gcc")
    runner = load(BLOBS["5x3 f16 bytes, identity out"], runtime)
    bad = [np.array(["1", "2", "3", "4", "5"]), np.array([1, "a", None, 2, 3], dtype=object),
           np.ones(5, np.complex64), [[1, 2], [3]], None, "12345", np.ones(4), np.ones((1, 5)),
           np.ones(6), {"a": 1}, np.ones((2, 2, 5))]
    for obs in bad:
        with pytest.raises(ChromaticError):
            runner(obs)
        if not (isinstance(obs, np.ndarray) and obs.shape == (1, 5)):
            with pytest.raises(ChromaticError):
                runner.batch(obs)
        with pytest.raises(ChromaticError):
            runner.batch(np.asarray(obs, dtype=object) if obs is not None and not isinstance(obs, list)
                         else obs)
    for ok in (np.ones(5, np.int64), np.ones(5, bool), np.ones(5, np.float16), [0, 1, 2, 3, 4],
               np.ones(10)[::2], np.full(5, 2**63, dtype=np.uint64), np.ones(5, np.longdouble) * 1e4000):
        assert np.isfinite(runner(ok)).all()


# -- firmware kernels: the same rule on the device (unicorn runs one infer call) ----------------
@pytest.mark.firmware
@pytest.mark.parametrize("target,kernel", [("cortex-m4f", "loadable"), ("cortex-m4f", "inline"),
                                           ("cortex-m4f", "gather"), ("cortex-m4f", "unrolled"),
                                           ("cortex-m3", "loadable"), ("cortex-m3", "unrolled")])
def test_firmware_kernels_follow_the_rule(tmp_path, target, kernel):
    from chromatic.targets.build import build, have_toolchain
    from chromatic.targets.emulate import run_infer
    from chromatic.targets.fixed_point import FixedModel
    from chromatic.targets.registry import get_target

    t = get_target(target)
    if not have_toolchain(t):  # pragma: no cover - CI installs it
        pytest.skip("needs the arm-none-eabi toolchain")
    data = compile_policy(random_policy((17, 41, 6), 17, seed=2), "f32")
    blob = decode(data)
    r = build(data, t, tmp_path, kernel=kernel)
    with np.errstate(over="ignore"):
        obs = bad_rows(17).astype(np.float32)[[0, 1, 2, 5, 6, 7]]
    for o in obs:
        _, out, _ = run_infer(r.selftest, t.cpu, r.prefix, [float(v) for v in o], 6)
        assert np.isfinite(out).all(), (kernel, o, out)
        if t.kernel == "fixed":
            np.testing.assert_array_equal(np.float32(out), FixedModel(blob).forward(o[None])[0])
        else:
            np.testing.assert_allclose(out, forward(blob.policy, o.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_fixed_point_model_rule():
    from chromatic.targets.fixed_point import FixedModel

    blob = decode(compile_policy(random_policy((5, 3), 4, seed=1), "f32"))
    fx = FixedModel(blob)
    with np.errstate(over="ignore"):
        out = fx.forward(bad_rows(5).astype(np.float32))
    assert np.isfinite(out).all()
    mean_row = fx.forward(blob.policy.normalization.mean.astype(np.float32)[None])
    np.testing.assert_array_equal(out[7], mean_row[0])  # all-NaN == the mean


# -- the control loop -------------------------------------------------------------------------
def test_run_options_are_checked_first():
    from chromatic.runtime.control_loop import check_run_options

    for kwargs in ({"episodes": 0}, {"seed": -1}, {"hz": 0.0}, {"hz": float("inf")}, {"hz": float("nan")},
                   {"max_steps": 0}, {"max_steps": -5}, {"episodes": 1.5}):
        args = {"episodes": 1, "seed": 0, "hz": None, "max_steps": None, **kwargs}
        with pytest.raises(ChromaticError):
            check_run_options(**args)  # type: ignore[arg-type]
    check_run_options(1, 0, 50.0, 10)


def test_run_refuses_weights_that_could_overflow():
    from chromatic.runtime.control_loop import check_finite

    p = random_policy((3, 2), 3, seed=0)
    check_finite(load(compile_policy(p)))
    huge = p.replace(palette=np.array([1e37, -1e37, 1.0]))
    with pytest.raises(ChromaticError, match="overflow"):
        check_finite(load(compile_policy(huge)))


def test_action_clip_maps_nan_into_bounds():
    import gymnasium as gym

    from chromatic.runtime.control_loop import _action_map

    class Env:
        action_space = gym.spaces.Box(-np.ones(3, np.float32), np.ones(3, np.float32))

    to_action = _action_map(Env())
    out = to_action(np.array([np.nan, 5.0, -np.inf], np.float32))
    assert np.isfinite(out).all() and (np.abs(out) <= 1).all()


@pytest.mark.c
def test_control_loop_with_nan_observations():
    """An environment whose sensors give NaN and inf: every action is finite and in bounds."""
    import gymnasium as gym

    from chromatic.runtime.control_loop import run_episodes

    seen: list[np.ndarray] = []

    class Faulty(gym.Env):
        observation_space = gym.spaces.Box(-np.inf, np.inf, (5,), np.float64)
        action_space = gym.spaces.Box(-0.5, 0.5, (3,), np.float32)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return np.full(5, np.nan), {}

        def step(self, action):
            seen.append(np.array(action))
            self.t += 1
            obs = self.np_random.normal(size=5)
            obs[self.t % 5] = [np.nan, np.inf, -np.inf, 1e39, -1e300][self.t % 5]
            return obs, 0.0, False, self.t >= 25, {}

    gym.register(id="chromatic-test/Faulty-v0", entry_point=lambda: Faulty())
    try:
        data = BLOBS["5x3 f16 bytes, identity out"]
        for runtime in ("numpy", "c"):
            report = run_episodes(load(data, runtime), "chromatic-test/Faulty-v0", episodes=2,
                                  progress=False)
            assert report.steps == 50
    finally:
        gym.registry.pop("chromatic-test/Faulty-v0", None)
    acts = np.array(seen)
    assert np.isfinite(acts).all() and (np.abs(acts) <= 0.5).all()
