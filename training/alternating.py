"""Alternating optimization of the partition and the shared weights (paper §3, eqs. (1)-(3)).

Training alternates two phases: a *weight phase* of K ES iterations that trains the shared palette,
and a *NAS step* at its end in which the controller takes one REINFORCE step on a reward per
sampled partition. How the phases share partitions is the search (``NasSettings.search``):

- ``incumbent`` (the default of the learning controllers): ES trains one partition, the
  *incumbent* (at first the run's initial partition, the one ``--controller fixed`` would train).
  Each phase the controller proposes ``controller_batch`` challengers (local edits of its
  distribution); the incumbent and the challengers are scored on the same episode seeds with the
  current palette, the controller learns from the challengers' scores, and the best challenger
  replaces the incumbent when it scores higher -- and, with ``confirm_episodes``, again on fresh
  full-length episodes (the controller's distribution is then re-centred on it, :func:`recenter`).
  ES never trains on a partition it was not asked to deploy, so the search costs only its scoring
  rollouts and can only move to partitions that score better;
- ``population`` (§3 as written; the random and population baselines of Fig. 4): a NAS step draws
  a population of partitions, one per perturbation, from the controller (eq. (1)) and every
  perturbed rollout of the weight phase uses its own partition (the ES pivot is the mean
  unperturbed return over the population's partitions); a replay buffer keeps the best partitions
  seen so far and puts some of them back into each new population.

The final policy is the best partition with the trained palette, re-evaluated (:func:`finalists`).

The controller's reward for a partition P (docs/enas.md, "The controller's reward"):

- ``score_episodes >= 1`` (the default): the mean return of ``score_episodes`` *unperturbed*
  rollouts of the current palette with P, on episode seeds shared by the whole population
  (:func:`score_jobs`, :func:`score`) -- ENAS's reward (§2: the child model evaluated with the
  shared weights frozen). It measures the partition: re-scoring the same partitions correlates
  at 0.96, where the phase's best perturbed return (below) correlated at -0.45;
- ``score_episodes = 0``: eq. (2) as written, the best perturbed return P earned during the phase
  (:func:`observe`), which mostly measures the luck of the perturbation and the episode seed.

With ``bits_weight`` = lambda > 0 the reward is ``score - lambda * bits(P)`` (:func:`partition_bits`).

Everything here is a pure function of the state it is given and the driver's RNG, and the state
round-trips through the checkpoint as arrays, so a resumed run, any backend and any number of
workers give the same partitions and the same policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from chromatic.compiler.ir import index_bits
from chromatic.errors import ChromaticError

PREFIX = "nas/"
SEARCHES = ("incumbent", "population")
#: Steps of the scoring rollouts in an incumbent search unless --score-horizon says otherwise: on
#: HalfCheetah tuning seeds 100/101 (3 M timesteps) the incumbent search reached 3,638 / 2,672 with
#: 200-step scores (2,632 on seed 100 with full episodes), against 2,632 / 2,309 for the fixed
#: partition.
INCUMBENT_SCORE_HORIZON = 200
#: Full-length episodes on which the best challenger must beat the incumbent again before it
#: replaces it (--confirm-episodes) on tasks that end on a fall (settings.default_confirm_episodes):
#: the best of 32 one-episode scores nearly always beats the incumbent's one (the winner's curse),
#: and a 200-step score cannot see a fall at step 400.
CONFIRM_EPISODES = 2


def default_score_horizon(search: str) -> int | None:
    """The scoring rollouts' length cap when none is given (None: the run's horizon)."""
    return INCUMBENT_SCORE_HORIZON if search == "incumbent" else None


@dataclass(frozen=True)
class NasSettings:
    """How the two phases alternate (command-line options of ``chromatic train``)."""

    every: int = 2
    """K: ES iterations per weight phase; the controller updates after each phase."""
    replay_size: int = 16
    """partitions the replay buffer keeps (the best by reward)."""
    replay_fraction: float = 0.25
    """share of each new population resampled from the replay buffer."""
    score_episodes: int = 1
    """unperturbed rollouts of the current palette that score each partition for the controller
    and the replay buffer (0: its best perturbed return of the phase, eq. (2) as written)."""
    controller_batch: int = 32
    """fresh partitions per controller update: the population's own plus score-only samples
    (scored, not trained on) to make up the number; needs score_episodes >= 1."""
    bits_weight: float = 0.0
    """lambda: the controller maximises score - lambda * bits(partition) (fewer colors, fewer bits)."""
    search: str = "population"
    """incumbent: ES trains the best partition so far, samples only challenge it; population: every
    perturbation trains its own sampled partition (the module docstring)."""
    score_horizon: int | None = None
    """cap on the scoring rollouts' length (None: the run's horizon)."""
    confirm_episodes: int = 0
    """incumbent search: fresh full-length episodes on which the best challenger must beat the
    incumbent again before replacing it (0: the scoring rollouts decide alone)."""
    confirm_backoff: int = 0
    """incumbent search with a confirmation: after r challengers in a row lost it, the next
    2**min(r, confirm_backoff) - 1 phases draw no challengers (ES trains on; 0: never pause)."""

    def validate(self) -> NasSettings:
        if self.every < 1:
            raise ChromaticError(f"--nas-every must be at least 1, got {self.every}")
        if self.replay_size < 0:
            raise ChromaticError(f"--replay-size must be >= 0, got {self.replay_size}")
        if not 0.0 <= self.replay_fraction < 1.0:
            raise ChromaticError(f"--replay-fraction must lie in [0, 1), got {self.replay_fraction}")
        if self.score_episodes < 0:
            raise ChromaticError(f"--score-episodes must be >= 0, got {self.score_episodes}")
        if self.controller_batch < 0:
            raise ChromaticError(f"--controller-batch must be >= 0, got {self.controller_batch}")
        if not self.bits_weight >= 0.0:
            raise ChromaticError(f"--bits-weight must be >= 0, got {self.bits_weight}")
        if self.confirm_episodes < 0:
            raise ChromaticError(f"--confirm-episodes must be >= 0, got {self.confirm_episodes}")
        if not 0 <= self.confirm_backoff <= 16:
            raise ChromaticError(f"--confirm-backoff must lie in 0..16, got {self.confirm_backoff}")
        if self.score_horizon is not None and self.score_horizon < 1:
            raise ChromaticError(f"--score-horizon must be at least 1, got {self.score_horizon}")
        if self.search not in SEARCHES:
            raise ChromaticError(f"--nas-search must be one of {', '.join(SEARCHES)}, got {self.search!r}")
        if self.search == "incumbent" and not (self.score_episodes and self.controller_batch):
            raise ChromaticError("--nas-search incumbent scores challengers: it needs --score-episodes "
                                 ">= 1 and --controller-batch >= 1")
        return self


@dataclass(frozen=True, eq=False)
class NasState:
    """The current weight phase's population and the replay buffer (all checkpointed)."""

    population: np.ndarray  # (P, E) int64: partition of perturbation k (empty before phase 1)
    best: np.ndarray  # (P,) max return of each partition in this phase so far
    sampled: np.ndarray  # (P,) bool: drawn from the controller (True) or replayed (False)
    buffer: np.ndarray  # (R, E) int64: the best partitions seen, best first
    buffer_scores: np.ndarray  # (R,) their rewards (from the phase that last judged them)
    updates: int = 0  # controller updates so far
    candidates: np.ndarray | None = None  # (C, E) score-only fresh samples of this phase
    scores: np.ndarray | None = None  # (P + C,) unperturbed score of each scored partition (NaN: none)
    last_mean_reward: float = float("nan")
    last_entropy: float = float("nan")
    incumbent: np.ndarray | None = None  # (E,) the partition ES trains (search "incumbent"), else (0,)
    merges: int = 0  # the last ``merges`` candidates are merge proposals, not controller samples
    moves: int = 0  # incumbent search: challengers that replaced the incumbent so far
    rejected: int = 0  # ... and those that won the scoring rollouts but lost the confirmation
    streak: int = 0  # ... challengers in a row that lost it (0 after a move)
    hold: int = 0  # ... phases still to run without challengers (NasSettings.confirm_backoff)

    def __post_init__(self) -> None:  # a checkpoint from before scoring: nothing scored yet
        if self.candidates is None:
            object.__setattr__(self, "candidates", np.zeros((0, self.population.shape[1]), np.int64))
        if self.scores is None:
            object.__setattr__(self, "scores", np.full(len(self.population) + len(self.candidates), np.nan))
        if self.incumbent is None:
            object.__setattr__(self, "incumbent", np.zeros(0, np.int64))

    @staticmethod
    def empty(num_edges: int, incumbent: np.ndarray | None = None) -> NasState:
        """No phase yet; ``incumbent``: the initial partition of an incumbent search."""
        e = np.zeros((0, num_edges), np.int64)
        inc = None if incumbent is None else np.asarray(incumbent, np.int64).reshape(num_edges)
        return NasState(e, np.zeros(0), np.zeros(0, bool), e.copy(), np.zeros(0), incumbent=inc)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {PREFIX + k: np.asarray(v) for k, v in (
            ("population", self.population), ("best", self.best), ("sampled", self.sampled),
            ("buffer", self.buffer), ("buffer_scores", self.buffer_scores),
            ("candidates", self.candidates), ("scores", self.scores),
            ("updates", self.updates), ("last_mean_reward", self.last_mean_reward),
            ("last_entropy", self.last_entropy), ("incumbent", self.incumbent), ("merges", self.merges),
            ("moves", self.moves), ("rejected", self.rejected), ("streak", self.streak),
            ("hold", self.hold))}

    @staticmethod
    def from_arrays(a: dict[str, np.ndarray], num_edges: int,
                    incumbent: np.ndarray | None = None) -> NasState:
        """The state saved by :meth:`to_arrays`, or a fresh one (:meth:`empty`) if none was."""
        if PREFIX + "population" not in a:
            return NasState.empty(num_edges, incumbent)
        g = {k[len(PREFIX):]: v for k, v in a.items() if k.startswith(PREFIX)}
        opt = {k: g[k].astype(t) for k, t in (("candidates", np.int64), ("scores", np.float64),
                                              ("incumbent", np.int64)) if k in g}
        return NasState(g["population"].astype(np.int64), g["best"].astype(np.float64),
                        g["sampled"].astype(bool), g["buffer"].astype(np.int64),
                        g["buffer_scores"].astype(np.float64), int(g["updates"]), **opt,
                        last_mean_reward=float(g["last_mean_reward"]),
                        last_entropy=float(g["last_entropy"]), merges=int(g.get("merges", 0)),
                        moves=int(g.get("moves", 0)), rejected=int(g.get("rejected", 0)),
                        streak=int(g.get("streak", 0)), hold=int(g.get("hold", 0)))

    @property
    def idle(self) -> bool:
        """An incumbent search's phase without challengers (a backoff pause): nothing to score."""
        return len(self.incumbent) > 0 and not len(self.candidates)


