"""benchmarks/bits_curve.py: the reward-versus-bits report from bits-aware runs."""

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.policy_file import load_policy, save_policy
from tests.bench_scripts import load_script

ROOT = Path(__file__).resolve().parent.parent


def test_points_are_the_shipped_policies_at_their_compiled_size(tmp_path):
    bc, seeds = load_script("bits_curve"), load_script("seeds")
    zoo = load_policy(ROOT / "policies" / "halfcheetah_h41_c17.npz")
    # a "λ = 0.5" run whose policy merged two colors into one: fewer colors, a smaller blob
    merged = replace(zoo, layers=tuple(replace(la, partition=np.where(la.partition == 1, 0, la.partition))
                                       for la in zoo.layers))
    results = tmp_path / "results"
    results.mkdir()
    for case, policy, ret in (("fig4_halfcheetah_enas", zoo, 3000.0),
                              ("bits_halfcheetah_lam05", merged, 2900.0)):
        d = tmp_path / case / "seed0"
        d.mkdir(parents=True)
        meta = {**policy.metadata, "eval_return": ret, "seed": 0}
        save_policy(replace(policy, metadata=meta), d / "policy.npz")
        record = {"seed": 0, "eval_return": ret, "facts": seeds.policy_facts(d)}
        (results / f"seeds_{case}.json").write_text(json.dumps({"case": case, "per_seed": [record]}))
    rows = {r["lambda"]: r for r in bc.collect(results)}
    assert rows[0.0]["points"][0]["blob_bits"] == 8 * len(compile_policy(zoo))
    assert rows[0.5]["points"][0]["colors"] == rows[0.0]["points"][0]["colors"] - 1
    assert rows[0.5]["median_bits"] < rows[0.0]["median_bits"] and rows[0.5]["median_return"] == 2900.0
    assert rows[0.2]["seeds"] == 0 and "not run" in bc.table(list(rows.values()))
    argv, sys.argv = sys.argv, ["bits_curve.py", "--results", str(results)]
    try:
        bc.main()
    finally:
        sys.argv = argv
    assert json.loads((results / "bits_curve.json").read_text())[0]["case"] == "fig4_halfcheetah_enas"
    assert (results / "bits_curve.png").read_bytes()[:4] == b"\x89PNG"
