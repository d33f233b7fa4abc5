"""ENAS controllers (paper §3, App. B.1): hand-written gradients, learning, exact resume, the registry."""

from __future__ import annotations

import io

import numpy as np
import pytest

from chromatic.errors import ChromaticError
from chromatic.training.enas import CONTROLLERS, EnasController, make_controller
from chromatic.training.enas.edges import flatten_partitions, num_edges, split_partitions
from chromatic.training.enas.optim import EmaCritic, advantages
from chromatic.training.enas.synthetic import HiddenTarget
from chromatic.training.enas.synthetic import run as run_synthetic

LEARNED = ["enas", "factorized"]
SMALL = {"enas": dict(hidden=8, embedding_dim=8, attention_dim=8)}
FLOAT64 = {"enas": dict(dtype=np.float64)}


def small(name: str, **kw):
    return make_controller(name, 7, 3, **{"seed": 1, **SMALL.get(name, {}), **kw})


@pytest.mark.parametrize("name, kw", [
    ("enas", {}), ("enas", dict(per_edge=False)), ("factorized", {}),
    # a planted partition: far from uniform, the edge logits' gradient still matches
    ("enas", dict(init_partition=np.arange(7) % 3, concentration=0.8)),
])
def test_gradient_matches_finite_differences(name, kw):
    """The full REINFORCE + entropy surrogate loss, every parameter entry, float64."""
    ctrl = small(name, init_scale=1.0, temperature=1.3, entropy_weight=0.3, **FLOAT64.get(name, {}), **kw)
    assert ("edge_logits" in ctrl.params) == kw.get("per_edge", True) or name != "enas"
    rng = np.random.default_rng(0)
    parts, _ = ctrl.sample(4, rng)
    adv = rng.normal(size=4)
    _, grads, _ = ctrl.loss_and_grads(parts, adv)
    eps = 1e-6
    for key, value in ctrl.params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            lp = ctrl.loss_and_grads(parts, adv)[0]
            value[idx] = old - eps
            lm = ctrl.loss_and_grads(parts, adv)[0]
            value[idx] = old
            numeric[idx] = (lp - lm) / (2 * eps)
        assert np.abs(numeric).max() > 1e-6, key  # every parameter influences the loss
        np.testing.assert_allclose(
            grads[key], numeric, rtol=1e-4, atol=1e-8 + 1e-5 * np.abs(numeric).max(), err_msg=key
        )


@pytest.mark.parametrize("name", LEARNED)
def test_sample_log_prob_matches_teacher_forcing(name):
    ctrl = small(name, init_scale=1.0, **FLOAT64.get(name, {}))
    parts, info = ctrl.sample(5, np.random.default_rng(3))
    _, _, stats = ctrl.loss_and_grads(parts, np.zeros(5))
    np.testing.assert_allclose(info["log_prob"], stats["log_prob"], rtol=1e-12)
    np.testing.assert_allclose(info["entropy"], stats["entropy"], rtol=1e-12)


def synthetic(name: str, updates: int, edges: int = 40, colors: int = 5, batch: int = 16, **kw) -> np.ndarray:
    """Gap closed per update on a hidden random target coloring whose reward rises every update."""
    rng = np.random.default_rng(0)
    task = HiddenTarget.random(edges, colors, rng, scale=1000.0, drift=20.0)
    ctrl = make_controller(name, edges, colors, seed=0, **kw)
    return task.gap_closed(run_synthetic(ctrl, task, updates, batch, rng).share)


@pytest.mark.parametrize("name", LEARNED)
def test_controller_with_its_defaults_learns_a_hidden_target(name):
    """A small version of benchmarks/enas_synthetic.py: per-edge choices, a rising reward."""
    gap = synthetic(name, 60)
    assert gap[0] < 0.15  # starts near chance
    assert gap[-5:].mean() > 0.6, gap[-5:]


@pytest.mark.parametrize("name, kw", [
    ("random", {}),
    # the paper recipe: an EMA critic lags the rising reward, beta = 0.3, Adam at 1e-3
    ("enas", dict(per_edge=False, baseline="ema", entropy_weight=0.3)),
    ("factorized", dict(learning_rate=1e-3, baseline="ema", entropy_weight=0.3)),
])
def test_a_controller_that_does_not_learn_fails_the_same_check(name, kw):
    gap = synthetic(name, 60, **kw)
    assert gap[-5:].mean() < 0.15, gap[-5:]


