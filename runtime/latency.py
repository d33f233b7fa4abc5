"""Host latency of a blob on every runtime, next to the dense baselines a user would pick.

Per-inference times of the C and Numba kernels are timed *inside* the runtime (a loop
of many calls in C or in jitted code), so they exclude the Python call; the
Python->runtime call overhead is reported separately, as the median time of a Python
call ``runner(obs)`` minus the in-runtime time (and the bare cost of calling an empty C
function). numpy, dense numpy and onnxruntime can only be timed per Python call.
Every figure is the median over several rounds of many repetitions; the spread is
the lowest and highest round.

The in-runtime kernels (``c``: the C runtime's default, expanded path; ``c_in_place``: the
firmware's loadable kernel reading the blob's packed indices; ``numba``; ``dense_c``) are
timed *interleaved*, with the Python calls ``runner(obs)`` of C and Numba and the empty C
call: many short rounds, each timing every one of them once in a rotating order (after one
warm-up burst), so a ratio such as ``c / dense_c``, or a call overhead, compares bursts taken
milliseconds apart and holds on a loaded machine, where the absolute figures do not.
``ratios`` gives each such ratio as the median over rounds of the per-round ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from chromatic.compiler.blob import decode
from chromatic.compiler.ir import Activation
from chromatic.errors import ChromaticError

NAMES = ("c", "c_in_place", "numba", "numpy", "dense_c", "dense_numpy", "onnxruntime")
#: Timed inside the runtime, interleaved round by round (see the module docstring).
INTERLEAVED = ("c", "c_in_place", "numba", "dense_c")
#: (numerator, denominator) of the same-round ratios reported.
RATIOS = (("c", "dense_c"), ("c_in_place", "dense_c"), ("c", "c_in_place"), ("numba", "c_in_place"))


def _rounds(per_call_ns: Callable[[int], float], rounds: int, budget_ns: float) -> list[float]:
    """ns per call for each round; reps per round chosen so a round takes about budget_ns."""
    first = per_call_ns(1)
    reps = int(min(max(budget_ns / max(first, 1.0), 10), 1_000_000))
    return [per_call_ns(reps) for _ in range(rounds)]


def interleaved(kernels: dict[str, Callable[[int], float]], rounds: int,
                 burst_ns: float) -> dict[str, list[float]]:
    """ns per call of every kernel in each of ``rounds`` rounds; each round times every kernel
    once, in an order rotated round by round, with reps chosen so a burst takes ~burst_ns
    and one untimed warm-up burst before it (caches and branch predictors after a switch)."""
    reps = {}
    for name, fn in kernels.items():
        fn(1)
        first = min(fn(10) for _ in range(3))
        reps[name] = int(min(max(burst_ns / max(first, 1.0), 10), 1_000_000))
    names = list(kernels)
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            kernels[name](reps[name])
            out[name].append(kernels[name](reps[name]))
    return out


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
    burst_rounds, burst = (15, 1e5) if quick else (151, 2e5)
    timings: dict[str, list[float]] = {}
    python_call: dict[str, list[float]] = {}
    errors: dict[str, str] = {}
    block_rows: dict[str, list[int]] = {}
    kernels: dict[str, Callable[[int], float]] = {}

    def attempt(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (ChromaticError, ImportError, OSError) as e:
            errors[name] = str(e)

    def run_c() -> None:
        from chromatic.runtime.c_loader import CRunner, DenseC, module

        runner = load(blob, "c")  # the default path: expanded
        in_place = CRunner(blob, expand=False)
        block_rows["c"] = list(runner.block_rows)  # type: ignore[attr-defined]
        dense = DenseC(policy)
        kernels["c"] = lambda r: runner.bench(obs, r)  # type: ignore[attr-defined]
        kernels["c_in_place"] = lambda r: in_place.bench(obs, r)
        kernels["dense_c"] = lambda r: dense.bench(obs, r)
        kernels["python_call:c"] = _python_loop(lambda: runner(obs))
        mod = module()
        noop, null = mod.lib.chromatic_bench_noop, mod.ffi.NULL
        kernels["python_call:c_noop"] = _python_loop(lambda: noop(null, null))
        for name in ("c", "c_in_place", "dense_c"):
            kernels[name](1)  # a failure here is reported as c's, not raised from the timing

    def run_numba() -> None:
        runner = load(blob, "numba")
        runner(obs)  # compile (or load the cache) outside the timing
        block_rows["numba"] = list(runner.block_rows)  # type: ignore[attr-defined]
        kernels["numba"] = lambda r: runner.bench(obs, r)  # type: ignore[attr-defined]
        kernels["python_call:numba"] = _python_loop(lambda: runner(obs))
        kernels["numba"](1)

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
    for name, times in interleaved(kernels, burst_rounds, burst).items():
        if name.startswith("python_call:"):
            python_call[name.removeprefix("python_call:")] = times
        else:
            timings[name] = times
    numpy_runner = load(blob, "numpy")
    timings["numpy"] = _rounds(_python_loop(lambda: numpy_runner(obs)), rounds, budget)
    dense_np = _dense_numpy(policy)
    timings["dense_numpy"] = _rounds(_python_loop(lambda: dense_np(obs)), rounds, budget)
    attempt("onnxruntime", run_onnx)

    med = {k: statistics.median(v) for k, v in timings.items()}
    overhead: dict[str, float] = {}
    for name in ("c", "numba"):  # Python call minus in-runtime time, round by round
        if name in python_call:
            overhead[name] = max(statistics.median(
                [p - t for p, t in zip(python_call[name], timings[name], strict=True)]), 0.0)
    if "c_noop" in python_call:
        overhead["c_noop"] = statistics.median(python_call["c_noop"])
    ratios = {f"{num}_over_{den}": round(statistics.median(
        [x / y for x, y in zip(timings[num], timings[den], strict=True)]), 3)
        for num, den in RATIOS if num in timings and den in timings}
    return {
        "latency_ns": {k: (round(med[k], 1) if k in med else None) for k in NAMES},
        "latency_spread_ns": {k: [round(min(v), 1), round(max(v), 1)] for k, v in timings.items()},
        "python_call_ns": {k: round(statistics.median(v), 1) for k, v in python_call.items()},
        "call_overhead_ns": {k: round(v, 1) for k, v in overhead.items()},
        "latency_rounds": rounds,
        "interleaved_rounds": burst_rounds,
        "ratios": ratios,
        "block_rows": block_rows,
        "latency_errors": errors,
    }


def latency_report(blob: bytes, quick: bool = False) -> tuple[dict[str, object], list[str]]:
    """The JSON fields and table lines ``chromatic measure`` adds (see targets/measure.py)."""
    data = measure(blob, quick=quick)
    lat = data["latency_ns"]
    spread = data["latency_spread_ns"]
    assert isinstance(lat, dict) and isinstance(spread, dict)
    lines = [f"latency        median ns per inference, [min, max] of the rounds "
             f"({data['interleaved_rounds']} interleaved rounds timed inside the runtime, "
             f"{data['latency_rounds']} per Python call)"]
    for name in NAMES:
        if lat[name] is None:
            errs = data["latency_errors"]
            assert isinstance(errs, dict)
            why = errs.get(name) or errs.get("c" if name in ("c_in_place", "dense_c") else name, "")
            lines.append(f"  {name:<12} unavailable: {why}")
        else:
            lo, hi = spread[name]
            where = "timed inside the runtime" if name in INTERLEAVED else "per Python call"
            lines.append(f"  {name:<12} {lat[name]:>10,.0f}   [{lo:,.0f}, {hi:,.0f}]  {where}")
    ratios = data["ratios"]
    assert isinstance(ratios, dict)
    for name, r in ratios.items():
        lines.append(f"  {name.replace('_over_', ' / '):<28} {r:>8.2f}   median of same-round ratios")
    overhead = data["call_overhead_ns"]
    assert isinstance(overhead, dict)
    for name, ns in overhead.items():
        label = "empty C call" if name == "c_noop" else f"Python->{name} call overhead"
        lines.append(f"  {label:<28} {ns:>8,.0f} ns")
    return data, lines
