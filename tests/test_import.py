"""`chromatic import` (compiler/importer.py, onnx_import.py, coloring.py): ONNX MLPs as PyTorch and
tf2onnx write them, normalization folding, statistics files, one-line errors, exact 1-D k-means."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from chromatic.cli import main
from chromatic.compiler.coloring import color_policy, kmeans_1d
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.importer import import_model
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.policy_file import load_policy, save_policy
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError
from chromatic.runtime import load
from chromatic.runtime.reference import forward

F32 = np.float32
BACKENDS = [
    "numpy",
    pytest.param("numba", marks=pytest.mark.numba),
    pytest.param("c", marks=pytest.mark.c),
]


# -- graph builders (what torch.onnx.export and tf2onnx write) -------------------------------
class Graph:
    """A chain graph built node by node: ``obs`` in, the last value out."""

    def __init__(self, d0: int, seed: int = 0) -> None:
        self.d0, self.rng = d0, np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.x, self.width, self.n = "obs", d0, 0

    def const(self, value: np.ndarray) -> str:
        name = f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, F32), name))
        return name

    def op(self, op_type: str, *others: str, first: bool = True, name: str | None = None, **attrs) -> Graph:
        self.n += 1
        out = f"v{self.n}"
        ins = [self.x, *others] if first else [*others, self.x]
        self.nodes.append(
            helper.make_node(op_type, ins, [out], name=name or f"{op_type.lower()}{self.n}", **attrs)
        )
        self.x = out
        return self

    def gemm(self, out: int, trans_b: int = 1, **attrs) -> Graph:
        w = self.rng.normal(0, 1 / np.sqrt(self.width), (out, self.width))
        b = self.rng.normal(0, 0.1, out)
        self.op("Gemm", self.const(w if trans_b else w.T), self.const(b), transB=trans_b, **attrs)
        self.width = out
        return self

    def matmul_add(self, out: int) -> Graph:
        w = self.rng.normal(0, 1 / np.sqrt(self.width), (self.width, out))
        self.op("MatMul", self.const(w)).op("Add", self.const(self.rng.normal(0, 0.1, out)))
        self.width = out
        return self

    def model(self, check: bool = True) -> onnx.ModelProto:
        g = helper.make_graph(
            self.nodes,
            "mlp",
            [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["N", self.d0])],
            [helper.make_tensor_value_info(self.x, TensorProto.FLOAT, ["N", self.width])],
            initializer=self.inits,
        )
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        if check:
            onnx.checker.check_model(m, full_check=True)
        return m

    def save(self, path: Path) -> Path:
        onnx.save(self.model(), str(path))
        return path


def torch_style(d0=17, hidden=(41,), d=6, out_tanh=True, seed=0, act="Tanh", out="Tanh") -> Graph:
    g = Graph(d0, seed)
    g.op("Sub", g.const(g.rng.normal(size=d0))).op("Div", g.const(g.rng.uniform(0.5, 2.0, d0)))
    for h in hidden:
        g.gemm(h).op(act)
    g.gemm(d)
    return g.op(out) if out_tanh else g


def keras_style(d0=11, hidden=(64, 64), d=3, seed=1, act="Tanh") -> Graph:
    g = Graph(d0, seed)
    g.op("Sub", g.const(g.rng.normal(size=(1, d0)))).op("Mul", g.const(g.rng.uniform(0.5, 2.0, (1, d0))))
    for h in hidden:
        g.matmul_add(h).op(act)
    return g.matmul_add(d)


def ort_run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"obs": x.astype(F32)})[0]


def observations(d0: int, n: int = 200, seed: int = 7) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(n, d0)) * 2).astype(F32)


# -- lossless import ------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "build",
    [
        torch_style,
        keras_style,
        lambda: torch_style(out_tanh=False, hidden=(32, 16)),
        lambda: torch_style(act="Relu", hidden=(64, 64)),
        lambda: keras_style(act="Relu"),
        lambda: torch_style(act="Relu", out="Relu", hidden=(32, 16)),
    ],
    ids=["gemm", "matmul", "gemm-linear-out", "gemm-relu", "matmul-relu", "gemm-relu-relu-out"],
)
def test_lossless_import_matches_onnxruntime(tmp_path, build, backend):
    g = build()
    r = import_model(g.save(tmp_path / "m.onnx"))
    p = r.policy
    assert p.structure == Structure.DENSE and r.coloring is None
    x = observations(g.d0)
    got = load(compile_policy(p), backend).batch(x)
    np.testing.assert_allclose(got, ort_run(g.model(), x), rtol=0, atol=5e-6)


def test_output_activation_follows_the_graph(tmp_path):
    assert import_model(torch_style().save(tmp_path / "a.onnx")).policy.output_activation == Activation.TANH
    assert (
        import_model(keras_style().save(tmp_path / "b.onnx")).policy.output_activation == Activation.IDENTITY
    )


@pytest.mark.parametrize(
    "build, hidden, output",
    [
        (torch_style, Activation.TANH, Activation.TANH),
        (lambda: torch_style(act="Relu"), Activation.RELU, Activation.TANH),
        (lambda: keras_style(act="Relu"), Activation.RELU, Activation.IDENTITY),
        (lambda: torch_style(act="Relu", out="Relu"), Activation.RELU, Activation.RELU),
        (lambda: torch_style(out="Relu"), Activation.TANH, Activation.RELU),
        (lambda: torch_style(hidden=(), out="Relu"), Activation.TANH, Activation.RELU),
    ],
)
def test_relu_hidden_layers_import_as_relu_policies(tmp_path, build, hidden, output):
    """ONNX Relu between layers is the policy's hidden activation, through the file and the blob."""
    r = import_model(build().save(tmp_path / "m.onnx"))
    assert (r.policy.hidden_activation, r.policy.output_activation) == (hidden, output)
    save_policy(r.policy, tmp_path / "p.npz")
    q = load_policy(tmp_path / "p.npz")
    assert (q.hidden_activation, q.output_activation) == (hidden, output)
    colored = import_model(build().save(tmp_path / "m.onnx"), colors=8).policy
    assert (colored.hidden_activation, colored.output_activation) == (hidden, output)


