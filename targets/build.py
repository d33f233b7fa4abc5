"""`chromatic build`: the sources a user copies, plus a library and a self-test, for one target.

DIR/src/ holds exactly the files to drop into a firmware project (docs/targets.md): the API
header and glue, the kernel sources, `<prefix>_config.h` with every setting they read, and a
Makefile and a CMake fragment. They are compiled here with the target's flags alone
(Target.cflags; warnings and -fstack-usage do not change the code), so the sizes and counts
reported are what a user's build gives. DIR/build/ gets the objects, the stack-usage files
and lib<prefix>.a; DIR/selftest/ the self-test (startup, linker script, ELF).

The steps are plain subprocess calls to the target's gcc and ar; any failure becomes one
ChromaticError line. Memory limits are checked before compiling (blob vs flash, scratch vs
RAM), by the linker script, and after linking against the honest figures (flash of the
policy, static RAM + the deeper of init's and infer's stack bounds).

Everything is written into a new hidden folder beside DIR and moved into place only when every
step has succeeded, so a failed build leaves DIR as it was (absent, or the previous build). An
existing DIR is replaced only if it is empty or a previous build (see :func:`check_build_dir`);
anything else is refused before any work, so a user's own files are never deleted.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chromatic.compiler.blob import Blob
from chromatic.compiler.files import BlobSource, load_blob
from chromatic.compiler.sidecar import sidecar_path
from chromatic.errors import ChromaticError
from chromatic.runtime.reference import forward
from chromatic.targets.kernels import KERNELS, Rendered, get_kernel
from chromatic.targets.registry import Target, get_target
from chromatic.targets.render import (
    cmake_fragment,
    config_header,
    dense_source,
    header,
    kernel_copy,
    kernel_macros,
    kernel_symbols,
    linker_script,
    make_fragment,
    model_header,
    model_source,
    render_kernel,
    scratch_words,
    selftest_source,
)
from chromatic.targets.spec import KernelSpec, kernel_spec

HERE = Path(__file__).resolve().parent
C_DIR = HERE / "c"
FW_DIR = HERE / "firmware"
WARNINGS = ("-std=c99", "-Wall", "-Wextra", "-Wdouble-promotion", "-Wfloat-conversion", "-Werror")
#: Link flags of the reported sizes: unreferenced sections (strerror, batch inference) go.
LDFLAGS = ("-Wl,--gc-sections",)
FLOAT_RTOL = 1e-5
FLOAT_ATOL = 1e-6
SELFTEST_VECTORS = 8
INSTALL_HINT = "run scripts/install_firmware_toolchain.sh"
DEFAULT_PREFIX = "chromatic_policy"
SRC, OBJ, TEST = "src", "build", "selftest"
#: File stems the kernel, the harness and the baseline own: a prefix equal to one is refused.
#: The longest --prefix: its files (``<prefix>_chromatic_fixed.su``) and symbols stay short.
MAX_PREFIX = 64
#: The C library's headers (C11, and POSIX's most included): ``<prefix>.h`` must not hide one,
#: on any file system (compared in lower case).
C_HEADERS = frozenset("""assert complex ctype errno fenv float inttypes iso646 limits locale math
    setjmp signal stdalign stdarg stdatomic stdbool stddef stdint stdio stdlib stdnoreturn
    string tgmath threads time uchar wchar wctype unistd fcntl strings malloc memory""".split())
OWN_STEMS = ("chromatic", "chromatic_tanh", "chromatic_fixed", "chromatic_load", "selftest",
             "startup", "semihost", "dense", "firmware")


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote. ``sizes`` is the size report of a firmware build (None on host)."""

    out_dir: Path
    target: Target
    kernel: str
    prefix: str
    library: Path
    selftest: Path
    kernel_objects: tuple[Path, ...]
    glue_object: Path
    stack_files: tuple[Path, ...] = ()
    src_dir: Path | None = None
    sources: tuple[Path, ...] = ()
    kernel_reason: str = ""
    sizes: dict[str, int] | None = None
    hint: str | None = None  # pack_hint's, for a firmware build


def have_toolchain(target: Target) -> bool:
    """The cross-compiler (QEMU is needed only to run the self-test)."""
    return shutil.which(target.cc) is not None


