"""Read a user's ``.npy`` and ``.npz`` files: one-line errors, and memory bounded before it is used.

``np.load`` trusts what a file says: a 128-byte ``.npy`` claiming shape (10^11, 17) asks for
12 TiB, an ``.npz`` member of 800 MB of zeros is an 800 kB file, and a renamed ``.npy`` or a zip
holding a text file come back as a TypeError or as ``bytes``. Every reader of these files
(policy files, statistics files, observations, a run's checkpoint and partition logs) goes
through :func:`read_npz`, :func:`read_run_npz` or :func:`read_npy`, which check before
allocating or decompressing anything:

- the file is a regular file (not a folder, device or pipe) no larger than its limit;
- an ``.npz`` is a zip archive whose members are all ``.npy`` arrays with distinct names, at
  most ``MAX_NPZ_MEMBERS``, each declaring (in the zip directory) at most ``MAX_ARRAY_BYTES``
  uncompressed and all together at most ``MAX_NPZ_BYTES`` (compiler/limits.py: what the largest
  legal policy needs). zipfile never decodes more than a member declares (a member that holds
  more fails its CRC), so the declared sizes bound memory and time;
- an array's header is a ``.npy`` header (version 1.0 or 2.0), its dtype holds no Python
  objects (pickles are never loaded), and the bytes its shape needs are there in the file or
  member -- a header cannot claim more memory than the file really holds.

chromatic's own outputs whose size grows with a run's settings -- a run's ``checkpoint.npz`` and
``partitions/nas_*.npz`` (:func:`read_run_npz`) -- have no fixed size: the file may be of any size
and its members may decode to as many bytes as the file holds, where that is more than the policy
limits (``np.savez`` stores members uncompressed, so a file chromatic wrote always fits and a zip
bomb never does). The memory reading one takes is bounded by the larger of the two.
"""

from __future__ import annotations

import io
import math
import os
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import numpy as np

from chromatic.compiler.files import MAX_FILE_BYTES, check_file
from chromatic.compiler.limits import MAX_ARRAY_BYTES, MAX_NPZ_BYTES, MAX_NPZ_MEMBERS
from chromatic.errors import ChromaticError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"
#: The zip's central directory, read whole by zipfile before anything else: ample for
#: MAX_NPZ_MEMBERS members (46 bytes and a short name each).
MAX_DIRECTORY_BYTES = 1 << 20

# What a malformed file can raise from zipfile, zlib and numpy's header parser.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError,
                RuntimeError, NotImplementedError, struct.error, OverflowError)


class _Unreadable(Exception):
    """Why a file is not a readable array file (becomes the caller's one-line error)."""


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _check_header(fp: IO[bytes], available: int, limit: int) -> None:
    """Read the ``.npy`` header at ``fp``'s position and check the array it announces fits in
    the ``available`` bytes from there (and in ``limit``); raise _Unreadable or ValueError."""
    start = fp.tell()
    if fp.read(len(NPY_MAGIC)) != NPY_MAGIC:
        raise _Unreadable("no .npy header")
    fp.seek(start)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise _Unreadable(f".npy format version {version[0]}.{version[1]}; expected 1.0 or 2.0")
    if dtype.hasobject:
        raise _Unreadable(f"dtype {dtype} holds Python objects (pickles are never loaded)")
    if any(d < 0 for d in shape):
        raise _Unreadable(f"header claims shape {shape}")
    count = math.prod(shape)
    need = count * dtype.itemsize
    have = max(available - (fp.tell() - start), 0)
    if need > have:
        raise _Unreadable(f"header claims shape {shape} of {dtype} ({need:,} bytes) "
                          f"but only {have:,} bytes follow")
    if max(need, count) > limit:
        raise _Unreadable(f"shape {shape} of {dtype} is larger than {limit:,} bytes")


def _file_size(path: str | os.PathLike[str], what: str, error: type[ChromaticError], limit: int) -> int:
    """The size of a regular file no larger than ``limit`` (files.check_file), refused as ``error``."""
    try:
        return check_file(path, what, limit)
    except ChromaticError as e:
        raise error(str(e)) from None


def read_npy(path: str | os.PathLike[str], what: str, error: type[ChromaticError] = ChromaticError,
             limit: int = MAX_FILE_BYTES) -> np.ndarray:
    """The array of a user's ``.npy`` file (no pickles), with one-line errors naming ``what``."""
    size = _file_size(path, what, error, limit)
    try:
        with open(path, "rb") as f:
            if f.read(len(ZIP_MAGIC)) == ZIP_MAGIC:
                raise _Unreadable("a .npz (zip) archive, not a .npy array")
            f.seek(0)
            _check_header(f, size, limit)
            f.seek(0)
            return np.lib.format.read_array(f, allow_pickle=False)
    except (_Unreadable, *_READ_ERRORS) as e:
        raise error(f"{path}: not a readable .npy {what} ({_reason(e)})") from None


@dataclass(frozen=True)
class _Limits:
    """What an .npz may decode to, and how its refusals say why."""

    array: int
    total: int
    array_why: str  # "member 'x.npy' decompresses to N bytes; <array_why>"
    total_why: str  # "members decompress to N bytes; <total_why>"
    members_why: str  # "N members; <members_why>"