def test_sub_div_fold_bit_for_bit(tmp_path):
    g = torch_style()
    mean, std = (numpy_helper.to_array(g.inits[i]) for i in (0, 1))
    path = tmp_path / "m.onnx"
    save_policy(import_model(g.save(tmp_path / "g.onnx")).policy, path)
    p = load_policy(path)
    assert np.array_equal(p.normalization.mean.astype(F32), mean)
    assert np.array_equal(p.normalization.std.astype(F32), std)


def test_sub_mul_fold_to_reciprocal_std(tmp_path):
    g = keras_style()
    scale = numpy_helper.to_array(g.inits[1]).ravel()
    p = import_model(g.save(tmp_path / "m.onnx")).policy
    np.testing.assert_allclose(p.normalization.std, 1.0 / scale.astype(np.float64), rtol=1e-15)


def test_negative_scale_and_affine_between_layers(tmp_path):
    """A negative divisor flips the first layer's columns (std stays >= 0); a Mul/Add after a
    Tanh folds into the next layer, a Neg/Sub after a layer into that layer."""
    g = Graph(5, seed=3)
    g.op("Div", g.const([2.0, -1.5, 1.0, -4.0, 0.5])).op("Sub", g.const([0.1, 0.2, 0.3, 0.4, 0.5]))
    g.gemm(8).op("Neg").op("Tanh").op("Mul", g.const(np.linspace(0.5, 2, 8)), first=False)
    g.op("Add", g.const(0.25)).gemm(4).op("Sub", g.const([1.0, 2.0, 3.0, 4.0]), first=False)
    p = import_model(g.save(tmp_path / "m.onnx")).policy
    assert (p.normalization.std > 0).all()
    x = observations(5)
    np.testing.assert_allclose(forward(p, x), ort_run(g.model(), x), rtol=0, atol=2e-5)


def test_identity_between_layers_multiplies_them(tmp_path):
    g = Graph(6, seed=4)
    g.gemm(10).op("Identity").gemm(12, trans_b=0).op("Tanh").matmul_add(3).op("Dropout").gemm(2)
    p = import_model(g.save(tmp_path / "m.onnx")).policy
    assert p.layer_sizes == (6, 12, 2)
    x = observations(6)
    np.testing.assert_allclose(forward(p, x), ort_run(g.model(), x), rtol=0, atol=1e-5)


