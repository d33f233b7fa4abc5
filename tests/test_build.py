"""`chromatic build` as a user meets it: the src/ folder, figures that hold in the user's own
build, two policies in one firmware (C++ main), prefixes, the default kernel, no QEMU needed."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from chromatic.runtime.reference import forward
from chromatic.targets.registry import get_target

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mps2-an386"


def _require(*tools: str) -> None:
    if all(shutil.which(t) for t in tools):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {', '.join(tools)} is missing (scripts/install_firmware_toolchain.sh)")
    pytest.skip(f"{', '.join(tools)} not installed")


@pytest.fixture(scope="module")
def blob_f16() -> bytes:
    return compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")


# -- pure Python --------------------------------------------------------------------------
@pytest.mark.parametrize("prefix,why", [("chromatic", "own"), ("startup", "own"),
                                        ("selftest", "own"), ("dense", "own"),
                                        ("chromatic_fx", "symbol"), ("chromatic_infer", "symbol"),
                                        ("my-policy", "identifier"), ("CHROMATIC", "own"),
                                        ("Startup", "own"), ("stdint", "header"),
                                        ("STDIO", "header"), ("stddef", "header"),
                                        ("chromatic_max", "macro"), ("a" * 65, "long")])
def test_prefixes_that_clash_are_refused(tmp_path, blob_f16, prefix, why):
    """Refused up front in one line: a prefix whose files would overwrite the build's own or
    hide a C library header (in any case: case-insensitive file systems), whose symbols or
    upper-case macros (include guards) would reach the kernel's, or too long for a file name."""
    from chromatic.targets.build import build

    with pytest.raises(ChromaticError, match={"own": "overwrite", "symbol": "clashes",
                                              "identifier": "C identifier", "header": "hides",
                                              "macro": "kernel's macro", "long": "at most 64"}[why]):
        build(blob_f16, "cortex-m4f", tmp_path, prefix=prefix)
    assert not (tmp_path / "src").exists()  # refused before anything is written


def test_the_default_and_the_longest_prefix_are_accepted():
    from chromatic.targets.build import DEFAULT_PREFIX, MAX_PREFIX, check_prefix

    for prefix in (DEFAULT_PREFIX, "p" * MAX_PREFIX, "walk"):
        check_prefix(prefix, get_target("cortex-m3"), "smlal")


def test_a_failed_compile_shows_its_error_line():
    """The one-line message quotes the compiler's error, not its first line (often a note)."""
    from chromatic.targets.build import run

    script = "echo 'p.c: In function f:' >&2; echo 'p.c:3:9: error: unused x' >&2; exit 1"
    want = r"failed to compile p\.c: p\.c:3:9: error: unused x \.\.\. \(2 lines\)"
    with pytest.raises(ChromaticError, match=want):
        run(["sh", "-c", script], "compile p.c")


def test_default_kernel_per_target_and_policy():
    from chromatic.targets.build import default_kernel

    blob = decode(compile_policy(random_policy((17, 41, 6), 17, seed=1)))
    assert default_kernel(blob, get_target("cortex-m4f"))[0] == "gather"
    assert default_kernel(blob, get_target("cortex-m3"))[0] == "smlal"
    assert default_kernel(blob, get_target("cortex-m0plus"))[0] == "muls"
    relu = decode(compile_policy(random_policy((17, 41, 6), 17, seed=3, hidden_activation=Activation.RELU)))
    kernel, why = default_kernel(relu, get_target("cortex-m0plus"))  # too wide for the narrow format
    assert kernel == "packed" and "skipped muls" in why
    one = decode(compile_policy(random_policy((5, 3), 1, seed=0)))  # M = 1: no dictionary
    kernel, why = default_kernel(one, get_target("cortex-m4f"))
    assert kernel == "loadable" and "skipped gather" in why


