"""Every kernel's generated code compiles warning-free (-Werror, the build's own warnings) for
every blob of the fuzzing corpus (tests/corpus/: every structure, both dtypes, the three
packings, one-layer policies, masked policies with pruned inputs, M = 1 ... 65,536) on every
target that runs it. The other kernel tests run a few shapes; this one catches a generator
that emits, say, an unused buffer for a one-layer policy or an unused input for a pruned one.

Only the files rendered from the policy are compiled (the glue and the kernel's own sources);
the kernel's library files are the same for every policy and compiled by every build test.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
from pathlib import Path

import pytest

from chromatic.compiler.blob import decode
from chromatic.errors import ChromaticError
from chromatic.targets.build import WARNINGS, check_kernel, write_sources
from chromatic.targets.kernels import KERNELS, get_kernel
from chromatic.targets.registry import TARGETS
from tests.corpus.regenerate import load_corpus
from tests.kernel_cases import require_toolchain

PREFIX = "p"


def _compile(cmd: list[str]) -> str | None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    errors = [l for l in proc.stderr.splitlines() if "error" in l]
    return (errors or proc.stderr.splitlines() or ["?"])[0]


@pytest.mark.firmware
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_kernel_compiles_every_corpus_blob_warning_free(tmp_path, target):
    require_toolchain()
    t = TARGETS[target]
    jobs: list[tuple[str, list[str]]] = []
    for name, data in sorted(load_corpus(with_crashes=False).items()):
        blob = decode(data)
        for kernel in KERNELS:
            if not get_kernel(kernel).supports(t):
                continue
            try:
                check_kernel(kernel, blob, t)
            except ChromaticError:
                continue  # refused in one line (the kernel tests check which)
            src = tmp_path / f"{Path(name).stem}-{kernel}"
            write_sources(data, blob, src, PREFIX, t, kernel)
            own = [src / f"{PREFIX}.c", *(src / n for n in sorted(os.listdir(src))
                                          if n.startswith(f"{PREFIX}_{kernel}"))]
            for f in own:
                flags = [*t.cflags, *WARNINGS] if f.suffix == ".c" else list(t.cflags)
                jobs.append((f"{name} {kernel} {f.name}",
                             [t.cc, *flags, "-I", str(src), "-c", str(f), "-o", os.devnull]))
    assert len({j[0].split()[1] for j in jobs}) >= 3, "the target runs at least three kernels"
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        failures = [f"{what}: {err}" for (what, _), err in
                    zip(jobs, pool.map(_compile, (cmd for _, cmd in jobs)), strict=True) if err]
    assert not failures, f"{len(failures)} of {len(jobs)} failed:\n" + "\n".join(failures[:10])
