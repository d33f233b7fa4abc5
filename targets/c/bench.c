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

/* The body of each timing loop: the nanoseconds for reps executions of the statement call. */
#define CHROMATIC_BENCH_LOOP(call)                   \
    do {                                             \
        int64_t t0 = chromatic_now_ns();             \
        uint32_t r;                                  \
        for (r = 0; r < reps; r++) call;             \
        return chromatic_now_ns() - t0;              \
    } while (0)

int64_t chromatic_bench_infer(const chromatic_model *m, const float *obs, float *act, float *scratch,
                              uint32_t reps)
{
    CHROMATIC_BENCH_LOOP((void)chromatic_infer(m, obs, act, scratch));
}

int64_t chromatic_bench_expanded(const chromatic_expanded *e, const float *obs, float *act, float *scratch,
                                 uint32_t reps)
{
    CHROMATIC_BENCH_LOOP((void)chromatic_expanded_infer(e, obs, act, scratch));
}

int64_t chromatic_bench_dense(const chromatic_dense *d, const float *obs, float *act, float *scratch,
                              uint32_t reps)
{
    CHROMATIC_BENCH_LOOP(chromatic_dense_infer(d, obs, act, scratch));
}

int chromatic_bench_noop(const float *obs, float *act)
{
    (void)obs;
    (void)act;
    return 0;
}