def run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    if shutil.which(cmd[0]) is None:
        raise ChromaticError(f"{cmd[0]} not found (needed to {what}); {INSTALL_HINT}")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        if "overflowed by" in msg or "will not fit in region" in msg:
            line = next(l for l in msg.splitlines() if "overflow" in l or "will not fit" in l)
            raise ChromaticError(f"the build does not fit the target's memory: {line.strip()}")
        lines = msg.splitlines()
        first = next((l for l in lines if "error" in l.lower()), lines[0] if lines else proc.returncode)
        raise ChromaticError(f"failed to {what}: {first}"
                             + (f" ... ({len(lines)} lines)" if len(lines) > 1 else ""))
    return proc.stdout


def selftest_vectors(blob: Blob, target: Target, n: int = SELFTEST_VECTORS, seed: int = 0,
                     kernel: str | None = None):
    """Observations around the normalization, what the kernel must output, and the bound.

    On a fixed-point target the kernel must equal its numpy model exactly: FixedModel, or
    NarrowModel for a kernel in the narrow format (``kernel``'s Kernel.narrow); the bound is
    error_bound's for that format."""
    p = blob.policy
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, size=(n, p.layer_sizes[0]))
    obs = (p.normalization.mean + p.normalization.std * z).astype(np.float32)
    reference = forward(p, obs.astype(np.float64))
    if target.kernel == "fixed":
        from chromatic.targets.fixed_point import FixedModel, NarrowModel, error_bound

        if kernel is not None and get_kernel(kernel).narrow:
            model = NarrowModel(blob)
            expected, bound = model.forward(obs), error_bound(p, obs, model.layers)
        else:
            expected, bound = FixedModel(blob).forward(obs), error_bound(p, obs)
        return obs, expected, reference, 0.0, 0.0, bound
    scale = np.maximum(1.0, np.abs(reference))
    bound = float(FLOAT_RTOL * scale.max() + FLOAT_ATOL)
    return obs, reference, reference, FLOAT_RTOL, FLOAT_ATOL, bound


def check_fits(blob: Blob, data: bytes, target: Target, flash: int, ram: int) -> None:
    """Refuse a policy whose blob or working memory cannot fit before compiling anything."""
    from chromatic.targets.render import fixed_param_words

    spec = kernel_spec(blob)
    if len(data) > flash:
        raise ChromaticError(f"blob is {len(data):,} bytes; target {target.name} has "
                             f"{flash:,} bytes of flash")
    ram_need = 4 * scratch_words(spec, target)
    if target.kernel == "fixed":
        ram_need += 4 * fixed_param_words(spec)
    if ram_need > ram:
        raise ChromaticError(f"policy needs {ram_need:,} bytes of RAM for activations and "
                             f"parameters; target {target.name} has {ram:,}")


def check_kernel(kernel: str, blob: Blob, target: Target) -> None:
    """A one-line error unless ``kernel`` can run this policy on this target: the target has
    what the kernel requires (targets/kernels.py), its generator handles the policy, and a
    fixed-point target's formats hold its values."""
    k = get_kernel(kernel)
    k.check_target(target)
    k.check(kernel_spec(blob))
    if target.kernel == "fixed":
        from chromatic.targets.fixed_point import FixedModel

        FixedModel(blob)  # unsupported structures or ranges


def pack_hint(blob: Blob, kernel: str) -> str | None:
    """A one-line hint when ``kernel`` would run fewer instructions on this policy compiled
    with --pack rows (and what that costs in blob bytes), else None."""
    from chromatic.compiler.blob import layout

    if not get_kernel(kernel).row_aligned_faster or kernel_spec(blob).row_aligned:
        return None
    rows = layout(blob.policy.layer_sizes, blob.policy.num_colors, blob.index_bits, blob.dtype, "rows")
    extra = rows.total - blob.layout.total
    return (f"hint: `chromatic compile --pack rows` (+{extra} B of blob) lets the {kernel} kernel "
            "read its indices without shifts: fewer instructions (docs/targets.md)")


def default_kernel(blob: Blob, target: Target) -> tuple[str, str]:
    """(kernel, why): the first of the target's measured preference order that runs the policy."""
    skipped = []
    for k in target.kernels:
        try:
            check_kernel(k, blob, target)
        except ChromaticError as e:
            skipped.append(f"{k}: {e}")
            continue
        why = f"the default for {target.name} (preference {' > '.join(target.kernels)})"
        return k, why + ("; skipped " + "; ".join(skipped) if skipped else "")
    raise ChromaticError(f"no kernel of target {target.name} runs this policy: {'; '.join(skipped)}")


