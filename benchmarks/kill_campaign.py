"""Kill campaign: SIGKILL a training run at random moments, resume it, and compare with an uninterrupted run.

    python benchmarks/kill_campaign.py --kills 50

A small Pendulum run (``chromatic train`` in a subprocess, inline backend) is trained once
without interruption (the reference). Then, for each trial, the same run is started, killed
with SIGKILL after a random delay (covering start-up, the first checkpoint, mid-iteration and
the final policy writes), resumed with ``--resume`` until it finishes — killed again at random
while resuming, for a few rounds — and its ``policy.npz`` and ``checkpoint.npz`` are compared
with the reference bit for bit. Writes ``benchmarks/results/kill_campaign.json``: kills sent,
runs that finished identical, differing, or failed to resume (any non-zero exit after the kills).
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
                # killed before config.json: the folder is reused by a fresh start
                again = (chromatic("train", "--resume", str(run), "--quiet") if (run / "config.json").exists()
                         else chromatic("train", *TRAIN, "--out", str(run)))
                done = subprocess.run(again, capture_output=True, text=True)
                if done.returncode != 0:
                    counts["resume_failed"] += 1
                    failures.append({"trial": trial, "stderr": done.stderr.strip()[-300:]})
                    continue
            ok = (same(ref / "policy.npz", run / "policy.npz", ref, run)
                  and same(ref / "checkpoint.npz", run / "checkpoint.npz", ref, run))
            counts["identical" if ok else "different"] += 1
            if not ok:
                failures.append({"trial": trial, "stderr": "policy or checkpoint differs"})
            print(f"trial {trial}: {'identical' if ok else 'DIFFERENT'}", flush=True)
            shutil.rmtree(run, ignore_errors=True)
        out = {**counts, "uninterrupted_run_s": full, "failures": failures, "train_args": TRAIN,
               "cpus": os.cpu_count()}
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "kill_campaign.json").write_text(json.dumps(out, indent=1) + "\n")
        print(json.dumps(counts))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
