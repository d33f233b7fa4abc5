"""The inline float kernel: C specialized to one policy's shapes, reading the blob's bits.

Layer sizes, the index width and the section offsets become compile-time constants, so the
packed indices are decoded with constant shifts (one bit-field extract per edge on v7-M)
from one unaligned 32-bit window per group of indices, and every loop bound is known. The
indices and values still come from the blob in flash (the honest bits); only the code is
specialized. Validation reuses chromatic_init (magic, sizes, CRC32).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from targets.render import Sizes


def inline_kernel(prefix: str, sizes: Sizes) -> str:
    """init/infer for the glue file of model_source (the blob array is defined before)."""
    return f"""#include <string.h>

#include "chromatic_tanh.h"

#define B {max(sizes.index_bits, 1)}u          /* index bits (constant: constant shifts) */
#define G (25u / B)     /* indices one unaligned 32-bit window holds */
#define MAXW {sizes.max_width}u

static float {prefix}_buf[2u * MAXW];
#if {int(sizes.index_bits == 0)}
#error "inline kernel: M = 1 policies have no dictionary; use --kernel loadable"
#endif

int {prefix}_init(void)
{{
    int rc = chromatic_init(&{prefix}_model, {prefix}_blob, sizeof {prefix}_blob);
    if (rc == CHROMATIC_OK && {prefix}_model.structure >= CHROMATIC_STRUCT_TOEPLITZ)
        rc = CHROMATIC_ERR_ARGUMENT; /* implicit structures: use --kernel loadable */
    if (rc == CHROMATIC_OK && {prefix}_model.index_bits != B) rc = CHROMATIC_ERR_HEADER;
    return rc;
}}

static float {prefix}_value(const uint8_t *p, uint32_t i, unsigned f16)
{{
    float f;
    if (f16) {{
#if defined(__ARM_FP16_FORMAT_IEEE)
        __fp16 h;
        memcpy(&h, p + 2u * i, sizeof h);
        return (float)h; /* one VCVTB on FPv4 */
#else
        uint32_t h = (uint32_t)p[2u * i] | ((uint32_t)p[2u * i + 1u] << 8), u;
        uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
        if (e == 0u) return (s ? -1.0f : 1.0f) * (float)m * 5.9604644775390625e-8f;
        u = s | ((e + 112u) << 23) | (m << 13);
        memcpy(&f, &u, sizeof f);
        return f;
#endif
    }}
    memcpy(&f, p + 4u * i, sizeof f);
    return f;
}}

static uint32_t {prefix}_rd32(const uint8_t *p)
{{
    uint32_t w;
    memcpy(&w, p, sizeof w); /* one unaligned LDR on v7-M; reads stay inside the blob */
    return w;
}}

/* y_i = act(sum_j w[Phi(i, j)] x_j + b_i) for one layer; n, out, pos0 are constants at the
   call sites. */
static void {prefix}_layer(const uint8_t *d, uint32_t pos, const float *w, const float *x,
                           float *y, const uint8_t *bias, uint32_t n, uint32_t out,
                           unsigned f16, unsigned tanh_act)
{{
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
        s += {prefix}_value(bias, i, f16);
        y[i] = tanh_act ? chromatic_tanh(s) : s;
    }}
}}

int {prefix}_infer(const float *obs, float *act)
{{
    const chromatic_model *m = &{prefix}_model;
    const unsigned f16 = m->dtype == CHROMATIC_DTYPE_F16;
    float *a = {prefix}_buf, *b = {prefix}_buf + MAXW;
    const float *x = a, *w;
    uint32_t j, l;
#if {int(sizes.num_colors <= 64)}
    float pal[{sizes.num_colors}u];
    if (f16) {{
        for (j = 0; j < {sizes.num_colors}u; j++) pal[j] = {prefix}_value(m->palette, j, 1u);
        w = pal;
    }} else {{
        w = (const float *)(const void *)m->palette; /* 4-byte aligned in the blob */
    }}
#else
    if (f16) return CHROMATIC_ERR_ARGUMENT;
    w = (const float *)(const void *)m->palette;
#endif
    if (m->num_layers != {sizes.num_layers}u) return CHROMATIC_ERR_ARGUMENT; /* not initialized */
    for (j = 0; j < {sizes.d0}u; j++)
        a[j] = (obs[j] - {prefix}_value(m->mean, j, f16)) / {prefix}_value(m->std, j, f16);
    for (l = 0; l < {sizes.num_layers}u; l++) {{
        const chromatic_layer *L = &m->layers[l];
        float *y = l + 1u == {sizes.num_layers}u ? act : (x == a ? b : a);
        {prefix}_layer(m->dictionary, L->edge_offset * B, w, x, y, L->bias, L->in, L->out, f16,
                       L->activation == CHROMATIC_ACT_TANH);
        x = y;
    }}
    return CHROMATIC_OK;
}}
"""
