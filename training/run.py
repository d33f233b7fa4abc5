"""The training driver: ES iterations over a rollout engine, with exact resume (§3.1, App. B).

A run lives in a directory (:mod:`training.checkpoint`): ``config.json`` (the settings,
:mod:`training.settings`), ``log.jsonl`` (one line per iteration), ``checkpoint.npz`` (written
atomically after every iteration) and, at the end, ``policy.npz`` (the best evaluated mean
policy, the file ``chromatic compile`` takes), ``final_policy.npz`` (the last one) and
``curve.png``. Every ``eval_every`` iterations the mean policy is evaluated on held-out reset
seeds (never the training seeds) and the best is kept; its recorded ``eval_return`` comes from
yet another set of seeds, those ``chromatic run --seed SEED`` uses, so selecting the best does
not inflate it. Runs with a learning controller (``--controller enas``, eqs. (1)-(3),
:mod:`training.alternating`) also keep ``partitions/nas_NNNNN.npz`` (``chromatic analyze``).
Every random draw comes from RNG streams derived from the seed and saved in the checkpoint, and
rollout results are gathered by index, so a resumed run, any backend and any number of workers
end with exactly the same policy.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from chromatic.atomic import atomic_write_with, check_output
from chromatic.compiler.ir import Normalization
from chromatic.compiler.passes.quantize import stored
from chromatic.compiler.policy_file import save_policy
from chromatic.errors import ChromaticError
from chromatic.training import masked
from chromatic.training.alternating import (
    NasState,
    ScoreJobs,
    end_phase,
    finalists,
    observe,
    pivot_partitions,
    score,
    score_jobs,
    scored_partitions,
    split_state,
    start_phase,
)
from chromatic.training.checkpoint import (
    CHECKPOINT,
    CONFIG,
    CURVE,
    FINAL_POLICY,
    LOG,
    PARTITIONS,
    POLICY,
    Best,
    RunState,
    append_log,
    check_controller_state,
    load_checkpoint,
    load_config,
    read_log,
    remove_stale_temps,
    save_checkpoint,
    truncate_log,
    write_config,
)
from chromatic.training.controllers import make_controller
from chromatic.training.envs import describe_env
from chromatic.training.normalization import RunningStats
from chromatic.training.policy_params import (
    HIDDEN_ACTIVATIONS,
    PolicySpec,
    init_from_policy,
    initial_params,
    load_init_partition,
    make_spec,
    to_policy,
)
from chromatic.training.rollout import engine as rollout_engine
from chromatic.training.rollout.engine import Engine, make_engine
from chromatic.training.rollout.worker import Job
from chromatic.training.settings import MAX_WORKERS_PER_CORE, TrainConfig, check_blob_limits
from chromatic.training.warmup import (
    WARMUP_CONFIG,
    WARMUP_DIR,
    colored_name,
    dense_config,
    new_budget,
    train_with_warmup,
    warmup_settings,
)

__all__ = ["CHECKPOINT", "CONFIG", "LOG", "POLICY", "FINAL_POLICY", "EngineOptions", "TrainConfig",
           "load_checkpoint", "read_log", "resume", "start"]

#: Candidate partitions re-evaluated with the trained palette to pick a NAS run's final policy.
FINALISTS, FINALIST_EPISODES = 5, 2


#: The command that continues the run being trained, when it is not this stage's own
#: (a --dense-warmup run sets it: its stages continue with one `--resume RUN`).
RESUME_COMMAND: contextvars.ContextVar[str | None] = contextvars.ContextVar("resume_command", default=None)


def resume_command(cfg: TrainConfig, run_dir: Path) -> str:
    """``chromatic train --resume RUN`` with the run's budget, as an interrupted run prints it."""
    more = (f"--timesteps {cfg.timesteps}" if cfg.timesteps is not None
            else f"--iterations {cfg.iterations}")
    return f"chromatic train --resume {run_dir} {more}"


def _streams(seed: int) -> tuple[np.random.Generator, ...]:
    """Independent RNG streams: setup (partition, init), iterations, finalists, selection seeds."""
    return tuple(np.random.default_rng([seed, k]) for k in (1, 2, 3, 4))


