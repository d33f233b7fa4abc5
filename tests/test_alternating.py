"""Alternating optimization of partitions and weights (training/alternating.py, eqs. (1)-(3))."""

import json
from dataclasses import replace

import numpy as np
import pytest

from chromatic.cli import main
from chromatic.compiler.policy_file import load_policy
from chromatic.errors import ChromaticError
from chromatic.training import run as run_mod
from chromatic.training.alternating import (
    NasSettings,
    NasState,
    end_phase,
    finalists,
    observe,
    partition_bits,
    score,
    score_jobs,
    scored_partitions,
    start_phase,
)
from chromatic.training.run import EngineOptions, TrainConfig, resume, start
from chromatic.training.run_analysis import analyze_run

INLINE = EngineOptions("inline")


def tiny(**kw) -> TrainConfig:
    base = dict(env_id="Pendulum-v1", hidden=(4,), colors=5, iterations=5, perturbations=6, seed=3,
                horizon=30, eval_episodes=2, controller="enas", nas_every=2, pivot_episodes=2,
                strategy="forward", replay_size=4, replay_fraction=0.34)
    base.update(kw)
    return TrainConfig(**base)


class Recorder:
    """A stub controller: fixed samples, remembers what update() was given."""

    def __init__(self, parts: np.ndarray) -> None:
        self.parts, self.calls = parts, []

    def sample(self, batch, rng):
        return self.parts[:batch].copy(), {}

    def update(self, parts, rewards):
        self.calls.append((parts.copy(), rewards.copy()))
        return {"mean_reward": float(rewards.mean()), "entropy": 0.5}


def test_controller_reward_is_the_max_over_the_weight_phase_and_buffer_keeps_the_best():
    parts = np.arange(12).reshape(4, 3) % 5
    ctrl = Recorder(parts)
    settings = NasSettings(every=3, replay_size=2, replay_fraction=0.0)
    st = start_phase(NasState.empty(3), ctrl, 4, settings, np.random.default_rng(0))
    for r in ([1.0, 5.0, -2.0, 0.0], [3.0, 4.0, -1.0, 0.5], [2.0, 0.0, -3.0, 9.0]):
        st = observe(st, np.array(r))
    st = end_phase(st, ctrl, settings)
    (got_parts, rewards), = ctrl.calls
    assert np.array_equal(got_parts, parts) and np.array_equal(rewards, [3.0, 5.0, -1.0, 9.0])
    assert np.array_equal(st.buffer, parts[[3, 1]]) and np.array_equal(st.buffer_scores, [9.0, 5.0])
    assert st.updates == 1 and st.last_mean_reward == pytest.approx(4.0) and st.last_entropy == 0.5
    # the next population replays buffer members; only fresh samples reach the controller
    settings = NasSettings(every=3, replay_size=2, replay_fraction=0.5)
    st2 = start_phase(st, ctrl, 4, settings, np.random.default_rng(1))
    assert np.array_equal(st2.sampled, [True, True, False, False])
    assert {tuple(p) for p in st2.population[2:]} == {tuple(p) for p in st.buffer}
    st2 = end_phase(observe(st2, np.array([0.0, 1.0, 20.0, -5.0])), ctrl, settings)
    assert np.array_equal(ctrl.calls[-1][1], [0.0, 1.0])
    # a replayed partition's score is its newest judgement
    assert np.array_equal(st2.buffer_scores, [20.0, 1.0])
    assert np.array_equal(finalists(st2, 1)[0], st2.buffer[0])


