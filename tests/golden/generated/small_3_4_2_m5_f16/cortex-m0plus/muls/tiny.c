/* tiny.c -- blob and glue for target cortex-m0plus, kernel muls.
 * generated from policy e96c0102095745cf by chromatic <version> — do not edit. */

#include "tiny.h"
#include "chromatic.h"

#include "chromatic_fixed.h"

const uint8_t tiny_blob[76u] __attribute__((aligned(4))) = {
    0x43, 0x48, 0x52, 0x4d, 0x01, 0x00, 0x00, 0x01, 0x01, 0x01, 0x02, 0x03,
    0x05, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00,
    0x02, 0x00, 0x00, 0x00, 0xd2, 0x08, 0x90, 0x09, 0x15, 0x46, 0x13, 0x00,
    0x47, 0x23, 0x60, 0x34, 0xe4, 0xb5, 0x37, 0xad, 0xb7, 0xb3, 0xaa, 0x2b,
    0x11, 0x1c, 0x7d, 0xa7, 0x01, 0xad, 0x96, 0xa6, 0xac, 0x12, 0x69, 0xb4,
    0x2d, 0x3d, 0x07, 0x3c, 0xc5, 0x3f, 0x59, 0x3e, 0x3f, 0x3d, 0x00, 0x00,
    0x48, 0x00, 0x4d, 0xb9
};

#include "chromatic_fixed.h"
#include "chromatic_load.h"

/* tiny_infer: the muls kernel (targets/muls.py) for this policy only, in the narrow
   format of targets/fixed_point.py (NarrowModel, bit-exact): 32-bit arithmetic only, so every
   product is one 32 x 32 -> 32 MULS on v6-M. Per layer l the inputs are Q(xf_l), the palette
   Q(wf_l) and the biases Q(wf_l + xf_l), chosen by the generator so that no row sum can
   leave int32; each row sum is rounded once to Q16 for the activation of chromatic_fixed.c,
   whose output is rounded to the next layer's Q(xf). The rows (the indices, read from the
   blob, and the products) are tiny_muls.S. */
const int32_t tiny_w0[5u] = {233, 4480, -6032, -1335, -3950}; /* Q14 */
int32_t tiny_row0(const int32_t *x, int32_t s, const uint8_t *p, uint32_t phase);
const int32_t tiny_w1[5u] = {932, 17920, -24128, -5340, -15800}; /* Q16 */
int32_t tiny_row1(const int32_t *x, int32_t s, const uint8_t *p, uint32_t phase);
static const int32_t tiny_bias[6u] = {4018176, 266496, -1963008, -5246976, -27623424, 874496};
static const int32_t tiny_mean[3u] = {-18064, 84800, 65984};
static const int32_t tiny_inv_std[3u] = {8637441, 10572227, 12792159};
static int32_t tiny_buf[7u]; /* ping-pong activations, Q(xf) of their layer */
static uint8_t tiny_ready;

int tiny_init(void)
{
    /* the values are constants here: the blob (whose indices infer reads) must be the one
       they were generated for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xb94d0048u);
    tiny_ready = rc == CHROMATIC_OK;
    return rc;
}

int tiny_infer(const float *obs, float *act)
{
    const uint8_t *const d = tiny_blob + 28u;
    int32_t *const a = tiny_buf, *const b = tiny_buf + 3u;
    uint32_t i;
    (void)b;
    (void)d;
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT;
    for (i = 0; i < 3u; i++)
        a[i] = (chromatic_fx_input(obs[i], tiny_mean[i], tiny_inv_std[i],
                                   2097152) + 8) >> 4;
    for (i = 0; i < 4u; i++) {
        const int32_t v = chromatic_fx_tanh((tiny_row0(a, tiny_bias[0u + i], d + ((0u + i * 9u) >> 3), (0u + i * 9u) & 7u) + 512) >> 10);
        b[i] = (v + 2) >> 2;
    }
    for (i = 0; i < 2u; i++) {
        const int32_t v = chromatic_fx_tanh((tiny_row1(b, tiny_bias[4u + i], d + ((36u + i * 12u) >> 3), (36u + i * 12u) & 7u) + 8192) >> 14);
        act[i] = chromatic_fx_output(v);
    }
    return CHROMATIC_OK;
}