def _policy_limits() -> _Limits:  # read at call time (tests lower them)
    return _Limits(MAX_ARRAY_BYTES, MAX_NPZ_BYTES,
                   f"the largest array a policy can need is {MAX_ARRAY_BYTES:,}",
                   f"a policy file needs at most {MAX_NPZ_BYTES:,}",
                   f"a policy file has at most {MAX_NPZ_MEMBERS:,}")


def _run_file_limits(size: int) -> _Limits:
    """A file chromatic stored uncompressed decodes to no more than its own ``size``."""
    array, total = max(MAX_ARRAY_BYTES, size), max(MAX_NPZ_BYTES, size)
    return _Limits(array, total,
                   f"at most {array:,} can be read (the file's {size:,} bytes, stored uncompressed, "
                   f"or {MAX_ARRAY_BYTES:,})",
                   f"at most {total:,} can be read (the file's {size:,} bytes, stored uncompressed, "
                   f"or {MAX_NPZ_BYTES:,})",
                   f"at most {MAX_NPZ_MEMBERS:,} can be read")


def _check_directory(f: IO[bytes], limits: _Limits) -> None:
    """Refuse a zip directory too large to parse, from its end record, before zipfile parses it
    (zipfile keeps an object per member: a directory of millions of empty names is gigabytes)."""
    end_record = getattr(zipfile, "_EndRecData", None)  # CPython's reader of that record
    if end_record is None:
        return
    rec = end_record(f)
    if rec is None:
        raise _Unreadable("not a zip archive")
    entries = rec[getattr(zipfile, "_ECD_ENTRIES_TOTAL", 4)]
    size = rec[getattr(zipfile, "_ECD_SIZE", 5)]
    if entries > MAX_NPZ_MEMBERS or size > MAX_DIRECTORY_BYTES:
        raise _Unreadable(f"{entries:,} members in a {size:,}-byte directory; {limits.members_why}")


def _read_members(f: IO[bytes], limits: _Limits) -> dict[str, np.ndarray]:
    _check_directory(f, limits)
    f.seek(0)
    with zipfile.ZipFile(f) as z:
        infos = z.infolist()
        if len(infos) > MAX_NPZ_MEMBERS:
            raise _Unreadable(f"{len(infos):,} members; {limits.members_why}")
        names: set[str] = set()
        for info in infos:
            name = info.filename
            if not name.endswith(".npy") or info.is_dir():
                raise _Unreadable(f"member {name!r} is not a .npy array")
            if name in names:
                raise _Unreadable(f"member {name!r} appears twice")
            names.add(name)
            if info.file_size > limits.array:
                raise _Unreadable(f"member {name!r} decompresses to {info.file_size:,} bytes; "
                                  f"{limits.array_why}")
        total = sum(info.file_size for info in infos)
        if total > limits.total:
            raise _Unreadable(f"members decompress to {total:,} bytes; {limits.total_why}")
        arrays = {}
        for info in infos:
            raw = z.read(info)  # at most info.file_size bytes, checked above
            member = io.BytesIO(raw)
            try:
                _check_header(member, len(raw), limits.array)
                member.seek(0)
                arrays[info.filename[: -len(".npy")]] = np.lib.format.read_array(member, allow_pickle=False)
            except (_Unreadable, *_READ_ERRORS) as e:
                raise _Unreadable(f"member {info.filename!r}: {_reason(e)}") from None
        return arrays


def _read_npz(path: str | os.PathLike[str], what: str, error: type[ChromaticError], file_limit: int,
              limits: Callable[[int], _Limits]) -> dict[str, np.ndarray]:
    size = _file_size(path, what, error, file_limit)
    try:
        with open(path, "rb") as f:
            head = f.read(len(NPY_MAGIC))
            if head == NPY_MAGIC:
                raise _Unreadable("a .npy array, not a .npz (zip) archive")
            return _read_members(f, limits(size))
    except (_Unreadable, *_READ_ERRORS) as e:
        raise error(f"{path}: not a readable .npz {what} ({_reason(e)})") from None


def read_npz(path: str | os.PathLike[str], what: str,
             error: type[ChromaticError] = ChromaticError) -> dict[str, np.ndarray]:
    """The arrays of a user's ``.npz`` file by name (no pickles), with one-line errors naming
    ``what``; sizes bounded by compiler/limits.py before anything is decompressed."""
    return _read_npz(path, what, error, MAX_NPZ_BYTES, lambda size: _policy_limits())


def read_run_npz(path: str | os.PathLike[str], what: str,
                 error: type[ChromaticError] = ChromaticError) -> dict[str, np.ndarray]:
    """:func:`read_npz` for an ``.npz`` chromatic wrote with ``np.savez`` whose size grows with a
    run's settings (a checkpoint, a NAS step's partition log): the file may be of any size, and its
    members may decode to as many bytes as the file holds or the policy limits, whichever is more.
    So a file chromatic wrote always reads, and a zip bomb or a huge claimed shape never decodes."""
    return _read_npz(path, what, error, sys.maxsize, _run_file_limits)
