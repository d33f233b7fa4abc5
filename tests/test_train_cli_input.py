"""Bad input to `chromatic train` / `chromatic plot`: one line, non-zero exit, nothing lost,
outputs checked before any work (training/run.py, training/settings.py, training/plot.py)."""

import dataclasses
import io
import json
import zipfile

import numpy as np
import pytest

from chromatic.cli import main
from chromatic.compiler import npfile
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


# -- 6. bad .npz files in a run folder: the bounded reader (compiler/npfile.py) ----------------
def trusted(path) -> dict:
    """A file this test wrote, read with numpy (to build a bad variant of it)."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def npy_header(shape, descr="<f8") -> bytes:
    """A bare .npy header claiming ``shape``, followed by no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def add_member(path, name, data, compress=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "a", compression=compress) as z:
        z.writestr(name, data)


def renamed_npy(path, monkeypatch) -> str:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    path.write_bytes(buf.getvalue())
    return "a .npy array, not a .npz (zip) archive"


def text_member(path, monkeypatch) -> str:
    add_member(path, "notes.txt", b"hello")
    return "member 'notes.txt' is not a .npy array"


def huge_shape(path, monkeypatch) -> str:
    add_member(path, "controller_x.npy", npy_header((10**11, 17)))  # 13.6 TB claimed, 128 bytes held
    return "member 'controller_x.npy': header claims shape (100000000000, 17)"


def pickled(path, monkeypatch) -> str:
    buf = io.BytesIO()
    np.save(buf, np.array([{}], dtype=object), allow_pickle=True)
    add_member(path, "controller_x.npy", buf.getvalue())
    return "holds Python objects (pickles are never loaded)"


