"""Count the instructions one call of a firmware function executes, in unicorn.

Counting is per basic block: a block hook fires once per executed translation block and
capstone counts the instructions in it (cached by address). A per-instruction hook would
miss the instructions of an IT block whose condition fails, which the CPU still issues.
The hook is installed before any code runs, so no translated block escapes it (a hook
added later would need ctl_flush_tb()).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from chromatic.errors import ChromaticError

RETURN_ADDR = 0x0FFF_FFF0  # LR for the called function: a mapped page we stop at
STACK_PAINT = 16 * 1024  # bytes painted below the stack pointer to find the high-water mark
PAINT = b"\xa5"


@dataclass(frozen=True)
class Symbol:
    name: str
    addr: int  # without the Thumb bit
    size: int
    kind: str  # STT_FUNC / STT_OBJECT
    section: str


def symtab(elf: ELFFile, path: str | Path) -> SymbolTableSection:
    """The ELF's .symtab (our builds are never stripped: a missing one is a clear error)."""
    table = elf.get_section_by_name(".symtab")
    if not isinstance(table, SymbolTableSection):
        raise ChromaticError(f"{path}: no symbol table (.symtab); was it stripped?")
    return table


def symbols(elf_path: Path) -> dict[str, Symbol]:
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        secs = [s.name for s in elf.iter_sections()]
        out = {}
        for sym in symtab(elf, elf_path).iter_symbols():
            kind = sym["st_info"]["type"]
            if kind not in ("STT_FUNC", "STT_OBJECT") or not sym.name:
                continue
            shndx = sym["st_shndx"]
            sec = secs[shndx] if isinstance(shndx, int) else str(shndx)
            out[sym.name] = Symbol(sym.name, sym["st_value"] & ~1, sym["st_size"], kind, sec)
        return out


