"""`chromatic measure`: a blob's bits, its host latency and (``--target``) its footprint.

:func:`measure` is ``chromatic.measure`` and what ``chromatic measure --json`` prints: the
bit accounting (compiler/bits.py), the latency of every runtime (runtime/latency.py) and,
for a firmware target, flash, RAM and instructions per inference on it, measured as follows.

Builds the policy in a temporary directory, then reads the self-test ELF with pyelftools:
flash is split into the kernel (the infer path), validation (init, CRC32), the blob and the
library code it pulls in (libgcc soft-float and division, libc); RAM is the model's .data
and .bss plus a bound on the stack of infer: the frames of every function it can reach
(-fstack-usage for ours, the prologue by disassembly for library helpers). Instructions per inference
come from one call in unicorn (targets/emulate.py); a dense float32 build of the same
policy with the same flags is measured beside it.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chromatic.compiler.blob import decode
from chromatic.errors import ChromaticError
from chromatic.targets.build import BuildResult, build, have_toolchain, selftest_vectors
from chromatic.targets.emulate import run_infer, symbols, symtab
from chromatic.targets.registry import get_target

if TYPE_CHECKING:
    from chromatic.compiler.files import BlobSource

VALIDATE_NAMES = re.compile(r"(^|_)(init|crc32|crc_nibble|check_values|value_ok|bit_length|choose_block_rows|"
                            r"block_cost|buckets|strerror|set_block_rows|scratch_floats|"
                            r"choose_mailman|half_bits|fx_value|init_impl|from_bits)")


def object_symbols(obj: Path) -> set[str]:
    from elftools.elf.elffile import ELFFile

    with open(obj, "rb") as f:
        elf = ELFFile(f)
        return {s.name for s in symtab(elf, obj).iter_symbols()
                if s.name and s["st_shndx"] != "SHN_UNDEF"
                and s["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT")}


def stack_usage(files: tuple[Path, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in files:
        for line in f.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                out[parts[0].rsplit(":", 1)[-1]] = int(parts[1])
    return out


def _code(elf: Path) -> list[tuple[int, bytes]]:
    """The instruction spans of the executable sections: literal pools (between a "$d" and
    the next "$t" mapping symbol, ARM ELF) are left out, so data never disassembles as calls."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        e = ELFFile(f)
        secs = [(i, s) for i, s in enumerate(e.iter_sections())
                if s["sh_flags"] & 0x4 and s["sh_type"] == "SHT_PROGBITS"]  # executable
        marks: dict[int, list[tuple[int, bool]]] = {i: [] for i, _ in secs}
        for sym in symtab(e, elf).iter_symbols():
            if sym.name[:2] in ("$t", "$d", "$a") and sym["st_shndx"] in marks:
                marks[sym["st_shndx"]].append((sym["st_value"], sym.name[1] != "d"))
        out = []
        for i, sec in secs:
            base, data = sec["sh_addr"], sec.data()
            edges = sorted(marks[i]) or [(base, True)]
            ends = [a for a, _ in edges[1:]] + [base + len(data)]
            out += [(a, data[a - base:end - base]) for (a, code), end in zip(edges, ends, strict=True)
                    if code and end > a]
        return out


def call_graph_frames(elf: Path, syms: dict, root: str) -> dict[str, int]:
    """Every function ``root`` can reach through direct calls and tail branches, with the
    frame its prologue allocates (pushed registers + SP decrements, by disassembly)."""
    from capstone import CS_ARCH_ARM, CS_MODE_MCLASS, CS_MODE_THUMB, Cs

    cs = Cs(CS_ARCH_ARM, CS_MODE_THUMB | CS_MODE_MCLASS)
    code = _code(elf)
    funcs = sorted((s for s in syms.values() if s.kind == "STT_FUNC" and s.size),
                   key=lambda s: s.addr)

    def owner(addr: int):
        return next((f for f in funcs if f.addr <= addr < f.addr + f.size), None)

    out: dict[str, int] = {}
    todo = [syms[root]]
    while todo:
        fn = todo.pop()
        if fn.name in out:
            continue
        lo, hi = fn.addr, fn.addr + fn.size
        insns = (i for a, d in code if a < hi and lo < a + len(d)
                 for i in cs.disasm_lite(d[max(lo - a, 0):hi - a], max(lo, a)))
        frame = 0
        for _, _, mnem, ops in insns:
            regs = ops.split("{")[-1].rstrip("}").split(",") if "{" in ops else []
            if mnem.startswith(("push", "vpush")) or (mnem.startswith("stmdb") and
                                                      ops.startswith("sp!")):
                frame += sum(8 if r.strip().startswith("d") else 4 for r in regs)
            elif mnem.startswith("sub") and ops.replace(" ", "").startswith(("sp,sp,#", "sp,#")):
                frame += int(ops.rsplit("#", 1)[1], 0)
            elif mnem.split(".")[0] in ("bl", "b", "blx") and ops.startswith("#"):
                callee = owner(int(ops[1:], 0))
                if callee is not None and callee.name != fn.name:
                    todo.append(callee)
        out[fn.name] = frame
    return out