# -- toolchain-bound ----------------------------------------------------------------------
@pytest.mark.firmware
@pytest.mark.parametrize("target,kernel", [("cortex-m4f", None), ("cortex-m3", None)])
def test_src_holds_exactly_the_files_to_copy(tmp_path, blob_f16, target, kernel):
    _require("arm-none-eabi-gcc")
    from chromatic.targets.build import build, source_names

    r = build(blob_f16, target, tmp_path, kernel=kernel)
    names = sorted(p.name for p in (tmp_path / "src").iterdir())
    assert names == sorted(source_names(r.prefix, r.target, r.kernel))
    assert not list((tmp_path / "src").glob("*.o")) and not list((tmp_path / "src").glob("*.su"))
    cfg = (tmp_path / "src" / f"{r.prefix}_config.h").read_text()
    assert "#define CHROMATIC_MAX_LAYERS 2u" in cfg
    assert "#define CHROMATIC_STACK_SCRATCH_FLOATS 0u" in cfg
    for p in (tmp_path / "src").iterdir():
        text = p.read_text()
        head = "\n".join(text.splitlines()[:3])  # "headed": where a reader (and check_build_dir) looks
        assert re.search(r"generated from policy [0-9a-f]{16} by chromatic \S+ \u2014 do not edit",
                         head), p.name
        # a header declaring functions with external linkage can be included from C++
        if p.suffix == ".h" and re.search(r"^(?!static)\w[\w \*]*\b\w+\([^;]*\);", text, re.M):
            assert 'extern "C"' in text, p.name
    # every external symbol of the objects carries the prefix: policies link side by side
    nm = subprocess.run(["arm-none-eabi-nm", "-g", "--defined-only", str(r.library)],
                        capture_output=True, text=True, check=True).stdout
    syms = [line.split()[-1] for line in nm.splitlines() if len(line.split()) == 3]
    assert syms and all(s.startswith(r.prefix + "_") for s in syms), syms


@pytest.mark.firmware
def test_build_needs_no_qemu(tmp_path, blob_f16, monkeypatch):
    _require("arm-none-eabi-gcc")
    import chromatic.targets.build as tb

    real = shutil.which
    monkeypatch.setattr(tb.shutil, "which", lambda t: None if "qemu" in t else real(t))
    r = tb.build(blob_f16, "cortex-m4f", tmp_path)
    assert r.selftest.is_file() and r.sizes and r.sizes["ram_bytes"] > 0
    with pytest.raises(ChromaticError, match="qemu-system-arm not found"):
        tb.run_selftest(r)


@pytest.mark.firmware
def test_ram_limit_counts_the_stack_of_init(tmp_path, blob_f16):
    """--ram-kib uses the honest peak: a part whose RAM holds the statics but not init's
    stack is refused at build time (it used to build and then hard-fault)."""
    _require("arm-none-eabi-gcc")
    from chromatic.targets.build import build

    # the loadable kernel, whose init (chromatic_init) has the deeper stack
    r = build(blob_f16, "cortex-m0plus", tmp_path / "ok", kernel="loadable")
    s = r.sizes
    assert s is not None and s["ram_bytes"] == s["ram_static_bytes"] + max(
        s["ram_init_stack_bytes"], s["ram_infer_stack_bytes"])
    assert s["ram_init_stack_bytes"] > s["ram_infer_stack_bytes"]
    with pytest.raises(ChromaticError, match="RAM .*init"):
        build(blob_f16, "cortex-m0plus", tmp_path / "small", ram_bytes=s["ram_bytes"] - 4,
              kernel="loadable")



def _tree(d: Path) -> dict[str, bytes]:
    return {str(f.relative_to(d)): f.read_bytes() for f in sorted(d.rglob("*")) if f.is_file()}


@pytest.mark.firmware
def test_a_failed_build_leaves_the_folder_as_it_was(tmp_path, blob_f16):
    """A build that fails after compiling (here the RAM check after linking) writes nothing:
    a new DIR does not appear, a previous build stays byte for byte, no temp folder is left;
    a successful re-build with another prefix replaces the old prefix's files."""
    _require("arm-none-eabi-gcc")
    from chromatic.targets.build import build, source_names

    out = tmp_path / "out"
    s = build(blob_f16, "cortex-m4f", out, prefix="walk").sizes
    assert s is not None
    before = _tree(out)
    too_small = s["ram_bytes"] - 4
    with pytest.raises(ChromaticError, match="RAM"):
        build(blob_f16, "cortex-m4f", out, prefix="run", ram_bytes=too_small)
    assert _tree(out) == before
    with pytest.raises(ChromaticError, match="RAM"):
        build(blob_f16, "cortex-m4f", tmp_path / "new", ram_bytes=too_small)
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .out.*.tmp left

    r = build(blob_f16, "cortex-m4f", out, prefix="run")
    assert sorted(p.name for p in (out / "src").iterdir()) == sorted(
        source_names("run", get_target("cortex-m4f"), r.kernel))
    assert not any(p.name.startswith("walk") for p in out.rglob("*"))
    assert r.selftest.is_file() and r.library.is_file() and r.src_dir == out / "src"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("layout", ["user file", "user file in src", "only build/"])
