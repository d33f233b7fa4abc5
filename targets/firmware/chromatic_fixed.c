/*
 * chromatic_fixed.c -- the fixed-point kernel (see chromatic_fixed.h, docs/targets.md).
 *
 * targets/fixed_point.py is its bit-exact numpy model: every rounding here is mirrored
 * there, so the self-test compares the firmware with it exactly and the float reference
 * only measures the quantization error. Assumes a little-endian target (all Cortex-M
 * and x86 parts) and an arithmetic right shift of negative integers (gcc, clang).
 */
#include "chromatic_fixed.h"
#include "chromatic_load.h"

#include <string.h>

#define FX_ONE (1 << CHROMATIC_FX_ACT_FRAC)
#define FX_W_HALF (1 << (CHROMATIC_FX_W_FRAC - 1))

/* Instructions one 32x32->64 multiply-accumulate costs: SMLAL on v7-M, a libgcc call on v6-M. */
#ifndef CHROMATIC_FX_MUL64_COST
#if defined(__ARM_ARCH_6M__)
#define CHROMATIC_FX_MUL64_COST 24u
#else
#define CHROMATIC_FX_MUL64_COST 1u
#endif
#endif

#if CHROMATIC_FX_BITS
#define FX_B ((uint32_t)CHROMATIC_FX_BITS)
#else
#define FX_B b
#endif
/* Indices one unaligned 32-bit window holds whatever the start bit (0..7) is. */
#define FX_G (25u / FX_B)

static uint32_t fx_float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* binary32 bits -> Q(frac) int32, rounded half away from zero, saturated; *sat set on
   saturation. Subnormals round to 0. */
static int32_t fx_from_bits(uint32_t u, int frac, int *sat)
{
    uint32_t e = (u >> 23) & 0xffu, mant = (u & 0x7fffffu) | 0x800000u, mag;
    int sh = (int)e - 150 + frac;
    if (e == 0u) return 0;
    if (sh >= 8) {
        mag = 0x7fffffffu;
        *sat = 1;
    } else if (sh >= 0) {
        mag = mant << sh;
    } else if (sh >= -24) {
        mag = (mant + (1u << (-sh - 1))) >> -sh;
    } else {
        mag = 0u;
    }
    return (u >> 31) ? -(int32_t)mag : (int32_t)mag;
}

/* Q16 -> float, round to nearest even (as numpy's float32 cast), integer only. */
static float fx_to_float(int32_t v)
{
    uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v, m, u;
    int n = 0;
    float f;
    if (a == 0u) return 0.0f;
#if defined(__GNUC__)
    n = 31 - __builtin_clz(a); /* msb position: one CLZ on v7-M */
#else
    while ((a >> n) > 1u) n++;
#endif
    if (n > 23) {
        uint32_t sh = (uint32_t)n - 23u, rem = a & ((1u << sh) - 1u), half = 1u << (sh - 1u);
        m = a >> sh;
        if (rem > half || (rem == half && (m & 1u))) m++;
        if (m == 0x1000000u) {
            m >>= 1;
            n++;
        }
    } else {
        m = a << (23 - n);
    }
    u = (v < 0 ? 0x80000000u : 0u) | ((uint32_t)(n + 111) << 23) | (m & 0x7fffffu);
    memcpy(&f, &u, sizeof f);
    return f;
}

#define fx_sat32 chromatic_fx_sat32

/* tanh on [0, 6.25) in 50 segments of 1/8: per segment a cubic in the offset u (Q13) with
   coefficients in Q20 (Chebyshev fits, targets/fixed_point.py holds the same table), evaluated
   by Horner in 32-bit integers (every product < 2^31: one MUL each, no division, no 64-bit
   multiply, so it is as cheap on v6-M as on v7-M); tanh(6.25) rounds to 1 - 7.5e-6. */
