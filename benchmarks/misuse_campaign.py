"""The misuse campaign: every verb x every kind of mistake, counting tracebacks and destroyed files.

Each case runs `chromatic VERB ...` in a forked child of a warmed-up interpreter (so 200+ cases
take minutes, and a hang is killed after --timeout seconds) inside a sandbox folder holding a
policy, blobs, observations and a small training run. Before and after each case every file of
the sandbox is hashed: a file that changed or vanished is *destroyed*; a failing case that left
a new file behind *touched* the sandbox. A case *traces back* when anything but a
ChromaticError escapes (or a "Traceback" reaches stderr). Expect 0, 0, 0 and 0 hangs; every
case must also exit non-zero with one line on stderr, but for the few valid inputs that once
broke a command (``must_pass``: they must exit 0; "failed" counts those that did not).

Writes benchmarks/results/misuse_campaign.json. Run:
    nice .venv/bin/python benchmarks/misuse_campaign.py [--timeout 60] [--only VERB]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import select
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
NON_UTF8 = os.fsdecode(b"\xff\xfe-bad")  # what Python makes of a non-UTF-8 argument


@dataclass
class Case:
    verb: str
    mistake: str
    argv: list[str]
    timeout: float | None = None
    ok: bool = False  # not a mistake after all (e.g. a non-UTF-8 file name): exit 0 is right
    must_pass: bool = False  # an input that once broke a command: it must now exit 0


@dataclass
class Outcome:
    verb: str
    mistake: str
    argv: list[str]
    exit: int | None
    seconds: float
    traceback: bool
    destroyed: list[str] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)
    hung: bool = False
    stderr: str = ""
    ok: bool = False
    must_pass: bool = False


# -- the sandbox --------------------------------------------------------------------------------
def make_sandbox(root: Path) -> None:
    import numpy as np

    from chromatic.compiler.compile import compile_policy
    from chromatic.compiler.policy_file import save_policy
    from chromatic.compiler.synth import random_policy

    p = random_policy((8, 16, 2), 5, seed=1)  # Swimmer-v5: 8 observations, 2 actions
    save_policy(p, root / "p.npz")
    (root / "p.cblob").write_bytes(compile_policy(p))
    (root / "truncated.cblob").write_bytes(compile_policy(p)[:-9])
    (root / "garbage.cblob").write_bytes(os.urandom(300))
    (root / "empty.cblob").write_bytes(b"")
    np.save(root / "obs.npy", np.zeros((3, 8), np.float32))
    np.save(root / "obs_wrong.npy", np.zeros((3, 5), np.float32))
    np.save(root / "obs_str.npy", np.array([["a"] * 8]))
    (root / "notes.txt").write_text("not an array\n")
    (root / "sub").mkdir()
    (root / "sub" / "keep.txt").write_text("keep me\n")
    for link, target in (("link.cblob", "p.cblob"), ("link.npz", "p.npz"), ("link.npy", "obs.npy"),
                         ("link.jsonl", "run/log.jsonl")):
        os.symlink(target, root / link)
    os.link(root / "p.npz", root / "hard.npz")
    run = root / "run"
    code = _main(["train", "--env", "Swimmer-v5", "--iterations", "1", "--perturbations", "2",
                  "--backend", "inline", "--horizon", "20", "--eval-episodes", "1", "--quiet",
                  "--out", str(run)])
    if code != 0:
        raise SystemExit(f"could not make the sandbox's training run (exit {code})")
    _review_inputs(root)


def _review_inputs(root: Path) -> None:
    """The inputs of the session-16 bad-input review's findings (docs/safety.md)."""
    import zipfile

    import numpy as np

    from chromatic.compiler.compile import compile_policy
    from chromatic.compiler.synth import random_policy

    (root / "renamed.npz").write_bytes((root / "obs.npy").read_bytes())  # a .npy called .npz
    with zipfile.ZipFile(root / "text_member.npz", "w") as z:
        z.writestr("partition_0.txt", "not an array")
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    header += " " * (-(len(header) + 11) % 64) + "\n"  # a 10-byte preamble, then a 64-aligned header
    (root / "huge_shape.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                                          + header.encode())
    with zipfile.ZipFile(root / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:  # ~600 MB of zeros
        with z.open("layer_0.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                    "shape": (75_000_000,)})
            zeros = bytes(1 << 24)
            for _ in range(36):
                f.write(zeros)
    (root / "linear.cblob").write_bytes(compile_policy(random_policy((8, 2), 5, seed=2)))
    masked = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "masked_m2_f16_bits.cblob"
    shutil.copyfile(masked, root / "pruned_input.cblob")  # an input whose edges are all pruned
    if _main(["build", str(root / "p.cblob"), "--target", "host", "-o", str(root / "ob")]) != 0:
        raise SystemExit("could not make the sandbox's build folder")
    shutil.copyfile(root / "p.cblob", root / "ob" / "selftest" / "in.cblob")
    shutil.copytree(root / "run", root / "run_no_checkpoint")
    (root / "run_no_checkpoint" / "checkpoint.npz").unlink()
    shutil.copytree(root / "run", root / "run_bad_log")
    log = root / "run_bad_log" / "log.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    broken = {k: v for k, v in rows[-1].items() if k != "max_return"}  # one more row, without it
    log.write_text("".join(json.dumps(row) + "\n" for row in [*rows, broken]))


def _main(argv: list[str]) -> int:
    from chromatic.cli import main

    try:
        return int(main(argv) or 0)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for f in sorted(root.rglob("*")):
        if f.is_symlink():
            out[str(f.relative_to(root))] = "link:" + os.readlink(f)
        elif f.is_file():
            out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
        elif f.is_dir():
            out[str(f.relative_to(root)) + "/"] = "dir"
    return out


# -- the cases ----------------------------------------------------------------------------------
def cases(root: Path) -> list[Case]:
    r = str(root)
    blob, pol, obs, run = f"{r}/p.cblob", f"{r}/p.npz", f"{r}/obs.npy", f"{r}/run"
    # output mistakes shared by every verb that writes a file
    bad_outputs = {
        "output into a missing folder": f"{r}/missing/dir/out.x",
        "output is an existing folder": f"{r}/sub",
        "output is the sandbox itself": r,
        "output under /proc": "/proc/self/chromatic-out",
        "output is an existing /proc file": "/proc/version",
        "output under /sys": "/sys/kernel/chromatic-out",
        "output is /dev/full": "/dev/full",
        "output is /dev/null": "/dev/null",
        "output in a file's place as a folder": f"{r}/notes.txt/out.x",
        "output with a non-UTF-8 name": f"{r}/{NON_UTF8}.out",
        "output is an empty string": "",
    }
    out: list[Case] = []

    def file_verb(verb: str, make, inputs: dict[str, str], link: str) -> None:
        for mistake, path in bad_outputs.items():
            out.append(Case(verb, mistake, make(path), ok=mistake == "output with a non-UTF-8 name"
                            or (verb == "plot" and mistake == "output is an empty string")))  # the default
        for name, path in inputs.items():
            out.append(Case(verb, f"output is the input {name}", make(path)))
        out.append(Case(verb, "output is a symlink to the input", make(link)))

    file_verb("compile", lambda o: ["compile", pol, "-o", o],
              {"policy": pol, "policy (./ spelling)": f"{r}/./sub/../p.npz",
               "policy (hard link)": f"{r}/hard.npz"},
              f"{r}/link.npz")
    file_verb("infer", lambda o: ["infer", blob, "--input", obs, "--output", o],
              {"blob": blob, "observations": obs}, f"{r}/link.npy")
    file_verb("export", lambda o: ["export", blob, "-o", o], {"blob": blob}, f"{r}/link.cblob")
    file_verb("import", lambda o: ["import", pol, "--colors", "4", "-o", o], {"model": pol}, f"{r}/link.npz")
    file_verb("plot", lambda o: ["plot", run, "-o", o],
              {"log.jsonl": f"{run}/log.jsonl", "config.json": f"{run}/config.json",
               "checkpoint.npz": f"{run}/checkpoint.npz", "policy.npz": f"{run}/policy.npz"},
              f"{r}/link.jsonl")
    # a folder output may be an existing folder, and a non-UTF-8 name is a name: not mistakes
    folder_ok = ("output is an existing folder", "output is the sandbox itself",
                 "output with a non-UTF-8 name")
    for mistake, path in bad_outputs.items():
        ok = mistake in folder_ok
        out.append(Case("build", mistake, ["build", blob, "--target", "host", "-o", path], ok=ok))
        out.append(Case("analyze", mistake, ["analyze", run, "-o", path],
                        ok=ok or mistake == "output is an empty string"))  # "" is the default
        out.append(Case("train", mistake, ["train", "--env", "Swimmer-v5", "--iterations", "1",
                                           "--perturbations", "2", "--backend", "inline", "--out", path],
                        ok=ok, timeout=180))
    out.append(Case("build", "output is the input blob", ["build", blob, "--target", "host", "-o", blob]))
    out.append(Case("analyze", "output is the run's log", ["analyze", run, "-o", f"{run}/log.jsonl"]))
    out.append(Case("train", "output is the --init-partition file",
                    ["train", "--env", "Swimmer-v5", "--init-partition", pol, "--out", pol]))
    out.append(Case("train", "output is an existing run (no --resume)",
                    ["train", "--env", "Swimmer-v5", "--iterations", "1", "--out", run]))

    # input mistakes, every verb that reads a blob / policy / observations / run
    inputs = {"missing": f"{r}/nope.cblob", "a folder": f"{r}/sub", "garbage": f"{r}/garbage.cblob",
              "empty": f"{r}/empty.cblob", "truncated": f"{r}/truncated.cblob", "a policy, not a blob": pol,
              "/dev/full": "/dev/full", "/proc/self/mem": "/proc/self/mem",
              "non-UTF-8 name": f"{r}/{NON_UTF8}"}
    for mistake, path in inputs.items():
        out.append(Case("compile", f"input {mistake}", ["compile", path if path != pol else blob,
                                                       "-o", f"{r}/new.cblob"]))
        out.append(Case("infer", f"blob {mistake}",
                        ["infer", path, "--input", obs, "--output", f"{r}/new.npy"]))
        out.append(Case("measure", f"blob {mistake}", ["measure", path, "--no-latency"]))
        out.append(Case("export", f"blob {mistake}", ["export", path, "-o", f"{r}/new.onnx"]))
        out.append(Case("run", f"blob {mistake}", ["run", path, "--env", "Swimmer-v5", "--max-steps", "2"]))
        out.append(Case("build", f"blob {mistake}",
                        ["build", path, "--target", "host", "-o", f"{r}/newbuild"]))
        out.append(Case("plot", f"run folder {mistake}", ["plot", path, "-o", f"{r}/new.png"]))
        out.append(Case("analyze", f"run folder {mistake}", ["analyze", path, "-o", f"{r}/newanalysis"]))
        out.append(Case("import", f"model {mistake}", ["import", path, "-o", f"{r}/new.npz"],
                        ok=path == pol))  # a dense-able policy file is a model import takes
    for mistake, path in (("observations of the wrong width", f"{r}/obs_wrong.npy"),
                          ("observations of strings", f"{r}/obs_str.npy"),
                          ("observations not .npy", f"{r}/notes.txt"),
                          ("observations missing", f"{r}/nope.npy")):
        out.append(Case("infer", mistake, ["infer", blob, "--input", path, "--output", f"{r}/new.npy"]))

    # numeric options and values
    numeric = {
        "run": [["--max-steps", "0"], ["--max-steps", "-1"], ["--seed", "-1"], ["--episodes", "0"],
                ["--episodes", "-3"], ["--hz", "0"], ["--hz", "-5"], ["--hz", "nan"], ["--hz", "inf"],
                ["--env", "NoSuchEnv-v9"], ["--env", NON_UTF8], ["--runtime", "java"],
                ["--deadline-us", "0"], ["--deadline-us", "nan"], ["--budget-share", "0"],
                ["--budget-share", "1.5"]],
        "import": [["--colors", "0"], ["--colors", "70000"], ["--colors", "-2"], ["--weighting", "magic"],
                   ["--normalization", "notes.txt"], ["--calibration", "obs_wrong.npy"]],
        "build": [["--flash-kib", "0"], ["--ram-kib", "-1"], ["--target", "z80"], ["--kernel", "magic"],
                  ["--prefix", "not an identifier"], ["--prefix", NON_UTF8]],
        "measure": [["--target", "z80"], ["--target", NON_UTF8]],
        "train": [["--hidden", "70000"], ["--colors", "70000"], ["--colors", "0"], ["--hidden", "0"],
                  ["--iterations", "0"], ["--iterations", "-1"], ["--perturbations", "0"], ["--workers", "0"],
                  ["--activation", "relu"], ["--activation", "sigmoid"], ["--controller", "enas",
                  "--controller-concentration", "1.5"], ["--score-episodes", "-1"], ["--bits-weight", "-1"],
                  ["--init-policy", "garbage.cblob"], ["--timesteps", "0"],
                  ["--structure", NON_UTF8], ["--env", NON_UTF8], ["--sigma", "-1"], ["--lr", "nan"],
                  ["--hidden", "300", "--hidden", "300", "--hidden", "300", "--hidden", "300"] * 17],
    }
    for args in numeric["run"]:
        base = ["run", blob, "--env", "Swimmer-v5", "--max-steps", "2"]
        out.append(Case("run", " ".join(args)[:60], base + args))
    for args in numeric["build"]:
        out.append(Case("build", " ".join(args),
                        ["build", blob, "--target", "host", "-o", f"{r}/newbuild", *args]))
    for args in numeric["import"]:
        args = [f"{r}/{a}" if a.endswith((".txt", ".npy")) else a for a in args]
        out.append(Case("import", " ".join(args)[:60], ["import", pol, "-o", f"{r}/new.npz", *args]))
    for args in numeric["measure"]:
        out.append(Case("measure", " ".join(args), ["measure", blob, "--no-latency", *args]))
    for args in numeric["train"]:
        args = [f"{r}/{a}" if a.endswith(".cblob") else a for a in args]
        out.append(Case("train", " ".join(args)[:60], ["train", "--env", "Swimmer-v5", "--iterations", "1",
                                                       "--perturbations", "2", "--backend", "inline",
                                                       "--out", f"{r}/newrun", *args]))
    out.append(Case("train", "--resume a folder that is no run", ["train", "--resume", f"{r}/sub"]))
    out.append(Case("train", "--resume a file", ["train", "--resume", pol]))
    out.append(Case("train", "--init-partition garbage", ["train", "--env", "Swimmer-v5", "--init-partition",
                                                          f"{r}/garbage.cblob", "--out", f"{r}/newrun"]))
    # the session-16 review's findings (each once a traceback, a crash, a deleted input or a
    # build that failed on a valid policy)
    new_build = f"{r}/newbuild"
    out += [
        Case("build", "the input blob inside the build folder", ["build", f"{r}/ob/selftest/in.cblob",
                                                                 "--target", "host", "-o", f"{r}/ob"]),
        Case("build", "a one-layer policy, inline kernel", ["build", f"{r}/linear.cblob", "--target", "host",
                                                            "--kernel", "inline", "-o", new_build],
             must_pass=True),
        Case("build", "an input whose edges are all pruned, unrolled kernel",
             ["build", f"{r}/pruned_input.cblob", "--target", "host", "--kernel", "unrolled",
              "-o", new_build],
             must_pass=True),
        Case("build", "--prefix of 300 characters", ["build", blob, "--target", "host", "-o", new_build,
                                                     "--prefix", "p" * 300]),
        Case("build", "--prefix stdint", ["build", blob, "--target", "host", "-o", new_build,
                                          "--prefix", "stdint"]),
        Case("build", "--prefix CHROMATIC", ["build", blob, "--target", "host", "-o", new_build,
                                             "--prefix", "CHROMATIC"]),
        Case("compile", "policy is a renamed .npy", ["compile", f"{r}/renamed.npz", "-o", f"{r}/new.cblob"]),
        Case("compile", "policy zip holds a text member", ["compile", f"{r}/text_member.npz", "-o",
                                                           f"{r}/new.cblob"]),
        Case("compile", "policy is a compressed bomb", ["compile", f"{r}/bomb.npz", "-o", f"{r}/new.cblob"]),
        Case("import", "model is a renamed .npy", ["import", f"{r}/renamed.npz", "-o", f"{r}/new.npz"]),
        Case("import", "--calibration claims a huge shape", ["import", pol, "-o", f"{r}/new.npz",
                                                             "--calibration", f"{r}/huge_shape.npy"]),
        Case("infer", "observations claim a huge shape", ["infer", blob, "--input", f"{r}/huge_shape.npy",
                                                          "--output", f"{r}/new.npy"]),
        Case("train", "--init-policy is a renamed .npy", ["train", "--env", "Swimmer-v5", "--init-policy",
                                                          f"{r}/renamed.npz", "--out", f"{r}/newrun"]),
        Case("train", "--resume a run whose checkpoint is lost",
             ["train", "--resume", f"{r}/run_no_checkpoint"]),
        Case("train", "--workers 100000", ["train", "--env", "Swimmer-v5", "--iterations", "1",
                                           "--workers", "100000", "--out", f"{r}/newrun"]),
        Case("train", "--survival-shift nan", ["train", "--env", "Swimmer-v5", "--iterations", "1",
                                               "--survival-shift", "nan", "--out", f"{r}/newrun"]),
        Case("plot", "a log row lacking max_return", ["plot", f"{r}/run_bad_log", "-o", f"{r}/new.png"],
             must_pass=True),
    ]
    # Not run: `train --backend ray --address 127.0.0.1:1` hangs in Ray's own connection retries
    # (and Ray dials the node's own address, not only loopback); the reachability check with a
    # time-out belongs to training/rollout/ray_backend.py.
    return out


# -- running one case in a forked child -----------------------------------------------------------
def run_case(case: Case, root: Path, timeout: float) -> Outcome:
    before = snapshot(root)
    rfd, wfd = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: run the command with stdout/stderr captured into the pipe
        os.setpgid(0, 0)
        os.close(rfd)
        os.dup2(wfd, 2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), errors="backslashreplace",
                                      line_buffering=True)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), line_buffering=True)
        os.chdir(root)
        code = 99
        try:
            code = _main(case.argv)
        except BaseException:  # noqa: BLE001 - this is what the campaign counts
            import traceback

            traceback.print_exc()
            code = 98
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code if 0 <= code < 256 else 97)
    os.close(wfd)
    err = b""
    hung = False
    deadline = t0 + (case.timeout or timeout)
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            hung = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # the case's own process group: workers too
            break
        ready, _, _ = select.select([rfd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            err += chunk
        else:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                pid = -1
                break
    if pid > 0:
        _, status = os.waitpid(pid, 0)
    os.close(rfd)
    seconds = time.perf_counter() - t0
    code = None if hung else (os.waitstatus_to_exitcode(status))
    after = snapshot(root)
    destroyed = sorted(k for k, v in before.items() if after.get(k) != v)
    new = sorted(k for k in after if k not in before)
    text = err.decode(errors="replace")
    trace = code in (97, 98) or "Traceback (most recent call last)" in text or (code is not None and code < 0)
    for k in new:  # restore the sandbox for the next case
        p = root / k.rstrip("/")
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return Outcome(case.verb, case.mistake, case.argv, code, round(seconds, 2), trace, destroyed,
                   new if code != 0 else [], hung, text.strip()[-400:], case.ok or case.must_pass,
                   case.must_pass)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as hung")
    ap.add_argument("--only", help="run only this verb's cases")
    ap.add_argument("--out", default=str(RESULTS / "misuse_campaign.json"))
    a = ap.parse_args(argv)
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for name in ("chromatic.cli", "chromatic.runtime.envs", "chromatic.runtime.control_loop",
                 "chromatic.runtime.onnx_export", "chromatic.runtime.numba_runner", "chromatic.training.run",
                 "chromatic.training.plot", "chromatic.targets.build", "matplotlib.pyplot"):
        importlib.import_module(name)  # warm every import up once, before forking
    import chromatic.runtime.c_loader as c_loader

    c_loader.module()
    root = Path(tempfile.mkdtemp(prefix="chromatic-misuse-"))
    try:
        make_sandbox(root)
        (root / "link.jsonl").unlink()
        os.symlink("run/log.jsonl", root / "link.jsonl")  # after the run exists
        todo = [c for c in cases(root) if a.only in (None, c.verb)]
        results = []
        for i, case in enumerate(todo):
            o = run_case(case, root, a.timeout)
            results.append(o)
            flag = ("TRACEBACK " if o.traceback else "") + ("DESTROYED " if o.destroyed else "") + \
                   ("HUNG " if o.hung else "") + ("EXIT 0 " if o.exit == 0 else "")
            print(f"[{i + 1}/{len(todo)}] {case.verb:8} {case.mistake[:50]:50} exit {o.exit} {flag}",
                  file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    verbs = sorted({o.verb for o in results})
    table = {v: {"cases": sum(o.verb == v for o in results),
                 "tracebacks": sum(o.traceback for o in results if o.verb == v),
                 "destroyed": sum(bool(o.destroyed) for o in results if o.verb == v),
                 "touched": sum(bool(o.touched) for o in results if o.verb == v),
                 "hung": sum(o.hung for o in results if o.verb == v),
                 "exit_0": sum(o.exit == 0 and not o.ok for o in results if o.verb == v),
                 "failed": sum(o.must_pass and o.exit != 0 for o in results if o.verb == v)}
             for v in verbs}
    total = {k: sum(t[k] for t in table.values()) for k in next(iter(table.values()))}
    report = {"machine": platform.platform(), "python": platform.python_version(),
              "euid": os.geteuid(), "total": total, "per_verb": table,
              "cases": [asdict(o) for o in results]}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=1))
    print(f"{'verb':10}{'cases':>7}{'traceback':>11}{'destroyed':>11}{'touched':>9}{'hung':>6}{'exit 0':>8}"
          f"{'failed':>8}")
    for v, t in [*table.items(), ("total", total)]:
        print(f"{v:10}{t['cases']:>7}{t['tracebacks']:>11}{t['destroyed']:>11}{t['touched']:>9}"
              f"{t['hung']:>6}{t['exit_0']:>8}{t['failed']:>8}")
    bad = [o for o in results if o.traceback or o.destroyed or o.hung or o.touched
           or (o.exit == 0 and not o.ok) or (o.must_pass and o.exit != 0)]
    for o in bad:
        print(f"  {o.verb} / {o.mistake}: {o.stderr.splitlines()[-1] if o.stderr else ''}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
