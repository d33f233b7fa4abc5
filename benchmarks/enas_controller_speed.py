"""Seconds per ``sample`` and per ``update`` of the ENAS controller: is it ever the bottleneck?

Writes benchmarks/results/enas_controller_speed.json and .png. Medians of ``--repeats`` timed
calls for 17->41->6 (943 edges) and 17->41->41->6 (2,624 edges), M=17, hidden 64 (App. B.1),
in float32 (the default) and float64, and the factorized controller for comparison.

BLAS is pinned to one thread before numpy loads (as rollout workers do): on a shared 2-core
machine a multi-threaded BLAS made these small matmuls 5-7x slower. ``--blas-threads 0`` keeps
the library default, to measure that effect.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

if __name__ == "__main__":  # must happen before numpy is imported
    _n = sys.argv[sys.argv.index("--blas-threads") + 1] if "--blas-threads" in sys.argv else "1"
    if _n != "0":
        for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_var] = _n
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from chromatic.training.enas import make_controller

RESULTS = Path(__file__).parent / "results"


def time_controller(name: str, edges: int, batch: int, repeats: int, **options: object) -> dict:
    ctrl = make_controller(name, edges, 17, seed=0, **options)
    rng = np.random.default_rng(0)
    ctrl.update(*(lambda p: (p, rng.normal(size=batch)))(ctrl.sample(batch, rng)[0]))  # warm-up
    sample_s, update_s = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        parts, _ = ctrl.sample(batch, rng)
        t1 = time.perf_counter()
        ctrl.update(parts, rng.normal(size=batch))
        t2 = time.perf_counter()
        sample_s.append(t1 - t0)
        update_s.append(t2 - t1)
    return {
        "sample_s": statistics.median(sample_s),
        "update_s": statistics.median(update_s),
        "sample_runs": sample_s,
        "update_runs": update_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case (median)")
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--blas-threads", type=int, default=1, help="0: the BLAS library's default")
    args = parser.parse_args()
    cases = [
        (name, edges, batch, dtype)
        for edges in (943, 2624)
        for batch in args.batches
        for name, dtype in (("enas", "float32"), ("enas", "float64"), ("factorized", "float64"))
    ]
    results = []
    for name, edges, batch, dtype in tqdm(cases, desc="cases"):
        opts = {"dtype": np.dtype(dtype).type} if name == "enas" else {}
        r = time_controller(name, edges, batch, args.repeats, **opts)
        results.append({"controller": name, "edges": edges, "batch": batch, "dtype": dtype, **r})
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "repeats": args.repeats,
        "colors": 17,
        "hidden": 64,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }
    (RESULTS / "enas_controller_speed.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=1)
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, edges in zip(axes, (943, 2624), strict=False):
        for name, dtype, style in (
            ("enas", "float64", "-"),
            ("enas", "float32", "--"),
            ("factorized", "float64", ":"),
        ):
            rows = [
                r for r in results if r["edges"] == edges and r["controller"] == name and r["dtype"] == dtype
            ]
            b = [r["batch"] for r in rows]
            ax.plot(
                b,
                [r["sample_s"] for r in rows],
                "o" + style,
                color="tab:blue",
                label=f"{name} {dtype} sample",
            )
            ax.plot(
                b,
                [r["update_s"] for r in rows],
                "s" + style,
                color="tab:orange",
                label=f"{name} {dtype} update",
            )
        ax.set_yscale("log")
        ax.set_xlabel("partitions per call (B)")
        ax.set_title(f"{edges} edges, M = 17")
    axes[0].set_ylabel("seconds (median)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "enas_controller_speed.png", dpi=100)
    for r in results:
        print(
            f"{r['controller']:>10} {r['dtype']} E={r['edges']:5d} B={r['batch']:3d} "
            f"sample {r['sample_s'] * 1e3:7.1f} ms  update {r['update_s'] * 1e3:7.1f} ms"
        )


if __name__ == "__main__":
    main()
