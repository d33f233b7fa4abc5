"""The driver's controller registry (training/controllers.py): learners start on the run's partition."""

import numpy as np
import pytest

from chromatic.errors import ChromaticError
from chromatic.training.controllers import make_controller
from chromatic.training.policy_params import make_spec


def spec():
    return make_spec("chromatic", (5, 8, 3), 6, np.random.default_rng(0))


@pytest.mark.parametrize("name", ["enas", "factorized"])
def test_learning_controllers_sample_local_edits_of_the_runs_partition(name):
    s = spec()
    ctrl = make_controller(name, s, seed=0)
    parts, _ = ctrl.sample(200, np.random.default_rng(1))
    keep = (parts == s.flat_partition()).mean()
    assert 0.95 < keep < 0.99  # the default concentration 0.97
    loose = make_controller(name, s, seed=0, concentration=0.8).sample(200, np.random.default_rng(1))[0]
    assert abs((loose == s.flat_partition()).mean() - 0.8) < 0.03


@pytest.mark.parametrize("name", ["enas", "factorized"])
def test_concentration_zero_starts_uniform_and_none_options_take_the_defaults(name):
    s = spec()
    ctrl = make_controller(name, s, seed=0, concentration=0, learning_rate=None, entropy_weight=None)
    parts, _ = ctrl.sample(200, np.random.default_rng(1))
    assert abs((parts == s.flat_partition()).mean() - 1 / 6) < 0.03
    assert ctrl.entropy_weight == 0.02


def test_random_controller_ignores_the_concentration_and_fixed_needs_chromatic():
    s = spec()
    parts = make_controller("random", s, seed=0, concentration=0.97).sample(100, np.random.default_rng(1))[0]
    assert (parts == s.flat_partition()).mean() < 0.3
    dense = make_spec("dense", (5, 8, 3), 6, np.random.default_rng(0))
    with pytest.raises(ChromaticError, match="needs --structure chromatic"):
        make_controller("enas", dense, seed=0)