def new_state(cfg: TrainConfig, obs_dim: int, act_dim: int) -> RunState:
    setup, rng = _streams(cfg.seed)[:2]
    sizes = (obs_dim, *cfg.hidden, act_dim)
    check_blob_limits(cfg.hidden, None, sizes, cfg.structure)
    frozen = None
    if cfg.init_policy:
        _, policy = cfg.with_init_policy()
        spec, theta = init_from_policy(policy)
        if spec.layer_sizes != sizes:
            raise ChromaticError(f"--init-policy has layer sizes {list(spec.layer_sizes)}; "
                                 f"{cfg.env_id} needs {list(sizes)}")
        frozen = policy.normalization
    elif cfg.structure == "masked":  # the masked baseline: W, mask logits S, biases
        spec, theta = masked.start(cfg, sizes, setup, HIDDEN_ACTIVATIONS[cfg.activation])
    else:
        init = load_init_partition(cfg.init_partition) if cfg.init_partition else None
        spec = make_spec(cfg.structure, sizes, cfg.colors, setup, init,
                         HIDDEN_ACTIVATIONS[cfg.activation])
        theta = initial_params(spec, setup, cfg.init_scale)
    es = cfg.make_strategy().init(theta)
    return RunState(es, RunningStats.zeros(obs_dim), rng, spec, frozen=frozen)


# -- one iteration ----------------------------------------------------------------------------
def normalization(cfg: TrainConfig, st: RunState, stats: RunningStats | None = None) -> Normalization:
    """The observation filter: frozen (--init-policy), running statistics, or the identity."""
    if st.frozen is not None:
        return st.frozen
    stats = st.stats if stats is None else stats
    if not cfg.normalized:
        return Normalization.identity(len(stats.sum))
    return stats.to_normalization()


def deployed_normalization(cfg: TrainConfig, st: RunState,
                           stats: RunningStats | None = None) -> Normalization:
    """:func:`normalization` as the blob of ``--dtype`` stores it."""
    norm = normalization(cfg, st, stats)
    if cfg.dtype == "f32":
        return norm
    return Normalization(stored(norm.mean, cfg.dtype), stored(norm.std, cfg.dtype))


def make_job(cfg: TrainConfig, st: RunState, params: np.ndarray, sigma: float, collect: bool,
             parts: tuple[tuple[np.ndarray, ...], ...]) -> Job:
    """The rollouts' shared data: ``params`` (perturbed by ``sigma``), under ``parts``."""
    norm = deployed_normalization(cfg, st)
    return Job(cfg.env_id, st.spec, params, sigma, norm.mean, norm.std, cfg.horizon, collect, parts,
               cfg.dtype)


def collects_stats(cfg: TrainConfig, st: RunState) -> bool:
    return cfg.normalized and st.frozen is None