def test_gemm_alpha_beta_and_constant_subgraphs(tmp_path):
    """Gemm's alpha/beta; a Constant node and a Transpose of a weight (torch's dynamo exporter)."""
    g = Graph(4, seed=5)
    mean = np.array([0.5, -1.0, 2.0, 0.0], F32)
    g.nodes.append(helper.make_node("Constant", [], ["mean"], value=numpy_helper.from_array(mean)))
    g.op("Sub", "mean")
    w = g.rng.normal(size=(7, 4))
    g.nodes.append(helper.make_node("Transpose", [g.const(w)], ["wt"], perm=[1, 0]))
    g.op("MatMul", "wt").op("Tanh")
    g.width = 7
    g.gemm(3, alpha=0.5, beta=2.0)
    p = import_model(g.save(tmp_path / "m.onnx")).policy
    assert np.array_equal(p.normalization.mean, mean.astype(np.float64))
    x = observations(4)
    np.testing.assert_allclose(forward(p, x), ort_run(g.model(), x), rtol=0, atol=1e-5)


def test_dense_policy_file_round_trip(tmp_path):
    """A policy file of any structure imports as the same function, dense."""
    save_policy(random_policy((17, 41, 6), 17, seed=2), tmp_path / "p.npz")
    src = load_policy(tmp_path / "p.npz")
    p = import_model(tmp_path / "p.npz").policy
    assert p.structure == Structure.DENSE and p.num_colors == 17 * 41 + 41 * 6
    x = observations(17)
    np.testing.assert_allclose(forward(p, x), forward(src, x), rtol=0, atol=1e-12)


# -- statistics file ------------------------------------------------------------------------
def test_vecnormalize_stats_compose_before_the_model(tmp_path):
    g = torch_style()
    rng = np.random.default_rng(9)
    mean, var = rng.normal(size=17), rng.uniform(0.1, 5.0, 17)
    np.savez(tmp_path / "s.npz", mean=mean, var=var, epsilon=1e-8, clip_obs=10.0, count=123.0)
    r = import_model(g.save(tmp_path / "m.onnx"), stats=tmp_path / "s.npz")
    assert r.policy.metadata["obs_clip"] == 10.0 and any("clip" in n for n in r.notes)
    x = observations(17)
    want = ort_run(g.model(), ((x - mean) / np.sqrt(var + 1e-8)).astype(F32))
    np.testing.assert_allclose(forward(r.policy, x), want, rtol=0, atol=1e-5)


def test_std_stats_on_a_model_without_normalization(tmp_path):
    g = Graph(3, seed=6).gemm(5).op("Tanh").gemm(2)
    mean, std = np.array([1.0, 2.0, 3.0], F32), np.array([0.5, 0.0, 4.0], F32)
    np.savez(tmp_path / "s.npz", mean=mean, std=std)
    p = import_model(g.save(tmp_path / "m.onnx"), stats=tmp_path / "s.npz").policy
    assert np.array_equal(p.normalization.mean, mean) and np.array_equal(p.normalization.std, [0.5, 1.0, 4.0])


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"mean": np.zeros(3), "var": np.ones(3), "std": np.ones(3)}, "exactly one of 'var' and 'std'"),
        ({"mean": np.zeros(3), "std": np.ones(3), "epsilon": 1e-8}, "epsilon: only used with 'var'"),
        ({"mean": np.zeros(3), "std": np.ones(3), "scale": 1.0}, "scale: unexpected key"),
        ({"mean": np.zeros(3), "var": -np.ones(3)}, "var: expected values >= 0"),
        ({"mean": np.zeros(4), "std": np.ones(4)}, "mean has 4 entries, the model has 3 inputs"),
        ({"std": np.ones(3)}, "mean: missing key"),
    ],
)
def test_bad_stats_files(tmp_path, arrays, message):
    g = Graph(3).gemm(2)
    np.savez(tmp_path / "s.npz", **arrays)
    with pytest.raises(ChromaticError, match=message):
        import_model(g.save(tmp_path / "m.onnx"), stats=tmp_path / "s.npz")


# -- unsupported graphs: one line naming the node ---------------------------------------------
def _mixed() -> Graph:
    return Graph(4).gemm(8).op("Tanh", name="t").gemm(5).op("Relu", name="/net/net.3/Relu").gemm(2)


def _two_outputs() -> onnx.ModelProto:
    g = Graph(4).gemm(3)
    m = g.model()
    m.graph.output.append(helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["N", 4]))
    return m


def _branch() -> Graph:
    g = Graph(4).gemm(3)
    g.nodes.append(helper.make_node("Tanh", ["obs"], ["side"], name="value_head"))
    return g


