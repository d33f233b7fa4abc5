"""Bad input to `chromatic train` / `chromatic plot`: one line, non-zero exit, nothing lost,
outputs checked before any work (training/run.py, training/settings.py, training/plot.py)."""

import dataclasses
import json

import pytest

from chromatic.cli import main
from chromatic.errors import ChromaticError
from chromatic.training import run as run_mod
from chromatic.training.rollout import engine as rollout_engine
from chromatic.training.run import EngineOptions, TrainConfig, start
from chromatic.training.settings import _base_type

INLINE = EngineOptions("inline")


def tiny(**kw) -> TrainConfig:
    base = dict(env_id="Pendulum-v1", hidden=(4,), colors=5, iterations=1, perturbations=4,
                seed=3, horizon=20, eval_episodes=1, eval_every=1)
    base.update(kw)
    return TrainConfig(**base)


def one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("chromatic: error:"), err
    for needle in needles:
        assert needle in err, err
    return err


def snapshot(run_dir) -> dict:
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()}


def resume_argv(run_dir, *more: str) -> list[str]:
    return ["train", "--resume", str(run_dir), "--iterations", "3", "--backend", "inline", "--quiet", *more]


# -- 1. plot: malformed log rows --------------------------------------------------------------
def write_log(run_dir, rows) -> None:
    run_dir.mkdir()
    (run_dir / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def row(k: int, **kw) -> dict:
    return {"iteration": k, "timesteps": 100 * k, "mean_return": -k, "max_return": 1.0 - k, **kw}


def test_plot_skips_rows_lacking_a_field_with_one_warning(tmp_path, capsys):
    run = tmp_path / "r"
    write_log(run, [row(1), {"iteration": 2, "timesteps": 200}, row(3, max_return="high"),
                    row(4, eval_return="?", pivot_return=None), row(5, eval_return=-1.0)])
    assert main(["plot", str(run)]) == 0
    out, err = capsys.readouterr()
    assert (run / "curve.png").read_bytes()[:4] == b"\x89PNG" and "wrote" in out
    assert len(err.strip().splitlines()) == 1 and "warning" in err
    assert "skipped 2 rows" in err and "iteration 2" in err


def test_plot_of_a_log_with_no_plottable_row_is_one_line(tmp_path, capsys):
    run = tmp_path / "r"
    write_log(run, [{"iteration": 1, "timesteps": 100}, {"iteration": 2, "mean_return": 0}])
    assert main(["plot", str(run)]) == 1
    one_line_error(capsys, "max_return", "nothing to plot")
    assert not (run / "curve.png").exists()


# -- 2. resume: a lost checkpoint -------------------------------------------------------------
def test_resume_without_the_checkpoint_of_a_run_with_results_is_refused(tmp_path, capsys):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    (run / "checkpoint.npz").unlink()
    before = snapshot(run)
    assert main(resume_argv(run)) == 1
    one_line_error(capsys, "checkpoint.npz is missing", "1 logged iteration", "policy.npz")
    assert snapshot(run) == before  # log, policies, config and curve untouched, no new checkpoint


def test_resume_without_the_checkpoint_refuses_a_log_alone_too(tmp_path, capsys):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    for name in ("checkpoint.npz", "policy.npz", "final_policy.npz"):
        (run / name).unlink()
    before = snapshot(run)
    assert main(resume_argv(run)) == 1
    one_line_error(capsys, "checkpoint.npz is missing", "log.jsonl")
    assert snapshot(run) == before


# -- 3. every output checked before any work --------------------------------------------------
@pytest.mark.parametrize("name", ["curve.png", "policy.npz", "final_policy.npz", "log.jsonl"])
def test_resume_checks_every_output_before_training(tmp_path, capsys, monkeypatch, name):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    (run / name).unlink()
    (run / name).mkdir()
    before = snapshot(run)

    def no_work(*a, **k):
        raise AssertionError("trained before checking the outputs")

    monkeypatch.setattr(run_mod, "iterate", no_work)
    monkeypatch.setattr(run_mod, "describe_env", no_work)
    assert main(resume_argv(run)) == 1
    one_line_error(capsys, f"{name}: is a folder")
    assert snapshot(run) == before
    assert run_mod.load_checkpoint(run / "checkpoint.npz").iteration == 1


def test_a_read_only_checkpoint_is_refused_before_training(tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    (run / "checkpoint.npz").chmod(0o444)
    monkeypatch.setattr(run_mod, "iterate", lambda *a, **k: pytest.fail("trained"))
    assert main(resume_argv(run)) == 1
    one_line_error(capsys, "checkpoint.npz: is read-only")


def test_a_fresh_start_in_a_reusable_folder_checks_its_outputs_first(tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    run.mkdir()
    (run / "curve.png").mkdir()  # a folder is in the way of the curve
    monkeypatch.setattr(run_mod, "iterate", lambda *a, **k: pytest.fail("trained"))
    assert main(["train", "--env", "Pendulum-v1", "--hidden", "4", "--iterations", "1",
                 "--perturbations", "4", "--backend", "inline", "--out", str(run), "--quiet"]) == 1
    one_line_error(capsys, "curve.png: is a folder")
    assert sorted(p.name for p in run.iterdir()) == ["curve.png"]


def test_a_nas_run_checks_its_partitions_folder_first(tmp_path, monkeypatch):
    run = tmp_path / "r"
    run.mkdir()
    (run / "partitions").write_text("not a folder")
    monkeypatch.setattr(run_mod, "iterate", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ChromaticError, match="partitions: exists and is not a folder"):
        start(tiny(controller="enas"), run, INLINE, progress=False)


# -- 4. --workers bounded up front -------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["--workers", "9"], "--workers 9 is more than 4 per core of this machine (2 cores: at most 8)"),
    (["--workers", "100000"], "--workers 100000 is more than 4 per core"),
    (["--workers", "5", "--perturbations", "4"], "--workers 5 is more than the 4 rollouts of an iteration"),
    (["--workers", "6", "--perturbations", "4", "--strategy", "forward", "--pivot-episodes", "1"],
     "--workers 6 is more than the 5 rollouts"),
])
def test_too_many_workers_are_refused_before_any_process_starts(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.setattr(rollout_engine, "default_workers", lambda: 2)
    monkeypatch.setattr(rollout_engine, "make_engine", lambda *a, **k: pytest.fail("engine started"))
    monkeypatch.setattr(run_mod, "make_engine", lambda *a, **k: pytest.fail("engine started"))
    assert main(["train", "--env", "Pendulum-v1", "--hidden", "4", "--iterations", "1", *argv,
                 "--out", str(tmp_path / "r"), "--quiet"]) == 1
    one_line_error(capsys, message)
    assert not (tmp_path / "r").exists()


def test_resume_bounds_workers_by_the_runs_own_settings(tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    before = snapshot(run)
    monkeypatch.setattr(run_mod, "make_engine", lambda *a, **k: pytest.fail("engine started"))
    assert main(["train", "--resume", str(run), "--iterations", "3", "--workers", "6", "--quiet"]) == 1
    one_line_error(capsys, "--workers 6 is more than the 4 rollouts of an iteration")
    assert snapshot(run) == before


def test_workers_rule(monkeypatch):
    monkeypatch.setattr(rollout_engine, "default_workers", lambda: 2)
    cfg = tiny(perturbations=64)
    EngineOptions("local", 8).validate(cfg)  # 4 per core
    EngineOptions("local", None).validate(cfg)  # the default: all cores
    EngineOptions("ray", 64, "auto").validate(cfg)  # a cluster's cores are not this machine's
    with pytest.raises(ChromaticError, match="4 per core"):
        EngineOptions("ray", 9).validate(cfg)  # Ray started here uses this machine's cores
    with pytest.raises(ChromaticError, match="rollouts of an iteration"):
        EngineOptions("ray", 65, "auto").validate(cfg)


def test_workers_rule_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "at most the rollouts of one iteration" in out and "at most 4 per core" in out


# -- 5. non-finite floats -----------------------------------------------------------------------
FLOAT_FIELDS = [f.name for f in dataclasses.fields(TrainConfig) if _base_type(f) is float]


def test_the_float_fields_are_known():
    assert {"survival_shift", "sigma", "lr", "init_scale", "mask_alpha", "dense_warmup"} <= set(FLOAT_FIELDS)


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_every_float_setting_must_be_finite(name, value):
    flag = "--" + name.replace("_", "-")
    with pytest.raises(ChromaticError, match=f"^{flag} must be a finite number, got -?(nan|inf)$"):
        tiny(**{name: value}).validate()


@pytest.mark.parametrize("value", ["nan", "inf", "=-inf"])
def test_a_non_finite_survival_shift_is_one_line(tmp_path, capsys, value):
    arg = ["--survival-shift" + value] if value.startswith("=") else ["--survival-shift", value]
    assert main(["train", "--env", "Pendulum-v1", "--hidden", "4", *arg, "--out", str(tmp_path / "r"),
                 "--quiet"]) == 1
    one_line_error(capsys, "--survival-shift must be a finite number")
    assert not (tmp_path / "r").exists()


def test_a_non_finite_setting_in_config_json_is_refused_on_resume(tmp_path, capsys):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    cfg = json.loads((run / "config.json").read_text())
    cfg["survival_shift"] = float("nan")
    (run / "config.json").write_text(json.dumps(cfg))  # json writes NaN
    before = snapshot(run)
    assert main(resume_argv(run)) == 1
    one_line_error(capsys, "--survival-shift must be a finite number, got nan")
    assert snapshot(run) == before


def test_a_fresh_start_never_overwrites_a_policy_left_without_its_checkpoint(tmp_path, capsys):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    for name in ("checkpoint.npz", "log.jsonl"):
        (run / name).unlink()
    before = snapshot(run)
    assert main(["train", "--env", "Pendulum-v1", "--hidden", "4", "--iterations", "1", "--perturbations",
                 "4", "--backend", "inline", "--out", str(run), "--quiet"]) == 1
    one_line_error(capsys, "already holds a run")
    assert snapshot(run) == before