#define FX_TANH_SEG_BITS 13
#define FX_TANH_END (50u << FX_TANH_SEG_BITS)
typedef struct {
    int32_t c0, c1;
    int16_t c2, c3;
} fx_tanh_segment;
static const fx_tanh_segment fx_tanh_table[50] = {
    {1, 131074, -10, -671},
    {130394, 129052, -2039, -590},
    {256816, 123220, -3821, -449},
    {375765, 114251, -5172, -279},
    {484566, 103091, -6005, -112},
    {581540, 90765, -6331, 29},
    {666002, 78201, -6235, 131},
    {738099, 66131, -5834, 194},
    {798590, 55048, -5246, 222},
    {848614, 45224, -4574, 226},
    {889491, 36753, -3892, 214},
    {922566, 29608, -3249, 192},
    {949118, 23684, -2672, 167},
    {970297, 18838, -2171, 141},
    {987105, 14916, -1748, 117},
    {1000389, 11769, -1397, 96},
    {1010857, 9259, -1111, 78},
    {1019083, 7269, -879, 62},
    {1025536, 5696, -693, 50},
    {1030589, 4458, -545, 39},
    {1034540, 3485, -427, 31},
    {1037630, 2722, -335, 24},
    {1040041, 2125, -262, 19},
    {1041923, 1658, -205, 15},
    {1043391, 1293, -160, 12},
    {1044536, 1008, -125, 9},
    {1045428, 786, -97, 7},
    {1046124, 612, -76, 6},
    {1046666, 477, -59, 4},
    {1047088, 372, -46, 3},
    {1047417, 290, -36, 3},
    {1047673, 226, -28, 2},
    {1047873, 176, -22, 2},
    {1048029, 137, -17, 1},
    {1048150, 107, -13, 1},
    {1048244, 83, -10, 1},
    {1048317, 65, -8, 1},
    {1048375, 50, -6, 0},
    {1048419, 39, -5, 0},
    {1048454, 31, -4, 0},
    {1048481, 24, -3, 0},
    {1048502, 19, -2, 0},
    {1048518, 14, -2, 0},
    {1048531, 11, -1, 0},
    {1048536, 9, -1, 0},
    {1048549, 7, -1, 0},
    {1048552, 5, -1, 0},
    {1048553, 4, -1, 0},
    {1048557, 3, 0, 0},
    {1048560, 3, 0, 0}};

int32_t chromatic_fx_tanh(int32_t x)
{
    uint32_t t = x < 0 ? 0u - (uint32_t)x : (uint32_t)x;
    int32_t r;
    if (t >= FX_TANH_END) {
        r = FX_ONE;
    } else {
        const fx_tanh_segment *c = &fx_tanh_table[t >> FX_TANH_SEG_BITS];
        const int32_t u = (int32_t)(t & ((1u << FX_TANH_SEG_BITS) - 1u));
        int32_t a = ((c->c3 * u) >> FX_TANH_SEG_BITS) + c->c2;
        a = ((a * u) >> FX_TANH_SEG_BITS) + c->c1;
        a = ((a * u) >> FX_TANH_SEG_BITS) + c->c0;
        r = (a + 8) >> 4; /* Q20 -> Q16, rounded */
    }
    return x < 0 ? -r : r;
}

/* ---- init ----------------------------------------------------------------------------- */

static int32_t fx_value(const chromatic_model *m, const uint8_t *base, uint32_t i, int frac, int *sat)
{
    uint32_t u;
    if (m->dtype == CHROMATIC_DTYPE_F16) {
        u = chromatic_half_bits(chromatic_load_u16(base + 2u * i));
    } else {
        memcpy(&u, base + 4u * i, sizeof u);
    }
    if (frac < 0) { /* 1/std: a correctly rounded float division, mirrored in numpy */
        float s, inv;
        memcpy(&s, &u, sizeof s);
        inv = 1.0f / s;
        u = fx_float_bits(inv);
        frac = CHROMATIC_FX_W_FRAC;
    }
    return fx_from_bits(u, frac, sat);
}

static unsigned fx_choose_mailman(uint32_t num_colors, uint32_t in)
{
    uint64_t direct = (uint64_t)in * (CHROMATIC_FX_MUL64_COST + 1u);
    uint64_t mailman = 3u * (uint64_t)in + (uint64_t)num_colors * (CHROMATIC_FX_MUL64_COST + 3u);
    return in <= 32767u && mailman < direct;
}

