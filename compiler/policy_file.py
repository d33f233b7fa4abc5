"""The policy file (.npz): the stable interchange format any trainer can write.

See docs/policy-format.md. Read with ``allow_pickle=False``; strings and scalars are
0-d arrays. Loading validates everything and names the key, expected and found value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import numpy as np

from chromatic.atomic import atomic_write_with
from chromatic.compiler.ir import Activation, Layer, Normalization, Policy, Structure, color_outside
from chromatic.compiler.limits import MAX_LAYERS, check_sizes
from chromatic.compiler.npfile import read_npz
from chromatic.compiler.passes.quantize import round_to
from chromatic.errors import ChromaticError, PolicyFormatError

FORMAT_KEYS = {
    "layer_sizes",
    "weights",
    "obs_mean",
    "obs_std",
    "hidden_activation",
    "output_activation",
    "structure",
}
METADATA_KEYS = ("env_id", "train_command", "seed", "timesteps", "eval_return")


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Load and validate a policy file; raise PolicyFormatError on any problem."""
    path = Path(path)
    arrays = read_npz(path, "policy file", PolicyFormatError)
    try:
        return policy_from_arrays(arrays)
    except PolicyFormatError as e:
        raise PolicyFormatError(f"{path}: {e}") from None


def _get(arrays: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in arrays:
        raise PolicyFormatError(f"{key}: missing key")
    return arrays[key]


def _string(arrays: dict[str, np.ndarray], key: str, choices: tuple[str, ...]) -> str:
    a = _get(arrays, key)
    if a.shape != () or a.dtype.kind not in "US":
        raise PolicyFormatError(f"{key}: expected a 0-d string array, found dtype {a.dtype} shape {a.shape}")
    try:
        value = str(a.item() if a.dtype.kind == "U" else a.item().decode())
    except UnicodeDecodeError:
        raise PolicyFormatError(f"{key}: expected a UTF-8 string, found bytes {a.item()!r}") from None
    if value not in choices:
        raise PolicyFormatError(f"{key}: expected one of {list(choices)}, found {value!r}")
    return value


def _int_array(arrays: dict[str, np.ndarray], key: str, ndim: int) -> np.ndarray:
    """The integer array at ``key``, as stored (a uint64 is not cast: its values stay exact)."""
    a = _get(arrays, key)
    if a.dtype.kind not in "iu":
        raise PolicyFormatError(f"{key}: expected an integer array, found dtype {a.dtype}")
    if a.ndim != ndim:
        raise PolicyFormatError(f"{key}: expected {ndim} dimension(s), found shape {a.shape}")
    return a


def _colors(arrays: dict[str, np.ndarray], key: str, shape: tuple[int, int], m: int) -> np.ndarray:
    """A layer's partition: colors in [0, M) checked on the stored values, then as int64."""
    a = _int_array(arrays, key, 2)
    if a.shape != shape:
        raise PolicyFormatError(f"{key}: expected shape {shape}, found {a.shape}")
    bad = color_outside(a, m)  # on the stored values: exact for int64 and uint64 alike
    if bad is not None:
        raise PolicyFormatError(f"{key}: expected colors in [0, {m - 1}] (M={m}), found {bad}")
    return a.astype(np.int64)


def _float_array(arrays: dict[str, np.ndarray], key: str, shape: tuple[int, ...]) -> np.ndarray:
    a = _get(arrays, key)
    if a.dtype.kind not in "fiu":
        raise PolicyFormatError(f"{key}: expected a float array, found dtype {a.dtype}")
    if a.shape != shape:
        raise PolicyFormatError(f"{key}: expected shape {shape}, found {a.shape}")
    return a.astype(np.float64)


def policy_from_arrays(arrays: dict[str, np.ndarray]) -> Policy:
    """Build and validate a Policy from the policy file's arrays."""
    sizes = _int_array(arrays, "layer_sizes", 1)
    if not 2 <= sizes.size <= MAX_LAYERS + 1:
        raise PolicyFormatError(f"layer_sizes: expected 2 to {MAX_LAYERS + 1} entries, found {sizes.size}")
    sizes_t = tuple(int(s) for s in sizes)  # exact, even for a uint64
    try:  # the blob format's limits (compiler/limits.py), as `chromatic import` applies them
        check_sizes(sizes_t, what=f"layer_sizes {list(sizes_t)}")
    except ChromaticError as e:
        raise PolicyFormatError(str(e)) from None
    weights = _get(arrays, "weights")
    if weights.ndim != 1 or weights.size < 1:
        raise PolicyFormatError(f"weights: expected shape (M,) with M >= 1, found {weights.shape}")
    palette = _float_array(arrays, "weights", weights.shape)
    layers = []
    for l, (inp, out) in enumerate(zip(sizes_t[:-1], sizes_t[1:], strict=True)):
        part = _colors(arrays, f"partition_{l}", (out, inp), palette.size)
        bias = _float_array(arrays, f"bias_{l}", (out,))
        layers.append(Layer(part, bias))
    extra = sorted(
        k
        for k in arrays
        if k.startswith(("partition_", "bias_"))
        and k
        not in {f"partition_{l}" for l in range(len(layers))} | {f"bias_{l}" for l in range(len(layers))}
    )
    if extra:
        raise PolicyFormatError(f"{extra[0]}: unexpected key for layer_sizes {list(sizes_t)}")
    d0 = sizes_t[0]
    norm = Normalization(_float_array(arrays, "obs_mean", (d0,)), _float_array(arrays, "obs_std", (d0,)))
    structure = _string(arrays, "structure", tuple(s.name.lower() for s in Structure))
    hidden = _string(arrays, "hidden_activation", ("tanh", "relu"))
    output = _string(arrays, "output_activation", ("tanh", "identity", "relu"))
    metadata: dict[str, str | int | float] = {}
    for k, a in arrays.items():
        if k in FORMAT_KEYS or k.startswith(("partition_", "bias_")):
            continue
        if a.shape != ():
            raise PolicyFormatError(f"{k}: metadata must be a 0-d string or number, found shape {a.shape}")
        metadata[k] = a.item() if a.dtype.kind in "fiub" else str(a.item())
    return Policy(
        layers=tuple(layers),
        palette=palette,
        normalization=norm,
        structure=Structure[structure.upper()],
        hidden_activation=Activation[hidden.upper()],
        output_activation=Activation[output.upper()],
        metadata=metadata,
    ).validate()


def _float32(key: str, values: np.ndarray) -> np.ndarray:
    """``values`` as the policy file stores them; one that float32 cannot hold is an error
    (ChromaticError naming the key), never an inf that ``compile`` would later refuse."""
    return round_to(key, values, np.dtype(np.float32)).astype(np.float32)


def policy_to_arrays(policy: Policy) -> dict[str, np.ndarray]:
    """The policy file's arrays for a Policy (float32 values, int32 colors)."""
    arrays: dict[str, np.ndarray] = {
        "layer_sizes": np.asarray(policy.layer_sizes, dtype=np.int32),
        "weights": _float32("weights", policy.palette),
        "obs_mean": _float32("obs_mean", policy.normalization.mean),
        "obs_std": _float32("obs_std", policy.normalization.std),
        "hidden_activation": np.array(policy.hidden_activation.name.lower()),
        "output_activation": np.array(policy.output_activation.name.lower()),
        "structure": np.array(policy.structure.name.lower()),
    }
    for l, layer in enumerate(policy.layers):
        arrays[f"partition_{l}"] = layer.partition.astype(np.int32)
        arrays[f"bias_{l}"] = _float32(f"bias_{l}", layer.bias)
    for k, v in policy.metadata.items():
        arrays[k] = np.array(v)
    return arrays


def save_policy(policy: Policy, path: str | os.PathLike[str]) -> None:
    """Validate and write a policy file atomically."""
    # Any: to numpy's stub a dict of arrays could also bind savez's allow_pickle: bool
    arrays: dict[str, Any] = policy_to_arrays(policy.validate())

    def write(f: IO) -> None:
        np.savez_compressed(f, **arrays)

    atomic_write_with(path, write)
