"""Firmware benchmark: measure --target on the 17->41->6, 17-color policy (issue 6).

Writes benchmarks/results/firmware.json, firmware.txt (the `chromatic measure --target` tables)
and firmware.png: instructions per inference, flash and RAM per target and kernel, beside the
dense float32 build with the same flags. Targets: cortex-m4f, cortex-m3, cortex-m0plus; blobs:
f16 and f32 bit-packed (`chromatic compile`'s default packing) and f16 row-aligned
(`--pack rows`).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from pathlib import Path

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.synth import random_policy
from chromatic.targets.measure import target_report

OUT = Path(__file__).parent / "results"


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help, no options
    OUT.mkdir(parents=True, exist_ok=True)
    policy = random_policy((17, 41, 6), 17, seed=1)
    gcc = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True)
    results = {"machine": platform.platform(), "compiler": gcc.stdout.splitlines()[0], "runs": []}
    text = []
    for dtype, pack in (("f16", "bits"), ("f32", "bits"), ("f16", "rows")):
        data = compile_policy(policy, dtype=dtype, pack=pack)
        for target in ("cortex-m4f", "cortex-m3", "cortex-m0plus"):
            rep, lines = target_report(data, target)
            what = f"{dtype} blob" if pack == "bits" else f"{dtype} blob, --pack {pack}"
            text.append(f"-- {target}, {what} ({len(data)} B)\n" + "\n".join(lines))
            print(text[-1])
            results["runs"].append({"dtype": dtype, "pack": pack, "blob_bytes": len(data), **rep})
    (OUT / "firmware.json").write_text(json.dumps(results, indent=2))
    (OUT / "firmware.txt").write_text("\n\n".join(text) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = [], []
    for r in results["runs"]:
        if r["dtype"] != "f16":
            continue
        if r["pack"] == "rows":  # its default kernel only, beside the bit-packed bars
            labels.append(f"{r['target']}\n{r['kernel']}, rows")
            values.append(r["kernels"][r["kernel"]]["instructions_per_inference"])
            continue
        for k, e in r["kernels"].items():
            labels.append(f"{r['target']}\n{k}")
            values.append(e["instructions_per_inference"])
        labels.append(f"{r['target']}\ndense")
        values.append(r["dense_instructions_per_inference"])
    fig, ax = plt.subplots(figsize=(12, 4.5))
    ax.bar(labels, values)
    ax.set_yscale("log")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_ylabel("instructions per inference (unicorn)")
    ax.set_title("17-41-6, M=17 policy, f16 blob (bit-packed; 'rows': --pack rows)")
    fig.tight_layout()
    fig.savefig(OUT / "firmware.png", dpi=120)


if __name__ == "__main__":
    main()
