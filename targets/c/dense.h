/*
 * dense.h -- the dense float32 baseline: the textbook MLP a user would write instead of a
 * chromatic blob (expanded weights, one dot product per row). Host benchmarks only.
 */
#ifndef CHROMATIC_DENSE_H
#define CHROMATIC_DENSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t num_layers, max_width;
    const uint32_t *sizes;      /* num_layers + 1 layer sizes */
    const float *weights;       /* row-major (out, in) matrices, concatenated */
    const float *biases;        /* out values per layer, concatenated */
    const float *mean, *std;    /* sizes[0] values each */
    const uint8_t *activations; /* CHROMATIC_ACT_* per layer */
} chromatic_dense;

/* act = policy(obs); scratch holds 2 * max_width floats. */
void chromatic_dense_infer(const chromatic_dense *d, const float *obs, float *act, float *scratch);

#endif /* CHROMATIC_DENSE_H */