def source_names(prefix: str, target: Target, kernel: str) -> list[str]:
    """The files of src/ for this prefix, target and kernel."""
    names = [f"{prefix}.h", f"{prefix}.c", f"{prefix}_config.h", "chromatic.h",
             "chromatic_tanh.h", "chromatic_load.h", f"{prefix}_chromatic.c"]
    if target.kernel == "fixed":
        names += ["chromatic_fixed.h", f"{prefix}_chromatic_fixed.c"]
    names += [f"{prefix}_{s}" for s in get_kernel(kernel).sources]
    return names + [f"{prefix}.mk", f"{prefix}.cmake"]


def check_prefix(prefix: str, target: Target, kernel: str) -> None:
    """A prefix must be a C identifier whose files and symbols clash with none of the build's own."""
    if not (prefix.isidentifier() and prefix.isascii()):
        raise ChromaticError(f"prefix {prefix[:MAX_PREFIX]!r}{'...' if len(prefix) > MAX_PREFIX else ''} "
                             "is not a C identifier")
    if len(prefix) > MAX_PREFIX:
        raise ChromaticError(f"prefix {prefix[:20]}... is {len(prefix)} characters; at most {MAX_PREFIX}")
    if prefix.lower() in OWN_STEMS:
        raise ChromaticError(f"prefix {prefix!r} would overwrite the build's own {prefix.lower()}.* files; "
                             "choose another --prefix")
    if prefix.lower() in C_HEADERS:
        raise ChromaticError(f"prefix {prefix!r} would make {prefix}.h, which hides the C library's "
                             f"<{prefix.lower()}.h>; choose another --prefix")
    clash = next((s for s in kernel_symbols() if s.startswith(prefix + "_")), None)
    if clash:
        raise ChromaticError(f"prefix {prefix!r} clashes with the kernel's symbol {clash}; "
                             "choose another --prefix")
    upper = prefix.upper()
    clash = next((m for m in kernel_macros() if m == upper or m.startswith(upper + "_")), None)
    if clash:
        raise ChromaticError(f"prefix {prefix!r} clashes with the kernel's macro {clash} "
                             f"(the header's macros are {upper}_*); choose another --prefix")
    names = source_names(prefix, target, kernel)
    stems = [Path(n).stem for n in names if n.endswith((".c", ".S"))]
    stems += ["selftest", "startup", "dense", f"{prefix}_dense"]
    if len(set(names)) != len(names) or len(set(stems)) != len(stems):
        raise ChromaticError(f"prefix {prefix!r} clashes with a generated file name; "
                             "choose another --prefix")


def write_sources(data: bytes, blob: Blob, src: Path, prefix: str, target: Target,
                  kernel: str, spec: KernelSpec | None = None,
                  rendered: Rendered | None = None) -> list[Path]:
    """Write src/: every file headed with the policy's hash; returns the compiled ones."""
    spec = kernel_spec(blob) if spec is None else spec
    rendered = render_kernel(spec, prefix, target, kernel) if rendered is None else rendered
    src.mkdir(parents=True, exist_ok=True)
    copies = {"chromatic.h": C_DIR, "chromatic_tanh.h": C_DIR, "chromatic_load.h": C_DIR,
              "chromatic.c": C_DIR}
    if target.kernel == "fixed":
        copies |= {"chromatic_fixed.h": FW_DIR, "chromatic_fixed.c": FW_DIR}
    for name, d in copies.items():
        dest = f"{prefix}_{name}" if name.endswith(".c") else name  # one object per policy
        (src / dest).write_text(kernel_copy(data, name, (d / name).read_text(), prefix))
    (src / f"{prefix}_config.h").write_text(config_header(data, prefix, spec, target, kernel))
    (src / f"{prefix}.h").write_text(model_header(data, prefix, spec))
    (src / f"{prefix}.c").write_text(model_source(data, prefix, spec, target, kernel, rendered))
    for name, text in rendered.files.items():
        (src / name).write_text(header(data, name) + text)
    compiled = [n for n in source_names(prefix, target, kernel) if n.endswith((".c", ".S"))]
    (src / f"{prefix}.mk").write_text(make_fragment(data, prefix, target, compiled))
    (src / f"{prefix}.cmake").write_text(cmake_fragment(data, prefix, target, compiled))
    return [src / n for n in compiled]


