"""``chromatic train --dense-warmup F`` (training/warmup.py): stages, budget, resume, errors."""

import json

import numpy as np
import pytest

from chromatic.cli import main
from chromatic.compiler.policy_file import load_policy
from chromatic.errors import ChromaticError
from chromatic.training import warmup
from chromatic.training.run import EngineOptions, resume, start
from chromatic.training.settings import ENAS_DENSE_WARMUP
from tests.test_train_run import same_policy, tiny

INLINE = EngineOptions("inline")
STEPS = 6 * 40  # one iteration of tiny(): 6 perturbations x 40-step horizon


def warm(**kw):
    return tiny(iterations=None, timesteps=5 * STEPS, dense_warmup=0.5, **kw)


def log_rows(run):
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_warmup_trains_dense_colors_it_and_counts_every_step(tmp_path):
    run = tmp_path / "r"
    path = start(warm(), run, INLINE, progress=False)
    dense = load_policy(run / "warmup" / "policy.npz")
    colored = load_policy(run / "warmup" / "colored_c5.npz")
    shipped = load_policy(path)
    assert dense.structure.name == "DENSE" and dense.metadata["timesteps"] == 3 * STEPS  # >= 0.5 x 1200
    assert colored.num_colors == 5 and colored.metadata["warmup_calibration_steps"] == 3 * 40
    # stage 3 starts from the colored policy (fixed controller: its partition, frozen normalization)
    for a, b in zip(colored.layers, shipped.layers, strict=True):
        assert np.array_equal(a.partition, b.partition)
    np.testing.assert_array_equal(shipped.normalization.std, colored.normalization.std)
    used = 3 * STEPS + 3 * 40
    rows = log_rows(run)
    assert rows[0]["timesteps"] == used + STEPS and rows[-1]["timesteps"] >= 5 * STEPS
    meta = shipped.metadata
    assert meta["warmup_timesteps"] == used and meta["timesteps"] == rows[-1]["timesteps"]
    assert meta["dense_warmup"] == 0.5 and meta["warmup_eval_return"] == dense.metadata["eval_return"]
    assert "--dense-warmup 0.5" in meta["train_command"] and "--init-policy" not in meta["train_command"]
    assert load_policy(run / "final_policy.npz").metadata["train_command"] == meta["train_command"]
    with pytest.raises(ChromaticError, match="already holds a run"):
        start(warm(), run, INLINE, progress=False)


def test_a_warmup_run_stopped_between_stages_resumes_to_the_same_policy(tmp_path, monkeypatch):
    full = start(warm(), tmp_path / "full", INLINE, progress=False)
    real = warmup.color_warmup

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(warmup, "color_warmup", stop)
    with pytest.raises(KeyboardInterrupt):
        start(warm(), tmp_path / "part", INLINE, progress=False)
    assert not (tmp_path / "part" / "config.json").exists()  # stage 3 has not started
    monkeypatch.setattr(warmup, "color_warmup", real)
    same_policy(full, resume(tmp_path / "part", None, INLINE, progress=False))
    # a longer budget continues the chromatic stage only
    longer = resume(tmp_path / "part", None, INLINE, progress=False, timesteps=7 * STEPS)
    assert load_policy(longer).metadata["timesteps"] >= 7 * STEPS
    assert load_policy(tmp_path / "part" / "warmup" / "policy.npz").metadata["timesteps"] == 3 * STEPS
    with pytest.raises(ChromaticError, match="budgeted in --timesteps"):
        resume(tmp_path / "part", 9, INLINE, progress=False)


@pytest.mark.parametrize("stage", ["warm-up", "chromatic"])
def test_an_interrupted_warmup_run_says_to_resume_the_run_itself(tmp_path, monkeypatch, capsys, stage):
    """Each stage is a run of its own (RUN/warmup, then RUN), but the user resumes RUN with the
    run's budget: the hint printed on Ctrl-C says so, whichever stage was stopped."""
    from chromatic.training import run as run_mod

    real = run_mod.iterate
    calls = {"n": 0}

    def interrupted(cfg, st, engine, controller):
        calls["n"] += 1
        if calls["n"] == (1 if stage == "warm-up" else 5):  # the warm-up takes 3 iterations
            raise KeyboardInterrupt
        return real(cfg, st, engine, controller)

    monkeypatch.setattr(run_mod, "iterate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        start(warm(), tmp_path / "r", INLINE, progress=False)
    hint = capsys.readouterr().err.strip().splitlines()[-1]
    assert hint.endswith(f"continue with chromatic train --resume {tmp_path / 'r'} --timesteps {5 * STEPS}")
    assert (tmp_path / "r" / "config.json").exists() == (stage == "chromatic")


@pytest.mark.parametrize("argv, message", [
    (["--dense-warmup", "1"], "--dense-warmup must be in [0, 1)"),
    (["--dense-warmup", "0.5"], "needs --structure chromatic, --hidden, a --timesteps budget"),
    (["--dense-warmup", "0.5", "--timesteps", "500", "--structure", "dense"], "needs --structure chromatic"),
    (["--dense-warmup", "0.5", "--timesteps", "500", "--iterations", "2"], "(not --iterations)"),
])
def test_bad_warmup_settings_give_one_line(tmp_path, capsys, argv, message):
    assert main(["train", "--env", "Pendulum-v1", "--hidden", "4", *argv, "--out", str(tmp_path / "r"),
                 "--quiet"]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("kw, expected", [
    (dict(controller="enas"), ENAS_DENSE_WARMUP),   # the default search starts from a warm-up
    (dict(controller="enas", dense_warmup=0.0), 0.0),      # unless asked not to
    (dict(controller="fixed"), 0.0),
    (dict(controller="enas", iterations=3, timesteps=None), 0.0),  # no timesteps budget to share
    (dict(controller="enas", hidden=()), 0.0),             # a linear policy: no dense stage to run
    (dict(controller="enas", init_partition="p.npz"), 0.0),
])
def test_enas_defaults_to_the_warmup_where_it_applies(kw, expected):
    cfg = tiny(**{"iterations": None, "timesteps": 5 * STEPS, **kw})
    assert cfg.dense_warmup == kw.get("dense_warmup")
    assert cfg.validate().dense_warmup == expected
    # the recorded command states --dense-warmup only where it differs from that default
    assert ("--dense-warmup" in cfg.command("RUN")) == ("dense_warmup" in kw)


def test_enas_from_its_defaults_runs_the_warmup(tmp_path):
    run = tmp_path / "r"
    start(tiny(iterations=None, timesteps=5 * STEPS, controller="enas", nas_every=1), run, INLINE,
          progress=False)
    meta = load_policy(run / "policy.npz").metadata
    assert meta["dense_warmup"] == ENAS_DENSE_WARMUP
    assert (run / "warmup" / "policy.npz").exists()


def test_a_warmup_that_uses_the_whole_budget_still_trains_the_colored_policy(tmp_path):
    # the dense stage (2 iterations) and the calibration episodes take all 2 iterations' budget
    run = tmp_path / "r"
    start(tiny(iterations=None, timesteps=2 * STEPS, dense_warmup=0.8), run, INLINE, progress=False)
    assert len(log_rows(run)) == 1  # one iteration of the colored policy, past the budget
    meta = load_policy(run / "policy.npz").metadata
    assert meta["timesteps"] > 2 * STEPS and meta["warmup_timesteps"] >= 2 * STEPS
    assert (run / "curve.png").exists()
