"""A run directory's files: config.json, log.jsonl and checkpoint.npz (exact resume, §3.1).

``checkpoint.npz`` is written atomically after every iteration and holds everything that
changes between iterations (:class:`RunState`): parameters, optimizer moments, normalization
statistics, the RNG state, counters, the best evaluated policy so far and a learning
controller's state. Every reader turns a missing, corrupt or inconsistent file into one
:class:`ChromaticError` line; nothing is silently accepted or silently truncated.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

import numpy as np

from chromatic.atomic import atomic_write_bytes, atomic_write_with
from chromatic.compiler.ir import Activation, Normalization, Structure, color_outside
from chromatic.compiler.limits import check_sizes
from chromatic.compiler.npfile import read_run_npz
from chromatic.errors import ChromaticError
from chromatic.training.alternating import PREFIX as NAS_PREFIX
from chromatic.training.alternating import NasSettings, NasState
from chromatic.training.es.strategy import ESState, OptState
from chromatic.training.normalization import RunningStats
from chromatic.training.policy_params import PolicySpec
from chromatic.training.settings import TrainConfig

CONFIG, LOG, CHECKPOINT = "config.json", "log.jsonl", "checkpoint.npz"
POLICY, FINAL_POLICY, PARTITIONS = "policy.npz", "final_policy.npz", "partitions"
CURVE = "curve.png"
#: 3 added ``hidden_activation`` (--activation); a version-2 checkpoint is read as tanh, and an
#: older chromatic refuses a version-3 one instead of resuming a relu run as tanh.
CHECKPOINT_VERSION = 3
READABLE_VERSIONS = (2, 3)


@dataclass
class Best:
    """The best mean policy evaluated so far (its parameters and the statistics it was judged with)."""

    params: np.ndarray
    stats: RunningStats
    score: float
    iteration: int
    partition: np.ndarray  # (E,) the flat partition it was evaluated with
    steps: int = 0  # env steps its evaluation took


@dataclass
class RunState:
    """Everything that changes between iterations: exactly what the checkpoint holds."""

    es: ESState
    stats: RunningStats
    rng: np.random.Generator
    spec: PolicySpec
    iteration: int = 0
    timesteps: int = 0
    episodes: int = 0
    elapsed: float = 0.0
    eval_timesteps: int = 0
    best: Best | None = None
    frozen: Normalization | None = None  # the --init-policy's normalization, kept fixed
    controller_state: dict[str, np.ndarray] = field(default_factory=dict)
    nas: NasState | None = None  # the alternating optimization's state (a learning controller)


def save_checkpoint(path: Path, st: RunState) -> None:
    arrays = {
        "version": np.array(CHECKPOINT_VERSION),
        "params": st.es.params, "opt_m": st.es.opt.m, "opt_v": st.es.opt.v,
        "opt_t": np.array(st.es.opt.t), "generation": np.array(st.es.generation),
        "stats_count": np.array(st.stats.count), "stats_sum": st.stats.sum,
        "stats_sumsq": st.stats.sumsq,
        "rng_state": np.array(json.dumps(st.rng.bit_generator.state)),
        "iteration": np.array(st.iteration), "timesteps": np.array(st.timesteps),
        "episodes": np.array(st.episodes), "elapsed": np.array(st.elapsed),
        "eval_timesteps": np.array(st.eval_timesteps),
        "layer_sizes": np.array(st.spec.layer_sizes), "structure": np.array(int(st.spec.structure)),
        "num_colors": np.array(st.spec.num_colors),
        "hidden_activation": np.array(int(st.spec.hidden_activation)),
    }
    if st.best is not None:
        arrays.update(best_params=st.best.params, best_stats_count=np.array(st.best.stats.count),
                      best_stats_sum=st.best.stats.sum, best_stats_sumsq=st.best.stats.sumsq,
                      best_score=np.array(st.best.score), best_iteration=np.array(st.best.iteration),
                      best_partition=st.best.partition)
    if st.frozen is not None:
        arrays.update(frozen_mean=st.frozen.mean, frozen_std=st.frozen.std)
    if st.spec.mask_alpha is not None:  # the masked baseline (an older reader refuses its params)
        arrays.update(mask_alpha=np.array(st.spec.mask_alpha))
    arrays.update({f"partition_{l}": p for l, p in enumerate(st.spec.partitions)})
    arrays.update({f"controller_{k}": v for k, v in st.controller_state.items()})

    def write(f: IO) -> None:
        np.savez(f, **arrays)

    atomic_write_with(path, write)


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(what)


def _colors(p: np.ndarray, shape: tuple[int, ...], num_colors: int, what: str) -> np.ndarray:
    """``p`` if it is an integer array of ``shape`` whose colors are in [0, num_colors)."""
    _check(p.dtype.kind in "iu" and p.shape == shape,
           f"{what} is {p.dtype} of shape {p.shape}, expected integers of shape {shape}")
    _check(color_outside(p, num_colors) is None, f"{what} has colors outside [0, {num_colors})")
    return p


def load_checkpoint(path: Path) -> RunState:
    """Read a checkpoint; anything missing, malformed or inconsistent is one ChromaticError line."""
    if not path.is_file():
        raise ChromaticError(f"{path}: no checkpoint (is this a chromatic train run directory?)")
    a = read_run_npz(path, "checkpoint")  # bounded: a renamed .npy or a zip bomb is one line
    try:
        version = int(a["version"])
        if version not in READABLE_VERSIONS:
            raise ChromaticError(f"{path}: checkpoint version {int(a['version'])} is not supported "
                                 f"(this chromatic writes version {CHECKPOINT_VERSION})")
        sizes = tuple(int(s) for s in a["layer_sizes"])
        _check(len(sizes) >= 2 and min(sizes) >= 1, f"layer sizes {list(sizes)}")
        num_colors = int(a["num_colors"])
        structure = Structure(int(a["structure"]))
        check_sizes(sizes, num_colors, structure.name.lower(), f"{path}: checkpoint")
        parts = tuple(_colors(a[f"partition_{l}"], (sizes[l + 1], sizes[l]), num_colors, f"partition_{l}")
                      for l in range(len(sizes) - 1))
        act = Activation(int(a["hidden_activation"])) if version >= 3 else Activation.TANH
        _check(act in (Activation.TANH, Activation.RELU), f"hidden_activation {act.name.lower()}")
        alpha = float(a["mask_alpha"]) if "mask_alpha" in a else None
        _check(alpha is None or alpha >= 0, f"mask_alpha {alpha}")
        spec = PolicySpec(sizes, structure, num_colors, parts, act, alpha)
        es = ESState(a["params"], OptState(a["opt_m"], a["opt_v"], int(a["opt_t"])), int(a["generation"]))
        _check(es.params.shape == (spec.num_params,), "params do not match the layer sizes")
        _check(es.opt.m.shape == es.params.shape and es.opt.v.shape == es.params.shape,
               "optimizer moments do not match the params")
        _check(bool(np.all(np.isfinite(es.params))), "non-finite params")
        rng = np.random.default_rng()
        rng.bit_generator.state = json.loads(str(a["rng_state"]))
        stats = RunningStats(int(a["stats_count"]), a["stats_sum"], a["stats_sumsq"])
        _check(stats.sum.shape == (sizes[0],) and stats.sumsq.shape == (sizes[0],),
               "normalization statistics do not match the observation size")
        counters = {k: int(a[k]) for k in ("iteration", "timesteps", "episodes", "eval_timesteps")}
        _check(all(v >= 0 for v in counters.values()) and stats.count >= 0 and es.opt.t >= 0,
               f"negative counters {counters}")
        _check(counters["iteration"] == es.generation, "iteration and ES generation disagree")
        best = None
        if "best_params" in a:
            best_partition = _colors(a["best_partition"], (spec.num_edges,), num_colors, "best_partition")
            best = Best(np.array(a["best_params"]),
                        RunningStats(int(a["best_stats_count"]), a["best_stats_sum"], a["best_stats_sumsq"]),
                        float(a["best_score"]), int(a["best_iteration"]), np.array(best_partition))
            _check(best.params.shape == es.params.shape, "best params do not match the params")
            _check(best.stats.sum.shape == (sizes[0],) and best.stats.sumsq.shape == (sizes[0],),
                   "the best policy's normalization statistics do not match the observation size")
        frozen = Normalization(a["frozen_mean"], a["frozen_std"]) if "frozen_mean" in a else None
        _check(frozen is None or frozen.mean.shape == frozen.std.shape == (sizes[0],),
               "frozen normalization size")
        ctrl = {k[len("controller_"):]: v for k, v in a.items() if k.startswith("controller_")}
        return RunState(es, stats, rng, spec, counters["iteration"], counters["timesteps"],
                        counters["episodes"], float(a["elapsed"]), counters["eval_timesteps"], best,
                        frozen, ctrl)
    except ChromaticError:
        raise
    except (KeyError, ValueError, TypeError, OverflowError, AttributeError) as e:
        raise ChromaticError(f"{path}: corrupt checkpoint ({type(e).__name__}: {e})") from None


# -- a learning controller's state ----------------------------------------------------------------
#: NAS-state arrays an older checkpoint may lack (:meth:`NasState.from_arrays` fills them in).
OPTIONAL_NAS = ("candidates", "scores", "incumbent", "merges", "moves", "rejected", "streak", "hold")
_KINDS = {"f": "floats", "i": "integers", "u": "integers", "b": "booleans"}


def _kind(a: np.ndarray) -> str:
    return _KINDS.get(a.dtype.kind, "other")


def _shape(dims: tuple) -> str:
    return f"({', '.join(map(str, dims))}{',' if len(dims) == 1 else ''})"


def check_controller_state(path: Path, st: RunState, cfg: TrainConfig, controller) -> None:
    """The checkpoint's ``controller_*`` arrays, checked against what a fresh ``controller`` of
    the run's settings holds, before the run writes anything; a mismatch is one line naming the
    key, e.g. ``controller_params/V_edge has shape (3, 4), expected (16, 64)``.

    ``controller`` is a fresh one of the run's settings ``cfg`` (``--controller fixed`` keeps no
    state). The controller's own arrays (``state_dict``: its parameters, optimizer moments, critic, its
    ``config/shape``) must have the fresh controller's keys, shapes and dtype kinds, finite floats,
    the same ``config/shape`` and non-negative counters. The NAS state (``controller_nas/*``,
    :class:`NasState`) must have its keys (those :data:`OPTIONAL_NAS` may be missing in an older
    checkpoint, the incumbent not in an incumbent search), its dtype kinds, a population of one
    partition per perturbation, rows of ``num_edges`` colors in range, scores of the scored
    partitions, a replay buffer of at most ``replay_size``, and non-negative counters. A checkpoint
    at iteration 0 may hold no controller state at all (what a fresh run writes).
    """
    state = st.controller_state
    settings = cfg.nas() if cfg.learns_partitions else None
    if settings is None:
        fresh: dict[str, np.ndarray] = {}
    else:
        own = controller.state_dict() if hasattr(controller, "state_dict") else {}
        first = st.spec.flat_partition() if settings.search == "incumbent" else None
        fresh = {**own, **NasState.empty(st.spec.num_edges, first).to_arrays()}
    if not state and st.iteration == 0:
        return

    def fail(key: str, what: str) -> NoReturn:
        raise ChromaticError(f"{path}: controller_{key} {what}")

    for key in state:
        if key not in fresh:
            fail(key, f"is not part of a --controller {cfg.controller} run's checkpoint")
    optional = {NAS_PREFIX + k for k in OPTIONAL_NAS}
    if settings is not None and settings.search == "incumbent":
        optional.discard(NAS_PREFIX + "incumbent")
    for key in fresh:
        if key not in state and key not in optional:
            fail(key, "is missing")
    for key, want in fresh.items():
        if key not in state:
            continue
        a = state[key]
        if _kind(a) != _kind(want):
            fail(key, f"has dtype {a.dtype}, expected {_kind(want)} ({want.dtype})")
        if key.startswith(NAS_PREFIX):
            continue  # shapes that grow with the search: below
        if a.shape != want.shape:
            fail(key, f"has shape {_shape(a.shape)}, expected {_shape(want.shape)}")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            fail(key, f"holds {a[~np.isfinite(a)].flat[0]}, expected finite values")
        if key == "config/shape" and not np.array_equal(a, want):
            fail(key, f"is {a.tolist()}, expected {want.tolist()}")
        if a.dtype.kind in "iu" and a.ndim == 0 and int(a) < 0:
            fail(key, f"is {int(a)}, expected a count >= 0")
    if settings is not None:
        _check_nas(fail, {k[len(NAS_PREFIX):]: v for k, v in state.items() if k.startswith(NAS_PREFIX)},
                   st.spec.num_edges, st.spec.num_colors, settings, cfg.perturbations)


def _check_nas(fail, g: dict[str, np.ndarray], num_edges: int, num_colors: int, settings: NasSettings,
               perturbations: int) -> None:
    """The shapes and values of a :class:`NasState`'s arrays (kinds and keys already checked)."""
    def nas_fail(k: str, what: str) -> NoReturn:
        fail(NAS_PREFIX + k, what)

    P = perturbations
    C = len(g["candidates"]) if "candidates" in g and g["candidates"].ndim == 2 else 0
    R = len(g["buffer"]) if g["buffer"].ndim == 2 else 0
    E = num_edges
    inc = (E,) if settings.search == "incumbent" else (0,)
    shapes = {"population": ((P, E), _shape((P, E))), "best": ((P,), _shape((P,))),
              "sampled": ((P,), _shape((P,))), "candidates": ((C, E), f"(C, {E})"),
              "scores": ((P + C,), _shape((P + C,))),
              "buffer": ((R, E), f"(R, {E}) with R <= {settings.replay_size}"),
              "buffer_scores": ((R,), _shape((R,))), "incumbent": (inc, _shape(inc))}
    if R > settings.replay_size:
        nas_fail("buffer", f"has shape {_shape(g['buffer'].shape)}, expected {shapes['buffer'][1]}")
    for k, a in g.items():
        want, said = shapes.get(k, ((), "()"))
        if a.shape != want:
            nas_fail(k, f"has shape {_shape(a.shape)}, expected {said}")
    for k in ("population", "candidates", "buffer", "incumbent"):
        a = g.get(k)
        if a is not None and color_outside(a, num_colors) is not None:
            nas_fail(k, f"has colors outside [0, {num_colors})")
    # finite floats, but for the sentinels the search itself writes: NaN for "not scored" (scores,
    # the last update's statistics before the first), -inf for "no return yet" (phase maxima)
    allowed = {"scores": "nan", "last_mean_reward": "nan", "last_entropy": "nan",
               "best": "-inf", "buffer_scores": "-inf"}
    for k, a in g.items():
        if a.dtype.kind != "f":
            continue
        ok = np.isfinite(a)
        if allowed.get(k) == "nan":
            ok |= np.isnan(a)
        elif allowed.get(k) == "-inf":
            ok |= a == -np.inf
        if not np.all(ok):
            extra = {"nan": " or NaN", "-inf": " or -inf"}.get(allowed.get(k, ""), "")
            nas_fail(k, f"holds {a[~ok].flat[0]}, expected finite values{extra}")
    for k, a in g.items():
        if a.dtype.kind in "iu" and a.ndim == 0 and int(a) < 0:
            nas_fail(k, f"is {int(a)}, expected a count >= 0")
    if "merges" in g and int(g["merges"]) > C:
        nas_fail("merges", f"is {int(g['merges'])}, expected at most the {C} candidates")


def write_config(run_dir: Path, cfg: TrainConfig) -> None:
    atomic_write_bytes(run_dir / CONFIG, cfg.to_json().encode())


def load_config(run_dir: Path) -> TrainConfig:
    path = run_dir / CONFIG
    if not path.is_file():
        raise ChromaticError(f"{run_dir}: not a run directory (no {CONFIG})")
    try:
        return TrainConfig.from_json(path.read_text()).validate()
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise ChromaticError(f"{path}: corrupt run config ({e})") from None


def read_log(run_dir: Path) -> list[dict]:
    """The log's rows; a torn *last* line (a kill mid-write) is dropped, any other bad line is an error."""
    path = run_dir / LOG
    if not path.is_file():
        return []
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    rows = []
    for k, line in enumerate(lines):
        try:
            row = json.loads(line)
            _check(isinstance(row, dict) and isinstance(row.get("iteration"), int), "no iteration")
        except ValueError:
            if k == len(lines) - 1:
                break
            raise ChromaticError(f"{path}: line {k + 1} is corrupt (not a log row); "
                                 f"fix or remove it to resume") from None
        rows.append(row)
    return rows


def truncate_log(run_dir: Path, iterations_done: int) -> None:
    """Drop log lines of iterations the checkpoint does not hold (a kill between the two)."""
    rows = [r for r in read_log(run_dir) if r["iteration"] <= iterations_done]
    atomic_write_bytes(run_dir / LOG, "".join(json.dumps(r) + "\n" for r in rows).encode())


def append_log(run_dir: Path, row: dict) -> None:
    with open(run_dir / LOG, "a") as f:
        f.write(json.dumps(row) + "\n")


def remove_stale_temps(run_dir: Path) -> None:
    """Temp files of atomic writes a kill left behind (``.NAME.*.tmp``)."""
    for tmp in run_dir.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()
