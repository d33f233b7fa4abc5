"""Atomic writes: all-or-nothing, and the permissions the user's umask asks for."""

import os
import stat

import pytest

from chromatic.atomic import atomic_open, atomic_write_bytes


@pytest.fixture
def umask():
    """Set the process umask for one test, and restore it."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_honour_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_write_bytes(tmp_path / "new.cblob", b"x")
    (tmp_path / "old.cblob").write_bytes(b"old")
    atomic_write_bytes(tmp_path / "old.cblob", b"y")  # replacing a file: the same rule
    for name in ("new.cblob", "old.cblob"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.npy"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(target) as f:
        f.write(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]


def test_relative_path_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    atomic_write_bytes("plain.bin", b"abc")
    assert (tmp_path / "plain.bin").read_bytes() == b"abc"
