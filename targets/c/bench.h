/*
 * bench.h -- host-only timing loops, so latency is measured inside C rather than across
 * the Python call (runtime/latency.py). Not part of the portable kernel.
 */
#ifndef CHROMATIC_BENCH_H
#define CHROMATIC_BENCH_H

#include <stdint.h>

#include "chromatic.h"
#include "chromatic_expand.h"
#include "dense.h"

/* Nanoseconds (CLOCK_MONOTONIC) for reps calls of chromatic_infer. */
int64_t chromatic_bench_infer(const chromatic_model *m, const float *obs, float *act, float *scratch,
                              uint32_t reps);

/* Nanoseconds for reps calls of chromatic_expanded_infer (the host's default path). */
int64_t chromatic_bench_expanded(const chromatic_expanded *e, const float *obs, float *act, float *scratch,
                                 uint32_t reps);

/* Nanoseconds for reps calls of chromatic_dense_infer. */
int64_t chromatic_bench_dense(const chromatic_dense *d, const float *obs, float *act, float *scratch,
                              uint32_t reps);

/* Does nothing: timing it from Python gives the bare cost of a call into C. */
int chromatic_bench_noop(const float *obs, float *act);

#endif /* CHROMATIC_BENCH_H */