#: What a build writes at DIR's top level.
BUILD_DIRS = (SRC, OBJ, TEST)


def _is_generated(path: Path) -> bool:
    """A file of src/ that a build wrote: it carries the banner near its top."""
    try:
        with path.open("rb") as f:
            return b"generated from policy " in f.read(400)
    except OSError:
        return False


def check_build_dir(out: Path, keep: tuple[str | os.PathLike[str], ...] = ()) -> None:
    """Refuse, with one line, an output folder that `build` must not replace.

    Accepted: a missing or empty folder, or a previous build: nothing at its top level but
    src/, build/ and selftest/, and a src/ that holds only generated files (each carries the
    banner). Such a folder is replaced whole (build/ and selftest/ are the build's own), so a
    file a user added to src/, or a folder of theirs that merely has a build/, is never lost.
    Refused too: a folder that holds (after resolving symbolic links) any file of ``keep``,
    the build's inputs (the blob and its sidecar), which replacing it would delete."""
    if not out.exists() and not out.is_symlink():
        return
    real = Path(os.path.realpath(out))
    for f in keep:
        if real in Path(os.path.realpath(f)).parents:
            raise ChromaticError(f"{f}: is inside the build folder {out}, which build replaces; "
                                 "move it out or choose another -o")
    if not out.is_dir():
        raise ChromaticError(f"build folder {out} exists and is not a folder")
    entries = {e.name: e for e in out.iterdir()}
    if not entries:
        return
    foreign = sorted(n for n, e in entries.items() if n not in BUILD_DIRS or not e.is_dir()
                     or e.is_symlink())
    src = out / SRC
    if not foreign and src.is_dir():
        foreign = sorted(f"{SRC}/{e.name}" for e in src.iterdir()
                         if not (e.is_file() and not e.is_symlink() and _is_generated(e)))
        if not foreign:
            return
    what = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
    raise ChromaticError(f"build folder {out} is not empty and not a previous chromatic build "
                         f"({what or 'no src/'}); choose another -o or empty it")


def _inputs(source: BlobSource) -> tuple[str | os.PathLike[str], ...]:
    """The files a build reads and must not delete: a blob path and its sidecar."""
    if not isinstance(source, str | os.PathLike):
        return ()
    return (source, sidecar_path(source))


