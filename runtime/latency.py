"""Host latency of a blob on every runtime, next to the dense baselines a user would pick.

Per-inference times of the C and Numba kernels are timed *inside* the runtime (a loop
of many calls in C or in jitted code), so they exclude the Python call; the
Python->runtime call overhead is reported separately, as the median time of a Python
call ``runner(obs)`` minus the in-runtime time (and the bare cost of calling an empty C
function). numpy, dense numpy and onnxruntime can only be timed per Python call.
Every figure is the median over several rounds of many repetitions; the spread is
the lowest and highest round.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from chromatic.compiler.blob import decode
from chromatic.compiler.ir import Activation
from chromatic.errors import ChromaticError

NAMES = ("c", "numba", "numpy", "dense_c", "dense_numpy", "onnxruntime")


def _rounds(per_call_ns: Callable[[int], float], rounds: int, budget_ns: float) -> list[float]:
    """ns per call for each round; reps per round chosen so a round takes about budget_ns."""
    first = per_call_ns(1)
    reps = int(min(max(budget_ns / max(first, 1.0), 10), 1_000_000))
    return [per_call_ns(reps) for _ in range(rounds)]


def _python_loop(fn: Callable[[], object]) -> Callable[[int], float]:
    def run(reps: int) -> float:
        t0 = time.perf_counter_ns()
        for _ in range(reps):
            fn()
        return (time.perf_counter_ns() - t0) / reps

    return run


def _dense_numpy(policy) -> Callable[[np.ndarray], np.ndarray]:  # type: ignore[no-untyped-def]
    ws = [w.astype(np.float32) for w in policy.weight_matrices()]
    bs = [layer.bias.astype(np.float32) for layer in policy.layers]
    acts = [policy.activation(l) for l in range(len(ws))]
    mean = policy.normalization.mean.astype(np.float32)
    std = policy.normalization.std.astype(np.float32)

    def run(obs: np.ndarray) -> np.ndarray:
        x = (obs - mean) / std
        for w, b, a in zip(ws, bs, acts, strict=True):
            x = w @ x + b
            if a == Activation.TANH:
                x = np.tanh(x)
            elif a == Activation.RELU:
                x = np.maximum(x, np.float32(0))
        return x

    return run


def measure(blob: bytes, quick: bool = False) -> dict[str, object]:
    """Medians, spreads and call overheads (ns) of every runtime and baseline on this blob."""
    from chromatic.runtime import load

    policy = decode(blob).policy
    rng = np.random.default_rng(0)
    obs = (policy.normalization.mean + policy.normalization.std
           * rng.normal(size=policy.layer_sizes[0])).astype(np.float32)
    rounds, budget = (3, 2e6) if quick else (9, 3e7)
    timings: dict[str, list[float]] = {}
    python_call: dict[str, list[float]] = {}
    errors: dict[str, str] = {}
    block_rows: dict[str, list[int]] = {}

    def attempt(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (ChromaticError, ImportError, OSError) as e:
            errors[name] = str(e)

    def run_c() -> None:
        from chromatic.runtime.c_loader import DenseC, module

        runner = load(blob, "c")
        block_rows["c"] = list(runner.block_rows)  # type: ignore[attr-defined]
        timings["c"] = _rounds(lambda r: runner.bench(obs, r), rounds, budget)  # type: ignore[attr-defined]
        python_call["c"] = _rounds(_python_loop(lambda: runner(obs)), rounds, budget)
        dense = DenseC(policy)
        timings["dense_c"] = _rounds(lambda r: dense.bench(obs, r), rounds, budget)
        mod = module()
        noop, null = mod.lib.chromatic_bench_noop, mod.ffi.NULL
        python_call["c_noop"] = _rounds(_python_loop(lambda: noop(null, null)), rounds, budget)

    def run_numba() -> None:
        runner = load(blob, "numba")
        runner(obs)  # compile (or load the cache) outside the timing
        block_rows["numba"] = list(runner.block_rows)  # type: ignore[attr-defined]
        timings["numba"] = _rounds(lambda r: runner.bench(obs, r), rounds, budget)  # type: ignore[attr-defined]
        python_call["numba"] = _rounds(_python_loop(lambda: runner(obs)), rounds, budget)

    def run_onnx() -> None:
        import onnxruntime as ort

        from chromatic.runtime.onnx_export import export_onnx_bytes

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(export_onnx_bytes(blob), opts, providers=["CPUExecutionProvider"])
        feed = {"obs": obs[None, :]}
        timings["onnxruntime"] = _rounds(_python_loop(lambda: sess.run(None, feed)), rounds, budget)

    attempt("c", run_c)
    attempt("numba", run_numba)
    numpy_runner = load(blob, "numpy")
    timings["numpy"] = _rounds(_python_loop(lambda: numpy_runner(obs)), rounds, budget)
    dense_np = _dense_numpy(policy)
    timings["dense_numpy"] = _rounds(_python_loop(lambda: dense_np(obs)), rounds, budget)
    attempt("onnxruntime", run_onnx)

    med = {k: statistics.median(v) for k, v in timings.items()}
    overhead: dict[str, float] = {}
    for name in ("c", "numba"):
        if name in python_call:
            overhead[name] = max(statistics.median(python_call[name]) - med[name], 0.0)
    if "c_noop" in python_call:
        overhead["c_noop"] = statistics.median(python_call["c_noop"])
    return {
        "latency_ns": {k: (round(med[k], 1) if k in med else None) for k in NAMES},
        "latency_spread_ns": {k: [round(min(v), 1), round(max(v), 1)] for k, v in timings.items()},
        "python_call_ns": {k: round(statistics.median(v), 1) for k, v in python_call.items()},
        "call_overhead_ns": {k: round(v, 1) for k, v in overhead.items()},
        "latency_rounds": rounds,
        "block_rows": block_rows,
        "latency_errors": errors,
    }


def latency_report(blob: bytes, quick: bool = False) -> tuple[dict[str, object], list[str]]:
    """The JSON fields and table lines ``chromatic measure`` adds (see targets/measure.py)."""
    data = measure(blob, quick=quick)
    lat = data["latency_ns"]
    spread = data["latency_spread_ns"]
    assert isinstance(lat, dict) and isinstance(spread, dict)
    lines = [f"latency        median ns per inference, [min, max] of {data['latency_rounds']} rounds"]
    for name in NAMES:
        if lat[name] is None:
            errs = data["latency_errors"]
            assert isinstance(errs, dict)
            why = errs.get(name) or errs.get(name.split("_")[-1], "")
            lines.append(f"  {name:<12} unavailable: {why}")
        else:
            lo, hi = spread[name]
            where = "timed inside the runtime" if name in ("c", "numba", "dense_c") else "per Python call"
            lines.append(f"  {name:<12} {lat[name]:>10,.0f}   [{lo:,.0f}, {hi:,.0f}]  {where}")
    overhead = data["call_overhead_ns"]
    assert isinstance(overhead, dict)
    for name, ns in overhead.items():
        label = "empty C call" if name == "c_noop" else f"Python->{name} call overhead"
        lines.append(f"  {label:<28} {ns:>8,.0f} ns")
    return data, lines
