"""Rollout throughput of the engines against single-process steps/s x cores, in the same run.

HalfCheetah-v5 with a 17->41->6 chromatic policy (M=17). For each repeat: the single-process
baseline (InlineEngine, this process) runs ``--single-episodes`` episodes; then each parallel
backend (local, and ray if installed) runs one iteration of ``--tasks`` episodes on ``--workers``
workers (after a warm-up iteration that starts the workers and their environments). Efficiency
= parallel steps/s / (single steps/s x workers); medians over ``--repeats``. The hardware's own
ceiling is measured too: ``--workers`` independent processes (no engine, no driver) each running
the baseline at once; ``vs_ceiling`` = parallel steps/s / their summed steps/s (on a VM, two busy
cores are often slower than one busy core x 2, whatever the engine does).
Writes benchmarks/results/rollout_throughput.json and .png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from chromatic.training.policy_params import initial_params, make_spec
from chromatic.training.rollout.engine import InlineEngine, default_workers, make_engine
from chromatic.training.rollout.worker import Job, pin_blas_threads

RESULTS = Path(__file__).parent / "results"


def make_job(horizon: int) -> Job:
    rng = np.random.default_rng(0)
    spec = make_spec("chromatic", (17, 41, 6), 17, rng)
    return Job("HalfCheetah-v5", spec, initial_params(spec, rng), 0.1, np.zeros(17), np.ones(17),
               horizon, True)


def tasks(n: int, offset: int = 0) -> list:
    return [(i, 1000 + offset + i, 1, 0, offset + i) for i in range(n)]


def steps_per_s(engine, job: Job, n: int, offset: int) -> float:
    t0 = time.perf_counter()
    results = engine.run(job, tasks(n, offset))
    return sum(r.steps for r in results) / (time.perf_counter() - t0)


def _independent(horizon: int, episodes: int, offset: int, barrier, out) -> None:
    """One of the ceiling's processes: the single-process baseline, started with the others."""
    pin_blas_threads()
    inline = InlineEngine()
    job = make_job(horizon)
    steps_per_s(inline, job, 1, offset)  # warm-up: make the env
    barrier.wait()  # every process measures over the same moment
    out.put(steps_per_s(inline, job, episodes, offset))


def ceiling(workers: int, horizon: int, episodes: int, offset: int) -> float:
    """Summed steps/s of ``workers`` independent baseline processes running at the same time."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_independent, args=(horizon, episodes, offset + 1000 * k, barrier, out))
             for k in range(workers)]
    for p in procs:
        p.start()
    total = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=default_workers(), help="default: all cores")
    parser.add_argument("--tasks", type=int, default=0, help="episodes per iteration (default 8/worker)")
    parser.add_argument("--single-episodes", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["local", "ray"])
    parser.add_argument("--name", default="rollout_throughput", help="stem of the JSON and PNG")
    args = parser.parse_args()
    pin_blas_threads()  # the baseline runs like a worker does
    n = args.tasks or 8 * args.workers
    job = make_job(args.horizon)
    inline = InlineEngine()
    steps_per_s(inline, job, 1, 0)  # warm-up: make the env
    engines = {}
    for b in args.backends:
        try:
            engines[b] = make_engine(b, args.workers)
            steps_per_s(engines[b], job, n, 0)  # warm-up: start workers and envs
        except Exception as e:  # e.g. ray not installed
            print(f"skipping {b}: {e}")
    runs: dict[str, list[float]] = {"single": [], "ceiling": [], **{b: [] for b in engines}}
    for r in range(args.repeats):
        runs["single"].append(steps_per_s(inline, job, args.single_episodes, 10_000 * r))
        runs["ceiling"].append(ceiling(args.workers, args.horizon, args.single_episodes, 10_000 * r))
        for b, e in engines.items():
            runs[b].append(steps_per_s(e, job, n, 10_000 * r))
    for e in engines.values():
        e.close()
    single = statistics.median(runs["single"])
    out = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "env": "HalfCheetah-v5", "layer_sizes": [17, 41, 6], "colors": 17,
        "workers": args.workers, "tasks_per_iteration": n, "horizon": args.horizon,
        "repeats": args.repeats, "single_steps_per_s": single,
        "ceiling_steps_per_s": statistics.median(runs["ceiling"]), "runs": runs,
        "backends": {
            b: {"steps_per_s": statistics.median(v),
                "efficiency": statistics.median(v) / (single * args.workers),
                "efficiency_runs": [x / (s * args.workers) for x, s in zip(v, runs["single"], strict=True)],
                "vs_ceiling": statistics.median(v) / statistics.median(runs["ceiling"])}
            for b, v in runs.items() if b not in ("single", "ceiling")
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["single x workers", "independent\nprocesses", *out["backends"]]
    values = [single * args.workers, out["ceiling_steps_per_s"],
              *(v["steps_per_s"] for v in out["backends"].values())]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    ax.bar(names, values, color=["0.6", "0.8", "C0", "C1"][: len(names)])
    for i, b in enumerate(out["backends"].values(), start=2):
        ax.text(i, values[i], f"{100 * b['efficiency']:.0f}%", ha="center", va="bottom")
    ax.set_ylabel("environment steps / s")
    ax.set_title(f"HalfCheetah-v5, 17-41-6, {args.workers} workers")
    fig.savefig(RESULTS / f"{args.name}.png", bbox_inches="tight")
    print(json.dumps({"single_steps_per_s": single, "workers": args.workers,
                      "ceiling": out["ceiling_steps_per_s"] / (single * args.workers),
                      **{b: v["efficiency"] for b, v in out["backends"].items()},
                      **{f"{b}_vs_ceiling": v["vs_ceiling"] for b, v in out["backends"].items()}}))


if __name__ == "__main__":
    main()
