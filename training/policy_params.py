"""Policies as partitions: what ES trains is the palette plus the biases (paper §3, §3.1).

A :class:`PolicySpec` fixes everything ES does not change — layer sizes, structure and the
partition of each layer's edges into colors — so the ES parameter vector is just
``theta = [palette (M), bias_0, bias_1, ...]``; the hidden layers' nonlinearity (tanh or ReLU)
is part of the spec, the output is always tanh so actions stay bounded. Chromatic policies get
a fixed partition (random from the seed, or taken from another policy, Appendix D); dense,
toeplitz and circulant use the compiler's canonical partitions, so the same code trains the
paper's baselines (Table 2); the masked baseline (``theta = [W, S, biases]``) lives in
:mod:`training.masked`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chromatic.arrays import readonly
from chromatic.compiler.ir import (
    Activation,
    Layer,
    Normalization,
    Policy,
    Structure,
    canonical_partitions,
    implicit_num_colors,
)
from chromatic.compiler.policy_file import load_policy
from chromatic.compiler.synth import random_partitions
from chromatic.errors import ChromaticError
from chromatic.training.enas.edges import flatten_partitions, split_partitions

STRUCTURES = ("chromatic", "dense", "toeplitz", "circulant", "masked")  # masked: training/masked.py
#: Nonlinearities ES trains in hidden layers (``--activation``); the output layer is always tanh.
HIDDEN_ACTIVATIONS = {"tanh": Activation.TANH, "relu": Activation.RELU}


@dataclass(frozen=True, eq=False)
class PolicySpec:
    """The untrained part of a policy: sizes, structure, one partition per layer, hidden nonlinearity."""

    layer_sizes: tuple[int, ...]
    structure: Structure
    num_colors: int
    partitions: tuple[np.ndarray, ...]
    hidden_activation: Activation = Activation.TANH  # the output layer is always tanh
    #: Set for the masked baseline (training/masked.py): theta = [W, S, biases], weights W * sigmoid(S/alpha).
    mask_alpha: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_sizes", tuple(int(s) for s in self.layer_sizes))
        object.__setattr__(self, "structure", Structure(self.structure))
        object.__setattr__(self, "partitions", tuple(readonly(p, np.int64) for p in self.partitions))
        act = Activation(self.hidden_activation)
        if act not in HIDDEN_ACTIVATIONS.values():
            raise ChromaticError(f"hidden_activation: expected one of {list(HIDDEN_ACTIVATIONS)}, "
                                 f"found {act.name.lower()}")
        object.__setattr__(self, "hidden_activation", act)

    @property
    def num_biases(self) -> int:
        return sum(self.layer_sizes[1:])

    @property
    def num_params(self) -> int:
        """Length of the ES parameter vector: palette plus biases (masked: W, S and biases)."""
        return self.num_colors * (1 if self.mask_alpha is None else 2) + self.num_biases

    @property
    def num_edges(self) -> int:
        return sum(a * b for a, b in zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True))

    def flat_partition(self) -> np.ndarray:
        """All layers' colors as one (E,) vector, the controller's view of a partition."""
        return flatten_partitions(self.partitions)

    def unflatten(self, flat: np.ndarray) -> tuple[np.ndarray, ...]:
        """Inverse of :meth:`flat_partition`: per-layer (out, in) color matrices."""
        return tuple(split_partitions(np.asarray(flat, dtype=np.int64), self.layer_sizes))


def make_spec(
    structure: str,
    layer_sizes: Sequence[int],
    colors: int,
    rng: np.random.Generator,
    init_partition: Policy | None = None,
    hidden_activation: Activation = Activation.TANH,
) -> PolicySpec:
    """A spec for one of :data:`STRUCTURES`; chromatic partitions are random unless given."""
    sizes = tuple(int(s) for s in layer_sizes)
    act = hidden_activation
    if structure not in STRUCTURES:
        raise ChromaticError(f"unknown structure {structure!r}; expected one of {list(STRUCTURES)}")
    if structure == "masked" and init_partition is None:  # the paper's alpha (training/masked.py)
        from chromatic.training.masked import masked_spec

        return masked_spec(sizes, act)
    if structure != "chromatic":
        if init_partition is not None:
            raise ChromaticError("--init-partition only applies to --structure chromatic")
        s = Structure[structure.upper()]
        return PolicySpec(sizes, s, implicit_num_colors(s, sizes), tuple(canonical_partitions(s, sizes)),
                          act)
    if init_partition is not None:
        if tuple(init_partition.layer_sizes) != sizes:
            raise ChromaticError(
                f"--init-partition has layer sizes {list(init_partition.layer_sizes)}, "
                f"this run needs {list(sizes)}"
            )
        parts = tuple(layer.partition for layer in init_partition.layers)
        return PolicySpec(sizes, Structure.CHROMATIC, init_partition.num_colors, parts, act)
    if colors < 1:
        raise ChromaticError(f"--colors must be at least 1, got {colors}")
    return PolicySpec(sizes, Structure.CHROMATIC, colors, tuple(random_partitions(sizes, colors, rng)), act)


def load_init_partition(path: str) -> Policy:
    """The policy whose partition a chromatic run reuses (Appendix D's transfer experiment)."""
    return load_policy(path)


def init_from_policy(policy: Policy) -> tuple[PolicySpec, np.ndarray]:
    """The spec and ES parameters (palette, biases) of an existing policy, to fine-tune it.

    The trainer's rollouts compute tanh or ReLU hidden layers and a tanh output, so only such
    policies can be fine-tuned; a relu policy fine-tunes as relu. A linear policy's (unused)
    hidden activation is taken as tanh.
    """
    hidden = policy.hidden_activation if len(policy.layers) > 1 else Activation.TANH
    if hidden not in HIDDEN_ACTIVATIONS.values() or policy.output_activation != Activation.TANH:
        raise ChromaticError(
            f"--init-policy: ES fine-tunes tanh or relu hidden layers with a tanh output; this one has "
            f"{policy.hidden_activation.name.lower()} hidden and {policy.output_activation.name.lower()} "
            f"output activations")
    spec = PolicySpec(policy.layer_sizes, policy.structure, policy.num_colors,
                      tuple(layer.partition for layer in policy.layers), hidden)
    theta = np.concatenate([policy.palette, *[layer.bias for layer in policy.layers]])
    return spec, theta


def initial_params(spec: PolicySpec, rng: np.random.Generator, scale: float | None = None) -> np.ndarray:
    """Zero for linear policies (as in ARS); small random palette for hidden layers.

    With hidden layers an all-zero start is a saddle (every first-order effect vanishes), so
    the palette starts at N(0, scale^2) (``chromatic train`` passes ``--init-scale``, 0.1;
    None: 1/sqrt(d0), the earlier default); biases start at zero.
    """
    if spec.mask_alpha is not None:  # W, S (half of them kept) and biases: training/masked.py
        from chromatic.training.masked import initial_params as masked_initial_params

        return masked_initial_params(spec, rng, 0.1 if scale is None else scale)
    theta = np.zeros(spec.num_params)
    if len(spec.layer_sizes) > 2:
        std = 1.0 / np.sqrt(spec.layer_sizes[0]) if scale is None else scale
        theta[: spec.num_colors] = std * rng.standard_normal(spec.num_colors)
    return theta


def split_params(spec: PolicySpec, theta: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """``theta`` -> (palette, per-layer biases); masked: the palette is W * sigmoid(S / alpha)."""
    palette = theta[: spec.num_colors]
    biases, offset = [], spec.num_colors
    if spec.mask_alpha is not None:
        from chromatic.training.masked import soft_palette

        palette, offset = soft_palette(spec, theta), 2 * spec.num_colors
    elif spec.structure == Structure.MASKED and len(palette):  # --init-policy of a masked policy:
        palette = np.concatenate([[0.0], palette[1:]])  # color 0 stays the pruned class (weight 0)
    for out in spec.layer_sizes[1:]:
        biases.append(theta[offset:offset + out])
        offset += out
    return palette, biases


class DenseNet:
    """The fast forward pass used in rollouts: colors expanded once per parameter vector."""

    __slots__ = ("weights", "biases", "activations")

    def __init__(self, spec: PolicySpec, theta: np.ndarray,
                 partitions: Sequence[np.ndarray] | None = None) -> None:
        palette, biases = split_params(spec, np.asarray(theta, dtype=np.float64))
        parts = spec.partitions if partitions is None else partitions
        self.weights = [np.ascontiguousarray(palette[p]) for p in parts]
        self.biases = [np.array(b) for b in biases]
        hidden = _relu if spec.hidden_activation == Activation.RELU else np.tanh
        self.activations = [hidden] * (len(self.weights) - 1) + [np.tanh]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """MLP on a normalized observation: tanh or ReLU hidden layers, a tanh output."""
        for w, b, act in zip(self.weights, self.biases, self.activations, strict=True):
            x = act(w @ x + b)
        return x


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def to_policy(
    spec: PolicySpec,
    theta: np.ndarray,
    normalization: Normalization,
    metadata: dict[str, str | int | float] | None = None,
    partitions: Sequence[np.ndarray] | None = None,
) -> Policy:
    """The compiler IR policy for trained parameters (validated); masked: the hard mask."""
    if spec.mask_alpha is not None:
        from chromatic.training.masked import to_masked_policy

        return to_masked_policy(spec, theta, normalization, metadata, partitions)
    palette, biases = split_params(spec, np.asarray(theta, dtype=np.float64))
    parts = spec.partitions if partitions is None else partitions
    return Policy(
        layers=tuple(Layer(p, b) for p, b in zip(parts, biases, strict=True)),
        palette=palette,
        normalization=normalization,
        structure=spec.structure,
        hidden_activation=spec.hidden_activation,
        output_activation=Activation.TANH,
        metadata=dict(metadata or {}),
    ).validate()
