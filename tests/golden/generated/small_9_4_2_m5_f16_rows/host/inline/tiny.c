/* tiny.c -- blob and glue for target host, kernel inline.
 * generated from policy ca981f20ee1e660e by chromatic <version> — do not edit. */

#include "tiny.h"
#include "chromatic.h"

const uint8_t tiny_blob[112u] __attribute__((aligned(4))) = {
    0x43, 0x48, 0x52, 0x4d, 0x01, 0x02, 0x00, 0x01, 0x01, 0x01, 0x02, 0x03,
    0x05, 0x00, 0x00, 0x00, 0x70, 0x00, 0x00, 0x00, 0x09, 0x00, 0x04, 0x00,
    0x02, 0x00, 0x00, 0x00, 0xd2, 0x08, 0x90, 0x01, 0xa1, 0xc2, 0x68, 0x02,
    0x00, 0x47, 0x31, 0x02, 0x43, 0x20, 0x22, 0x02, 0x8c, 0x02, 0x18, 0x02,
    0x2d, 0x39, 0x07, 0x38, 0x6c, 0xbd, 0x8e, 0xbb, 0x98, 0xad, 0x67, 0xa9,
    0x78, 0x25, 0x90, 0x25, 0xc7, 0x32, 0x1e, 0xaf, 0xd5, 0xa8, 0x16, 0x40,
    0x2c, 0x39, 0x4e, 0x39, 0x1d, 0xb8, 0x98, 0xbe, 0x5c, 0x31, 0xfa, 0x2e,
    0xe9, 0xbc, 0x77, 0xb9, 0x1f, 0x3b, 0x0a, 0x3f, 0x0f, 0x3d, 0x11, 0x3d,
    0x85, 0x3e, 0xc6, 0x39, 0xeb, 0x3e, 0x1a, 0x3e, 0xb9, 0x3e, 0x00, 0x00,
    0xdd, 0xd9, 0x3d, 0xc6
};

#include <string.h>

#include "chromatic_load.h"
#include "chromatic_tanh.h"

#define B 3u          /* index bits (constant: constant shifts) */
#define G (25u / B)     /* indices one unaligned 32-bit window holds */

/* Activations: layer l reads buffer l % 2 (a: even layers, b: odd), the last writes act. */
static float tiny_a[9u], tiny_b[4u];
static uint8_t tiny_ready; /* 1 once init has validated the blob */

int tiny_init(void)
{
    /* offsets and sizes are constants below: the blob must be the one they were generated
       for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xc63dd9ddu);
    tiny_ready = rc == CHROMATIC_OK;
    return rc;
}

/* A f16 value of the blob (chromatic_load.h: binary16 is one VCVTB on FPv4). */
static inline float tiny_value(const uint8_t *p, uint32_t i)
{
    return chromatic_load_f16(p + 2u * i);
}

/* y_i = act(sum_j w[Phi(i, j)] x_j + b_i) for one layer whose indices start at bit pos. */
static void tiny_layer(uint32_t pos, const float *w, const float *x, float *y,
                           const uint8_t *bias, uint32_t n, uint32_t out, unsigned act_code)
{
    const uint8_t *d = tiny_blob + 28u;
    const uint32_t mask = (1u << B) - 1u;
    uint32_t i, j, k;
    for (i = 0; i < out; i++) {
        float s = 0.0f;
        for (j = 0; j + G <= n; j += G) {
            /* one unaligned LDR on v7-M (chromatic_load.h); reads stay inside the blob */
            uint32_t win = chromatic_load_u32(d + (pos >> 3)) >> (pos & 7u);
            pos += G * B;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
            for (k = 0; k < G; k++) {
                s += w[win & mask] * x[j + k];
                win >>= B;
            }
        }
        for (; j < n; j++, pos += B) s += w[(chromatic_load_u32(d + (pos >> 3)) >> (pos & 7u)) & mask] * x[j];
        pos = (pos + 7u) & ~7u; /* --pack rows: every row starts on a byte */
        s += tiny_value(bias, i);
        y[i] = act_code == CHROMATIC_ACT_TANH   ? chromatic_tanh(s)
               : act_code == CHROMATIC_ACT_RELU ? chromatic_relu(s)
                                                : s;
    }
}

int tiny_infer(const float *obs, float *act)
{
    uint32_t j;
    float w[5u];
    for (j = 0; j < 5u; j++) w[j] = tiny_value(tiny_blob + 48u, j);
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT; /* not initialized */
    for (j = 0; j < 9u; j++)
        tiny_a[j] = chromatic_obs_clamp((obs[j] - tiny_value(tiny_blob + 70u, j)) /
                                            tiny_value(tiny_blob + 88u, j));
    tiny_layer(0u, w, tiny_a, tiny_b, tiny_blob + 58u, 9u, 4u, 1u);
    tiny_layer(128u, w, tiny_b, act, tiny_blob + 66u, 4u, 2u, 1u);
    return CHROMATIC_OK;
}
