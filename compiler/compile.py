"""The compiler pipeline: policy -> canonicalize -> relabel -> quantize -> pack/serialize -> blob bytes."""

from __future__ import annotations

import os
from collections.abc import Callable

from chromatic.compiler.blob import PACK_MODES, DType, encode
from chromatic.compiler.ir import Policy
from chromatic.compiler.passes.canonicalize import canonicalize
from chromatic.compiler.passes.quantize import quantize
from chromatic.compiler.passes.relabel import relabel as relabel_pass
from chromatic.compiler.policy_file import load_policy
from chromatic.errors import ChromaticError

Pass = Callable[[Policy], Policy]


def run_passes(policy: Policy, passes: tuple[Pass, ...]) -> Policy:
    """Apply passes in order; CHROMATIC_VALIDATE_PASSES=1 validates after each."""
    check = os.environ.get("CHROMATIC_VALIDATE_PASSES") == "1"
    for p in passes:
        policy = p(policy)
        if check:
            policy.validate()
    return policy


def compile_policy(
    policy: Policy | str | os.PathLike[str], dtype: str = "f32", pack: str = "bits", relabel: bool = True
) -> bytes:
    """Compile a policy, or the policy file at a path, into blob bytes (docs/blob-format.md).

    ``dtype`` stores the palette, biases and normalization as ``"f32"`` (bit-exact) or
    ``"f16"``; ``pack`` stores the color indices at ceil(log2 M) ``"bits"`` or whole
    ``"bytes"``. ``relabel`` drops the colors no edge uses, so a partition that uses k of its
    M colors stores a k-entry palette and ceil(log2 k)-bit indices (lossless; compiler/passes/
    relabel.py); ``relabel=False`` keeps all M. This is ``chromatic.compile`` and ``chromatic compile``.
    """
    if isinstance(policy, str | os.PathLike):
        policy = load_policy(policy)
    if not isinstance(policy, Policy):
        raise ChromaticError(f"expected a Policy or the path of a policy file, found {type(policy).__name__}")
    if dtype not in ("f32", "f16"):
        raise ChromaticError(f"unknown dtype {dtype!r}; expected f32 or f16")
    if pack not in PACK_MODES:
        raise ChromaticError(f"unknown pack mode {pack!r}; expected one of {', '.join(PACK_MODES)}")
    passes: tuple[Pass, ...] = (canonicalize, relabel_pass) if relabel else (canonicalize,)
    policy = run_passes(policy.validate(), (*passes, lambda p: quantize(p, dtype)))
    return encode(policy, DType[dtype.upper()], pack)
