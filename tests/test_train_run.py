"""The training driver and `chromatic train` (training/run.py, training/commands.py)."""

import json

import numpy as np
import pytest

from chromatic.cli import main
from chromatic.compiler.policy_file import load_policy, policy_to_arrays
from chromatic.errors import ChromaticError
from chromatic.training import run as run_mod
from chromatic.training.run import EngineOptions, TrainConfig, resume, start

INLINE = EngineOptions("inline")


def tiny(**kw) -> TrainConfig:
    base = dict(env_id="Pendulum-v1", hidden=(4,), colors=5, iterations=4, perturbations=6,
                seed=3, horizon=40, eval_episodes=2)
    base.update(kw)
    return TrainConfig(**base)


def same_policy(a, b) -> None:
    pa, pb = policy_to_arrays(load_policy(a)), policy_to_arrays(load_policy(b))
    assert pa.keys() == pb.keys()
    # the commands differ only in --out (the run directory)
    ca, cb = str(pa.pop("train_command")), str(pb.pop("train_command"))
    assert ca.replace(str(a.parent), "RUN") == cb.replace(str(b.parent), "RUN")
    for k in pa:
        assert np.array_equal(pa[k], pb[k]), k


def test_resumed_run_equals_uninterrupted_run_on_any_backend(tmp_path):
    full = start(tiny(), tmp_path / "full", EngineOptions("local", 2), progress=False)
    start(tiny(iterations=2), tmp_path / "part", INLINE, progress=False)
    resumed = resume(tmp_path / "part", 4, EngineOptions("local", 1), progress=False)
    same_policy(full, resumed)
    a = run_mod.load_checkpoint(tmp_path / "full" / "checkpoint.npz")
    b = run_mod.load_checkpoint(tmp_path / "part" / "checkpoint.npz")
    assert np.array_equal(a.es.params, b.es.params) and np.array_equal(a.stats.sumsq, b.stats.sumsq)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state and a.timesteps == b.timesteps
    log = [json.loads(line) for line in (tmp_path / "part" / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [1, 2, 3, 4]
    meta = load_policy(full).metadata
    assert meta["env_id"] == "Pendulum-v1" and meta["seed"] == 3
    assert meta["timesteps"] == 4 * 6 * 40 and np.isfinite(meta["eval_return"])
    assert (tmp_path / "full" / "curve.png").stat().st_size > 1000


def test_training_improves_with_adam_and_antithetic(tmp_path):
    # Not a benchmark: only checks the estimator drives returns up on a real task.
    cfg = tiny(hidden=(), iterations=25, perturbations=8, strategy="antithetic", optimizer="adam",
               lr=0.05, horizon=60)
    start(cfg, tmp_path / "r", INLINE, progress=False)
    log = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    first = np.mean([r["mean_return"] for r in log[:5]])
    last = np.mean([r["mean_return"] for r in log[-5:]])
    assert last > first


def test_interrupt_loses_at_most_the_iteration_in_progress(tmp_path, monkeypatch):
    full = start(tiny(), tmp_path / "full", INLINE, progress=False)
    calls = {"n": 0}
    real_iterate = run_mod.iterate

    def interrupted(cfg, st, engine, controller):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_iterate(cfg, st, engine, controller)

    monkeypatch.setattr(run_mod, "iterate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        start(tiny(), tmp_path / "cut", INLINE, progress=False)
    monkeypatch.setattr(run_mod, "iterate", real_iterate)
    assert run_mod.load_checkpoint(tmp_path / "cut" / "checkpoint.npz").iteration == 2
    # a kill after the log line but before the checkpoint leaves an extra log line
    with open(tmp_path / "cut" / "log.jsonl", "a") as f:
        f.write(json.dumps({"iteration": 3, "timesteps": 0, "mean_return": 0, "max_return": 0}) + "\n")
    same_policy(full, resume(tmp_path / "cut", None, INLINE, progress=False))
    assert len((tmp_path / "cut" / "log.jsonl").read_text().splitlines()) == 4


def test_smoke_mujoco_policy_compiles_and_runs(tmp_path):
    from chromatic.compiler.compile import compile_policy
    from chromatic.runtime.control_loop import run_episodes
    from chromatic.runtime.numpy_runner import NumpyRunner

    out = tmp_path / "swim"
    code = main(["train", "--env", "Swimmer-v5", "--hidden", "4", "--colors", "6", "--iterations", "2",
                 "--perturbations", "4", "--horizon", "30", "--workers", "2", "--eval-episodes", "2",
                 "--out", str(out), "--quiet"])
    assert code == 0
    policy = load_policy(out / "policy.npz")
    assert policy.layer_sizes == (8, 4, 2) and policy.num_colors == 6
    assert policy.metadata["train_command"].startswith("chromatic train --env Swimmer-v5 --hidden 4")
    # Swimmer trains without normalization (B.2)
    assert np.all(policy.normalization.mean == 0) and np.all(policy.normalization.std == 1)
    assert main(["compile", str(out / "policy.npz"), "-o", str(tmp_path / "p.cblob")]) == 0
    report = run_episodes(NumpyRunner(compile_policy(policy)), "Swimmer-v5", episodes=1,
                          max_steps=20, progress=False)
    assert report.steps == 20
    assert main(["plot", str(out), "-o", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("structure", ["dense", "toeplitz", "circulant"])
def test_structured_baselines_train_and_validate(tmp_path, structure):
    path = start(tiny(structure=structure, iterations=1), tmp_path / structure, INLINE, progress=False)
    policy = load_policy(path)
    assert policy.structure.name.lower() == structure


def test_init_partition_reuses_a_policy_partition(tmp_path):
    first = start(tiny(iterations=1), tmp_path / "a", INLINE, progress=False)
    second = start(tiny(iterations=1, seed=9, init_partition=str(first)), tmp_path / "b", INLINE,
                   progress=False)
    a, b = load_policy(first), load_policy(second)
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert np.array_equal(la.partition, lb.partition)


@pytest.mark.parametrize("argv, message", [
    (["--env", "NoSuchEnv-v9"], "unknown environment"),
    (["--env", "Pendulum-v1", "--perturbations", "0"], "perturbations must be at least 1"),
    (["--env", "Pendulum-v1", "--perturbations", "3"], "even number"),
    (["--env", "Pendulum-v1", "--strategy", "forward", "--top-directions", "2"], "need --strategy ars"),
    (["--env", "Pendulum-v1", "--timesteps", "0"], "--timesteps must be at least 1"),
    (["--env", "Pendulum-v1", "--colors", "70000"], "--colors must be in"),
    (["--env", "Pendulum-v1", "--hidden", "70000"], "at most 65535"),
    (["--env", "Pendulum-v1", "--seed", "-1"], "--seed must be >= 0"),
    (["--env", "Pendulum-v1", "--workers", "0"], "--workers must be at least 1"),
])
def test_bad_settings_give_one_line(tmp_path, capsys, argv, message):
    assert main(["train", *argv, "--out", str(tmp_path / "r"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_missing_or_corrupt_checkpoint_gives_one_line(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "nothing"), "--iterations", "3"]) == 1
    assert "no such run directory" in capsys.readouterr().err
    start(tiny(iterations=1), tmp_path / "r", INLINE, progress=False)
    (tmp_path / "r" / "checkpoint.npz").write_bytes(b"PK\x03\x04 garbage")
    assert main(["train", "--resume", str(tmp_path / "r"), "--iterations", "3"]) == 1
    err = capsys.readouterr().err
    assert "not a readable .npz checkpoint (not a zip archive)" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "r" / "log.jsonl").write_text('{"iteration": 1}\nnot json\n{"iteration": 2}\n')
    (tmp_path / "r" / "checkpoint.npz").unlink()
    assert main(["train", "--resume", str(tmp_path / "r"), "--iterations", "3"]) == 1
    err = capsys.readouterr().err
    assert "line 2 is corrupt" in err and len(err.strip().splitlines()) == 1


def test_a_run_killed_before_its_first_checkpoint_resumes_to_the_same_policy(tmp_path):
    full = start(tiny(), tmp_path / "full", INLINE, progress=False)
    cut = tmp_path / "cut"
    start(tiny(iterations=1), cut, INLINE, progress=False)
    for name in ("checkpoint.npz", "policy.npz", "final_policy.npz"):
        (cut / name).unlink()
    (cut / "log.jsonl").write_text("")
    (cut / ".checkpoint.npz.abc.tmp").write_bytes(b"stale")
    same_policy(full, resume(cut, 4, INLINE, progress=False))
    assert not list(cut.glob(".*.tmp"))


def test_corrupt_checkpoint_counters_are_refused(tmp_path):
    start(tiny(iterations=1), tmp_path / "r", INLINE, progress=False)
    path = tmp_path / "r" / "checkpoint.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["iteration"] = np.array(-5)
    np.savez(path, **arrays)
    with pytest.raises(ChromaticError, match="corrupt checkpoint"):
        resume(tmp_path / "r", 3, INLINE, progress=False)


def test_timesteps_budget_and_the_best_policy_kept(tmp_path):
    path = start(tiny(iterations=None, timesteps=1000, eval_every=2), tmp_path / "r", INLINE, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    # 240 steps an iteration: the run stops at the first iteration past 1000 steps
    assert [r["timesteps"] for r in rows] == [240, 480, 720, 960, 1200]
    evals = [r for r in rows if "eval_return" in r]
    assert [r["iteration"] for r in evals] == [2, 4]
    assert evals[-1]["best_eval_return"] == max(r["eval_return"] for r in evals)
    meta = load_policy(path).metadata
    assert meta["selection_return"] >= evals[-1]["best_eval_return"]
    assert np.isfinite(meta["eval_std"]) and meta["eval_episodes"] == 2
    final = load_policy(tmp_path / "r" / "final_policy.npz").metadata
    assert final["iterations"] == 5 and np.isfinite(final["eval_return"])
    # resume to a larger timestep budget continues the same run
    resume(tmp_path / "r", None, INLINE, progress=False, timesteps=1400)
    assert run_mod.load_checkpoint(tmp_path / "r" / "checkpoint.npz").timesteps == 1440


def test_survival_shift_is_training_only_and_ars_is_shift_invariant(tmp_path):
    """Pendulum episodes all last the horizon, so a per-step shift moves every return equally;
    ARS's step is invariant to that, and the logged (evaluation-scale) returns are unshifted."""
    a = start(tiny(), tmp_path / "a", INLINE, progress=False)
    b = start(tiny(survival_shift=5.0), tmp_path / "b", INLINE, progress=False)
    pa, pb = policy_to_arrays(load_policy(a)), policy_to_arrays(load_policy(b))
    assert np.array_equal(pa["weights"], pb["weights"])
    la, lb = ((tmp_path / d / "log.jsonl").read_text() for d in "ab")
    assert [json.loads(x)["mean_return"] for x in la.splitlines()] == \
        [json.loads(x)["mean_return"] for x in lb.splitlines()]


@pytest.mark.parametrize("controller", ["fixed", "enas"])
def test_the_recorded_command_rebuilds_the_same_settings(tmp_path, controller):
    import shlex

    from chromatic.cli import build_parser
    from chromatic.training.settings import ENAS_DENSE_WARMUP, from_args

    cfg = tiny(iterations=None, timesteps=5000, strategy="ars", top_directions=2, normalize=False,
               hidden=(4, 3), controller=controller).validate()
    command = cfg.command("RUN")
    assert cfg.dense_warmup == (ENAS_DENSE_WARMUP if controller == "enas" else 0.0)
    assert "--dense-warmup" not in command  # the default, resolved per controller
    rebuilt = from_args(build_parser().parse_args(shlex.split(command)[1:]))
    assert rebuilt == cfg


def test_help_shows_the_settings_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: ars)" in out and "(default: 0.05)" in out and "--timesteps" in out


def test_existing_run_directory_is_not_overwritten(tmp_path):
    start(tiny(iterations=1), tmp_path / "r", INLINE, progress=False)
    with pytest.raises(ChromaticError, match="--resume"):
        start(tiny(iterations=1), tmp_path / "r", INLINE, progress=False)


def test_init_policy_starts_from_the_policy_and_keeps_its_normalization(tmp_path):
    first = start(tiny(iterations=2), tmp_path / "a", INLINE, progress=False)
    source = load_policy(first)
    # architecture fields left at their defaults are taken from the policy
    cfg = TrainConfig(env_id="Pendulum-v1", init_policy=str(first), iterations=1, perturbations=6,
                      horizon=40, eval_episodes=2, seed=5)
    start(cfg, tmp_path / "b", INLINE, progress=False)
    saved = json.loads((tmp_path / "b" / "config.json").read_text())
    assert saved["hidden"] == [4] and saved["colors"] == 5
    tuned = load_policy(tmp_path / "b" / "final_policy.npz")
    for la, lb in zip(source.layers, tuned.layers, strict=True):
        assert np.array_equal(la.partition, lb.partition)
    np.testing.assert_array_equal(tuned.normalization.mean, source.normalization.mean)
    np.testing.assert_array_equal(tuned.normalization.std, source.normalization.std)
    # one ARS step of lr 0.02 moves the palette a little, not to a fresh random start
    assert 0 < np.abs(tuned.palette - source.palette).max() < 0.5
    ckpt = run_mod.load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert ckpt.frozen is not None and ckpt.stats.count == 0
    with pytest.raises(ChromaticError, match="has colors 5"):
        start(TrainConfig(env_id="Pendulum-v1", init_policy=str(first), colors=9, iterations=1),
              tmp_path / "c", INLINE, progress=False)


def test_a_fine_tune_never_ships_a_policy_that_scored_below_its_start(tmp_path):
    first = start(tiny(iterations=6), tmp_path / "a", INLINE, progress=False)
    # a step far too large: every evaluation of the fine-tune scores below the start
    run = tmp_path / "b"
    start(tiny(iterations=3, init_policy=str(first), lr=20.0, eval_every=1), run, INLINE, progress=False)
    shipped = load_policy(run / "policy.npz")
    evals = [json.loads(line)["eval_return"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert len(evals) == 3 and max(evals) < shipped.metadata["selection_return"]
    assert shipped.metadata["best_iteration"] == 0
    source = load_policy(first)
    np.testing.assert_array_equal(shipped.palette, source.palette)
    for a, b in zip(source.layers, shipped.layers, strict=True):
        np.testing.assert_array_equal(a.bias, b.bias)
    assert not np.array_equal(load_policy(run / "final_policy.npz").palette, source.palette)
    # a step that helps ships the later, better policy as before
    run = tmp_path / "c"
    start(tiny(iterations=3, init_policy=str(first), lr=1.0, eval_every=1), run, INLINE, progress=False)
    assert load_policy(run / "policy.npz").metadata["best_iteration"] > 0


def test_docs_options_table_lists_exactly_the_train_options():
    """docs/training.md's table and the generated parser cannot drift apart."""
    import re
    from pathlib import Path

    from chromatic.cli import build_parser

    doc = (Path(__file__).resolve().parent.parent / "docs" / "training.md").read_text()
    table = doc[doc.index("## Options"):doc.index("## The run directory")]
    documented = set(re.findall(r"`(--[a-z-]+)", table)) - {"--no-normalize", "--help"}
    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    flags = {f for a in sub._actions for f in a.option_strings if f.startswith("--")}
    assert documented == flags - {"--help", "--no-normalize"}


def test_plot_of_a_run_in_a_non_utf8_folder(tmp_path):
    import os

    run = tmp_path / os.fsdecode(b"run-\xff")
    start(tiny(iterations=1), run, INLINE, progress=False)
    assert (run / "curve.png").read_bytes()[:4] == b"\x89PNG"


# -- ReLU hidden layers (--activation relu) ---------------------------------------------------
@pytest.mark.c
def test_relu_run_writes_a_relu_policy_that_reearns_its_return_on_numpy_and_c(tmp_path):
    import shutil

    from chromatic.compiler.compile import compile_policy
    from chromatic.compiler.ir import Activation
    from chromatic.runtime import load
    from chromatic.runtime.control_loop import run_episodes

    if shutil.which("gcc") is None:  # pragma: no cover - CI installs gcc
        pytest.skip("needs the system C compiler (gcc)")
    cfg = tiny(activation="relu", hidden=(6,), iterations=3, eval_every=1)
    path = start(cfg, tmp_path / "relu", EngineOptions("local", 2), progress=False)
    policy = load_policy(path)
    assert policy.hidden_activation == Activation.RELU and policy.output_activation == Activation.TANH
    meta = policy.metadata
    assert "--activation relu" in meta["train_command"]
    assert json.loads((tmp_path / "relu" / "config.json").read_text())["activation"] == "relu"
    assert main(["compile", str(path), "-o", str(tmp_path / "p.cblob")]) == 0
    blob = compile_policy(policy)
    for backend in ("numpy", "c"):
        report = run_episodes(load(blob, backend), "Pendulum-v1", meta["eval_episodes"], meta["eval_seed"],
                              max_steps=cfg.horizon, progress=False)
        # numpy is the training's own evaluation; C differs from it by float32 rounding only
        assert report.mean_return == pytest.approx(meta["eval_return"], rel=0 if backend == "numpy" else 1e-4)
    # the workers' relu network scored the selection: the compiled policy earns the same there
    selection = [run_episodes(load(blob, "numpy"), "Pendulum-v1", 1, int(s), max_steps=cfg.horizon,
                              progress=False).mean_return for s in run_mod.selection_seeds(cfg)]
    assert np.mean(selection) == pytest.approx(meta["selection_return"], rel=1e-4)


def test_resumed_relu_run_equals_uninterrupted_run(tmp_path):
    full = start(tiny(activation="relu"), tmp_path / "full", EngineOptions("local", 2), progress=False)
    start(tiny(activation="relu", iterations=2), tmp_path / "part", INLINE, progress=False)
    ckpt = run_mod.load_checkpoint(tmp_path / "part" / "checkpoint.npz")
    assert ckpt.spec.hidden_activation.name == "RELU"
    resumed = resume(tmp_path / "part", 4, EngineOptions("local", 1), progress=False)
    same_policy(full, resumed)
    assert load_policy(resumed).hidden_activation.name == "RELU"
    # the same run as tanh is another run (its returns; with b = 1 ARS's step is return-scale free)
    tanh = start(tiny(), tmp_path / "tanh", INLINE, progress=False)
    assert load_policy(tanh).metadata["eval_return"] != load_policy(full).metadata["eval_return"]


def test_init_policy_of_a_relu_policy_fine_tunes_as_relu(tmp_path, capsys):
    first = start(tiny(activation="relu", iterations=2), tmp_path / "a", INLINE, progress=False)
    cfg = TrainConfig(env_id="Pendulum-v1", init_policy=str(first), iterations=1, perturbations=6,
                      horizon=40, eval_episodes=2, seed=5)
    start(cfg, tmp_path / "b", INLINE, progress=False)
    assert json.loads((tmp_path / "b" / "config.json").read_text())["activation"] == "relu"
    tuned = load_policy(tmp_path / "b" / "final_policy.npz")
    assert tuned.hidden_activation.name == "RELU"
    assert "--activation relu" in tuned.metadata["train_command"]
    assert run_mod.load_checkpoint(tmp_path / "b" / "checkpoint.npz").spec.hidden_activation.name == "RELU"
    # a tanh policy asked to train as relu: one line, exit 1
    tanh = start(tiny(iterations=1), tmp_path / "t", INLINE, progress=False)
    assert main(["train", "--env", "Pendulum-v1", "--init-policy", str(tanh), "--activation", "relu",
                 "--out", str(tmp_path / "c"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "has activation 'tanh'; this run asks for 'relu'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("argv, message", [
    (["--activation", "relu"], "--activation relu applies to hidden layers"),
    (["--activation", "sigmoid"], "invalid choice"),
])
def test_bad_activation_gives_one_line(tmp_path, capsys, argv, message):
    code = None
    try:
        code = main(["train", "--env", "Pendulum-v1", *argv, "--out", str(tmp_path / "r"), "--quiet"])
    except SystemExit as e:  # argparse's choices
        code = e.code
    assert code not in (0, None)
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "r").exists()


def test_a_version_2_checkpoint_resumes_as_tanh_and_bad_activations_are_refused(tmp_path):
    full = start(tiny(), tmp_path / "full", INLINE, progress=False)
    start(tiny(iterations=2), tmp_path / "old", INLINE, progress=False)
    path = tmp_path / "old" / "checkpoint.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "hidden_activation"}
    np.savez(path, **{**arrays, "version": np.array(2)})  # as chromatic wrote it before --activation
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["activation"]
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    same_policy(full, resume(tmp_path / "old", 4, INLINE, progress=False))
    for version, act, message in ((3, 0, "corrupt checkpoint"), (3, 2, "has relu hidden layers")):
        np.savez(path, **{**arrays, "version": np.array(version), "hidden_activation": np.array(act)})
        with pytest.raises(ChromaticError, match=message):
            resume(tmp_path / "old", 5, INLINE, progress=False)
