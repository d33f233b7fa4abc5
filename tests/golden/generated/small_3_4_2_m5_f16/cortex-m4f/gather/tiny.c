/* tiny.c -- blob and glue for target cortex-m4f, kernel gather.
 * generated from policy e96c0102095745cf by chromatic <version> — do not edit. */

#include "tiny.h"
#include "chromatic.h"

const uint8_t tiny_blob[76u] __attribute__((aligned(4))) = {
    0x43, 0x48, 0x52, 0x4d, 0x01, 0x00, 0x00, 0x01, 0x01, 0x01, 0x02, 0x03,
    0x05, 0x00, 0x00, 0x00, 0x4c, 0x00, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00,
    0x02, 0x00, 0x00, 0x00, 0xd2, 0x08, 0x90, 0x09, 0x15, 0x46, 0x13, 0x00,
    0x47, 0x23, 0x60, 0x34, 0xe4, 0xb5, 0x37, 0xad, 0xb7, 0xb3, 0xaa, 0x2b,
    0x11, 0x1c, 0x7d, 0xa7, 0x01, 0xad, 0x96, 0xa6, 0xac, 0x12, 0x69, 0xb4,
    0x2d, 0x3d, 0x07, 0x3c, 0xc5, 0x3f, 0x59, 0x3e, 0x3f, 0x3d, 0x00, 0x00,
    0x48, 0x00, 0x4d, 0xb9
};

#include <string.h>

#include "chromatic_load.h"

/* RAM of tiny_infer (tiny_gather.S): words 0-2 point into the blob at its means (0: not
   validated, infer refuses), indices (or the byte before them) and biases; then the
   activations (layer l reads the buffer at word 3 if l is even, at word 6 if
   odd) and the palette as float32 from word 10 (written here, gathered by integer
   loads there). */
uint32_t tiny_ram[15u];

int tiny_init(void)
{
    const uint8_t *blob = tiny_blob;
    const uint8_t *sec[3];
    uint32_t j;
    int rc;
    tiny_ram[0] = 0u;
    /* offsets and sizes are constants of the assembly: the blob must be the one it was
       generated for (chromatic_load.h) */
    rc = chromatic_check_generated(blob, sizeof tiny_blob, 0xb94d0048u);
    if (rc != CHROMATIC_OK) return rc;
    for (j = 0; j < 5u; j++) {
        float w = chromatic_load_f16(blob + 36u + 2u * j);
        memcpy(&tiny_ram[10u + j], &w, sizeof w);
    }
    sec[0] = blob + 58u;
    sec[1] = blob + 28u;
    sec[2] = blob + 46u;
    memcpy(&tiny_ram[1], &sec[1], sizeof sec - sizeof sec[0]);
    memcpy(&tiny_ram[0], &sec[0], sizeof sec[0]); /* last: infer may run from here on */
    return rc;
}
