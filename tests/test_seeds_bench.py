"""benchmarks/seeds.py keeps the seeds its committed JSON records when their run directories are gone."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from tests.bench_scripts import load_script

CASE = "walker2d_h41_c17"


@pytest.fixture()
def seeds(tmp_path, monkeypatch):
    mod = load_script("seeds")
    monkeypatch.setattr(mod, "RESULTS", tmp_path / "results")
    (tmp_path / "results").mkdir()
    return mod


def record(seeds, settings: dict, returns: dict[int, float]) -> None:
    per_seed = [{"seed": k, "eval_return": r, "eval_std": 1.0, "final_eval_return": r, "timesteps": 5_000_000,
                 "wall_s": 600.0, "reached": None, "train_command": f"chromatic train --seed {k}",
                 "curve": [[1000, r / 2], [5_000_000, r]]} for k, r in returns.items()]
    (seeds.RESULTS / f"seeds_{CASE}.json").write_text(json.dumps({"case": CASE, "settings": settings,
                                                                  "per_seed": per_seed}))


def test_recorded_seeds_are_kept_in_the_summary(seeds, tmp_path):
    case = seeds.CASES[CASE]
    record(seeds, seeds._settings(case), {0: 2000.0, 1: 2500.0, 3: 1000.0})
    s = seeds.summarize(CASE, case, tmp_path / "no-runs")
    assert [p["seed"] for p in s["per_seed"]] == [0, 1, 3]
    assert (s["seeds"], s["median"], s["best"], s["worst"]) == (3, 2000.0, 2500.0, 1000.0)


def test_seeds_recorded_under_other_settings_are_dropped(seeds, tmp_path):
    case = seeds.CASES[CASE]
    record(seeds, {**seeds._settings(case), "timesteps": 1_000_000}, {0: 2000.0})
    assert seeds.recorded(CASE, case) == {}
    assert seeds.summarize(CASE, case, tmp_path / "no-runs")["seeds"] == 0


def test_a_recorded_seed_is_not_trained_again(seeds, tmp_path, monkeypatch, capsys):
    case = seeds.CASES[CASE]
    record(seeds, seeds._settings(case), {0: 2000.0, 1: 2500.0})
    monkeypatch.setattr(seeds, "run_seed", lambda *a: pytest.fail("trained a recorded seed"))
    monkeypatch.setattr(sys, "argv", ["seeds.py", CASE, "--seeds", "0", "1", "--runs", str(tmp_path / "runs"),
                                      "--results", str(seeds.RESULTS)])
    seeds.main()
    out = capsys.readouterr().out
    assert out.count("kept (--rerun trains it again)") == 2 and "median 2250.0" in out
    assert json.loads((seeds.RESULTS / f"seeds_{CASE}.json").read_text())["seeds"] == 2


def test_a_fine_tune_case_starts_from_the_colored_import_of_its_dense_policy(seeds, tmp_path, monkeypatch):
    from chromatic.compiler.policy_file import load_policy

    case = seeds.CASES["ft_halfcheetah_c8"]
    assert seeds._settings(case)["init_import"] == ["policies/halfcheetah_dense_h41.npz", 8]
    started = []
    monkeypatch.setattr(seeds, "start", lambda cfg, run_dir, *a, **k: started.append(cfg))
    seeds.run_seed(case, "ft_halfcheetah_c8", 1, tmp_path, 1)
    (cfg,) = started
    start_policy = load_policy(cfg.init_policy)
    assert cfg.seed == 1 and cfg.colors == 8 and start_policy.num_colors == 8
    assert cfg.with_init_policy()[0].colors == 8  # the settings accept it as the starting point


def test_a_refit_fine_tune_case_starts_from_the_refit_import(seeds, tmp_path, monkeypatch):
    from chromatic.compiler.policy_file import load_policy

    case = seeds.CASES["ft_halfcheetah_c4_refit"]
    assert seeds._settings(case)["init_refit"] is True and "init_refit" not in seeds._settings(
        seeds.CASES["ft_halfcheetah_c4"])
    plain = load_policy(seeds.colored_import(seeds.CASES["ft_halfcheetah_c4"], "plain", tmp_path))
    refit = load_policy(seeds.colored_import(case, "refit", tmp_path))
    assert (tmp_path / "refit" / "import_c4_refit.npz").exists()
    assert refit.num_colors == plain.num_colors == 4
    # the refit moves the palette and biases away from plain k-means's
    assert not np.allclose(refit.layers[0].bias, plain.layers[0].bias)
