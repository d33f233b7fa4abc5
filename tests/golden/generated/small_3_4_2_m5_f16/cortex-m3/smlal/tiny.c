/* tiny.c -- blob and glue for target cortex-m3, kernel smlal.
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

/* tiny_infer: the smlal kernel (targets/smlal.py) for this policy only. The layers are
   the assembly tiny_layers (tiny_smlal.S), bit-exact with targets/fixed_point.py; here the
   observations go to Q16 and the actions back to float, as in chromatic_fixed.c. */
static const int32_t tiny_mean[3u] = {-18064, 84800, 65984};
static const int32_t tiny_inv_std[3u] = {8637441, 10572227, 12792159};
static int32_t tiny_buf[7u]; /* ping-pong activations, Q16 */
static uint8_t tiny_ready;

void tiny_layers(int32_t *buf);

int tiny_init(void)
{
    /* the values and offsets are constants of the assembly: the blob (whose indices it
       reads) must be the one they were generated for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xb94d0048u);
    tiny_ready = rc == CHROMATIC_OK;
    return rc;
}

int tiny_infer(const float *obs, float *act)
{
    uint32_t i;
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT;
    for (i = 0; i < 3u; i++)
        tiny_buf[i] = chromatic_fx_input(obs[i], tiny_mean[i], tiny_inv_std[i], 655360000);
    tiny_layers(tiny_buf);
    for (i = 0; i < 2u; i++) act[i] = chromatic_fx_output(tiny_buf[0u + i]);
    return CHROMATIC_OK;
}
