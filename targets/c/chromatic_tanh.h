/*
 * chromatic_tanh.h -- what the chromatic kernel and the dense baseline share, so both pay the
 * same for tanh and for the dot-product loop (private to targets/c; not part of the API).
 */
#ifndef CHROMATIC_TANH_H
#define CHROMATIC_TANH_H

/* tanh as an odd 13/6 rational minimax fit (the coefficients Eigen uses for float);
   within a few ulp of tanhf on all of R, with no libm and no division by zero. Plain static
   (gcc inlining it into every row of an unrolled kernel would double that kernel's flash);
   marked unused-ok for a generated kernel without a tanh layer. */
#if defined(__GNUC__)
__attribute__((unused))
#endif
static float chromatic_tanh(float x)
{
    const float clamp = 7.90531110763549805f;
    float ax = x < 0.0f ? -x : x, x2, p, q;
    if (ax < 0.0004f) return x;
    if (x > clamp) x = clamp;
    if (x < -clamp) x = -clamp;
    x2 = x * x;
    p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
    p = x2 * p + -8.60467152213735e-11f;
    p = x2 * p + 5.12229709037114e-08f;
    p = x2 * p + 1.48572235717979e-05f;
    p = x2 * p + 6.37261928875436e-04f;
    p = x2 * p + 4.89352455891786e-03f;
    p = x * p;
    q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
    q = x2 * q + 2.26843463243900e-03f;
    q = x2 * q + 4.89352518554385e-03f;
    return p / q;
}

/* max(0, x), the ReLU hidden layer (CHROMATIC_ACT_RELU); -0 and NaN become +0. static
   inline: one compare, and no unused-function warning where a kernel has no ReLU layer. */
static inline float chromatic_relu(float x)
{
    return x > 0.0f ? x : 0.0f;
}

/* s = sum_{j < n} W_j * x[j] with four partial sums (breaking the add latency chain the
   same way in both kernels), then the tail. W0..W3 are the weights of j..j+3, WT of j. */
#define CHROMATIC_DOT(n, W0, W1, W2, W3, WT)                                                   \
    do {                                                                                       \
        float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;                                      \
        for (j = 0; j + 4u <= (n); j += 4u) {                                                  \
            s0 += (W0) * x[j];                                                                 \
            s1 += (W1) * x[j + 1u];                                                            \
            s2 += (W2) * x[j + 2u];                                                            \
            s3 += (W3) * x[j + 3u];                                                            \
        }                                                                                      \
        s = (s0 + s1) + (s2 + s3);                                                             \
        for (; j < (n); j++) s += (WT) * x[j];                                                 \
    } while (0)

#endif /* CHROMATIC_TANH_H */