def test_build_refuses_a_folder_that_is_not_a_previous_build(tmp_path, blob_f16, layout):
    """A non-empty DIR that is not a previous build is refused before any work and untouched."""
    from chromatic.targets.build import build

    out = tmp_path / "proj"
    {"user file": out, "user file in src": out / "src", "only build/": out / "build"}[
        layout].mkdir(parents=True)
    mine = {"user file": out / "main.c", "user file in src": out / "src" / "main.c",
            "only build/": out / "build" / "app.o"}[layout]
    mine.write_text("int main(void) { return 0; }\n")
    with pytest.raises(ChromaticError, match="not a previous chromatic build"):
        build(blob_f16, "cortex-m4f", out)
    assert [str(p.relative_to(out)) for p in sorted(out.rglob("*")) if p.is_file()] == [
        str(mine.relative_to(out))]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


@pytest.mark.parametrize("where", ["selftest", "build", "via a link"])
def test_build_refuses_a_folder_that_holds_its_input(tmp_path, blob_f16, where):
    """A blob (or its sidecar) inside the previous build that would replace it is refused:
    replacing DIR would delete the user's input. Nothing is touched."""
    from chromatic.targets.build import build

    out = tmp_path / "ob"
    (out / "src").mkdir(parents=True)  # an (empty) previous build
    (out / ("build" if where == "build" else "selftest")).mkdir()
    blob = out / ("build" if where == "build" else "selftest") / "in.cblob"
    blob.write_bytes(blob_f16)
    Path(f"{blob}.json").write_text("{}")
    before = _tree(out)
    target = out
    if where == "via a link":
        target = tmp_path / "link"
        target.symlink_to(out)
    with pytest.raises(ChromaticError, match="inside the build folder"):
        build(blob, "cortex-m4f", target)
    assert _tree(out) == before


def _example_build(src: Path, out: Path, prefix: str = "chromatic_policy", tool: str = "make") -> Path:
    """examples/mps2-an386 built from ``src`` with its Makefile or its CMakeLists.txt."""
    if tool == "make":
        cmds = [["make", "-s", "-C", str(EXAMPLE), f"CHROMATIC_SRC={src}", f"BUILD={out}",
                 f"PREFIX={prefix}"]]
    else:
        cmds = [["cmake", "-S", str(EXAMPLE), "-B", str(out), f"-DCHROMATIC_SRC={src}",
                 f"-DPREFIX={prefix}"], ["cmake", "--build", str(out)]]
    for cmd in cmds:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / "app.elf"


def _sizes(elf: Path) -> list[str]:
    """text, data and bss of an ELF (binutils' size)."""
    out = subprocess.run(["arm-none-eabi-size", str(elf)], check=True, capture_output=True, text=True)
    return out.stdout.splitlines()[1].split()[:3]


