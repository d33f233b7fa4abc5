/*
 * chromatic_expand.c -- the host's fast path (see chromatic_expand.h and docs/c-api.md).
 *
 * chromatic_expand reads the packed color indices once, LSB-first as compiler/passes/pack.py
 * wrote them, and stores each edge's weight as float32; chromatic_expanded_infer is then the
 * dense kernel of dense.c (same four-partial-sum dot product, same tanh) plus the
 * bad-observation rule of chromatic.h.
 */
#include "chromatic_expand.h"

#include "chromatic_load.h"
#include "chromatic_tanh.h"

#include <string.h>

/* Value i of a section stored in the blob's dtype, as float32 (f16 decoded exactly). */
static float chromatic_expand_value(const uint8_t *base, unsigned f16, uint32_t i)
{
    return f16 ? chromatic_half_f32(chromatic_load_u16(base + 2u * (size_t)i))
               : chromatic_bits_f32(chromatic_load_le32(base + 4u * (size_t)i));
}

size_t chromatic_expand_floats(const chromatic_model *m)
{
    size_t n;
    uint32_t l;
    if (m == NULL || m->num_layers == 0u) return 0;
    n = 2u * (size_t)m->layers[0].in;
    for (l = 0; l < m->num_layers; l++)
        n += (size_t)m->layers[l].out * ((size_t)m->layers[l].in + 1u); /* weights + biases */
    return n;
}

/* Layer L's weights, row-major, into w[0..out*in): palette[color(i, j)]. chromatic_init proved
   every stored index < M and every implicit color inside the palette. */
static void chromatic_expand_layer(const chromatic_model *m, const chromatic_layer *L, float *w)
{
    const uint32_t n = L->in, out = L->out, b = m->index_bits, M = m->num_colors;
    const unsigned f16 = m->dtype == CHROMATIC_DTYPE_F16;
    const uint8_t *pal = m->palette;
    uint32_t i, j;
    if (m->structure >= CHROMATIC_STRUCT_TOEPLITZ) {
        const uint32_t off = L->color_offset, wrap = out > n ? out : n;
        for (i = 0; i < out; i++)
            for (j = 0; j < n; j++) {
                uint32_t c = m->structure == CHROMATIC_STRUCT_DENSE      ? off + i * n + j
                             : m->structure == CHROMATIC_STRUCT_TOEPLITZ ? off + i + n - 1u - j
                             : j <= i                                    ? off + i - j
                                                                         : off + i + wrap - j;
                w[(size_t)i * n + j] = chromatic_expand_value(pal, f16, c);
            }
    } else if (b == 0u) { /* M = 1: every edge has color 0 */
        const float w0 = chromatic_expand_value(pal, f16, 0u);
        for (j = 0; j < out * n; j++) w[j] = w0;
    } else {
        /* The LSB-first stream from each row's first index, a byte at a time: never past
           the dictionary's last byte that holds an index. */
        const uint8_t *p = NULL;
        const uint32_t mask = (1u << b) - 1u;
        uint32_t buf = 0, nb = 0, c;
        float palette_f[256];
        const unsigned cached = M <= 256u;
        if (cached)
            for (c = 0; c < M; c++) palette_f[c] = chromatic_expand_value(pal, f16, c);
        for (j = 0; j < out * n; j++) {
            if (j % n == 0u) { /* a row's first index */
                const uint32_t pos = L->bit_offset + (j / n) * L->row_bits;
                p = m->dictionary + (pos >> 3);
                buf = (uint32_t)(*p++) >> (pos & 7u);
                nb = 8u - (pos & 7u);
            }
            while (nb < b) {
                buf |= (uint32_t)(*p++) << nb;
                nb += 8u;
            }
            c = buf & mask;
            buf >>= b;
            nb -= b;
            if (c >= M) c = 0; /* unreachable after chromatic_init; keeps a forged model in bounds */
            w[j] = cached ? palette_f[c] : chromatic_expand_value(pal, f16, c);
        }
    }
}

