/* tiny.h -- the compiled policy's API.
 * generated from policy ca981f20ee1e660e by chromatic <version> — do not edit. */
#ifndef TINY_H
#define TINY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TINY_OBS_DIM 9u
#define TINY_ACT_DIM 2u
#define TINY_BLOB_BYTES 112u

/* The blob, a const array the linker keeps in flash. */
extern const uint8_t tiny_blob[TINY_BLOB_BYTES];

/* Check the blob and prepare the model; call once. The loadable kernel validates it in full
   (magic, version, sizes, CRC32); a kernel generated for this blob checks that it is still
   this blob (its CRC32). Returns 0 (CHROMATIC_OK) or an error code (chromatic.h,
   chromatic_fixed.h). */
int tiny_init(void);

/* act[TINY_ACT_DIM] = policy(obs[TINY_OBS_DIM]). Returns 0, or an error code when
   tiny_init has not succeeded. No allocation, no global state but the model. */
int tiny_infer(const float *obs, float *act);

#ifdef __cplusplus
}
#endif

#endif