def iterate(cfg: TrainConfig, st: RunState, engine: Engine, controller) -> dict:
    """One ES iteration; mutates ``st`` only at the end (so an interrupt leaves it intact)."""
    strategy = cfg.make_strategy()
    sigma = strategy.sigma_at(st.es.generation)
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
    phase_ends = nas is not None and (st.iteration + 1) % cfg.nas_every == 0
    jobs = ScoreJobs(np.zeros(0, np.int64), np.zeros(0, np.int64))
    if nas is None:
        pids, job_parts = np.zeros(n, dtype=np.int64), ()
        pivot_pids = np.zeros(ask.num_pivot, dtype=np.int64)
    else:
        if st.iteration % cfg.nas_every == 0:  # a NAS step opens the weight phase (eq. (1))
            nas = start_phase(nas, controller, n, cfg.nas(), rng, group, st.es.params[: st.spec.num_colors])
        # rows 0..n-1: the perturbations' partitions; then the score-only candidates
        uniq, pids = np.unique(scored_partitions(nas), axis=0, return_inverse=True)
        pids = pids.reshape(-1)
        job_parts = tuple(st.spec.unflatten(row) for row in uniq)
        pivot_pids = pids[pivot_partitions(ask.num_pivot, n, st.iteration)]
        if phase_ends:  # the phase's last iteration also scores every partition, unperturbed
            jobs = score_jobs(nas, cfg.nas(), rng)
    job = make_job(cfg, st, st.es.params, sigma, collects_stats(cfg, st), job_parts)
    tasks = [(k, int(ask.seeds[k]), int(ask.signs[k]), int(pids[k]), int(ep_seeds[k])) for k in range(n)]
    tasks += [(n + j, 0, 0, int(pivot_pids[j]), int(pivot_seeds[j])) for j in range(ask.num_pivot)]
    m = n + ask.num_pivot
    scoring = [(m + j, 0, 0, int(pids[jobs.rows[j]]), int(jobs.seeds[j])) for j in range(len(jobs))]
    t0 = time.perf_counter()
    score_horizon = cfg.nas().score_horizon if nas is not None else None
    if score_horizon is not None and cfg.horizon is not None:
        score_horizon = min(score_horizon, cfg.horizon)
    if scoring and score_horizon not in (None, cfg.horizon):  # shorter scoring episodes
        short = dataclasses.replace(job, horizon=score_horizon)
        results = engine.run(job, tasks) + engine.run(short, scoring)
    else:
        results = engine.run(job, tasks + scoring)
    seconds = time.perf_counter() - t0
    returns = np.array([r.ret for r in results[:n]])
    # The survival-bonus shift (ARS): training sees reward - shift per step, evaluation never does.
    shaped = returns - cfg.shift * np.array([r.steps for r in results[:n]])
    pivot = np.array([r.ret - cfg.shift * r.steps for r in results[n:m]])
    mask_row = {}
    if st.spec.mask_alpha is not None:  # the masked baseline's sparsity reward (App. E)
        shaped, pivot, mask_row = masked.sparsity_objective(cfg, st, ask, sigma, shaped, pivot)
    es = strategy.tell(st.es, ask, shaped, pivot)
    if cfg.mask_fixed:  # the masked baseline's fixed sparsity: exactly k logits positive
        es = dataclasses.replace(es, params=masked.project(cfg, st.spec, es.params))
    nas_update, extra_steps, extra_episodes = False, 0, 0
    if nas is not None:
        nas = observe(nas, returns, group)
        if phase_ends and not nas.idle:  # the controller learns from the scores (or eq. (2)'s maxima)
            nas = score(nas, jobs, [r.ret for r in results[m:]])  # true returns, never shifted
            confirmed: list[int] = []  # steps of the confirmation rollouts, if any ran

            def confirm(pair: np.ndarray) -> np.ndarray:
                seeds = rng.integers(0, 2**31, size=cfg.nas().confirm_episodes)
                rets, n_steps = unperturbed_returns(cfg, st, engine, pair, seeds)
                confirmed.append(n_steps)
                return rets.mean(axis=1)

            nas = end_phase(nas, controller, cfg.nas(), group, confirm)
            extra_steps, extra_episodes = sum(confirmed), 2 * cfg.nas().confirm_episodes * len(confirmed)
            nas_update = True
    stats = st.stats
    if collects_stats(cfg, st):
        for r in results:
            if r.obs_count:
                stats = stats.merge(RunningStats(r.obs_count, r.obs_sum, r.obs_sumsq))
    steps = sum(r.steps for r in results) + extra_steps
    st.es, st.stats, st.rng = es, stats, rng
    st.iteration += 1
    st.timesteps += steps
    st.episodes += len(results) + extra_episodes
    st.elapsed += seconds
    if nas is not None:
        st.nas = nas
        own = controller.state_dict() if hasattr(controller, "state_dict") else {}
        st.controller_state = {**own, **nas.to_arrays()}
    row = {
        "iteration": st.iteration, "timesteps": st.timesteps, "episodes": st.episodes,
        "mean_return": float(returns.mean()), "max_return": float(returns.max()),
        "min_return": float(returns.min()),
        "pivot_return": float(np.mean([r.ret for r in results[n:m]])) if ask.num_pivot else None,
        "sigma": sigma, "steps": steps, "steps_per_s": steps / max(seconds, 1e-9), "seconds": seconds,
        "elapsed": st.elapsed, **mask_row,
    }
    if nas is not None:
        row.update(controller=cfg.controller, nas_update=nas_update, nas_updates=nas.updates,
                   controller_mean_reward=_finite(nas.last_mean_reward),
                   controller_entropy=_finite(nas.last_entropy))
        if len(nas.incumbent):
            row.update(incumbent_moves=nas.moves, incumbent_rejected=nas.rejected, incumbent_hold=nas.hold)
    return row


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


