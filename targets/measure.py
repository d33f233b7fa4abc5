"""`chromatic measure`: a blob's bits, its host latency and (``--target``) its footprint.

:func:`measure` is ``chromatic.measure`` and what ``chromatic measure --json`` prints: the
bit accounting (compiler/bits.py), the latency of every runtime (runtime/latency.py) and,
for a firmware target, flash, RAM and instructions per inference on it, measured as follows.

Builds the policy in a temporary directory with `build` (whose size report comes from the
self-test ELF: targets/footprint.py), then counts one inference in unicorn
(targets/emulate.py) and reads both calls' stack high-water marks. Every kernel the target
can run on the policy is measured; the default kernel (build.default_kernel) comes first
and is the JSON top level. A dense float32 build of the same policy with the same flags is
measured beside it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chromatic.compiler.blob import decode
from chromatic.errors import ChromaticError
from chromatic.targets.build import (
    BuildResult,
    build,
    check_kernel,
    default_kernel,
    have_toolchain,
    pack_hint,
    selftest_vectors,
)
from chromatic.targets.emulate import run_infer, run_policy, symbols
from chromatic.targets.footprint import (  # noqa: F401  (re-exported: tests and benchmarks)
    VALIDATE_NAMES,
    call_graph_frames,
    object_symbols,
    stack_usage,
)
from chromatic.targets.registry import KERNELS, TARGETS, get_target

if TYPE_CHECKING:
    from chromatic.compiler.files import BlobSource

def footprint(r: BuildResult) -> dict[str, int]:
    """Flash split and RAM of a build, from its self-test ELF (targets/footprint.py)."""
    if r.sizes is None:
        raise ChromaticError(f"target {r.target.name} has no firmware image to measure")
    return r.sizes


def instructions(r: BuildResult, elf: Path, prefix: str, obs: np.ndarray, dl: int):
    """(instructions, outputs, stack high-water bytes) of one emulated call."""
    cpu = r.target.cpu or "cortex-m4"
    return run_infer(elf, cpu, prefix, [float(v) for v in obs], dl)


def target_report(data: bytes, target_name: str, kernel: str | None = None):
    """(json fields, table lines) for ``chromatic measure BLOB --target T``."""
    target = get_target(target_name)
    if not target.firmware:
        names = ", ".join(t.name for t in TARGETS.values() if t.firmware)
        raise ChromaticError("measure --target counts instructions in an emulated Cortex-M; "
                             f"choose a firmware target ({names})")
    if not have_toolchain(target):
        raise ChromaticError(f"toolchain for {target.name} not found ({target.cc}); "
                             "run scripts/install_firmware_toolchain.sh")
    blob = decode(data)
    chosen, why = default_kernel(blob, target) if kernel is None else (kernel, "asked for")
    kernels = [chosen]
    if kernel is None:
        for k in KERNELS:
            if k in kernels:
                continue
            try:
                check_kernel(k, blob, target)
            except ChromaticError:
                continue
            kernels.append(k)
    obs, *_ = selftest_vectors(blob, target, n=1)
    dl = blob.policy.layer_sizes[-1]
    report: dict[str, object] = {"target": target.name, "kernel": chosen, "kernel_reason": why}
    lines = [f"target         {target.name}  ({target.description})",
             f"kernel         {chosen}: {why}"]
    hint = pack_hint(blob, chosen)
    report["hint"] = hint
    lines += [f"{'':15}{hint}"] if hint else []
    with tempfile.TemporaryDirectory(prefix="chromatic-measure-") as tmp:
        for i, k in enumerate(kernels):  # the first is the headline (json top level)
            r = build(data, target, Path(tmp) / k, kernel=k, dense=(i == 0))
            fp = footprint(r)
            run = run_policy(r.selftest, target.cpu, r.prefix, [float(v) for v in obs[0]], dl)
            peak = max(run.infer_stack_bytes, run.init_stack_bytes)
            _, expected, reference, *_ = selftest_vectors(blob, target, n=1, kernel=k)
            err = float(np.abs(np.asarray(run.outputs) - expected[0]).max())
            err_ref = float(np.abs(np.asarray(run.outputs) - reference[0]).max())
            entry = {**fp, "ram_init_stack_measured_bytes": run.init_stack_bytes,
                     "ram_infer_stack_measured_bytes": run.infer_stack_bytes,
                     "ram_stack_measured_bytes": peak,
                     "ram_measured_bytes": fp["ram_static_bytes"] + peak,
                     "instructions_per_inference": run.instructions,
                     "max_abs_error_vs_expected": err,
                     "max_abs_error_vs_reference": err_ref}
            if i == 0:
                dn, _, _ = instructions(r, r.selftest.parent / "dense.elf", f"{r.prefix}_dense",
                                        obs[0], dl)
                report.update(entry)
                report["dense_instructions_per_inference"] = dn
                dense_syms = symbols(r.selftest.parent / "dense.elf")
                report["dense_flash_bytes"] = sum(s.size for s in dense_syms.values()
                                                  if s.section.startswith((".text", ".rodata")))
            report.setdefault("kernels", {})[k] = entry  # type: ignore[index]
            mark = " (default)" if k == chosen and kernel is None else ""
            lines.append(
                f"{k + ' kernel':<15}{run.instructions:>8,} instr/inference   flash "
                f"{fp['flash_bytes']:,} B = kernel {fp['flash_kernel_bytes']:,} + validate "
                f"{fp['flash_validate_bytes']:,} + blob {fp['flash_blob_bytes']:,} + library "
                f"{fp['flash_library_bytes']:,}   RAM {entry['ram_measured_bytes']:,} B = static "
                f"{fp['ram_static_bytes']:,} + stack {peak:,} measured (init "
                f"{run.init_stack_bytes:,}, infer {run.infer_stack_bytes:,}; "
                f"{fp['ram_bytes']:,} bound){mark}")
    dn = report["dense_instructions_per_inference"]
    lines.append(f"{'dense float32':<15}{dn:>8,} instr/inference   flash "
                 f"{report['dense_flash_bytes']:,} B (same flags, expanded weights)")
    for e in report["kernels"].values():  # type: ignore[attr-defined]
        e["dense_over_kernel"] = round(dn / e["instructions_per_inference"], 2)  # type: ignore[operator]
    report["dense_over_kernel"] = round(dn / report["instructions_per_inference"], 2)  # type: ignore[operator]
    ratios = ", ".join(f"{k} {e['dense_over_kernel']:.2f}"
                       for k, e in report["kernels"].items())  # type: ignore[attr-defined]
    lines.append(f"{'dense/kernel':<15}{ratios}   (instruction ratio; >1: the kernel runs fewer)")
    return report, lines


def measure_report(blob: BlobSource, target: str | None = None, *, latency: bool = True,
                   quick: bool = False) -> tuple[dict[str, object], list[str]]:
    """(the ``chromatic measure --json`` object, the lines of its table) for a blob.

    ``blob`` is bytes or the path of a blob file (the report's ``"blob"``, None for bytes).
    """
    import os

    from chromatic.compiler.bits import bit_report, describe
    from chromatic.compiler.files import load_blob

    data, decoded = load_blob(blob)
    bits = bit_report(decoded)
    name = os.fspath(blob) if isinstance(blob, str | os.PathLike) else None
    report: dict[str, object] = {"blob": name, "policy": describe(decoded), **bits.as_dict()}
    lines = [
        f"policy         {describe(decoded)}",
        f"paper_bits     {bits.paper_bits:>10,}   paper Table 2 accounting",
        f"blob_bits      {bits.blob_bits:>10,}   8 x file size: "
        + " + ".join(f"{k} {v:,}" for k, v in bits.parts.items() if v),
        f"weight_params  {bits.weight_params:>10,}",
        f"compression    {100 * bits.compression:>9.1f}%   "
        "1 - (params + hidden biases) / (edges + hidden biases)",
    ]
    if latency:
        from chromatic.runtime.latency import latency_report

        extra, extra_lines = latency_report(data, quick=quick)
        report.update(extra)
        lines += extra_lines
    if target:
        extra, extra_lines = target_report(data, target)
        report.update(extra)
        lines += extra_lines
    return report, lines


def measure(blob: BlobSource, target: str | None = None, *, latency: bool = True,
            quick: bool = False) -> dict[str, object]:
    """What ``chromatic measure --json`` prints: bits, latency, and a target's footprint.

    ``blob`` is bytes or a blob file's path; ``target`` a firmware target (``cortex-m4f``,
    ``cortex-m3``, ``cortex-m0plus``) or None; ``latency=False`` skips the host benchmark
    (seconds), ``quick=True`` shortens it. This is ``chromatic.measure``.
    """
    return measure_report(blob, target, latency=latency, quick=quick)[0]
