"""The training driver: ES iterations over a rollout engine, with exact resume (§3.1, App. B).

A run lives in a directory: ``config.json`` (settings and the command), ``log.jsonl`` (one
line per iteration), ``checkpoint.npz`` (written atomically after every iteration: params,
optimizer state, normalization statistics, RNG state, counters) and, at the end,
``policy.npz`` (the policy file ``chromatic compile`` takes) and ``curve.png``; runs with a
learning controller (``--controller enas``, eqs. (1)-(3), :mod:`training.alternating`) also keep
``partitions/nas_NNNNN.npz``, the population and rewards of every NAS step (``chromatic analyze``).
Every random
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

from chromatic.atomic import atomic_write_bytes, atomic_write_with
from chromatic.errors import ChromaticError
from chromatic.compiler.ir import Normalization
from chromatic.compiler.policy_file import save_policy
from chromatic.training.alternating import (
    NasSettings,
    NasState,
    end_phase,
    finalists,
    observe,
    pivot_partitions,
    split_state,
    start_phase,
)
from chromatic.training.controllers import CONTROLLERS, make_controller
from chromatic.training.envs import describe_env
from chromatic.training.es.strategy import ESState, ForwardES, OptState
from chromatic.training.normalization import RunningStats, normalize_by_default
from chromatic.training.policy_params import (
    PolicySpec,
    initial_params,
    load_init_partition,
    make_spec,
    to_policy,
)
from chromatic.training.rollout.engine import Engine, make_engine
from chromatic.training.rollout.worker import Job

CONFIG, LOG, CHECKPOINT, POLICY = "config.json", "log.jsonl", "checkpoint.npz", "policy.npz"
PARTITIONS = "partitions"
CHECKPOINT_VERSION = 1
#: Candidate partitions re-evaluated with the trained palette to pick a NAS run's final policy.
FINALISTS, FINALIST_EPISODES = 5, 2


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
    nas_every: int = 5
    """K: ES iterations per weight phase; a learning controller updates after each (eq. (3))."""
    replay_size: int = 16
    """best partitions the NAS replay buffer keeps."""
    replay_fraction: float = 0.25
    """share of each NAS population resampled from the replay buffer."""
    controller_lr: float = 1e-3
    """Adam learning rate of a learning controller (App. B.1: 0.001)."""
    entropy_weight: float = 0.3
    """entropy bonus of a learning controller's REINFORCE loss (App. B.1: 0.3)."""

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
        self.nas()
        if not self.controller_lr > 0 or self.entropy_weight < 0:
            raise ChromaticError(f"--controller-lr must be > 0 and --entropy-weight >= 0, got "
                                 f"{self.controller_lr} and {self.entropy_weight}")
        if self.controller not in CONTROLLERS:
            raise ChromaticError(
                f"unknown controller {self.controller!r}; available: {', '.join(CONTROLLERS)}")
        if self.learns_partitions and self.structure != "chromatic":
            raise ChromaticError(
                f"--controller {self.controller} learns partitions: it needs --structure chromatic")
        return self

    def nas(self) -> NasSettings:
        return NasSettings(self.nas_every, self.replay_size, self.replay_fraction).validate()

    @property
    def learns_partitions(self) -> bool:
        return self.controller != "fixed"

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
                     "pivot_episodes", "eval_episodes", "horizon", "init_partition", "controller",
                     "nas_every", "replay_size", "replay_fraction", "controller_lr",
                     "entropy_weight"):
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
    nas: NasState | None = None  # the alternating optimization's state (a learning controller)


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
    nas = st.nas
    group = 2 if cfg.antithetic else 1  # an antithetic pair shares its partition too
    if nas is None:
        partitions, pids, job_parts = None, np.zeros(n, dtype=np.int64), ()
        pivot_pids = np.zeros(ask.num_pivot, dtype=np.int64)
    else:
        if st.iteration % cfg.nas_every == 0:  # a NAS step opens the weight phase (eq. (1))
            nas = start_phase(nas, controller, n, cfg.nas(), rng, group)
        partitions = nas.population
        uniq, pids = np.unique(partitions, axis=0, return_inverse=True)
        pids = pids.reshape(-1)
        job_parts = tuple(st.spec.unflatten(row) for row in uniq)
        pivot_pids = pids[pivot_partitions(ask.num_pivot, n, st.iteration)]
    norm = normalization(cfg, st)
    job = Job(cfg.env_id, st.spec, st.es.params, cfg.sigma, norm.mean, norm.std, cfg.horizon,
              cfg.normalized, job_parts)
    tasks = [(k, int(ask.seeds[k]), int(ask.signs[k]), int(pids[k]), int(ep_seeds[k])) for k in range(n)]
    tasks += [(n + j, 0, 0, int(pivot_pids[j]), int(pivot_seeds[j])) for j in range(ask.num_pivot)]
    t0 = time.perf_counter()
    results = engine.run(job, tasks)
    seconds = time.perf_counter() - t0
    returns = np.array([r.ret for r in results[:n]])
    pivot = np.array([r.ret for r in results[n:]])
    es = strategy.tell(st.es, ask, returns, pivot)
    nas_update = False
    if nas is not None:
        nas = observe(nas, returns, group)
        if (st.iteration + 1) % cfg.nas_every == 0:  # the phase ends: rewards are its maxima (eq. (2))
            nas = end_phase(nas, controller, cfg.nas(), group)
            nas_update = True
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
    if nas is not None:
        st.nas = nas
        own = controller.state_dict() if hasattr(controller, "state_dict") else {}
        st.controller_state = {**own, **nas.to_arrays()}
    row = {
        "iteration": st.iteration, "timesteps": st.timesteps, "episodes": st.episodes,
        "mean_return": float(returns.mean()), "max_return": float(returns.max()),
        "min_return": float(returns.min()),
        "pivot_return": float(pivot.mean()) if pivot.size else None,
        "steps": steps, "steps_per_s": steps / max(seconds, 1e-9), "seconds": seconds,
        "elapsed": st.elapsed,
    }
    if nas is not None:
        row.update(controller=cfg.controller, nas_update=nas_update, nas_updates=nas.updates,
                   controller_mean_reward=_finite(nas.last_mean_reward),
                   controller_entropy=_finite(nas.last_entropy))
    return row


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def log_partitions(run_dir: Path, st: RunState) -> Path:
    """Save the NAS step that just ended: its population, rewards and the palette (for analyze)."""
    assert st.nas is not None
    path = run_dir / PARTITIONS / f"nas_{st.nas.updates:05d}.npz"
    path.parent.mkdir(exist_ok=True)
    arrays = {"partitions": st.nas.population, "rewards": st.nas.best, "sampled": st.nas.sampled,
              "palette": st.es.params[: st.spec.num_colors], "iteration": np.array(st.iteration),
              "timesteps": np.array(st.timesteps), "layer_sizes": np.array(st.spec.layer_sizes)}

    def write(f: IO) -> None:
        np.savez(f, **arrays)

    atomic_write_with(path, write)
    return path


