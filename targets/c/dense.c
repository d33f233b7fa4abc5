/*
 * dense.c -- the dense float32 baseline (see dense.h), built with the kernel's flags and
 * the kernel's tanh, so the comparison isolates the matrix-vector product.
 */
#include "dense.h"

#include "chromatic.h"
#include "chromatic_tanh.h"

void chromatic_dense_infer(const chromatic_dense *d, const float *obs, float *act, float *scratch)
{
    float *a = scratch, *b = scratch + d->max_width;
    const float *x = a, *w = d->weights, *bias = d->biases;
    uint32_t i, j, l;
    for (j = 0; j < d->sizes[0]; j++) a[j] = (obs[j] - d->mean[j]) / d->std[j];
    for (l = 0; l < d->num_layers; l++) {
        const uint32_t n = d->sizes[l], out = d->sizes[l + 1];
        float *y = l + 1u == d->num_layers ? act : (x == a ? b : a);
        for (i = 0; i < out; i++) {
            const float *row = w + (size_t)i * n;
            float s;
            CHROMATIC_DOT(n, row[j], row[j + 1u], row[j + 2u], row[j + 3u], row[j]);
            y[i] = s + bias[i];
        }
        if (d->activations[l] == CHROMATIC_ACT_TANH)
            for (i = 0; i < out; i++) y[i] = chromatic_tanh(y[i]);
        else if (d->activations[l] == CHROMATIC_ACT_RELU)
            for (i = 0; i < out; i++) y[i] = chromatic_relu(y[i]);
        w += (size_t)out * n;
        bias += out;
        x = y;
    }
}