def _scaled_output() -> Graph:
    g = Graph(4).gemm(3).op("Tanh")
    return g.op("Mul", g.const(2.0), name="max_action")


def _div_by_zero() -> Graph:
    g = Graph(2)
    return g.op("Div", g.const([1.0, 0.0]), name="d").gemm(2)


def _wrong_width() -> Graph:
    g = Graph(4)
    return g.op("Sub", g.const([[1.0, 2.0, 3.0]]), name="s")


UNSUPPORTED = {
    "mixed-hidden": (
        _mixed,
        "node '/net/net.3/Relu' (Relu): Relu after node 't' (Tanh); a policy's hidden layers share one "
        "activation (tanh or relu, not both)",
    ),
    "leaky-relu": (
        lambda: Graph(4).gemm(8).op("LeakyRelu", name="/net/net.1/LeakyRelu").gemm(2),
        "node '/net/net.1/LeakyRelu' (LeakyRelu): LeakyRelu is not supported; only tanh and relu MLPs",
    ),
    "relu-first": (
        lambda: Graph(4).op("Relu", name="r").gemm(2),
        "node 'r' (Relu): Relu before the first layer",
    ),
    "scaled-relu-output": (
        lambda: (lambda g: g.op("Mul", g.const(2.0), name="gain"))(Graph(4).gemm(3).op("Relu")),
        "node 'gain' (Mul): scaling or shifting after the output Relu",
    ),
    "sigmoid": (
        lambda: Graph(4).gemm(3).op("Sigmoid", name="sig"),
        "node 'sig' (Sigmoid): Sigmoid is not supported",
    ),
    "scaled-output": (_scaled_output, "node 'max_action' (Mul): scaling or shifting after the output Tanh"),
    "tanh-first": (
        lambda: Graph(4).op("Tanh", name="t").gemm(2),
        "node 't' (Tanh): Tanh before the first layer",
    ),
    "branch": (_branch, "node 'value_head' (Tanh): reads 'obs', already used by"),
    "two-outputs": (_two_outputs, "expected one graph output"),
    "no-layer": (lambda: Graph(4).op("Identity"), "no Gemm or MatMul layer"),
    "div-by-zero": (_div_by_zero, "node 'd' (Div): Div by 0"),
    "wrong-width": (_wrong_width, "node 's' (Sub): expected a constant of shape (4,)"),
}


def _save(build, path: Path) -> Path:
    built = build()
    onnx.save(built if isinstance(built, onnx.ModelProto) else built.model(check=False), str(path))
    return path


@pytest.mark.parametrize("case", list(UNSUPPORTED))
def test_unsupported_graphs_name_the_node(tmp_path, case):
    build, message = UNSUPPORTED[case]
    path = _save(build, tmp_path / "m.onnx")
    with pytest.raises(ChromaticError) as e:
        import_model(path)
    assert message in str(e.value) and str(e.value).startswith(str(path))
    assert "\n" not in str(e.value)


def chromatic(*args):
    return subprocess.run(
        [sys.executable, "-m", "chromatic", *map(str, args)], capture_output=True, text=True, timeout=300
    )


def test_cli_unsupported_is_one_line_exit_1_no_output(tmp_path):
    path = _save(UNSUPPORTED["leaky-relu"][0], tmp_path / "m.onnx")
    r = chromatic("import", path, "-o", tmp_path / "p.npz")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chromatic: error:")
    assert UNSUPPORTED["leaky-relu"][1] in lines[0]
    assert not (tmp_path / "p.npz").exists() and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("case", ["branch", "scaled-output", "two-outputs"])
