/*
 * chromatic.h -- the loadable C kernel: validate a chromatic blob and run it in place.
 *
 * A blob (docs/blob-format.md) holds a chromatic tanh or ReLU MLP whose edge (i, j) of layer l
 * has color Phi_l(i, j) in [0, M) and weight palette[Phi_l(i, j)] (paper section 3).
 * Inference reads the bit-packed color indices where they lie, so RAM holds only the
 * caller's scratch: two activation buffers and the per-color accumulators.
 *
 * The matrix-vector product is mailman-style (paper section 4.2, Liberty & Zucker 2009):
 * for a block of k output rows, every input j is added into the bucket of its k-color
 * pattern, then the buckets are folded into one sum per color and row, and each row
 * costs one multiply per color: y_i = sum_c w_c * sum_{j : Phi(i,j) = c} x_j.
 * A cost model (chromatic_choose_block_rows) picks k per layer; k = 0 means the direct
 * gather y_i = sum_j w[Phi(i,j)] x_j, used where the colors outnumber the inputs and for
 * the implicit structures (toeplitz, circulant, dense), whose colors are computed from
 * (i, j) with the canonical formulas of compiler/ir.py.
 *
 * C99, no malloc, no mutable global state, every symbol prefixed chromatic_/CHROMATIC_.
 * The API below is stable: see docs/c-api.md.
 */
#ifndef CHROMATIC_H
#define CHROMATIC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHROMATIC_BLOB_VERSION 1u
#define CHROMATIC_FORMAT_MAX_LAYERS 64u /* the format's limit */
#define CHROMATIC_MAX_INDEX_BITS 16u
#define CHROMATIC_MAX_EDGES (1ul << 24) /* same limit as the Python decoder */

/* Layers a chromatic_model can hold. Lower it on a microcontroller to shrink the struct
   (a blob with more layers is then rejected with CHROMATIC_ERR_TOO_LARGE). */
#ifndef CHROMATIC_MAX_LAYERS
#define CHROMATIC_MAX_LAYERS CHROMATIC_FORMAT_MAX_LAYERS
#endif

/* Largest rows-per-block k, and the most buckets (M^k) a block may use. */
#define CHROMATIC_MAX_BLOCK_ROWS 8u
#ifndef CHROMATIC_MAX_BUCKETS
#define CHROMATIC_MAX_BUCKETS 4096u
#endif

/* chromatic_infer(..., scratch = NULL) uses a stack array of this many floats; a model
   that needs more returns CHROMATIC_ERR_SCRATCH. Define it as 0 to forbid the fallback. */
#ifndef CHROMATIC_STACK_SCRATCH_FLOATS
#define CHROMATIC_STACK_SCRATCH_FLOATS 256u
#endif

/* Scratch floats for a model whose widest layer has max_width units and whose largest
   block needs max_buckets accumulators (for static allocation; the exact figure of a
   loaded model is chromatic_scratch_floats()). */
#define CHROMATIC_SCRATCH_FLOATS(max_width, max_buckets) (2u * (max_width) + (max_buckets))

/* The bad-observation rule (docs/safety.md), the same in every runtime and kernel: the
   normalized input x0 = (obs - mean) / std is 0 where it is NaN (a NaN reading counts as the
   mean) and is clamped to [-CHROMATIC_OBS_LIMIT, CHROMATIC_OBS_LIMIT], so no observation --
   NaN, +-inf, or beyond float32's range -- can make an action NaN or infinite. */
#define CHROMATIC_OBS_LIMIT 1.0e4f
static inline float chromatic_obs_clamp(float x)
{
    if (x > CHROMATIC_OBS_LIMIT) return CHROMATIC_OBS_LIMIT;
    if (x < -CHROMATIC_OBS_LIMIT) return -CHROMATIC_OBS_LIMIT;
    return x == x ? x : 0.0f; /* NaN -> 0 */
}

/* Wire values, identical to compiler/ir.py and compiler/blob.py. */
enum {
    CHROMATIC_STRUCT_CHROMATIC = 0, /* any partition into M colors */
    CHROMATIC_STRUCT_MASKED = 1,    /* color 0 is pruned; its weight is 0 */
    CHROMATIC_STRUCT_TOEPLITZ = 2,  /* implicit: one color per diagonal */
    CHROMATIC_STRUCT_CIRCULANT = 3, /* implicit: one color per wrapped diagonal */
    CHROMATIC_STRUCT_DENSE = 4      /* implicit: every edge its own color */
};
enum { CHROMATIC_DTYPE_F32 = 0, CHROMATIC_DTYPE_F16 = 1 };
enum { CHROMATIC_ACT_IDENTITY = 0, CHROMATIC_ACT_TANH = 1, CHROMATIC_ACT_RELU = 2 /* max(0, x) */ };
/* Header flags (at most one is set): the index packing (docs/blob-format.md). */
enum { CHROMATIC_FLAG_BYTE_INDICES = 1, CHROMATIC_FLAG_ROW_ALIGNED = 2 };