def _new_beside(out: Path, what: str) -> Path:
    """A new hidden folder beside ``out`` (mode 0o777 less the umask, as any folder the user
    makes), for the build to fill before it moves into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        d = out.parent / f".{out.name}.{secrets.token_hex(4)}.{what}"
        try:
            d.mkdir(0o777)
            return d
        except FileExistsError:
            continue
    raise ChromaticError(f"no free temporary folder name beside {out}")


def _install(tmp: Path, out: Path, keep: tuple[str | os.PathLike[str], ...]) -> None:
    """Move the finished build ``tmp`` to ``out``, replacing a previous build there.

    Two renames in the same folder: DIR is briefly absent between them, and if the process
    dies there the previous build is left beside it as ``.DIR.*.old``."""
    check_build_dir(out, keep)  # again: something may have appeared while compiling
    if not out.exists():
        os.rename(tmp, out)
        return
    old = _new_beside(out, "old")
    os.rmdir(old)
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def build(data: BlobSource, target: Target | str, out_dir: str | Path, kernel: str | None = None,
          prefix: str | None = None, flash_bytes: int | None = None,
          ram_bytes: int | None = None, dense: bool = False) -> BuildResult:
    """Write src/, build/ (objects, lib<prefix>.a) and selftest/ for ``target`` into ``out_dir``.

    ``data`` is the blob's bytes or a blob file's path; ``target`` a Target or its name
    (targets/registry.py); ``kernel`` one of KERNELS (default: the target's, see
    :func:`default_kernel`); ``prefix`` the C symbols' prefix (default ``chromatic_policy``).
    ``flash_bytes``/``ram_bytes`` override the part's memory; ``dense`` also builds the dense
    float32 baseline. This is ``chromatic.build`` and ``chromatic build``; run the self-test
    with :func:`run_selftest`. ``out_dir`` is written only on success, and only if it is
    missing, empty or a previous build (:func:`check_build_dir`); on any error it is left as
    it was.
    """
    if isinstance(target, str):
        target = get_target(target)
    prefix = DEFAULT_PREFIX if prefix is None else prefix
    if kernel is not None and kernel not in KERNELS:
        raise ChromaticError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
    source, (data, blob) = data, load_blob(data)
    if kernel is None:
        kernel, reason = default_kernel(blob, target)
    else:
        check_kernel(kernel, blob, target)
        reason = "asked for"
    check_prefix(prefix, target, kernel)
    flash = target.flash_bytes if flash_bytes is None else flash_bytes
    ram = target.ram_bytes if ram_bytes is None else ram_bytes
    check_fits(blob, data, target, flash, ram)
    out = Path(out_dir)
    if out.is_symlink():  # build where the link points, and keep the link
        out = out.resolve()
    keep = _inputs(source)
    check_build_dir(out, keep)
    if not have_toolchain(target):
        raise ChromaticError(f"toolchain for {target.name} not found ({target.cc}); {INSTALL_HINT}")
    tmp = _new_beside(out, "tmp")
    try:
        r = _build_into(tmp, data, blob, target, kernel, reason, prefix, flash, ram, dense)
        _install(tmp, out, keep)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    def moved(p: Path) -> Path:
        return out / p.relative_to(tmp)

    return BuildResult(out, r.target, r.kernel, r.prefix, moved(r.library), moved(r.selftest),
                       tuple(map(moved, r.kernel_objects)), moved(r.glue_object),
                       tuple(map(moved, r.stack_files)), out / SRC,
                       tuple(map(moved, r.sources)), r.kernel_reason, r.sizes, r.hint)


def _build_into(out: Path, data: bytes, blob: Blob, target: Target, kernel: str, reason: str,
                prefix: str, flash: int, ram: int, dense: bool) -> BuildResult:
    """The build's steps, in a fresh folder ``out`` (see :func:`build`)."""
    src, obj_dir, test_dir = out / SRC, out / OBJ, out / TEST
    for d in (src, obj_dir, test_dir):
        d.mkdir(parents=True, exist_ok=True)

    # -- src/, compiled with the target's flags alone -------------------------------------
    spec = kernel_spec(blob)
    rendered = render_kernel(spec, prefix, target, kernel)
    sources = write_sources(data, blob, src, prefix, target, kernel, spec, rendered)
    cflags = [*target.cflags, *WARNINGS, "-fstack-usage"]

    def cc(path: Path, *extra: str) -> Path:
        o = obj_dir / (path.stem + ".o")
        flags = cflags if path.suffix == ".c" else list(target.cflags)
        run([target.cc, *flags, *extra, "-c", str(path), "-o", str(o)], f"compile {path.name}")
        return o

    objs = {p.name: cc(p) for p in sources}
    for name, fn, frame in rendered.frames:  # assembly: the frame is fixed by construction
        (obj_dir / f"{Path(name).stem}.su").write_text(f"{name}:1:1:{fn}\t{frame}\tstatic\n")
    glue = objs[f"{prefix}.c"]
    kobjs = tuple(o for n, o in objs.items() if n != f"{prefix}.c")
    lib = obj_dir / f"lib{prefix}.a"
    lib.unlink(missing_ok=True)
    run([target.ar, "rcs", str(lib), *map(str, objs.values())], "create the static library")

    # -- selftest/: embedded vectors, startup, linker script --------------------------------
    obs, expected, reference, rtol, atol, bound = selftest_vectors(blob, target, kernel=kernel)
    (test_dir / "selftest.c").write_text(selftest_source(
        data, prefix, obs, expected, reference, rtol, atol, bound, target.firmware))
    inc = ("-I", str(src))
    if target.firmware:
        for name in ("startup.c", "semihost.h"):
            shutil.copyfile(FW_DIR / name, test_dir / name)
    test_obj = cc(test_dir / "selftest.c", *inc)
    if target.firmware:
        ld = test_dir / "firmware.ld"
        ld.write_text(linker_script((FW_DIR / "firmware.ld.in").read_text(), target, flash, ram))
        start_obj = cc(test_dir / "startup.c")
        exe = test_dir / "selftest.elf"
        run([target.cc, *target.cflags, "-nostartfiles", "--specs=nano.specs", "-T", str(ld),
             *LDFLAGS, str(start_obj), str(test_obj), str(lib), "-lc", "-lgcc",
             "-o", str(exe)], "link selftest.elf")
    else:
        exe = test_dir / "selftest"
        run([target.cc, *target.cflags, str(test_obj), str(lib), "-lm", "-o", str(exe)],
            "link the host self-test")
    if dense:
        build_dense(data, blob, target, test_dir, obj_dir, prefix, cflags)
    stack_files = tuple(sorted(obj_dir.glob(f"{prefix}*.su")))
    sizes = None
    if target.firmware:
        from chromatic.targets.footprint import elf_footprint, object_symbols

        ours: set[str] = set()
        for o in objs.values():
            ours |= object_symbols(o)
        sizes = elf_footprint(exe, prefix, ours, stack_files)
        if sizes["flash_bytes"] > flash:
            raise ChromaticError(f"policy needs {sizes['flash_bytes']:,} bytes of flash; target "
                                 f"{target.name} has {flash:,}")
        if sizes["ram_bytes"] > ram:
            raise ChromaticError(
                f"policy needs {sizes['ram_bytes']:,} bytes of RAM (static "
                f"{sizes['ram_static_bytes']:,} + stack {sizes['ram_stack_bytes']:,}, the deeper "
                f"of init's and infer's); target {target.name} has {ram:,}")
    return BuildResult(out, target, kernel, prefix, lib, exe, kobjs, glue, stack_files, src,
                       tuple(sources), reason, sizes, pack_hint(blob, kernel) if target.firmware else None)


