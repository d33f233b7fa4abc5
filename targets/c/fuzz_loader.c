/*
 * fuzz_loader.c -- chromatic_init and chromatic_infer on untrusted blobs, for sanitizers.
 *
 * Built with -fsanitize=address,undefined by runtime/fuzz.py (tests/test_fuzz.py, benchmarks/fuzz_campaign.py).
 * Without CHROMATIC_LIBFUZZER it reads frames from stdin -- a u32 little-endian length, then
 * that many bytes -- and prints one line per frame: the chromatic_init status. With
 * CHROMATIC_LIBFUZZER it is a libFuzzer target (clang -fsanitize=fuzzer,address,undefined).
 *
 * Each blob is copied into a heap buffer of exactly its length, so any read past it is a
 * heap-buffer-overflow report. An accepted blob is run with every block size k = 0..3 the
 * scratch allows, on finite, NaN, infinite and huge observations; the actions must then be
 * finite whenever the observation policy applies (docs/safety.md) -- checked by the caller.
 * It is then expanded (chromatic_expand, the host's default path) into a heap workspace of
 * exactly chromatic_expand_floats floats and run on the same observations.
 *
 * chromatic_expand.c is compiled in here (#include below), so the harness still builds from
 * the two files runtime/fuzz.py and benchmarks/fuzz_campaign.py name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chromatic.h"
#include "chromatic_expand.c"

static int chromatic_fuzz_one(const uint8_t *data, size_t len)
{
    static const float specials[] = {0.0f, 1.0f, -3.5f, 1e30f, -1e30f};
    chromatic_model m;
    uint8_t *buf = (uint8_t *)malloc(len ? len : 1u);
    int rc;
    if (buf == NULL) abort();
    if (len) memcpy(buf, data, len);
    rc = chromatic_init(&m, buf, len);
    if (rc == CHROMATIC_OK) {
        size_t s = chromatic_scratch_floats(&m), d0 = m.layers[0].in, dl = m.layers[m.num_layers - 1u].out;
        size_t most = s, i;
        size_t wn = chromatic_expand_floats(&m);
        float *obs, *act, *scratch, *workspace;
        chromatic_expanded e;
        unsigned k, l, v;
        for (k = 1; k <= 3; k++) { /* scratch for the largest block size tried below */
            for (l = 0; l < m.num_layers; l++) chromatic_set_block_rows(&m, l, k);
            if (chromatic_scratch_floats(&m) > most) most = chromatic_scratch_floats(&m);
        }
        if (most > ((size_t)1 << 26)) most = s; /* keep the harness itself bounded */
        scratch = (float *)malloc(most * sizeof(float));
        obs = (float *)malloc(d0 * sizeof(float));
        act = (float *)malloc(dl * sizeof(float));
        workspace = (float *)malloc(wn * sizeof(float));
        if (scratch == NULL || obs == NULL || act == NULL || workspace == NULL) abort();
        if (chromatic_expand(&e, &m, workspace, wn - 1u) != CHROMATIC_ERR_SCRATCH) abort();
        if (chromatic_expand(&e, &m, workspace, wn) != CHROMATIC_OK) abort();
        for (v = 0; v < 7u; v++) {
            for (i = 0; i < d0; i++) {
                uint32_t nan_bits = 0x7fc00000u, inf_bits = 0x7f800000u;
                float x = specials[(i + v) % 5u];
                if (v == 5u && i % 2u == 0u) memcpy(&x, &nan_bits, sizeof x);
                if (v == 6u && i % 2u == 1u) memcpy(&x, &inf_bits, sizeof x);
                obs[i] = x;
            }
            for (k = 0; k <= 3; k++) {
                for (l = 0; l < m.num_layers; l++) chromatic_set_block_rows(&m, l, k);
                if (chromatic_scratch_floats(&m) > most) continue;
                if (chromatic_infer(&m, obs, act, scratch) != CHROMATIC_OK) abort();
            }
            if (chromatic_expanded_infer(&e, obs, act, scratch) != CHROMATIC_OK) abort();
        }
        free(workspace);
        free(scratch);
        free(obs);
        free(act);
    } else if (chromatic_strerror(rc)[0] == '\0') {
        abort();
    }
    free(buf);
    return rc;
}

#ifdef CHROMATIC_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)chromatic_fuzz_one(data, size);
    return 0;
}
#else
int main(void)
{
    uint8_t head[4];
    static uint8_t frame[1u << 22];
    while (fread(head, 1, 4, stdin) == 4) {
        size_t n = (size_t)head[0] | ((size_t)head[1] << 8) | ((size_t)head[2] << 16) | ((size_t)head[3] << 24);
        if (n > sizeof frame || fread(frame, 1, n, stdin) != n) return 2;
        printf("%d\n", chromatic_fuzz_one(frame, n));
    }
    return 0;
}
#endif