def split_state(state: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A checkpoint's controller arrays -> (the controller's own state, the NAS state)."""
    own = {k: v for k, v in state.items() if not k.startswith(PREFIX)}
    return own, {k: v for k, v in state.items() if k.startswith(PREFIX)}


def _sample(controller, batch: int, rng: np.random.Generator) -> np.ndarray:
    out = controller.sample(batch, rng)
    return np.asarray(out[0] if isinstance(out, tuple) else out, dtype=np.int64)


#: Merge proposals per NAS step of a bits-aware incumbent search (:func:`merge_proposals`).
MERGES = 4


def merge_proposals(partition: np.ndarray, palette: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` partitions that each use one color fewer than ``partition``: for the
    ``count`` pairs of used colors with the closest palette values, the rarer color's edges take
    the commoner one's (the smallest change of weights a merge can make). The bits-aware search
    needs them: a controller's local edits almost never empty a whole color class, so without
    merges ``score - lambda * bits`` could not reach fewer colors."""
    part = np.asarray(partition, np.int64)
    used = np.unique(part)
    if len(used) < 2 or count < 1:
        return np.zeros((0, len(part)), np.int64)
    w = np.asarray(palette, np.float64)[used]
    a, b = np.triu_indices(len(used), 1)
    order = np.argsort(np.abs(w[a] - w[b]), kind="stable")[:count]
    sizes = np.bincount(part, minlength=int(used.max()) + 1)
    out = []
    for i, j in zip(used[a[order]], used[b[order]], strict=True):
        rare, common = (i, j) if (sizes[i], i) < (sizes[j], j) else (j, i)
        out.append(np.where(part == rare, common, part))
    return np.array(out, np.int64)