def test_cli_errors_keep_an_existing_output(tmp_path, capsys, case):
    path = _save(UNSUPPORTED[case][0], tmp_path / "m.onnx")
    (tmp_path / "p.npz").write_bytes(b"previous")
    assert main(["import", str(path), "-o", str(tmp_path / "p.npz")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and UNSUPPORTED[case][1] in err
    assert (tmp_path / "p.npz").read_bytes() == b"previous" and len(list(tmp_path.iterdir())) == 2


def test_cli_not_a_model(tmp_path, capsys):
    (tmp_path / "m.onnx").write_bytes(b"\x00garbage")
    assert main(["import", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "p.npz")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not a readable ONNX" in err
    assert not (tmp_path / "p.npz").exists()


def test_cli_unreadable_model_is_one_line(tmp_path, capsys):
    """/proc/self/mem stats as a regular file and fails to read (found by the misuse campaign)."""
    assert main(["import", "/proc/self/mem", "-o", str(tmp_path / "p.npz")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot read model file" in err
    assert not (tmp_path / "p.npz").exists()


# -- coloring -------------------------------------------------------------------------------
def brute_force_sse(x: np.ndarray, w: np.ndarray, k: int) -> float:
    best = np.inf
    for labels in itertools.product(range(k), repeat=x.size):
        lab = np.array(labels)
        sse = 0.0
        for c in np.unique(lab):
            m = lab == c
            sse += float(np.dot(w[m], (x[m] - np.dot(w[m], x[m]) / w[m].sum()) ** 2))
        best = min(best, sse)
    return best


@pytest.mark.parametrize("method", ["dense", "dc"])
def test_kmeans_is_optimal_against_brute_force(method):
    rng = np.random.default_rng(0)
    for trial in range(40):
        n, k = int(rng.integers(1, 7)), int(rng.integers(1, 4))
        x = np.round(rng.normal(size=n), 1)  # ties on purpose
        w = rng.uniform(0.1, 3.0, n) if trial % 2 else np.ones(n)
        got = kmeans_1d(x, k, w, method)
        assert got.sse == pytest.approx(brute_force_sse(x, w, k), rel=1e-9, abs=1e-12)
        assert got.centers.size == min(k, np.unique(x).size)
        assert np.all(np.diff(got.centers) > 0)


def test_kmeans_solvers_agree_on_larger_inputs():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=600), rng.standard_t(2, size=300)])
    w = rng.uniform(0.1, 2.0, x.size)
    for k in (2, 5, 17, 64):
        a, b = kmeans_1d(x, k, w, "dense"), kmeans_1d(x, k, w, "dc")
        assert a.sse == pytest.approx(b.sse, rel=1e-9)
        # every value is assigned to its nearest center (a necessary condition for optimality)
        nearest = np.abs(x[:, None] - a.centers[None, :]).min(axis=1)
        assert np.allclose(np.abs(x - a.centers[a.labels]), nearest)


def test_coloring_recovers_a_chromatic_policy():
    src = random_policy((17, 41, 6), 17, seed=8)
    colored, report = color_policy(import_model_policy(src), 17)
    assert report.variance_loss == pytest.approx(0.0, abs=1e-15) and colored.num_colors == 17
    x = observations(17)
    np.testing.assert_allclose(forward(colored, x), forward(src, x), rtol=0, atol=1e-12)


def import_model_policy(policy):
    from chromatic.compiler.importer import mlp_from_policy

    return mlp_from_policy(policy).to_policy()


@pytest.mark.parametrize("weighting", ["none", "sensitivity"])
def test_colored_import_compiles_and_runs(tmp_path, weighting):
    g = torch_style()
    calib = observations(17, 300, seed=3) if weighting != "none" else None
    r = import_model(g.save(tmp_path / "m.onnx"), colors=8, weighting=weighting, calibration=calib)
    p = r.policy
    assert p.structure == Structure.CHROMATIC and p.num_colors == 8 and 0 < r.coloring.variance_loss < 0.1
    blob = compile_policy(p)
    x = observations(17)
    np.testing.assert_allclose(load(blob, "numpy").batch(x), forward(p, x), atol=1e-6)
    # coloring is an approximation of the dense import, close for 8 colors on these weights
    assert np.abs(forward(p, x) - forward(r.dense, x)).mean() < 0.2


def test_sensitivity_weights_are_squared_action_gradients():
    """Edge weight = mean over observations of ||d action / d W_ij||^2, checked by finite differences."""
    from chromatic.compiler.coloring import sensitivity_edge_weights

    for out_act, hidden in itertools.product(list(Activation), (Activation.TANH, Activation.RELU)):
        p = import_model_policy(
            random_policy((3, 4, 5, 2), 7, seed=4, output_activation=out_act, hidden_activation=hidden)
        )
        obs = observations(3, 6, seed=5).astype(np.float64)
        got = sensitivity_edge_weights(p, obs)
        h = 1e-6
        for l, layer in enumerate(p.layers):
            for i, j in itertools.product(range(layer.shape[0]), range(layer.shape[1])):
                pal = p.palette.copy()
                pal[layer.partition[i, j]] += h  # dense: one color per edge
                grad = (forward(p.replace(palette=pal), obs) - forward(p, obs)) / h
                assert got[l][i, j] == pytest.approx((grad**2).sum(axis=1).mean(), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"colors": 8, "weighting": "sensitivity"}, "needs --calibration"),
        ({"calibration": np.zeros((3, 17))}, "only apply with --colors"),
        ({"colors": 0}, r"--colors must be in \[1, 65536\], got 0"),
        ({"colors": 4, "calibration": np.zeros((3, 5))}, r"expected \(N, 17\)"),
        ({"colors": 8, "refit": True}, "--refit needs --calibration"),
        ({"refit": True, "calibration": np.zeros((3, 17))}, "only apply with --colors"),
        ({"refit": True}, "only apply with --colors"),
        ({"colors": 8, "refit": True, "calibration": np.zeros((3, 17)), "refit_rounds": -1}, ">= 0, got -1"),
    ],
)
def test_bad_coloring_options(tmp_path, kwargs, message):
    path = torch_style().save(tmp_path / "m.onnx")
    with pytest.raises(ChromaticError, match=message):
        import_model(path, **kwargs)


