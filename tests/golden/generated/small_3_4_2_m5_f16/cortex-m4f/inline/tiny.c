/* tiny.c -- blob and glue for target cortex-m4f, kernel inline.
 * generated from policy e96c0102095745cf by chromatic <version> — do not edit. */

#include "tiny.h"
#include "chromatic.h"

const uint8_t tiny_blob[76u] __attribute__((aligned(4))) = {
    0x43, 0x48, 0x52, 0x4d, 0x01, 0x00, 0x00, 0x01, 0x01, 0x01, 0x02, 0x03,
    0x05, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00,
    0x02, 0x00, 0x00, 0x00, 0xd2, 0x08, 0x90, 0x09, 0x15, 0x46, 0x13, 0x00,
    0x47, 0x23, 0x60, 0x34, 0xe4, 0xb5, 0x37, 0xad, 0xb7, 0xb3, 0xaa, 0x2b,
    0x11, 0x1c, 0x7d, 0xa7, 0x01, 0xad, 0x96, 0xa6, 0xac, 0x12, 0x69, 0xb4,
    0x2d, 0x3d, 0x07, 0x3c, 0xc5, 0x3f, 0x59, 0x3e, 0x3f, 0x3d, 0x00, 0x00,
    0x48, 0x00, 0x4d, 0xb9
};

#include <string.h>

#include "chromatic_load.h"
#include "chromatic_tanh.h"

#define B 3u          /* index bits (constant: constant shifts) */
#define G (25u / B)     /* indices one unaligned 32-bit window holds */

/* Activations: layer l reads buffer l % 2 (a: even layers, b: odd), the last writes act. */
static float tiny_a[3u], tiny_b[4u];
static uint8_t tiny_ready; /* 1 once init has validated the blob */

int tiny_init(void)
{
    /* offsets and sizes are constants below: the blob must be the one they were generated
       for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xb94d0048u);
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
    for (j = 0; j < 5u; j++) w[j] = tiny_value(tiny_blob + 36u, j);
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT; /* not initialized */
    for (j = 0; j < 3u; j++)
        tiny_a[j] = chromatic_obs_clamp((obs[j] - tiny_value(tiny_blob + 58u, j)) /
                                            tiny_value(tiny_blob + 64u, j));
    tiny_layer(0u, w, tiny_a, tiny_b, tiny_blob + 46u, 3u, 4u, 1u);
    tiny_layer(36u, w, tiny_b, act, tiny_blob + 54u, 4u, 2u, 1u);
    return CHROMATIC_OK;
}
