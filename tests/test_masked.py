"""The masked baseline (training/masked.py): W * mask in rollouts, the hard mask in the policy file."""

import json

import numpy as np
import pytest

from chromatic.cli import main
from chromatic.compiler.bits import paper_bits
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Normalization, Structure
from chromatic.compiler.policy_file import load_policy, policy_to_arrays
from chromatic.errors import ChromaticError
from chromatic.runtime import load
from chromatic.training import masked
from chromatic.training import run as run_mod
from chromatic.training.es.strategy import Ask, perturb
from chromatic.training.policy_params import DenseNet, initial_params, make_spec, to_policy
from chromatic.training.run import EngineOptions, TrainConfig, resume, start

INLINE = EngineOptions("inline")


def tiny(**kw) -> TrainConfig:
    base = dict(env_id="Pendulum-v1", hidden=(4,), structure="masked", iterations=4, perturbations=8,
                seed=3, horizon=40, eval_episodes=2)
    base.update(kw)
    return TrainConfig(**base)


def spec_theta(sizes=(5, 7, 3), seed=0):
    rng = np.random.default_rng(seed)
    spec = make_spec("masked", sizes, 0, rng)
    theta = rng.standard_normal(spec.num_params) * 0.3
    return spec, theta


def layer_matrices(sizes, flat):
    out, k = [], 0
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        out.append(flat[k:k + a * b].reshape(b, a))
        k += a * b
    return out


