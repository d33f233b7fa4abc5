"""ONNX export (runtime/onnx_export.py): a valid graph that onnxruntime runs like the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from chromatic.cli import main
from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy
from chromatic.runtime.onnx_export import OPSET, export_onnx, export_onnx_bytes
from chromatic.runtime.reference import forward
from tests.strategies import HIDDEN_ACTIVATIONS


@pytest.mark.parametrize("structure", list(Structure))
@pytest.mark.parametrize("sizes", [(1, 1), (17, 41, 6), (111, 41, 41, 8)])
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("output", list(Activation))
def test_onnxruntime_matches_reference(structure, sizes, hidden, output):
    p = random_policy(sizes, 17, structure, seed=3, hidden_activation=hidden, output_activation=output)
    data = compile_policy(p, "f16", "bits")
    model = export_onnx(data)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == OPSET
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(5, sizes[0])).astype(np.float32)
    got = sess.run(None, {"obs": x})[0]
    np.testing.assert_allclose(got, forward(decode(data).policy, x.astype(np.float64)), rtol=1e-5, atol=1e-5)


def test_identity_output_has_no_final_tanh():
    data = compile_policy(random_policy((4, 3, 2), 5, output_activation=Activation.IDENTITY))
    ops = [n.op_type for n in export_onnx(data).graph.node]
    assert ops == ["Sub", "Div", "Gemm", "Tanh", "Gemm"]


def test_relu_layers_export_as_relu():
    p = random_policy((4, 3, 3, 2), 5, hidden_activation=Activation.RELU, output_activation=Activation.RELU)
    ops = [n.op_type for n in export_onnx(compile_policy(p)).graph.node]
    assert ops == ["Sub", "Div", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Relu"]


def test_cli_export(tmp_path: Path, capsys):
    data = compile_policy(random_policy((17, 41, 6), 17))
    (tmp_path / "p.cblob").write_bytes(data)
    out = tmp_path / "p.onnx"
    assert main(["export", str(tmp_path / "p.cblob"), "-o", str(out)]) == 0
    assert out.read_bytes() == export_onnx_bytes(data)
    assert "opset 17" in capsys.readouterr().out
    (tmp_path / "bad.cblob").write_bytes(data[:-3])
    assert main(["export", str(tmp_path / "bad.cblob"), "-o", str(tmp_path / "bad.onnx")]) == 1
    assert not (tmp_path / "bad.onnx").exists()
    assert capsys.readouterr().err.startswith("chromatic: error:")
