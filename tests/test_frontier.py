"""benchmarks/frontier.py: calibrated colored points, --trained policies, the goal rule, seeds."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from chromatic.compiler.ir import Structure
from chromatic.compiler.policy_file import save_policy
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from tests.bench_scripts import load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def frontier(tmp_path, monkeypatch):
    mod = load_script("frontier")
    monkeypatch.setattr(mod, "RESULTS", tmp_path)
    return mod


def test_calibration_seeds_must_be_disjoint_from_evaluation_seeds(frontier):
    assert frontier.check_seeds(0, 5, 1000, 3) is None
    assert frontier.check_seeds(0, 5, 5, 3) is None
    msg = frontier.check_seeds(0, 5, 4, 3)
    assert "calibration seeds 4..6 overlap the evaluation seeds 0..4 (seed 4)" in msg
    assert "must be >= 1" in frontier.check_seeds(0, 0, 1000, 3)


def test_trained_labels_come_from_the_policy(frontier):
    p = random_policy((3, 4, 2), 5, seed=1)
    assert frontier.trained_label(p.replace(metadata={"seed": 3})) == "chromatic M=5 s3"
    enas, fixed = {"seed": 3, "controller": "enas"}, {"seed": 0, "controller": "fixed"}
    assert frontier.trained_label(p.replace(metadata=enas)) == "chromatic M=5 s3 enas"
    assert frontier.trained_label(p.replace(metadata=fixed)) == "chromatic M=5 s0"
    t = random_policy((3, 4, 2), 6, seed=1, structure=Structure.TOEPLITZ)
    assert frontier.trained_label(t.replace(metadata={"seed": 2})) == "toeplitz s2"
    assert frontier.trained_label(t) == "toeplitz"


def point(name, kind, ret, bits, **extra):
    return {"name": name, "kind": kind, "mean_return": ret, "blob_bits": bits, **extra}


def test_goal_counts_colored_tuned_and_chromatic_trained_points_only(frontier):
    points = [
        point("int8 per-tensor", "ptq", 100.0, 10_000),
        point("int4 per-tensor", "ptq", 100.0, 5_000),  # ptq never counts
        point("toeplitz s0", "trained", 120.0, 3_000, structure="toeplitz"),  # not chromatic
        point("colored M=8 refit f16", "colored", 100.0, 4_500, coloring="refit", structure="chromatic"),
        point("colored M=4 f16", "colored", 99.0, 3_500, coloring="plain", structure="chromatic"),
    ]
    goal = frontier.goal_point(points)
    assert goal["point"] == "colored M=8 refit f16" and goal["bits_vs_int8"] == pytest.approx(0.45)
    points.append(point("chromatic M=5 s1", "trained", 101.0, 4_000, structure="chromatic"))
    assert frontier.goal_point(points)["point"] == "chromatic M=5 s1"
    points.append(point("c8 M=8 f16", "tuned", 150.0, 3_900, structure="chromatic"))
    assert frontier.goal_point(points)["point"] == "c8 M=8 f16"
    assert frontier.goal_point(points[:3])["point"] is None


def test_main_records_calibration_colorings_and_trained_points(frontier, tmp_path, monkeypatch):
    """The whole run with the environment replaced: calibration observations come from their own
    seeds, every coloring appears at every M, trained and tuned policies get their labels."""
    dense = random_policy((5, 7, 2), 35, seed=3)
    dense_path, trained_path, tuned_path = tmp_path / "dense.npz", tmp_path / "t.npz", tmp_path / "ft.npz"
    from chromatic.compiler.importer import mlp_from_policy

    save_policy(mlp_from_policy(dense).to_policy({"seed": 0}), dense_path)
    save_policy(random_policy((5, 7, 2), 4, seed=4).replace(metadata={"seed": 7}), trained_path)
    save_policy(random_policy((5, 7, 2), 6, seed=5, structure=Structure.CIRCULANT), tmp_path / "c.npz")
    save_policy(random_policy((5, 7, 2), 3, seed=6), tuned_path)
    calls = []

    def fake_observations(policy, env, episodes, seed):
        calls.append((episodes, seed))
        return np.random.default_rng(seed).normal(size=(40 * episodes, 5))

    def fake_evaluate(policy, env, episodes, seed, runtime="c", dtype="f32"):
        assert (episodes, seed) == (2, 10)
        if dtype == "f16" and policy.structure == Structure.CIRCULANT:
            raise ChromaticError("bias_0: value 1e9 does not fit in float16; use --dtype f32")
        return {"mean_return": float(policy.num_colors), "std_return": 0.0, "returns": [0.0] * episodes,
                "blob_bits": 100 * policy.num_colors, "runtime": runtime}

    monkeypatch.setattr(frontier, "observations", fake_observations)
    monkeypatch.setattr(frontier, "evaluate", fake_evaluate)
    monkeypatch.setattr(frontier, "plot", lambda *a: None)
    out = tmp_path / "f.json"
    argv = ["frontier.py", "--dense", str(dense_path), "--env", "Fake-v0", "--episodes", "2", "--seed", "10",
            "--colors", "3", "5", "--calibration-episodes", "2", "--calibration-seed", "500",
            "--trained", str(trained_path), str(tmp_path / "c.npz"), "--tuned", str(tuned_path),
            "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    assert frontier.main() == 0
    assert calls == [(2, 500)]  # one calibration set, from its own seeds
    data = json.loads(out.read_text())
    assert data["calibration"]["seeds"] == [500, 501] and data["calibration"]["evaluation_seeds"] == [10, 11]
    assert data["calibration"]["observations"] == 80 and data["settings"]["calibration_seed"] == 500
    names = [p["name"] for p in data["points"]]
    for m in (3, 5):
        for suffix in ("", " sens", " refit"):
            assert f"colored M={m}{suffix}" in names and f"colored M={m}{suffix} f16" in names
    refit = next(p for p in data["points"] if p["name"] == "colored M=5 refit")
    assert refit["coloring"] == "refit" and refit["refit_rmse_before"] >= refit["calibration_action_rmse"]
    plain = next(p for p in data["points"] if p["name"] == "colored M=5")
    assert plain["calibration_action_rmse"] == pytest.approx(refit["refit_rmse_before"], rel=1e-9)
    trained = [p for p in data["points"] if p["kind"] == "trained"]
    want = ["chromatic M=4 s7", "chromatic M=4 s7 f16", "circulant"]  # its f16 blob cannot compile
    assert [p["name"] for p in trained] == want
    assert [(k["dtype"], "float16" in k["reason"]) for k in data["skipped"]] == [("f16", True)]
    assert trained[2]["structure"] == "circulant" and trained[0]["seed"] == 7
    assert "ft M=3" in names and "ft M=3 f16" in names
    table = out.with_suffix(".md").read_text().splitlines()
    assert len(table) == 2 + len(data["points"]) + 2 and table[2].startswith("| dense f32 | dense |")
    assert "(computed)" in next(row for row in table if row.startswith("| int8 per-tensor"))
    assert table[-1].startswith("int8 per-tensor: ")
    assert frontier.run_label(Path("runs/ft_hopper_c17/seed2/policy.npz")) == "ft_hopper_c17/seed2"

    monkeypatch.setattr(sys, "argv", [*argv, "--calibration-seed", "11"])
    assert frontier.main() == 1  # overlaps evaluation seed 11

    # --keep-gone: a policy file that is gone keeps its points from the JSON, only for the same
    # evaluation; without the flag it is an error
    before = [p for p in data["points"] if p.get("source") == str(tuned_path)]
    tuned_path.unlink()
    monkeypatch.setattr(sys, "argv", argv)
    assert frontier.main() == 1
    monkeypatch.setattr(sys, "argv", [*argv, "--keep-gone"])
    assert frontier.main() == 0
    again = json.loads(out.read_text())
    assert [p for p in again["points"] if p.get("source") == str(tuned_path)] == before
    assert [p["name"] for p in again["points"]] == names
    monkeypatch.setattr(sys, "argv", [*argv, "--keep-gone", "--seed", "20"])
    assert frontier.main() == 1  # evaluated on other seeds: nothing to keep