def test_colored_import_reports_its_action_error(tmp_path):
    g = torch_style()
    x = observations(17, 50)
    r = import_model(g.save(tmp_path / "m.onnx"), colors=4, calibration=x)
    err = forward(r.policy, x) - forward(r.dense, x)
    assert r.action_rms_error == pytest.approx(np.sqrt((err**2).mean()), rel=1e-12)
    assert r.action_max_error == pytest.approx(np.abs(err).max(), rel=1e-12) and r.action_max_error > 0
    assert r.error_inputs == "50 calibration observations"


def test_cli_colored_import(tmp_path, capsys):
    g = keras_style()
    np.save(tmp_path / "obs.npy", observations(11, 100))
    args = ["import", str(g.save(tmp_path / "m.onnx")), "-o", str(tmp_path / "p.npz"), "--colors", "17"]
    assert main([*args, "--weighting", "sensitivity", "--calibration", str(tmp_path / "obs.npy")]) == 0
    out = capsys.readouterr().out
    assert "chromatic M=17" in out and "weight-variance loss" in out and "weighted" in out
    assert "action error vs dense RMS" in out and "(over 100 calibration observations)" in out
    p = load_policy(tmp_path / "p.npz")
    assert p.metadata["import_colors"] == 17 and p.metadata["import_source"] == "m.onnx"
    assert main(["compile", str(tmp_path / "p.npz"), "-o", str(tmp_path / "p.cblob")]) == 0


def test_more_colors_than_distinct_weights(tmp_path):
    src = random_policy((3, 4, 2), 5, seed=1)
    save_policy(src, tmp_path / "p.npz")
    r = import_model(tmp_path / "p.npz", colors=9)
    assert r.policy.num_colors == 5 and any("only 5 distinct weights" in n for n in r.notes)


# -- calibration refit ----------------------------------------------------------------------
REFIT_NETS = {
    "tanh": lambda: torch_style(),
    "relu-2-hidden-linear-out": lambda: torch_style(act="Relu", hidden=(16, 12), out_tanh=False),
    "keras-tanh-2-hidden": lambda: keras_style(hidden=(24, 24)),
}


