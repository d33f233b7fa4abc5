/*
 * chromatic_fixed.h -- the fixed-point kernel for Cortex-M parts without an FPU.
 *
 * Same blob, same maths as chromatic.h (paper section 3: y = tanh(W x + b), or ReLU, with
 * W[i, j] = palette[Phi(i, j)]), in integers only, so no soft-float call runs per
 * inference. Formats (docs/targets.md has the error analysis):
 *   activations, biases, mean   Q16.16 in int32 (resolution 1.5e-5)
 *   palette, 1/std              Q24 in int32 (|w| < 128, resolution 6e-8)
 *   row sums                    exact int64, rounded once to Q16 and saturated to int32
 * Per layer and row, a cost model picks the direct gather (one multiply-accumulate per
 * edge: best where a 32x32->64 multiply is one instruction, SMLAL on v7-M) or the mailman
 * form (integer per-color accumulation, then one multiply per row and color: best where a
 * 64-bit multiply is a library call, v6-M). Both give bit-identical results: the sum is
 * exact integer arithmetic in any order.
 *
 * chromatic_fx_init validates with chromatic_init (magic, sizes, CRC32) and converts the
 * blob's values into the caller's params array once; nothing is converted per inference.
 * Observations come in and actions go out as IEEE floats, converted by integer bit
 * manipulation (no soft-float library). C99, no malloc, prefixed chromatic_fx_.
 */
#ifndef CHROMATIC_FIXED_H
#define CHROMATIC_FIXED_H

#include <stddef.h>
#include <stdint.h>

#include "chromatic.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHROMATIC_FX_ACT_FRAC 16 /* Q16.16 activations */
#define CHROMATIC_FX_W_FRAC 24   /* Q24 palette and 1/std */
/* CHROMATIC_OBS_LIMIT (1e4) in Q16: the clamp of the bad-observation rule. */
#define CHROMATIC_FX_OBS_LIMIT_Q16 ((int32_t)10000 << CHROMATIC_FX_ACT_FRAC)

/* Index width the kernel is specialised for (unrolled constant-shift decoding);
   0 reads any width at run time (slower). The build passes the blob's width. */
#ifndef CHROMATIC_FX_BITS
#define CHROMATIC_FX_BITS 0
#endif

/* int32 words of params a model needs: palette, biases, mean, 1/std. */
#define CHROMATIC_FX_PARAM_WORDS(num_colors, num_biases, d0) \
    ((num_colors) + (num_biases) + 2u * (d0))
/* int32 words of scratch for inference: two activation buffers and M accumulators. */
#define CHROMATIC_FX_SCRATCH_WORDS(max_width, num_colors) (2u * (max_width) + (num_colors))

enum {
    CHROMATIC_FX_ERR_UNSUPPORTED = 32, /* implicit structure (toeplitz/circulant/dense) */
    CHROMATIC_FX_ERR_RANGE = 33,       /* a value outside its fixed-point format */
    CHROMATIC_FX_ERR_PARAMS = 34,      /* params array too small */
    CHROMATIC_FX_ERR_BITS = 35         /* blob index width != CHROMATIC_FX_BITS */
};

typedef struct {
    const chromatic_model *m; /* validated by chromatic_init; must outlive this */
    const int32_t *palette;   /* M values, Q24 */
    const int32_t *bias;      /* sum of layer widths, Q16 */
    const int32_t *mean;      /* d0 values, Q16 */
    const int32_t *inv_std;   /* d0 values, Q24 */
    int32_t input_clamp;      /* |x0| limit (Q16) so no per-color sum can overflow */
    uint8_t mailman[CHROMATIC_MAX_LAYERS]; /* per layer: 1 = per-color accumulation */
} chromatic_fx_model;

/* Convert the values of a model validated by chromatic_init into params (Q formats) and
   pick the per-layer method. Returns CHROMATIC_OK or an error code. */
int chromatic_fx_init(chromatic_fx_model *fx, const chromatic_model *m, int32_t *params,
                      size_t param_words);

/* act[0..dL) = policy(obs[0..d0)); scratch: CHROMATIC_FX_SCRATCH_WORDS int32 words. */
int chromatic_fx_infer(const chromatic_fx_model *fx, const float *obs, float *act,
                       int32_t *scratch);

/* tanh in Q16: x Q16.16 -> tanh(x) Q16, integer only (exported for tests). */
int32_t chromatic_fx_tanh(int32_t x);

/* The pieces of chromatic_fx_infer the unrolled kernel (targets/unrolled.py) calls:
   one observation normalized to Q16 exactly as chromatic_fx_infer does, and Q16 -> float. */
int32_t chromatic_fx_input(float obs, int32_t mean_q16, int32_t inv_std_q24, int32_t clamp);
float chromatic_fx_output(int32_t v);

/* ReLU in Q16: max(0, x), capped at limit = INT32_MAX / width of the layer (the next layer's
   inputs), so that none of the next layer's per-color sums can overflow int32 -- the rule the
   input clamp applies to the first layer (docs/targets.md). */
static inline int32_t chromatic_fx_relu(int32_t x, int32_t limit)
{
    return x < 0 ? 0 : x > limit ? limit : x;
}

/* Saturate to [-INT32_MAX, INT32_MAX] (the kernel's symmetric range). */
static inline int32_t chromatic_fx_sat32(int64_t v)
{
    if (v > INT32_MAX) return INT32_MAX;
    if (v < -INT32_MAX) return -INT32_MAX;
    return (int32_t)v;
}

#ifdef __cplusplus
}
#endif

#endif /* CHROMATIC_FIXED_H */
