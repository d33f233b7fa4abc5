"""Flash and RAM of a policy inside a linked Cortex-M image, read from the ELF.

Flash is split into the kernel (the infer path), validation (init, CRC32), the blob and the
library code (libgcc soft-float and division, libc) that init or infer can reach; RAM is the
policy's .data and .bss plus the deeper of two stack bounds, init's and infer's: the sum of
the frames of every function each can reach through direct calls and tail branches
(-fstack-usage for our C, the prologue by disassembly for library helpers and assembly).
The same function reads the self-test image of `chromatic build` and a user's own firmware
(tests/test_user_build.py), so the figures are the ones a user's link gives.
"""

from __future__ import annotations

import re
from pathlib import Path

from chromatic.targets.emulate import Symbol, symbols, symtab

VALIDATE_NAMES = re.compile(r"(^|_)(init|crc32|crc_nibble|check_values|value_ok|bit_length|choose_block_rows|"
                            r"block_cost|buckets|strerror|set_block_rows|scratch_floats|"
                            r"choose_mailman|half_bits|fx_value|init_impl|from_bits)")


def object_symbols(obj: Path) -> set[str]:
    """Functions and objects an object file defines."""
    from elftools.elf.elffile import ELFFile

    with open(obj, "rb") as f:
        elf = ELFFile(f)
        return {s.name for s in symtab(elf, obj).iter_symbols()
                if s.name and s["st_shndx"] != "SHN_UNDEF"
                and s["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT")}


def stack_usage(files: tuple[Path, ...]) -> dict[str, int]:
    """function -> frame bytes from gcc's -fstack-usage files."""
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


def call_graph_frames(elf: Path, syms: dict[str, Symbol], root: str) -> dict[str, int]:
    """Every function ``root`` can reach through direct calls and tail branches, with the
    frame its prologue allocates (pushed registers + SP decrements, by disassembly)."""
    from capstone import CS_ARCH_ARM, CS_MODE_MCLASS, CS_MODE_THUMB, Cs

    cs = Cs(CS_ARCH_ARM, CS_MODE_THUMB | CS_MODE_MCLASS)
    code = _code(elf)
    funcs = sorted((s for s in syms.values() if s.kind == "STT_FUNC" and s.size),
                   key=lambda s: s.addr)

    def owner(addr: int) -> Symbol | None:
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


def stack_bound(elf: Path, syms: dict[str, Symbol], root: str, su: dict[str, int]) -> int:
    """The sum of the frames of every function ``root`` can reach (>= its deepest chain):
    -fstack-usage for ours (.su names clones "f.constprop", the symbol table "f.constprop.0"),
    the prologue by disassembly for the rest."""
    su = {re.sub(r"\.\d+$", "", k): v for k, v in su.items()}
    reach = call_graph_frames(elf, syms, root)
    return sum(su.get(re.sub(r"\.\d+$", "", k), v) for k, v in reach.items())


def elf_footprint(elf: Path, prefix: str, ours: set[str],
                  stack_files: tuple[Path, ...]) -> dict[str, int]:
    """Flash split and RAM of policy ``prefix`` in a linked image; ``ours`` are the symbols
    its src/ objects define, ``stack_files`` their .su files."""
    syms = symbols(elf)
    su = stack_usage(stack_files)
    init, infer = f"{prefix}_init", f"{prefix}_infer"
    reach = set(call_graph_frames(elf, syms, infer))
    if init in syms:  # an image linked from infer alone (dense.elf) has no init
        reach |= set(call_graph_frames(elf, syms, init))
    split = {"kernel": 0, "validate": 0, "blob": 0, "library": 0}
    ram = 0
    for s in syms.values():
        if s.size == 0:
            continue
        in_flash = s.section.startswith((".text", ".rodata"))
        if s.name == f"{prefix}_blob":
            split["blob"] += s.size
        elif s.name in ours:
            if not in_flash:
                ram += s.size if s.section.startswith((".bss", ".data")) else 0
            else:
                split["validate" if VALIDATE_NAMES.search(s.name.removeprefix(prefix))
                      else "kernel"] += s.size
        elif s.kind == "STT_FUNC" and in_flash and s.name in reach:
            split["library"] += s.size
    init_stack = stack_bound(elf, syms, init, su) if init in syms else 0
    infer_stack = stack_bound(elf, syms, infer, su)
    stack = max(init_stack, infer_stack)
    return {"flash_kernel_bytes": split["kernel"], "flash_validate_bytes": split["validate"],
            "flash_blob_bytes": split["blob"], "flash_library_bytes": split["library"],
            "flash_bytes": sum(split.values()),
            "flash_kernel_plus_blob_bytes": split["kernel"] + split["blob"],
            "ram_static_bytes": ram, "ram_init_stack_bytes": init_stack,
            "ram_infer_stack_bytes": infer_stack, "ram_stack_bytes": stack,
            "ram_bytes": ram + stack}
