/* tiny_dense_dense.c -- dense float32 baseline of the same policy.
 * generated from policy b628a4411f3ab22b by chromatic <version> — do not edit. */

#include "dense.h"

static const uint32_t sizes[3] = {3, 4, 2};
static const float weights[20] = {
    -0x1.7910820000000p-2f, -0x1.7910820000000p-2f, -0x1.4da3bc0000000p-4f, -0x1.edb0b00000000p-3f, 0x1.d1ab860000000p-7f, 0x1.d1ab860000000p-7f,
    -0x1.edb0b00000000p-3f, -0x1.edb0b00000000p-3f, 0x1.17eac40000000p-2f, 0x1.17eac40000000p-2f, -0x1.edb0b00000000p-3f, -0x1.7910820000000p-2f,
    0x1.17eac40000000p-2f, -0x1.edb0b00000000p-3f, 0x1.17eac40000000p-2f, -0x1.7910820000000p-2f, -0x1.4da3bc0000000p-4f, -0x1.7910820000000p-2f,
    0x1.d1ab860000000p-7f, 0x1.d1ab860000000p-7f
};
static const float biases[6] = {
    0x1.ea93280000000p-5f, 0x1.0452a40000000p-8f, -0x1.df29400000000p-6f, -0x1.40450c0000000p-4f, -0x1.a5623e0000000p-6f, 0x1.aae2800000000p-11f
};
static const float mean[3] = {
    -0x1.1a37a60000000p-2f, 0x1.4b47c40000000p+0f, 0x1.01b8b00000000p+0f
};
static const float stdev[3] = {
    0x1.f146c00000000p+0f, 0x1.9651c00000000p+0f, 0x1.4fd4c40000000p+0f
};
static const uint8_t acts[2] = {1, 1};
static const chromatic_dense dense = {2u, 4u, sizes, weights,
                                      biases, mean, stdev, acts};
static float scratch[8];

int tiny_dense_init(void) { return 0; }

int tiny_dense_infer(const float *obs, float *act)
{
    chromatic_dense_infer(&dense, obs, act, scratch);
    return 0;
}
