"""benchmarks/table2.py on a fake results folder: best/median, sizes, bits and the masked rule."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Normalization
from chromatic.compiler.policy_file import save_policy
from chromatic.compiler.synth import random_policy
from chromatic.training import masked
from tests.bench_scripts import load_script

seeds_mod = None  # benchmarks/seeds.py, set by the table2 fixture


@pytest.fixture(scope="module")
def table2():
    global seeds_mod
    mod = load_script("table2")
    seeds_mod = sys.modules["seeds"]  # the seeds.py table2.py imported
    return mod


def masked_policy(kept: int):
    """A HalfCheetah-sized (17-41-6) masked policy keeping exactly ``kept`` of its 943 weights."""
    spec = masked.masked_spec((17, 41, 6))
    e = spec.num_colors
    theta = np.zeros(spec.num_params)
    theta[:e] = 0.5
    theta[e:2 * e] = -1.0
    theta[e + np.arange(kept) * (e // kept)] = 1.0
    return masked.to_masked_policy(spec, theta, Normalization.identity(17))


def write_case(results: Path, runs: Path, case: str, seeds: list[tuple[int, float, object]],
               logs: dict[int, list[dict]] | None = None) -> None:
    """seeds_<case>.json as seeds.py writes it: per seed the eval return and the facts read from
    its run directory (a policy file and, if given, a log)."""
    per_seed = []
    for seed, ret, policy in seeds:
        run_dir = runs / case / f"seed{seed}"
        run_dir.mkdir(parents=True, exist_ok=True)
        save_policy(policy.replace(metadata={**policy.metadata, "eval_return": ret, "seed": seed}),
                    run_dir / "policy.npz")
        if logs and seed in logs:
            (run_dir / "log.jsonl").write_text("\n".join(json.dumps(r) for r in logs[seed]) + "\n")
        per_seed.append({"seed": seed, "eval_return": ret, "timesteps": 1000,
                         "facts": seeds_mod.policy_facts(run_dir)})
    (results / f"seeds_{case}.json").write_text(json.dumps({"case": case, "seeds": len(seeds),
                                                             "per_seed": per_seed}))


def test_table2_numbers_on_a_fake_results_folder(tmp_path, table2):
    results, runs = tmp_path / "results", tmp_path / "runs"
    results.mkdir()
    chrom = random_policy((17, 41, 6), 17, seed=1)
    # seed 1's log: the largest perturbed return in training
    write_case(results, runs, "halfcheetah_h41_c17",
               [(0, 100.0, chrom), (1, 300.0, chrom), (2, 200.0, chrom)],
               logs={1: [{"iteration": i, "max_return": m} for i, m in enumerate([50.0, 420.0, 310.0])]})
    # masked: the 50 % seed has the best return but is not > 90 % pruned; 40 and 80 kept are;
    # seed 2's training return counts only on iterations already > 90 % pruned
    write_case(results, runs, "table2_halfcheetah_masked",
               [(0, 900.0, masked_policy(470)), (1, 400.0, masked_policy(40)), (2, 500.0, masked_policy(80))],
               logs={2: [{"iteration": 0, "max_return": 800.0, "mask_density": 0.5},
                         {"iteration": 1, "max_return": 600.0, "mask_density": 0.08}]})
    # Walker2d masked: no seed pruned enough
    write_case(results, runs, "table2_walker2d_masked", [(0, 700.0, masked_policy(470))])
    # Hopper Toeplitz: recorded before seeds.py kept its policy's facts: no sizes
    old = {"case": "table2_hopper_toeplitz",
           "per_seed": [{"seed": 0, "eval_return": 10.0, "timesteps": 1000}]}
    (results / "seeds_table2_hopper_toeplitz.json").write_text(json.dumps(old))
    shutil.rmtree(runs)  # the table reads the JSON only

    table2.main(["--results", str(results)])
    out = json.loads((results / "table2.json").read_text())
    assert (results / "table2.md").is_file() and (results / "table2.png").is_file()
    rows = {(r["task"], r["class"]): r for r in out["rows"]}
    assert len(rows) == 3 * len(table2.CLASSES) == 3 * 8

    c = rows["HalfCheetah", "chromatic_fixed"]
    assert c["status"] == "ok" and (c["best"], c["median"], c["best_seed"]) == (300.0, 200.0, 1)
    assert (c["weight_params"], c["total_params"], c["paper_bits"]) == (17, 58, 6571)  # Table 2's 6,571
    assert c["compression"] == pytest.approx(1 - 58 / 984)  # the paper's 94 %
    assert c["blob_bits"] == 8 * len(compile_policy(chrom)) == 8128
    assert c["max_training_return"] == 420.0
    assert c["paper"] == {"class": "chromatic", "reward": 3779, "weight_params": 17, "compression": 0.94,
                          "bits": 6571}

    m = rows["HalfCheetah", "masked"]
    assert m["status"] == "ok" and m["seeds"] == 3 and m["seeds_reported"] == 2
    assert (m["best"], m["median"], m["best_seed"]) == (500.0, 450.0, 2)
    assert [round(s["mask_density"], 4) for s in m["per_seed"]] == [round(k / 943, 4) for k in (470, 40, 80)]
    assert m["weight_params"] == 80 and m["paper_bits"] == 943 * 7 + 32 * (80 + 41)
    assert m["blob_bits"] == 8 * len(compile_policy(masked_policy(80)))
    assert m["compression"] == pytest.approx(1 - 121 / 984)
    assert m["max_training_return"] == 600.0

    w = rows["Walker2d", "masked"]
    assert w["status"] == "none reached 90 %" and "none reached 90 %" in w["note"]
    assert w["min_mask_density"] == pytest.approx(470 / 943)

    t = rows["Hopper", "toeplitz"]
    assert t["status"] == "ok" and t["best"] == 10.0 and "weight_params" not in t
    assert "no seed recorded" in t["note"]

    assert rows["Hopper", "chromatic_learned"]["status"] == "no case"
    assert rows["Hopper", "chromatic_learned_default"]["status"] == "no case"
    assert rows["Walker2d", "unstructured"]["status"] == "not run"
    md = (results / "table2.md").read_text()
    assert ("| HalfCheetah | chromatic, fixed random partition | `halfcheetah_h41_c17` | 3 | 300 (200) | "
            "3,779 |") in md
    assert md.count("not run") >= 10 and "Striker" in md


def test_paper_transcription_matches_the_bit_rule(table2):
    """The transcribed paper bits follow compiler/bits.py's rule (E ceil(log2 M) + 32 (params + 41))."""
    edges = {"HalfCheetah": 943, "Walker2d": 943, "Hopper": 574, "Striker": 1230}
    for task, classes in table2.PAPER.items():
        for cls, (_, params, _, bits) in classes.items():
            if bits is None:
                continue
            colors = params + 1 if cls == "masked" else params
            dictionary = edges[task] * int(np.ceil(np.log2(colors))) if cls in ("chromatic", "masked") else 0
            assert bits == dictionary + 32 * (params + 41), (task, cls)
