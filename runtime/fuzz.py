"""One blob through every loader: the harness of the fuzz tests and the mutation campaign.

In-process, :func:`try_loaders` runs a blob through ``runtime.load`` on the numpy reference
(``compiler.blob.decode``), Numba and C (``chromatic_init`` through cffi) and reports each
loader's verdict as a ``chromatic_status`` code (0 = accepted; ``BlobError.code`` otherwise),
plus anything that is not a ``ChromaticError`` ("foreign": a bug). Out of process,
:func:`build_sanitized_driver` builds ``targets/c/fuzz_loader.c`` with AddressSanitizer and
UBSan, and :func:`run_sanitized` streams blobs through it; any sanitizer report, signal or
time-out is an error. The acceptance rule is docs/blob-format.md; docs/safety.md has the
campaign figures.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chromatic.errors import BlobError, ChromaticError

LOADERS = ("numpy", "numba", "c")
SOURCE_DIR = Path(__file__).resolve().parent.parent / "targets" / "c"
SANITIZER_FLAGS = ("-std=c99", "-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                   "-fno-sanitize-recover=all")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                     "SUMMARY: UndefinedBehaviorSanitizer")


@dataclass
class Outcome:
    """What every loader made of one blob."""

    codes: dict[str, int] = field(default_factory=dict)  # loader -> status, 0 = accepted
    foreign: dict[str, str] = field(default_factory=dict)  # loader -> repr of a non-ChromaticError
    actions: dict[str, np.ndarray] = field(default_factory=dict)  # accepted: loader -> actions

    @property
    def agree(self) -> bool:
        return not self.foreign and len(set(self.codes.values())) == 1

    @property
    def accepted(self) -> bool:
        return self.agree and next(iter(self.codes.values())) == 0


def observations(d0: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """A batch of observations: 3 normal rows, then NaN, +-inf and +-1e30 rows (the
    bad-observation policy of docs/safety.md must keep every action finite)."""
    rng = rng or np.random.default_rng(0)
    x = rng.normal(size=(8, d0)).astype(np.float32)
    x[3, ::2] = np.nan
    x[4, :] = np.inf
    x[5, :] = -np.inf
    x[6, :] = 1e30
    x[7, ::2], x[7, 1::2] = np.nan, -1e30
    return x


def try_loaders(blob: bytes, obs: np.ndarray | None = None, loaders: tuple[str, ...] = LOADERS) -> Outcome:
    """Load ``blob`` with every loader; where it is accepted and ``obs`` given, run it."""
    from chromatic.runtime import load

    out = Outcome()
    for name in loaders:
        try:
            runner = load(blob, name)
        except BlobError as e:
            out.codes[name] = -1 if e.code is None else int(e.code)
            continue
        except ChromaticError as e:  # a user error that is not about the blob: still a verdict
            out.foreign[name] = f"ChromaticError without a status: {e}"
            continue
        except Exception as e:  # noqa: BLE001 - anything else is the bug being hunted
            out.foreign[name] = f"{type(e).__name__}: {e}"
            continue
        out.codes[name] = 0
        if obs is not None:
            try:
                out.actions[name] = runner.batch(obs[:, : runner.layer_sizes[0]])
            except Exception as e:  # noqa: BLE001
                out.foreign[name] = f"inference: {type(e).__name__}: {e}"
    return out


# -- the C kernel under sanitizers, out of process ------------------------------------------
def build_sanitized_driver(dest: Path, cc: str | None = None) -> Path:
    """Compile targets/c/fuzz_loader.c + chromatic.c with ASan and UBSan into ``dest``."""
    cc = cc or ("gcc" if shutil.which("gcc") else "cc")
    exe = Path(dest) / "fuzz_loader"
    cmd = [cc, *SANITIZER_FLAGS, "-I", str(SOURCE_DIR), str(SOURCE_DIR / "fuzz_loader.c"),
           str(SOURCE_DIR / "chromatic.c"), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ChromaticError(f"building the sanitized fuzz driver failed: {proc.stderr.strip()[:500]}")
    return exe


def run_sanitized(exe: Path, blobs: list[bytes], timeout: float = 600.0) -> list[int]:
    """chromatic_init's status for each blob, from the sanitized driver; raises
    AssertionError on a sanitizer report, a signal, a non-zero exit or a time-out."""
    frames = b"".join(struct.pack("<I", len(b)) + b for b in blobs)
    env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1", "PATH": "/usr/bin:/bin"}
    try:
        proc = subprocess.run([str(exe)], input=frames, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"sanitized driver hung (> {timeout:.0f} s on {len(blobs)} blobs)") from None
    err = proc.stderr.decode(errors="replace")
    done = proc.stdout.decode().split()
    if proc.returncode != 0 or any(m in err for m in SANITIZER_MARKERS):
        at = len(done)
        raise AssertionError(f"sanitized driver failed (exit {proc.returncode}) on blob {at}: {err[-3000:]}")
    if len(done) != len(blobs):
        raise AssertionError(f"sanitized driver answered {len(done)} of {len(blobs)} blobs")
    return [int(x) for x in done]