def start_phase(st: NasState, controller, size: int, settings: NasSettings,
                rng: np.random.Generator, group: int = 1, palette: np.ndarray | None = None) -> NasState:
    """Draw the population of a new weight phase: controller samples plus replayed partitions,
    and the score-only candidates that make the controller's batch up to ``controller_batch``.

    With ``group = 2`` (antithetic ES) each partition is drawn once and given to both halves of
    a pair, so the pair's return difference measures the perturbation, not the partition.
    In an incumbent search every perturbation trains the incumbent and all ``controller_batch``
    samples are score-only challengers; with ``bits_weight`` > 0 and the ``palette`` given,
    :func:`merge_proposals` of the incumbent join them (scored and eligible, never trained on by
    the controller). While ``st.hold`` > 0 (a backoff after failed confirmations) the phase draws
    no challengers: ES trains the incumbent and nothing is scored.
    """
    if settings.search == "incumbent" and st.hold > 0:
        e = len(st.incumbent)
        return replace(st, population=np.repeat(st.incumbent[None], size, axis=0),
                       best=np.full(size, -np.inf), sampled=np.zeros(size, bool),
                       candidates=np.zeros((0, e), np.int64), merges=0, scores=np.full(size, np.nan),
                       hold=st.hold - 1)
    if settings.search == "incumbent":
        fresh = _sample(controller, settings.controller_batch, rng)
        bits_aware = settings.bits_weight > 0 and palette is not None
        merges = (merge_proposals(st.incumbent, palette, MERGES) if bits_aware
                  else np.zeros((0, len(st.incumbent)), np.int64))
        cands = np.concatenate([fresh, merges])
        return replace(st, population=np.repeat(st.incumbent[None], size, axis=0),
                       best=np.full(size, -np.inf),
                       sampled=np.zeros(size, bool), candidates=cands, merges=len(merges),
                       scores=np.full(size + len(cands), np.nan))
    draws = size // group
    n_replay = min(int(settings.replay_fraction * draws), len(st.buffer))
    n_fresh = draws - n_replay
    extra = max(0, settings.controller_batch - n_fresh) if settings.score_episodes else 0
    fresh = _sample(controller, n_fresh + extra, rng)
    if n_replay:
        pick = np.sort(rng.choice(len(st.buffer), size=n_replay, replace=False))
        population = np.concatenate([fresh[:n_fresh], st.buffer[pick]])
    else:
        population = fresh[:n_fresh]
    sampled = np.arange(draws) < n_fresh
    return replace(st, population=np.repeat(population, group, axis=0), best=np.full(size, -np.inf),
                   sampled=np.repeat(sampled, group), candidates=fresh[n_fresh:],
                   scores=np.full(size + len(fresh[n_fresh:]), np.nan))