int chromatic_expand(chromatic_expanded *e, const chromatic_model *m, float *workspace, size_t floats)
{
    size_t need;
    float *w;
    uint32_t l, i;
    unsigned f16;
    if (e == NULL) return CHROMATIC_ERR_NULL;
    memset(e, 0, sizeof *e);
    if (m == NULL || workspace == NULL) return CHROMATIC_ERR_NULL;
    if (m->num_layers == 0u) return CHROMATIC_ERR_ARGUMENT; /* not initialized */
    need = chromatic_expand_floats(m);
    if (floats < need) return CHROMATIC_ERR_SCRATCH;
    f16 = m->dtype == CHROMATIC_DTYPE_F16;
    w = workspace;
    e->weights = w;
    for (l = 0; l < m->num_layers; l++) {
        chromatic_expand_layer(m, &m->layers[l], w);
        w += (size_t)m->layers[l].out * m->layers[l].in;
    }
    e->biases = w;
    for (l = 0; l < m->num_layers; l++)
        for (i = 0; i < m->layers[l].out; i++) *w++ = chromatic_expand_value(m->layers[l].bias, f16, i);
    e->mean = w;
    for (i = 0; i < m->layers[0].in; i++) *w++ = chromatic_expand_value(m->mean, f16, i);
    e->std = w;
    for (i = 0; i < m->layers[0].in; i++) *w++ = chromatic_expand_value(m->std, f16, i);
    e->model = m;
    return CHROMATIC_OK;
}

static void chromatic_expanded_forward(const chromatic_expanded *e, const float *obs, float *act,
                                       float *scratch)
{
    const chromatic_model *m = e->model;
    float *a = scratch, *b = scratch + m->max_width;
    const float *x = a, *w = e->weights, *bias = e->biases;
    uint32_t i, j, l;
    for (j = 0; j < m->layers[0].in; j++) a[j] = chromatic_obs_clamp((obs[j] - e->mean[j]) / e->std[j]);
    for (l = 0; l < m->num_layers; l++) {
        const chromatic_layer *L = &m->layers[l];
        const uint32_t n = L->in, out = L->out;
        float *y = l + 1u == m->num_layers ? act : (x == a ? b : a);
        /* Each row is summed in the order the in-place kernel (chromatic.c) uses for this
           layout, so the two paths give bit-identical actions: four interleaved sums for byte
           indices, two for bit-packed ones, one for M = 1 and the implicit structures. The
           zoo's returns on the C runtime (tests/test_zoo.py) then do not depend on the path:
           a chaotic gait turns a last-bit difference into a different episode. */
        for (i = 0; i < out; i++) {
            const float *row = w + (size_t)i * n;
            float s = 0.0f;
            if (m->structure < CHROMATIC_STRUCT_TOEPLITZ && m->index_bits == 8u) {
                CHROMATIC_DOT(n, row[j], row[j + 1u], row[j + 2u], row[j + 3u], row[j]);
            } else if (m->structure < CHROMATIC_STRUCT_TOEPLITZ && m->index_bits != 0u) {
                float s0 = 0.0f, s1 = 0.0f;
                for (j = 0; j + 2u <= n; j += 2u) {
                    s0 += row[j] * x[j];
                    s1 += row[j + 1u] * x[j + 1u];
                }
                s = s0 + s1;
                if (j < n) s += row[j] * x[j];
            } else {
                for (j = 0; j < n; j++) s += row[j] * x[j];
            }
            y[i] = s + bias[i];
        }
        if (L->activation == CHROMATIC_ACT_TANH)
            for (i = 0; i < out; i++) y[i] = chromatic_tanh(y[i]);
        else if (L->activation == CHROMATIC_ACT_RELU)
            for (i = 0; i < out; i++) y[i] = chromatic_relu(y[i]);
        w += (size_t)out * n;
        bias += out;
        x = y;
    }
}

int chromatic_expanded_infer_batch(const chromatic_expanded *e, const float *obs, float *act, size_t n,
                                   float *scratch)
{
    size_t i, d0, dl;
    if (e == NULL || obs == NULL || act == NULL || scratch == NULL) return CHROMATIC_ERR_NULL;
    if (e->model == NULL || e->model->num_layers == 0u) return CHROMATIC_ERR_ARGUMENT; /* not expanded */
    d0 = e->model->layers[0].in;
    dl = e->model->layers[e->model->num_layers - 1u].out;
    for (i = 0; i < n; i++) chromatic_expanded_forward(e, obs + i * d0, act + i * dl, scratch);
    return CHROMATIC_OK;
}

int chromatic_expanded_infer(const chromatic_expanded *e, const float *obs, float *act, float *scratch)
{
    return chromatic_expanded_infer_batch(e, obs, act, 1u, scratch);
}