def evaluate_policy(policy, env_id: str, episodes: int, seed: int, horizon: int | None) -> np.ndarray:
    """Returns of a policy compiled to a blob and run on the numpy reference runtime.

    Episode k resets with ``seed + k`` and actions are clipped, exactly as ``chromatic run`` and
    :func:`runtime.control_loop.run_episodes` do, so the recorded ``eval_return`` is re-earned by
    the compiled policy on any runtime (up to float32 rounding).
    """
    from chromatic.compiler.compile import compile_policy
    from chromatic.runtime import load
    from chromatic.runtime.control_loop import run_episodes

    runner = load(compile_policy(policy), "numpy")
    report = run_episodes(runner, env_id, episodes, seed, max_steps=horizon, progress=False)
    return np.asarray(report.returns, dtype=np.float64)


def eval_seed(cfg: TrainConfig) -> int:
    """First episode seed of the final evaluation (episode k uses ``eval_seed + k``)."""
    return int(cfg.seed)


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
    if cfg.learns_partitions:  # the controller's small matmuls run 5-7x slower multi-threaded
        from chromatic.training.rollout.worker import pin_blas_threads

        pin_blas_threads()
    controller = make_controller(cfg.controller, st.spec, cfg.seed,
                                 learning_rate=cfg.controller_lr, entropy_weight=cfg.entropy_weight)
    own, nas_arrays = split_state(st.controller_state)
    if own and hasattr(controller, "load_state_dict"):
        controller.load_state_dict(own)
    if cfg.learns_partitions:
        st.nas = NasState.from_arrays(nas_arrays, st.spec.num_edges)
    bar = None
    try:
        with _engine(opts) as engine:
            bar = tqdm(total=cfg.iterations, initial=st.iteration, desc=f"train {cfg.env_id}",
                       unit="it", disable=not progress, file=sys.stderr, dynamic_ncols=True)
            while st.iteration < cfg.iterations:
                row = iterate(cfg, st, engine, controller)
                with open(run_dir / LOG, "a") as f:
                    f.write(json.dumps(row) + "\n")
                if row.get("nas_update"):
                    log_partitions(run_dir, st)
                save_checkpoint(run_dir / CHECKPOINT, st)
                bar.update(1)
                ctrl = ""
                if row.get("controller_mean_reward") is not None:
                    ent = row["controller_entropy"]
                    ctrl = (f" | ctrl reward {row['controller_mean_reward']:.1f}"
                            + (f" entropy {ent:.3f}" if ent is not None else ""))
                bar.set_postfix_str(
                    f"mean {row['mean_return']:.1f} max {row['max_return']:.1f} "
                    f"steps {st.timesteps} {row['steps_per_s']:.0f} steps/s{ctrl}")
            bar.close()
            spec, params = final_choice(cfg, st, engine, controller)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"chromatic: stopped after iteration {st.iteration}; continue with "
              f"chromatic train --resume {run_dir} --iterations {cfg.iterations}", file=sys.stderr)
        raise
    policy = final_policy(cfg, st, spec, params, None, run_dir)
    returns = evaluate_policy(policy, cfg.env_id, cfg.eval_episodes, eval_seed(cfg), cfg.horizon)
    policy = final_policy(cfg, st, spec, params, float(returns.mean()), run_dir)
    save_policy(policy, run_dir / POLICY)
    from chromatic.training.plot import plot_run

    plot_run(run_dir, run_dir / "curve.png")
    return run_dir / POLICY