def test_antithetic_pairs_share_a_partition_and_count_once():
    parts = np.arange(12).reshape(4, 3) % 5
    ctrl = Recorder(parts)
    settings = NasSettings(every=2, replay_size=4, replay_fraction=0.0)
    st = start_phase(NasState.empty(3), ctrl, 6, settings, np.random.default_rng(0), group=2)
    assert np.array_equal(st.population, np.repeat(parts[:3], 2, axis=0))
    for r in ([1.0, 5.0, -2.0, 0.0, 7.0, 3.0], [3.0, 4.0, -1.0, -9.0, 0.0, 8.0]):
        st = observe(st, np.array(r), group=2)
    assert np.array_equal(st.best, [5.0, 5.0, 0.0, 0.0, 8.0, 8.0])
    st = end_phase(st, ctrl, settings, group=2)
    (got_parts, rewards), = ctrl.calls
    assert np.array_equal(got_parts, parts[:3]) and np.array_equal(rewards, [5.0, 0.0, 8.0])
    assert len(st.buffer) == 3


def test_unperturbed_scores_are_the_reward_and_rank_the_buffer():
    """score_jobs/score (the driver's extra rollouts): one rollout per distinct partition and
    episode seed, the seeds shared; the controller and the buffer see the scores, not the maxima."""
    parts = np.array([[0, 1, 2], [0, 1, 2], [2, 2, 2], [1, 0, 1], [4, 4, 0], [3, 3, 3]])
    ctrl = Recorder(parts)
    settings = NasSettings(every=2, replay_size=3, replay_fraction=0.0, score_episodes=2,
                           controller_batch=5)
    st = start_phase(NasState.empty(3), ctrl, 4, settings, np.random.default_rng(0))
    assert len(st.population) == 4 and np.array_equal(st.candidates, parts[4:5])  # 4 + 1 = 5 fresh
    assert np.array_equal(scored_partitions(st), parts[:5])
    st = observe(st, np.array([9.0, 9.0, 9.0, 9.0]))  # maxima that scoring must override
    jobs = score_jobs(st, settings, np.random.default_rng(1))
    assert np.array_equal(jobs.rows, [0, 0, 2, 2, 3, 3, 4, 4])  # rows 0 and 1 are one partition
    assert len(set(jobs.seeds[0::2])) == 1 and len(set(jobs.seeds[1::2])) == 1  # common seeds
    returns = np.array([1.0, 3.0, 5.0, 7.0, -1.0, -3.0, 10.0, 20.0])
    st = score(st, jobs, returns)
    np.testing.assert_array_equal(st.scores, [2.0, 2.0, 6.0, -2.0, 15.0])
    st = end_phase(st, ctrl, settings)
    got_parts, rewards = ctrl.calls[-1]
    assert np.array_equal(got_parts, parts[:5]) and np.array_equal(rewards, [2.0, 2.0, 6.0, -2.0, 15.0])
    assert np.array_equal(st.buffer, parts[[4, 2, 0]]) and np.array_equal(st.buffer_scores, [15.0, 6.0, 2.0])
    assert np.array_equal(finalists(st, 1)[0], parts[4])
    with pytest.raises(ChromaticError, match="expected 8 returns"):
        score(st, jobs, returns[:-1])


def test_without_scoring_nothing_extra_is_drawn_and_the_phase_maximum_is_the_reward():
    parts = np.arange(18).reshape(6, 3) % 5
    ctrl = Recorder(parts)
    settings = NasSettings(every=1, replay_fraction=0.0, score_episodes=0, controller_batch=6)
    st = start_phase(NasState.empty(3), ctrl, 4, settings, np.random.default_rng(0))
    assert len(st.candidates) == 0
    rng = np.random.default_rng(5)
    assert len(score_jobs(st, settings, rng)) == 0
    assert rng.random() == np.random.default_rng(5).random()  # the stream is untouched
    end_phase(observe(st, np.array([1.0, 2.0, 3.0, 4.0])), ctrl, settings)
    assert np.array_equal(ctrl.calls[-1][1], [1.0, 2.0, 3.0, 4.0])