def build_dense(data: bytes, blob: Blob, target: Target, test_dir: Path, obj_dir: Path,
                prefix: str, cflags: list[str]) -> Path:
    """dense.elf: the dense float32 baseline of the same policy, same flags, same harness."""
    for name in ("dense.h", "dense.c", "chromatic.h", "chromatic_tanh.h"):
        shutil.copyfile(C_DIR / name, test_dir / name)
    dprefix = f"{prefix}_dense"
    (test_dir / f"{dprefix}.c").write_text(dense_source(data, blob, dprefix))
    objs = []
    for name in ("dense.c", f"{dprefix}.c"):
        o = obj_dir / (Path(name).stem + ".o")
        run([target.cc, *cflags, "-c", str(test_dir / name), "-o", str(o)], f"compile {name}")
        objs.append(str(o))
    exe = test_dir / "dense.elf"
    if target.firmware:
        run([target.cc, *target.cflags, "-nostartfiles", "--specs=nano.specs", "-T",
             str(test_dir / "firmware.ld"), *LDFLAGS, "-Wl,--undefined=" + f"{dprefix}_infer",
             "-Wl,-e," + f"{dprefix}_infer", *objs, "-lc", "-lgcc", "-o", str(exe)],
            "link dense.elf")
    return exe


def size_lines(r: BuildResult) -> list[str]:
    """The size report `build` prints (the figures `measure` reports, without the counts)."""
    s = r.sizes
    if s is None:
        return []
    return [f"flash {s['flash_bytes']:,} B = kernel {s['flash_kernel_bytes']:,} + validate "
            f"{s['flash_validate_bytes']:,} + blob {s['flash_blob_bytes']:,} + library "
            f"{s['flash_library_bytes']:,}",
            f"RAM   {s['ram_bytes']:,} B = static {s['ram_static_bytes']:,} + stack "
            f"{s['ram_stack_bytes']:,} (bound; init {s['ram_init_stack_bytes']:,}, infer "
            f"{s['ram_infer_stack_bytes']:,})"]


def run_selftest(result: BuildResult, timeout: float = 60.0) -> tuple[int, str]:
    """Run the self-test (QEMU for firmware): exit status and its output."""
    t = result.target
    if t.firmware:
        assert t.board is not None
        if shutil.which("qemu-system-arm") is None:
            raise ChromaticError(f"qemu-system-arm not found (needed to run the self-test); "
                                 f"{INSTALL_HINT}")
        cmd = ["qemu-system-arm", "-M", t.board.qemu_machine, "-nographic", "-semihosting",
               "-monitor", "none", "-serial", "none", "-kernel", str(result.selftest)]
    else:
        cmd = [str(result.selftest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout:.0f} s"
    return proc.returncode, (proc.stdout + proc.stderr).strip()
