"""The blob's sidecar (``BLOB.cblob.json``): host-side facts a device never needs.

``chromatic compile`` writes it beside the blob, atomically, after the blob: the policy
file's metadata (``env_id``, ``train_command``, ``seed``, ``eval_return``, ...) and the
SHA-256 of the blob it describes. ``chromatic run BLOB`` without ``--env`` takes the
environment from it. A sidecar whose hash is not the blob's (the blob was recompiled or
replaced without it) is refused, never trusted. Why beside the blob and not in it:
docs/blob-format.md, "The sidecar".
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chromatic.errors import ChromaticError

FORMAT = "chromatic-blob-sidecar"
VERSION = 1
SUFFIX = ".json"
MAX_BYTES = 1 << 20  # a sidecar holds a few strings and numbers: the writer and the reader's limit


def sidecar_path(blob_path: str | os.PathLike[str]) -> Path:
    """Where the sidecar of the blob at ``blob_path`` lives: the blob's name plus ``.json``."""
    return Path(os.fspath(blob_path) + SUFFIX)


def _json_scalar(value: object) -> bool:
    """Strings and finite numbers: what strict JSON can hold."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int)


def sidecar_bytes(data: bytes, metadata: Mapping[str, object]) -> bytes:
    """The sidecar of blob ``data``: its hash and the JSON-representable entries of ``metadata``.

    One larger than ``MAX_BYTES`` (what :func:`read_sidecar` accepts) is a ChromaticError naming
    the largest entry: ``chromatic compile`` builds the sidecar before it writes anything, so it
    never writes a blob whose sidecar ``run`` would refuse.
    """
    meta = {str(k): v for k, v in metadata.items() if _json_scalar(v)}
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "blob_sha256": hashlib.sha256(data).hexdigest(),
        "blob_bytes": len(data),
        "metadata": meta,
    }
    out = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    if len(out) > MAX_BYTES:
        sizes = {k: len(json.dumps(v)) for k, v in meta.items()}
        big = max(sizes, key=sizes.__getitem__)
        raise ChromaticError(
            f"metadata: the blob sidecar would be {len(out):,} bytes, more than the {MAX_BYTES:,} "
            f"it may hold (largest entry {big!r}: {sizes[big]:,} bytes); shorten it in the policy file"
        )
    return out


def read_sidecar(blob_path: str | os.PathLike[str], data: bytes) -> dict[str, Any] | None:
    """The recorded metadata of the blob ``data`` read from ``blob_path``, or None without a sidecar.

    A sidecar that is not one, or that belongs to another blob, is a one-line ChromaticError.
    """
    from chromatic.compiler.files import read_file

    path = sidecar_path(blob_path)
    if not path.exists():
        return None
    raw = read_file(path, "blob sidecar", limit=MAX_BYTES)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ChromaticError(f"{path}: not a blob sidecar (not JSON: {e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ChromaticError(f"{path}: not a blob sidecar (no \"format\": \"{FORMAT}\")")
    if doc.get("version") != VERSION:
        raise ChromaticError(f"{path}: sidecar version {doc.get('version')!r} is not {VERSION}")
    if doc.get("blob_sha256") != hashlib.sha256(data).hexdigest():
        raise ChromaticError(
            f"{path}: was written for another blob (SHA-256 differs from {Path(blob_path).name}'s); "
            "recompile it or pass --env"
        )
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        raise ChromaticError(f"{path}: \"metadata\" must be an object")
    return meta


def recorded_env(blob_path: str | os.PathLike[str], data: bytes) -> str:
    """The environment id recorded at compile time for this blob; a one-line error without one."""
    meta = read_sidecar(blob_path, data)
    if meta is None:
        raise ChromaticError(
            f"{blob_path}: no environment recorded ({sidecar_path(blob_path).name} is missing); "
            "pass --env ENV_ID"
        )
    env = meta.get("env_id")
    if not isinstance(env, str) or not env:
        raise ChromaticError(
            f"{blob_path}: no environment recorded (its policy file had no env_id); pass --env ENV_ID"
        )
    return env
