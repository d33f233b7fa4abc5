/*
 * bench.c -- host-only timing loops (see bench.h).
 */
#define _POSIX_C_SOURCE 199309L

#include "bench.h"

#include <time.h>

static int64_t chromatic_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_nsec;
}

int64_t chromatic_bench_infer(const chromatic_model *m, const float *obs, float *act, float *scratch,
                              uint32_t reps)
{
    int64_t t0 = chromatic_now_ns();
    uint32_t r;
    for (r = 0; r < reps; r++) (void)chromatic_infer(m, obs, act, scratch);
    return chromatic_now_ns() - t0;
}

int64_t chromatic_bench_expanded(const chromatic_expanded *e, const float *obs, float *act, float *scratch,
                                 uint32_t reps)
{
    int64_t t0 = chromatic_now_ns();
    uint32_t r;
    for (r = 0; r < reps; r++) (void)chromatic_expanded_infer(e, obs, act, scratch);
    return chromatic_now_ns() - t0;
}

int64_t chromatic_bench_dense(const chromatic_dense *d, const float *obs, float *act, float *scratch,
                              uint32_t reps)
{
    int64_t t0 = chromatic_now_ns();
    uint32_t r;
    for (r = 0; r < reps; r++) chromatic_dense_infer(d, obs, act, scratch);
    return chromatic_now_ns() - t0;
}

int chromatic_bench_noop(const float *obs, float *act)
{
    (void)obs;
    (void)act;
    return 0;
}