# -- evaluation and the best policy ---------------------------------------------------------------
def selection_seeds(cfg: TrainConfig) -> np.ndarray:
    """Reset seeds of the periodic evaluations that pick the best policy: in [2^31, 2^32), so
    disjoint from training's episode seeds ([0, 2^31)) and from the reporting seeds below."""
    return _streams(cfg.seed)[3].integers(2**31, 2**32, size=cfg.eval_episodes)


def eval_seed(cfg: TrainConfig) -> int:
    """First reset seed of the reported evaluation (episode k uses ``eval_seed + k``), the seeds
    ``chromatic run BLOB --seed SEED`` uses; never used to select the policy."""
    return int(cfg.seed)


def current_partition(st: RunState) -> np.ndarray:
    """The partition the mean policy is evaluated with: the run's, or a NAS run's best so far."""
    if st.nas is not None:
        cands = finalists(st.nas, 1)
        if len(cands):
            return np.asarray(cands[0])
    return st.spec.flat_partition()


def unperturbed_returns(cfg: TrainConfig, st: RunState, engine: Engine, flat_parts: np.ndarray,
                        seeds: np.ndarray) -> tuple[np.ndarray, int]:
    """Returns (P, S) of the current parameters under each of P flat partitions, unperturbed,
    one episode per reset seed (statistics not collected), and the steps they took; a masked
    policy runs with its hard mask, as its policy file will."""
    parts = tuple(st.spec.unflatten(c) for c in flat_parts)
    params = masked.deployed(st.spec, st.es.params)  # a masked policy is judged by its hard mask
    job = make_job(cfg, st, params, 0.0, False, parts)
    tasks = [(k * len(seeds) + e, 0, 0, k, int(s)) for k in range(len(parts)) for e, s in enumerate(seeds)]
    results = engine.run(job, tasks)
    returns = np.array([r.ret for r in results]).reshape(len(parts), len(seeds))
    return returns, sum(r.steps for r in results)


def evaluate_mean(cfg: TrainConfig, st: RunState, engine: Engine) -> tuple[float, int]:
    """Mean unperturbed return of the current parameters on the selection seeds, and its steps."""
    returns, steps = unperturbed_returns(cfg, st, engine, current_partition(st)[None], selection_seeds(cfg))
    return float(returns.mean()), steps


def maybe_evaluate(cfg: TrainConfig, st: RunState, engine: Engine, row: dict) -> None:
    """Every ``eval_every`` iterations: evaluate, keep the best, log both."""
    if st.iteration % cfg.eval_every:
        return
    best = evaluated(cfg, st, engine)
    st.eval_timesteps += best.steps
    if masked.eligible(cfg, st.spec, best.params) and (st.best is None or best.score > st.best.score):
        st.best = best
    row.update(eval_return=best.score, best_eval_return=None if st.best is None else st.best.score,
               eval_timesteps=st.eval_timesteps)


def evaluated(cfg: TrainConfig, st: RunState, engine: Engine) -> Best:
    """The current mean policy as a candidate for the best, scored on the selection seeds."""
    score, steps = evaluate_mean(cfg, st, engine)
    return Best(np.array(st.es.params), st.stats, score, st.iteration, current_partition(st), steps)


def start_as_candidate(cfg: TrainConfig, st: RunState, engine: Engine) -> None:
    """An ``--init-policy`` run's starting policy, evaluated before the first iteration, is the
    first candidate for the best: a fine-tune never ships a policy that scored below its start
    on the selection seeds (its ``best_iteration`` is then 0)."""
    start = evaluated(cfg, st, engine)
    st.eval_timesteps += start.steps
    if masked.eligible(cfg, st.spec, start.params):
        st.best = start


def best_of_run(cfg: TrainConfig, st: RunState, engine: Engine) -> Best:
    """The policy to ship: the best periodic evaluation, or the final parameters if they score
    higher (evaluated here but not checkpointed, so stopping and resuming changes nothing)."""
    if st.best is not None and st.best.iteration == st.iteration:
        return st.best
    final = evaluated(cfg, st, engine)
    if st.best is None or (final.score > st.best.score and masked.eligible(cfg, st.spec, final.params)):
        return final
    return st.best


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


