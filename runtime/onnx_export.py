"""ONNX export: the dense-equivalent graph of a blob, so any ONNX tool can run or inspect it.

The colors are expanded to dense float32 matrices W_l[i, j] = palette[Phi_l(i, j)]
(paper §3), which is what a user would deploy without chromatic; it is also the
onnxruntime latency baseline of ``chromatic measure``.

Graph (opset 17, IR version 8): input ``obs`` float32 [N, d0] ->
``Sub(mean)`` -> ``Div(std)`` -> per layer ``Gemm(x, W_l, b_l, transB=1)`` ->
``Tanh`` or ``Relu`` (the layer's activation; none for identity) -> output ``action`` float32 [N, dL].
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from chromatic.compiler.blob import decode
from chromatic.compiler.ir import Activation

OPSET = 17
IR_VERSION = 8
#: The ONNX operator of each activation (identity has none).
ONNX_OPS = {Activation.TANH: "Tanh", Activation.RELU: "Relu"}


def export_onnx(blob: bytes) -> onnx.ModelProto:
    """The checked ONNX model of a blob (raises BlobError for a bad blob)."""
    decoded = decode(blob)
    p = decoded.policy
    sizes = p.layer_sizes
    inits = [
        numpy_helper.from_array(p.normalization.mean.astype(np.float32), "obs_mean"),
        numpy_helper.from_array(p.normalization.std.astype(np.float32), "obs_std"),
    ]
    nodes = [
        helper.make_node("Sub", ["obs", "obs_mean"], ["centered"], name="normalize_sub"),
        helper.make_node("Div", ["centered", "obs_std"], ["x0"], name="normalize_div"),
    ]
    x = "x0"
    last = len(p.layers) - 1
    for l, (layer, w) in enumerate(zip(p.layers, p.weight_matrices(), strict=True)):
        inits.append(numpy_helper.from_array(w.astype(np.float32), f"W{l}"))
        inits.append(numpy_helper.from_array(layer.bias.astype(np.float32), f"b{l}"))
        op = ONNX_OPS.get(p.activation(l))
        z = ("action" if l == last else f"x{l + 1}") if op is None else f"z{l}"
        nodes.append(helper.make_node("Gemm", [x, f"W{l}", f"b{l}"], [z], name=f"layer{l}", transB=1))
        if op is not None:
            y = "action" if l == last else f"x{l + 1}"
            nodes.append(helper.make_node(op, [z], [y], name=f"{op.lower()}{l}"))
            z = y
        x = z
    graph = helper.make_graph(
        nodes,
        "chromatic_policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["N", sizes[0]])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["N", sizes[-1]])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        producer_name="chromatic",
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=f"dense equivalent of a chromatic blob: layer sizes {list(sizes)}, "
        f"{p.structure.name.lower()}, M={p.num_colors}, crc32=0x{decoded.crc32:08x}",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx_bytes(blob: bytes) -> bytes:
    return export_onnx(blob).SerializeToString()