def test_planted_partition_is_kept_with_the_concentration_and_local_search_climbs():
    edges, colors = 200, 5
    rng = np.random.default_rng(1)
    task = HiddenTarget.random(edges, colors, rng)
    start = task.target.copy()
    wrong = rng.permutation(edges)[:100]
    start[wrong] = (start[wrong] + 1) % colors  # right on half of the edges
    for name in LEARNED:
        ctrl = make_controller(name, edges, colors, seed=0, init_partition=start, concentration=0.9)
        parts, _ = ctrl.sample(64, np.random.default_rng(2))
        assert abs((parts == start).mean() - 0.9) < 0.02, name
        share = run_synthetic(ctrl, task, 60, 16, np.random.default_rng(3)).share
        assert share[:3].mean() < 0.55 and share[-5:].mean() > 0.7, (name, share[:3], share[-5:])
    with pytest.raises(ChromaticError, match="concentration"):
        make_controller("enas", edges, colors, init_partition=start, concentration=1.0)
    with pytest.raises(ChromaticError):
        make_controller("enas", edges, colors, init_partition=start[:-1])


def test_recenter_moves_the_planted_partition_and_keeps_what_was_learned():
    edges, colors = 150, 4
    rng = np.random.default_rng(5)
    old = rng.integers(0, colors, edges)
    new = old.copy()
    new[:30] = (new[:30] + 1) % colors
    for name in LEARNED:
        ctrl = make_controller(name, edges, colors, seed=0, init_partition=old, concentration=0.9)
        key = "edge_logits" if name == "enas" else "logits"
        ctrl.params[key][100, 3] += 0.5  # something REINFORCE learned about edge 100
        before = ctrl.params[key].copy()
        ctrl.recenter(old, new)
        parts, _ = ctrl.sample(64, np.random.default_rng(2))
        assert abs((parts == new).mean() - 0.9) < 0.03 and (parts[:, :30] == new[:30]).mean() > 0.85, name
        changed = np.flatnonzero(np.abs(ctrl.params[key] - before).sum(axis=1) > 0)
        assert np.array_equal(changed, np.arange(30)), name  # only the moved edges' logits change
    uniform = make_controller("factorized", edges, colors, seed=0)  # nothing planted: nothing moves
    before = uniform.params["logits"].copy()
    uniform.recenter(old, new)
    assert np.array_equal(uniform.params["logits"], before)


def test_advantages_z_scores_ranks_and_the_ema_critic():
    r = np.array([1.0, 3.0, 3.0, 7.0])
    z = advantages(r, "batch")
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)
    np.testing.assert_allclose(advantages(r + 1e4, "batch"), z)  # a rising reward cancels
    np.testing.assert_allclose(advantages(100 * r, "batch"), z)  # and so does its scale
    ranks = advantages(r, "rank")
    assert ranks[1] == ranks[2] and ranks[0] < ranks[1] < ranks[3] and ranks.std() == pytest.approx(1)
    assert np.array_equal(advantages(np.full(3, 5.0), "batch"), np.zeros(3))
    critic = EmaCritic(0.5)
    np.testing.assert_allclose(advantages(r, "ema", critic), r - 3.5)  # first batch: its own mean
    np.testing.assert_allclose(advantages(r, "ema", critic), r - 3.5)
    with pytest.raises(ChromaticError, match="baseline"):
        make_controller("enas", 7, 3, baseline="mean")


@pytest.mark.parametrize("name", LEARNED)
def test_update_steps_take_several_optimizer_steps_on_one_batch(name):
    rng = np.random.default_rng(0)
    one, two = small(name), small(name, update_steps=2)
    parts, _ = one.sample(6, rng)
    rewards = rng.normal(size=6)
    before = {k: v.copy() for k, v in one.params.items()}
    s1, s2 = one.update(parts, rewards), two.update(parts, rewards)
    assert s1 == s2  # stats of the first step
    key = "edge_logits" if name == "enas" else "logits"
    d1, d2 = one.params[key] - before[key], two.params[key] - before[key]
    assert np.abs(d2).max() > 1.5 * np.abs(d1).max()