int chromatic_fx_init(chromatic_fx_model *fx, const chromatic_model *m, int32_t *params,
                      size_t param_words)
{
    uint32_t i, l, nb = 0, d0, k = 0;
    int sat = 0;
    if (fx == NULL || m == NULL || params == NULL) return CHROMATIC_ERR_NULL;
    memset(fx, 0, sizeof *fx);
    if (m->num_layers == 0u) return CHROMATIC_ERR_ARGUMENT;
    if (m->structure >= CHROMATIC_STRUCT_TOEPLITZ) return CHROMATIC_FX_ERR_UNSUPPORTED;
#if CHROMATIC_FX_BITS
    if (m->index_bits != CHROMATIC_FX_BITS) return CHROMATIC_FX_ERR_BITS;
#endif
    d0 = m->layers[0].in;
    for (l = 0; l < m->num_layers; l++) nb += m->layers[l].out;
    if (param_words < CHROMATIC_FX_PARAM_WORDS((size_t)m->num_colors, (size_t)nb, (size_t)d0))
        return CHROMATIC_FX_ERR_PARAMS;
    fx->m = m;
    fx->palette = params;
    for (i = 0; i < m->num_colors; i++) params[k++] = fx_value(m, m->palette, i, CHROMATIC_FX_W_FRAC, &sat);
    fx->bias = params + k;
    for (l = 0; l < m->num_layers; l++)
        for (i = 0; i < m->layers[l].out; i++)
            params[k++] = fx_value(m, m->layers[l].bias, i, CHROMATIC_FX_ACT_FRAC, &sat);
    fx->mean = params + k;
    for (i = 0; i < d0; i++) params[k++] = fx_value(m, m->mean, i, CHROMATIC_FX_ACT_FRAC, &sat);
    fx->inv_std = params + k;
    for (i = 0; i < d0; i++) params[k++] = fx_value(m, m->std, i, -1, &sat);
    if (sat) {
        memset(fx, 0, sizeof *fx);
        return CHROMATIC_FX_ERR_RANGE;
    }
    /* |x0| <= CHROMATIC_OBS_LIMIT (the rule of every kernel), and <= INT32_MAX / d0 so that no
       per-color sum can overflow (the fixed-point format's own, smaller limit for d0 >= 4). */
    fx->input_clamp = (int32_t)(INT32_MAX / (int32_t)d0);
    if (fx->input_clamp > CHROMATIC_FX_OBS_LIMIT_Q16) fx->input_clamp = CHROMATIC_FX_OBS_LIMIT_Q16;
    for (l = 0; l < m->num_layers; l++)
        fx->mailman[l] = (uint8_t)fx_choose_mailman(m->num_colors, m->layers[l].in);
    return CHROMATIC_OK;
}

/* ---- inference ------------------------------------------------------------------------ */

/* sum_j w[Phi(i, j)] x_j for one row whose indices start at stream bit pos: exact int64. */
static int64_t fx_row_direct(const uint8_t *d, uint32_t pos, uint32_t b, const int32_t *w,
                             const int32_t *x, uint32_t n)
{
    const uint32_t mask = (1u << FX_B) - 1u;
    int64_t s = 0;
    uint32_t j = 0, k;
    (void)b;
    for (; j + FX_G <= n; j += FX_G) {
        uint32_t win = chromatic_load_u32(d + (pos >> 3)) >> (pos & 7u);
        pos += FX_G * FX_B;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
        for (k = 0; k < FX_G; k++) {
            s += (int64_t)w[win & mask] * x[j + k];
            win >>= FX_B;
        }
    }
    for (; j < n; j++, pos += FX_B)
        s += (int64_t)w[(chromatic_load_u32(d + (pos >> 3)) >> (pos & 7u)) & mask] * x[j];
    return s;
}