def test_unscored_candidates_are_left_out_of_the_update():
    """A driver that does not run the score rollouts still gives a working controller update."""
    parts = np.arange(18).reshape(6, 3) % 5
    ctrl = Recorder(parts)
    settings = NasSettings(every=1, replay_fraction=0.0, controller_batch=6)
    st = start_phase(NasState.empty(3), ctrl, 4, settings, np.random.default_rng(0))
    assert len(st.candidates) == 2
    end_phase(observe(st, np.array([1.0, 2.0, 3.0, 4.0])), ctrl, settings)
    assert len(ctrl.calls[-1][0]) == 4


def test_bits_of_a_partition_and_the_bits_aware_reward():
    e = 943
    assert partition_bits(np.arange(e) % 17)[0] == e * 5 + 32 * 17
    assert partition_bits(np.arange(e) % 16)[0] == e * 4 + 32 * 16
    assert partition_bits(np.zeros((2, e), int)).tolist() == [32.0, 32.0]  # one color: no index
    parts = np.stack([np.arange(6) % 4, np.arange(6) % 2])
    ctrl = Recorder(parts)
    settings = NasSettings(every=1, replay_fraction=0.0, score_episodes=0, bits_weight=0.5)
    st = start_phase(NasState.empty(6), ctrl, 2, settings, np.random.default_rng(0))
    end_phase(observe(st, np.array([100.0, 100.0])), ctrl, settings)
    np.testing.assert_allclose(ctrl.calls[-1][1], [100 - 0.5 * (6 * 2 + 32 * 4), 100 - 0.5 * (6 + 32 * 2)])
    with pytest.raises(ChromaticError, match="--bits-weight"):
        NasSettings(bits_weight=-1.0).validate()


def test_state_round_trips_through_arrays():
    ctrl = Recorder(np.arange(8).reshape(2, 4) % 3)
    st = start_phase(NasState.empty(4), ctrl, 2, NasSettings(), np.random.default_rng(0))
    st = end_phase(observe(st, np.array([1.0, 2.0])), ctrl, NasSettings())
    back = NasState.from_arrays(st.to_arrays(), 4)
    for name in ("population", "best", "sampled", "buffer", "buffer_scores", "candidates", "scores"):
        assert np.array_equal(getattr(back, name), getattr(st, name), equal_nan=name == "scores")
    old = {k: v for k, v in st.to_arrays().items() if k not in ("nas/candidates", "nas/scores")}
    before = NasState.from_arrays(old, 4)  # a checkpoint from before scoring
    assert len(before.candidates) == 0 and np.isnan(before.scores).all()
    assert back.updates == st.updates and back.last_entropy == st.last_entropy


@pytest.mark.parametrize("controller", ["enas", "factorized", "random", "population"])
def test_resumed_nas_run_equals_uninterrupted_on_any_backend(tmp_path, controller):
    full = start(tiny(controller=controller), tmp_path / "full", EngineOptions("local", 2), progress=False)
    start(tiny(controller=controller, iterations=3), tmp_path / "part", INLINE, progress=False)  # mid-phase
    resumed = resume(tmp_path / "part", 5, EngineOptions("local", 1), progress=False)
    a, b = load_policy(full), load_policy(resumed)
    assert np.array_equal(a.palette, b.palette) and a.metadata["eval_return"] == b.metadata["eval_return"]
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert np.array_equal(la.partition, lb.partition) and np.array_equal(la.bias, lb.bias)
    ca = run_mod.load_checkpoint(tmp_path / "full" / "checkpoint.npz").controller_state
    cb = run_mod.load_checkpoint(tmp_path / "part" / "checkpoint.npz").controller_state
    assert ca.keys() == cb.keys()
    for k in ca:  # NaN: a partition not scored (yet)
        assert np.array_equal(ca[k], cb[k], equal_nan=ca[k].dtype.kind == "f"), k
    for f in sorted((tmp_path / "full" / "partitions").glob("*.npz")):
        with np.load(f) as x, np.load(tmp_path / "part" / "partitions" / f.name) as y:
            assert np.array_equal(x["partitions"], y["partitions"])
            assert np.array_equal(x["rewards"], y["rewards"])