@pytest.mark.parametrize("net", list(REFIT_NETS))
@pytest.mark.parametrize("colors", [3, 8])
@pytest.mark.parametrize("weighting", ["none", "sensitivity"])
def test_refit_never_raises_the_calibration_error(tmp_path, net, colors, weighting):
    path = REFIT_NETS[net]().save(tmp_path / "m.onnx")
    x = observations(17 if net != "keras-tanh-2-hidden" else 11, 150, seed=11)
    kw = {"colors": colors, "weighting": weighting, "calibration": x}
    plain = import_model(path, **kw)
    kept = import_model(path, **kw, refit=True, refit_rounds=0)
    moved = import_model(path, **kw, refit=True, refit_rounds=2)
    for r in (kept, moved):
        assert r.refit.rms_before == pytest.approx(plain.action_rms_error, rel=1e-9)
        assert r.refit.rms_after == pytest.approx(r.action_rms_error, rel=1e-6)  # the policy as written
        assert r.action_rms_error <= plain.action_rms_error * (1 + 1e-9)
        p = r.policy
        assert p.structure == Structure.CHROMATIC and p.num_colors == plain.policy.num_colors == colors
        used = np.bincount(np.concatenate([q.partition.ravel() for q in p.layers]), minlength=colors)
        assert used.min() >= 1  # every color keeps an edge
        assert p.normalization.mean.tolist() == plain.policy.normalization.mean.tolist()
        assert p.metadata["import_refit_observations"] == 150
    # the reported weight losses are of the weights as written: k-means' own, or the refit's
    from chromatic.compiler.coloring import sensitivity_edge_weights
    from chromatic.compiler.importer import _weight_losses

    ew = sensitivity_edge_weights(plain.dense, x) if weighting == "sensitivity" else None
    for r in (plain, kept, moved):
        loss, wloss = _weight_losses(r.dense, r.policy, ew)
        assert r.coloring.variance_loss == pytest.approx(loss, rel=1e-9)
        assert r.coloring.weighted_loss == pytest.approx(wloss, rel=1e-9)
        assert r.policy.metadata["import_variance_loss"] == r.coloring.variance_loss
    # the refit is a real gain on these random nets, not a rounding change
    assert kept.action_rms_error < 0.9 * plain.action_rms_error
    assert moved.action_rms_error <= kept.action_rms_error * (1 + 1e-9)
    assert kept.refit.edges_moved == 0 and kept.policy.metadata["import_refit_rounds"] == 0
    for a, b in zip(kept.policy.layers, plain.policy.layers, strict=True):
        assert np.array_equal(a.partition, b.partition)  # rounds=0 keeps the k-means partition
    blob = compile_policy(moved.policy)
    x2 = observations(x.shape[1], 20, seed=12)
    np.testing.assert_allclose(load(blob, "numpy").batch(x2), forward(moved.policy, x2), atol=1e-5)


@pytest.mark.parametrize("out_act", list(Activation))
@pytest.mark.parametrize("hidden", [Activation.TANH, Activation.RELU])
def test_refit_normal_equations_are_the_loss_gradient(out_act, hidden):
    """J^T r of the Gauss-Newton step is half the gradient of the squared action error."""
    from chromatic.compiler.importer import _loss, _normal_equations, _normalized

    src = random_policy((3, 5, 4, 2), 6, seed=2, output_activation=out_act, hidden_activation=hidden)
    obs = observations(3, 40, seed=5).astype(np.float64)
    x = _normalized(src, obs)
    target = np.random.default_rng(1).uniform(-1, 1, (40, 2))
    parts = [np.array(layer.partition) for layer in src.layers]
    biases = [np.array(layer.bias) for layer in src.layers]
    theta = np.concatenate([src.palette] + biases)
    jtj, jtr = _normal_equations(src, x, target, src.palette, parts, biases, chunk=16)

    def loss(t):
        pal, off, bs = t[: src.num_colors], src.num_colors, []
        for b in biases:
            bs.append(t[off : off + b.size])
            off += b.size
        return _loss(src, x, target, pal, parts, bs)

    h = 1e-6
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        grad = (loss(theta + e) - loss(theta - e)) / (2 * h)
        assert jtr[k] == pytest.approx(grad / 2, rel=1e-4, abs=1e-7)
    assert np.allclose(jtj, jtj.T) and np.linalg.eigvalsh(jtj).min() > -1e-9