def scored_partitions(st: NasState) -> np.ndarray:
    """The population followed by the score-only candidates (P + C, E): the partitions the
    driver sends with the job; perturbation k uses row k, :class:`ScoreJobs` rows index this."""
    assert st.candidates is not None
    return np.concatenate([st.population, st.candidates])


def observe(st: NasState, returns: np.ndarray, group: int = 1) -> NasState:
    """Fold one ES iteration's perturbed returns into each partition's phase maximum (eq. (2));
    the ``group`` rollouts that share a partition share its maximum."""
    r = np.asarray(returns, dtype=np.float64).reshape(-1, group).max(axis=1)
    return replace(st, best=np.maximum(st.best, np.repeat(r, group)))


@dataclass(frozen=True, eq=False)
class ScoreJobs:
    """The unperturbed rollouts that score a phase's partitions: rollout j runs row ``rows[j]`` of
    :func:`scored_partitions` (current palette, no perturbation) from episode seed ``seeds[j]``."""

    rows: np.ndarray  # (n,) int64, each distinct partition once per episode
    seeds: np.ndarray  # (n,) int64 episode seeds; every partition gets the same ones

    def __len__(self) -> int:
        return len(self.rows)


def score_jobs(st: NasState, settings: NasSettings, rng: np.random.Generator) -> ScoreJobs:
    """Rollouts that score every distinct partition of the phase (none if ``score_episodes`` is
    0). The driver runs them in the phase's last ES iteration, next to its perturbed rollouts and
    with the same (unperturbed) parameters, and hands their returns to :func:`score`.

    All partitions share the same ``score_episodes`` episode seeds (common random numbers), so a
    score difference is a difference of partitions, not of starting states. Draws the seeds from
    ``rng`` only when there is something to score.
    """
    k, parts = settings.score_episodes, scored_partitions(st)
    if k == 0 or not len(parts) or st.idle:
        return ScoreJobs(np.zeros(0, np.int64), np.zeros(0, np.int64))
    _, first = np.unique(parts, axis=0, return_index=True)
    rows = np.sort(first)
    seeds = rng.integers(0, 2**31, size=k)
    return ScoreJobs(np.repeat(rows, k), np.tile(seeds, len(rows)).astype(np.int64))