def test_enas_run_logs_controller_and_final_policy_uses_a_logged_partition(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "--env", "Pendulum-v1", "--hidden", "4", "--colors", "5", "--iterations", "4",
                 "--perturbations", "6", "--horizon", "30", "--controller", "enas", "--nas-every", "2",
                 "--eval-episodes", "2", "--out", str(out), "--quiet"]) == 0
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r["nas_update"] for r in log] == [False, True, False, True]
    assert log[0]["controller_mean_reward"] is None
    assert np.isfinite(log[-1]["controller_mean_reward"])
    assert 0 < log[-1]["controller_entropy"] <= np.log(5) + 1e-6
    policy = load_policy(out / "policy.npz")
    flat = np.concatenate([la.partition.ravel() for la in policy.layers])
    logged = []
    for f in sorted((out / "partitions").glob("*.npz")):
        with np.load(f) as step:  # a phase's population and its score-only candidates, all scored
            assert len(step["scores"]) == len(step["partitions"]) + len(step["candidates"])
            assert np.isfinite(step["scores"]).all()
            logged.append(np.concatenate([step["partitions"], step["candidates"]]))
    assert len(logged) == 2 and any((pop == flat).all(axis=1).any() for pop in logged)
    assert "--controller enas" in policy.metadata["train_command"]  # --nas-every 2 is the default
    # chromatic analyze over the two NAS steps
    assert main(["analyze", str(out)]) == 0
    result = json.loads((out / "analysis" / "analysis.json").read_text())
    # an incumbent search: the controller's samples are the 32 scored challengers of each step
    assert result["iterations"] == [1, 2] and len(result["entropy"]["values"]) == 2 * 32
    assert len(result["nas_steps"]) == 2 and result["pairwise_vs_previous"]["iterations"] == [2]
    assert [s["samples"] for s in result["nas_steps"]] == [32, 32]
    assert result["nas_steps"][0]["incumbent_edits"] == 0 and "incumbent_score" in result["nas_steps"][1]
    for png in ("entropy.png", "displacement_ranks.png", "pairwise_metrics.png"):
        assert (out / "analysis" / png).read_bytes()[:4] == b"\x89PNG"


def test_antithetic_nas_run_gives_each_pair_one_partition(tmp_path):
    start(tiny(strategy="antithetic", iterations=2, controller_lr=0.01), tmp_path / "a",
          INLINE, progress=False)
    with np.load(tmp_path / "a" / "partitions" / "nas_00001.npz") as x:
        pop, rewards = x["partitions"], x["rewards"]
    assert len(pop) == 6 and np.array_equal(pop[0::2], pop[1::2])
    assert np.array_equal(rewards[0::2], rewards[1::2])
    cmd = load_policy(tmp_path / "a" / "policy.npz").metadata["train_command"]
    assert "--strategy antithetic" in cmd and "--controller-lr 0.01" in cmd


def test_analyze_fixed_partition_run(tmp_path):
    start(tiny(controller="fixed", iterations=1), tmp_path / "f", INLINE, progress=False)
    out = analyze_run(tmp_path / "f")
    result = json.loads((out / "analysis.json").read_text())
    assert result["iterations"] == [0] and len(result["entropy"]["values"]) == 1


