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