def log_partitions(run_dir: Path, st: RunState) -> Path:
    """Save the NAS step that just ended: its population, rewards and the palette (for analyze)."""
    assert st.nas is not None
    path = run_dir / PARTITIONS / f"nas_{st.nas.updates:05d}.npz"
    path.parent.mkdir(exist_ok=True)
    arrays = {"partitions": st.nas.population, "rewards": st.nas.best, "sampled": st.nas.sampled,
              "candidates": st.nas.candidates, "scores": st.nas.scores,
              "palette": st.es.params[: st.spec.num_colors], "iteration": np.array(st.iteration),
              "timesteps": np.array(st.timesteps), "layer_sizes": np.array(st.spec.layer_sizes)}
    atomic_write_with(path, lambda f: np.savez(f, **arrays))
    return path


# -- the run ---------------------------------------------------------------------------------
def rollouts_per_iteration(cfg: TrainConfig) -> int:
    """The rollouts of one ES step: the perturbations, plus the pivots of ``--strategy forward``."""
    return cfg.perturbations + (0 if cfg.antithetic else cfg.pivot_episodes)


@dataclass
class EngineOptions:
    """How rollouts are executed: changes speed, never results."""

    backend: str = "local"
    workers: int | None = None
    address: str | None = None

    def validate(self, cfg: TrainConfig | None = None) -> EngineOptions:
        """Check ``--workers`` (and, given the run's settings, its upper bounds).

        The rule: ``--workers`` is at least 1, at most the rollouts of one iteration (a worker
        with no rollout to run only costs a process) and, unless the rollouts run on a Ray
        cluster given by ``--address``, at most :data:`MAX_WORKERS_PER_CORE` per core of this
        machine. Refused before any process starts.
        """
        w = self.workers
        if w is None:
            return self
        if w < 1:
            raise ChromaticError(f"--workers must be at least 1, got {w}")
        if not (self.backend == "ray" and self.address):
            cores = rollout_engine.default_workers()
            if w > MAX_WORKERS_PER_CORE * cores:
                raise ChromaticError(f"--workers {w} is more than {MAX_WORKERS_PER_CORE} per core of "
                                     f"this machine ({cores} cores: at most {MAX_WORKERS_PER_CORE * cores})")
        if cfg is not None and w > rollouts_per_iteration(cfg):
            raise ChromaticError(f"--workers {w} is more than the {rollouts_per_iteration(cfg)} rollouts "
                                 f"of an iteration (--perturbations {cfg.perturbations}); give at most that")
        return self


#: What each file a run writes is, for the one-line refusals of :func:`check_run_outputs`.
RUN_FILES = {CONFIG: "run config", LOG: "training log", CHECKPOINT: "checkpoint",
             POLICY: "policy file", FINAL_POLICY: "policy file", CURVE: "training curve"}


def check_run_outputs(run_dir: Path, cfg: TrainConfig) -> None:
    """Every file a run in ``run_dir`` will write, checked before any work (docs/safety.md).

    ``check_output``'s refusals (a folder where a file goes, a read-only or special file, an
    unwritable folder, an input of the run) for the run folder, its config, log, checkpoint,
    policies and curve, a learning controller's ``partitions/`` and a ``--dense-warmup`` run's
    warm-up folder, so that no run trains for hours and then fails to write its result.
    """
    inputs = [p for p in (cfg.init_policy, cfg.init_partition) if p]
    check_output(run_dir, *inputs, directory=True, what="run folder")
    if not run_dir.is_dir():
        return  # created by the run: nothing in it can be in the way
    for name, what in RUN_FILES.items():
        check_output(run_dir / name, *inputs, what=what)
    if cfg.learns_partitions:
        parts = check_output(run_dir / PARTITIONS, *inputs, directory=True, what="partitions folder")
        if parts.is_dir():
            for f in parts.glob("nas_*.npz"):
                check_output(f, *inputs, what="NAS step file")
    if cfg.dense_warmup:
        check_output(run_dir / WARMUP_CONFIG, *inputs, what="run config")
        check_run_outputs(run_dir / WARMUP_DIR, dense_config(cfg))
        if (run_dir / WARMUP_DIR).is_dir():
            check_output(run_dir / WARMUP_DIR / colored_name(cfg), *inputs, what="policy file")