def test_forward_pass_is_w_times_the_soft_mask():
    spec, theta = spec_theta()
    e = spec.num_colors
    assert spec.num_params == 2 * e + sum(spec.layer_sizes[1:])
    w, s = theta[:e], theta[e:2 * e]
    soft = w / (1 + np.exp(-s / 0.01))
    net = DenseNet(spec, theta)
    for got, want in zip(net.weights, layer_matrices(spec.layer_sizes, soft), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    x = np.random.default_rng(1).standard_normal(5)
    w0, w1 = layer_matrices(spec.layer_sizes, soft)
    b0, b1 = theta[2 * e:2 * e + 7], theta[2 * e + 7:]
    np.testing.assert_allclose(net(x), np.tanh(w1 @ np.tanh(w0 @ x + b0) + b1), rtol=1e-12)


def test_the_policy_file_has_the_hard_mask_and_its_density():
    spec, theta = spec_theta()
    e = spec.num_colors
    w, s = theta[:e], theta[e:2 * e]
    policy = to_policy(spec, theta, Normalization.identity(5), {"env_id": "x"})
    assert policy.structure == Structure.MASKED and policy.palette[0] == 0.0
    hard = layer_matrices(spec.layer_sizes, w * (s > 0))
    for layer, want in zip(policy.layers, hard, strict=True):
        np.testing.assert_array_equal(policy.palette[layer.partition], want)
    kept = int((s > 0).sum())
    assert policy.metadata["kept_weights"] == kept == policy.num_colors - 1
    assert policy.metadata["mask_density"] == kept / e == masked.density(spec, theta)
    nonzero = sum(int((layer.partition != 0).sum()) for layer in policy.layers)
    assert nonzero == kept and policy.metadata["env_id"] == "x"
    assert policy.metadata["paper_bits"] == paper_bits(policy)
    assert policy.metadata["bitmap_bits"] == 32 * kept + e + 32 * (7 + 3)
    # the compiled blob computes the hard-masked network: a DenseNet whose logits saturate
    saturated = theta.copy()
    saturated[e:2 * e] = np.where(s > 0, 1.0, -1.0)
    obs = np.random.default_rng(2).standard_normal((16, 5))
    net = DenseNet(spec, saturated)
    expected = np.stack([net(o) for o in obs])
    got = load(compile_policy(policy), "numpy").batch(obs.astype(np.float32))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_paper_bits_reproduce_table_2_for_40_kept_halfcheetah_weights():
    spec = masked.masked_spec((17, 41, 6))
    theta = np.zeros(spec.num_params)
    e = spec.num_colors
    theta[:e] = 0.5
    theta[e:2 * e] = -1.0
    theta[e + np.arange(0, 400, 10)] = 1.0  # 40 kept
    meta = to_policy(spec, theta, Normalization.identity(17)).metadata
    assert meta["kept_weights"] == 40 and meta["paper_bits"] == 8250  # Table 2, HalfCheetah masked
    assert meta["bitmap_bits"] == 40 * 32 + 943 + 47 * 32


@pytest.mark.parametrize("density", [0.5, 0.1, 0.9])
def test_the_initial_mask_keeps_exactly_the_asked_share(density):
    spec = masked.masked_spec((17, 41, 6))
    theta = masked.initial_params(spec, np.random.default_rng(0), 0.1, density)
    assert masked.density(spec, theta) == round(density * 943) / 943
    assert np.all(theta[2 * 943:] == 0)
    default = initial_params(spec, np.random.default_rng(0))  # the generic entry point
    assert masked.density(spec, default) == 472 / 943


def test_the_sparsity_objective_is_beta_z_return_plus_one_minus_beta_z_sparsity():
    spec, theta = spec_theta()
    cfg = tiny(mask_beta_final=0.25, mask_anneal=4)
    assert [masked.beta_at(cfg, t) for t in (0, 2, 4, 9)] == [1.0, 0.625, 0.25, 0.25]
    st = run_mod.RunState(cfg.make_strategy().init(theta), None, None, spec, iteration=2)
    ask = Ask(np.array([11, 11, 12, 12]), np.array([1, -1, 1, -1]), 0)
    sigma = 0.2
    shaped = np.array([1.0, 3.0, -2.0, 0.5])
    eta = np.array([np.mean(perturb(theta, sigma, s, g)[spec.num_colors:2 * spec.num_colors] > 0)
                    for s, g in zip(ask.seeds, ask.signs, strict=True)])
    np.testing.assert_array_equal(masked.perturbed_densities(spec, theta, sigma, ask), eta)
    out, pivot, row = masked.sparsity_objective(cfg, st, ask, sigma, shaped, np.zeros(0))
    z = lambda x: (x - x.mean()) / x.std()  # noqa: E731
    np.testing.assert_allclose(out, 0.625 * z(shaped) + 0.375 * z(1 - eta))
    assert row["mask_beta"] == 0.625 and row["mask_density"] == masked.density(spec, theta)
    assert len(pivot) == 0


def test_the_target_stops_the_push_below_it_and_gates_what_ships():
    spec, theta = spec_theta()
    ask = Ask(np.array([11, 11, 12, 12]), np.array([1, -1, 1, -1]), 0)
    shaped = np.array([1.0, 3.0, -2.0, 0.5])
    z = lambda x: (x - x.mean()) / x.std()  # noqa: E731
    eta = masked.perturbed_densities(spec, theta, 0.2, ask)
    assert 0.2 < eta.min() and eta.max() < 0.8
    for target, sparsity in ((0.9, 0.0 * eta), (0.0, z(1 - eta)), (float(np.median(eta)), None)):
        cfg = tiny(mask_beta_final=0.25, mask_anneal=4, mask_target=target)
        st = run_mod.RunState(cfg.make_strategy().init(theta), None, None, spec, iteration=2)
        out, _, _ = masked.sparsity_objective(cfg, st, ask, 0.2, shaped, np.zeros(0))
        if sparsity is None:  # only the perturbations above the target are pushed, in proportion
            sparsity = z(-np.maximum(eta - target, 0))
            assert len(set(sparsity[eta <= target])) == 1
        np.testing.assert_allclose(out, 0.625 * z(shaped) + 0.375 * sparsity)
    kept = masked.density(spec, theta)
    assert masked.eligible(tiny(mask_target=kept), spec, theta)
    assert not masked.eligible(tiny(mask_target=kept - 0.01), spec, theta)
    assert masked.eligible(tiny(mask_target=0.0), spec, theta)  # 0: the paper's, anything ships
    dense = make_spec("dense", (5, 7, 3), 0, np.random.default_rng(0))
    assert masked.eligible(tiny(mask_target=0.01), dense, np.zeros(dense.num_params))
    with pytest.raises(ChromaticError, match="--mask-target must lie in"):
        masked.check_settings(tiny(mask_target=1.0))


def test_fixed_sparsity_keeps_exactly_k_weights_in_every_iteration_and_the_file(tmp_path):
    cfg = tiny(iterations=6, mask_fixed=True, mask_target=0.25, eval_every=3)
    path = start(cfg, tmp_path / "r", INLINE, progress=False)
    log = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    st = run_mod.load_checkpoint(tmp_path / "r" / "checkpoint.npz")
    e = st.spec.num_colors
    k = int(0.25 * e)
    assert [row["mask_density"] for row in log] == [k / e] * 6 and "mask_beta" not in log[0]
    assert 0 < min(row["mask_density_perturbed"] for row in log)  # perturbations still move the mask
    assert masked.density(st.spec, st.es.params) == k / e
    assert load_policy(path).metadata["kept_weights"] == k
    spec, theta = spec_theta()
    moved = masked.project(cfg, spec, theta)
    assert int(masked.hard_mask(spec, moved).sum()) == int(0.25 * spec.num_colors)
    e = spec.num_colors  # a shift of the logits only
    shift = moved[e:2 * e] - theta[e:2 * e]
    np.testing.assert_allclose(shift, shift[0], atol=1e-12)
    np.testing.assert_array_equal(np.delete(moved, np.s_[e:2 * e]), np.delete(theta, np.s_[e:2 * e]))
    with pytest.raises(ChromaticError, match="--mask-init-density does not apply with --mask-fixed"):
        masked.check_settings(tiny(mask_fixed=True, mask_init_density=0.2))
    with pytest.raises(ChromaticError, match="needs --mask-target > 0"):
        masked.check_settings(tiny(mask_fixed=True, mask_target=0.0))


def test_the_sparsity_reward_drives_the_density_down_and_the_policy_says_so(tmp_path):
    cfg = tiny(iterations=24, mask_anneal=8, mask_beta_final=0.5, eval_every=8)
    path = start(cfg, tmp_path / "r", INLINE, progress=False)
    log = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert log[0]["mask_density"] == 0.5 and log[0]["mask_beta"] == 1.0
    assert log[-1]["mask_beta"] == 0.5
    policy = load_policy(path)
    st = run_mod.load_checkpoint(tmp_path / "r" / "checkpoint.npz")
    assert st.spec.mask_alpha == 0.01 and st.spec.structure == Structure.MASKED
    assert masked.density(st.spec, st.es.params) < 0.4
    assert policy.structure == Structure.MASKED and policy.metadata["mask_density"] < 0.45
    nonzero = sum(int((layer.partition != 0).sum()) for layer in policy.layers)
    assert policy.metadata["mask_density"] == nonzero / st.spec.num_colors
    assert np.isfinite(policy.metadata["eval_return"])
    assert "--structure masked" in policy.metadata["train_command"]


def test_a_resumed_masked_run_equals_the_uninterrupted_run(tmp_path):
    cfg = dict(mask_anneal=3, mask_beta_final=0.5, mask_alpha=0.02, mask_init_density=0.4)
    full = start(tiny(**cfg), tmp_path / "full", INLINE, progress=False)
    start(tiny(iterations=2, **cfg), tmp_path / "part", INLINE, progress=False)
    resumed = resume(tmp_path / "part", 4, INLINE, progress=False)
    pa, pb = policy_to_arrays(load_policy(full)), policy_to_arrays(load_policy(resumed))
    for k in pa.keys() - {"train_command"}:
        assert np.array_equal(pa[k], pb[k]), k
    a = run_mod.load_checkpoint(tmp_path / "full" / "checkpoint.npz")
    b = run_mod.load_checkpoint(tmp_path / "part" / "checkpoint.npz")
    assert np.array_equal(a.es.params, b.es.params) and b.spec.mask_alpha == 0.02
    rows = [json.loads(line) for line in (tmp_path / "part" / "log.jsonl").read_text().splitlines()]
    np.testing.assert_allclose([r["mask_beta"] for r in rows], [1.0, 5 / 6, 2 / 3, 0.5])


@pytest.mark.parametrize("argv, message", [
    (["--structure", "masked", "--mask-alpha", "-0.5"], "--mask-alpha must be >= 0"),
    (["--structure", "masked", "--mask-init-density", "1"], "--mask-init-density must lie in (0, 1)"),
    (["--structure", "masked", "--mask-beta-final", "1.5"], "--mask-beta-final must lie in [0, 1]"),
    (["--structure", "masked", "--mask-anneal", "0"], "--mask-anneal must be at least 1"),
    (["--structure", "masked", "--init-scale", "0"], "needs --init-scale > 0"),
    (["--mask-alpha", "0.1"], "--mask-alpha need --structure masked"),
    (["--structure", "dense", "--mask-anneal", "3", "--mask-beta-final", "0.3"],
     "--mask-beta-final, --mask-anneal need --structure masked"),
    (["--structure", "masked", "--controller", "enas"], "needs --structure chromatic"),
    (["--structure", "masked", "--init-policy", "p.npz"], "do not apply"),
    (["--structure", "masked", "--mask-alpha", "x"], "invalid float value"),
])
def test_bad_mask_settings_give_one_line(tmp_path, capsys, argv, message):
    try:
        code = main(["train", "--env", "Pendulum-v1", "--hidden", "4", *argv, "--out", str(tmp_path / "r"),
                     "--quiet"])
    except SystemExit as e:  # argparse's own type errors
        code = e.code
    assert code in (1, 2)
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_too_many_edges_for_a_masked_policy_file():
    with pytest.raises(ChromaticError, match="a masked policy holds at most"):
        masked.masked_spec((300, 300, 1))


def test_deployed_parameters_and_alpha_zero_compute_exactly_the_hard_mask():
    spec, theta = spec_theta()
    e = spec.num_colors
    hard = layer_matrices(spec.layer_sizes, theta[:e] * (theta[e:2 * e] > 0))
    for got, want in zip(DenseNet(spec, masked.deployed(spec, theta)).weights, hard, strict=True):
        np.testing.assert_array_equal(got, want)
    step = masked.masked_spec(spec.layer_sizes, alpha=0.0)
    for got, want in zip(DenseNet(step, theta).weights, hard, strict=True):
        np.testing.assert_array_equal(got, want)
    dense = make_spec("dense", spec.layer_sizes, 0, np.random.default_rng(0))
    plain = theta[:dense.num_params]
    assert masked.deployed(dense, plain) is plain  # unchanged if not masked


def test_the_selection_evaluations_run_the_hard_mask(tmp_path):
    from chromatic.training.envs import make_env
    from chromatic.training.rollout.worker import rollout

    cfg = tiny(horizon=30).validate()
    st = run_mod.new_state(cfg, 3, 1)
    st.es = cfg.make_strategy().init(st.es.params * 3)  # logits near 0: soft and hard differ
    seeds = np.array([5, 6])
    got, _ = run_mod.unperturbed_returns(cfg, st, run_mod.make_engine("inline", None, None),
                                         st.spec.flat_partition()[None], seeds)
    norm = run_mod.normalization(cfg, st)
    env = make_env("Pendulum-v1")
    hard = DenseNet(st.spec, masked.deployed(st.spec, st.es.params))
    soft = DenseNet(st.spec, st.es.params)
    want = [rollout(env, hard, norm.mean, norm.std, 30, int(s), False).ret for s in seeds]
    np.testing.assert_array_equal(got[0], want)
    assert [rollout(env, soft, norm.mean, norm.std, 30, int(s), False).ret for s in seeds] != want


def test_a_masked_policy_file_fine_tunes_with_its_pruned_class_kept(tmp_path):
    first = start(tiny(iterations=2), tmp_path / "a", INLINE, progress=False)
    cfg = TrainConfig(env_id="Pendulum-v1", init_policy=str(first), iterations=2, perturbations=8,
                      horizon=40, eval_episodes=2)
    second = load_policy(start(cfg, tmp_path / "b", INLINE, progress=False))
    a = load_policy(first)
    assert second.structure == Structure.MASKED and second.palette[0] == 0.0
    for la, lb in zip(a.layers, second.layers, strict=True):
        assert np.array_equal(la.partition, lb.partition)
    assert not np.array_equal(a.palette, second.palette)  # the kept weights were trained
