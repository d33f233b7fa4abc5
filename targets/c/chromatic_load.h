/*
 * chromatic_load.h -- the helpers every kernel shares (the loadable C and fixed-point kernels,
 * inline C, the gather and unrolled glue): reads of the blob's little-endian values at any
 * alignment, binary16 conversion (to float, or integer-only to float32 bits), and the init
 * check of a kernel generated for one blob. Private to the kernels; not part of the API.
 * chromatic_load_u32 and chromatic_load_f32 assume a little-endian target (Cortex-M, x86-64),
 * as the blob is; the _u16/_le32 reads assemble bytes and hold in any byte order.
 */
#ifndef CHROMATIC_LOAD_H
#define CHROMATIC_LOAD_H

#include <stdint.h>
#include <string.h>

#include "chromatic.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A little-endian 16-bit value, byte by byte: any alignment, any host byte order. */
static inline uint32_t chromatic_load_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

/* One unaligned 32-bit read: one LDR on v7-M; on an ARM core where unaligned access faults
   (v6-M: no __ARM_FEATURE_UNALIGNED) four byte loads inline, where a memcpy of unknown
   alignment would be a library call. */
static inline uint32_t chromatic_load_u32(const uint8_t *p)
{
#if defined(__arm__) && !defined(__ARM_FEATURE_UNALIGNED)
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
#else
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
#endif
}

/* A little-endian 32-bit value, byte by byte: any alignment, any host byte order (the
   loadable kernel, which runs on any host). */
static inline uint32_t chromatic_load_le32(const uint8_t *p)
{
    return chromatic_load_u16(p) | (chromatic_load_u16(p + 2) << 16);
}

/* The float whose bits are u. */
static inline float chromatic_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* IEEE binary16 bits -> float32, exact. With the IEEE half format enabled
   (__ARM_FP16_FORMAT_IEEE: -mfp16-format=ieee, in the cortex-m4f flags) one VCVTB on FPv4;
   otherwise bit manipulation (subnormals, inf and NaN included). */
static inline float chromatic_half_f32(uint32_t h)
{
#if defined(__ARM_FP16_FORMAT_IEEE)
    __fp16 x;
    uint16_t b = (uint16_t)h;
    memcpy(&x, &b, sizeof x);
    return (float)x;
#else
    uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0u) {
        float f = (float)m * 5.9604644775390625e-8f; /* m * 2^-24 */
        return s ? -f : f;
    }
    if (e == 31u) return chromatic_bits_f32(s | 0x7f800000u | (m << 13));
    return chromatic_bits_f32(s | ((e + 112u) << 23) | (m << 13));
#endif
}

/* IEEE binary16 bits -> binary32 bits, exact, integer only (the fixed-point kernel: no float
   arithmetic, so no soft-float call on FPU-less cores). */
static inline uint32_t chromatic_half_bits(uint32_t h)
{
    uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0u) {
        if (m == 0u) return s;
        e = 113u;
        while (!(m & 0x400u)) {
            m <<= 1;
            e--;
        }
        return s | (e << 23) | ((m & 0x3ffu) << 13);
    }
    if (e == 31u) return s | 0x7f800000u | (m << 13);
    return s | ((e + 112u) << 23) | (m << 13);
}

/* A float32 value of the blob. */
static inline float chromatic_load_f32(const uint8_t *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

/* A binary16 value of the blob as float32, exact (chromatic_half_f32: one VCVTB on FPv4). */
static inline float chromatic_load_f16(const uint8_t *p)
{
#if defined(__ARM_FP16_FORMAT_IEEE)
    __fp16 h;
    memcpy(&h, p, sizeof h);
    return (float)h;
#else
    return chromatic_half_f32(chromatic_load_u16(p));
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
