"""The command line never destroys, never traces back (docs/safety.md, "Misuse").

Every verb's output that is an input, a folder, a special file, or lies in a missing folder is
one line on stderr, a non-zero exit, and nothing touched; numeric options are checked before
any work. benchmarks/misuse_campaign.py runs the full matrix; these are its sharpest cases.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from chromatic.atomic import OutputError, atomic_write_bytes, check_output
from chromatic.cli import main
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.policy_file import save_policy
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError


@pytest.fixture()
def box(tmp_path: Path) -> Path:
    p = random_policy((8, 6, 2), 5, seed=1)
    save_policy(p, tmp_path / "p.npz")
    (tmp_path / "p.cblob").write_bytes(compile_policy(p))
    np.save(tmp_path / "obs.npy", np.zeros((2, 8), np.float32))
    (tmp_path / "sub").mkdir()
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.jsonl").write_text(json.dumps({"timesteps": 1, "mean_return": 0.0, "max_return": 0.0}) + "\n")
    (run / "config.json").write_text("{}")
    return tmp_path


def state(root: Path) -> dict[str, str]:
    return {str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else "dir"
            for f in sorted(root.rglob("*"))}


def refused(box: Path, argv: list[str], capsys) -> str:
    before = state(box)
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0, argv
    assert state(box) == before, f"{argv} touched the sandbox"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chromatic: error:"), err
    return lines[0]


def cases(b: Path) -> list[list[str]]:
    blob, pol, obs, run = str(b / "p.cblob"), str(b / "p.npz"), str(b / "obs.npy"), str(b / "run")
    outs = [str(b / "missing" / "x"), str(b / "sub"), "/proc/self/chromatic-test", "/dev/full", "/dev/null",
            str(b / "p.npz" / "x")]
    argvs = []
    for o in outs:
        argvs += [["compile", pol, "-o", o], ["infer", blob, "--input", obs, "--output", o],
                  ["export", blob, "-o", o], ["plot", run, "-o", o]]
    argvs += [
        ["compile", pol, "-o", pol], ["compile", pol, "-o", str(b / "sub" / ".." / "p.npz")],
        ["infer", blob, "--input", obs, "--output", blob], ["infer", blob, "--input", obs, "--output", obs],
        ["export", blob, "-o", blob], ["plot", run, "-o", f"{run}/log.jsonl"],
        ["plot", run, "-o", f"{run}/config.json"], ["analyze", run, "-o", f"{run}/log.jsonl"],
        ["build", blob, "--target", "host", "-o", blob], ["build", blob, "--target", "host", "-o", "/proc/x"],
        ["build", blob, "--target", "host", "-o", str(b / "missing" / "dir")],
        ["build", blob, "--target", "host", "-o", str(b / "new"), "--flash-kib", "0"],
        ["run", blob, "--env", "Swimmer-v5", "--max-steps", "0"],
        ["run", blob, "--env", "Swimmer-v5", "--seed", "-1"],
        ["run", blob, "--env", "Swimmer-v5", "--episodes", "0"],
        ["run", blob, "--env", "Swimmer-v5", "--hz", "nan"],
        ["run", blob, "--env", "Swimmer-v5", "--deadline-us", "0"],
        ["run", blob, "--env", "Swimmer-v5", "--budget-share", "2"],
        ["train", "--env", "Swimmer-v5", "--out", pol],
        ["train", "--env", "Swimmer-v5", "--out", "/proc/x"],
        ["train", "--env", "Swimmer-v5", "--out", str(b / "missing" / "run")],
    ]
    return argvs


def test_every_misuse_is_refused_before_any_work(box):
    from chromatic.cli import build_parser, check_arguments

    parser = build_parser()
    before = state(box)
    for argv in cases(box):
        with pytest.raises(ChromaticError):
            check_arguments(parser.parse_args(argv))
    assert state(box) == before


def test_misuse_is_one_line_and_touches_nothing(box, capsys):
    b = box
    for argv in (["infer", str(b / "p.cblob"), "--input", str(b / "obs.npy"), "--output", str(b / "p.cblob")],
                 ["plot", str(b / "run"), "-o", str(b / "run" / "log.jsonl")],
                 ["infer", "/dev/full", "--input", str(b / "obs.npy"), "--output", str(b / "y.npy")],
                 ["measure", "/dev/zero", "--no-latency"],
                 ["run", str(b / "p.cblob"), "--env", "Swimmer-v5", "--seed", "-1"]):
        refused(box, argv, capsys)


def test_output_same_as_input_names_it(box, capsys):
    line = refused(box, ["compile", str(box / "p.npz"), "-o", str(box / "p.npz")], capsys)
    assert "also an input" in line


def test_check_output_rules(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x")
    os.symlink(f, tmp_path / "link")
    os.link(f, tmp_path / "hard")
    for path, inputs in ((f, [f]), (tmp_path / "link", [f]), (tmp_path / "hard", [f]),
                         (tmp_path, []), (tmp_path / "nope" / "x", []), ("", []), ("/dev/full", []),
                         ("/proc/self/status", []), ("/sys/x", [])):
        with pytest.raises(OutputError):
            check_output(path, *inputs)
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    with pytest.raises(OutputError, match="broken"):
        check_output(tmp_path / "dangling")
    f.chmod(0o444)
    with pytest.raises(OutputError, match="read-only"):
        check_output(f)
    assert check_output(tmp_path / "new", f) == tmp_path / "new"
    with pytest.raises(OutputError, match="not a folder"):
        check_output(f, directory=True)
    assert check_output(tmp_path / "sub", directory=True) == tmp_path / "sub"


def test_atomic_write_refuses_and_keeps_the_target(tmp_path):
    with pytest.raises(ChromaticError):
        atomic_write_bytes("/dev/full", b"x")
    with pytest.raises(OSError):  # still an OSError for callers that handle write failures so
        atomic_write_bytes(tmp_path / "missing" / "x", b"x")
    target = tmp_path / "t"
    target.write_bytes(b"old")
    with pytest.raises(ZeroDivisionError):
        with __import__("chromatic.atomic").atomic.atomic_open(target) as fh:
            fh.write(b"new")
            1 / 0  # noqa: B018
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t"]


def test_compile_checks_the_format_limits_before_writing(tmp_path, capsys):
    from chromatic.compiler.ir import Layer, Normalization, Policy

    wide = Policy(layers=(Layer(np.zeros((1, 70000), np.int64), np.zeros(1)),), palette=np.ones(1),
                  normalization=Normalization.identity(70000))  # a u16 cannot hold 70000
    save_policy(wide, tmp_path / "big.npz")
    assert main(["compile", str(tmp_path / "big.npz"), "-o", str(tmp_path / "big.cblob")]) == 1
    assert "65535" in capsys.readouterr().err
    assert not (tmp_path / "big.cblob").exists()


def test_limits():
    from chromatic.compiler.limits import check_sizes

    check_sizes((17, 41, 6), 17)
    for sizes, m, structure in (((17, 70000, 6), None, "chromatic"), ((17, 41, 6), 70000, "chromatic"),
                                ((17, 41, 6), 0, "chromatic"), ((17,) * 66, None, "chromatic"),
                                ((4097, 4096), None, "chromatic"), ((3,), None, "dense")):
        with pytest.raises(ChromaticError):
            check_sizes(sizes, m, structure)
    check_sizes((300, 300), 90000, "dense")  # implicit: no index width
    check_sizes((3, 2), 1, "masked")  # one color, all pruned: a valid blob