def check_checkpoint_kept(run_dir: Path) -> None:
    """Refuse to resume a run whose checkpoint is gone but whose results are not.

    Without ``checkpoint.npz`` a run restarts from its config, which is right only for a run
    killed before its first checkpoint (its config and an empty log); anything more (logged
    iterations, policies, NAS steps) means the checkpoint was lost, and restarting would
    overwrite what the run already has.
    """
    if (run_dir / CHECKPOINT).exists():
        return
    have = []
    rows = read_log(run_dir)
    if rows:
        have.append(f"{len(rows)} logged iteration{'s' if len(rows) != 1 else ''} in {LOG}")
    have += [name for name in (POLICY, FINAL_POLICY) if (run_dir / name).exists()]
    if (run_dir / PARTITIONS).is_dir() and any((run_dir / PARTITIONS).iterdir()):
        have.append(f"{PARTITIONS}/")
    if have:
        raise ChromaticError(f"{run_dir}: {CHECKPOINT} is missing but the run has {', '.join(have)}; "
                             f"resuming would restart it and overwrite them (restore {CHECKPOINT}, "
                             f"or train anew with another --out)")


def start(cfg: TrainConfig, run_dir: str | Path, engine_opts: EngineOptions,
          progress: bool = True) -> Path:
    """Begin a new run in ``run_dir`` and train it until its budget is used.

    A folder holding only what a run killed before its first checkpoint left (its config and an
    empty log) may be reused by a fresh start; one with a checkpoint, logged iterations or a
    policy is refused (nothing a run produced is overwritten), and every output is checked
    (:func:`check_run_outputs`) and ``--workers`` bounded before any work. ``--dense-warmup`` runs are staged
    (``training/warmup.py``).
    """
    cfg = cfg.validate()
    engine_opts.validate(cfg)
    run_dir = Path(run_dir)
    held = [run_dir / name for name in (CHECKPOINT, POLICY, FINAL_POLICY)]
    if any(p.exists() for p in held) or read_log(run_dir) or warmup_settings(run_dir):
        raise ChromaticError(f"{run_dir} already holds a run; continue it with --resume {run_dir}")
    check_run_outputs(run_dir, cfg)
    if cfg.dense_warmup:
        return train_with_warmup(cfg, run_dir, engine_opts, progress)
    return start_stage(cfg, run_dir, engine_opts, progress)


def start_stage(cfg: TrainConfig, run_dir: Path, engine_opts: EngineOptions, progress: bool,
                timesteps_used: int = 0) -> Path:
    """:func:`start` of one ordinary run, its counter starting at ``timesteps_used`` (the steps
    earlier stages of the same run took)."""
    cfg = cfg.validate().with_init_policy()[0]
    info = describe_env(cfg.env_id)
    st = new_state(cfg, info.obs_dim, info.act_dim)
    st.timesteps = timesteps_used
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ChromaticError(f"{run_dir}: cannot create run directory ({e.strerror})") from None
    remove_stale_temps(run_dir)
    write_config(run_dir, cfg)
    truncate_log(run_dir, 0)
    save_checkpoint(run_dir / CHECKPOINT, st)
    return _train(cfg, st, run_dir, engine_opts, progress)


def resume(run_dir: str | Path, iterations: int | None, engine_opts: EngineOptions,
           progress: bool = True, timesteps: int | None = None) -> Path:
    """Continue the run in ``run_dir`` to a new budget (its own settings otherwise).

    A run killed before its first checkpoint restarts from its config: the initial state is a
    pure function of the settings, so the result is the same. A run with results but no
    checkpoint is refused (:func:`check_checkpoint_kept`), and every output is checked
    (:func:`check_run_outputs`) and ``--workers`` bounded before any work.
    """
    run_dir = Path(run_dir)
    engine_opts.validate()
    if not run_dir.is_dir():
        raise ChromaticError(f"{run_dir}: no such run directory")
    staged = warmup_settings(run_dir)
    cfg = staged if staged is not None else load_config(run_dir)
    engine_opts.validate(cfg)
    check_checkpoint_kept(run_dir)
    wdir = run_dir / WARMUP_DIR
    if staged is not None and wdir.is_dir() and not (wdir / POLICY).exists():
        check_checkpoint_kept(wdir)  # the warm-up stage is not finished
    check_run_outputs(run_dir, cfg)
    if staged is not None:
        return train_with_warmup(new_budget(staged, iterations, timesteps), run_dir, engine_opts, progress)
    return resume_stage(run_dir, iterations, engine_opts, progress, timesteps)


