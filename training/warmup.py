"""``chromatic train --dense-warmup F``: learn the partition by coloring a dense warm-up.

A chromatic run of T timesteps in three stages, every environment step counted in T:

1. **Dense warm-up** (``RUN/warmup/``, an ordinary run): ES trains the dense policy of the same
   shape for ``round(F * T)`` timesteps, with the run's seed and recipe (``--structure dense``).
2. **Coloring**: its shipped policy is clustered into M colors, one palette for every layer
   (``chromatic import --colors M --refit``: 1-D k-means, then the palette, the biases and single
   edges refitted to the dense policy's actions on :data:`CALIBRATION_EPISODES` on-policy
   episodes, whose steps count too). Written to ``RUN/warmup/colored_cM.npz``.
3. **Chromatic training** (``RUN/``): ES continues from the colored policy (``--init-policy``:
   its partition, palette, biases and frozen normalization) until T, with the run's controller
   (``fixed`` keeps the clustered partition; ``enas`` searches from it).

Every stage resumes where it was stopped (``chromatic train --resume RUN``). The shipped
``policy.npz`` records ``dense_warmup`` and the warm-up's timesteps and return, and its
``train_command`` is the user's, not stage 3's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from chromatic.atomic import atomic_write_bytes
from chromatic.errors import ChromaticError
from chromatic.training.checkpoint import CHECKPOINT, CONFIG, FINAL_POLICY, POLICY
from chromatic.training.settings import TrainConfig

WARMUP_CONFIG = "warmup_config.json"  # the user's settings, while stage 3 has not started
WARMUP_DIR = "warmup"
CALIBRATION_EPISODES = 3


def warmup_timesteps(cfg: TrainConfig) -> int:
    assert cfg.timesteps is not None and cfg.dense_warmup > 0
    return max(1, round(cfg.dense_warmup * cfg.timesteps))


def dense_config(cfg: TrainConfig) -> TrainConfig:
    """Stage 1's settings: the run's own with a dense structure and the warm-up's budget."""
    defaults = TrainConfig()
    return dataclasses.replace(
        cfg, structure="dense", colors=defaults.colors, dense_warmup=0.0, timesteps=warmup_timesteps(cfg),
        **{f.name: getattr(defaults, f.name) for f in dataclasses.fields(TrainConfig)
           if f.name.startswith(("controller", "nas_", "replay_", "score_", "confirm_", "entropy_"))
           or f.name == "bits_weight"})


def calibration_seed(cfg: TrainConfig) -> int:
    """First reset seed of the calibration episodes: in [2^31, 2^32), disjoint from training's
    episode seeds and the reporting seeds, and from the selection seeds' stream."""
    return int(np.random.default_rng([cfg.seed, 5]).integers(2**31, 2**32 - CALIBRATION_EPISODES))


def colored_name(cfg: TrainConfig) -> str:
    """The file name of stage 2's colored policy in the warm-up folder."""
    return f"colored_c{cfg.colors}.npz"


def color_warmup(cfg: TrainConfig, dense_path: Path, out: Path) -> Path:
    """Stage 2: the warm-up's policy colored into ``cfg.colors`` colors and refitted (once)."""
    if out.exists():
        return out
    from chromatic.compiler.compile import compile_policy
    from chromatic.compiler.importer import import_model
    from chromatic.compiler.policy_file import load_policy, save_policy
    from chromatic.runtime import load
    from chromatic.runtime.control_loop import run_episodes

    dense = load_policy(dense_path)
    report = run_episodes(load(compile_policy(dense), "numpy"), cfg.env_id, CALIBRATION_EPISODES,
                          calibration_seed(cfg), max_steps=cfg.horizon, record_observations=True,
                          progress=False)
    colored = import_model(dense_path, colors=cfg.colors, calibration=np.asarray(report.observations),
                           refit=True).policy
    save_policy(colored.replace(metadata={**colored.metadata, "warmup_calibration_steps": report.steps}),
                out)
    return out


def train_with_warmup(cfg: TrainConfig, run_dir: Path, engine_opts, progress: bool) -> Path:
    """Run (or continue) the three stages in ``run_dir``; returns its ``policy.npz``."""
    from chromatic.training.run import RESUME_COMMAND, resume_command

    token = RESUME_COMMAND.set(resume_command(cfg, run_dir))  # every stage: one --resume RUN
    try:
        return _train_stages(cfg, run_dir, engine_opts, progress)
    finally:
        RESUME_COMMAND.reset(token)


def _train_stages(cfg: TrainConfig, run_dir: Path, engine_opts, progress: bool) -> Path:
    from chromatic.compiler.policy_file import load_policy, save_policy
    from chromatic.training.run import resume_stage, resumed_state, start_stage

    wdir = run_dir / WARMUP_DIR
    warming_up = not (wdir / POLICY).exists() and ((wdir / CHECKPOINT).exists() or (wdir / CONFIG).exists())
    # the stage a resume continues is checked before this run writes anything (its settings too)
    warmup_state = resumed_state(wdir) if warming_up else None
    stage3_state = (resumed_state(run_dir, None, cfg.timesteps)
                    if (wdir / POLICY).exists() and (run_dir / CHECKPOINT).exists() else None)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ChromaticError(f"{run_dir}: cannot create run directory ({e.strerror})") from None
    atomic_write_bytes(run_dir / WARMUP_CONFIG, cfg.to_json().encode())
    if (wdir / POLICY).exists():
        dense_path = wdir / POLICY
    elif warming_up:
        dense_path = resume_stage(wdir, None, engine_opts, progress, resumed=warmup_state)
    else:
        dense_path = start_stage(dense_config(cfg), wdir, engine_opts, progress)
    colored_path = color_warmup(cfg, dense_path, wdir / colored_name(cfg))
    dense_meta = load_policy(dense_path).metadata
    colored_meta = load_policy(colored_path).metadata
    used = int(dense_meta["timesteps"]) + int(colored_meta["warmup_calibration_steps"])
    stage3 = dataclasses.replace(cfg, dense_warmup=0.0, init_policy=str(colored_path.resolve()))
    if (run_dir / CHECKPOINT).exists():
        resume_stage(run_dir, None, engine_opts, progress, timesteps=cfg.timesteps, resumed=stage3_state)
    else:
        start_stage(stage3, run_dir, engine_opts, progress, timesteps_used=used)
    record = {"train_command": cfg.command(str(run_dir)), "dense_warmup": cfg.dense_warmup,
              "warmup_timesteps": used, "warmup_eval_return": float(dense_meta["eval_return"])}
    for name in (POLICY, FINAL_POLICY):
        policy = load_policy(run_dir / name)
        save_policy(policy.replace(metadata={**policy.metadata, **record}), run_dir / name)
    return run_dir / POLICY


def new_budget(cfg: TrainConfig, iterations: int | None, timesteps: int | None) -> TrainConfig:
    """A warm-up run's settings with ``--resume``'s new budget (timesteps only: the warm-up's
    share of it was fixed when the warm-up started)."""
    if iterations is not None:
        raise ChromaticError("a --dense-warmup run is budgeted in --timesteps; --iterations does not apply")
    return cfg if timesteps is None else dataclasses.replace(cfg, timesteps=timesteps).validate()


def warmup_settings(run_dir: Path) -> TrainConfig | None:
    """The user's settings of a warm-up run in ``run_dir``, or None if it is not one."""
    path = run_dir / WARMUP_CONFIG
    if not path.is_file():
        return None
    try:
        return TrainConfig.from_json(path.read_text()).validate()
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise ChromaticError(f"{path}: corrupt run config ({e})") from None
