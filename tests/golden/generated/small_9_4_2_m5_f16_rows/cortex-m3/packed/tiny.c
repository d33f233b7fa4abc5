/* tiny.c -- blob and glue for target cortex-m3, kernel packed.
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

/* tiny_infer: the packed fixed-point kernel (targets/packed.py) for this policy only:
   the values in the formats of chromatic_fixed.h (palette in Q24, biases and means in Q16,
   1/std in Q24: computed by the generator, bit-exact with targets/fixed_point.py), the
   indices read from the blob's dictionary at run time. */
static const int32_t tiny_w[5u] = {10854400, 8445952, -22740992, -15843328, -1466368};
static const int32_t tiny_bias[6u] = {-2766, 1400, 1424, 13880, -7288, -2474};
static const int32_t tiny_mean[9u] = {133888, 42368, 43456, -33696, -108032, 10976, 7144, -80448, -44768};
static const int32_t tiny_inv_std[9u] = {18847910, 9533779, 13266308, 13245851, 10293511, 23247454, 9700660, 10998636, 9982492};
static int32_t tiny_buf[13u]; /* ping-pong activations, Q16 */
static uint8_t tiny_ready;

int tiny_init(void)
{
    /* the values are constants here: the blob (whose indices infer reads) must be the one
       they were generated for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xc63dd9ddu);
    tiny_ready = rc == CHROMATIC_OK;
    return rc;
}

/* sum_j w[Phi(i, j)] x_j over the n inputs of one row whose indices start at bit pos of the
   dictionary: exact int64. 8-index windows (one unaligned 32-bit read each), then the
   leftover indices one by one. Direct: one 32x32->64 multiply-accumulate per edge (SMLAL on
   v7-M). Mailman (v6-M, where that multiply is a library call, for the layers where
   chromatic_fixed.c's cost model picks it): per-color integer sums, then one multiply per
   color. Both are exact, so both equal the numpy model. */
#if defined(__GNUC__) && !defined(__clang__)
#define CHROMATIC_PACKED_UNROLL _Pragma("GCC unroll 8")
#else
#define CHROMATIC_PACKED_UNROLL
#endif
#if defined(__ARM_ARCH_6M__)
/* v6-M has no 32 x 32 -> 64 multiply: tiny_packed.S computes a * b exactly from four
   16 x 16 -> 32-bit MULS (libgcc's 64 x 64 __aeabi_lmul takes more than twice as long) */
int64_t tiny_mul64(int32_t a, int32_t b);
#define CHROMATIC_PACKED_MUL(w, v) tiny_mul64((w), (v))
#else
#define CHROMATIC_PACKED_MUL(w, v) ((int64_t)(w) * (v))
#endif
#define CHROMATIC_PACKED_ROW(name, edge, start, finish)                                   \
    static int64_t name(uint32_t pos, const int32_t *x, uint32_t n)                        \
    {                                                                                      \
        const uint8_t *d = tiny_blob + 28u;                         \
        int64_t s = 0;                                                                     \
        uint32_t j = 0, k;                                                                 \
        start                                                                              \
        for (; j + 8u <= n; j += 8u) {                                       \
            uint32_t win = chromatic_load_u32(d + (pos >> 3)) >> (pos & 7u);               \
            pos += 24u;                                                         \
            CHROMATIC_PACKED_UNROLL                                                        \
            for (k = 0; k < 8u; k++) {                                              \
                edge(win & 7u, x[j + k]);                                            \
                win >>= 3;                                                           \
            }                                                                              \
        }                                                                                  \
        /* the n % 8 left: a count gcc bounds (with j < n, inlined, it warned of UB) */ \
        for (k = 0; k < n % 8u; k++, pos += 3u)                               \
            edge((chromatic_load_u32(d + (pos >> 3)) >> (pos & 7u)) & 7u, x[j + k]); \
        finish                                                                             \
        return s;                                                                          \
    }
#define CHROMATIC_PACKED_DIRECT(c, v) s += CHROMATIC_PACKED_MUL(tiny_w[c], (v))
#define CHROMATIC_PACKED_MAILMAN(c, v) acc[c] += (v)
#if !defined(__ARM_ARCH_6M__) || 1
CHROMATIC_PACKED_ROW(tiny_row_direct, CHROMATIC_PACKED_DIRECT, , )
#endif
#if defined(__ARM_ARCH_6M__)
#if 1
CHROMATIC_PACKED_ROW(tiny_row_mailman, CHROMATIC_PACKED_MAILMAN,
                     int32_t acc[5u]; for (k = 0; k < 5u; k++) acc[k] = 0;,
                     for (k = 0; k < 5u; k++) s += CHROMATIC_PACKED_MUL(tiny_w[k], acc[k]);)
#endif
#define tiny_row_v6m_mailman tiny_row_mailman
#else
#define tiny_row_v6m_mailman tiny_row_direct
#endif

int tiny_infer(const float *obs, float *act)
{
    int32_t *const a = tiny_buf, *const b = tiny_buf + 9u;
    uint32_t i;
    (void)b;
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT;
    for (i = 0; i < 9u; i++)
        a[i] = chromatic_fx_input(obs[i], tiny_mean[i], tiny_inv_std[i], 238609294);
    for (i = 0; i < 4u; i++) {
        const int32_t v = chromatic_fx_tanh(chromatic_fx_sat32(((tiny_row_v6m_mailman(0u + i * 32u, a, 9u) + 8388608) >> 24) + tiny_bias[0u + i]));
        b[i] = v;
    }
    for (i = 0; i < 2u; i++) {
        const int32_t v = chromatic_fx_tanh(chromatic_fx_sat32(((tiny_row_direct(128u + i * 16u, b, 4u) + 8388608) >> 24) + tiny_bias[4u + i]));
        act[i] = chromatic_fx_output(v);
    }
    return CHROMATIC_OK;
}
