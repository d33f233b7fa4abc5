/* tiny.c -- blob and glue for target cortex-m3, kernel smlal.
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

/* tiny_infer: the smlal kernel (targets/smlal.py) for this policy only. The layers are
   the assembly tiny_layers (tiny_smlal.S), bit-exact with targets/fixed_point.py; here the
   observations go to Q16 and the actions back to float, as in chromatic_fixed.c. */
static const int32_t tiny_mean[9u] = {133888, 42368, 43456, -33696, -108032, 10976, 7144, -80448, -44768};
static const int32_t tiny_inv_std[9u] = {18847910, 9533779, 13266308, 13245851, 10293511, 23247454, 9700660, 10998636, 9982492};
static int32_t tiny_buf[13u]; /* ping-pong activations, Q16 */
static uint8_t tiny_ready;

void tiny_layers(int32_t *buf);

int tiny_init(void)
{
    /* the values and offsets are constants of the assembly: the blob (whose indices it
       reads) must be the one they were generated for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xc63dd9ddu);
    tiny_ready = rc == CHROMATIC_OK;
    return rc;
}

int tiny_infer(const float *obs, float *act)
{
    uint32_t i;
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT;
    for (i = 0; i < 9u; i++)
        tiny_buf[i] = chromatic_fx_input(obs[i], tiny_mean[i], tiny_inv_std[i], 238609294);
    tiny_layers(tiny_buf);
    for (i = 0; i < 2u; i++) act[i] = chromatic_fx_output(tiny_buf[0u + i]);
    return CHROMATIC_OK;
}
