"""The unrolled kernel: straight-line C for one policy, its color indices baked into the code.

Each row is written in the mailman form of paper section 3 (y_i = act(sum_c w_c sum_{j: Phi(i,j)=c}
x_j + b_i)): per color present in the row, one chain of adds over the inputs of that color,
then one multiply-accumulate per color. No index is decoded at run time, so an edge costs
about one add; gcc allocates the registers (inputs of a narrow layer stay in FPU registers
on Cortex-M4F). The price is flash: the indices become code, about 4 bytes per edge instead
of index_bits / 8, so `--kernel inline` (decodes the blob's bits) stays the small option.

Float targets compute in float32 (same tolerance as the other float kernels). Fixed-point
targets (no FPU) use the formats of targets/fixed_point.py and are bit-exact with it:
per-color sums are exact integers (int32 where the bound ``in * max|x| < 2^31`` holds, from
the layer sizes and the input clamp, else int64), then one 32x32->64 multiply per color.
The blob stays in the image only so that init can check it is the blob the code was
generated for (chromatic_check_generated: its CRC32 against the generator's).
"""

from __future__ import annotations

import numpy as np

from chromatic.compiler.ir import Activation
from chromatic.errors import ChromaticError
from chromatic.targets.spec import KernelSpec
from chromatic.targets.templates import render

INT32_MAX = (1 << 31) - 1

#: One statement of the body: (the name it defines, or None for an output; its C; names it reads).
Line = tuple[str | None, str, tuple[str, ...]]


def _f(v: float) -> str:
    """An exact float32 C literal."""
    return f"{float(np.float32(v)).hex()}f"


def _groups(row: np.ndarray, palette: np.ndarray) -> list[tuple[int, list[int]]]:
    """(color, input indices) for the colors of one row with a nonzero weight, in color order."""
    out = []
    for c in np.unique(row):
        if palette[c] != 0:
            out.append((int(c), [int(j) for j in np.flatnonzero(row == c)]))
    return out


def check(spec: KernelSpec) -> None:
    """A one-line error for a policy whose partitions are not stored."""
    if spec.implicit:
        raise ChromaticError(f"the unrolled kernel needs stored partitions; structure "
                             f"{spec.structure!r} is not supported "
                             "(use --kernel loadable)")


def float_kernel(prefix: str, spec: KernelSpec) -> str:
    """init/infer for a float target (the blob array is defined before): unrolled.c.in."""
    check(spec)
    p = spec.blob.policy
    pal = np.asarray(p.palette, np.float32)
    mean = np.asarray(p.normalization.mean, np.float32)
    std = np.asarray(p.normalization.std, np.float32)
    body: list[Line] = [(f"x0_{j}", f"    const float x0_{j} = chromatic_obs_clamp((obs[{j}] - "
                         f"{_f(mean[j])}) / {_f(std[j])});", ()) for j in range(p.layer_sizes[0])]
    last = len(p.layers) - 1
    for l, layer in enumerate(p.layers):
        act = p.activation(l)
        bias = np.asarray(layer.bias, np.float32)
        for i, row in enumerate(np.asarray(layer.partition)):
            groups = _groups(row, pal)
            terms = [f"{_f(pal[c])} * ({' + '.join(f'x{l}_{j}' for j in js)})" for c, js in groups]
            s = " + ".join([_f(bias[i]), *terms])
            val = (f"chromatic_tanh({s})" if act == Activation.TANH
                   else f"chromatic_relu({s})" if act == Activation.RELU else s)
            name = None if l == last else f"x{l + 1}_{i}"
            dst = f"act[{i}]" if name is None else f"const float {name}"
            body.append((name, f"    {dst} = {val};", _inputs(l, groups)))
    return _glue(prefix, '#include "chromatic_tanh.h"\n', body, spec)


def fixed_kernel(prefix: str, spec: KernelSpec) -> str:
    """init/infer for an FPU-less target, bit-exact with targets/fixed_point.FixedModel."""
    from chromatic.targets.fixed_point import W_FRAC, FixedModel, c_activation, output_range

    check(spec)
    fx = FixedModel(spec.blob)
    p = spec.blob.policy
    d0 = p.layer_sizes[0]
    body: list[Line] = [(f"x0_{j}", f"    const int32_t x0_{j} = chromatic_fx_input(obs[{j}], "
                         f"{int(fx.mean[j])}, {int(fx.inv_std[j])}, {fx.input_clamp});", ())
                        for j in range(d0)]
    x_max = fx.input_clamp  # |x| of the layer's inputs
    last = len(p.layers) - 1
    for l, layer in enumerate(p.layers):
        act = p.activation(l)
        n_in, n_out = layer.partition.shape[1], layer.partition.shape[0]
        wide = n_in * x_max > INT32_MAX  # per-color sums need int64
        cast = "(int64_t)" if wide else ""
        for i, row in enumerate(np.asarray(layer.partition)):
            groups = _groups(row, fx.palette)
            terms = [f"(int64_t){int(fx.palette[c])} * ({' + '.join(cast + f'x{l}_{j}' for j in js)})"
                     for c, js in groups]
            s = " + ".join(terms) if terms else "0"
            v = (f"chromatic_fx_sat32((({s} + {1 << (W_FRAC - 1)}) >> {W_FRAC}) "
                 f"+ {int(fx.biases[l][i])})")
            v = c_activation(v, act, n_out)
            if l == last:
                body.append((None, f"    act[{i}] = chromatic_fx_output({v});", _inputs(l, groups)))
            else:
                body.append((f"x{l + 1}_{i}", f"    const int32_t x{l + 1}_{i} = {v};",
                             _inputs(l, groups)))
        x_max = output_range(act, n_out)
    return _glue(prefix, "", body, spec)


def _inputs(l: int, groups: list[tuple[int, list[int]]]) -> tuple[str, ...]:
    """The names of layer ``l``'s inputs that one row's groups read."""
    return tuple(f"x{l}_{j}" for _, js in groups for j in js)


def _live(body: list[Line]) -> list[str]:
    """The lines of ``body`` that an output depends on, in order: a value no later line reads
    (an input whose edges are all pruned, a unit that only feeds zero-weight colors) is not
    declared, so the code compiles with -Werror=unused-variable and holds no dead work."""
    live: set[str] = set()
    kept = []
    for name, line, reads in reversed(body):
        if name is None or name in live:
            kept.append(line)
            live.update(reads)
    return kept[::-1]


def _glue(prefix: str, includes: str, body: list[Line], spec: KernelSpec) -> str:
    return render("unrolled.c", includes=includes, prefix=prefix, crc32=f"{spec.crc32:#010x}",
                  body="\n".join(_live(body)))
