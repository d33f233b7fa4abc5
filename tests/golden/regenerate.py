"""Regenerate the golden files: the tiny blobs (a deliberate format change only) and the code
generated from them (a deliberate change of a template or a generator).

    python -m tests.golden.regenerate            # both: the blobs, then the code from them
    python -m tests.golden.regenerate --code     # only tests/golden/generated/
    python -m tests.golden.regenerate --blobs    # only the .cblob files

tests/test_codegen_golden.py renders the same files (:func:`generated`) and compares them
byte for byte with tests/golden/generated/.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

here = Path(__file__).parent
GENERATED = here / "generated"
BLOBS = ("small_3_4_2_m5_f32", "small_3_4_2_m5_f16", "small_9_4_2_m5_f16_rows")
PREFIX = "tiny"
VERSION = "<version>"  # the banner's chromatic version, so that a release changes no golden file


def regenerate_blobs() -> None:
    from chromatic.compiler.compile import compile_policy
    from tests.test_blob import golden_policy, golden_rows_policy

    for dtype in ("f32", "f16"):
        (here / f"small_3_4_2_m5_{dtype}.cblob").write_bytes(compile_policy(golden_policy(), dtype))
    # --pack rows: 9 inputs (27 index bits a row, padded to 32), so the kernels' row-aligned
    # group path is pinned too
    (here / "small_9_4_2_m5_f16_rows.cblob").write_bytes(
        compile_policy(golden_rows_policy(), "f16", "rows"))


def generated() -> dict[str, str]:
    """Every generated file for every blob x target x kernel, by its path under generated/.

    Per blob: ``kernels.txt`` (which kernel each target runs, or the one-line error), the dense
    baseline, and for each supported pair the files of src/ that are rendered (the API header,
    the glue, the config header, the assembly, the Makefile and CMake fragments); the kernel
    sources src/ copies verbatim from targets/c and targets/firmware are left out."""
    from chromatic.compiler.files import load_blob
    from chromatic.errors import ChromaticError
    from chromatic.targets.build import check_kernel, source_names, write_sources
    from chromatic.targets.kernels import KERNELS
    from chromatic.targets.registry import TARGETS
    from chromatic.targets.render import dense_source
    from chromatic.version import __version__

    copied = ("chromatic.h", "chromatic_tanh.h", "chromatic_load.h", "chromatic_fixed.h",
              f"{PREFIX}_chromatic.c", f"{PREFIX}_chromatic_fixed.c")
    out: dict[str, str] = {}

    def put(path: str, text: str) -> None:
        out[path] = text.replace(f"by chromatic {__version__} ", f"by chromatic {VERSION} ")

    for stem in BLOBS:
        data, blob = load_blob(here / f"{stem}.cblob")
        table = []
        put(f"{stem}/{PREFIX}_dense.c", dense_source(data, blob, f"{PREFIX}_dense"))
        for t in TARGETS.values():
            for k in KERNELS:
                try:
                    check_kernel(k, blob, t)
                except ChromaticError as e:
                    table.append(f"{t.name} {k}: {e}")
                    continue
                table.append(f"{t.name} {k}: ok")
                with tempfile.TemporaryDirectory() as tmp:
                    write_sources(data, blob, Path(tmp), PREFIX, t, k)
                    for name in source_names(PREFIX, t, k):
                        if name not in copied:
                            put(f"{stem}/{t.name}/{k}/{name}", (Path(tmp) / name).read_text())
        put(f"{stem}/kernels.txt", "\n".join(table) + "\n")
    return out


def regenerate_code() -> None:
    shutil.rmtree(GENERATED, ignore_errors=True)
    for rel, text in generated().items():
        path = GENERATED / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


if __name__ == "__main__":
    args = set(sys.argv[1:]) or {"--blobs", "--code"}
    if not args <= {"--blobs", "--code"}:
        sys.exit(__doc__)
    if "--blobs" in args:
        regenerate_blobs()
    if "--code" in args:
        regenerate_code()
