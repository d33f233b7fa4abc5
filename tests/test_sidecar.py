"""The blob sidecar (compiler/sidecar.py): `compile` records the policy's environment beside the
blob and `run` without --env uses it; a missing, foreign or broken sidecar is one line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.policy_file import load_policy, save_policy
from chromatic.compiler.sidecar import read_sidecar, recorded_env, sidecar_bytes, sidecar_path
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError

ZOO = sorted((Path(__file__).resolve().parent.parent / "policies").glob("*.npz"))


def chromatic(*args):
    return subprocess.run([sys.executable, "-m", "chromatic", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def assert_one_line_error(r, *words):
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chromatic: error:"), r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def write_blob(tmp_path, metadata, name="p.cblob"):
    data = compile_policy(random_policy((3, 2), 4, seed=1).replace(metadata=metadata))
    path = tmp_path / name
    path.write_bytes(data)
    sidecar_path(path).write_bytes(sidecar_bytes(data, metadata))
    return path, data


def test_round_trip_keeps_json_metadata_and_drops_the_rest(tmp_path):
    path, data = write_blob(tmp_path, {"env_id": "Swimmer-v5", "seed": 3, "eval_return": 1.5,
                                       "bad": float("nan")})
    assert sidecar_path(path) == tmp_path / "p.cblob.json"
    assert read_sidecar(path, data) == {"env_id": "Swimmer-v5", "seed": 3, "eval_return": 1.5}
    assert recorded_env(path, data) == "Swimmer-v5"


def test_a_sidecar_of_another_blob_is_refused(tmp_path):
    path, data = write_blob(tmp_path, {"env_id": "Swimmer-v5"})
    with pytest.raises(ChromaticError, match="written for another blob"):
        recorded_env(path, data[:-1] + bytes([data[-1] ^ 1]))


@pytest.mark.parametrize("content, message", [
    (b"{", "not JSON"), (b"[]", "not a blob sidecar"), (b"\xff", "not JSON"),
    (b'{"format": "chromatic-blob-sidecar", "version": 9}', "version 9"),
])
def test_a_broken_sidecar_is_one_line(tmp_path, content, message):
    path, data = write_blob(tmp_path, {"env_id": "Swimmer-v5"})
    sidecar_path(path).write_bytes(content)
    with pytest.raises(ChromaticError, match=message):
        recorded_env(path, data)


def test_no_sidecar_or_no_env_id_is_one_line(tmp_path):
    path, data = write_blob(tmp_path, {"seed": 1})
    with pytest.raises(ChromaticError, match=r"had no env_id\); pass --env"):
        recorded_env(path, data)
    sidecar_path(path).unlink()
    with pytest.raises(ChromaticError, match="p.cblob.json is missing"):
        recorded_env(path, data)


def test_cli_compile_writes_the_sidecar_and_run_uses_it(tmp_path):
    policy = load_policy(ZOO[0])
    save_policy(policy.replace(metadata={}), tmp_path / "anon.npz")
    r = chromatic("compile", tmp_path / "anon.npz", "-o", tmp_path / "anon.cblob")
    assert r.returncode == 0 and "run needs --env" in r.stdout, r.stderr
    assert_one_line_error(chromatic("run", tmp_path / "anon.cblob"), "no environment recorded", "--env")
    (tmp_path / "anon.cblob.json").unlink()
    assert_one_line_error(chromatic("run", tmp_path / "anon.cblob"), "anon.cblob.json is missing")
    # an explicit --env needs no sidecar
    r = chromatic("run", tmp_path / "anon.cblob", "--env", policy.metadata["env_id"], "--max-steps", "2",
                  "--runtime", "numpy", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["env_id"] == policy.metadata["env_id"], r.stderr


def test_cli_compile_refuses_an_unwritable_sidecar_before_writing_the_blob(tmp_path):
    (tmp_path / "p.cblob.json").mkdir()
    r = chromatic("compile", ZOO[0], "-o", tmp_path / "p.cblob")
    assert_one_line_error(r, "p.cblob.json", "folder")
    assert not (tmp_path / "p.cblob").exists()


def test_run_without_env_uses_the_recorded_env(tmp_path):
    """One policy here; tests/test_main_job.py runs every zoo policy this way."""
    swimmer = next(p for p in ZOO if "swimmer" in p.name)
    assert chromatic("compile", swimmer, "-o", tmp_path / "z.cblob").returncode == 0
    r = chromatic("run", tmp_path / "z.cblob", "--max-steps", "2", "--runtime", "c", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["env_id"] == "Swimmer-v5" and out["steps"] == 2


def test_compile_refuses_a_sidecar_run_would_refuse_before_writing_anything(tmp_path, capsys):
    """One limit (sidecar.MAX_BYTES) for writer and reader: a 2 MB train_command is refused by
    `compile` with the key named, and neither the blob nor the sidecar (nor an old blob) is touched."""
    from chromatic.cli import main
    from chromatic.compiler.sidecar import MAX_BYTES

    meta = {"env_id": "Swimmer-v5", "train_command": "x" * (2 * MAX_BYTES)}
    with pytest.raises(ChromaticError, match=r"largest entry 'train_command'"):
        sidecar_bytes(b"blob", meta)
    save_policy(random_policy((3, 2), 4, seed=1).replace(metadata=meta), tmp_path / "p.npz")
    (tmp_path / "p.cblob").write_bytes(b"previous")
    assert main(["compile", str(tmp_path / "p.npz"), "-o", str(tmp_path / "p.cblob")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"chromatic: error: {tmp_path / 'p.npz'}: metadata:")
    assert f"more than the {MAX_BYTES:,}" in err and "'train_command'" in err
    assert (tmp_path / "p.cblob").read_bytes() == b"previous"
    assert not sidecar_path(tmp_path / "p.cblob").exists()
    # just under the limit: written, and read back by `run`'s reader
    meta["train_command"] = "x" * (MAX_BYTES - 1000)
    save_policy(random_policy((3, 2), 4, seed=1).replace(metadata=meta), tmp_path / "p.npz")
    assert main(["compile", str(tmp_path / "p.npz"), "-o", str(tmp_path / "p.cblob")]) == 0
    data = (tmp_path / "p.cblob").read_bytes()
    assert read_sidecar(tmp_path / "p.cblob", data)["train_command"] == meta["train_command"]
