/*
 * chromatic_load.h -- the loads the generated kernels share (inline C, the gather glue):
 * unaligned little-endian words and blob values, binary16 included, and the init check of a
 * kernel generated for one blob. Private to the kernels;
 * not part of the API. Little-endian targets (Cortex-M, x86-64), as the blob is.
 */
#ifndef CHROMATIC_LOAD_H
#define CHROMATIC_LOAD_H

#include <stdint.h>
#include <string.h>

#include "chromatic.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One unaligned 32-bit read (one LDR on v7-M). */
static inline uint32_t chromatic_load_u32(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* A float32 value of the blob. */
static inline float chromatic_load_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

/* A binary16 value of the blob as float32, exact. With the IEEE half format enabled
   (__ARM_FP16_FORMAT_IEEE: -mfp16-format=ieee, in the cortex-m4f flags) one VCVTB on FPv4;
   otherwise bit manipulation (subnormals, inf and NaN included). */
static inline float chromatic_load_f16(const uint8_t *p)
{
#if defined(__ARM_FP16_FORMAT_IEEE)
    __fp16 h;
    memcpy(&h, p, sizeof h);
    return (float)h;
#else
    uint32_t h = (uint32_t)p[0] | ((uint32_t)p[1] << 8);
    uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
    float f;
    if (e == 0u) {
        f = (float)m * 5.9604644775390625e-8f; /* m * 2^-24 */
        return s ? -f : f;
    }
    u = s | (e == 31u ? 0x7f800000u : (e + 112u) << 23) | (m << 13);
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* The init check of a kernel generated for one blob (inline, gather, unrolled). The generator
   ran the acceptance rule (docs/safety.md) on that blob and baked its sizes and offsets into
   the code, so what is left to check on the device is that the bytes are still that blob's:
   the CRC32 of all but its CRC field must equal the generator's `crc` (corrupt flash, and any
   other blob, even a valid one, is CHROMATIC_ERR_CRC). A blob given at run time goes through
   chromatic_init instead (the loadable kernel). */
static inline int chromatic_check_generated(const uint8_t *blob, size_t len, uint32_t crc)
{
    return chromatic_crc32(blob, len - 4u) == crc ? CHROMATIC_OK : CHROMATIC_ERR_CRC;
}

#ifdef __cplusplus
}
#endif

#endif /* CHROMATIC_LOAD_H */