def resume_stage(run_dir: Path, iterations: int | None, engine_opts: EngineOptions,
                 progress: bool = True, timesteps: int | None = None,
                 resumed: tuple[TrainConfig, RunState, bool] | None = None) -> Path:
    """:func:`resume` of one ordinary run: everything checked (:func:`resumed_state`, or its
    result ``resumed`` if the caller has it already), then written."""
    cfg, st, budget_changed = resumed or resumed_state(run_dir, iterations, timesteps)
    remove_stale_temps(run_dir)
    if budget_changed:
        write_config(run_dir, cfg)
    truncate_log(run_dir, st.iteration)
    return _train(cfg, st, run_dir, engine_opts, progress)


def resumed_state(run_dir: Path, iterations: int | None = None,
                  timesteps: int | None = None) -> tuple[TrainConfig, RunState, bool]:
    """The settings (with the new budget) and the state a resume of ``run_dir`` continues from,
    and whether the budget changed; reads and checks everything (the checkpoint's arrays, a
    learning controller's state against a fresh controller, the budget) and writes nothing."""
    cfg = load_config(run_dir)
    info = describe_env(cfg.env_id)
    if (run_dir / CHECKPOINT).exists():
        st = load_checkpoint(run_dir / CHECKPOINT)
    else:
        st = new_state(cfg, info.obs_dim, info.act_dim)
    if st.spec.layer_sizes[0] != info.obs_dim or st.spec.layer_sizes[-1] != info.act_dim:
        raise ChromaticError(f"{run_dir}: checkpoint layer sizes {list(st.spec.layer_sizes)} do not "
                             f"fit {cfg.env_id} ({info.obs_dim} observations, {info.act_dim} actions)")
    act = st.spec.hidden_activation.name.lower()
    if len(st.spec.layer_sizes) > 2 and act != cfg.activation:
        raise ChromaticError(f"{run_dir}: the checkpoint has {act} hidden layers; its {CONFIG} says "
                             f"--activation {cfg.activation}")
    check_controller_state(run_dir / CHECKPOINT, st, cfg, new_controller(cfg, st.spec))
    if iterations is None and timesteps is None:
        return cfg, st, False
    if iterations is not None and iterations < st.iteration:
        raise ChromaticError(
            f"{run_dir} already ran {st.iteration} iterations; --iterations {iterations} is fewer")
    if timesteps is not None and timesteps < st.timesteps:
        raise ChromaticError(
            f"{run_dir} already ran {st.timesteps} timesteps; --timesteps {timesteps} is fewer")
    cfg.iterations, cfg.timesteps = iterations, timesteps
    return cfg.validate(), st, True


@contextlib.contextmanager
def _engine(opts: EngineOptions) -> Iterator[Engine]:
    engine = make_engine(opts.backend, opts.workers, opts.address)
    try:
        yield engine
    finally:
        engine.close()


def new_controller(cfg: TrainConfig, spec: PolicySpec):
    """A fresh controller of the run's settings (its state, if any, is loaded by :func:`_train`)."""
    return make_controller(cfg.controller, spec, cfg.seed, learning_rate=cfg.controller_lr,
                           entropy_weight=cfg.entropy_weight, concentration=cfg.controller_concentration)


def _budget(cfg: TrainConfig) -> tuple[int, str]:
    if cfg.timesteps is not None:
        return cfg.timesteps, "steps"
    return int(cfg.max_iterations or 0), "it"


