"""Read a dense tanh or ReLU MLP out of an ONNX graph (docs/import.md).

The graph must be one chain from its one input to its one output. Understood along it:

- ``Gemm`` (any ``transB``, ``alpha``, ``beta``; ``transA=0``) with constant B and C — PyTorch's
  ``nn.Linear``; ``MatMul`` with a constant right operand, usually followed by ``Add`` of the
  bias — tf2onnx's Keras ``Dense``;
- ``Tanh`` or ``Relu`` after a linear layer (one kind for all hidden layers; the output may
  have either or none); ``Identity``, ``Dropout`` (inference) and ``Flatten`` (axis 1);
  two linear layers with no activation between them are multiplied into one;
- ``Sub``/``Add``/``Mul``/``Div``/``Neg`` by constants: before the first layer they become the
  policy's ``obs_mean``/``obs_std`` (Sub then Div keeps the exported values bit for bit), after a
  layer they fold into its weights and bias, after a ``Tanh``/``Relu`` into the next layer's columns.

Nodes whose inputs are all constants (``Constant``, a ``Transpose`` of a weight, ...) are
evaluated with onnx's reference evaluator first. Anything else is a ChromaticError naming the
node.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import numpy_helper

from chromatic.compiler.importer import Affine, DenseMLP
from chromatic.compiler.ir import Activation
from chromatic.errors import ChromaticError

ELEMENTWISE = ("Sub", "Add", "Mul", "Div", "Neg")
NOOPS = ("Identity", "Dropout", "Flatten")
ACTIVATIONS = {"Tanh": Activation.TANH, "Relu": Activation.RELU}
RELU_LIKE = ("LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "Softplus", "HardSwish", "Mish")
_FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16}


def load_onnx(path: str | os.PathLike[str]) -> onnx.ModelProto:
    try:
        return onnx.load(os.fspath(path))
    except Exception as e:  # protobuf's DecodeError, a missing external-data file, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ChromaticError(f"{path}: not a readable ONNX model or policy file ({first})") from None


def mlp_from_onnx(path: str | os.PathLike[str]) -> DenseMLP:
    """The dense MLP of an ONNX file (raises ChromaticError naming the offending node)."""
    model = load_onnx(path)  # its errors name the path already
    try:
        return _Reader(model).run()
    except ChromaticError as e:
        raise ChromaticError(f"{path}: {e}") from None


def _node_label(node: onnx.NodeProto, index: int) -> str:
    name = node.name or f"#{index} -> {node.output[0] if node.output else '?'}"
    return f"node {name!r} ({node.op_type})"


class _Reader:
    """Walks the chain once, keeping the layers read so far and what is pending on the value."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.graph = model.graph
        self.consts: dict[str, np.ndarray] = {}
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []  # each followed by an activation
        self.acts: list[tuple[Activation, str]] = []  # that activation, and its node's label
        self.pending: tuple[np.ndarray, np.ndarray] | None = None  # linear, no activation yet
        self.affine = Affine()  # on the current value, before the next linear layer
        self.affine_node = ""
        self.input_affine: Affine | None = None  # the affine before the first layer
        self.width: int | None = None

    # -- the walk ---------------------------------------------------------------------------
    def run(self) -> DenseMLP:
        g = self.graph
        if len(g.sparse_initializer):
            raise ChromaticError("sparse initializers are not supported")
        for init in g.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        read = {x for node in g.node for x in node.input} | {o.name for o in g.output}
        inputs = [i for i in g.input if i.name not in self.consts and i.name in read]
        if len(inputs) != 1:
            names = [i.name for i in inputs]
            raise ChromaticError(
                f"expected one graph input (the observation), found {len(inputs)}: {names}"
                + (
                    "; constants exported as inputs (tf2onnx does this with Keras 3's Normalization layer) "
                    "are not read: leave the normalization out and pass --normalization STATS.npz"
                    if len(inputs) > 1
                    else ""
                )
            )
        if len(g.output) != 1:
            names = [o.name for o in g.output]
            raise ChromaticError(
                f"expected one graph output (the action), found {len(g.output)}: {names}; "
                "export the actor only"
            )
        inp = inputs[0]
        tt = inp.type.tensor_type
        if inp.type.WhichOneof("value") != "tensor_type" or tt.elem_type not in _FLOAT_TYPES:
            raise ChromaticError(f"graph input {inp.name!r}: expected a float tensor")
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if tt.HasField("shape") and not 1 <= len(dims) <= 2:
            raise ChromaticError(
                f"graph input {inp.name!r}: expected shape (N, d) or (d,), found rank {len(dims)}"
            )
        if dims and dims[-1]:
            self.width = int(dims[-1])
        current = inp.name
        used: dict[str, str] = {}
        for index, node in enumerate(g.node):
            label = _node_label(node, index)
            if node.domain not in ("", "ai.onnx"):
                raise ChromaticError(f"{label}: operators of domain {node.domain!r} are not supported")
            ins = [x for x in node.input if x]
            if all(x in self.consts for x in ins) and not node.op_type.startswith("Random"):
                self._fold_constant(node, label)
                continue
            dynamic = [x for x in ins if x not in self.consts]
            if len(dynamic) != 1 or len(node.output) < 1:
                raise ChromaticError(
                    f"{label}: combines {len(dynamic)} computed values; expected a single chain"
                )
            if dynamic[0] != current:
                why = f"already used by {used[dynamic[0]]}" if dynamic[0] in used else "not the chain's value"
                raise ChromaticError(
                    f"{label}: reads {dynamic[0]!r}, {why} (branching graphs are not supported)"
                )
            used[current] = label
            self._step(node, label, node.input, dynamic[0])
            current = node.output[0]
            extra = [o for o in node.output[1:] if o]
            if extra and any(o in (out.name for out in g.output) for o in extra):
                raise ChromaticError(f"{label}: its second output is a graph output")
        if current != g.output[0].name:
            raise ChromaticError(
                f"graph output {g.output[0].name!r} is not the end of the chain from the input ({current!r})"
            )
        return self._finish()

    def _fold_constant(self, node: onnx.NodeProto, label: str) -> None:
        from onnx.reference import ReferenceEvaluator

        try:
            feeds = {x: self.consts[x] for x in node.input if x}
            outs = ReferenceEvaluator(node).run(None, feeds)
        except Exception as e:
            raise ChromaticError(
                f"{label}: cannot evaluate this constant expression ({type(e).__name__})"
            ) from None
        for name, value in zip(node.output, outs, strict=False):
            if name:
                self.consts[name] = np.asarray(value)

    # -- one node on the chain --------------------------------------------------------------
    def _step(self, node: onnx.NodeProto, label: str, inputs: Sequence[str], x: str) -> None:
        op = node.op_type
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if op == "Gemm":
            self._gemm(label, inputs, x, attrs)
        elif op == "MatMul":
            if inputs[0] != x:
                raise ChromaticError(f"{label}: expected the computed value on the left (x @ W)")
            w = self._const(label, inputs[1], "B")
            if w.ndim != 2:
                raise ChromaticError(f"{label}: expected a 2-d weight, found shape {w.shape}")
            self._linear(label, w.T, np.zeros(w.shape[1]))
        elif op in ELEMENTWISE:
            self._elementwise(node, label, inputs, x)
        elif op in ACTIVATIONS:
            if self.pending is None:
                where = "not right after a linear layer" if self.layers else "before the first layer"
                raise ChromaticError(f"{label}: {op} {where} is not supported")
            self.layers.append(self.pending)
            self.acts.append((ACTIVATIONS[op], label))
            self.pending = None
        elif op in NOOPS:
            self._noop(label, op, inputs, x, attrs)
        else:
            hint = "; only tanh and relu MLPs are supported" if op in RELU_LIKE or op == "Sigmoid" else ""
            raise ChromaticError(f"{label}: {op} is not supported{hint}")

    def _noop(self, label: str, op: str, inputs: Sequence[str], x: str, attrs: dict) -> None:
        if op == "Flatten" and attrs.get("axis", 1) != 1:
            raise ChromaticError(f"{label}: only axis=1 is supported, found axis={attrs['axis']}")
        if op == "Dropout":
            if len(inputs) > 2 and inputs[2] and bool(self.consts.get(inputs[2], np.array(True))):
                raise ChromaticError(f"{label}: Dropout in training mode is not supported")
        if inputs[0] != x:
            raise ChromaticError(f"{label}: expected the computed value as the first input")

    def _const(self, label: str, name: str, what: str) -> np.ndarray:
        if name not in self.consts:
            raise ChromaticError(f"{label}: {what} must be a constant")
        v = np.asarray(self.consts[name])
        if v.dtype.kind not in "fiu":
            raise ChromaticError(f"{label}: {what} has dtype {v.dtype}, expected numbers")
        v = v.astype(np.float64)
        if not np.isfinite(v).all():
            raise ChromaticError(f"{label}: {what} contains NaN or inf")
        return v

    def _gemm(self, label: str, inputs: Sequence[str], x: str, attrs: dict) -> None:
        if inputs[0] != x:
            raise ChromaticError(f"{label}: expected the computed value as A")
        if attrs.get("transA", 0):
            raise ChromaticError(f"{label}: transA=1 is not supported")
        b = self._const(label, inputs[1], "B")
        if b.ndim != 2:
            raise ChromaticError(f"{label}: expected a 2-d B, found shape {b.shape}")
        w = b if attrs.get("transB", 0) else b.T
        w = w * float(attrs.get("alpha", 1.0))
        out = w.shape[0]
        if len(inputs) > 2 and inputs[2]:
            c = self._const(label, inputs[2], "C")
            if c.size not in (1, out) or (c.ndim == 2 and c.shape[0] != 1) or c.ndim > 2:
                raise ChromaticError(f"{label}: expected a bias C of shape ({out},), found {c.shape}")
            bias = np.broadcast_to(c.reshape(-1), (out,)) * float(attrs.get("beta", 1.0))
        else:
            bias = np.zeros(out)
        self._linear(label, w, bias)

    def _linear(self, label: str, w: np.ndarray, b: np.ndarray) -> None:
        """A linear layer y = W x + b, W (out, in), on the current value."""
        if self.width is not None and w.shape[1] != self.width:
            raise ChromaticError(
                f"{label}: expects {w.shape[1]} inputs, the value before it has {self.width}"
            )
        b = np.asarray(b, np.float64).copy()
        if self.pending is not None:  # no activation between: one linear layer
            pw, pb = self.pending
            w, b = w @ pw, w @ pb + b
        elif not self.layers:  # the first layer: the pending affine is the observation filter
            self.input_affine = self.affine.broadcast(w.shape[1])
        else:
            w, b = self.affine.fold_into(w, b)
        self.affine = Affine()
        self.pending = (w, b)
        self.width = w.shape[0]

    def _elementwise(self, node: onnx.NodeProto, label: str, inputs: Sequence[str], x: str) -> None:
        op = node.op_type
        c: np.ndarray = np.ones(())
        if op != "Neg":
            if len(inputs) != 2:
                raise ChromaticError(f"{label}: expected two inputs")
            if inputs[0] != x and op == "Div":
                raise ChromaticError(f"{label}: dividing a constant by the computed value is not supported")
            other = inputs[1] if inputs[0] == x else inputs[0]
            c = self._const(label, other, "the constant operand")
            if (
                c.ndim > 2
                or (c.ndim == 2 and c.shape[0] != 1)
                or (self.width and c.size not in (1, self.width))
            ):
                raise ChromaticError(
                    f"{label}: expected a constant of shape ({self.width or 'd'},) or a scalar, "
                    f"found {c.shape}"
                )
            c = c.reshape(-1) if c.size > 1 else c.reshape(())
            if self.width is None and c.size > 1:
                self.width = c.size
            if op in ("Div", "Mul") and (c == 0).any():
                raise ChromaticError(f"{label}: {op} by 0 is not supported")
        swapped = op == "Sub" and inputs[0] != x  # c - x = -(x) + c
        if self.pending is not None:  # on a linear layer's output: fold into its rows
            w, b = self.pending
            if op == "Neg" or swapped:
                w, b = -w, -b
            if op == "Add" or swapped:
                b = b + c
            elif op == "Sub":
                b = b - c
            elif op == "Mul":
                w, b = w * np.reshape(c, (-1, 1)), b * c
            elif op == "Div":
                w, b = w / np.reshape(c, (-1, 1)), b / c
            self.pending = (w, np.broadcast_to(b, (w.shape[0],)).copy())
            return
        a = self.affine
        if op == "Neg" or swapped:
            a = a.neg()
        if op == "Add" or swapped:
            a = a.add(c)
        elif op == "Sub":
            a = a.sub(c)
        elif op == "Mul":
            a = a.mul(c)
        elif op == "Div":
            a = a.div(c)
        self.affine = a
        self.affine_node = label

    def _finish(self) -> DenseMLP:
        hidden_acts = self.acts if self.pending is not None else self.acts[:-1]
        for act, label in hidden_acts[1:]:
            first, first_label = hidden_acts[0]
            if act != first:
                raise ChromaticError(
                    f"{label}: {act.name.capitalize()} after {first_label}; a policy's hidden layers "
                    f"share one activation ({first.name.lower()} or {act.name.lower()}, not both)"
                )
        hidden = hidden_acts[0][0] if hidden_acts else Activation.TANH
        if self.pending is not None:
            self.layers.append(self.pending)
            output = Activation.IDENTITY
        else:
            if not self.layers:
                raise ChromaticError("no Gemm or MatMul layer found between the input and the output")
            output = self.acts[-1][0]
            if not self.affine.is_identity:
                op = "Tanh" if output == Activation.TANH else "Relu"
                raise ChromaticError(
                    f"{self.affine_node}: scaling or shifting after the output {op} is not supported "
                    f"(the policy's output is {op.lower()}(z) or z); rescale actions outside the policy"
                )
        assert self.input_affine is not None
        return DenseMLP(
            weights=tuple(w for w, _ in self.layers),
            biases=tuple(b for _, b in self.layers),
            input=self.input_affine,
            output_activation=output,
            hidden_activation=hidden,
        )