@pytest.mark.firmware
@pytest.mark.parametrize("kernel", ["gather", "inline", "loadable"])
def test_figures_hold_in_the_users_own_build(tmp_path, blob_f16, kernel):
    """examples/mps2-an386 compiles src/ with the fragment's flags, its own main, startup and
    linker script: the policy's flash and static RAM in that image, and the instructions of
    one inference, are what build/measure report."""
    _require("arm-none-eabi-gcc", "make")
    from chromatic.targets.build import build, selftest_vectors
    from chromatic.targets.emulate import run_policy
    from chromatic.targets.footprint import elf_footprint, object_symbols

    t = get_target("cortex-m4f")
    r = build(blob_f16, t, tmp_path / "out", kernel=kernel)
    elf = _example_build(tmp_path / "out" / "src", tmp_path / "app")
    ours: set[str] = set()
    for o in (tmp_path / "app").glob(f"{r.prefix}*.o"):
        ours |= object_symbols(o)
    user = elf_footprint(elf, r.prefix, ours, ())
    assert r.sizes is not None
    for k in ("flash_kernel_bytes", "flash_validate_bytes", "flash_blob_bytes",
              "ram_static_bytes"):
        assert abs(user[k] - r.sizes[k]) <= 0.03 * r.sizes[k], (k, user[k], r.sizes[k])
    obs = selftest_vectors(decode(blob_f16), t, n=1)[0][0]
    ours_run = run_policy(r.selftest, t.cpu, r.prefix, list(map(float, obs)), 6)
    user_run = run_policy(elf, t.cpu, r.prefix, list(map(float, obs)), 6)
    assert abs(user_run.instructions - ours_run.instructions) <= 0.03 * ours_run.instructions
    assert user_run.outputs == ours_run.outputs


@pytest.mark.firmware
@pytest.mark.parametrize("tool,prefix", [("make", "chromatic_policy"), ("make", "walk"),
                                         ("cmake", "chromatic_policy"), ("cmake", "walk")])
def test_example_control_loop_runs_in_qemu(tmp_path, blob_f16, tool, prefix):
    """The example firmware, built with its Makefile or CMakeLists.txt from the policy's own
    fragment (any --prefix), runs in QEMU and writes the reference's actions; CMake and Make
    give the same image sizes."""
    _require("arm-none-eabi-gcc", "make", "qemu-system-arm", tool)
    from chromatic.targets.build import build

    build(blob_f16, "cortex-m4f", tmp_path / "out", prefix=prefix)
    elf = _example_build(tmp_path / "out" / "src", tmp_path / "app", prefix, tool)
    if tool == "cmake":
        assert _sizes(elf) == _sizes(_example_build(tmp_path / "out" / "src", tmp_path / "mk", prefix))
    proc = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-semihosting",
                           "-monitor", "none", "-serial", "none", "-kernel", str(elf)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = (proc.stdout + proc.stderr).split()
    steps = [lines[i:i + 7] for i in range(0, len(lines), 7)]
    assert len(steps) == 16
    p = decode(blob_f16).policy
    for t, row in enumerate(steps):
        assert int(row[0], 16) == t
        obs = np.array([(((t * 7 + j * 3) % 11) - 5) * 0.25 for j in range(17)])
        act = np.array([struct.unpack("<f", struct.pack("<I", int(h, 16)))[0] for h in row[1:]])
        np.testing.assert_allclose(act, forward(p, obs[None])[0], rtol=1e-5, atol=1e-6)


@pytest.mark.firmware
def test_example_rebuilds_when_the_policy_changes(tmp_path, blob_f16):
    """One BUILD folder, two policies with the same (default) prefix, hence the same file
    names: the second build must not link the first one's objects, whatever their dates."""
    _require("arm-none-eabi-gcc", "make")
    from chromatic.targets.build import build

    other = compile_policy(random_policy((5, 9, 3), 5, seed=4), dtype="f16")
    build(blob_f16, "cortex-m4f", tmp_path / "a")
    build(other, "cortex-m4f", tmp_path / "b")
    first = _sizes(_example_build(tmp_path / "a" / "src", tmp_path / "shared"))
    again = _sizes(_example_build(tmp_path / "b" / "src", tmp_path / "shared"))
    assert again != first
    assert again == _sizes(_example_build(tmp_path / "b" / "src", tmp_path / "fresh"))


