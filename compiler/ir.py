"""The Policy IR every stage shares: a chromatic tanh (or ReLU) MLP (paper §3).

A policy is a stack of layers ``y = act(W_l x + b_l)`` whose weight matrices are
``W_l[i, j] = palette[partition_l[i, j]]``: every edge carries a color and all edges
of one color share one weight. One palette serves all layers (the paper's
``W_shared`` in R^M). The objects are frozen and their arrays read-only, so a
compiler pass can only build a new policy, never mutate one.

The integer values of :class:`Structure` and :class:`Activation` are also their
wire values in the blob header and the ``CHROMATIC_*`` constants in C.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from chromatic.arrays import readonly
from chromatic.errors import PolicyFormatError


class Structure(enum.IntEnum):
    """How edges are colored. Wire/C values: CHROMATIC_STRUCT_*."""

    CHROMATIC = 0  # any partition into M colors (learned or random)
    MASKED = 1  # color 0 is the pruned class; its weight is exactly 0
    TOEPLITZ = 2  # one color per diagonal of each layer (implicit, no dictionary)
    CIRCULANT = 3  # one color per wrapped diagonal of the max(out, in) square (implicit)
    DENSE = 4  # every edge its own color (implicit)

    @property
    def implicit(self) -> bool:
        """Implicit structures store no partition dictionary in the blob."""
        return self in (Structure.TOEPLITZ, Structure.CIRCULANT, Structure.DENSE)


class Activation(enum.IntEnum):
    """Layer nonlinearity. Wire/C values: CHROMATIC_ACT_*."""

    IDENTITY = 0
    TANH = 1
    RELU = 2  # max(0, x); blob format v1 since issue 15 (older readers refuse it: HEADER)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The nonlinearity in numpy: the reference's definition of every kernel's."""
        if self == Activation.TANH:
            return np.tanh(x)
        if self == Activation.RELU:
            return np.maximum(x, 0.0)
        return x

    @property
    def bounded(self) -> bool:
        """Whether every output lies in [-1, 1] (error and overflow bounds use it)."""
        return self == Activation.TANH


@dataclass(frozen=True, eq=False)
class Layer:
    """One dense layer in colored form: ``partition`` is (out, in), ``bias`` is (out,)."""

    partition: np.ndarray
    bias: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "partition", readonly(self.partition, np.int64))
        object.__setattr__(self, "bias", readonly(self.bias, np.float64))

    @property
    def shape(self) -> tuple[int, int]:
        out, inp = self.partition.shape
        return int(out), int(inp)


