"""The compiler pipeline: policy -> canonicalize -> quantize -> pack/serialize -> blob bytes."""

from __future__ import annotations

import os
from collections.abc import Callable

from chromatic.compiler.blob import PACK_MODES, DType, encode
from chromatic.errors import ChromaticError
from chromatic.compiler.ir import Policy
from chromatic.compiler.passes.canonicalize import canonicalize
from chromatic.compiler.passes.quantize import quantize

Pass = Callable[[Policy], Policy]


def run_passes(policy: Policy, passes: tuple[Pass, ...]) -> Policy:
    """Apply passes in order; CHROMATIC_VALIDATE_PASSES=1 validates after each."""
    check = os.environ.get("CHROMATIC_VALIDATE_PASSES") == "1"
    for p in passes:
        policy = p(policy)
        if check:
            policy.validate()
    return policy


def compile_policy(policy: Policy, dtype: str = "f32", pack: str = "bits") -> bytes:
    """Compile a validated policy into blob bytes (docs/blob-format.md)."""
    if dtype not in ("f32", "f16"):
        raise ChromaticError(f"unknown dtype {dtype!r}; expected f32 or f16")
    if pack not in PACK_MODES:
        raise ChromaticError(f"unknown pack mode {pack!r}; expected bits or bytes")
    policy = run_passes(policy.validate(), (canonicalize, lambda p: quantize(p, dtype)))
    return encode(policy, DType[dtype.upper()], pack)
