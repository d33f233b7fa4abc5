/* tiny.c -- blob and glue for target cortex-m3, kernel smlal.
 * generated from policy b628a4411f3ab22b by chromatic <version> — do not edit. */

#include "tiny.h"
#include "chromatic.h"

#include "chromatic_fixed.h"

const uint8_t tiny_blob[108u] __attribute__((aligned(4))) = {
    0x43, 0x48, 0x52, 0x4d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03,
    0x05, 0x00, 0x00, 0x00, 0x6c, 0x00, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00,
    0x02, 0x00, 0x00, 0x00, 0xd2, 0x08, 0x90, 0x09, 0x15, 0x46, 0x13, 0x00,
    0xc3, 0xd5, 0x68, 0x3c, 0x62, 0xf5, 0x8b, 0x3e, 0x41, 0x88, 0xbc, 0xbe,
    0xde, 0xd1, 0xa6, 0xbd, 0x58, 0xd8, 0x76, 0xbe, 0x94, 0x49, 0x75, 0x3d,
    0x52, 0x29, 0x82, 0x3b, 0xa0, 0x94, 0xef, 0xbc, 0x86, 0x22, 0xa0, 0xbd,
    0x1f, 0xb1, 0xd2, 0xbc, 0x40, 0x71, 0x55, 0x3a, 0xd3, 0x1b, 0x8d, 0xbe,
    0xe2, 0xa3, 0xa5, 0x3f, 0x58, 0xdc, 0x80, 0x3f, 0x60, 0xa3, 0xf8, 0x3f,
    0xe0, 0x28, 0xcb, 0x3f, 0x62, 0xea, 0xa7, 0x3f, 0x25, 0x8f, 0xb1, 0x7d
};

#include "chromatic_fixed.h"
#include "chromatic_load.h"

/* tiny_infer: the smlal kernel (targets/smlal.py) for this policy only. The layers are
   the assembly tiny_layers (tiny_smlal.S), bit-exact with targets/fixed_point.py; here the
   observations go to Q16 and the actions back to float, as in chromatic_fixed.c. */
static const int32_t tiny_mean[3u] = {-18062, 84808, 65977};
static const int32_t tiny_inv_std[3u] = {8636983, 10570423, 12789069};
static int32_t tiny_buf[7u]; /* ping-pong activations, Q16 */
static uint8_t tiny_ready;

void tiny_layers(int32_t *buf);

int tiny_init(void)
{
    /* the values and offsets are constants of the assembly: the blob (whose indices it
       reads) must be the one they were generated for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0x7db18f25u);
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
