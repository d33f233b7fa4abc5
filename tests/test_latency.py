"""Latency report of `chromatic measure` (runtime/latency.py), in its fast --quick mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chromatic.cli import main
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.synth import random_policy
from chromatic.runtime.latency import NAMES, latency_report

pytestmark = pytest.mark.c


def test_quick_report_has_every_runtime(tmp_path: Path, capsys):
    data = compile_policy(random_policy((17, 41, 6), 17), "f32", "bits")
    report, lines = latency_report(data, quick=True)
    lat = report["latency_ns"]
    assert set(lat) == set(NAMES)
    assert all(lat[name] is not None and lat[name] > 0 for name in NAMES), report["latency_errors"]
    for name, (lo, hi) in report["latency_spread_ns"].items():
        assert lo <= lat[name] <= hi
    assert report["call_overhead_ns"]["c_noop"] > 0
    assert report["block_rows"]["c"] == report["block_rows"]["numba"]
    # same-round ratios of the interleaved kernels; the default C path is the expanded one
    assert set(report["ratios"]) == {"c_over_dense_c", "c_in_place_over_dense_c", "c_over_c_in_place",
                                     "numba_over_c_in_place"}
    assert all(r > 0 for r in report["ratios"].values())
    assert all(len(report["latency_spread_ns"][n]) == 2 for n in ("c", "c_in_place", "numba", "dense_c"))
    assert any("c / dense_c" in line for line in lines)
    assert any(line.strip().startswith("dense_c") for line in lines)

    (tmp_path / "p.cblob").write_bytes(data)
    assert main(["measure", str(tmp_path / "p.cblob"), "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["latency_ns"]) == set(NAMES)
