import numpy as np
import pytest

from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.policy_file import load_policy, policy_to_arrays, save_policy
from chromatic.compiler.synth import random_policy
from chromatic.errors import PolicyFormatError


def write(tmp_path, arrays, name="p.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("structure", list(Structure))
def test_round_trip(tmp_path, structure):
    p = random_policy((5, 7, 3), 9, structure)
    p = p.replace(metadata={"env_id": "Hopper-v5", "seed": 3, "eval_return": 12.5})
    save_policy(p, tmp_path / "p.npz")
    q = load_policy(tmp_path / "p.npz")
    assert q.layer_sizes == p.layer_sizes and q.structure == structure
    np.testing.assert_array_equal(q.palette, p.palette.astype(np.float32))
    assert q.metadata == {"env_id": "Hopper-v5", "seed": 3, "eval_return": 12.5}


@pytest.mark.parametrize("hidden", [Activation.TANH, Activation.RELU])
@pytest.mark.parametrize("output", list(Activation))
def test_activations_round_trip(tmp_path, hidden, output):
    p = random_policy((5, 7, 3), 9, hidden_activation=hidden, output_activation=output)
    save_policy(p, tmp_path / "p.npz")
    q = load_policy(tmp_path / "p.npz")
    assert (q.hidden_activation, q.output_activation) == (hidden, output)
    assert str(np.load(tmp_path / "p.npz")["hidden_activation"]) == hidden.name.lower()


def arrays():
    return policy_to_arrays(random_policy((5, 7, 3), 9))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda a: a.pop("weights"), "weights: missing key"),
        (
            lambda a: a.update(partition_0=np.zeros((7, 4), int)),
            r"partition_0: expected shape \(7, 5\), found \(7, 4\)",
        ),
        (lambda a: a.update(partition_1=np.full((3, 7), 9)), r"partition_1: expected colors in \[0, 8\]"),
        (lambda a: a.update(bias_1=np.zeros(4)), r"bias_1: expected shape \(3,\), found \(4,\)"),
        (lambda a: a.update(obs_std=np.ones(4)), r"obs_std: expected shape \(5,\)"),
        (lambda a: a.update(obs_std=-np.ones(5)), "obs_std: expected values >= 0"),
        (lambda a: a.update(weights=np.array([np.nan] * 9)), "weights: expected finite"),
        (lambda a: a.update(structure=np.array("fancy")), "structure: expected one of"),
        (lambda a: a.update(output_activation=np.array("sigmoid")), "output_activation: expected one of"),
        (lambda a: a.update(hidden_activation=np.array("identity")), "hidden_activation: expected one of"),
        (lambda a: a.update(structure=np.array("toeplitz")), "toeplitz"),
        (lambda a: a.update(structure=np.array("masked")), r"weights\[0\] == 0"),
        (lambda a: a.update(layer_sizes=np.array([5.0, 7, 3])), "layer_sizes: expected an integer array"),
        (lambda a: a.update(partition_2=np.zeros((1, 1), int)), "partition_2: unexpected key"),
        (lambda a: a.update(env_id=np.array(["a", "b"])), "env_id: metadata must be"),
    ],
)
def test_errors_name_the_key(tmp_path, mutate, message):
    a = arrays()
    mutate(a)
    with pytest.raises(PolicyFormatError, match=message):
        load_policy(write(tmp_path, a))


def test_toeplitz_relabeling_is_accepted_and_checked(tmp_path):
    p = random_policy((4, 3), structure=Structure.TOEPLITZ, seed=2)  # shuffled labels
    save_policy(p, tmp_path / "t.npz")
    assert load_policy(tmp_path / "t.npz").structure == Structure.TOEPLITZ
    a = policy_to_arrays(p)
    a["partition_0"] = a["partition_0"].copy()
    a["partition_0"][0, 0] = a["partition_0"][1, 0]  # breaks one diagonal
    with pytest.raises(PolicyFormatError, match="not toeplitz"):
        load_policy(write(tmp_path, a))


def test_pickled_object_arrays_are_refused(tmp_path):
    a = arrays()
    a["weights"] = np.array([object()] * 9, dtype=object)
    path = tmp_path / "p.npz"
    np.savez(path, **a)
    with pytest.raises(PolicyFormatError, match="not a readable"):
        load_policy(path)


def test_not_a_zip(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"hello")
    with pytest.raises(PolicyFormatError, match="not a readable"):
        load_policy(tmp_path / "x.npz")