@dataclass(frozen=True, eq=False)
class Normalization:
    """Observation filter: the network sees ``(obs - mean) / std``; a std of 0 counts as 1."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", readonly(self.mean, np.float64))
        object.__setattr__(self, "std", readonly(self.std, np.float64))

    @staticmethod
    def identity(d: int) -> Normalization:
        return Normalization(np.zeros(d), np.ones(d))


@dataclass(frozen=True, eq=False)
class Policy:
    """A chromatic MLP. Values are float64 in the IR; the quantize pass picks the wire dtype."""

    layers: tuple[Layer, ...]
    palette: np.ndarray
    normalization: Normalization
    structure: Structure = Structure.CHROMATIC
    hidden_activation: Activation = Activation.TANH
    output_activation: Activation = Activation.TANH
    metadata: Mapping[str, str | int | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "palette", readonly(self.palette, np.float64))
        object.__setattr__(self, "structure", Structure(self.structure))
        object.__setattr__(self, "hidden_activation", Activation(self.hidden_activation))
        object.__setattr__(self, "output_activation", Activation(self.output_activation))
        object.__setattr__(self, "metadata", dict(self.metadata))

    # -- derived sizes -------------------------------------------------------------------
    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.layers[0].shape[1],) + tuple(layer.shape[0] for layer in self.layers)

    @property
    def num_colors(self) -> int:
        return int(self.palette.shape[0])

    @property
    def num_edges(self) -> int:
        return sum(o * i for o, i in (layer.shape for layer in self.layers))

    @property
    def num_hidden_biases(self) -> int:
        return sum(self.layer_sizes[1:-1])

    def activation(self, layer_index: int) -> Activation:
        last = layer_index == len(self.layers) - 1
        return self.output_activation if last else self.hidden_activation

    def weight_matrices(self) -> list[np.ndarray]:
        """The dense matrices the colors expand to (for references and baselines)."""
        return [self.palette[layer.partition] for layer in self.layers]

    def replace(self, **changes: object) -> Policy:
        fields = dict(
            layers=self.layers,
            palette=self.palette,
            normalization=self.normalization,
            structure=self.structure,
            hidden_activation=self.hidden_activation,
            output_activation=self.output_activation,
            metadata=self.metadata,
        )
        fields.update(changes)
        return Policy(**fields)  # type: ignore[arg-type]

    # -- validation ----------------------------------------------------------------------
    def validate(self) -> Policy:
        """Check every invariant; raise PolicyFormatError naming the field. Returns self."""
        if not self.layers:
            raise PolicyFormatError("layer_sizes: expected at least 2 entries, found 1")
        sizes = self.layer_sizes
        for l, layer in enumerate(self.layers):
            out, inp = layer.shape
            if inp != sizes[l]:
                raise PolicyFormatError(
                    f"partition_{l}: expected {sizes[l]} columns (layer_sizes[{l}]), found {inp}"
                )
            if layer.bias.shape != (out,):
                raise PolicyFormatError(f"bias_{l}: expected shape ({out},), found {layer.bias.shape}")
            _check_finite(f"bias_{l}", layer.bias)
            if min(out, inp) < 1:
                raise PolicyFormatError(
                    f"partition_{l}: expected a non-empty matrix, found {layer.partition.shape}"
                )
        if self.palette.ndim != 1 or self.palette.shape[0] < 1:
            raise PolicyFormatError(f"weights: expected shape (M,) with M >= 1, found {self.palette.shape}")
        _check_finite("weights", self.palette)
        m = self.num_colors
        for l, layer in enumerate(self.layers):
            bad = color_outside(layer.partition, m)
            if bad is not None:
                raise PolicyFormatError(
                    f"partition_{l}: expected colors in [0, {m - 1}] (M={m}), found {bad}"
                )
        d0 = sizes[0]
        for name, arr in (("obs_mean", self.normalization.mean), ("obs_std", self.normalization.std)):
            if arr.shape != (d0,):
                raise PolicyFormatError(f"{name}: expected shape ({d0},), found {arr.shape}")
            _check_finite(name, arr)
        if (self.normalization.std < 0).any():
            raise PolicyFormatError("obs_std: expected values >= 0, found a negative one")
        if self.hidden_activation == Activation.IDENTITY and len(self.layers) > 1:
            raise PolicyFormatError("hidden_activation: expected 'tanh' or 'relu', found 'identity'")
        check_structure(self)
        return self


def color_outside(partition: np.ndarray, num_colors: int) -> int | None:
    """A color of ``partition`` outside [0, num_colors) (its minimum if negative, else its
    maximum), or None; exact for any integer dtype, uint64 included (compared as Python ints)."""
    if partition.size == 0:
        return None
    lo, hi = int(partition.min()), int(partition.max())
    return lo if lo < 0 else hi if hi >= num_colors else None


def _check_finite(name: str, arr: np.ndarray) -> None:
    if not np.isfinite(arr).all():
        raise PolicyFormatError(f"{name}: expected finite values, found NaN or inf")


# -- implicit structures -------------------------------------------------------------------
# Canonical color of edge (i, j) of a layer of shape (out, in), before the layer's offset.
# These formulas are the wire definition of the implicit structures (docs/blob-format.md).


def structure_colors_per_layer(structure: Structure, out: int, inp: int) -> int:
    """Number of palette entries one layer of an implicit structure uses."""
    if structure == Structure.TOEPLITZ:
        return out + inp - 1
    if structure == Structure.CIRCULANT:
        return max(out, inp)
    if structure == Structure.DENSE:
        return out * inp
    raise ValueError(f"{structure.name} has no implicit partition")


def canonical_layer_partition(structure: Structure, out: int, inp: int) -> np.ndarray:
    """The canonical (out, in) color matrix of one layer, offset 0."""
    i = np.arange(out)[:, None]
    j = np.arange(inp)[None, :]
    if structure == Structure.TOEPLITZ:
        return np.broadcast_to(i - j + (inp - 1), (out, inp)).astype(np.int64)
    if structure == Structure.CIRCULANT:
        return np.broadcast_to((i - j) % max(out, inp), (out, inp)).astype(np.int64)
    if structure == Structure.DENSE:
        return (i * inp + j).astype(np.int64)
    raise ValueError(f"{structure.name} has no implicit partition")


def canonical_partitions(structure: Structure, layer_sizes: tuple[int, ...]) -> list[np.ndarray]:
    """The canonical partitions of all layers: layer l's colors follow layer l-1's."""
    parts, offset = [], 0
    for inp, out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        parts.append(canonical_layer_partition(structure, out, inp) + offset)
        offset += structure_colors_per_layer(structure, out, inp)
    return parts


def implicit_num_colors(structure: Structure, layer_sizes: tuple[int, ...]) -> int:
    return sum(
        structure_colors_per_layer(structure, out, inp)
        for inp, out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    )


def check_structure(policy: Policy) -> None:
    """Check that the partition really has the declared structure (raises PolicyFormatError)."""
    s = policy.structure
    if s == Structure.MASKED and policy.palette[0] != 0.0:
        raise PolicyFormatError(
            "weights: structure 'masked' needs weights[0] == 0 (the pruned class), "
            f"found {float(policy.palette[0])!r}"
        )
    if not s.implicit:
        return
    # An implicit structure is a bijection between its canonical classes and the colors.
    expected_m = implicit_num_colors(s, policy.layer_sizes)
    if policy.num_colors != expected_m:
        raise PolicyFormatError(
            f"weights: structure {s.name.lower()!r} with layer_sizes {list(policy.layer_sizes)} "
            f"expects M={expected_m} colors, found {policy.num_colors}"
        )
    canon = canonical_partitions(s, policy.layer_sizes)
    mapping = np.full(expected_m, -1, dtype=np.int64)
    for l, (layer, c) in enumerate(zip(policy.layers, canon, strict=True)):
        mapping[c.ravel()] = layer.partition.ravel()
        if not np.array_equal(mapping[c], layer.partition):
            raise PolicyFormatError(
                f"partition_{l}: not {s.name.lower()}: edges of one {_class_word(s)} have different colors"
            )
    if np.unique(mapping).size != expected_m:
        raise PolicyFormatError(f"partition: not {s.name.lower()}: two {_class_word(s)}s share a color")


def _class_word(s: Structure) -> str:
    return {Structure.TOEPLITZ: "diagonal", Structure.CIRCULANT: "wrapped diagonal"}.get(s, "edge")


def index_bits(num_colors: int) -> int:
    """ceil(log2 M): bits per edge in a bit-packed dictionary (0 for M == 1)."""
    return (num_colors - 1).bit_length()
