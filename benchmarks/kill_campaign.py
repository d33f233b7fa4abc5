"""Kill campaign: SIGKILL a training run at random moments, resume it, and compare with an uninterrupted run.

    python benchmarks/kill_campaign.py --kills 50 [--write-iterations 6]

A small Pendulum run (``chromatic train`` in a subprocess, inline backend) is trained once
without interruption (the reference). Then, for each trial, the same run is started, killed
with SIGKILL after a random delay (covering start-up, the first checkpoint, mid-iteration and
the final policy writes), resumed with ``--resume`` until it finishes — killed again at random
while resuming, for a few rounds — and its ``policy.npz`` and ``checkpoint.npz`` are compared
with the reference bit for bit. Writes ``benchmarks/results/kill_campaign.json``: kills sent,
runs that finished identical, differing, or failed to resume (any non-zero exit after the kills).

Then the *timed* kills: a shorter run of the same task (``--write-iterations``) is killed at each
of its file writes in turn (benchmarks/kill_at_write.py: before and after every atomic rename,
halfway through and after every log line), resumed to the end and compared the same way;
``write_kills`` in the JSON counts them per kind of write.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
TRAIN = ["--env", "Pendulum-v1", "--hidden", "4", "--colors", "5", "--iterations", "30",
         "--perturbations", "6", "--horizon", "60", "--eval-episodes", "2", "--eval-every", "5",
         "--seed", "7", "--backend", "inline", "--quiet"]


def chromatic(*args: str) -> list[str]:
    return [sys.executable, "-m", "chromatic", *args]


def arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def same(a: Path, b: Path, run_a: Path, run_b: Path) -> bool:
    pa, pb = arrays(a), arrays(b)
    if pa.keys() != pb.keys():
        return False
    for k in pa:
        if k == "elapsed":  # wall-clock seconds of rollouts, the one thing that may differ
            continue
        va, vb = pa[k], pb[k]
        if k in ("train_command",):
            va = np.array(str(va).replace(str(run_a), "RUN"))
            vb = np.array(str(vb).replace(str(run_b), "RUN"))
        if not np.array_equal(va, vb):
            return False
    return True


def finish(run: Path, train: list[str]) -> subprocess.CompletedProcess:
    """Resume a killed run, or start afresh in its folder if it died before ``config.json``."""
    again = (chromatic("train", "--resume", str(run), "--quiet") if (run / "config.json").exists()
             else chromatic("train", *train, "--out", str(run)))
    return subprocess.run(again, capture_output=True, text=True)


def identical(ref: Path, run: Path) -> bool:
    return (same(ref / "policy.npz", run / "policy.npz", ref, run)
            and same(ref / "checkpoint.npz", run / "checkpoint.npz", ref, run))


def write_kills(work: Path, iterations: int) -> dict:
    """Kill a run at each of its file writes in turn; resume; compare with the uninterrupted run."""
    hook = [sys.executable, str(Path(__file__).with_name("kill_at_write.py"))]
    train = [*TRAIN, "--iterations", str(iterations)]
    ref, listing = work / "wref", work / "wref-events.txt"
    subprocess.run([*hook, "-1", str(listing), "--", "train", *train, "--out", str(ref)], check=True,
                   stdout=subprocess.DEVNULL)
    events = [line.split(" ", 2) for line in listing.read_text().splitlines()]
    by_kind: dict[str, dict[str, int]] = {}
    failures = []
    for index, kind, name in events:
        run = work / f"w{index}"
        subprocess.run([*hook, index, str(work / "ignored.txt"), "--", "train", *train, "--out", str(run)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done = finish(run, train)
        ok = done.returncode == 0 and identical(ref, run)
        key = f"{kind} {name}"
        row = by_kind.setdefault(key, {"kills": 0, "identical": 0})
        row["kills"] += 1
        row["identical"] += ok
        if not ok:
            failures.append({"event": int(index), "kind": key, "stderr": done.stderr.strip()[-300:]})
        print(f"write kill {index} ({key}): {'identical' if ok else 'FAILED'}", flush=True)
        shutil.rmtree(run, ignore_errors=True)
    return {"iterations": iterations, "kills": len(events),
            "identical": sum(r["identical"] for r in by_kind.values()), "by_write": by_kind,
            "failures": failures}


def killed_run(cmd: list[str], delay: float) -> int | None:
    """Start ``cmd``; SIGKILL it after ``delay`` seconds. None if it was killed, else its exit code."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        proc.wait(timeout=delay)
        return proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50, help="trials (each starts with one SIGKILL)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-iterations", type=int, default=6,
                    help="iterations of the run killed at each of its file writes (0: skip)")
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="chromatic-kill-"))
    try:
        ref = work / "ref"
        t0 = time.perf_counter()
        subprocess.run(chromatic("train", *TRAIN, "--out", str(ref)), check=True, stdout=subprocess.DEVNULL)
        full = time.perf_counter() - t0
        counts = {"trials": 0, "kills": 0, "identical": 0, "different": 0, "resume_failed": 0}
        failures = []
        for trial in range(args.kills):
            run = work / f"t{trial}"
            counts["trials"] += 1
            code = killed_run(chromatic("train", *TRAIN, "--out", str(run)), rnd.uniform(0.0, full))
            counts["kills"] += code is None
            for _ in range(3):  # kill the resume too, sometimes
                if (run / "policy.npz").exists() and code == 0:
                    break
                if rnd.random() < 0.5 and (run / "config.json").exists():
                    again = chromatic("train", "--resume", str(run), "--quiet")
                    code = killed_run(again, rnd.uniform(0, full))
                    counts["kills"] += code is None
            if not ((run / "policy.npz").exists() and code == 0):
                done = finish(run, TRAIN)
                if done.returncode != 0:
                    counts["resume_failed"] += 1
                    failures.append({"trial": trial, "stderr": done.stderr.strip()[-300:]})
                    continue
            ok = identical(ref, run)
            counts["identical" if ok else "different"] += 1
            if not ok:
                failures.append({"trial": trial, "stderr": "policy or checkpoint differs"})
            print(f"trial {trial}: {'identical' if ok else 'DIFFERENT'}", flush=True)
            shutil.rmtree(run, ignore_errors=True)
        out = {**counts, "uninterrupted_run_s": full, "failures": failures, "train_args": TRAIN,
               "cpus": os.cpu_count()}
        if args.write_iterations:
            out["write_kills"] = write_kills(work, args.write_iterations)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "kill_campaign.json").write_text(json.dumps(out, indent=1) + "\n")
        print(json.dumps(counts))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
