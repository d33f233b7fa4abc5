/* tiny.c -- blob and glue for target cortex-m3, kernel muls.
 * generated from policy ca981f20ee1e660e by chromatic <version> — do not edit. */

#include "tiny.h"
#include "chromatic.h"

#include "chromatic_fixed.h"

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

#include "chromatic_fixed.h"
#include "chromatic_load.h"

/* tiny_infer: the muls kernel (targets/muls.py) for this policy only, in the narrow
   format of targets/fixed_point.py (NarrowModel, bit-exact): 32-bit arithmetic only, so every
   product is one 32 x 32 -> 32 MULS on v6-M. Per layer l the inputs are Q(xf_l), the palette
   Q(wf_l) and the biases Q(wf_l + xf_l), chosen by the generator so that no row sum can
   leave int32; each row sum is rounded once to Q16 for the activation of chromatic_fixed.c,
   whose output is rounded to the next layer's Q(xf). The rows (the indices, read from the
   blob, and the products) are tiny_muls.S. */
const int32_t tiny_w0[5u] = {2650, 2062, -5552, -3868, -358}; /* Q12 */
int32_t tiny_row0(const int32_t *x, int32_t s, const uint8_t *p, uint32_t phase);
const int32_t tiny_w1[5u] = {21200, 16496, -44416, -30944, -2864}; /* Q15 */
int32_t tiny_row1(const int32_t *x, int32_t s, const uint8_t *p, uint32_t phase);
static const int32_t tiny_bias[6u] = {-354048, 179200, 182272, 1776640, -59703296, -20267008};
static const int32_t tiny_mean[9u] = {133888, 42368, 43456, -33696, -108032, 10976, 7144, -80448, -44768};
static const int32_t tiny_inv_std[9u] = {18847910, 9533779, 13266308, 13245851, 10293511, 23247454, 9700660, 10998636, 9982492};
static int32_t tiny_buf[13u]; /* ping-pong activations, Q(xf) of their layer */
static uint8_t tiny_ready;

int tiny_init(void)
{
    /* the values are constants here: the blob (whose indices infer reads) must be the one
       they were generated for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xc63dd9ddu);
    tiny_ready = rc == CHROMATIC_OK;
    return rc;
}

int tiny_infer(const float *obs, float *act)
{
    const uint8_t *const d = tiny_blob + 28u;
    int32_t *const a = tiny_buf, *const b = tiny_buf + 9u;
    uint32_t i;
    (void)b;
    (void)d;
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT;
    for (i = 0; i < 9u; i++)
        a[i] = (chromatic_fx_input(obs[i], tiny_mean[i], tiny_inv_std[i],
                                   2097152) + 16) >> 5;
    for (i = 0; i < 4u; i++) {
        const int32_t v = chromatic_fx_tanh((tiny_row0(a, tiny_bias[0u + i], d + ((0u + i * 32u) >> 3), (0u + i * 32u) & 7u) + 64) >> 7);
        b[i] = (v + 2) >> 2;
    }
    for (i = 0; i < 2u; i++) {
        const int32_t v = chromatic_fx_tanh((tiny_row1(b, tiny_bias[4u + i], d + ((128u + i * 16u) >> 3), (128u + i * 16u) & 7u) + 4096) >> 13);
        act[i] = chromatic_fx_output(v);
    }
    return CHROMATIC_OK;
}
