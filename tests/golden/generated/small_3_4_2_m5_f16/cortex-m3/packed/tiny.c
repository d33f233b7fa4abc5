/* tiny.c -- blob and glue for target cortex-m3, kernel packed.
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

/* tiny_infer: the packed fixed-point kernel (targets/packed.py) for this policy only:
   the values in the formats of chromatic_fixed.h (palette in Q24, biases and means in Q16,
   1/std in Q24: computed by the generator, bit-exact with targets/fixed_point.py), the
   indices read from the blob's dictionary at run time. */
static const int32_t tiny_w[5u] = {238464, 4587520, -6176768, -1367040, -4044800};
static const int32_t tiny_bias[6u] = {3924, 260, -1917, -5124, -1686, 53};
static const int32_t tiny_mean[3u] = {-18064, 84800, 65984};
static const int32_t tiny_inv_std[3u] = {8637441, 10572227, 12792159};
static int32_t tiny_buf[7u]; /* ping-pong activations, Q16 */
static uint8_t tiny_ready;

int tiny_init(void)
{
    /* the values are constants here: the blob (whose indices infer reads) must be the one
       they were generated for (chromatic_load.h) */
    int rc = chromatic_check_generated(tiny_blob, sizeof tiny_blob, 0xb94d0048u);
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
#if 0
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
    int32_t *const a = tiny_buf, *const b = tiny_buf + 3u;
    uint32_t i;
    (void)b;
    if (!tiny_ready) return CHROMATIC_ERR_ARGUMENT;
    for (i = 0; i < 3u; i++)
        a[i] = chromatic_fx_input(obs[i], tiny_mean[i], tiny_inv_std[i], 655360000);
    for (i = 0; i < 4u; i++) {
        const int32_t v = chromatic_fx_tanh(chromatic_fx_sat32(((tiny_row_direct(0u + i * 9u, a, 3u) + 8388608) >> 24) + tiny_bias[0u + i]));
        b[i] = v;
    }
    for (i = 0; i < 2u; i++) {
        const int32_t v = chromatic_fx_tanh(chromatic_fx_sat32(((tiny_row_direct(36u + i * 12u, b, 4u) + 8388608) >> 24) + tiny_bias[4u + i]));
        act[i] = chromatic_fx_output(v);
    }
    return CHROMATIC_OK;
}