def final_choice(cfg: TrainConfig, st: RunState, engine: Engine, controller) -> tuple[PolicySpec, np.ndarray]:
    """The spec (partition) and parameters of the final policy.

    With a learning controller: the best of the replay buffer and the last population, each
    re-evaluated with the trained palette (unperturbed, :data:`FINALIST_EPISODES` episodes from
    the evaluation stream); ties keep the better-rewarded candidate.
    """
    if st.nas is None:
        return st.spec, st.es.params
    cands = finalists(st.nas, FINALISTS)
    if not len(cands):  # no NAS step yet (zero iterations): the run's initial partition
        return st.spec, st.es.params
    _, _, rng = _streams(cfg.seed)
    seeds = rng.integers(2**31, 2**32, size=FINALIST_EPISODES)  # disjoint from training's seeds
    norm = normalization(cfg, st)
    parts = tuple(st.spec.unflatten(c) for c in cands)
    job = Job(cfg.env_id, st.spec, st.es.params, cfg.sigma, norm.mean, norm.std, cfg.horizon, False, parts)
    tasks = [(k * len(seeds) + e, 0, 0, k, int(s)) for k in range(len(cands)) for e, s in enumerate(seeds)]
    results = engine.run(job, tasks)
    scores = np.array([r.ret for r in results]).reshape(len(cands), len(seeds)).mean(axis=1)
    best = int(np.argmax(scores))
    spec = PolicySpec(st.spec.layer_sizes, st.spec.structure, st.spec.num_colors, parts[best])
    return spec, st.es.params


def final_policy(cfg: TrainConfig, st: RunState, spec: PolicySpec, params: np.ndarray,
                 eval_return: float | None, run_dir: Path):
    meta = {"env_id": cfg.env_id, "train_command": cfg.command(str(run_dir)), "seed": int(cfg.seed),
            "timesteps": int(st.timesteps), "eval_seed": eval_seed(cfg),
            "eval_episodes": int(cfg.eval_episodes),
            "eval_return": float("nan") if eval_return is None else float(eval_return)}
    return to_policy(spec, params, normalization(cfg, st), meta)
