"""`chromatic build`: C sources, a static library and a self-test image for one target.

The steps are plain subprocess calls to the target's gcc and ar; any failure becomes one
ChromaticError line. Memory limits are checked before compiling (blob vs flash, scratch
vs RAM) and again by the linker script, so a policy that does not fit is a build error.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chromatic.compiler.blob import Blob
from chromatic.compiler.files import BlobSource, load_blob
from chromatic.errors import ChromaticError
from chromatic.runtime.reference import forward
from chromatic.targets.registry import KERNELS, Target, get_target
from chromatic.targets.render import (
    Sizes,
    dense_source,
    linker_script,
    model_header,
    model_source,
    selftest_source,
)

HERE = Path(__file__).resolve().parent
C_DIR = HERE / "c"
FW_DIR = HERE / "firmware"
WARNINGS = ("-std=c99", "-Wall", "-Wextra", "-Wdouble-promotion", "-Wfloat-conversion", "-Werror")
FLOAT_RTOL = 1e-5
FLOAT_ATOL = 1e-6
SELFTEST_VECTORS = 8
INSTALL_HINT = "run scripts/install_firmware_toolchain.sh"
DEFAULT_PREFIX = "chromatic_policy"


@dataclass(frozen=True)
class BuildResult:
    """Paths of a build; ``objects`` maps each kernel-side object to its source."""

    out_dir: Path
    target: Target
    kernel: str
    prefix: str
    library: Path
    selftest: Path
    kernel_objects: tuple[Path, ...]
    glue_object: Path
    stack_files: tuple[Path, ...] = field(default=())


def have_toolchain(target: Target) -> bool:
    needs = [target.cc] + (["qemu-system-arm"] if target.firmware else [])
    return all(shutil.which(t) for t in needs)


def run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    if shutil.which(cmd[0]) is None:
        raise ChromaticError(f"{cmd[0]} not found (needed to {what}); {INSTALL_HINT}")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        if "overflowed by" in msg or "will not fit in region" in msg:
            line = next(l for l in msg.splitlines() if "overflow" in l or "will not fit" in l)
            raise ChromaticError(f"the build does not fit the target's memory: {line.strip()}")
        raise ChromaticError(f"failed to {what}: {msg.splitlines()[0] if msg else proc.returncode}"
                             + (f" ... ({len(msg.splitlines())} lines)" if msg.count('\n') else ""))
    return proc.stdout


def selftest_vectors(blob: Blob, target: Target, n: int = SELFTEST_VECTORS, seed: int = 0):
    """Observations around the normalization, what the kernel must output, and the bound."""
    p = blob.policy
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, size=(n, p.layer_sizes[0]))
    obs = (p.normalization.mean + p.normalization.std * z).astype(np.float32)
    reference = forward(p, obs.astype(np.float64))
    if target.kernel == "fixed":
        from chromatic.targets.fixed_point import FixedModel, error_bound

        expected = FixedModel(blob).forward(obs)
        bound = error_bound(p, obs)
        return obs, expected, reference, 0.0, 0.0, bound
    scale = np.maximum(1.0, np.abs(reference))
    bound = float(FLOAT_RTOL * scale.max() + FLOAT_ATOL)
    return obs, reference, reference, FLOAT_RTOL, FLOAT_ATOL, bound


def check_fits(blob: Blob, data: bytes, target: Target, flash: int, ram: int) -> None:
    """Refuse a policy whose blob or working memory cannot fit before compiling anything."""
    sizes = Sizes.of(blob)
    if len(data) > flash:
        raise ChromaticError(f"blob is {len(data):,} bytes; target {target.name} has "
                             f"{flash:,} bytes of flash")
    ram_need = 4 * sizes.scratch_words(target)
    if target.kernel == "fixed":
        ram_need += 4 * (sizes.num_colors + sizes.num_biases + 2 * sizes.d0)
    if ram_need > ram:
        raise ChromaticError(f"policy needs {ram_need:,} bytes of RAM for activations and "
                             f"parameters; target {target.name} has {ram:,}")


def build(data: BlobSource, target: Target | str, out_dir: str | Path, kernel: str | None = None,
          prefix: str | None = None, flash_bytes: int | None = None,
          ram_bytes: int | None = None, dense: bool = False) -> BuildResult:
    """Write sources, lib<prefix>.a and selftest(.elf) for ``target`` into ``out_dir``.

    ``data`` is the blob's bytes or a blob file's path; ``target`` a Target or its name
    (targets/registry.py); ``kernel`` one of KERNELS (default ``loadable``); ``prefix`` the
    C symbols' prefix (default ``chromatic_policy``). ``flash_bytes``/``ram_bytes`` override
    the part's memory; ``dense`` also builds the dense float32 baseline. This is
    ``chromatic.build`` and ``chromatic build``; run the self-test with :func:`run_selftest`.
    """
    if isinstance(target, str):
        target = get_target(target)
    kernel = "loadable" if kernel is None else kernel
    prefix = DEFAULT_PREFIX if prefix is None else prefix
    if kernel not in KERNELS:
        raise ChromaticError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
    if kernel == "inline" and target.kernel == "fixed":
        raise ChromaticError(f"target {target.name} has no FPU: the inline kernel is float-only; "
                             "use --kernel loadable or unrolled (fixed point)")
    if kernel == "gather":
        from chromatic.targets.gather import supported

        if not supported(target.cflags):
            raise ChromaticError(f"the gather kernel is Thumb-2 + FPv4 assembly (cortex-m4f); "
                                 f"target {target.name} cannot run it: use --kernel inline, "
                                 "loadable or unrolled")
    if not prefix.isidentifier():
        raise ChromaticError(f"prefix {prefix!r} is not a C identifier")
    data, blob = load_blob(data)
    flash = target.flash_bytes if flash_bytes is None else flash_bytes
    ram = target.ram_bytes if ram_bytes is None else ram_bytes
    check_fits(blob, data, target, flash, ram)
    if not have_toolchain(target):
        raise ChromaticError(f"toolchain for {target.name} not found ({target.cc}"
                             f"{', qemu-system-arm' if target.firmware else ''}); {INSTALL_HINT}")
    if target.kernel == "fixed":
        from chromatic.targets.fixed_point import FixedModel

        FixedModel(blob)  # raises a clear error for unsupported structures or ranges
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sizes = Sizes.of(blob)

    # -- sources ------------------------------------------------------------------------
    kernel_srcs = ["chromatic.h", "chromatic.c", "chromatic_tanh.h"]
    for name in kernel_srcs:
        shutil.copyfile(C_DIR / name, out / name)
    kernel_c = ["chromatic.c"]
    if target.kernel == "fixed":
        for name in ("chromatic_fixed.h", "chromatic_fixed.c"):
            shutil.copyfile(FW_DIR / name, out / name)
        kernel_c.append("chromatic_fixed.c")
    (out / f"{prefix}.h").write_text(model_header(data, prefix, sizes))
    (out / f"{prefix}.c").write_text(model_source(data, prefix, sizes, target, kernel))
    obs, expected, reference, rtol, atol, bound = selftest_vectors(blob, target)
    (out / "selftest.c").write_text(selftest_source(
        data, prefix, obs, expected, reference, rtol, atol, bound, target.firmware))

    defines = [f"-DCHROMATIC_MAX_LAYERS={sizes.num_layers}u", "-DCHROMATIC_STACK_SCRATCH_FLOATS=0u",
               f"-DCHROMATIC_FX_BITS={sizes.index_bits}"]
    if target.name == "cortex-m4f":
        defines.append("-mfp16-format=ieee")
    cflags = [*target.cflags, *WARNINGS, *defines, "-fstack-usage", "-I", str(out)]

    def cc(src: str) -> Path:
        obj = out / (Path(src).stem + ".o")
        run([target.cc, *cflags, "-c", str(out / src), "-o", str(obj)], f"compile {src}")
        return obj

    kobjs = tuple(cc(s) for s in kernel_c)
    if kernel == "gather":
        kobjs += (assemble_gather(blob, target, out, prefix),)
    glue = cc(f"{prefix}.c")
    lib = out / f"lib{prefix}.a"
    lib.unlink(missing_ok=True)
    run([target.ar, "rcs", str(lib), *map(str, kobjs), str(glue)], "create the static library")
    if target.firmware:
        for name in ("startup.c", "semihost.h"):
            shutil.copyfile(FW_DIR / name, out / name)
    test_obj = cc("selftest.c")

    # -- link the self-test ---------------------------------------------------------------
    if target.firmware:
        ld = out / "firmware.ld"
        ld.write_text(linker_script((FW_DIR / "firmware.ld.in").read_text(), target, flash, ram))
        start_obj = cc("startup.c")
        exe = out / "selftest.elf"
        run([target.cc, *target.cflags, "-nostartfiles", "--specs=nano.specs", "-T", str(ld),
             "-Wl,--gc-sections", str(start_obj), str(test_obj), str(lib), "-lc", "-lgcc",
             "-o", str(exe)], "link selftest.elf")
    else:
        exe = out / "selftest"
        run([target.cc, *target.cflags, str(test_obj), str(lib), "-lm", "-o", str(exe)],
            "link the host self-test")
    if dense:
        build_dense(data, blob, target, out, prefix, cflags, flash, ram)
    return BuildResult(out, target, kernel, prefix, lib, exe, kobjs, glue,
                       tuple(sorted(out.glob("*.su"))))


def assemble_gather(blob: Blob, target: Target, out: Path, prefix: str) -> Path:
    """<prefix>_gather.o from the generated assembly, plus the .su line gcc cannot write for it
    (the frame is fixed by construction: GatherKernel.stack_bytes)."""
    from chromatic.targets.gather import gather_kernel

    k = gather_kernel(prefix, blob)
    src = out / f"{prefix}_gather.S"
    src.write_text(k.asm)
    (out / f"{prefix}_gather.su").write_text(f"{src.name}:1:1:{prefix}_infer\t{k.stack_bytes}\tstatic\n")
    obj = out / f"{prefix}_gather.o"
    run([target.cc, *target.cflags, "-c", str(src), "-o", str(obj)], f"assemble {src.name}")
    return obj


def build_dense(data: bytes, blob: Blob, target: Target, out: Path, prefix: str,
                cflags: list[str], flash: int, ram: int) -> Path:
    """dense.elf: the dense float32 baseline of the same policy, same flags, same harness."""
    for name in ("dense.h", "dense.c"):
        shutil.copyfile(C_DIR / name, out / name)
    dprefix = f"{prefix}_dense"
    (out / f"{dprefix}.c").write_text(dense_source(data, blob, dprefix))
    objs = []
    for src in ("dense.c", f"{dprefix}.c"):
        obj = out / (Path(src).stem + ".o")
        run([target.cc, *cflags, "-c", str(out / src), "-o", str(obj)], f"compile {src}")
        objs.append(str(obj))
    exe = out / "dense.elf"
    if target.firmware:
        run([target.cc, *target.cflags, "-nostartfiles", "--specs=nano.specs", "-T",
             str(out / "firmware.ld"), "-Wl,--gc-sections", "-Wl,--undefined=" + f"{dprefix}_infer",
             "-Wl,-e," + f"{dprefix}_infer", *objs, "-lc", "-lgcc", "-o", str(exe)],
            "link dense.elf")
    return exe


def run_selftest(result: BuildResult, timeout: float = 60.0) -> tuple[int, str]:
    """Run the self-test (QEMU for firmware): exit status and its output."""
    t = result.target
    if t.firmware:
        assert t.board is not None
        cmd = ["qemu-system-arm", "-M", t.board.qemu_machine, "-nographic", "-semihosting",
               "-monitor", "none", "-serial", "none", "-kernel", str(result.selftest)]
    else:
        cmd = [str(result.selftest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout:.0f} s"
    return proc.returncode, (proc.stdout + proc.stderr).strip()
