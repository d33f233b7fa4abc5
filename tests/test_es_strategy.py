"""ES strategies (training/es/strategy.py): eq. (3) on a quadratic, for every registered strategy."""

import numpy as np
import pytest

from chromatic.errors import ChromaticError
from chromatic.training.es.strategy import OPTIMIZERS, STRATEGIES, identity, noise, perturb

CENTER = np.array([1.0, -2.0, 0.5, 3.0, -1.0])


def quadratic(x: np.ndarray) -> np.ndarray:
    """Fitness to maximize; its Gaussian smoothing has the same gradient -2 (x - c)."""
    return -np.sum(np.square(np.atleast_2d(x) - CENTER), axis=1)


def evaluate(strategy, state, ask):
    cands = strategy.candidates(state, ask)
    return quadratic(cands), quadratic(state.params)[:1].repeat(ask.num_pivot)


@pytest.mark.parametrize("name", ["forward", "antithetic"])
def test_estimator_matches_analytic_gradient(name):
    strategy = STRATEGIES[name](num_perturbations=20000, sigma=0.1, shaping=identity)
    state = strategy.init(np.zeros(5))
    ask = strategy.ask(state, np.random.default_rng(0))
    returns, pivot = evaluate(strategy, state, ask)
    grad = strategy.gradient(state, ask, returns, pivot)
    exact = -2.0 * (state.params - CENTER)
    assert np.linalg.norm(grad - exact) / np.linalg.norm(exact) < 0.05


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_points_up_the_gradient(name):
    """Whatever its scaling, a strategy's direction is the smoothed gradient's (cosine ~ 1)."""
    strategy = STRATEGIES[name](num_perturbations=20000, sigma=0.1)
    state = strategy.init(np.zeros(5))
    ask = strategy.ask(state, np.random.default_rng(0))
    grad = strategy.gradient(state, ask, *evaluate(strategy, state, ask))
    exact = -2.0 * (state.params - CENTER)
    assert grad @ exact / (np.linalg.norm(grad) * np.linalg.norm(exact)) > 0.995


def test_ars_uses_only_the_top_directions_and_is_scale_free():
    ars = STRATEGIES["ars"](num_perturbations=8, top_directions=1)
    state = ars.init(np.zeros(4))
    ask = ars.ask(state, np.random.default_rng(3))
    returns = np.array([1.0, 0.0, 5.0, 2.0, 0.5, 0.0, 3.0, 4.0])  # pair 1 has the best max(r+, r-)
    grad = ars.gradient(state, ask, returns, np.zeros(0))
    used = returns[2:4]
    np.testing.assert_allclose(grad, (5.0 - 2.0) * noise(ask.seeds[2], 4) / used.std())
    # the step is invariant to shifting and scaling the returns (std of the used returns)
    np.testing.assert_allclose(ars.gradient(state, ask, 10 * returns - 7, np.zeros(0)), grad)


def test_ars_all_directions_equals_antithetic_up_to_scale():
    ars = STRATEGIES["ars"](num_perturbations=6, top_directions=3)
    anti = STRATEGIES["antithetic"](num_perturbations=6)
    state = ars.init(np.zeros(3))
    ask = ars.ask(state, np.random.default_rng(0))
    returns = np.array([3.0, 1.0, -2.0, 0.5, 1.5, 1.0])
    g1 = ars.gradient(state, ask, returns, np.zeros(0))
    g2 = anti.gradient(anti.init(np.zeros(3)), ask, returns, np.zeros(0))
    np.testing.assert_allclose(g1 / np.linalg.norm(g1), g2 / np.linalg.norm(g2))


@pytest.mark.parametrize("kwargs", [dict(num_perturbations=3), dict(num_perturbations=8, top_directions=5),
                                    dict(num_perturbations=8, top_directions=0),
                                    dict(num_perturbations=4, sigma_decay=1.5)])
def test_bad_ars_settings_are_user_errors(kwargs):
    with pytest.raises(ChromaticError):
        STRATEGIES["ars"](**kwargs)


def test_weight_decay_shrinks_the_parameters_without_signal():
    ars = STRATEGIES["ars"](num_perturbations=4, weight_decay=0.5, lr=0.1)
    state = ars.init(np.ones(3))
    ask = ars.ask(state, np.random.default_rng(0))
    new = ars.tell(state, ask, np.zeros(4), np.zeros(0))  # equal returns: no ascent direction
    np.testing.assert_allclose(new.params, 0.95 * np.ones(3))


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_converges_on_quadratic(name, optimizer):
    strategy = STRATEGIES[name](num_perturbations=40, sigma=0.1, lr=0.05, optimizer=optimizer)
    state = strategy.init(np.zeros(5))
    rng = np.random.default_rng(1)
    start = np.linalg.norm(state.params - CENTER)
    for _ in range(400):
        ask = strategy.ask(state, rng)
        returns, pivot = evaluate(strategy, state, ask)
        state = strategy.tell(state, ask, returns, pivot)
    assert np.linalg.norm(state.params - CENTER) < 0.1 * start
    assert state.generation == 400


def test_state_is_immutable_and_tell_is_pure():
    strategy = STRATEGIES["forward"](num_perturbations=4)
    state = strategy.init(np.zeros(3))
    with pytest.raises(ValueError):
        state.params[0] = 1.0
    ask = strategy.ask(state, np.random.default_rng(0))
    new = strategy.tell(state, ask, np.arange(4.0), np.zeros(1))
    assert np.all(state.params == 0) and not np.all(new.params == 0)


def test_antithetic_pairs_share_seeds_with_opposite_signs():
    strategy = STRATEGIES["antithetic"](num_perturbations=6)
    ask = strategy.ask(strategy.init(np.zeros(3)), np.random.default_rng(0))
    assert ask.num_pivot == 0
    assert np.array_equal(ask.seeds[0::2], ask.seeds[1::2]) and len(set(ask.seeds)) == 3
    assert list(ask.signs) == [1, -1] * 3
    theta = np.ones(3)
    plus, minus = perturb(theta, 0.1, ask.seeds[0], 1), perturb(theta, 0.1, ask.seeds[0], -1)
    np.testing.assert_allclose((plus + minus) / 2, theta)
    np.testing.assert_allclose(plus - theta, 0.1 * noise(ask.seeds[0], 3))


@pytest.mark.parametrize("kwargs", [
    dict(num_perturbations=0), dict(num_perturbations=3, antithetic=True),
    dict(num_perturbations=2, sigma=0.0), dict(num_perturbations=2, optimizer="rmsprop"),
])
def test_bad_settings_are_user_errors(kwargs):
    from chromatic.training.es.strategy import ForwardES

    with pytest.raises(ChromaticError):
        ForwardES(**kwargs)


def test_ars_uses_half_of_the_pairs_by_default():
    assert STRATEGIES["ars"](num_perturbations=32).top == 8
    assert STRATEGIES["ars"](num_perturbations=2).top == 1
