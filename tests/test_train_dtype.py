"""`chromatic train --dtype f16`: quantization-aware ES (rollouts and policy file as f16 stores them)."""

import numpy as np
import pytest

from chromatic.cli import main
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.passes.quantize import stored
from chromatic.compiler.policy_file import load_policy
from chromatic.runtime import load
from chromatic.runtime.control_loop import run_episodes
from chromatic.training.rollout.worker import Job, TaskRunner
from chromatic.training.run import EngineOptions, start
from tests.test_train_run import tiny

INLINE = EngineOptions("inline")


def f16_exact(a) -> bool:
    a = np.asarray(a, np.float64)
    return bool(np.array_equal(a, a.astype(np.float16).astype(np.float64)))


def test_f16_training_saves_what_an_f16_blob_stores_and_reports_its_return(tmp_path):
    path = start(tiny(dtype="f16"), tmp_path / "r", INLINE, progress=False)
    p = load_policy(path)
    assert f16_exact(p.palette) and all(f16_exact(layer.bias) for layer in p.layers)
    assert f16_exact(p.normalization.mean) and f16_exact(p.normalization.std)
    assert "--dtype f16" in p.metadata["train_command"]
    meta = p.metadata
    for dtype in ("f16", "f32"):  # the same policy either way: f16 compiles losslessly
        r = run_episodes(load(compile_policy(p, dtype=dtype), "numpy"), "Pendulum-v1", meta["eval_episodes"],
                         meta["eval_seed"], max_steps=40, progress=False)
        assert r.mean_return == pytest.approx(meta["eval_return"], rel=1e-9)
    # and training with f32 does not round: the same seed's values are not all f16-representable
    q = load_policy(start(tiny(), tmp_path / "f32", INLINE, progress=False))
    assert not f16_exact(q.palette)


def test_an_f16_job_rolls_out_the_rounded_candidate():
    cfg = tiny()
    from chromatic.training.run import new_state

    st = new_state(cfg, 3, 1)
    theta = np.random.default_rng(0).normal(0, 0.7, st.es.params.shape)
    mean, std = np.zeros(3), np.ones(3)
    runner = TaskRunner()
    task = (0, 12, 1, 0, 5)  # perturbation seed 12, sign +1, episode seed 5
    ret = {}
    for dtype, th in (("f16", theta), ("f32", theta)):
        runner.set_job(Job("Pendulum-v1", st.spec, th, 0.05, mean, std, 40, False, (), dtype))
        ret[dtype] = runner.run_one(task).ret
    from chromatic.training.es.strategy import perturb

    runner.set_job(Job("Pendulum-v1", st.spec, stored(perturb(theta, 0.05, 12, 1), "f16"), 0.0, mean, std, 40,
                       False, (), "f32"))
    assert ret["f16"] == runner.run_one((0, 0, 0, 0, 5)).ret != ret["f32"]


def test_masked_f16_is_refused_in_one_line(tmp_path, capsys):
    assert main(["train", "--env", "Pendulum-v1", "--hidden", "4", "--structure", "masked", "--dtype", "f16",
                 "--out", str(tmp_path / "r"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "train it with --dtype f32" in err and len(err.strip().splitlines()) == 1
