/*
 * chromatic_expand.h -- the host's fast path: decode a validated model once, at load time,
 * into a caller-provided float32 workspace (the expanded weight matrices W_l[i][j] =
 * palette[Phi_l(i, j)], the biases and the normalization), then run a dense matrix-vector
 * kernel over it.
 *
 * The blob stays the compact, validated format; the workspace is derived from it by
 * chromatic_expand after chromatic_init accepted it, so every index it reads was checked
 * (< M, inside the dictionary) and every value is finite. On a host the workspace is small
 * beside its memory (a 17->41->6 policy: 3.9 KB; the format's 2^24-edge limit: 64 MiB),
 * and the expanded kernel runs as fast as a hand-written dense float32 MLP, where decoding
 * bit-packed indices per inference costs ~1.9x (docs/c-api.md, benchmarks/kernel_latency.py).
 * Not used on microcontrollers, where RAM is the scarce resource: there chromatic_infer runs
 * the blob in place, and this file is not part of a firmware build.
 *
 * C99, no malloc, no mutable global state, every symbol prefixed chromatic_.
 */
#ifndef CHROMATIC_EXPAND_H
#define CHROMATIC_EXPAND_H

#include <stddef.h>
#include <stdint.h>

#include "chromatic.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A model expanded into a workspace: pointers into it, read-only after chromatic_expand, so
   several threads may run one expansion (each with its own scratch). The model and the
   workspace must outlive it; the model's blob too. */
typedef struct {
    const chromatic_model *model; /* layer sizes and activations */
    const float *weights;         /* per layer, row-major out x in, concatenated */
    const float *biases;          /* per layer, out values, concatenated */
    const float *mean, *std;      /* layer_sizes[0] values each */
} chromatic_expanded;

/* Floats of workspace chromatic_expand needs for m: edges + biases + 2 * d_0
   (0 for a NULL or uninitialized model). */
size_t chromatic_expand_floats(const chromatic_model *m);

/* Decode m (initialized by chromatic_init) into workspace[0..floats) and point e at it.
   CHROMATIC_ERR_SCRATCH if floats < chromatic_expand_floats(m); e is all zeros on error. */
int chromatic_expand(chromatic_expanded *e, const chromatic_model *m, float *workspace, size_t floats);

/* act[0..d_L) = policy(obs[0..d_0)), the same outputs as chromatic_infer up to float rounding.
   scratch: chromatic_scratch_floats(model) floats (2 * max_width suffice); it may not overlap
   obs or act. */
int chromatic_expanded_infer(const chromatic_expanded *e, const float *obs, float *act, float *scratch);

/* n observations (row-major, n x d_0) to n actions (n x d_L). */
int chromatic_expanded_infer_batch(const chromatic_expanded *e, const float *obs, float *act, size_t n,
                                   float *scratch);

#ifdef __cplusplus
}
#endif

#endif /* CHROMATIC_EXPAND_H */
