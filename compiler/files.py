"""Read a user's files with one-line errors; a blob may be given as bytes or as a path.

Every command and every function of the Python API that takes a blob accepts either, so
the path-or-bytes rule and the messages (``out.cblob: no such blob file``) live here once.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from chromatic.compiler.blob import Blob, decode
from chromatic.errors import BlobError, ChromaticError

#: A blob: its bytes, or the path of a .cblob file.
BlobSource = bytes | bytearray | memoryview | str | os.PathLike[str]


#: The largest file of any kind read whole (a blob, observations, a model): 1 GiB.
MAX_FILE_BYTES = 1 << 30


def check_file(path: str | os.PathLike[str], what: str, limit: int = MAX_FILE_BYTES) -> int:
    """The size of a user's regular file, with one-line errors (missing, a folder, a device or
    pipe, larger than ``limit``); reading it may still fail (``/proc/self/mem``)."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        raise ChromaticError(f"{path}: no such {what}") from None
    except OSError as e:
        raise ChromaticError(f"{path}: cannot read {what} ({e.strerror})") from None
    a = "an" if what[:1] in "aeiou" else "a"
    if stat.S_ISDIR(st.st_mode):
        raise ChromaticError(f"{path}: is a directory, expected {a} {what}")
    if not stat.S_ISREG(st.st_mode):  # /dev/zero, /dev/full, a FIFO: endless or blocking
        raise ChromaticError(f"{path}: not a regular file (a device, pipe or socket), expected {a} {what}")
    if st.st_size > limit:
        raise ChromaticError(f"{path}: {what} is larger than {limit:,} bytes")
    return st.st_size


def read_file(path: str | os.PathLike[str], what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read a user's file with one-line errors (missing, unreadable, absurdly large)."""
    check_file(path, what, limit)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)  # a /proc file says 0 bytes and may say more than limit
    except OSError as e:  # check_file said what is missing or a folder; this is a read failing
        raise ChromaticError(f"{path}: cannot read {what} ({e.strerror})") from None
    if len(data) > limit:
        raise ChromaticError(f"{path}: {what} is larger than {limit:,} bytes")
    return data


def read_blob(path: str | os.PathLike[str]) -> tuple[bytes, Blob]:
    """A blob file's bytes and decoded blob; errors name the file."""
    data = read_file(path, "blob file")
    try:
        return data, decode(data)
    except ChromaticError as e:
        raise ChromaticError(f"{path}: {e}") from None


def load_blob(blob: BlobSource) -> tuple[bytes, Blob]:
    """``(bytes, decoded blob)`` of a blob given as bytes or as a path (read and checked)."""
    if isinstance(blob, str | os.PathLike):
        return read_blob(blob)
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise BlobError(f"a blob must be bytes or the path of a blob file, found {type(blob).__name__}")
    data = bytes(blob)
    return data, decode(data)