@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_sample_shape_determinism_and_exact_resume(name, tmp_path):
    ctrl = small(name)
    parts, info = ctrl.sample(6, np.random.default_rng(5))
    assert parts.shape == (6, 7) and parts.dtype == np.int64
    assert parts.min() >= 0 and parts.max() < 3
    assert info["log_prob"].shape == (6,) and np.all(info["log_prob"] < 0)
    again, _ = small(name).sample(6, np.random.default_rng(5))
    assert np.array_equal(parts, again)

    rng = np.random.default_rng(1)
    for _ in range(3):
        p, _ = ctrl.sample(4, rng)
        ctrl.update(p, rng.normal(size=4))
    buf = io.BytesIO()
    np.savez(buf, **ctrl.state_dict())
    buf.seek(0)
    resumed = small(name, seed=99)
    resumed.load_state_dict(dict(np.load(buf)))
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(3):
        pa, _ = ctrl.sample(4, rng_a)
        pb, _ = resumed.sample(4, rng_b)
        assert np.array_equal(pa, pb)
        rewards = pa.sum(axis=1).astype(float)
        assert ctrl.update(pa, rewards) == resumed.update(pb, rewards)
    for key, value in ctrl.state_dict().items():
        assert np.array_equal(value, resumed.state_dict()[key]), key


@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_bad_input_is_a_user_error(name):
    ctrl = small(name)
    with pytest.raises(ChromaticError):
        ctrl.update(np.zeros((2, 6), int), np.zeros(2))  # wrong number of edges
    with pytest.raises(ChromaticError):
        ctrl.update(np.full((2, 7), 3), np.zeros(2))  # color out of range
    with pytest.raises(ChromaticError):
        ctrl.update(np.zeros((2, 7), int), np.array([0.0, np.nan]))
    with pytest.raises(ChromaticError):
        make_controller(name, 8, 3).load_state_dict(ctrl.state_dict())
    with pytest.raises(ChromaticError):
        make_controller(name, 7, 1)


def test_unknown_controller_name():
    with pytest.raises(ChromaticError, match="expected one of"):
        make_controller("lstm", 7, 3)


def test_greedy_sampling_is_deterministic_and_shared():
    ctrl = EnasController(7, 3, seed=2, hidden=8, embedding_dim=8, attention_dim=8, init_scale=1.0)
    a, _ = ctrl.sample(3, np.random.default_rng(0), greedy=True)
    b, _ = ctrl.sample(1, np.random.default_rng(1), greedy=True)
    assert np.array_equal(a, np.repeat(b, 3, axis=0))


def test_edge_numbering_round_trips():
    sizes = (17, 41, 6)
    assert num_edges(sizes) == 943
    flat = np.arange(943) % 17
    layers = split_partitions(flat, sizes)
    assert [p.shape for p in layers] == [(41, 17), (6, 41)]
    assert layers[1][0, 0] == flat[41 * 17] and layers[0][1, 0] == flat[17]
    assert np.array_equal(flatten_partitions(layers), flat)
    with pytest.raises(ChromaticError):
        split_partitions(flat[:-1], sizes)


def test_float32_default_agrees_with_float64():
    kw = dict(hidden=8, embedding_dim=8, attention_dim=8, init_scale=1.0)
    c32 = EnasController(7, 3, seed=4, **kw)
    c64 = EnasController(7, 3, seed=4, dtype=np.float64, **kw)
    assert c32.params["dec_Wh"].dtype == np.float32
    parts, info32 = c32.sample(5, np.random.default_rng(0))
    adv = np.linspace(-1, 1, 5)
    _, g32, s32 = c32.loss_and_grads(parts, adv)
    _, g64, s64 = c64.loss_and_grads(parts, adv)
    np.testing.assert_allclose(s32["log_prob"], s64["log_prob"], rtol=1e-5)
    for key in g64:
        np.testing.assert_allclose(
            g32[key], g64[key], rtol=1e-3, atol=1e-5 * np.abs(g64[key]).max(), err_msg=key
        )
