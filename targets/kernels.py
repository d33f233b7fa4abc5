"""The kernel registry: every kernel `chromatic build --kernel` renders, as one Kernel entry.

A kernel declares what it needs of a target (``requires``: features of Target.features, e.g.
'fpu', or the FPU its assembly is written for) and the one-line error when a target lacks
it; ``check`` refuses, with one line, the policies its generator cannot handle; ``render``
writes the kernel's part of ``<prefix>.c`` (after the blob array, targets/templates/glue.c.in)
and any further source file (the gather kernel's assembly) from one KernelSpec
(targets/spec.py). Kernels render from templates (targets/templates/); a new kernel is one
entry here (docs/targets.md, "How to add a kernel").

This module imports no generator at import time: the registry (targets/registry.py) reads
the names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chromatic.errors import ChromaticError

if TYPE_CHECKING:
    from chromatic.targets.registry import Target
    from chromatic.targets.spec import KernelSpec


@dataclass(frozen=True)
class Rendered:
    """A kernel's generated code for one policy, prefix and target."""

    glue: str  # init/infer (and their state), after the blob array in <prefix>.c
    files: dict[str, str] = field(default_factory=dict)  # further sources: name -> text
    #: the stack frame of each function written in assembly, for the .su files gcc does not
    #: write: (source name, function, bytes)
    frames: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class Kernel:
    """One kernel: what it needs of a target and of a policy, and how it renders."""

    name: str
    summary: str
    requires: frozenset[str]  # features every one of which the target must have
    unsupported: str  # the error when it lacks one; {target} is the target's name
    check: Callable[[KernelSpec], None]  # raises ChromaticError for what it cannot generate
    render: Callable[[KernelSpec, str, Target], Rendered]
    #: further source files it writes, as suffixes of the prefix: ('gather.S',) -> p_gather.S
    sources: tuple[str, ...] = ()
    #: it computes in the narrow format (fixed_point.NarrowModel, bit-exact) instead of the
    #: Q16 format of fixed_point.FixedModel that every other fixed-point kernel is exact with
    narrow: bool = False
    #: on a row-aligned blob (--pack rows) it reads its index windows at compiled-in bit
    #: positions, without a shift per window (fewer instructions than on a bit-packed blob)
    row_aligned_faster: bool = False

    def supports(self, target: Target) -> bool:
        return self.requires <= target.features

    def check_target(self, target: Target) -> None:
        if not self.supports(target):
            raise ChromaticError(self.unsupported.format(target=target.name))


# -- the kernels -------------------------------------------------------------------------
def _no_check(spec: KernelSpec) -> None:
    return None


def _check_of(module: str) -> Callable[[KernelSpec], None]:
    """The ``check(spec)`` of kernel module ``chromatic.targets.<module>``, imported on first use."""
    def check(spec: KernelSpec) -> None:
        importlib.import_module(f"chromatic.targets.{module}").check(spec)

    return check


def _loadable(spec: KernelSpec, prefix: str, target: Target) -> Rendered:
    from chromatic.targets.render import fixed_param_words, scratch_words
    from chromatic.targets.templates import render

    if target.kernel == "fixed":
        return Rendered(render("loadable_fixed.c", prefix=prefix, param_words=fixed_param_words(spec),
                               scratch_words=scratch_words(spec, target)))
    return Rendered(render("loadable_float.c", prefix=prefix,
                           scratch_words=scratch_words(spec, target)))


def _inline(spec: KernelSpec, prefix: str, target: Target) -> Rendered:
    from chromatic.targets.inline import inline_kernel

    return Rendered(inline_kernel(prefix, spec))


def _gather(spec: KernelSpec, prefix: str, target: Target) -> Rendered:
    from chromatic.targets.gather import gather_kernel

    g = gather_kernel(prefix, spec)
    name = f"{prefix}_gather.S"
    return Rendered(g.c_source, {name: g.asm}, ((name, f"{prefix}_infer", g.stack_bytes),))


