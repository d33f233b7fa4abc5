/* tiny_config.h -- kernel settings and symbol names for target cortex-m4f, kernel unrolled.
 * generated from policy ca981f20ee1e660e by chromatic <version> — do not edit. */

#ifndef TINY_CONFIG_H
#define TINY_CONFIG_H

/* The model struct holds exactly this policy's layers (chromatic.h). */
#define CHROMATIC_MAX_LAYERS 2u
/* No stack fallback for scratch = NULL: the glue passes static scratch, so no
   hidden stack array is reserved (chromatic.h). */
#define CHROMATIC_STACK_SCRATCH_FLOATS 0u

/* The kernel's external functions, renamed to this policy's prefix. */
#define chromatic_init tiny_chromatic_init
#define chromatic_scratch_floats tiny_chromatic_scratch_floats
#define chromatic_infer tiny_chromatic_infer
#define chromatic_infer_batch tiny_chromatic_infer_batch
#define chromatic_choose_block_rows tiny_chromatic_choose_block_rows
#define chromatic_set_block_rows tiny_chromatic_set_block_rows
#define chromatic_crc32 tiny_chromatic_crc32
#define chromatic_strerror tiny_chromatic_strerror
#define chromatic_fx_init tiny_chromatic_fx_init
#define chromatic_fx_infer tiny_chromatic_fx_infer
#define chromatic_fx_tanh tiny_chromatic_fx_tanh
#define chromatic_fx_input tiny_chromatic_fx_input
#define chromatic_fx_output tiny_chromatic_fx_output

#endif /* TINY_CONFIG_H */
