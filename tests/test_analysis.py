"""Partition metrics (paper App. C): small cases with answers worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chromatic.errors import ChromaticError
from chromatic.training.analysis import (
    analyze_partitions,
    color_entropy,
    displacement,
    displacement_rank,
    edge_distance,
    rand_index,
    uniform_entropy,
    variation_of_information,
)


def toeplitz(m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    t = rng.normal(size=m + n - 1) + np.sign(rng.normal(size=m + n - 1))  # |entries| mostly > 0.1
    return np.array([[t[i - j + n - 1] for j in range(n)] for i in range(m)])


def hankel(m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    h = rng.normal(size=m + n - 1) + np.sign(rng.normal(size=m + n - 1))
    return np.array([[h[i + j] for j in range(n)] for i in range(m)])


def test_entropy_uniform_and_single_color():
    assert (
        color_entropy(np.arange(12) % 4, 4) == pytest.approx(uniform_entropy(4)) == pytest.approx(math.log(4))
    )
    assert color_entropy(np.zeros(10, int), 17) == 0.0
    # per-layer lists count all edges: colors {0: 3, 1: 1} -> H(3/4, 1/4)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert color_entropy([np.array([[0, 0]]), np.array([[0], [1]])]) == pytest.approx(h)


@pytest.mark.parametrize("m,n", [(6, 6), (6, 17), (41, 17), (6, 41)])
def test_toeplitz_has_low_displacement_rank_and_random_is_full(m, n):
    rng = np.random.default_rng(m * 100 + n)
    assert displacement_rank(toeplitz(m, n, rng), "toeplitz", threshold=1e-9) <= 2
    assert displacement_rank(toeplitz(m, n, rng) + hankel(m, n, rng), "toeplitz_hankel", threshold=1e-9) <= 4
    dense = rng.normal(size=(m, n)) * 3
    assert displacement_rank(dense, "toeplitz") == min(m, n)
    assert displacement_rank(dense, "toeplitz_hankel") == min(m, n)


def test_displacement_operator_by_hand():
    r = np.array([[1.0, 2.0], [3.0, 4.0]])
    # Z_1 R = [[3, 4], [1, 2]];  R Z_-1 = [[2, -1], [4, -3]]
    assert np.array_equal(displacement(r, "toeplitz"), np.array([[1.0, 5.0], [-3.0, 5.0]]))
    # Y = [[0, 1], [1, 0]]: Y R - R Y = [[3, 4], [1, 2]] - [[2, 1], [4, 3]]
    assert np.array_equal(displacement(r, "toeplitz_hankel"), np.array([[1.0, 3.0], [-3.0, -1.0]]))


def test_threshold_rounds_small_entries():
    r = np.array([[1.0, 2.0], [3.0, 4.0]]) * 0.01  # every displacement entry is below 0.1
    assert displacement_rank(r, "toeplitz") == 0
    assert displacement_rank(r, "toeplitz", threshold=0.0) == 2
    assert displacement_rank(r, "toeplitz", round_on="weights") == 0
    with pytest.raises(ChromaticError):
        displacement_rank(r, "circulant")


def test_pairwise_identical_and_relabeled():
    a = np.array([0, 0, 1, 1, 2, 2, 2])
    assert rand_index(a, a) == 1.0 and variation_of_information(a, a) == 0.0 and edge_distance(a, a) == 0
    relabeled = np.array([2, 0, 1])[a]
    assert rand_index(a, relabeled) == 1.0
    assert variation_of_information(a, relabeled) == pytest.approx(0.0, abs=1e-12)
    assert edge_distance(a, relabeled) == 7


def test_pairwise_by_hand():
    a, b = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    # agreeing pairs: (0,2), (0,3) differ in both, (2,3) same in both -> 3 of 6
    assert rand_index(a, b) == pytest.approx(0.5)
    h13 = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3))
    # H(A|B) = 3/4 H(1/3, 2/3), H(B|A) = 1/2 log 2
    assert variation_of_information(a, b) == pytest.approx(0.75 * h13 + 0.5 * math.log(2))
    assert edge_distance(a, b) == 1
    assert variation_of_information(a, b) == pytest.approx(variation_of_information(b, a))
    with pytest.raises(ChromaticError):
        edge_distance(a, b[:3])


def test_analyze_partitions_writes_json_and_pngs(tmp_path):
    sizes, m = (5, 4, 3), 4
    rng = np.random.default_rng(0)
    pops = [[rng.integers(0, m, 5 * 4 + 4 * 3) for _ in range(3)] for _ in range(4)]
    pops[-1][0] = [np.zeros((4, 5), int), np.zeros((3, 4), int)]  # per-layer form, one color
    palette = np.array([1.0, -2.0, 0.5, 3.0])
    res = analyze_partitions(pops, sizes, palette, tmp_path / "out")
    for name in ("analysis.json", "entropy.png", "displacement_ranks.png", "pairwise_metrics.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    on_disk = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert on_disk["entropy"]["values"] == res["entropy"]["values"]
    assert len(res["entropy"]["values"]) == 12 and res["entropy"]["values"][9] == 0.0
    assert res["entropy"]["uniform"] == pytest.approx(math.log(4))
    ranks = res["displacement_rank"]["ranks"]
    # a constant matrix is Toeplitz: rank <= 2; random colorings of these sizes are near full rank
    assert ranks["layer 0 (4x5) toeplitz"][0] <= 2
    assert res["displacement_rank"]["full_rank"]["layer 1 (3x4) toeplitz_hankel"] == 3
    pw = res["pairwise_vs_previous"]
    assert pw["iterations"] == [1, 2, 3]
    expect = np.mean([edge_distance(a, b) for a in pops[1] for b in pops[0]])
    assert pw["distance"][0] == pytest.approx(expect)
    assert all(0.0 <= r <= 1.0 for r in pw["Rand index"])


def test_analyze_partitions_rejects_bad_input(tmp_path):
    with pytest.raises(ChromaticError):
        analyze_partitions([], (2, 2), np.ones(3), tmp_path)
    with pytest.raises(ChromaticError):
        analyze_partitions([[np.zeros(5, int)]], (2, 2), np.ones(3), tmp_path)  # 4 edges expected
    with pytest.raises(ChromaticError):
        analyze_partitions([[np.full(4, 3)]], (2, 2), np.ones(3), tmp_path)  # color 3 of 3
    assert not (tmp_path / "analysis.json").exists()