def score(st: NasState, jobs: ScoreJobs, returns: np.ndarray) -> NasState:
    """Each scored partition's score: the mean return of its :func:`score_jobs` rollouts
    (population members and candidates that share a partition share the score)."""
    returns = np.asarray(returns, np.float64).reshape(-1)
    if len(returns) != len(jobs):
        raise ChromaticError(f"score: expected {len(jobs)} returns, found {len(returns)}")
    if not len(jobs):
        return st
    rows, inv = np.unique(jobs.rows, return_inverse=True)
    inv = inv.reshape(-1)
    means = np.bincount(inv, weights=returns) / np.bincount(inv)
    _, ids = np.unique(scored_partitions(st), axis=0, return_inverse=True)  # partition id per row
    ids = ids.reshape(-1)
    by_id = np.full(ids.max() + 1, np.nan)
    by_id[ids[rows]] = means
    return replace(st, scores=by_id[ids])


def partition_bits(parts: np.ndarray) -> np.ndarray:
    """Bits each partition (row) costs in the paper's accounting once its unused colors are
    dropped: a ceil(log2 k)-bit index per edge plus a 32-bit palette entry per color, k = the
    number of distinct colors it uses."""
    parts = np.sort(np.atleast_2d(np.asarray(parts)), axis=1)
    k = 1 + (np.diff(parts, axis=1) != 0).sum(axis=1)
    return np.array([parts.shape[1] * index_bits(int(c)) + 32 * int(c) for c in k], np.float64)


def rewards(st: NasState, settings: NasSettings) -> np.ndarray:
    """The controller's reward of each row of :func:`scored_partitions`: its unperturbed score
    where scored, else (population members) its best perturbed return of the phase, else NaN;
    minus ``bits_weight`` x its bits."""
    assert st.scores is not None and st.candidates is not None
    fallback = np.concatenate([st.best, np.full(len(st.candidates), np.nan)])
    r = np.where(np.isfinite(st.scores), st.scores, fallback)
    if settings.bits_weight > 0 and len(r):
        r = r - settings.bits_weight * partition_bits(scored_partitions(st))
    return r


