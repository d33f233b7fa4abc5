"""The training driver: ES iterations over a rollout engine, with exact resume (§3.1, App. B).

A run lives in a directory: ``config.json`` (settings and the command), ``log.jsonl`` (one
line per iteration), ``checkpoint.npz`` (written atomically after every iteration: params,
optimizer state, normalization statistics, RNG state, counters) and, at the end,
``policy.npz`` (the policy file ``chromatic compile`` takes) and ``curve.png``. Every random
draw comes from RNG streams derived from the seed and saved in the checkpoint, and rollout
results are gathered by index, so a resumed run, any backend and any number of workers end
with exactly the same policy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shlex
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from tqdm import tqdm

from compiler.atomic import atomic_write_bytes, atomic_write_with
from compiler.errors import ChromaticError
from compiler.ir import Normalization
from compiler.policy_file import save_policy
from training.controllers import make_controller
from training.envs import describe_env
from training.es.strategy import ESState, ForwardES, OptState
from training.normalization import RunningStats, normalize_by_default
from training.policy_params import (
    PolicySpec,
    initial_params,
    load_init_partition,
    make_spec,
    to_policy,
)
from training.rollout.engine import Engine, make_engine
from training.rollout.worker import Job, RolloutResult

CONFIG, LOG, CHECKPOINT, POLICY = "config.json", "log.jsonl", "checkpoint.npz", "policy.npz"
CHECKPOINT_VERSION = 1


@dataclass
class TrainConfig:
    """Settings that determine the result (saved in config.json; resume reads them back)."""

    env_id: str
    """gymnasium id (MuJoCo v5 tasks, chromatic/Minitaur-v0, or any registered id)."""
    hidden: tuple[int, ...] = ()
    """hidden layer widths; () is a linear policy."""
    structure: str = "chromatic"
    """chromatic | dense | toeplitz | circulant."""
    colors: int = 17
    """palette size M of a chromatic policy (ignored by the implicit structures)."""
    iterations: int = 100
    """total ES iterations of the run."""
    perturbations: int = 32
    """perturbed rollouts per iteration (pairs count twice with --antithetic)."""
    seed: int = 0
    """the one seed every random draw derives from."""
    sigma: float = 0.1
    """Gaussian smoothing std (B.3)."""
    lr: float = 0.01
    """learning rate eta (B.3)."""
    antithetic: bool = False
    """antithetic pairs instead of forward differences against a pivot."""
    optimizer: str = "sgd"
    """sgd | adam."""
    pivot_episodes: int = 1
    """unperturbed rollouts per iteration whose mean return is the pivot of eq. (3)."""
    eval_episodes: int = 5
    """episodes of the final policy averaged into eval_return."""
    horizon: int | None = None
    """cap on episode length (None: the env's own limit)."""
    normalize: bool | None = None
    """observation normalization; None: on except for Swimmer (B.2)."""
    init_partition: str | None = None
    """policy file whose partition a chromatic run reuses (Appendix D)."""
    controller: str = "fixed"
    """where each perturbation's partition comes from (training/controllers.py)."""

    def validate(self) -> TrainConfig:
        if self.iterations < 0:
            raise ChromaticError(f"--iterations must be >= 0, got {self.iterations}")
        if self.perturbations < 1:
            raise ChromaticError(f"--perturbations must be at least 1, got {self.perturbations}")
        if any(h < 1 for h in self.hidden):
            raise ChromaticError(f"--hidden widths must be at least 1, got {list(self.hidden)}")
        if self.eval_episodes < 1:
            raise ChromaticError(f"--eval-episodes must be at least 1, got {self.eval_episodes}")
        if self.horizon is not None and self.horizon < 1:
            raise ChromaticError(f"--horizon must be at least 1, got {self.horizon}")
        self.strategy()  # checks sigma, lr, optimizer, antithetic parity
        return self

    def strategy(self) -> ForwardES:
        return ForwardES(self.perturbations, self.sigma, self.lr, self.antithetic,
                         self.optimizer, self.pivot_episodes)

    def command(self, out: str) -> str:
        """The canonical ``chromatic train`` command for these settings (policy metadata)."""
        argv = ["chromatic", "train", "--env", self.env_id]
        for h in self.hidden:
            argv += ["--hidden", str(h)]
        argv += ["--structure", self.structure]
        if self.structure == "chromatic":
            argv += ["--colors", str(self.colors)]
        defaults = TrainConfig(self.env_id)
        for name in ("iterations", "perturbations", "seed", "sigma", "lr", "optimizer",
                     "pivot_episodes", "eval_episodes", "horizon", "init_partition", "controller"):
            value = getattr(self, name)
            if name in ("iterations", "perturbations", "seed") or value != getattr(defaults, name):
                argv += [f"--{name.replace('_', '-')}", str(value)]
        if self.antithetic:
            argv.append("--antithetic")
        if self.normalize is not None:
            argv.append("--normalize" if self.normalize else "--no-normalize")
        return shlex.join([*argv, "--out", out])

    @property
    def normalized(self) -> bool:
        return normalize_by_default(self.env_id) if self.normalize is None else self.normalize


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
    controller_state: dict[str, np.ndarray] = field(default_factory=dict)


# -- run directory ----------------------------------------------------------------------------
def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Independent RNG streams: setup (partition, init), iterations, final evaluation."""
    return tuple(np.random.default_rng([seed, k]) for k in (1, 2, 3))  # type: ignore[return-value]


def new_state(cfg: TrainConfig, obs_dim: int, act_dim: int) -> RunState:
    setup, rng, _ = _streams(cfg.seed)
    init = load_init_partition(cfg.init_partition) if cfg.init_partition else None
    spec = make_spec(cfg.structure, (obs_dim, *cfg.hidden, act_dim), cfg.colors, setup, init)
    es = cfg.strategy().init(initial_params(spec, setup))
    return RunState(es, RunningStats.zeros(obs_dim), rng, spec)


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
        "layer_sizes": np.array(st.spec.layer_sizes), "structure": np.array(int(st.spec.structure)),
        "num_colors": np.array(st.spec.num_colors),
    }
    arrays.update({f"partition_{l}": p for l, p in enumerate(st.spec.partitions)})
    arrays.update({f"controller_{k}": v for k, v in st.controller_state.items()})

    def write(f: IO) -> None:
        np.savez(f, **arrays)

    atomic_write_with(path, write)


def load_checkpoint(path: Path) -> RunState:
    """Read a checkpoint; anything missing or malformed is one ChromaticError line."""
    if not path.is_file():
        raise ChromaticError(f"{path}: no checkpoint (is this a chromatic train run directory?)")
    try:
        with np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        if int(a["version"]) != CHECKPOINT_VERSION:
            raise ChromaticError(f"{path}: checkpoint version {int(a['version'])} is not supported")
        sizes = tuple(int(s) for s in a["layer_sizes"])
        parts = tuple(a[f"partition_{l}"] for l in range(len(sizes) - 1))
        spec = PolicySpec(sizes, int(a["structure"]), int(a["num_colors"]), parts)
        es = ESState(a["params"], OptState(a["opt_m"], a["opt_v"], int(a["opt_t"])), int(a["generation"]))
        if es.params.shape != (spec.num_params,):
            raise ValueError("params do not match the layer sizes")
        rng = np.random.default_rng()
        rng.bit_generator.state = json.loads(str(a["rng_state"]))
        stats = RunningStats(int(a["stats_count"]), a["stats_sum"], a["stats_sumsq"])
        ctrl = {k[len("controller_"):]: v for k, v in a.items() if k.startswith("controller_")}
        return RunState(es, stats, rng, spec, int(a["iteration"]), int(a["timesteps"]),
                        int(a["episodes"]), float(a["elapsed"]), ctrl)
    except ChromaticError:
        raise
    except (KeyError, ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ChromaticError(f"{path}: corrupt checkpoint ({type(e).__name__}: {e})") from None


def load_config(run_dir: Path) -> TrainConfig:
    path = run_dir / CONFIG
    if not path.is_file():
        raise ChromaticError(f"{run_dir}: not a run directory (no {CONFIG})")
    try:
        raw = json.loads(path.read_text())
        raw["hidden"] = tuple(raw.get("hidden", ()))
        return TrainConfig(**raw).validate()
    except (ValueError, TypeError) as e:
        raise ChromaticError(f"{path}: corrupt run config ({e})") from None


def read_log(run_dir: Path) -> list[dict]:
    path = run_dir / LOG
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError:
                break  # a torn last line from a kill mid-write
    return rows


def _truncate_log(run_dir: Path, iterations_done: int) -> None:
    """Drop log lines of iterations the checkpoint does not hold (a kill between the two)."""
    rows = [r for r in read_log(run_dir) if r["iteration"] <= iterations_done]
    atomic_write_bytes(run_dir / LOG, "".join(json.dumps(r) + "\n" for r in rows).encode())


# -- one iteration ----------------------------------------------------------------------------
def normalization(cfg: TrainConfig, st: RunState) -> Normalization:
    if not cfg.normalized:
        return Normalization.identity(st.spec.layer_sizes[0])
    return st.stats.to_normalization()


def iterate(cfg: TrainConfig, st: RunState, engine: Engine, controller) -> dict:
    """One ES iteration; mutates ``st`` only at the end (so an interrupt leaves it intact)."""
    strategy = cfg.strategy()
    rng = np.random.default_rng()
    rng.bit_generator.state = st.rng.bit_generator.state
    ask = strategy.ask(st.es, rng)
    n = len(ask.seeds)
    # Episode seeds: shared by the two halves of an antithetic pair (common random numbers).
    ep = rng.integers(0, 2**31, size=n // 2 if cfg.antithetic else n)
    ep_seeds = np.repeat(ep, 2) if cfg.antithetic else ep
    pivot_seeds = rng.integers(0, 2**31, size=ask.num_pivot)
    if getattr(controller, "fixed", False):
        partitions, pids, job_parts = None, np.zeros(n, dtype=np.int64), ()
    else:
        sampled = controller.sample(n, rng)  # the ENAS controllers also return log-probs
        partitions = np.asarray(sampled[0] if isinstance(sampled, tuple) else sampled)
        uniq, pids = np.unique(partitions, axis=0, return_inverse=True)
        job_parts = tuple(st.spec.unflatten(row) for row in uniq)
    norm = normalization(cfg, st)
    job = Job(cfg.env_id, st.spec, st.es.params, cfg.sigma, norm.mean, norm.std, cfg.horizon,
              cfg.normalized, job_parts)
    tasks = [(k, int(ask.seeds[k]), int(ask.signs[k]), int(pids[k]), int(ep_seeds[k])) for k in range(n)]
    npart = max(len(job_parts), 1)
    tasks += [(n + j, 0, 0, j % npart, int(pivot_seeds[j])) for j in range(ask.num_pivot)]
    t0 = time.perf_counter()
    results = engine.run(job, tasks)
    seconds = time.perf_counter() - t0
    returns = np.array([r.ret for r in results[:n]])
    pivot = np.array([r.ret for r in results[n:]])
    es = strategy.tell(st.es, ask, returns, pivot)
    if partitions is not None:
        controller.update(partitions, returns)
    stats = st.stats
    if cfg.normalized:
        for r in results:
            if r.obs_count:
                stats = stats.merge(RunningStats(r.obs_count, r.obs_sum, r.obs_sumsq))
    steps = sum(r.steps for r in results)
    st.es, st.stats, st.rng = es, stats, rng
    st.iteration += 1
    st.timesteps += steps
    st.episodes += len(results)
    st.elapsed += seconds
    if hasattr(controller, "state_dict"):
        st.controller_state = dict(controller.state_dict())
    return {
        "iteration": st.iteration, "timesteps": st.timesteps, "episodes": st.episodes,
        "mean_return": float(returns.mean()), "max_return": float(returns.max()),
        "min_return": float(returns.min()),
        "pivot_return": float(pivot.mean()) if pivot.size else None,
        "steps": steps, "steps_per_s": steps / max(seconds, 1e-9), "seconds": seconds,
        "elapsed": st.elapsed,
    }


def evaluate(cfg: TrainConfig, st: RunState, engine: Engine, episodes: int) -> np.ndarray:
    """Returns of the unperturbed policy; statistics frozen and not updated (ARS)."""
    _, _, rng = _streams(cfg.seed)
    seeds = rng.integers(0, 2**31, size=episodes)
    norm = normalization(cfg, st)
    job = Job(cfg.env_id, st.spec, st.es.params, cfg.sigma, norm.mean, norm.std, cfg.horizon, False)
    results: list[RolloutResult] = engine.run(job, [(k, 0, 0, 0, int(s)) for k, s in enumerate(seeds)])
    return np.array([r.ret for r in results])


# -- the run ---------------------------------------------------------------------------------
@dataclass
class EngineOptions:
    """How rollouts are executed: changes speed, never results."""

    backend: str = "local"
    workers: int | None = None
    address: str | None = None

    def validate(self) -> EngineOptions:
        if self.workers is not None and self.workers < 1:
            raise ChromaticError(f"--workers must be at least 1, got {self.workers}")
        return self


def start(cfg: TrainConfig, run_dir: str | Path, engine_opts: EngineOptions,
          progress: bool = True) -> Path:
    """Begin a new run in ``run_dir`` and train it to ``cfg.iterations``."""
    cfg.validate()
    engine_opts.validate()
    run_dir = Path(run_dir)
    if (run_dir / CHECKPOINT).exists() or (run_dir / CONFIG).exists():
        raise ChromaticError(f"{run_dir} already holds a run; continue it with --resume {run_dir}")
    info = describe_env(cfg.env_id)
    st = new_state(cfg, info.obs_dim, info.act_dim)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ChromaticError(f"{run_dir}: cannot create run directory ({e.strerror})") from None
    atomic_write_bytes(run_dir / CONFIG, (json.dumps(dataclasses.asdict(cfg), indent=2) + "\n").encode())
    atomic_write_bytes(run_dir / LOG, b"")
    save_checkpoint(run_dir / CHECKPOINT, st)
    return _train(cfg, st, run_dir, engine_opts, progress)


def resume(run_dir: str | Path, iterations: int | None, engine_opts: EngineOptions,
           progress: bool = True) -> Path:
    """Continue the run in ``run_dir`` up to ``iterations`` in total (its own settings otherwise)."""
    run_dir = Path(run_dir)
    engine_opts.validate()
    if not run_dir.is_dir():
        raise ChromaticError(f"{run_dir}: no such run directory")
    cfg = load_config(run_dir)
    st = load_checkpoint(run_dir / CHECKPOINT)
    if iterations is not None:
        if iterations < st.iteration:
            raise ChromaticError(
                f"{run_dir} already ran {st.iteration} iterations; --iterations {iterations} is fewer")
        cfg.iterations = iterations
        atomic_write_bytes(run_dir / CONFIG, (json.dumps(dataclasses.asdict(cfg), indent=2) + "\n").encode())
    describe_env(cfg.env_id)
    _truncate_log(run_dir, st.iteration)
    return _train(cfg, st, run_dir, engine_opts, progress)


@contextlib.contextmanager
def _engine(opts: EngineOptions) -> Iterator[Engine]:
    engine = make_engine(opts.backend, opts.workers, opts.address)
    try:
        yield engine
    finally:
        engine.close()


def _train(cfg: TrainConfig, st: RunState, run_dir: Path, opts: EngineOptions, progress: bool) -> Path:
    controller = make_controller(cfg.controller, st.spec, cfg.seed)
    if st.controller_state and hasattr(controller, "load_state_dict"):
        controller.load_state_dict(st.controller_state)
    bar = None
    try:
        with _engine(opts) as engine:
            bar = tqdm(total=cfg.iterations, initial=st.iteration, desc=f"train {cfg.env_id}",
                       unit="it", disable=not progress, file=sys.stderr, dynamic_ncols=True)
            while st.iteration < cfg.iterations:
                row = iterate(cfg, st, engine, controller)
                with open(run_dir / LOG, "a") as f:
                    f.write(json.dumps(row) + "\n")
                save_checkpoint(run_dir / CHECKPOINT, st)
                bar.update(1)
                bar.set_postfix_str(
                    f"mean {row['mean_return']:.1f} max {row['max_return']:.1f} "
                    f"steps {st.timesteps} {row['steps_per_s']:.0f} steps/s")
            bar.close()
            returns = evaluate(cfg, st, engine, cfg.eval_episodes)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"chromatic: stopped after iteration {st.iteration}; continue with "
              f"chromatic train --resume {run_dir} --iterations {cfg.iterations}", file=sys.stderr)
        raise
    policy = final_policy(cfg, st, float(returns.mean()), run_dir)
    save_policy(policy, run_dir / POLICY)
    from training.plot import plot_run

    plot_run(run_dir, run_dir / "curve.png")
    return run_dir / POLICY


def final_policy(cfg: TrainConfig, st: RunState, eval_return: float, run_dir: Path):
    meta = {"env_id": cfg.env_id, "train_command": cfg.command(str(run_dir)), "seed": int(cfg.seed),
            "timesteps": int(st.timesteps), "eval_return": float(eval_return)}
    return to_policy(st.spec, st.es.params, normalization(cfg, st), meta)