@pytest.mark.parametrize("argv, message", [
    (["train", "--env", "Pendulum-v1", "--structure", "dense", "--controller", "enas"],
     "needs --structure chromatic"),
    (["train", "--env", "Pendulum-v1", "--controller", "enas", "--nas-every", "0"],
     "--nas-every must be at least 1"),
    (["train", "--env", "Pendulum-v1", "--replay-fraction", "1.5"], "--replay-fraction must lie in"),
    (["train", "--env", "Pendulum-v1", "--controller-lr", "-1"], "--controller-lr must be > 0"),
    (["analyze", "NOWHERE"], "no such run directory"),
])
def test_bad_nas_settings_give_one_line(tmp_path, capsys, argv, message):
    argv = [a.replace("NOWHERE", str(tmp_path / "none")) for a in argv]
    if argv[0] == "train":
        argv += ["--out", str(tmp_path / "r"), "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


class Recentering(Recorder):
    def __init__(self, parts: np.ndarray) -> None:
        super().__init__(parts)
        self.moves = []

    def recenter(self, old, new):
        self.moves.append((old.copy(), new.copy()))


def _scored(st, incumbent_score, candidate_scores):
    """Give the incumbent (row 0 of the population) and the challengers their scores directly."""
    P = len(st.population)
    return replace(st, scores=np.array([incumbent_score] * P + list(candidate_scores), float))


def test_incumbent_search_trains_one_partition_and_a_better_challenger_replaces_it():
    incumbent = np.array([0, 1, 2, 3])
    challengers = np.array([[0, 1, 2, 4], [4, 1, 2, 3], [0, 0, 2, 3]])
    ctrl = Recentering(challengers)
    settings = NasSettings(controller_batch=3, search="incumbent")
    st = start_phase(NasState.empty(4, incumbent), ctrl, 6, settings, np.random.default_rng(0), group=2)
    # every perturbation trains the incumbent; all the controller's samples only challenge it
    assert np.array_equal(st.population, np.repeat(incumbent[None], 6, axis=0)) and not st.sampled.any()
    assert np.array_equal(st.candidates, challengers)
    jobs = score_jobs(st, settings, np.random.default_rng(1))
    assert sorted(jobs.rows.tolist()) == [0, 6, 7, 8]  # the incumbent once, each challenger once
    # no challenger beats the incumbent: it stays, the controller still learns from the three
    kept = end_phase(_scored(st, 10.0, [9.0, 10.0, -3.0]), ctrl, settings, group=2)
    assert np.array_equal(kept.incumbent, incumbent) and not ctrl.moves
    assert np.array_equal(ctrl.calls[-1][0], challengers) and np.array_equal(ctrl.calls[-1][1], [9, 10, -3])
    # the best challenger that scores higher on the same seeds takes over, and the controller follows
    moved = end_phase(_scored(st, 10.0, [11.0, 12.0, 13.0 - 20.0]), ctrl, settings, group=2)
    assert np.array_equal(moved.incumbent, challengers[1])
    assert len(ctrl.moves) == 1 and np.array_equal(ctrl.moves[0][1], challengers[1])
    assert np.array_equal(finalists(moved, 2)[0], challengers[1])  # what ES trains is evaluated
    assert np.array_equal(start_phase(moved, ctrl, 2, settings, np.random.default_rng(2)).population[0],
                          challengers[1])
    # the incumbent round-trips through the checkpoint arrays
    back = NasState.from_arrays(moved.to_arrays(), 4)
    assert np.array_equal(back.incumbent, challengers[1])


def test_a_challenger_must_win_its_confirmation_to_replace_the_incumbent():
    incumbent = np.array([0, 1, 2, 3])
    challengers = np.array([[0, 1, 2, 4], [4, 1, 2, 3], [0, 0, 2, 3]])
    settings = NasSettings(controller_batch=3, search="incumbent", confirm_episodes=2)
    asked = []

    def confirm_with(returns):
        def confirm(pair):
            asked.append(pair)
            return np.array(returns, float)
        return confirm

    ctrl = Recentering(challengers)
    st = start_phase(NasState.empty(4, incumbent), ctrl, 4, settings, np.random.default_rng(0))
    won_scores = _scored(st, 10.0, [9.0, 12.0, 11.0])
    # the best challenger (row 1) wins the scoring rollouts but loses on fresh episodes: it stays out
    kept = end_phase(won_scores, ctrl, settings, confirm=confirm_with([50.0, 40.0]))
    assert np.array_equal(kept.incumbent, incumbent) and not ctrl.moves
    assert (kept.moves, kept.rejected) == (0, 1)
    assert np.array_equal(asked[-1], np.stack([incumbent, challengers[1]]))
    # the controller learned from the scores either way
    assert np.array_equal(ctrl.calls[-1][1], [9, 12, 11])
    # confirmed: it replaces the incumbent, the controller follows
    moved = end_phase(won_scores, ctrl, settings, confirm=confirm_with([50.0, 60.0]))
    assert np.array_equal(moved.incumbent, challengers[1]) and len(ctrl.moves) == 1
    assert (moved.moves, moved.rejected) == (1, 0)
    # no challenger beats the incumbent on the scores: nothing to confirm
    n = len(asked)
    end_phase(_scored(st, 20.0, [9.0, 12.0, 11.0]), ctrl, settings, confirm=confirm_with([0.0, 1.0]))
    assert len(asked) == n
    # 0 confirmation episodes: the scores decide alone, the callable is never asked
    end_phase(won_scores, ctrl, replace(settings, confirm_episodes=0), confirm=confirm_with([1.0, 0.0]))
    assert len(asked) == n
    # the counters round-trip through the checkpoint arrays
    back = NasState.from_arrays(kept.to_arrays(), 4)
    assert (back.moves, back.rejected) == (0, 1)
    with pytest.raises(ChromaticError, match="confirm-episodes"):
        tiny(confirm_episodes=-1).nas()


def test_failed_confirmations_pause_the_challenges_and_a_move_resumes_them():
    """After r losses in a row the next 2**min(r, K) - 1 phases are idle: no challengers, nothing
    scored, no controller update; a confirmed move ends the streak."""
    incumbent = np.array([0, 1, 2, 3])
    challengers = np.array([[0, 1, 2, 4], [4, 1, 2, 3], [0, 0, 2, 3]])
    settings = NasSettings(controller_batch=3, search="incumbent", confirm_episodes=1, confirm_backoff=2)
    ctrl, rng = Recentering(challengers), np.random.default_rng(0)
    verdicts = iter([False, False, False, True, False])  # does the challenger win its confirmation?

    def confirm(pair):
        return np.array([0.0, 1.0]) if next(verdicts) else np.array([1.0, 0.0])

    st, pattern = NasState.empty(4, incumbent), []
    for _ in range(13):
        st = start_phase(st, ctrl, 4, settings, rng)
        if st.idle:
            assert not len(st.candidates) and not len(score_jobs(st, settings, rng))
            assert np.array_equal(st.population, np.repeat(st.incumbent[None], 4, axis=0))
            updates = len(ctrl.calls)
            assert end_phase(st, ctrl, settings, confirm=confirm) is st and len(ctrl.calls) == updates
            pattern.append(".")
            continue
        st = end_phase(_scored(st, 0.0, [1.0, 2.0, 0.5]), ctrl, settings, confirm=confirm)
        pattern.append("M" if st.moves and st.streak == 0 else "x")
        if pattern[-1] == "x":
            assert st.hold == 2 ** min(st.streak, 2) - 1
    # losses hold for 1, 3, 3 phases (capped at 2**2 - 1); the move resumes at once; then 1 again
    assert "".join(pattern) == "x.x...x...Mx."
    assert (st.moves, st.rejected) == (1, 4)
    back = NasState.from_arrays(st.to_arrays(), 4)
    assert (back.streak, back.hold) == (st.streak, st.hold) == (1, 0)
    # K = 0: never paused
    st = NasState.empty(4, incumbent)
    for _ in range(3):
        st = end_phase(_scored(start_phase(st, ctrl, 4, replace(settings, confirm_backoff=0), rng), 0.0,
                               [1.0, 2.0, 0.5]), ctrl, replace(settings, confirm_backoff=0),
                       confirm=lambda pair: np.array([1.0, 0.0]))
        assert not st.idle and st.hold == 0
    assert st.rejected == 3
    with pytest.raises(ChromaticError, match="confirm-backoff"):
        tiny(confirm_backoff=-1).nas()


def test_confirmation_rollouts_run_full_length_and_count_in_the_timesteps(tmp_path):
    """Driver level: every challenger that wins its scores costs 2 x confirm_episodes full-length
    rollouts, logged as incumbent_moves / incumbent_rejected and counted in the timesteps."""
    rows = {}
    for k in (0, 3):
        run = tmp_path / f"c{k}"
        start(tiny(iterations=2, strategy="ars", perturbations=4, controller_batch=8, confirm_episodes=k,
                   controller_concentration=0.0),
              run, INLINE, progress=False)
        rows[k] = run_mod.read_log(run)[-1]
    asked = rows[3]["incumbent_moves"] + rows[3]["incumbent_rejected"]
    assert asked >= 1 and rows[0]["incumbent_rejected"] == 0
    # Pendulum never terminates: each confirmation is 2 x 3 episodes of 30 steps
    assert rows[3]["timesteps"] - rows[0]["timesteps"] == asked * 2 * 3 * 30
    assert rows[3]["episodes"] - rows[0]["episodes"] == asked * 2 * 3


def test_paused_phases_run_es_only(tmp_path):
    """Driver level: a phase paused by the backoff scores nothing and updates no controller, so
    its iterations cost only the ES rollouts; the run records the pause as incumbent_hold."""
    run = tmp_path / "run"
    start(tiny(iterations=12, strategy="ars", perturbations=4, controller_batch=8, confirm_episodes=1,
               confirm_backoff=3, controller_concentration=0.0), run, INLINE, progress=False)
    rows = run_mod.read_log(run)
    es_only = min(r["steps"] for r in rows)  # Pendulum never terminates: 4 x 30 + the pivots
    ends = rows[1::2]  # nas_every 2: phases end on even iterations
    active = [r for r in ends if r["nas_update"]]
    assert rows[-1]["nas_updates"] == len(active) == len(sorted((run / "partitions").glob("nas_*.npz")))
    assert rows[-1]["incumbent_rejected"] >= 1 and len(active) < len(ends)  # a pause happened
    assert all(r["steps"] == es_only for r in ends if not r["nas_update"])
    assert all(r["steps"] > es_only for r in active)


def test_incumbent_search_needs_scored_challengers():
    with pytest.raises(ChromaticError, match="incumbent"):
        NasSettings(score_episodes=0, search="incumbent").validate()
    with pytest.raises(ChromaticError, match="nas-search"):
        NasSettings(search="greedy").validate()


def test_learning_controllers_default_to_the_incumbent_search_and_baselines_to_the_population():
    assert tiny(controller="enas").nas().search == "incumbent"
    assert tiny(controller="factorized").nas().search == "incumbent"
    assert tiny(controller="random").nas().search == "population"
    assert tiny(controller="population").nas().search == "population"
    assert tiny(controller="random", nas_search="incumbent").nas().search == "incumbent"


def test_challengers_are_confirmed_by_default_only_where_episodes_end_on_a_fall():
    assert tiny(env_id="Walker2d-v5").nas().confirm_episodes == 2
    assert tiny(env_id="Hopper-v5").nas().confirm_episodes == 2
    assert tiny(env_id="HalfCheetah-v5").nas().confirm_episodes == 0
    assert tiny(env_id="HalfCheetah-v5", confirm_episodes=3).nas().confirm_episodes == 3
    assert tiny(env_id="Walker2d-v5", confirm_episodes=0).nas().confirm_episodes == 0


def test_an_enas_run_trains_its_incumbent_and_ships_it(tmp_path):
    """Driver level: the perturbations' partition is the incumbent at every phase, and the
    shipped policy's partition is the final incumbent (or a finalist that re-evaluated higher)."""
    run = tmp_path / "run"
    start(tiny(iterations=6, strategy="ars", perturbations=4, controller_batch=4, confirm_episodes=0),
          run, INLINE, progress=False)
    phases = sorted((run / "partitions").glob("nas_*.npz"))
    assert len(phases) == 3
    for f in phases:
        z = np.load(f)
        assert (z["partitions"] == z["partitions"][0]).all() and len(z["candidates"]) == 4
    for a, b in zip(phases, phases[1:], strict=False):  # the next phase trains the winner of the last one
        za, zb = np.load(a), np.load(b)
        P, sc = len(za["partitions"]), za["scores"]
        j = P + int(np.argmax(sc[P:]))
        winner = za["candidates"][j - P] if sc[j] > sc[0] else za["partitions"][0]
        assert np.array_equal(zb["partitions"][0], winner)
    assert (run / "policy.npz").exists()


def test_score_horizon_caps_only_the_scoring_rollouts(tmp_path):
    """The challengers' scores come from rollouts of at most --score-horizon steps; training
    rollouts keep the run's horizon, and the scores are counted in the timesteps."""
    runs = {}
    for h in (None, 7):
        run = tmp_path / f"h{h}"
        start(tiny(iterations=2, strategy="ars", perturbations=4, controller_batch=3, score_horizon=h,
                   confirm_episodes=0), run, INLINE, progress=False)
        runs[h] = (np.load(sorted((run / "partitions").glob("nas_*.npz"))[0]), run_mod.read_log(run))
    full, short = runs[None], runs[7]
    assert not np.allclose(full[0]["scores"], short[0]["scores"])
    # Pendulum never terminates: (30 - 7) steps fewer per distinct scored partition
    z = short[0]
    scored = len(np.unique(np.concatenate([z["partitions"][:1], z["candidates"]]), axis=0))
    assert full[1][-1]["timesteps"] - short[1][-1]["timesteps"] == scored * (30 - 7)
    assert full[1][0]["timesteps"] == short[1][0]["timesteps"]  # the first iteration scores nothing
    with pytest.raises(ChromaticError, match="score-horizon"):
        tiny(score_horizon=0).nas()


def test_merge_proposals_empty_the_closest_rarer_color():
    from chromatic.training.alternating import merge_proposals

    part = np.array([0, 0, 0, 1, 2, 2, 3])
    palette = np.array([0.5, 0.3, -1.0, 0.52, 7.0])  # color 4 unused; 0 and 3 closest, then 0 and 1
    got = merge_proposals(part, palette, 2)
    assert np.array_equal(got[0], [0, 0, 0, 1, 2, 2, 0])  # 3 (one edge) joins 0 (three)
    assert np.array_equal(got[1], [0, 0, 0, 0, 2, 2, 3])
    assert all(len(np.unique(g)) == len(np.unique(part)) - 1 for g in got)
    assert merge_proposals(np.zeros(5, np.int64), palette, 3).shape == (0, 5)


def test_bits_aware_incumbent_search_accepts_a_merge_the_controller_never_learns_from():
    incumbent = np.array([0, 1, 2, 3, 3, 3])
    ctrl = Recorder(np.array([[0, 1, 2, 3, 3, 2], [1, 1, 2, 3, 3, 3]]))
    settings = NasSettings(controller_batch=2, search="incumbent", bits_weight=1.0)
    palette = np.array([0.0, 0.01, 5.0, -5.0])
    st = start_phase(NasState.empty(6, incumbent), ctrl, 2, settings, np.random.default_rng(0),
                     palette=palette)
    assert st.merges == 4 and len(st.candidates) == 6
    # equal scores: the merge of colors 0 and 1 saves bits, so it wins the bits-aware reward
    st = end_phase(_scored(st, 100.0, [100.0] * 6), ctrl, settings)
    assert len(np.unique(st.incumbent)) == 3
    assert len(ctrl.calls[-1][0]) == 2  # REINFORCE saw only its own two samples
    assert NasState.from_arrays(st.to_arrays(), 6).merges == 4
    # without a bits weight there are no merges
    plain = start_phase(NasState.empty(6, incumbent), ctrl, 2, replace(settings, bits_weight=0.0),
                        np.random.default_rng(0), palette=palette)
    assert plain.merges == 0 and len(plain.candidates) == 2