def end_phase(st: NasState, controller, settings: NasSettings, group: int = 1,
              confirm: Callable[[np.ndarray], np.ndarray] | None = None) -> NasState:
    """One controller update on the phase's rewards (:func:`rewards`; one per drawn partition:
    the fresh population members and the scored candidates), then the replay buffer keeps the
    best partitions by the same reward.

    In an incumbent search the best challenger then replaces the incumbent if it scored higher on
    the same seeds and, with ``confirm`` given and ``confirm_episodes`` >= 1, if it is better
    again on fresh full-length episodes: ``confirm(parts)`` returns the mean return of each row
    of ``parts`` (incumbent, challenger) on ``confirm_episodes`` common episode seeds. After r
    losses of the confirmation in a row the next 2**min(r, confirm_backoff) - 1 phases are idle
    (:func:`start_phase`); a move ends the streak. An idle phase changes nothing here.
    """
    if st.idle:
        return st
    P = len(st.population)
    reward = rewards(st, settings)
    from_controller = np.arange(len(reward) - P) < len(reward) - P - st.merges
    fresh = np.concatenate([st.sampled & (np.arange(P) % group == 0),
                            np.isfinite(reward[P:]) & from_controller])
    parts = scored_partitions(st)
    stats = controller.update(parts[fresh], reward[fresh]) if fresh.any() else None
    stats = stats or {}
    judged = np.concatenate([np.ones(P, bool), np.isfinite(reward[P:])])  # unscored: never judged
    pool = np.concatenate([parts[judged], st.buffer])
    pool_scores = np.concatenate([reward[judged], st.buffer_scores])  # newest judgement first wins
    _, first = np.unique(pool, axis=0, return_index=True)
    keep = first[np.argsort(-pool_scores[first], kind="stable")][: settings.replay_size]
    incumbent, moves, rejected, streak, hold = st.incumbent, st.moves, st.rejected, st.streak, 0
    if settings.search == "incumbent" and P and len(parts) > P:
        j = P + int(np.argmax(np.where(np.isfinite(reward[P:]), reward[P:], -np.inf)))
        if reward[j] > reward[0]:  # scored on the same seeds as the incumbent (row 0)
            pair = np.stack([st.incumbent, parts[j]])
            if confirm is not None and settings.confirm_episodes:
                again = np.asarray(confirm(pair), np.float64) - settings.bits_weight * partition_bits(pair)
                won = bool(again[1] > again[0])
            else:
                won = True
            if won:
                incumbent, moves, streak = parts[j].copy(), moves + 1, 0
                if hasattr(controller, "recenter"):
                    controller.recenter(st.incumbent, incumbent)
            else:
                rejected, streak = rejected + 1, streak + 1
                hold = 2 ** min(streak, settings.confirm_backoff) - 1
    return replace(st, buffer=pool[keep], buffer_scores=pool_scores[keep], updates=st.updates + 1,
                   incumbent=incumbent, moves=moves, rejected=rejected, streak=streak, hold=hold,
                   last_mean_reward=float(stats.get("mean_reward", np.mean(reward[fresh]) if fresh.any()
                                                    else np.nan)),
                   last_entropy=float(stats.get("entropy", np.nan)))


def finalists(st: NasState, count: int) -> np.ndarray:
    """Up to ``count`` distinct candidate partitions for the final policy, best first.

    The replay buffer and the current phase's partitions, ranked by their rewards (unperturbed
    scores where the phase was scored); the driver re-evaluates them with the trained palette and
    keeps the best. An incumbent search's incumbent comes first: it is the partition ES trained.
    """
    if len(st.incumbent):
        others = [p for p in finalists(replace(st, incumbent=np.zeros(0, np.int64)), count)
                  if not np.array_equal(p, st.incumbent)]
        return np.array([st.incumbent, *others][:count], np.int64)
    r = rewards(st, NasSettings())
    ok = np.isfinite(r) | (np.arange(len(r)) < len(st.population))
    parts = np.concatenate([st.buffer, scored_partitions(st)[ok]])
    scores = np.concatenate([st.buffer_scores, r[ok]])
    if not len(parts):
        return parts
    _, first = np.unique(parts, axis=0, return_index=True)
    order = first[np.argsort(-scores[first], kind="stable")]
    return parts[order[:count]]


def pivot_partitions(num_pivot: int, population: int, iteration: int) -> np.ndarray:
    """Which partitions the unperturbed (pivot) rollouts use: spread over the population and
    rotated every iteration, so the pivot is the mean unperturbed return over sampled partitions."""
    if population <= 0:
        return np.zeros(num_pivot, np.int64)
    j = np.arange(num_pivot)
    return (j * population // max(num_pivot, 1) + iteration) % population