/* Error codes returned by chromatic_init / chromatic_infer (0 is success). */
typedef enum {
    CHROMATIC_OK = 0,
    CHROMATIC_ERR_NULL = 1,      /* a required pointer argument is NULL */
    CHROMATIC_ERR_TRUNCATED = 2, /* shorter than its header */
    CHROMATIC_ERR_MAGIC = 3,     /* does not start with "CHRM" */
    CHROMATIC_ERR_VERSION = 4,   /* a blob version this kernel does not read */
    CHROMATIC_ERR_LENGTH = 5,    /* header length or section sizes disagree with len */
    CHROMATIC_ERR_HEADER = 6,    /* unknown code, flag, zero size, or wrong index width */
    CHROMATIC_ERR_TOO_LARGE = 7, /* more layers, edges or index bits than allowed */
    CHROMATIC_ERR_CRC = 8,       /* CRC32 mismatch */
    CHROMATIC_ERR_INDEX = 9,     /* a color index >= M */
    CHROMATIC_ERR_VALUE = 10,    /* NaN/inf value, std <= 0, masked weights[0] != 0 */
    CHROMATIC_ERR_SCRATCH = 11,  /* scratch NULL and the model needs more than the stack array */
    CHROMATIC_ERR_ARGUMENT = 12  /* an argument out of range (layer number, block rows) */
} chromatic_status;

/* One layer, as chromatic_init found it (read-only for users except via the setters). */
typedef struct {
    uint32_t in, out;
    uint32_t bit_offset;   /* stream bit of this layer's first index */
    uint32_t row_bits;     /* stream bits from one row's first index to the next's: in * b,
                              rounded up to whole bytes with CHROMATIC_FLAG_ROW_ALIGNED */
    uint32_t color_offset; /* implicit structures: first palette entry of this layer */
    uint32_t buckets;      /* accumulators one block needs: M^k, or 0 for direct */
    uint8_t activation;    /* CHROMATIC_ACT_* */
    uint8_t block_rows;    /* k: rows per mailman block, 0 = direct gather */
    const uint8_t *bias;   /* out values of the blob's dtype */
} chromatic_layer;

/* A validated blob: plain ints and pointers into the caller's blob (which must outlive it). */
typedef struct {
    const uint8_t *blob;
    size_t len;
    uint8_t structure, dtype, flags, index_bits;
    uint32_t num_layers, num_colors, max_width;
    const uint8_t *dictionary; /* packed indices (NULL when index_bits == 0) */
    const uint8_t *palette;    /* num_colors values */
    const uint8_t *mean, *std; /* layer_sizes[0] values each */
    chromatic_layer layers[CHROMATIC_MAX_LAYERS];
} chromatic_model;

/* Validate blob[0..len) (magic, version, sizes, bounds, indices, values, CRC32) and fill m
   with pointers into it; picks k per layer with the cost model. Never reads outside the
   blob. Returns CHROMATIC_OK or an error code; m is all zeros on error. */
int chromatic_init(chromatic_model *m, const uint8_t *blob, size_t len);

/* Floats of scratch chromatic_infer needs for this model (activations + accumulators). */
size_t chromatic_scratch_floats(const chromatic_model *m);

/* act[0..d_L) = policy(obs[0..d_0)). scratch: chromatic_scratch_floats(m) floats, or NULL
   for a stack array of CHROMATIC_STACK_SCRATCH_FLOATS. obs and act may not overlap scratch. */
int chromatic_infer(const chromatic_model *m, const float *obs, float *act, float *scratch);

/* n observations (row-major, n x d_0) to n actions (n x d_L). */
int chromatic_infer_batch(const chromatic_model *m, const float *obs, float *act, size_t n,
                          float *scratch);

/* The cost model: rows per block for a layer (0 = direct gather), given M, out and in. */
unsigned chromatic_choose_block_rows(uint32_t num_colors, uint32_t out, uint32_t in);

/* Override k for one layer (tests and experiments; every k gives the same outputs up to
   float rounding). k = 0 is direct gather; k >= 1 needs a non-implicit structure and
   M^k <= CHROMATIC_MAX_BUCKETS. */
int chromatic_set_block_rows(chromatic_model *m, uint32_t layer, unsigned k);

/* CRC32 (IEEE 802.3, as zlib.crc32) of data[0..len). */
uint32_t chromatic_crc32(const uint8_t *data, size_t len);

/* A one-line English description of an error code (never NULL). */
const char *chromatic_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* CHROMATIC_H */