class Emulator:
    """A Cortex-M in unicorn with an ELF's loadable segments mapped."""

    def __init__(self, elf_path: Path, cpu: str, ram_origin: int = 0x2000_0000,
                 ram_size: int = 1 << 20):
        from capstone import CS_ARCH_ARM, CS_MODE_MCLASS, CS_MODE_THUMB, Cs
        from unicorn import UC_ARCH_ARM, UC_HOOK_BLOCK, UC_MODE_MCLASS, UC_MODE_THUMB, Uc
        from unicorn import arm_const as A

        self.A = A
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        # Target.cpu -> (unicorn's model, whether it has an FPU to switch on)
        models = {"cortex-m4": (A.UC_CPU_ARM_CORTEX_M4, True),
                  "cortex-m3": (A.UC_CPU_ARM_CORTEX_M3, False),
                  "cortex-m0plus": (A.UC_CPU_ARM_CORTEX_M0, False)}
        model, fpu = models.get(cpu, (None, False))
        if model is not None:
            self.uc.ctl_set_cpu_model(model)
        self.cs = Cs(CS_ARCH_ARM, CS_MODE_THUMB | CS_MODE_MCLASS)
        self.syms = symbols(elf_path)
        with open(elf_path, "rb") as f:
            elf = ELFFile(f)
            for seg in elf.iter_segments():
                if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
                    continue
                start = seg["p_paddr"] & ~0xFFF
                end = (seg["p_paddr"] + seg["p_memsz"] + 0xFFF) & ~0xFFF
                self._map(start, end - start)
                self.uc.mem_write(seg["p_paddr"], seg.data())
                if seg["p_vaddr"] != seg["p_paddr"]:  # .data: copy to its RAM address too
                    self._map(seg["p_vaddr"] & ~0xFFF, end - start)
                    self.uc.mem_write(seg["p_vaddr"], seg.data())
        self._map(ram_origin, ram_size)
        self._map(RETURN_ADDR & ~0xFFF, 0x1000)
        self.sp = ram_origin + ram_size - 16
        self.count = 0
        self.counting = False
        self._cache: dict[tuple[int, int], int] = {}
        self.uc.hook_add(UC_HOOK_BLOCK, self._on_block)
        if fpu:  # FPU on: CPACR full access to CP10/CP11
            self.uc.mem_write(0xE000ED88, struct.pack("<I", 0xF << 20)) if self._mapped(
                0xE000ED88) else None
            self.uc.reg_write(A.UC_ARM_REG_FPEXC, 0x4000_0000)

    def _mapped(self, addr: int) -> bool:
        return any(b <= addr <= e for b, e, _ in self.uc.mem_regions())

    def _map(self, start: int, size: int) -> None:
        for b, e, _ in self.uc.mem_regions():
            if start <= e and b < start + size:  # overlap: map only the missing tail
                if start + size - 1 > e:
                    self._map(e + 1, start + size - 1 - e)
                if start < b:
                    self._map(start, b - start)
                return
        self.uc.mem_map(start, size)

    def _on_block(self, uc, address: int, size: int, _user) -> None:
        if not self.counting:
            return
        key = (address, size)
        n = self._cache.get(key)
        if n is None:
            n = sum(1 for _ in self.cs.disasm_lite(bytes(uc.mem_read(address, size)), address))
            self._cache[key] = n
        self.count += n

    def alloc(self, data: bytes) -> int:
        """Copy data below the stack area; returns its address."""
        self.sp -= (len(data) + 15) & ~15
        self.uc.mem_write(self.sp, data)
        return self.sp

    def call(self, name: str, *args: int, count: bool = False, limit: int = 50_000_000) -> int:
        """Call a function by symbol with integer args (r0..r3); returns r0 and counts if asked.

        The STACK_PAINT bytes below the entry SP are painted first, so ``stack_bytes`` is the
        call's stack high-water mark (the deepest byte written), not a static bound."""
        A = self.A
        sym = self.syms[name]
        top = (self.sp - 256) & ~7
        self.uc.mem_write(top - STACK_PAINT, PAINT * STACK_PAINT)
        for reg, v in zip((A.UC_ARM_REG_R0, A.UC_ARM_REG_R1, A.UC_ARM_REG_R2, A.UC_ARM_REG_R3),
                          args, strict=False):
            self.uc.reg_write(reg, v)
        self.uc.reg_write(A.UC_ARM_REG_SP, (self.sp - 256) & ~7)
        self.uc.reg_write(A.UC_ARM_REG_LR, RETURN_ADDR | 1)
        self.count, self.counting = 0, count
        self.uc.emu_start(sym.addr | 1, RETURN_ADDR, count=limit)
        self.counting = False
        painted = bytes(self.uc.mem_read(top - STACK_PAINT, STACK_PAINT))
        low = next((i for i, b in enumerate(painted) if b != PAINT[0]), STACK_PAINT)
        self.stack_bytes = STACK_PAINT - low
        return self.uc.reg_read(A.UC_ARM_REG_R0)

    def init(self, prefix: str) -> int:
        """Call ``<prefix>_init`` if the image has one (an error if it fails); its stack bytes."""
        if f"{prefix}_init" not in self.syms:
            return 0
        rc = self.call(f"{prefix}_init")
        if rc != 0:
            raise RuntimeError(f"{prefix}_init returned {rc} in the emulator")
        return self.stack_bytes

    def read_floats(self, addr: int, n: int) -> tuple[float, ...]:
        return struct.unpack(f"<{n}f", bytes(self.uc.mem_read(addr, 4 * n)))


def count_infer(elf_path: Path, cpu: str, prefix: str, obs: list[float], dl: int):
    """(instructions of one <prefix>_infer call, its outputs) after <prefix>_init."""
    n, out, _ = run_infer(elf_path, cpu, prefix, obs, dl)
    return n, out


@dataclass(frozen=True)
class Run:
    """One emulated <prefix>_init then <prefix>_infer: what infer executed and both calls'
    stack high-water marks."""

    instructions: int
    outputs: tuple[float, ...]
    infer_stack_bytes: int
    init_stack_bytes: int


def run_policy(elf_path: Path, cpu: str, prefix: str, obs: list[float], dl: int) -> Run:
    """<prefix>_init, then one counted <prefix>_infer call on ``obs``."""
    emu = Emulator(elf_path, cpu)
    init_stack = emu.init(prefix)
    o = emu.alloc(struct.pack(f"<{len(obs)}f", *obs))
    a = emu.alloc(b"\0" * 4 * dl)
    emu.call(f"{prefix}_infer", o, a, count=True)
    return Run(emu.count, emu.read_floats(a, dl), emu.stack_bytes, init_stack)


def run_infer(elf_path: Path, cpu: str, prefix: str, obs: list[float], dl: int):
    """(instructions, outputs, stack high-water bytes) of one <prefix>_infer call after init."""
    r = run_policy(elf_path, cpu, prefix, obs, dl)
    return r.instructions, r.outputs, r.infer_stack_bytes