def footprint(r: BuildResult) -> dict[str, int]:
    """Flash split and RAM of a build, from its self-test ELF."""
    syms = symbols(r.selftest)
    ours: set[str] = set()
    for o in r.kernel_objects:
        ours |= object_symbols(o)
    glue = object_symbols(r.glue_object)
    harness = object_symbols(r.out_dir / "selftest.o")
    if r.target.firmware:
        harness |= object_symbols(r.out_dir / "startup.o")
    blob_name = f"{r.prefix}_blob"
    split = {"kernel": 0, "validate": 0, "blob": 0, "library": 0}
    ram = 0
    for s in syms.values():
        if s.name in harness or s.size == 0:
            continue
        in_flash = s.section.startswith((".text", ".rodata"))
        if s.name == blob_name:
            split["blob"] += s.size
        elif not in_flash:
            if s.section.startswith((".bss", ".data")):
                ram += s.size
        elif s.name in ours or s.name in glue:
            split["validate" if VALIDATE_NAMES.search(s.name) else "kernel"] += s.size
        elif s.kind == "STT_FUNC":
            split["library"] += s.size
    # The bound: the sum of the frames of every function infer can reach (>= its deepest call
    # chain): -fstack-usage for ours (.su names clones "f.constprop", the symbol table
    # "f.constprop.0"), the prologue by disassembly for library helpers (and the assembly).
    su = {re.sub(r"\.\d+$", "", k): v for k, v in stack_usage(r.stack_files).items()}
    reach = call_graph_frames(r.selftest, syms, f"{r.prefix}_infer")
    infer_stack = sum(su.get(re.sub(r"\.\d+$", "", k), v) for k, v in reach.items())
    return {"flash_kernel_bytes": split["kernel"], "flash_validate_bytes": split["validate"],
            "flash_blob_bytes": split["blob"], "flash_library_bytes": split["library"],
            "flash_bytes": sum(split.values()),
            "flash_kernel_plus_blob_bytes": split["kernel"] + split["blob"],
            "ram_static_bytes": ram, "ram_stack_bytes": infer_stack, "ram_bytes": ram + infer_stack}


def instructions(r: BuildResult, elf: Path, prefix: str, obs: np.ndarray, dl: int):
    """(instructions, outputs, stack high-water bytes) of one emulated call."""
    cpu = r.target.cpu or "cortex-m4"
    return run_infer(elf, cpu, prefix, [float(v) for v in obs], dl)


def target_report(data: bytes, target_name: str, kernel: str | None = None):
    """(json fields, table lines) for ``chromatic measure BLOB --target T``."""
    target = get_target(target_name)
    if not target.firmware:
        raise ChromaticError("measure --target counts instructions in an emulated Cortex-M; "
                             "choose a firmware target (cortex-m4f, cortex-m3, cortex-m0plus)")
    if not have_toolchain(target):
        raise ChromaticError(f"toolchain for {target.name} not found; "
                             "run scripts/install_firmware_toolchain.sh")
    blob = decode(data)
    from chromatic.targets.gather import supported

    if kernel:
        kernels = [kernel]
    elif target.kernel == "float":
        kernels = ["loadable", "inline", *(["gather"] if supported(target.cflags) else []),
                   "unrolled"]
    else:
        kernels = ["loadable", "unrolled"]
    obs, expected, *_ = selftest_vectors(blob, target, n=1)
    dl = blob.policy.layer_sizes[-1]
    report: dict[str, object] = {"target": target.name}
    lines = [f"target         {target.name}  ({target.description})"]
    with tempfile.TemporaryDirectory(prefix="chromatic-measure-") as tmp:
        for i, k in enumerate(kernels):  # the first is the headline (json top level)
            r = build(data, target, Path(tmp) / k, kernel=k, dense=(i == 0))
            fp = footprint(r)
            n, out, peak = instructions(r, r.selftest, r.prefix, obs[0], dl)
            err = float(np.abs(np.asarray(out) - expected[0]).max())
            entry = {**fp, "ram_stack_measured_bytes": peak,
                     "ram_measured_bytes": fp["ram_static_bytes"] + peak,
                     "instructions_per_inference": n, "max_abs_error_vs_expected": err}
            if i == 0:
                dn, _, _ = instructions(r, r.out_dir / "dense.elf", f"{r.prefix}_dense", obs[0],
                                        dl)
                report.update(entry)
                report["kernel"] = k
                report["dense_instructions_per_inference"] = dn
                dense_syms = symbols(r.out_dir / "dense.elf")
                report["dense_flash_bytes"] = sum(s.size for s in dense_syms.values()
                                                  if s.section.startswith((".text", ".rodata")))
            report.setdefault("kernels", {})[k] = entry  # type: ignore[index]
            lines.append(
                f"{k + ' kernel':<15}{n:>8,} instr/inference   flash {fp['flash_bytes']:,} B = "
                f"kernel {fp['flash_kernel_bytes']:,} + validate {fp['flash_validate_bytes']:,} + "
                f"blob {fp['flash_blob_bytes']:,} + library {fp['flash_library_bytes']:,}   "
                f"RAM {entry['ram_measured_bytes']:,} B = static {fp['ram_static_bytes']:,} + stack "
                f"{peak:,} measured ({fp['ram_stack_bytes']:,} bound)")
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
