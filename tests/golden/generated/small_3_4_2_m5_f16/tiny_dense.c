/* tiny_dense_dense.c -- dense float32 baseline of the same policy.
 * generated from policy e96c0102095745cf by chromatic <version> — do not edit. */

#include "dense.h"

static const uint32_t sizes[3] = {3, 4, 2};
static const float weights[20] = {
    -0x1.7900000000000p-2f, -0x1.7900000000000p-2f, -0x1.4dc0000000000p-4f, -0x1.edc0000000000p-3f, 0x1.d1c0000000000p-7f, 0x1.d1c0000000000p-7f,
    -0x1.edc0000000000p-3f, -0x1.edc0000000000p-3f, 0x1.1800000000000p-2f, 0x1.1800000000000p-2f, -0x1.edc0000000000p-3f, -0x1.7900000000000p-2f,
    0x1.1800000000000p-2f, -0x1.edc0000000000p-3f, 0x1.1800000000000p-2f, -0x1.7900000000000p-2f, -0x1.4dc0000000000p-4f, -0x1.7900000000000p-2f,
    0x1.d1c0000000000p-7f, 0x1.d1c0000000000p-7f
};
static const float biases[6] = {
    0x1.ea80000000000p-5f, 0x1.0440000000000p-8f, -0x1.df40000000000p-6f, -0x1.4040000000000p-4f, -0x1.a580000000000p-6f, 0x1.ab00000000000p-11f
};
static const float mean[3] = {
    -0x1.1a40000000000p-2f, 0x1.4b40000000000p+0f, 0x1.01c0000000000p+0f
};
static const float stdev[3] = {
    0x1.f140000000000p+0f, 0x1.9640000000000p+0f, 0x1.4fc0000000000p+0f
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
