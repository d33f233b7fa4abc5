"""ES's view of a policy (training/policy_params.py): the rollout network is the compiled policy."""

import dataclasses

import numpy as np
import pytest

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Normalization
from chromatic.errors import ChromaticError
from chromatic.runtime import load
from chromatic.training.policy_params import DenseNet, PolicySpec, init_from_policy, make_spec, to_policy


def random_spec_and_theta(structure, sizes, activation, seed=0):
    rng = np.random.default_rng(seed)
    spec = make_spec(structure, sizes, 7, rng, hidden_activation=activation)
    theta = rng.standard_normal(spec.num_params)
    return spec, theta, rng


@pytest.mark.parametrize("structure", ["chromatic", "dense"])
@pytest.mark.parametrize("sizes", [(5, 9, 3), (4, 8, 6, 2)])
def test_relu_densenet_equals_the_compiled_blobs_reference(structure, sizes):
    spec, theta, rng = random_spec_and_theta(structure, sizes, Activation.RELU)
    norm = Normalization(rng.standard_normal(sizes[0]), rng.uniform(0.5, 2.0, sizes[0]))
    policy = to_policy(spec, theta, norm)
    assert policy.hidden_activation == Activation.RELU and policy.output_activation == Activation.TANH
    obs = 3 * rng.standard_normal((64, sizes[0]))
    expected = load(compile_policy(policy), "numpy").batch(obs.astype(np.float32))
    net = DenseNet(spec, theta)
    got = np.stack([net((o - norm.mean) / norm.std) for o in obs])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # the same parameters as tanh hidden layers are a different network (relu is really applied)
    tanh = DenseNet(PolicySpec(spec.layer_sizes, spec.structure, spec.num_colors, spec.partitions), theta)
    assert np.abs(np.stack([tanh((o - norm.mean) / norm.std) for o in obs]) - got).max() > 0.01
    assert np.abs(got).max() <= 1  # the output stays tanh


def test_init_from_policy_keeps_relu_and_refuses_other_outputs():
    spec, theta, rng = random_spec_and_theta("chromatic", (5, 9, 3), Activation.RELU)
    policy = to_policy(spec, theta, Normalization.identity(5))
    spec2, theta2 = init_from_policy(policy)
    assert spec2.hidden_activation == Activation.RELU
    np.testing.assert_array_equal(theta2, theta)
    relu_out = dataclasses.replace(policy, output_activation=Activation.RELU)
    with pytest.raises(ChromaticError, match="tanh output"):
        init_from_policy(relu_out)


def test_identity_hidden_layers_are_not_a_spec():
    with pytest.raises(ChromaticError, match="hidden_activation"):
        PolicySpec((2, 3, 1), 0, 1, (np.zeros((3, 2)), np.zeros((1, 3))), Activation.IDENTITY)