def _train(cfg: TrainConfig, st: RunState, run_dir: Path, opts: EngineOptions, progress: bool) -> Path:
    if cfg.learns_partitions:  # the controller's small matmuls run 5-7x slower multi-threaded
        from chromatic.training.rollout.worker import pin_blas_threads

        pin_blas_threads()
    controller = new_controller(cfg, st.spec)
    own, nas_arrays = split_state(st.controller_state)
    if own and hasattr(controller, "load_state_dict"):
        controller.load_state_dict(own)
    if cfg.learns_partitions:
        first = st.spec.flat_partition() if cfg.nas().search == "incumbent" else None
        st.nas = NasState.from_arrays(nas_arrays, st.spec.num_edges, first)
    total, unit = _budget(cfg)
    bar = None
    try:
        with _engine(opts) as engine:
            bar = tqdm(total=total, initial=st.timesteps if unit == "steps" else st.iteration,
                       desc=f"train {cfg.env_id}", unit=unit, unit_scale=unit == "steps",
                       disable=not progress, file=sys.stderr, dynamic_ncols=True)
            if st.iteration == 0 and st.best is None and cfg.init_policy:
                start_as_candidate(cfg, st, engine)
            # at least one iteration: a warm-up's last stage may start with its budget used
            while st.iteration == 0 or not cfg.done(st.iteration, st.timesteps):
                before = st.timesteps if unit == "steps" else st.iteration
                row = iterate(cfg, st, engine, controller)
                maybe_evaluate(cfg, st, engine, row)
                append_log(run_dir, row)
                if row.get("nas_update"):
                    log_partitions(run_dir, st)
                save_checkpoint(run_dir / CHECKPOINT, st)
                bar.update((st.timesteps if unit == "steps" else st.iteration) - before)
                ctrl = ""
                if row.get("controller_mean_reward") is not None:
                    ent = row["controller_entropy"]
                    ctrl = (f" | ctrl reward {row['controller_mean_reward']:.1f}"
                            + (f" entropy {ent:.3f}" if ent is not None else ""))
                best = f" best eval {st.best.score:.1f}" if st.best is not None else ""
                bar.set_postfix_str(f"mean {row['mean_return']:.1f} max {row['max_return']:.1f}{best} "
                                    f"it {st.iteration} {row['steps_per_s']:.0f} steps/s{ctrl}")
            bar.close()
            best = best_of_run(cfg, st, engine)
            final_spec = final_choice(cfg, st, engine)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"chromatic: stopped after iteration {st.iteration}; continue with "
              f"{RESUME_COMMAND.get() or resume_command(cfg, run_dir)}", file=sys.stderr)
        raise
    best_spec = dataclasses.replace(st.spec, partitions=st.spec.unflatten(best.partition))
    final = write_policy(cfg, st, final_spec, st.es.params, st.stats, run_dir / FINAL_POLICY, run_dir)
    write_policy(cfg, st, best_spec, best.params, best.stats, run_dir / POLICY, run_dir,
                 {"selection_return": best.score, "best_iteration": best.iteration,
                  "final_eval_return": final["eval_return"]})
    from chromatic.training.plot import plot_run

    plot_run(run_dir, run_dir / CURVE)
    return run_dir / POLICY


def final_choice(cfg: TrainConfig, st: RunState, engine: Engine) -> PolicySpec:
    """The spec (partition) of the final policy.

    With a learning controller: the best of the replay buffer and the last population, each
    re-evaluated with the trained palette (unperturbed, :data:`FINALIST_EPISODES` episodes from
    the finalist stream, disjoint from training's seeds); ties keep the better-rewarded candidate.
    """
    if st.nas is None:
        return st.spec
    cands = finalists(st.nas, FINALISTS)
    if not len(cands):  # no NAS step yet: the run's initial partition
        return st.spec
    seeds = _streams(cfg.seed)[2].integers(2**31, 2**32, size=FINALIST_EPISODES)
    returns, _ = unperturbed_returns(cfg, st, engine, np.asarray(cands), seeds)
    best = int(np.argmax(returns.mean(axis=1)))
    return dataclasses.replace(st.spec, partitions=st.spec.unflatten(cands[best]))


def write_policy(cfg: TrainConfig, st: RunState, spec: PolicySpec, params: np.ndarray,
                 stats: RunningStats, path: Path, run_dir: Path, extra: dict | None = None) -> dict:
    """Evaluate a policy on the reporting seeds (compiled, numpy runtime) and save it with its metadata."""
    meta = {"env_id": cfg.env_id, "train_command": cfg.command(str(run_dir)), "seed": int(cfg.seed),
            "timesteps": int(st.timesteps), "iterations": int(st.iteration),
            "eval_seed": eval_seed(cfg), "eval_episodes": int(cfg.eval_episodes),
            "controller": cfg.controller, **(extra or {})}
    norm = deployed_normalization(cfg, st, stats)
    if cfg.dtype != "f32":  # the policy file holds what the blob stores: f16 compiles losslessly
        params = stored(params, cfg.dtype)
    returns = evaluate_policy(to_policy(spec, params, norm, {**meta, "eval_return": float("nan")}),
                              cfg.env_id, cfg.eval_episodes, eval_seed(cfg), cfg.horizon)
    meta.update(eval_return=float(returns.mean()), eval_std=float(returns.std()))
    save_policy(to_policy(spec, params, norm, meta), path)
    return meta
