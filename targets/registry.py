"""The target registry: every build target is one frozen Target, looked up by name.

A target is plain data (compiler, flags, memory limits, emulator machine, and what its core
has: CPU, FPU, binary16 support; kernels declare what they need, targets/kernels.py):
the build, the measure report and the tests iterate over this table, so a new target is
one entry here (docs/targets.md, "How to add a target").
"""

from __future__ import annotations

from dataclasses import dataclass

from chromatic.errors import ChromaticError
from chromatic.targets.kernels import KERNELS  # noqa: F401  (re-exported: the kernel names)

KIB = 1024
HOST_FPU = "host"  # Target.fpu of the build machine: its own floating point, gcc's defaults


@dataclass(frozen=True)
class Board:
    """An emulated board the self-test runs on: QEMU machine and its memory map."""

    qemu_machine: str
    flash_origin: int
    ram_origin: int


@dataclass(frozen=True)
class Target:
    """One build target: its compiler and flags, the part's memory, and what its core has.

    What the core has is data (``cpu``, ``fpu``, ``fp16``): kernels declare the features they
    need (targets/kernels.py) and nothing tests a target's name. A target with an ``fpu``
    runs the float kernels, one without runs the fixed-point (integer-only) ones."""

    name: str
    cc: str
    cflags: tuple[str, ...]
    flash_bytes: int  # the part's flash: a build that needs more is an error
    ram_bytes: int  # the part's RAM: static data + the deeper of init's and infer's stack
    board: Board | None = None  # None: a host build, run natively
    description: str = ""
    #: Kernels in order of preference, measured on this target (docs/targets.md, "The default
    #: kernel"): the default is the first that supports the policy. Fewest instructions per
    #: inference among kernels whose flash does not grow with the edge count (``unrolled``,
    #: whose indices become code, is never a default: ask for it with --kernel).
    kernels: tuple[str, ...] = ("loadable",)
    cpu: str = ""  # the -mcpu value (and unicorn's CPU model); '' for the host
    #: The floating-point unit: an -mfpu value (with the hard-float ABI), HOST_FPU for the
    #: build machine's, '' for none (soft float: the fixed-point kernels).
    fpu: str = ""
    fp16: bool = False  # binary16 <-> float32 in hardware (-mfp16-format=ieee: VCVTB on FPv4)
    #: The Thumb-2 instruction set of v7-M (UBFX, SMLAL, unaligned LDR, LDRD), which the
    #: smlal assembly is written for; v6-M (Cortex-M0/M0+) has the 16-bit subset only.
    thumb2: bool = False

    def __post_init__(self) -> None:  # the declared core and the flags must agree
        flags = set(self.cflags)
        assert not self.cpu or f"-mcpu={self.cpu}" in flags, (self.name, "cpu")
        if self.fpu and self.fpu != HOST_FPU:
            assert {f"-mfpu={self.fpu}", "-mfloat-abi=hard"} <= flags, (self.name, "fpu")
        assert self.fp16 == ("-mfp16-format=ieee" in flags), (self.name, "fp16")
        assert not self.fp16 or self.fpu, (self.name, "fp16 without an FPU")

    @property
    def kernel(self) -> str:
        """The number format of its kernels: 'float' (an FPU, or the host) or 'fixed'."""
        return "float" if self.fpu else "fixed"

    @property
    def features(self) -> frozenset[str]:
        """What kernels may require (targets/kernels.py): 'fpu' or 'integer-only', 'fp16',
        'thumb2', and the FPU's own name (e.g. 'fpv4-sp-d16', which the gather assembly is
        written for)."""
        out = {"fpu", self.fpu} if self.fpu else {"integer-only"}
        return frozenset(out | ({"fp16"} if self.fp16 else set())
                         | ({"thumb2"} if self.thumb2 else set()))

    @property
    def firmware(self) -> bool:
        return self.board is not None

    @property
    def ar(self) -> str:
        return self.cc[: -len("gcc")] + "ar" if self.cc.endswith("gcc") else "ar"


ARM_CC = "arm-none-eabi-gcc"
ARM_COMMON = ("-mthumb", "-O2", "-ffunction-sections", "-fdata-sections")
MPS2_AN386 = Board("mps2-an386", 0x0000_0000, 0x2000_0000)
MPS2_AN385 = Board("mps2-an385", 0x0000_0000, 0x2000_0000)
MICROBIT = Board("microbit", 0x0000_0000, 0x2000_0000)

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("host", "gcc", ("-O2", "-fPIC"), 1 << 40, 1 << 40, None,
               "the build machine (gcc, float kernel)", fpu=HOST_FPU),
        Target("cortex-m4f", ARM_CC,
               ("-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mfp16-format=ieee",
                "-ffp-contract=fast", *ARM_COMMON),
               256 * KIB, 64 * KIB, MPS2_AN386,
               "Cortex-M4 with single-precision FPU (e.g. STM32F4); QEMU mps2-an386",
               ("gather", "inline", "loadable"), cpu="cortex-m4", fpu="fpv4-sp-d16", fp16=True,
               thumb2=True),
        Target("cortex-m3", ARM_CC, ("-mcpu=cortex-m3", "-mfloat-abi=soft", *ARM_COMMON),
               256 * KIB, 64 * KIB, MPS2_AN385,
               "Cortex-M3, no FPU (e.g. LM3S6965, STM32F1); QEMU mps2-an385",
               ("smlal", "packed", "loadable"), cpu="cortex-m3", thumb2=True),
        Target("cortex-m0plus", ARM_CC, ("-mcpu=cortex-m0plus", "-mfloat-abi=soft", *ARM_COMMON),
               64 * KIB, 8 * KIB, MICROBIT,
               "Cortex-M0+, no FPU, no divider (e.g. RP2040, SAMD21); QEMU microbit (M0)",
               ("muls", "packed", "loadable"), cpu="cortex-m0plus"),
    )
}


def get_target(name: str) -> Target:
    """The target called ``name``, or a one-line error listing the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise ChromaticError(f"unknown target {name!r}; expected one of {', '.join(TARGETS)}") from None