def zip_bomb(path, monkeypatch) -> str:
    """8 MiB of zeros in a few kB, with the limits lowered to 1 MiB (a member) and 2 MiB (all): a
    run file may decode to the larger of those and its own size, and is refused before decoding."""
    monkeypatch.setattr(npfile, "MAX_ARRAY_BYTES", 1 << 20)
    monkeypatch.setattr(npfile, "MAX_NPZ_BYTES", 2 << 20)
    zeros = npy_header((8 << 20,), "|u1") + bytes(8 << 20)
    add_member(path, "controller_bomb.npy", zeros, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1 << 20

    def no_decoding(*a, **k):
        raise AssertionError("decompressed a member before checking its declared size")

    monkeypatch.setattr(zipfile.ZipFile, "read", no_decoding)
    return "member 'controller_bomb.npy' decompresses to 8,388,736 bytes; at most 1,048,576 can be read"


def lying_size(path, monkeypatch) -> str:
    """A zip directory declaring 4 GB for a small member: refused from the declaration alone."""
    raw = bytearray(path.read_bytes())
    entry = raw.index(b"PK\x01\x02")  # the first central directory entry: uncompressed size at +24
    raw[entry + 24:entry + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(raw)
    return "decompresses to 4,294,967,280 bytes"


BAD_RUN_NPZ = {"renamed-npy": renamed_npy, "text-member": text_member, "huge-shape": huge_shape,
               "pickled": pickled, "zip-bomb": zip_bomb, "lying-size": lying_size}


@pytest.mark.parametrize("case", list(BAD_RUN_NPZ))
def test_resume_refuses_an_unreadable_checkpoint_in_one_line(tmp_path, capsys, monkeypatch, case):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    needle = BAD_RUN_NPZ[case](run / "checkpoint.npz", monkeypatch)
    before = snapshot(run)
    monkeypatch.setattr(run_mod, "iterate", lambda *a, **k: pytest.fail("trained"))
    assert main(resume_argv(run)) == 1
    one_line_error(capsys, "checkpoint.npz: not a readable .npz checkpoint", needle)
    assert snapshot(run) == before  # config, log, policies and the checkpoint itself untouched


def edited(path, change) -> None:
    """Rewrite the .npz at ``path`` (as np.savez does) with ``change`` applied to its arrays."""
    a = trusted(path)
    change(a)
    np.savez(path, **a)


# case: (change of the checkpoint's arrays, what the one line says)
BAD_CHECKPOINT_VALUES = {
    "color-out-of-range": (lambda a: a.update(partition_0=a["partition_0"] + 100),
                           "partition_0 has colors outside [0, 5)"),
    "partition-shape": (lambda a: a.update(partition_1=a["partition_1"][:, :2]),
                        "partition_1 is int64 of shape (1, 2), expected integers of shape (1, 4)"),
    "float-partition": (lambda a: a.update(partition_0=a["partition_0"] * 0.5), "expected integers"),
    "best-partition": (lambda a: a.update(best_partition=a["best_partition"][:3]),
                       "best_partition is int64 of shape (3,)"),
    "best-stats": (lambda a: a.update(best_stats_sum=np.zeros(0)), "best policy's normalization statistics"),
    "infinite-counter": (lambda a: a.update(timesteps=np.array(np.inf)), "OverflowError"),
    "colors-past-the-format": (lambda a: a.update(num_colors=np.array(70000)), "70000 colors"),
}


@pytest.mark.parametrize("case", list(BAD_CHECKPOINT_VALUES))
def test_resume_refuses_a_checkpoint_with_bad_values_in_one_line(tmp_path, capsys, monkeypatch, case):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    change, needle = BAD_CHECKPOINT_VALUES[case]
    edited(run / "checkpoint.npz", change)
    before = snapshot(run)
    monkeypatch.setattr(run_mod, "iterate", lambda *a, **k: pytest.fail("trained"))
    assert main(resume_argv(run)) == 1
    one_line_error(capsys, "checkpoint.npz", needle)
    assert snapshot(run) == before


def test_a_checkpoint_larger_than_the_policy_limits_still_reads(tmp_path, monkeypatch):
    """A run's files grow with its settings: they may decode to as much as the file holds (np.savez
    stores them uncompressed), so no legal checkpoint is refused for its size."""
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    want = run_mod.load_checkpoint(run / "checkpoint.npz")
    monkeypatch.setattr(npfile, "MAX_ARRAY_BYTES", 64)
    monkeypatch.setattr(npfile, "MAX_NPZ_BYTES", 64)
    got = run_mod.load_checkpoint(run / "checkpoint.npz")
    assert got.es.params.tobytes() == want.es.params.tobytes()
    assert got.rng.bit_generator.state == want.rng.bit_generator.state
    for k, v in npfile.read_run_npz(run / "checkpoint.npz", "checkpoint").items():
        w = trusted(run / "checkpoint.npz")[k]
        assert v.dtype == w.dtype and v.shape == w.shape and v.tobytes() == w.tobytes(), k


@pytest.fixture
def nas_run(tmp_path):
    run = tmp_path / "nas"
    start(tiny(controller="enas", iterations=3), run, INLINE, progress=False)
    (log,) = sorted((run / "partitions").glob("nas_*.npz"))
    return run, log


def other_sizes(a) -> None:
    a["layer_sizes"] = np.array([3, 4, 2])
    a["partitions"] = np.zeros((len(a["partitions"]), 20), np.int64)
    a["candidates"] = np.zeros((len(a["candidates"]), 20), np.int64)


# case: (change of the step's arrays, what the one line says)
BAD_PARTITION_VALUES = {
    "no-palette": (lambda a: a.pop("palette"), "no 'palette' array"),
    "partitions-shape": (lambda a: a.update(partitions=a["partitions"][:, :5]), "expected (P >= 1, 16)"),
    "scalar-partitions": (lambda a: a.update(partitions=np.array(3)), "partitions is int64 of shape ()"),
    "scores-length": (lambda a: a.update(scores=a["scores"][:1]), "1 scores for"),
    "text-iteration": (lambda a: a.update(iteration=np.array("x")), "iteration is <U1"),
    "zero-layer": (lambda a: a.update(layer_sizes=np.array([3, 0, 1])), "layer size 1 is 0"),
}
BAD_PARTITION_LOGS = [*BAD_RUN_NPZ, *BAD_PARTITION_VALUES, "other-layer-sizes", "copy-name"]


@pytest.mark.parametrize("case", BAD_PARTITION_LOGS)
def test_analyze_refuses_a_bad_partition_log_in_one_line(nas_run, capsys, monkeypatch, case):
    run, log = nas_run
    if case in BAD_RUN_NPZ:
        needle = BAD_RUN_NPZ[case](log, monkeypatch)
    elif case in BAD_PARTITION_VALUES:
        change, needle = BAD_PARTITION_VALUES[case]
        edited(log, change)
    elif case == "other-layer-sizes":  # an earlier step of other layer sizes
        (log.parent / "nas_00000.npz").write_bytes(log.read_bytes())
        edited(log.parent / "nas_00000.npz", other_sizes)
        needle = "nas_00000.npz: layer sizes [3, 4, 2], but nas_00001.npz has [3, 4, 1]"
    else:  # a copy whose name holds no step number
        (log.parent / "nas_00001 (copy).npz").write_bytes(log.read_bytes())
        needle = "nas_00001 (copy).npz: not a NAS step's partition log name"
    before = snapshot(run / "partitions")
    assert main(["analyze", str(run)]) == 1
    one_line_error(capsys, "nas_0000", needle)
    assert snapshot(run / "partitions") == before and not (run / "analysis").exists()


def test_analyze_reads_a_good_partition_log(nas_run, capsys):
    run, _ = nas_run
    assert main(["analyze", str(run)]) == 0
    result = json.loads((run / "analysis" / "analysis.json").read_text())
    assert [s["step"] for s in result["nas_steps"]] == [1]


@pytest.mark.parametrize("case", ["renamed-npy", "zip-bomb", "huge-shape"])
def test_analyze_of_a_fixed_partition_run_refuses_a_bad_checkpoint(tmp_path, capsys, monkeypatch, case):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    needle = BAD_RUN_NPZ[case](run / "checkpoint.npz", monkeypatch)
    assert main(["analyze", str(run)]) == 1
    one_line_error(capsys, "checkpoint.npz: not a readable .npz checkpoint", needle)
    assert not (run / "analysis").exists()


# -- 7. a learning controller's state in the checkpoint (training/checkpoint.py) -------------------
def tree(run_dir) -> dict:
    """Every file under ``run_dir`` (its warm-up and partitions folders too), byte for byte."""
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def enas_runs(tmp_path_factory):
    """Finished 3-iteration runs (mid-phase: --nas-every 2) of each learning controller, made once."""
    root = tmp_path_factory.mktemp("controllers")
    kinds = {"enas": {}, "enas-population": {"nas_search": "population"}, "factorized": {},
             "factorized-adam": {"controller_lr": 0.01}, "random": {}, "population": {}}
    for name, kw in kinds.items():
        start(tiny(controller=name.split("-")[0], iterations=3, **kw), root / name, INLINE, progress=False)
    return root


def run_copy(enas_runs, tmp_path, kind="enas"):
    import shutil

    return shutil.copytree(enas_runs / kind, tmp_path / kind)


def _set(key, value):
    return lambda a: a.update({key: value})


def _map(key, change):
    return lambda a: a.update({key: change(a[key])})


# case: (controller kind, change of the checkpoint's arrays, what the one line says)
BAD_CONTROLLER_STATE = {
    "params-shape": ("enas", _set("controller_params/V_edge", np.zeros((3, 4), np.float32)),
                     "controller_params/V_edge has shape (3, 4), expected (16, 64)"),
    "params-scalar": ("enas", _set("controller_params/att_v", np.array(1.0, np.float32)),
                      "controller_params/att_v has shape (), expected (64,)"),
    "params-text": ("enas", _set("controller_params/enc_b", np.array(["x"] * 256)),
                    "controller_params/enc_b has dtype <U1, expected floats (float32)"),
    "params-int": ("enas", _set("controller_params/edge_logits", np.zeros((16, 5), np.int64)),
                   "controller_params/edge_logits has dtype int64, expected floats"),
    "params-nan": ("enas", _map("controller_params/dec_Wh", lambda x: x * np.nan),
                   "controller_params/dec_Wh holds nan, expected finite values"),
    "params-missing": ("enas", lambda a: a.pop("controller_params/edge_logits"),
                       "controller_params/edge_logits is missing"),
    "params-stray": ("enas", _set("controller_params/lstm_w", np.zeros((3, 4))),
                     "controller_params/lstm_w is not part of a --controller enas run's checkpoint"),
    "adam-moment-shape": ("enas", _set("controller_adam/m/enc_Wx", np.zeros((3, 4), np.float32)),
                          "controller_adam/m/enc_Wx has shape (3, 4), expected (64, 256)"),
    "adam-moment-inf": ("enas", _map("controller_adam/v/att_W1", lambda x: x + np.inf),
                        "controller_adam/v/att_W1 holds inf, expected finite values"),
    "adam-step-text": ("enas", _set("controller_adam/step", np.array("3")),
                       "controller_adam/step has dtype <U1, expected integers"),
    "adam-step-negative": ("enas", _set("controller_adam/step", np.array(-1)),
                           "controller_adam/step is -1, expected a count >= 0"),
    "critic-nan": ("enas", _set("controller_critic/value", np.array(np.nan)),
                   "controller_critic/value holds nan, expected finite values"),
    "critic-flag-float": ("enas", _set("controller_critic/initialized", np.array(0.5)),
                          "controller_critic/initialized has dtype float64, expected booleans"),
    "config-shape": ("enas", _set("controller_config/shape", np.array([16, 5, 8, 64, 64, 1])),
                     "controller_config/shape is [16, 5, 8, 64, 64, 1], expected [16, 5, 64, 64, 64, 1]"),
    "nas-population-shape": ("enas", _map("controller_nas/population", lambda x: x[:, :3]),
                             "controller_nas/population has shape (4, 3), expected (4, 16)"),
    "nas-population-rows": ("enas", _map("controller_nas/population", lambda x: x[:2]),
                            "controller_nas/population has shape (2, 16), expected (4, 16)"),
    "nas-population-colors": ("enas", _map("controller_nas/population", lambda x: x + 5),
                              "controller_nas/population has colors outside [0, 5)"),
    "nas-best-nan": ("enas", _map("controller_nas/best", lambda x: x * np.nan),
                     "controller_nas/best holds nan, expected finite values or -inf"),
    "nas-sampled-float": ("enas", _set("controller_nas/sampled", np.zeros(4)),
                          "controller_nas/sampled has dtype float64, expected booleans"),
    "nas-scores-length": ("enas", _set("controller_nas/scores", np.zeros(3)),
                          "controller_nas/scores has shape (3,), expected (36,)"),
    "nas-scores-inf": ("enas", _set("controller_nas/scores", np.full(36, np.inf)),
                       "controller_nas/scores holds inf, expected finite values or NaN"),
    "nas-candidates-text": ("enas", _set("controller_nas/candidates", np.array(["a"])),
                            "controller_nas/candidates has dtype <U1, expected integers"),
    "nas-incumbent-missing": ("enas", lambda a: a.pop("controller_nas/incumbent"),
                              "controller_nas/incumbent is missing"),
    "nas-incumbent-shape": ("enas", _set("controller_nas/incumbent", np.zeros(0, np.int64)),
                            "controller_nas/incumbent has shape (0,), expected (16,)"),
    "nas-buffer-too-long": ("enas", _set("controller_nas/buffer", np.zeros((17, 16), np.int64)),
                            "controller_nas/buffer has shape (17, 16), expected (R, 16) with R <= 16"),
    "nas-buffer-scores": ("enas", _set("controller_nas/buffer_scores", np.zeros(1)),
                          "controller_nas/buffer_scores has shape (1,), expected"),
    "nas-updates-text": ("enas", _set("controller_nas/updates", np.array("x")),
                         "controller_nas/updates has dtype <U1, expected integers"),
    "nas-updates-matrix": ("enas", _set("controller_nas/updates", np.zeros((2, 2), np.int64)),
                           "controller_nas/updates has shape (2, 2), expected ()"),
    "nas-hold-negative": ("enas", _set("controller_nas/hold", np.array(-2)),
                          "controller_nas/hold is -2, expected a count >= 0"),
    "nas-merges": ("enas", _set("controller_nas/merges", np.array(99)),
                   "controller_nas/merges is 99, expected at most the 32 candidates"),
    "nas-reward-inf": ("enas", _set("controller_nas/last_mean_reward", np.array(np.inf)),
                       "controller_nas/last_mean_reward holds inf"),
    "nas-all-missing": ("enas", lambda a: [a.pop(k) for k in list(a) if k.startswith("controller_nas/")],
                        "controller_nas/population is missing"),
    "population-search-incumbent": ("enas-population",
                                    _set("controller_nas/incumbent", np.zeros(16, np.int64)),
                                    "controller_nas/incumbent has shape (16,), expected (0,)"),
    "factorized-logits": ("factorized", _set("controller_params/logits", np.zeros((16, 4))),
                          "controller_params/logits has shape (16, 4), expected (16, 5)"),
    "factorized-adam-moment": ("factorized-adam", _set("controller_adam/m/logits", np.array("x")),
                               "controller_adam/m/logits has dtype <U1, expected floats"),
    "random-config": ("random", _set("controller_config/shape", np.array([16, 5, 1])),
                      "controller_config/shape has shape (3,), expected (2,)"),
    "population-buffer": ("population", _map("controller_nas/buffer", lambda x: x - 1),
                          "controller_nas/buffer has colors outside [0, 5)"),
    "population-stray": ("population", _set("controller_params/logits", np.zeros((16, 5))),
                         "controller_params/logits is not part of a --controller population run's "
                         "checkpoint"),
}


@pytest.mark.parametrize("case", list(BAD_CONTROLLER_STATE))
def test_resume_refuses_a_bad_controller_state_in_one_line(enas_runs, tmp_path, capsys, monkeypatch, case):
    kind, change, needle = BAD_CONTROLLER_STATE[case]
    run = run_copy(enas_runs, tmp_path, kind)
    (run / ".checkpoint.npz.1234.tmp").write_bytes(b"left by a kill")  # kept too: nothing is written
    edited(run / "checkpoint.npz", change)
    before = tree(run)
    monkeypatch.setattr(run_mod, "iterate", lambda *a, **k: pytest.fail("trained"))
    assert main(resume_argv(run, "--iterations", "5")) == 1
    one_line_error(capsys, f"{run / 'checkpoint.npz'}: {needle}")
    assert tree(run) == before


def test_a_fixed_partition_run_refuses_controller_state(tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    start(tiny(), run, INLINE, progress=False)
    edited(run / "checkpoint.npz", _set("controller_nas/population", np.zeros((4, 16), np.int64)))
    before = tree(run)
    monkeypatch.setattr(run_mod, "iterate", lambda *a, **k: pytest.fail("trained"))
    assert main(resume_argv(run)) == 1
    one_line_error(capsys, "controller_nas/population is not part of a --controller fixed run's checkpoint")
    assert tree(run) == before


@pytest.mark.parametrize("kind", ["enas", "enas-population", "factorized", "factorized-adam", "random",
                                  "population"])
def test_a_good_controller_state_passes_and_resumes(enas_runs, tmp_path, kind):
    run = run_copy(enas_runs, tmp_path, kind)
    want = trusted(run / "checkpoint.npz")
    cfg, st, changed = run_mod.resumed_state(run, 4)
    assert changed and cfg.iterations == 4 and st.iteration == 3
    assert set(st.controller_state) == {k[len("controller_"):] for k in want if k.startswith("controller_")}
    assert main(resume_argv(run, "--iterations", "4")) == 0
    assert run_mod.load_checkpoint(run / "checkpoint.npz").iteration == 4


def test_an_older_checkpoint_without_the_optional_nas_arrays_still_resumes(enas_runs, tmp_path):
    """Arrays NasState.from_arrays fills in (candidates, scores, counters) may be missing."""
    run = run_copy(enas_runs, tmp_path, "enas-population")
    edited(run / "checkpoint.npz", lambda a: [a.pop(f"controller_nas/{k}") for k in
                                              ("candidates", "scores", "merges", "moves", "rejected",
                                               "streak", "hold", "incumbent")])
    run_mod.resumed_state(run, 4)


def _stop_at_iteration(monkeypatch, calls: int) -> None:
    """The next run is interrupted (as by Ctrl-C) in its ``calls``-th ES iteration."""
    real, seen = run_mod.iterate, []

    def iterate(*a, **k):
        seen.append(1)
        if len(seen) == calls:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(run_mod, "iterate", iterate)


WARM = ["--env", "Pendulum-v1", "--hidden", "4", "--colors", "5", "--perturbations", "4", "--horizon",
        "20", "--eval-episodes", "1", "--timesteps", "400", "--dense-warmup", "0.5", "--backend", "inline",
        "--quiet"]


@pytest.mark.parametrize("stage", ["warm-up", "chromatic"])
def test_resuming_a_warmup_run_checks_its_stage_before_rewriting_its_settings(tmp_path, capsys, monkeypatch,
                                                                               stage):
    """An unfinished warm-up (or its chromatic stage, here with --controller enas) with a bad
    checkpoint: one line, and warmup_config.json keeps the old budget (nothing is written)."""
    run = tmp_path / "r"
    with monkeypatch.context() as m:
        # the warm-up takes 3 iterations of 80 steps (>= 200); stop in its 2nd or in stage 3's 2nd
        _stop_at_iteration(m, 2 if stage == "warm-up" else 5)
        assert main(["train", "--out", str(run), "--controller", "enas", *WARM]) != 0  # interrupted
    capsys.readouterr()
    if stage == "warm-up":
        assert not (run / "warmup" / "policy.npz").exists()
        edited(run / "warmup" / "checkpoint.npz", _set("timesteps", np.array(np.inf)))
        needle = "warmup/checkpoint.npz: corrupt checkpoint (OverflowError"
    else:
        assert (run / "warmup" / "policy.npz").exists() and (run / "checkpoint.npz").exists()
        edited(run / "checkpoint.npz", _set("controller_params/V_edge", np.zeros((3, 4), np.float32)))
        needle = "controller_params/V_edge has shape (3, 4), expected (16, 64)"
    before = tree(run)
    monkeypatch.setattr(run_mod, "iterate", lambda *a, **k: pytest.fail("trained"))
    assert main(["train", "--resume", str(run), "--timesteps", "800", "--backend", "inline", "--quiet"]) == 1
    one_line_error(capsys, needle)
    assert tree(run) == before