def _packed(spec: KernelSpec, prefix: str, target: Target) -> Rendered:
    from chromatic.targets.packed import MUL64_FRAME, packed_asm, packed_kernel

    name = f"{prefix}_packed.S"
    return Rendered(packed_kernel(prefix, spec), {name: packed_asm(prefix)},
                    ((name, f"{prefix}_mul64", MUL64_FRAME),))


def _smlal(spec: KernelSpec, prefix: str, target: Target) -> Rendered:
    from chromatic.targets.smlal import smlal_kernel

    k = smlal_kernel(prefix, spec)
    name = f"{prefix}_smlal.S"
    return Rendered(k.c_source, {name: k.asm}, ((name, f"{prefix}_layers", k.stack_bytes),))


def _muls(spec: KernelSpec, prefix: str, target: Target) -> Rendered:
    from chromatic.targets.muls import ROW_FRAME, muls_kernel

    k = muls_kernel(prefix, spec)
    name = f"{prefix}_muls.S"
    return Rendered(k.c_source, {name: k.asm}, tuple((name, fn, ROW_FRAME) for fn in k.rows))


def _unrolled(spec: KernelSpec, prefix: str, target: Target) -> Rendered:
    from chromatic.targets.unrolled import fixed_kernel, float_kernel

    gen = fixed_kernel if target.kernel == "fixed" else float_kernel
    return Rendered(gen(prefix, spec))


REGISTRY: dict[str, Kernel] = {k.name: k for k in (
    Kernel("loadable", "the portable C kernel over the blob, validated in full at init "
           "(float, or fixed point without an FPU)",
           frozenset(), "", _no_check, _loadable),
    Kernel("inline", "C specialized to the policy's shapes, decoding the blob's bits (float)",
           frozenset({"fpu"}),
           "target {target} has no FPU: the inline kernel is float-only; "
           "use --kernel packed, loadable or unrolled (fixed point)", _check_of("inline"), _inline),
    Kernel("gather", "Thumb-2 + FPv4 assembly generated per policy, one FMA per edge",
           frozenset({"fpv4-sp-d16"}),
           "the gather kernel is Thumb-2 + FPv4 assembly (cortex-m4f); target {target} cannot "
           "run it: use --kernel inline, loadable or unrolled", _check_of("gather"), _gather,
           ("gather.S",), row_aligned_faster=True),
    Kernel("packed", "fixed-point C generated per policy (values as constants), reading the "
           "blob's packed indices: one SMLAL per edge on v7-M, per-color sums on v6-M",
           frozenset({"integer-only"}),
           "the packed kernel is fixed point, for cores without an FPU; target {target} has "
           "one: use --kernel gather, inline or loadable", _check_of("packed"), _packed,
           ("packed.S",)),
    Kernel("smlal", "the packed fixed-point kernel with its layers in Thumb-2 assembly "
           "generated per policy: one SMLAL per edge, a division-free tanh",
           frozenset({"integer-only", "thumb2"}),
           "the smlal kernel is fixed-point Thumb-2 (v7-M) assembly, for v7-M cores without an "
           "FPU (e.g. cortex-m3); target {target} cannot run it: use --kernel loadable (or "
           "packed, on a core without an FPU)",
           _check_of("smlal"), _smlal, ("smlal.S",), row_aligned_faster=True),
    Kernel("muls", "fixed-point C generated per policy in the narrow format (32-bit sums: one "
           "MULS per edge on v6-M), reading the blob's packed indices",
           frozenset({"integer-only"}),
           "the muls kernel is fixed point, for cores without an FPU; target {target} has "
           "one: use --kernel gather, inline or loadable", _check_of("muls"), _muls,
           ("muls.S",), narrow=True, row_aligned_faster=True),
    Kernel("unrolled", "straight-line C with the indices baked in (float, or fixed point "
           "without an FPU): fastest, largest",
           frozenset(), "", _check_of("unrolled"), _unrolled),
)}

#: The kernels' names, in the registry's order (`chromatic build --kernel`).
KERNELS = tuple(REGISTRY)


def get_kernel(name: str) -> Kernel:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ChromaticError(f"unknown kernel {name!r}; expected one of {', '.join(KERNELS)}") from None
