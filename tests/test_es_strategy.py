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


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_estimator_matches_analytic_gradient(name):
    strategy = STRATEGIES[name](num_perturbations=20000, sigma=0.1, shaping=identity)
    state = strategy.init(np.zeros(5))
    ask = strategy.ask(state, np.random.default_rng(0))
    returns, pivot = evaluate(strategy, state, ask)
    grad = strategy.gradient(state, ask, returns, pivot)
    exact = -2.0 * (state.params - CENTER)
    assert np.linalg.norm(grad - exact) / np.linalg.norm(exact) < 0.05


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
