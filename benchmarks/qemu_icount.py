"""Cross-check unicorn's instructions per inference against QEMU (issue 6).

Builds the benchmark policy (17->41->6, M = 17, f16 blob) for a target and kernel, runs the
self-test in QEMU with one instruction per translation block and an execution trace
(`-singlestep -d exec,nochain`: every executed instruction, an IT-skipped one included, is
one trace line), and counts the lines from the first entry of `<prefix>_infer` until
control is back in `main`. The self-test's first vector is the one targets/measure.py
counts in unicorn, so the two numbers must agree.

    .venv/bin/python benchmarks/qemu_icount.py [--target cortex-m4f] [--kernel gather]

Writes benchmarks/results/qemu_icount.json (appends/replaces the target+kernel entry).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.synth import random_policy
from chromatic.targets.build import build, selftest_vectors
from chromatic.targets.emulate import symbols
from chromatic.targets.measure import instructions
from chromatic.targets.registry import get_target

OUT = Path(__file__).parent / "results" / "qemu_icount.json"
TRACE = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")


def qemu_count(elf: Path, machine: str, prefix: str, log: Path) -> int:
    """Instructions of the first <prefix>_infer call in QEMU's single-step exec trace."""
    subprocess.run(["qemu-system-arm", "-M", machine, "-nographic", "-semihosting", "-monitor",
                    "none", "-serial", "none", "-singlestep", "-d", "exec,nochain", "-D",
                    str(log), "-kernel", str(elf)], check=True, capture_output=True, timeout=600)
    syms = symbols(elf)
    entry = syms[f"{prefix}_infer"].addr
    main = syms["main"]
    n, inside = 0, False
    with open(log) as f:
        for line in f:
            m = TRACE.match(line)
            if not m:
                continue
            pc = int(m.group(1), 16) & ~1
            if not inside:
                inside = pc == entry
            elif main.addr <= pc < main.addr + main.size:
                return n
            n += inside
    raise RuntimeError("the trace never returned from infer to main")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="cortex-m4f")
    ap.add_argument("--kernel", default="gather")
    args = ap.parse_args()
    data = compile_policy(random_policy((17, 41, 6), 17, seed=1), dtype="f16")
    t = get_target(args.target)
    with tempfile.TemporaryDirectory(prefix="chromatic-icount-") as tmp:
        r = build(data, t, Path(tmp) / "b", kernel=args.kernel)
        obs = selftest_vectors(decode(data), t, n=1)[0][0]
        uni = instructions(r, r.selftest, r.prefix, obs, 6)[0]
        qemu = qemu_count(r.selftest, t.board.qemu_machine, r.prefix, Path(tmp) / "trace.log")
    qv = subprocess.run(["qemu-system-arm", "--version"], capture_output=True, text=True)
    entry = {"target": t.name, "kernel": args.kernel, "unicorn": uni, "qemu": qemu,
             "qemu_version": qv.stdout.splitlines()[0],
             "method": "qemu -singlestep -d exec,nochain: trace lines from infer entry to main"}
    print(json.dumps(entry, indent=2))
    runs = json.loads(OUT.read_text()) if OUT.exists() else []
    runs = [e for e in runs if (e["target"], e["kernel"]) != (t.name, args.kernel)] + [entry]
    OUT.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
