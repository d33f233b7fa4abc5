"""Write files all-or-nothing, so an error or Ctrl-C never leaves a half-written output.

The temp file is created with mode 0o666 and the kernel applies the umask, so outputs get the
permissions any other file the user writes gets (``tempfile.mkstemp`` would make them 0600).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any


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


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success it replaces ``path`` atomically."""
    path = Path(path)
    fd, tmp = _create_beside(path)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[IO[Any]], None]) -> None:
    """Call ``writer(file)`` on a temp file and move it into place only if it returns."""
    with atomic_open(path, "wb") as f:
        writer(f)