def test_cli_refit(tmp_path, capsys):
    g = torch_style()
    np.save(tmp_path / "obs.npy", observations(17, 120))
    base = ["import", str(g.save(tmp_path / "m.onnx")), "-o", str(tmp_path / "p.npz"), "--colors", "6",
            "--calibration", str(tmp_path / "obs.npy")]
    assert main([*base, "--refit", "--refit-rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "chromatic M=6" in out and "(over 120 calibration observations); refit to them: RMS" in out
    assert "in 1 rounds" in out
    p = load_policy(tmp_path / "p.npz")
    assert p.metadata["import_refit_rounds"] == 1
    assert p.metadata["import_refit_rms_after"] < p.metadata["import_refit_rms_before"]
    assert main(["compile", str(tmp_path / "p.npz"), "-o", str(tmp_path / "p.cblob")]) == 0
    capsys.readouterr()
    (tmp_path / "q.npz").write_bytes(b"keep")
    for extra, message in (
        (["--refit-rounds", "2"], "--refit-rounds only applies with --refit"),
        (["--refit", "--refit-rounds", "-1"], "--refit-rounds must be >= 0, got -1"),
    ):
        args = [*base[:3], str(tmp_path / "q.npz"), *base[4:], *extra]
        assert main(args) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
        assert (tmp_path / "q.npz").read_bytes() == b"keep"
    no_calib = ["import", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "q.npz"), "--colors", "6", "--refit"]
    assert main(no_calib) == 1
    assert "--refit needs --calibration" in capsys.readouterr().err


@pytest.mark.parametrize("hidden", [Activation.TANH, Activation.RELU])
def test_refit_pulls_back_the_bias_of_a_unit_that_never_leaves_saturation(hidden):
    """A unit saturated (tanh) or dead (ReLU) on every calibration observation has no gradient;
    its runaway bias (Hopper M=4 fitted 1.8e7, past float16) is clipped with outputs unchanged."""
    from chromatic.compiler.importer import TANH_SATURATED, _forward, _normalized, _unsaturate

    src = random_policy((3, 5, 2), 6, seed=4, hidden_activation=hidden)
    x = _normalized(src, observations(3, 50, seed=6).astype(np.float64))
    parts = [np.array(layer.partition) for layer in src.layers]
    biases = [np.array(layer.bias) for layer in src.layers]
    runaway = [b.copy() for b in biases]
    runaway[0][1] = 1.8e7 if hidden == Activation.TANH else -1.8e7
    runaway[1][0] = -3e6  # the tanh output unit
    fixed = _unsaturate(src, x, src.palette, parts, runaway)
    xs = _forward(src, x, src.palette, parts, runaway)[0]
    for l in range(2):
        wx = np.abs(xs[l] @ src.palette[parts[l]].T).max(axis=0)
        assert np.all(np.abs(fixed[l]) <= wx + TANH_SATURATED + 1e-12)
    assert np.array_equal(np.delete(fixed[0], 1), np.delete(biases[0], 1))  # the others untouched
    a = _forward(src, x, src.palette, parts, runaway)[0][-1].astype(np.float32)
    b = _forward(src, x, src.palette, parts, fixed)[0][-1].astype(np.float32)
    np.testing.assert_array_equal(a, b)


# -- the blob format's limits and one-line errors, as `compile` applies them ------------------
def test_import_refuses_layer_sizes_compile_would_refuse(tmp_path, capsys):
    """A 70000-wide hidden layer (a u16 holds 65535): refused up front with compile's message,
    not written as a policy file that `chromatic compile` refuses later."""
    wide = tmp_path / "wide.onnx"
    onnx.save(torch_style(d0=3, hidden=(70000,), d=2).model(check=False), str(wide))
    out = tmp_path / "p.npz"
    assert main(["import", str(wide), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert not out.exists()
    rule = "layer_sizes [3, 70000, 2]: layer size 1 is 70000; the blob format allows 1 to 65535"
    assert err == f"chromatic: error: {wide}: {rule}"
    # the same rule, word for word, where compile meets such a policy file
    from chromatic.compiler.ir import Layer, Normalization, Policy

    policy = Policy(layers=(Layer(np.zeros((70000, 3), np.int64), np.zeros(70000)),
                            Layer(np.zeros((2, 70000), np.int64), np.zeros(2))),
                    palette=np.ones(1), normalization=Normalization.identity(3))
    save_policy(policy, tmp_path / "wide.npz")
    assert main(["compile", str(tmp_path / "wide.npz"), "-o", str(tmp_path / "w.cblob")]) == 1
    assert capsys.readouterr().err.strip() == f"chromatic: error: {tmp_path / 'wide.npz'}: {rule}"
    assert main(["import", str(tmp_path / "wide.npz"), "-o", str(out)]) == 1
    assert capsys.readouterr().err.strip() == f"chromatic: error: {tmp_path / 'wide.npz'}: {rule}"
    assert not out.exists() and not (tmp_path / "w.cblob").exists()


@pytest.mark.parametrize("content", [b"\x00garbage", None], ids=["garbage", "npy"])
def test_import_errors_name_the_path_once(tmp_path, capsys, content):
    model = tmp_path / "m.onnx"
    if content is None:
        np.save(tmp_path / "a.npy", np.zeros(3))
        (tmp_path / "a.npy").rename(model)
    else:
        model.write_bytes(content)
    assert main(["import", str(model), "-o", str(tmp_path / "p.npz")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.count(str(model)) == 1, err
    assert "not a readable ONNX model or policy file" in err
    assert content is not None or "a .npy array" in err
