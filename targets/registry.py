"""The target registry: every build target is one frozen Target, looked up by name.

A target is plain data (compiler, flags, memory limits, emulator machine, kernel kind):
the build, the measure report and the tests iterate over this table, so a new target is
one entry here (docs/targets.md, "How to add a target").
"""

from __future__ import annotations

from dataclasses import dataclass

from chromatic.errors import ChromaticError

KIB = 1024

#: The kernels `chromatic build --kernel` renders (targets/render.py); each target's default is
#: the first of its ``kernels`` that supports the policy (Target.kernels, docs/targets.md).
KERNELS = ("loadable", "inline", "gather", "unrolled")


@dataclass(frozen=True)
class Board:
    """An emulated board the self-test runs on: QEMU machine and its memory map."""

    qemu_machine: str
    flash_origin: int
    ram_origin: int


@dataclass(frozen=True)
class Target:
    """One build target. ``kernel`` is 'float' (FPU or host) or 'fixed' (integer only)."""

    name: str
    cc: str
    cflags: tuple[str, ...]
    kernel: str  # "float" | "fixed"
    flash_bytes: int  # the part's flash: a build that needs more is an error
    ram_bytes: int  # the part's RAM: static data + the deeper of init's and infer's stack
    board: Board | None = None  # None: a host build, run natively
    description: str = ""
    #: Kernels in order of preference, measured on this target (docs/targets.md, "The default
    #: kernel"): the default is the first that supports the policy. Fewest instructions per
    #: inference among kernels whose flash does not grow with the edge count (``unrolled``,
    #: whose indices become code, is never a default: ask for it with --kernel).
    kernels: tuple[str, ...] = ("loadable",)

    @property
    def firmware(self) -> bool:
        return self.board is not None

    @property
    def ar(self) -> str:
        return self.cc[: -len("gcc")] + "ar" if self.cc.endswith("gcc") else "ar"

    @property
    def cpu(self) -> str:
        """The -mcpu value (for unicorn's CPU model), '' for the host."""
        for f in self.cflags:
            if f.startswith("-mcpu="):
                return f.split("=", 1)[1]
        return ""


ARM_CC = "arm-none-eabi-gcc"
ARM_COMMON = ("-mthumb", "-O2", "-ffunction-sections", "-fdata-sections")
MPS2_AN386 = Board("mps2-an386", 0x0000_0000, 0x2000_0000)
MPS2_AN385 = Board("mps2-an385", 0x0000_0000, 0x2000_0000)
MICROBIT = Board("microbit", 0x0000_0000, 0x2000_0000)

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("host", "gcc", ("-O2", "-fPIC"), "float", 1 << 40, 1 << 40, None,
               "the build machine (gcc, float kernel)"),
        Target("cortex-m4f", ARM_CC,
               ("-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mfp16-format=ieee",
                "-ffp-contract=fast", *ARM_COMMON),
               "float", 256 * KIB, 64 * KIB, MPS2_AN386,
               "Cortex-M4 with single-precision FPU (e.g. STM32F4); QEMU mps2-an386",
               ("gather", "inline", "loadable")),
        Target("cortex-m3", ARM_CC, ("-mcpu=cortex-m3", "-mfloat-abi=soft", *ARM_COMMON),
               "fixed", 256 * KIB, 64 * KIB, MPS2_AN385,
               "Cortex-M3, no FPU (e.g. LM3S6965, STM32F1); QEMU mps2-an385"),
        Target("cortex-m0plus", ARM_CC, ("-mcpu=cortex-m0plus", "-mfloat-abi=soft", *ARM_COMMON),
               "fixed", 64 * KIB, 8 * KIB, MICROBIT,
               "Cortex-M0+, no FPU, no divider (e.g. RP2040, SAMD21); QEMU microbit (M0)"),
    )
}


def get_target(name: str) -> Target:
    """The target called ``name``, or a one-line error listing the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise ChromaticError(f"unknown target {name!r}; expected one of {', '.join(TARGETS)}") from None
