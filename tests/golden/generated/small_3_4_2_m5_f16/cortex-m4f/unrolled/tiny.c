/* tiny.c -- blob and glue for target cortex-m4f, kernel unrolled.
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

#include "chromatic_tanh.h"
#include "chromatic_load.h"

/* 1 once tiny_init has validated the blob: the only state, one byte. */
static uint8_t tiny_ready;

int tiny_init(void)
{
    /* the unrolled code never reads the blob: init checks that it is the one the code was
       generated for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xb94d0048u);
    tiny_ready = rc == CHROMATIC_OK;
    return rc;
}

int tiny_infer(const float *obs, float *act)
{
    (void)obs; /* unread if every input's edges are pruned */
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT;
    const float x0_0 = chromatic_obs_clamp((obs[0] - -0x1.1a40000000000p-2f) / 0x1.f140000000000p+0f);
    const float x0_1 = chromatic_obs_clamp((obs[1] - 0x1.4b40000000000p+0f) / 0x1.9640000000000p+0f);
    const float x0_2 = chromatic_obs_clamp((obs[2] - 0x1.01c0000000000p+0f) / 0x1.4fc0000000000p+0f);
    const float x1_0 = chromatic_tanh(0x1.ea80000000000p-5f + -0x1.7900000000000p-2f * (x0_0 + x0_1) + -0x1.4dc0000000000p-4f * (x0_2));
    const float x1_1 = chromatic_tanh(0x1.0440000000000p-8f + 0x1.d1c0000000000p-7f * (x0_1 + x0_2) + -0x1.edc0000000000p-3f * (x0_0));
    const float x1_2 = chromatic_tanh(-0x1.df40000000000p-6f + 0x1.1800000000000p-2f * (x0_2) + -0x1.edc0000000000p-3f * (x0_0 + x0_1));
    const float x1_3 = chromatic_tanh(-0x1.4040000000000p-4f + 0x1.1800000000000p-2f * (x0_0) + -0x1.7900000000000p-2f * (x0_2) + -0x1.edc0000000000p-3f * (x0_1));
    act[0] = chromatic_tanh(-0x1.a580000000000p-6f + 0x1.1800000000000p-2f * (x1_0 + x1_2) + -0x1.7900000000000p-2f * (x1_3) + -0x1.edc0000000000p-3f * (x1_1));
    act[1] = chromatic_tanh(0x1.ab00000000000p-11f + 0x1.d1c0000000000p-7f * (x1_2 + x1_3) + -0x1.7900000000000p-2f * (x1_1) + -0x1.4dc0000000000p-4f * (x1_0));
    return CHROMATIC_OK;
}
