"""Write files all-or-nothing, so an error or Ctrl-C never leaves a half-written output.

The temp file is created with mode 0o666 and the kernel applies the umask, so outputs get the
permissions any other file the user writes gets (``tempfile.mkstemp`` would make them 0600).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from chromatic.errors import ChromaticError


def _create_beside(path: Path) -> tuple[int, Path]:
    """An exclusive, new temp file in ``path``'s folder (a hidden name, so globs skip it)."""
    directory = path.parent if str(path.parent) else Path(".")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = directory / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


class OutputError(ChromaticError, OSError):
    """An output path that must not be written (a ChromaticError: one line; and an OSError,
    so callers that handle write failures as OSError keep doing so)."""


#: Pseudo file systems: never a place for an output (writes there are no files, or fail late).
SPECIAL_ROOTS = ("/proc", "/sys", "/dev")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: compare where they would resolve
        return os.path.realpath(a) == os.path.realpath(b)


def check_output(path: str | os.PathLike[str] | None, *inputs: str | os.PathLike[str] | None,
                 directory: bool = False, what: str = "output") -> Path:
    """Refuse an output path before any work is done, with one line; returns it as a Path.

    Refused: an empty path; anything under /proc, /sys or /dev; an existing folder where a
    file is written (or an existing non-folder where a folder is); an existing file that is
    not a regular file (a device such as /dev/full, a pipe, a socket) or is read-only; a
    broken symbolic link; a missing or unwritable parent folder; and the same file as any of
    ``inputs`` (after resolving symbolic links; hard links too). Nothing is created or touched.
    """
    if path is None or str(path) == "":
        raise OutputError(f"{what}: empty path")
    p = Path(path)
    real = Path(os.path.realpath(p))
    for root in SPECIAL_ROOTS:
        if real == Path(root) or Path(root) in real.parents:
            raise OutputError(f"{p}: is on the special file system {root}; write the {what} to a folder")
    try:
        st: os.stat_result | None = os.stat(p)
    except FileNotFoundError:
        st = None
        if os.path.islink(p):
            raise OutputError(f"{p}: is a broken symbolic link; refusing to replace it") from None
    except OSError as e:
        raise OutputError(f"{p}: cannot use as {what} ({e.strerror})") from None
    if st is not None:
        if directory and not stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{p}: exists and is not a folder; the {what} is a folder")
        if not directory:
            if stat.S_ISDIR(st.st_mode):
                raise OutputError(f"{p}: is a folder; give a file name for the {what}")
            if not stat.S_ISREG(st.st_mode):
                raise OutputError(f"{p}: is not a regular file (a device, pipe or socket); "
                                  "refusing to replace it")
            if not st.st_mode & 0o222:
                raise OutputError(f"{p}: is read-only; refusing to replace it")
    parent = real.parent
    if not parent.is_dir():
        raise OutputError(f"{p}: folder {parent} does not exist" if not parent.exists()
                          else f"{p}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{p}: folder {parent} is not writable")
    for inp in inputs:
        if inp is not None and str(inp) != "" and _same_file(p, Path(inp)):
            raise OutputError(f"{p}: is also an input of this command ({inp}); refusing to overwrite it")
    return p


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success it replaces ``path`` atomically.

    ``path`` must pass :func:`check_output`; a failure to create, write or rename is an
    :class:`OutputError` naming the path, and leaves ``path`` as it was.
    """
    path = check_output(path)
    try:
        fd, tmp = _create_beside(path)
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, ChromaticError):
            raise OutputError(f"{path}: cannot write ({e.strerror or e})") from None
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[IO[Any]], None]) -> None:
    """Call ``writer(file)`` on a temp file and move it into place only if it returns."""
    with atomic_open(path, "wb") as f:
        writer(f)
