"""The inline float kernel: C specialized to one policy's shapes, reading the blob's bits.

Layer sizes, the index width, the value dtype and every section offset become compile-time
constants, so the packed indices are decoded with constant shifts (one bit-field extract
per edge on v7-M) from one unaligned 32-bit window per group of indices, every loop bound
is known, and no model struct is read at inference. The indices and values still come
from the blob in flash (the honest bits: the smallest image); only the code is
specialized. `--kernel unrolled` (targets/unrolled.py) bakes the indices into the code
instead: faster, larger. Init checks that the blob is the one the code was generated for
(chromatic_check_generated: its CRC32 against the generator's, which validated it).
"""

from __future__ import annotations

from chromatic.compiler.blob import Blob, DType
from chromatic.errors import ChromaticError


def inline_kernel(prefix: str, blob: Blob) -> str:
    """init/infer for the glue file of model_source (the blob array is defined before)."""
    p = blob.policy
    if p.structure.implicit:
        raise ChromaticError(f"the inline kernel needs stored partitions; structure "
                             f"{p.structure.name.lower()!r} is not supported (use --kernel loadable)")
    if blob.index_bits == 0:
        raise ChromaticError("the inline kernel needs a dictionary (M = 1 policies have none); "
                             "use --kernel loadable")
    f16 = blob.dtype == DType.F16
    v = 2 if f16 else 4
    lay = blob.layout
    sizes = p.layer_sizes
    d0, m = sizes[0], p.num_colors
    dict_off = lay.header
    pal_off = dict_off + lay.dictionary + lay.dictionary_padding
    bias_off = pal_off + lay.palette
    mean_off = bias_off + lay.biases
    std_off = mean_off + v * d0
    # Ping-pong buffers sized exactly: layer l reads buffer l % 2; the last writes act.
    last = len(p.layers) - 1
    even = max(sizes[k] for k in range(0, last + 1, 2))
    odd = max([sizes[k] for k in range(1, last + 1, 2)] or [1])
    calls, pos, boff = [], 0, bias_off
    for l in range(len(p.layers)):
        n, out = sizes[l], sizes[l + 1]
        x = f"{prefix}_a" if l % 2 == 0 else f"{prefix}_b"
        y = "act" if l == last else (f"{prefix}_b" if l % 2 == 0 else f"{prefix}_a")
        calls.append(f"    {prefix}_layer({pos}u, w, {x}, {y}, {prefix}_blob + {boff}u, "
                     f"{n}u, {out}u, {int(p.activation(l))}u);")
        pos += n * out * blob.index_bits
        boff += v * out
    if f16:
        value = f"""static float {prefix}_value(const uint8_t *p, uint32_t i)
{{
    return chromatic_load_f16(p + 2u * i); /* one VCVTB on FPv4 (chromatic_load.h) */
}}"""
        palette = (f"    float w[{m}u];\n    for (j = 0; j < {m}u; j++) "
                   f"w[j] = {prefix}_value({prefix}_blob + {pal_off}u, j);")
    else:
        value = f"""static float {prefix}_value(const uint8_t *p, uint32_t i)
{{
    return chromatic_load_f32(p + 4u * i);
}}"""
        palette = f"    const float *w = (const float *)(const void *)({prefix}_blob + {pal_off}u);"
    return f"""#include <string.h>

#include "chromatic_load.h"
#include "chromatic_tanh.h"

#define B {blob.index_bits}u          /* index bits (constant: constant shifts) */
#define G (25u / B)     /* indices one unaligned 32-bit window holds */

/* Activations: layer l reads buffer l % 2 (a: even layers, b: odd), the last writes act. */
static float {prefix}_a[{even}u], {prefix}_b[{odd}u];
static uint8_t {prefix}_ready; /* 1 once init has validated the blob */

int {prefix}_init(void)
{{
    /* offsets and sizes are constants below: the blob must be the one they were generated
       for (chromatic_load.h) */
    int rc = chromatic_check_generated({prefix}_blob, sizeof {prefix}_blob, {blob.crc32:#010x}u);
    {prefix}_ready = rc == CHROMATIC_OK;
    return rc;
}}

{value}

static uint32_t {prefix}_rd32(const uint8_t *p)
{{
    uint32_t w;
    memcpy(&w, p, sizeof w); /* one unaligned LDR on v7-M; reads stay inside the blob */
    return w;
}}

/* y_i = act(sum_j w[Phi(i, j)] x_j + b_i) for one layer whose indices start at bit pos. */
static void {prefix}_layer(uint32_t pos, const float *w, const float *x, float *y,
                           const uint8_t *bias, uint32_t n, uint32_t out, unsigned act_code)
{{
    const uint8_t *d = {prefix}_blob + {dict_off}u;
    const uint32_t mask = (1u << B) - 1u;
    uint32_t i, j, k;
    for (i = 0; i < out; i++) {{
        float s = 0.0f;
        for (j = 0; j + G <= n; j += G) {{
            uint32_t win = {prefix}_rd32(d + (pos >> 3)) >> (pos & 7u);
            pos += G * B;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
            for (k = 0; k < G; k++) {{
                s += w[win & mask] * x[j + k];
                win >>= B;
            }}
        }}
        for (; j < n; j++, pos += B) s += w[({prefix}_rd32(d + (pos >> 3)) >> (pos & 7u)) & mask] * x[j];
        s += {prefix}_value(bias, i);
        y[i] = act_code == CHROMATIC_ACT_TANH   ? chromatic_tanh(s)
               : act_code == CHROMATIC_ACT_RELU ? chromatic_relu(s)
                                                : s;
    }}
}}

int {prefix}_infer(const float *obs, float *act)
{{
    uint32_t j;
{palette}
    if (!{prefix}_ready) return CHROMATIC_ERR_ARGUMENT; /* not initialized */
    for (j = 0; j < {d0}u; j++)
        {prefix}_a[j] = chromatic_obs_clamp((obs[j] - {prefix}_value({prefix}_blob + {mean_off}u, j)) /
                                            {prefix}_value({prefix}_blob + {std_off}u, j));
{chr(10).join(calls)}
    return CHROMATIC_OK;
}}
"""