/* The mailman form: per-color integer sums, then one multiply per color. */
static int64_t fx_row_mailman(const uint8_t *d, uint32_t pos, uint32_t b, const int32_t *w,
                              const int32_t *x, uint32_t n, int32_t *acc, uint32_t num_colors)
{
    const uint32_t mask = (1u << FX_B) - 1u;
    int64_t s = 0;
    uint32_t j = 0, k, c;
    (void)b;
    for (c = 0; c < num_colors; c++) acc[c] = 0;
    for (; j + FX_G <= n; j += FX_G) {
        uint32_t win = chromatic_load_u32(d + (pos >> 3)) >> (pos & 7u);
        pos += FX_G * FX_B;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
        for (k = 0; k < FX_G; k++) {
            acc[win & mask] += x[j + k];
            win >>= FX_B;
        }
    }
    for (; j < n; j++, pos += FX_B) acc[(chromatic_load_u32(d + (pos >> 3)) >> (pos & 7u)) & mask] += x[j];
    for (c = 0; c < num_colors; c++) s += (int64_t)w[c] * acc[c];
    return s;
}

/* The bad-observation rule (chromatic.h, docs/safety.md) in Q16: a NaN observation gives the
   normalized input 0, +-inf and huge values saturate and are clamped like any other. */
int32_t chromatic_fx_input(float obs, int32_t mean_q16, int32_t inv_std_q24, int32_t clamp)
{
    int sat = 0;
    uint32_t u = fx_float_bits(obs);
    int64_t dx, t;
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0; /* NaN */
    dx = (int64_t)fx_from_bits(u, CHROMATIC_FX_ACT_FRAC, &sat) - mean_q16;
    t = ((int64_t)fx_sat32(dx) * inv_std_q24 + FX_W_HALF) >> CHROMATIC_FX_W_FRAC;
    return t > clamp ? clamp : t < -clamp ? -clamp : (int32_t)t;
}

float chromatic_fx_output(int32_t v) { return fx_to_float(v); }

int chromatic_fx_infer(const chromatic_fx_model *fx, const float *obs, float *act,
                       int32_t *scratch)
{
    const chromatic_model *m;
    int32_t *a, *y, *acc;
    const int32_t *x, *bias;
    uint32_t i, l, d0, b;
    if (fx == NULL || obs == NULL || act == NULL || scratch == NULL) return CHROMATIC_ERR_NULL;
    m = fx->m;
    if (m == NULL) return CHROMATIC_ERR_ARGUMENT;
    b = m->index_bits;
    d0 = m->layers[0].in;
    a = scratch;
    acc = scratch + 2u * m->max_width;
    for (i = 0; i < d0; i++) a[i] = chromatic_fx_input(obs[i], fx->mean[i], fx->inv_std[i], fx->input_clamp);
    x = a;
    bias = fx->bias;
    for (l = 0; l < m->num_layers; l++) {
        const chromatic_layer *L = &m->layers[l];
        y = (x == scratch) ? scratch + m->max_width : scratch;
        for (i = 0; i < L->out; i++) {
            int64_t s;
            if (b == 0u) {
                uint32_t j;
                int64_t sx = 0;
                for (j = 0; j < L->in; j++) sx += x[j];
                s = sx * fx->palette[0];
            } else if (fx->mailman[l]) {
                s = fx_row_mailman(m->dictionary, L->bit_offset + i * L->row_bits, b, fx->palette, x,
                                   L->in, acc, m->num_colors);
            } else {
                s = fx_row_direct(m->dictionary, L->bit_offset + i * L->row_bits, b, fx->palette, x,
                                  L->in);
            }
            y[i] = fx_sat32(((s + FX_W_HALF) >> CHROMATIC_FX_W_FRAC) + bias[i]);
            if (L->activation == CHROMATIC_ACT_TANH) y[i] = chromatic_fx_tanh(y[i]);
        }
        if (L->activation == CHROMATIC_ACT_RELU) { /* capped: the next layer's sums fit int32 */
            const int32_t limit = (int32_t)(INT32_MAX / (int32_t)L->out);
            for (i = 0; i < L->out; i++) y[i] = chromatic_fx_relu(y[i], limit);
        }
        bias += L->out;
        x = y;
    }
    for (i = 0; i < m->layers[m->num_layers - 1u].out; i++) act[i] = fx_to_float(x[i]);
    return CHROMATIC_OK;
}