def test_make_fragment_leaves_the_including_makefile_s_variables_alone(tmp_path, blob_f16):
    """A prefix such as `src` or `build` must not take over the user's SRC_DIR/BUILD_DIR, and a
    user variable set after the include must not change the fragment's lists."""
    _require("make")
    from chromatic.targets.build import write_sources

    blob = decode(blob_f16)
    for prefix in ("src", "build"):
        write_sources(blob_f16, blob, tmp_path / prefix, prefix, get_target("cortex-m4f"), "gather")
    mk = tmp_path / "Makefile"
    mk.write_text("SRC_DIR := mine\ninclude src/src.mk\ninclude build/build.mk\nBUILD_DIR := objs\n"
                  "all:\n\t@echo $(SRC_DIR) $(BUILD_DIR)\n\t@echo $(CHROMATIC_SOURCES)\n"
                  "\t@echo $(CHROMATIC_INCLUDES)\n")
    out = subprocess.run(["make", "-s", "-C", str(tmp_path)], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "mine objs"
    assert out[1].split() == ["src/src.c", "src/src_chromatic.c", "src/src_gather.S", "build/build.c",
                              "build/build_chromatic.c", "build/build_gather.S"]
    assert out[2].split() == ["-Isrc/", "-Ibuild/"]


@pytest.mark.firmware
@pytest.mark.parametrize("kernels,cxx_flags", [(("loadable", "loadable"), ("-fno-exceptions", "-fno-rtti")),
                                               (("gather", "inline"), ("-fno-exceptions", "-fno-rtti")),
                                               (("gather", "inline"), ())])
def test_two_policies_link_into_one_cplusplus_firmware(tmp_path, kernels, cxx_flags):
    """Two policies with different layer counts and kernels: compile both src/ folders and a
    C++ main into one image (the issue's collision: one chromatic.o per library, different
    layer limits), then run both in the emulator against the numpy reference. A C++ main
    with exceptions on links too (the linker script defines the unwind table's bounds)."""
    _require("arm-none-eabi-gcc", "arm-none-eabi-g++")
    from chromatic.targets.build import FW_DIR, build
    from chromatic.targets.emulate import run_policy

    t = get_target("cortex-m4f")
    blobs = {"walk": compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16"),
             "balance": compile_policy(random_policy((5, 9, 7, 3), 5, seed=4), dtype="f32")}
    objs = []
    for (prefix, data), kernel in zip(blobs.items(), kernels, strict=True):
        r = build(data, t, tmp_path / prefix, kernel=kernel, prefix=prefix)
        for src in r.sources:
            o = tmp_path / "app" / (src.name + ".o")
            o.parent.mkdir(exist_ok=True)
            subprocess.run([t.cc, *t.cflags, "-c", str(src), "-o", str(o)], check=True)
            objs.append(str(o))
    main = tmp_path / "main.cpp"
    main.write_text('#include "walk.h"\n#include "balance.h"\n'
                    "static float o[WALK_OBS_DIM + BALANCE_OBS_DIM], a[WALK_ACT_DIM + BALANCE_ACT_DIM];\n"
                    "int main() { return walk_init() | balance_init() | walk_infer(o, a) |\n"
                    "                    balance_infer(o, a); }\n")
    gxx = "arm-none-eabi-g++"
    subprocess.run([gxx, *t.cflags, *cxx_flags, "-I", str(tmp_path / "walk" / "src"),
                    "-I", str(tmp_path / "balance" / "src"), "-c", str(main), "-o",
                    str(tmp_path / "main.o")], check=True)
    subprocess.run([t.cc, *t.cflags, "-c", str(FW_DIR / "startup.c"), "-o",
                    str(tmp_path / "startup.o")], check=True)
    elf = tmp_path / "app.elf"
    ld = tmp_path / "walk" / "selftest" / "firmware.ld"
    # linked by gcc: a C++ main that uses no C++ runtime needs no libstdc++
    subprocess.run([t.cc, *t.cflags, "-nostartfiles", "--specs=nano.specs", "-T", str(ld),
                    "-Wl,--gc-sections", str(tmp_path / "startup.o"), str(tmp_path / "main.o"),
                    *objs, "-lc", "-lgcc", "-o", str(elf)], check=True)
    for prefix, data in blobs.items():
        p = decode(data).policy
        obs = p.normalization.mean + p.normalization.std * np.linspace(-1, 1, p.layer_sizes[0])
        run = run_policy(elf, t.cpu, prefix, [float(v) for v in np.float32(obs)], p.layer_sizes[-1])
        np.testing.assert_allclose(run.outputs, forward(p, np.float32(obs)[None].astype(np.float64))[0],
                                   rtol=1e-5, atol=1e-6)
