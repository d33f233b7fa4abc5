"""Training settings, written once: the dataclass generates the ``train`` options, config.json and resume.

Every field of :class:`TrainConfig` carries its default and a one-line help in its metadata;
:func:`add_arguments` turns the fields into ``chromatic train`` options, :func:`from_args` turns
the parsed options back into a config (only the options the user gave: every default lives here
and nowhere else), ``TrainConfig.to_json``/``from_json`` are the run's ``config.json`` and
``TrainConfig.command`` is the canonical command recorded in the policy's metadata.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from chromatic.errors import ChromaticError
from chromatic.training.controllers import CONTROLLERS, default_search
from chromatic.training.es.strategy import STRATEGIES, Strategy
from chromatic.training.normalization import normalize_by_default
from chromatic.training.policy_params import HIDDEN_ACTIVATIONS, STRUCTURES

#: Survival bonus per step of the MuJoCo locomotion tasks that pay one for staying alive; ARS
#: subtracts it from training returns (never from evaluation) so that standing still is not an
#: optimum (Mania et al. 2018, §3; docs/training.md).
SURVIVAL_BONUS = {"Hopper": 1.0, "Walker2d": 1.0, "Ant": 1.0, "Humanoid": 5.0, "HumanoidStandup": 0.0}


def survival_bonus(env_id: str) -> float:
    """The per-step alive bonus of ``env_id`` (0 for tasks without one)."""
    name = env_id.split("/")[-1].split("-")[0]
    return SURVIVAL_BONUS.get(name, 0.0)


#: --confirm-backoff's default: off. With K = 4 (after r failed confirmations in a row, 2**min(r, 4)
#: - 1 weight phases without challengers) Walker2d's tuning seed 100 ran 34 NAS steps instead of
#: 147 and ended at 1,018 against 1,749 without it (docs/enas.md, "Pausing the challenges").
CONFIRM_BACKOFF = 0
#: --controller enas's --dense-warmup: the share of --timesteps the dense warm-up takes (chosen on
#: the tuning seeds 100-104 / 100-102, docs/enas.md "A partition learned by clustering")
ENAS_DENSE_WARMUP = 0.8


#: --workers may ask for at most this many rollout processes per core of this machine (more only
#: contend for the cores; 100,000 would fork until the machine hangs). Checked in training/run.py.
MAX_WORKERS_PER_CORE = 4


def default_confirm_episodes(env_id: str) -> int:
    """--confirm-episodes unless given: a full-length confirmation where an episode can end on a
    fall (the tasks with an alive bonus), where a 200-step score cannot see the fall; none
    elsewhere, where it only rejects moves that help (docs/enas.md, "Confirming a challenger")."""
    from chromatic.training.alternating import CONFIRM_EPISODES

    return CONFIRM_EPISODES if survival_bonus(env_id) > 0 else 0


def opt(default: Any, help: str, *, flag: str | None = None, choices: Any = None,
        metavar: str | None = None) -> Any:
    """A settings field: its default, its one-line help and how it appears on the command line."""
    return field(default=default, metadata={"help": help, "flag": flag, "choices": choices,
                                             "metavar": metavar})


@dataclass
class TrainConfig:
    """Settings that determine a run's result (saved in config.json; resume reads them back)."""

    env_id: str = opt("", "gymnasium id, e.g. HalfCheetah-v5, Hopper-v5, chromatic/Minitaur-v0",
                      flag="--env", metavar="ENV")
    hidden: tuple[int, ...] = opt((), "a hidden layer width (repeat for more); none: a linear policy",
                                  metavar="WIDTH")
    activation: str = opt("tanh", "nonlinearity of the hidden layers (the output stays tanh, so "
                                  "actions stay bounded)", choices=tuple(HIDDEN_ACTIVATIONS))
    structure: str = opt("chromatic", "weight structure of every layer", choices=STRUCTURES)
    colors: int = opt(17, "palette size M of a chromatic policy", metavar="M")
    iterations: int | None = opt(None, "stop after this many ES iterations in total "
                                       "(default 100 when --timesteps is not given either)")
    timesteps: int | None = opt(None, "stop once training rollouts have taken this many env steps",
                                metavar="T")
    strategy: str = opt("ars", "ES update: ars (ARS V2-t, antithetic, top-b), antithetic, forward "
                               "(eq. (3) against a pivot)", choices=tuple(STRATEGIES))
    perturbations: int = opt(32, "perturbed rollouts per iteration (a pair counts twice)")
    top_directions: int | None = opt(None, "ars: directions (pairs) used per step, by max(r+, r-) "
                                           "(default: half of the pairs)", metavar="B")
    sigma: float = opt(0.05, "exploration noise std of each perturbation")
    lr: float = opt(0.05, "step size (ARS's alpha for ars)")
    optimizer: str = opt("sgd", "sgd or adam", choices=("sgd", "adam"))
    weight_decay: float = opt(0.0, "ars: shrink parameters by lr * weight_decay each step")
    sigma_decay: float = opt(1.0, "ars: multiply sigma by this every iteration (1: constant)")
    survival_shift: float | None = opt(None, "subtracted from every training reward "
                                             "(default: the task's alive bonus, 1 for Hopper/Walker2d/"
                                             "Ant, 0 otherwise; never applied in evaluation)")
    pivot_episodes: int = opt(1, "forward: unperturbed rollouts per iteration for the pivot")
    eval_every: int = opt(10, "evaluate the mean policy every K iterations; the best is kept",
                          metavar="K")
    eval_episodes: int = opt(5, "episodes of each evaluation (held-out reset seeds)")
    horizon: int | None = opt(None, "cap on episode length (default: the env's own limit)")
    normalize: bool | None = opt(None, "observation normalization (default: on except Swimmer, B.2)")
    init_scale: float = opt(0.1, "std of the initial palette of a hidden-layer policy")
    init_partition: str | None = opt(None, "reuse this policy file's partition (Appendix D)",
                                     metavar="POLICY.npz")
    init_policy: str | None = opt(None, "start from this policy file: its partition, palette, biases "
                                        "and (frozen) normalization, e.g. a colored import to fine-tune",
                                  metavar="POLICY.npz")
    controller: str = opt("fixed", "where each perturbation's partition comes from (docs/enas.md)",
                          choices=tuple(sorted(CONTROLLERS)))
    nas_search: str | None = opt(
        None, "incumbent: ES trains the best partition found so far and the controller's samples "
              "compete to replace it; population: every perturbation trains its own sampled "
              "partition (§3 as written). Default: incumbent for enas/factorized, population for "
              "the random and population baselines (docs/enas.md)", choices=("incumbent", "population"))
    nas_every: int = opt(2, "ES iterations per weight phase; a learning controller updates after each",
                         metavar="K")
    replay_size: int = opt(16, "best partitions the NAS replay buffer keeps")
    replay_fraction: float = opt(0.25, "share of each NAS population resampled from the replay buffer")
    controller_lr: float | None = opt(None, "learning rate of a learning controller's network "
                                            "(default: the controller's own, 0.001; docs/enas.md)")
    entropy_weight: float | None = opt(None, "entropy bonus of a learning controller's loss "
                                             "(default: the controller's own, 0.02)")
    controller_concentration: float | None = opt(
        None, "enas/factorized: start concentrated on the initial partition, each edge keeping its "
              "color with this probability (default 0.97; 0: uniform, the paper's start)", metavar="P")
    score_episodes: int = opt(1, "unperturbed rollouts that score each sampled partition for the "
                                 "controller (0: its best perturbed return, eq. (2) as written)")
    score_horizon: int | None = opt(None, "cap on the length of those scoring rollouts (default: 200 "
                                          "steps in an incumbent search, else --horizon): cheaper, a "
                                          "proxy for the full return")
    confirm_episodes: int | None = opt(
        None, "incumbent search: fresh full-length episodes on which the best challenger must beat "
              "the incumbent again before replacing it (default 2 on tasks that end on a fall, those "
              "with an alive bonus; else 0: the scoring rollouts decide)",
        metavar="N")
    confirm_backoff: int = opt(
        CONFIRM_BACKOFF, "incumbent search with a confirmation: after r challengers in a row lost "
                         "it, pause the challenges for 2^min(r, K) - 1 weight phases (0: never)",
        metavar="K")
    controller_batch: int = opt(32, "fresh partitions per controller update (score-only samples "
                                    "make up the population's own)")
    bits_weight: float = opt(0.0, "lambda: the controller maximises score - lambda * bits(partition)")
    mask_alpha: float = opt(0.01, "masked: temperature of the mask sigmoid(S / alpha) in rollouts "
                                  "(the paper's 0.01, a near-binary threshold; 0: the hard mask)",
                            metavar="ALPHA")
    mask_init_density: float = opt(0.5, "masked: share of weights the initial mask keeps (the "
                                        "paper's 50 %%)", metavar="ETA")
    mask_beta_final: float = opt(0.5, "masked: floor of beta in R' = beta z(R) + (1 - beta) z(1 - eta), "
                                      "annealed from 1", metavar="BETA")
    mask_anneal: int = opt(50, "masked: iterations over which beta falls linearly from 1 to "
                               "--mask-beta-final", metavar="K")
    mask_target: float = opt(0.1, "masked: the share of weights to keep: the sparsity reward pushes only "
                                  "perturbations whose mask keeps more, and the shipped policy is the "
                                  "best evaluation at or below it (Table 2's > 90 %% pruned; 0: the "
                                  "paper's unbounded reward, any evaluation ships)", metavar="ETA")
    mask_fixed: bool = opt(False, "masked: keep exactly floor(--mask-target x E) weights throughout "
                                  "(Lenc et al.'s fixed sparsity) instead of the annealed sparsity "
                                  "reward: the initial mask keeps that many and every update shifts "
                                  "the logits so that exactly that many stay positive")
    dtype: str = opt("f32", "the blob dtype to train for: f16 rounds the palette, biases and normalization "
                            "of every rollout and of the saved policy as an f16 blob stores them "
                            "(quantization-aware ES; the f16 blob then runs what training measured)",
                     choices=("f32", "f16"))
    dense_warmup: float | None = opt(
        None, "chromatic: spend this share of --timesteps training the dense policy of the same shape "
              "first, color it into M colors (k-means, refitted to its actions) and train the colored "
              "policy for the rest (the partition is learned by clustering; docs/enas.md). Default: "
              f"{ENAS_DENSE_WARMUP} with --controller enas where a warm-up applies (--hidden, a --timesteps "
              "budget, no --init-policy / --init-partition), else 0", metavar="F")
    seed: int = opt(0, "the one seed every random draw derives from")

    # -- derived settings ----------------------------------------------------------------------
    @property
    def normalized(self) -> bool:
        return normalize_by_default(self.env_id) if self.normalize is None else self.normalize

    @property
    def shift(self) -> float:
        """Per-step reward shift used in training (the alive bonus unless set)."""
        return survival_bonus(self.env_id) if self.survival_shift is None else float(self.survival_shift)

    @property
    def max_iterations(self) -> int | None:
        """The iteration limit (100 when no budget at all is given)."""
        if self.iterations is None and self.timesteps is None:
            return 100
        return self.iterations

    @property
    def learns_partitions(self) -> bool:
        return self.controller != "fixed"

    @property
    def antithetic(self) -> bool:
        return self.strategy != "forward"

    def done(self, iteration: int, timesteps: int) -> bool:
        """Whether a run at ``iteration`` / ``timesteps`` has used its budget."""
        limit = self.max_iterations
        return ((limit is not None and iteration >= limit)
                or (self.timesteps is not None and timesteps >= self.timesteps))

    def make_strategy(self) -> Strategy:
        if self.strategy not in STRATEGIES:
            raise ChromaticError(f"unknown strategy {self.strategy!r}; available: {', '.join(STRATEGIES)}")
        if self.strategy == "ars":
            return STRATEGIES["ars"](
                num_perturbations=self.perturbations, top_directions=self.top_directions,
                sigma=self.sigma, lr=self.lr, optimizer=self.optimizer,
                weight_decay=self.weight_decay, sigma_decay=self.sigma_decay)
        return STRATEGIES[self.strategy](num_perturbations=self.perturbations, sigma=self.sigma,
                                         lr=self.lr, optimizer=self.optimizer,
                                         num_pivot=self.pivot_episodes)

    def nas(self):
        from chromatic.training.alternating import NasSettings, default_score_horizon

        search = self.nas_search or default_search(self.controller)
        return NasSettings(self.nas_every, self.replay_size, self.replay_fraction, self.score_episodes,
                           self.controller_batch, self.bits_weight,
                           search, self.score_horizon if self.score_horizon is not None
                           else default_score_horizon(search),
                           default_confirm_episodes(self.env_id) if self.confirm_episodes is None
                           else self.confirm_episodes, self.confirm_backoff).validate()

    @property
    def warmup_applies(self) -> bool:
        """Whether a --dense-warmup stage can start this run."""
        return (self.structure == "chromatic" and bool(self.hidden) and self.timesteps is not None
                and self.iterations is None and not self.init_policy and not self.init_partition)

    def default_dense_warmup(self) -> float:
        """--dense-warmup's default: the ENAS search starts from a clustered dense warm-up."""
        return ENAS_DENSE_WARMUP if self.controller == "enas" and self.warmup_applies else 0.0

    def validate(self) -> TrainConfig:
        """These settings checked, with --dense-warmup's default resolved."""
        check_finite(self)
        if self.dense_warmup is None:
            return dataclasses.replace(self, dense_warmup=self.default_dense_warmup()).validate()
        if not self.env_id:
            raise ChromaticError("train needs --env (or --resume RUN_DIR)")
        for name in ("iterations", "timesteps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ChromaticError(f"--{name} must be at least 1, got {value}")
        if self.perturbations < 1:
            raise ChromaticError(f"--perturbations must be at least 1, got {self.perturbations}")
        if any(h < 1 for h in self.hidden):
            raise ChromaticError(f"--hidden widths must be at least 1, got {list(self.hidden)}")
        for name in ("eval_episodes", "eval_every"):
            if getattr(self, name) < 1:
                flag = name.replace("_", "-")
                raise ChromaticError(f"--{flag} must be at least 1, got {getattr(self, name)}")
        if not self.init_scale >= 0:
            raise ChromaticError(f"--init-scale must be >= 0, got {self.init_scale}")
        if self.horizon is not None and self.horizon < 1:
            raise ChromaticError(f"--horizon must be at least 1, got {self.horizon}")
        if self.seed < 0:
            raise ChromaticError(f"--seed must be >= 0, got {self.seed}")
        if self.structure not in STRUCTURES:
            raise ChromaticError(f"unknown structure {self.structure!r}; expected one of {list(STRUCTURES)}")
        if self.activation not in HIDDEN_ACTIVATIONS:
            raise ChromaticError(f"unknown activation {self.activation!r}; expected one of "
                                 f"{list(HIDDEN_ACTIVATIONS)}")
        if self.activation != "tanh" and not self.hidden and not self.init_policy:
            raise ChromaticError(f"--activation {self.activation} applies to hidden layers; "
                                 f"give --hidden WIDTH (a linear policy has none)")
        if self.strategy != "ars" and (self.top_directions is not None or self.weight_decay
                                       or self.sigma_decay != 1.0):
            raise ChromaticError("--top-directions, --weight-decay and --sigma-decay need --strategy ars")
        check_blob_limits(self.hidden, self.colors if self.structure == "chromatic" else None)
        self.make_strategy()  # checks sigma, lr, optimizer, pair parity, top-b
        self.nas()
        c = self.controller_concentration
        if c is not None and not (c == 0 or 1 / self.colors <= c < 1):
            raise ChromaticError(f"--controller-concentration must be 0 or lie in [1/M, 1) = "
                                 f"[{1 / self.colors:.3g}, 1), got {c}")
        if (self.controller_lr is not None and not self.controller_lr > 0) or (
                self.entropy_weight is not None and not self.entropy_weight >= 0):
            raise ChromaticError(f"--controller-lr must be > 0 and --entropy-weight >= 0, got "
                                 f"{self.controller_lr} and {self.entropy_weight}")
        if self.controller not in CONTROLLERS:
            raise ChromaticError(
                f"unknown controller {self.controller!r}; available: {', '.join(CONTROLLERS)}")
        if self.init_policy and self.init_partition:
            raise ChromaticError("give --init-policy or --init-partition, not both")
        if self.dtype not in ("f32", "f16"):
            raise ChromaticError(f"unknown --dtype {self.dtype!r}; expected f32 or f16")
        if self.dtype != "f32" and self.structure == "masked":
            raise ChromaticError("--dtype f16 rounds the stored values; a masked policy's parameters "
                                 "are weights and mask logits: train it with --dtype f32")
        if not 0 <= self.dense_warmup < 1:
            raise ChromaticError(f"--dense-warmup must be in [0, 1), got {self.dense_warmup}")
        if self.dense_warmup and not self.warmup_applies:
            raise ChromaticError("--dense-warmup needs --structure chromatic, --hidden, a --timesteps budget "
                                 "(not --iterations), and no --init-policy / --init-partition")
        from chromatic.training.masked import check_settings

        check_settings(self)
        if self.learns_partitions and self.structure != "chromatic":
            raise ChromaticError(
                f"--controller {self.controller} learns partitions: it needs --structure chromatic")
        return self

    def with_init_policy(self):
        """These settings with the architecture of ``--init-policy`` filled in, and that policy.

        Fields left at their defaults take the policy's values; a field set to something else
        than the policy's is an error (the run could not start from that policy).
        """
        from chromatic.compiler.policy_file import load_policy

        if not self.init_policy:
            return self, None
        policy = load_policy(self.init_policy)
        hidden = tuple(policy.layer_sizes[1:-1])
        if not hidden and self.activation != "tanh":
            raise ChromaticError(f"--init-policy {self.init_policy} is a linear policy; "
                                 f"--activation {self.activation} needs hidden layers")
        own = {"hidden": hidden, "structure": policy.structure.name.lower(),
               "colors": policy.num_colors, "activation": policy.hidden_activation.name.lower()}
        defaults, values = TrainConfig(), {}
        for name, value in own.items():
            mine = getattr(self, name)
            unused = (name == "colors" and own["structure"] != "chromatic"
                      or name == "activation" and not hidden)  # the policy has no such thing
            if unused:
                value = mine
            if mine != value and mine != getattr(defaults, name):
                raise ChromaticError(f"--init-policy {self.init_policy} has {name} {value!r}; "
                                     f"this run asks for {mine!r}")
            values[name] = value
        return dataclasses.replace(self, **values), policy

    # -- config.json and the recorded command ----------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        """The config of a run directory; unknown or mistyped fields raise ValueError/TypeError."""
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        raw["hidden"] = tuple(raw.get("hidden", ()))
        return cls(**raw)

    def command(self, out: str) -> str:
        """The canonical ``chromatic train`` command for these settings (policy metadata)."""
        argv = ["chromatic", "train"]
        defaults = TrainConfig()
        always = {"env_id", "hidden", "structure", "seed"}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "colors" and self.structure != "chromatic":
                continue
            default = self.default_dense_warmup() if f.name == "dense_warmup" else getattr(defaults, f.name)
            if f.name not in always and value == default and f.name != "colors":
                continue
            flag = _flag(f)
            if f.name == "hidden":
                for h in value:
                    argv += [flag, str(h)]
            elif isinstance(value, bool):
                argv.append(flag if value else f"--no-{flag[2:]}")
            elif value is not None:
                argv += [flag, str(value)]
        return shlex.join([*argv, "--out", out])


def check_finite(cfg: TrainConfig) -> None:
    """Refuse a float setting that is not a finite number (argparse's ``float`` takes ``nan``
    and ``inf``, and config.json may hold ``NaN``): the one check every float option gets,
    before its own range check (which a NaN would slip through)."""
    for f in dataclasses.fields(TrainConfig):
        if _base_type(f) is not float:
            continue
        value = getattr(cfg, f.name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ChromaticError(f"{_flag(f)} must be a finite number, got {value!r}")


def check_blob_limits(hidden: tuple[int, ...], colors: int | None,
                      layer_sizes: tuple[int, ...] | None = None, structure: str = "chromatic") -> None:
    """Refuse, before any training, sizes the blob format cannot hold (``compiler.limits``).

    At argument time the options are checked by name; once the environment fixes the input and
    output sizes, the whole architecture is (edges included).
    """
    from chromatic.compiler.limits import MAX_LAYERS, MAX_STORED_COLORS, MAX_WIDTH, check_sizes

    if len(hidden) + 1 > MAX_LAYERS:
        raise ChromaticError(f"{len(hidden) + 1} layers; the blob format allows {MAX_LAYERS}")
    if any(h > MAX_WIDTH for h in hidden):
        raise ChromaticError(f"--hidden widths must be at most {MAX_WIDTH} (the blob format), "
                             f"got {list(hidden)}")
    if colors is not None and not 1 <= colors <= MAX_STORED_COLORS:
        raise ChromaticError(f"--colors must be in [1, {MAX_STORED_COLORS}] (the blob format's "
                             f"16-bit indices), got {colors}")
    if layer_sizes is not None:
        check_sizes(layer_sizes, colors, structure, what=f"layer sizes {list(layer_sizes)}")


# -- the command line ---------------------------------------------------------------------------
def _flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or f"--{f.name.replace('_', '-')}"


def _base_type(f: dataclasses.Field) -> type:
    hint = typing.get_type_hints(TrainConfig)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = args[0]
    if typing.get_origin(hint) is tuple:
        return tuple
    return hint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per settings field, default shown from the dataclass (never repeated here)."""
    defaults = TrainConfig()
    group = parser.add_argument_group("training settings (saved in RUN_DIR/config.json)")
    for f in dataclasses.fields(TrainConfig):
        default = getattr(defaults, f.name)
        shown = "" if default in (None, "", ()) else f" (default: {default})"
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS,
                              "help": f.metadata["help"] + shown}
        if f.metadata.get("metavar"):
            kw["metavar"] = f.metadata["metavar"]
        typ = _base_type(f)
        if typ is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif typ is tuple:
            kw.update(type=int, action="append")
        else:
            kw["type"] = typ
            if f.metadata.get("choices"):
                kw["choices"] = f.metadata["choices"]
        group.add_argument(_flag(f), **kw)


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the user gave on the command line (defaults stay in the dataclass)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    out = {k: v for k, v in vars(args).items() if k in names}
    if "hidden" in out:
        out["hidden"] = tuple(out["hidden"])
    return out


def from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**given(args)).validate()
