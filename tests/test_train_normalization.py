"""ARS observation statistics (training/normalization.py)."""

import numpy as np

from chromatic.training.normalization import RunningStats, normalize_by_default


def test_merged_stats_equal_stats_of_concatenated_data():
    rng = np.random.default_rng(0)
    chunks = [rng.normal(3.0, 2.0, size=(n, 4)) * [1, 10, 0.1, 1] for n in (1, 7, 50, 200)]
    merged = RunningStats.zeros(4)
    for c in chunks:
        merged = merged.merge(RunningStats.of(c))
    allx = np.concatenate(chunks)
    assert merged.count == len(allx)
    np.testing.assert_allclose(merged.mean, allx.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(merged.std, allx.std(axis=0), rtol=1e-9)
    norm = merged.to_normalization()
    np.testing.assert_allclose(norm.std, allx.std(axis=0), rtol=1e-9)


def test_constant_dimensions_pass_through_and_empty_is_identity():
    x = np.column_stack([np.full(10, 5.0), np.arange(10.0)])
    s = RunningStats.of(x)
    assert s.std[0] == 1.0 and s.mean[0] == 5.0
    empty = RunningStats.zeros(2).to_normalization()
    assert np.all(empty.mean == 0) and np.all(empty.std == 1)


def test_swimmer_trains_without_normalization():
    assert not normalize_by_default("Swimmer-v5")
    assert normalize_by_default("HalfCheetah-v5") and normalize_by_default("chromatic/Minitaur-v0")
