/*
 * chromatic.c -- the loadable C kernel (see chromatic.h and docs/c-api.md).
 *
 * Portable C99 for hosts and Cortex-M alike: no malloc, no mutable global state, no libm
 * (tanh is a rational approximation), little-endian blob values assembled byte by byte
 * so neither the host's byte order nor the blob's alignment matters.
 */
#include "chromatic.h"
#include "chromatic_load.h"
#include "chromatic_tanh.h"

#include <string.h>

/* ---- blob values: little-endian loads and binary16 in chromatic_load.h ---------------- */

/* binary16 -> float32 (chromatic_load.h). Without the hardware conversion it is ~20
   instructions read from many places: kept out of line, as gcc leaves it on its own. */
#if defined(__GNUC__) && !defined(__ARM_FP16_FORMAT_IEEE)
__attribute__((noinline))
#endif
static float chromatic_half(uint32_t h)
{
    return chromatic_half_f32(h);
}

/* Value i of a section stored in the blob's dtype. */
static float chromatic_value(const uint8_t *base, unsigned f16, uint32_t i)
{
    return f16 ? chromatic_half(chromatic_load_u16(base + 2u * (size_t)i))
               : chromatic_bits_f32(chromatic_load_le32(base + 4u * (size_t)i));
}

/* ---- CRC32 (zlib's), with a 16-entry nibble table in flash --------------------------- */

static const uint32_t chromatic_crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t chromatic_crc32(const uint8_t *data, size_t len)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ chromatic_crc_nibble[crc & 15u];
        crc = (crc >> 4) ^ chromatic_crc_nibble[crc & 15u];
    }
    return crc ^ 0xffffffffu;
}

/* ---- packed index reader (LSB-first stream, compiler/passes/pack.py) ------------------ */

/* Reads exactly the bytes that hold the requested indices: never past the dictionary. */
typedef struct {
    const uint8_t *p;
    uint32_t buf, nb;
} chromatic_bitreader;

static void chromatic_br_init(chromatic_bitreader *r, const uint8_t *dict, uint32_t bitpos)
{
    r->p = dict + (bitpos >> 3);
    r->buf = (uint32_t)(*r->p++) >> (bitpos & 7u);
    r->nb = 8u - (bitpos & 7u);
}

static uint32_t chromatic_br_next(chromatic_bitreader *r, uint32_t b, uint32_t mask)
{
    uint32_t c;
    while (r->nb < b) {
        r->buf |= (uint32_t)(*r->p++) << r->nb;
        r->nb += 8u;
    }
    c = r->buf & mask;
    r->buf >>= b;
    r->nb -= b;
    return c;
}

/* ---- the cost model ------------------------------------------------------------------- */

/* Operation costs per output row, in units of one direct multiply-add, measured on x86-64
   (docs/runtimes.md): a bucket add is a load-add-store whose memory dependence makes it
   dearer than a multiply-add with an FPU, so k >= 1 pays only where multiplies are dear.
   Override them for a target, e.g. soft-float cores: -DCHROMATIC_COST_BUCKET=1. */
#ifndef CHROMATIC_COST_DECODE
#define CHROMATIC_COST_DECODE 3u /* read one packed index */
#endif
#ifndef CHROMATIC_COST_DIRECT
#define CHROMATIC_COST_DIRECT 2u /* palette load, input load, multiply-add */
#endif
#ifndef CHROMATIC_COST_BUCKET
#define CHROMATIC_COST_BUCKET 5u /* input load, bucket load-add-store */
#endif
#ifndef CHROMATIC_COST_MUL
#define CHROMATIC_COST_MUL 2u /* per color and row: weight load, multiply-add */
#endif

static uint64_t chromatic_block_cost(uint32_t M, uint32_t n, unsigned k, uint32_t *buckets)
{
    uint64_t mk = 1, cost;
    unsigned r;
    for (r = 0; r < k; r++) {
        mk *= M;
        if (mk > CHROMATIC_MAX_BUCKETS) return UINT64_MAX;
    }
    *buckets = (uint32_t)mk;
    cost = mk + (k > 1u ? 2u * mk : 0u) + (uint64_t)n * (k * CHROMATIC_COST_DECODE + CHROMATIC_COST_BUCKET) +
           (uint64_t)k * M * CHROMATIC_COST_MUL;
    return cost;
}

unsigned chromatic_choose_block_rows(uint32_t num_colors, uint32_t out, uint32_t in)
{
    /* Compare per-row costs scaled by the block size (cost_k / k), in integers. */
    uint64_t best = (uint64_t)in * (CHROMATIC_COST_DECODE + CHROMATIC_COST_DIRECT);
    unsigned best_k = 0, k, best_div = 1;
    uint32_t buckets;
    for (k = 1; k <= CHROMATIC_MAX_BLOCK_ROWS && k <= out; k++) {
        uint64_t c = chromatic_block_cost(num_colors, in, k, &buckets);
        if (c == UINT64_MAX) break;
        if (c * best_div < best * k) {
            best = c;
            best_div = k;
            best_k = k;
        }
    }
    return best_k;
}

static uint32_t chromatic_buckets(uint32_t M, unsigned k)
{
    uint32_t b = 0;
    if (k == 0u) return 0u;
    if (chromatic_block_cost(M, 1u, k, &b) == UINT64_MAX) return 0u;
    return b;
}

/* ---- layers --------------------------------------------------------------------------- */

/* Index at stream bit pos (width b <= 16, so it lies within the 4 bytes from pos / 8).
   Those 4 bytes may run up to 3 bytes past the dictionary, into the sections after it,
   which chromatic_init proved exist (at least the 4-byte CRC follows). */
#define CHROMATIC_INDEX(pos) ((chromatic_load_le32(dict + ((pos) >> 3)) >> ((pos) & 7u)) & mask)

/* Direct gather for stored partitions: y_i = sum_j w[Phi(i,j)] x_j, one loop per index width
   so the hot loop carries no width or dtype test. */
#define CHROMATIC_DIRECT_ROWS(WEIGHT)                                                          \
    for (i = 0; i < L->out; i++) {                                                             \
        const uint32_t row = L->bit_offset + i * L->row_bits;                                  \
        float s = 0.0f;                                                                        \
        if (b == 8u) {                                                                         \
            const uint8_t *d = m->dictionary + (row >> 3);                                     \
            CHROMATIC_DOT(n, WEIGHT(d[j + 0u]), WEIGHT(d[j + 1u]), WEIGHT(d[j + 2u]),         \
                          WEIGHT(d[j + 3u]), WEIGHT(d[j]));                                    \
        } else if (b == 0u) {                                                                  \
            for (j = 0; j < n; j++) s += WEIGHT(0u) * x[j];                                    \
        } else { /* one unaligned 32-bit read per index: see CHROMATIC_INDEX */              \
            uint32_t pos = row;                                                                \
            float s0 = 0.0f, s1 = 0.0f;                                                        \
            for (j = 0; j + 2u <= n; j += 2u, pos += 2u * b) {                                 \
                s0 += WEIGHT(CHROMATIC_INDEX(pos)) * x[j];                                     \
                s1 += WEIGHT(CHROMATIC_INDEX(pos + b)) * x[j + 1u];                            \
            }                                                                                  \
            s = s0 + s1;                                                                       \
            if (j < n) s += WEIGHT(CHROMATIC_INDEX(pos)) * x[j];                               \
        }                                                                                      \
        y[i] = s + chromatic_value(L->bias, f16, i);                                           \
    }

#define CHROMATIC_W32(c) chromatic_bits_f32(chromatic_load_le32(pal + 4u * (size_t)(c)))
#define CHROMATIC_W16(c) chromatic_half(chromatic_load_u16(pal + 2u * (size_t)(c)))

static void chromatic_layer_direct(const chromatic_model *m, const chromatic_layer *L,
                                   const float *x, float *y)
{
    const uint32_t n = L->in, b = m->index_bits, mask = (1u << b) - 1u;
    const unsigned f16 = m->dtype == CHROMATIC_DTYPE_F16;
    const uint8_t *pal = m->palette, *dict = m->dictionary;
    uint32_t i, j;
    if (f16) {
        CHROMATIC_DIRECT_ROWS(CHROMATIC_W16)
    } else {
        CHROMATIC_DIRECT_ROWS(CHROMATIC_W32)
    }
}

/* Implicit structures: the color of (i, j) from compiler/ir.py's canonical formulas. */
static void chromatic_layer_implicit(const chromatic_model *m, const chromatic_layer *L,
                                     const float *x, float *y)
{
    const uint32_t n = L->in, out = L->out, off = L->color_offset;
    const unsigned f16 = m->dtype == CHROMATIC_DTYPE_F16;
    const uint8_t *pal = m->palette;
    uint32_t i, j;
    for (i = 0; i < out; i++) {
        float s = 0.0f;
        if (m->structure == CHROMATIC_STRUCT_DENSE) { /* c = i*in + j */
            uint32_t base = off + i * n;
            for (j = 0; j < n; j++) s += chromatic_value(pal, f16, base + j) * x[j];
        } else if (m->structure == CHROMATIC_STRUCT_TOEPLITZ) { /* c = i - j + in - 1 */
            uint32_t base = off + i + n - 1u;
            for (j = 0; j < n; j++) s += chromatic_value(pal, f16, base - j) * x[j];
        } else { /* circulant: c = (i - j) mod max(out, in), split at the wrap */
            uint32_t wrap = (out > n ? out : n), stop = (i + 1u < n ? i + 1u : n);
            for (j = 0; j < stop; j++) s += chromatic_value(pal, f16, off + i - j) * x[j];
            for (; j < n; j++) s += chromatic_value(pal, f16, off + i + wrap - j) * x[j];
        }
        y[i] = s + chromatic_value(L->bias, f16, i);
    }
}

/* Mailman with k = 1: per row, sum the inputs of each color, then one multiply per color. */
static void chromatic_layer_mailman1(const chromatic_model *m, const chromatic_layer *L,
                                     const float *x, float *y, float *acc)
{
    const uint32_t n = L->in, M = m->num_colors, b = m->index_bits, mask = (1u << b) - 1u;
    const unsigned f16 = m->dtype == CHROMATIC_DTYPE_F16;
    uint32_t i, j, c;
    for (i = 0; i < L->out; i++) {
        const uint32_t row = L->bit_offset + i * L->row_bits;
        float s = 0.0f;
        for (c = 0; c < M; c++) acc[c] = 0.0f;
        if (b == 8u) {
            const uint8_t *d = m->dictionary + (row >> 3);
            for (j = 0; j < n; j++) acc[d[j]] += x[j];
        } else if (b == 0u) {
            for (j = 0; j < n; j++) acc[0] += x[j];
        } else {
            const uint8_t *dict = m->dictionary;
            uint32_t pos = row;
            for (j = 0; j < n; j++, pos += b) acc[CHROMATIC_INDEX(pos)] += x[j];
        }
        if (f16) {
            for (c = 0; c < M; c++) s += chromatic_half(chromatic_load_u16(m->palette + 2u * c)) * acc[c];
        } else {
            for (c = 0; c < M; c++) s += chromatic_bits_f32(chromatic_load_le32(m->palette + 4u * c)) * acc[c];
        }
        y[i] = s + chromatic_value(L->bias, f16, i);
    }
}

/* Mailman with k >= 2 (Liberty & Zucker's A = U P): bucket each input by the k-color pattern
   of its column in the block, then fold the buckets digit by digit into per-row color sums. */
static void chromatic_layer_block(const chromatic_model *m, const chromatic_layer *L,
                                  const float *x, float *y, float *s)
{
    const uint32_t n = L->in, M = m->num_colors, b = m->index_bits, mask = (1u << b) - 1u;
    const unsigned f16 = m->dtype == CHROMATIC_DTYPE_F16;
    chromatic_bitreader rd[CHROMATIC_MAX_BLOCK_ROWS];
    uint32_t i0, j, r, c, t;
    for (i0 = 0; i0 < L->out; i0 += L->block_rows) {
        uint32_t kk = L->out - i0 < L->block_rows ? L->out - i0 : L->block_rows;
        uint32_t nbk = 1, h;
        for (r = 0; r < kk; r++) nbk *= M;
        for (t = 0; t < nbk; t++) s[t] = 0.0f;
        if (b != 0u) {
            for (r = 0; r < kk; r++) chromatic_br_init(&rd[r], m->dictionary, L->bit_offset + (i0 + r) * L->row_bits);
        }
        for (j = 0; j < n; j++) {
            uint32_t p = 0;
            if (b != 0u) {
                for (r = kk; r-- > 0;) p = p * M + chromatic_br_next(&rd[r], b, mask);
            }
            s[p] += x[j];
        }
        /* Pattern p = sum_r c_r M^r: the top digit is row kk-1. Marginalize it, then fold. */
        h = nbk / M;
        for (r = kk; r-- > 0;) {
            float acc = 0.0f;
            for (c = 0; c < M; c++) {
                float tot = 0.0f;
                const float *blk = s + c * h;
                for (t = 0; t < h; t++) tot += blk[t];
                acc += chromatic_value(m->palette, f16, c) * tot;
            }
            y[i0 + r] = acc + chromatic_value(L->bias, f16, i0 + r);
            if (r == 0u) break;
            for (c = 1; c < M; c++) {
                const float *blk = s + c * h;
                for (t = 0; t < h; t++) s[t] += blk[t];
            }
            h /= M;
        }
    }
}

/* ---- init ----------------------------------------------------------------------------- */

static int chromatic_value_ok(uint32_t bits, unsigned f16)
{
    return f16 ? ((bits >> 10) & 0x1fu) != 0x1fu : ((bits >> 23) & 0xffu) != 0xffu;
}

/* Every stored value finite; every std > 0 (not 0, not -0, not negative); masked
   weights[0] == 0 (+0 or -0). The same rule as compiler/blob.py's decode. */
static int chromatic_check_values(const chromatic_model *m, uint32_t count)
{
    const unsigned f16 = m->dtype == CHROMATIC_DTYPE_F16;
    const uint32_t v = f16 ? 2u : 4u, d0 = m->layers[0].in;
    const uint32_t sign = f16 ? 0x8000u : 0x80000000u;
    uint32_t i;
    for (i = 0; i < count; i++) {
        const uint8_t *p = m->palette + (size_t)v * i;
        uint32_t bits = f16 ? chromatic_load_u16(p) : chromatic_load_le32(p);
        if (!chromatic_value_ok(bits, f16)) return CHROMATIC_ERR_VALUE;
    }
    for (i = 0; i < d0; i++) {
        const uint8_t *p = m->std + (size_t)v * i;
        uint32_t bits = f16 ? chromatic_load_u16(p) : chromatic_load_le32(p);
        if ((bits & sign) || bits == 0u) return CHROMATIC_ERR_VALUE; /* std <= 0 */
    }
    if (m->structure == CHROMATIC_STRUCT_MASKED) {
        uint32_t bits = f16 ? chromatic_load_u16(m->palette) : chromatic_load_le32(m->palette);
        if (bits & (sign - 1u)) return CHROMATIC_ERR_VALUE;
    }
    return CHROMATIC_OK;
}

static uint32_t chromatic_bit_length(uint32_t v)
{
    uint32_t b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
}

static uint64_t chromatic_align4(uint64_t n) { return (n + 3u) & ~(uint64_t)3u; }

/* Stream bits from one row's first index to the next's (in <= 65535, bits <= 16). */
static uint32_t chromatic_row_bits(uint32_t in, uint32_t bits, uint32_t flags)
{
    return flags & CHROMATIC_FLAG_ROW_ALIGNED ? 8u * ((in * bits + 7u) / 8u) : in * bits;
}

static int chromatic_init_impl(chromatic_model *m, const uint8_t *blob, size_t len)
{
    uint32_t L, l, flags, st, dt, hidden, output, bits, M, total, expected_bits;
    uint64_t edges = 0, implicit_m = 0, header, dict, values, layout_total, v, sum_out = 0;
    uint32_t sizes[CHROMATIC_MAX_LAYERS + 1]; /* filled after the L <= CHROMATIC_MAX_LAYERS check */
    size_t off;

    if (len < 20u) return CHROMATIC_ERR_TRUNCATED;
    if (memcmp(blob, "CHRM", 4) != 0) return CHROMATIC_ERR_MAGIC;
    if (blob[4] != CHROMATIC_BLOB_VERSION) return CHROMATIC_ERR_VERSION;
    flags = blob[5];
    st = blob[6];
    dt = blob[7];
    hidden = blob[8];
    output = blob[9];
    L = blob[10];
    bits = blob[11];
    M = chromatic_load_le32(blob + 12);
    total = chromatic_load_le32(blob + 16);
    if ((uint64_t)total != (uint64_t)len) return CHROMATIC_ERR_LENGTH;
    if (st > CHROMATIC_STRUCT_DENSE || dt > CHROMATIC_DTYPE_F16 || hidden > CHROMATIC_ACT_RELU ||
        output > CHROMATIC_ACT_RELU ||
        (flags != 0u && flags != CHROMATIC_FLAG_BYTE_INDICES && flags != CHROMATIC_FLAG_ROW_ALIGNED))
        return CHROMATIC_ERR_HEADER;
    if (L < 1u || L > CHROMATIC_FORMAT_MAX_LAYERS) return CHROMATIC_ERR_HEADER;
    if (L > CHROMATIC_MAX_LAYERS) return CHROMATIC_ERR_TOO_LARGE;
    if (len < 20u + 2u * ((size_t)L + 1u)) return CHROMATIC_ERR_TRUNCATED;
    for (l = 0; l <= L; l++) {
        sizes[l] = chromatic_load_u16(blob + 20u + 2u * l);
        if (sizes[l] == 0u) return CHROMATIC_ERR_HEADER;
    }
    for (l = 0; l < L; l++) {
        uint32_t in = sizes[l], out = sizes[l + 1];
        edges += (uint64_t)in * out; /* each product < 2^32, at most 64 of them */
        sum_out += out;
        implicit_m += st == CHROMATIC_STRUCT_TOEPLITZ    ? (uint64_t)out + in - 1u
                      : st == CHROMATIC_STRUCT_CIRCULANT ? (uint64_t)(out > in ? out : in)
                                                          : (uint64_t)out * in;
    }
    if (edges > CHROMATIC_MAX_EDGES) return CHROMATIC_ERR_TOO_LARGE;
    if (M < 1u) return CHROMATIC_ERR_HEADER;
    if (st >= CHROMATIC_STRUCT_TOEPLITZ) {
        if ((uint64_t)M != implicit_m) return CHROMATIC_ERR_HEADER;
        expected_bits = 0;
    } else {
        expected_bits = chromatic_bit_length(M - 1u);
        if (flags & CHROMATIC_FLAG_BYTE_INDICES) expected_bits = 8u * ((expected_bits + 7u) / 8u);
    }
    if (bits != expected_bits) return CHROMATIC_ERR_HEADER;
    if (bits > CHROMATIC_MAX_INDEX_BITS) return CHROMATIC_ERR_TOO_LARGE;

    /* Layout in 64-bit arithmetic: nothing here can overflow (M < 2^32, edges <= 2^24). */
    v = dt == CHROMATIC_DTYPE_F16 ? 2u : 4u;
    header = chromatic_align4(20u + 2u * ((uint64_t)L + 1u));
    dict = 0;
    for (l = 0; l < L; l++) dict += (uint64_t)sizes[l + 1] * chromatic_row_bits(sizes[l], bits, flags);
    dict = (dict + 7u) / 8u;
    values = v * ((uint64_t)M + sum_out + 2u * (uint64_t)sizes[0]);
    layout_total = header + chromatic_align4(dict) + chromatic_align4(values) + 4u;
    if (layout_total != (uint64_t)len) return CHROMATIC_ERR_LENGTH;
    if (bits != 0u && header + dict + 3u > (uint64_t)len) return CHROMATIC_ERR_LENGTH; /* CHROMATIC_INDEX reads 4 bytes */
    if (chromatic_crc32(blob, len - 4u) != chromatic_load_le32(blob + len - 4u)) return CHROMATIC_ERR_CRC;

    /* Every offset below is < len, which the checks above proved. */
    m->blob = blob;
    m->len = len;
    m->structure = (uint8_t)st;
    m->dtype = (uint8_t)dt;
    m->flags = (uint8_t)flags;
    m->index_bits = (uint8_t)bits;
    m->num_layers = L;
    m->num_colors = M;
    m->dictionary = bits ? blob + header : NULL;
    off = (size_t)(header + chromatic_align4(dict));
    m->palette = blob + off;
    off += (size_t)(v * M);
    m->max_width = 0;
    {
        uint32_t pos = 0, coff = 0;
        for (l = 0; l < L; l++) {
            chromatic_layer *ly = &m->layers[l];
            uint32_t in = sizes[l], out = sizes[l + 1];
            ly->in = in;
            ly->out = out;
            ly->bit_offset = pos;
            ly->row_bits = chromatic_row_bits(in, bits, flags);
            ly->color_offset = coff;
            ly->activation = (uint8_t)(l + 1u == L ? output : hidden);
            ly->bias = blob + off;
            off += (size_t)(v * out);
            pos += ly->row_bits * out;
            coff += st == CHROMATIC_STRUCT_TOEPLITZ ? out + in - 1u
                    : st == CHROMATIC_STRUCT_CIRCULANT ? (out > in ? out : in)
                                                        : out * in;
            if (in > m->max_width) m->max_width = in;
            if (out > m->max_width) m->max_width = out;
            ly->block_rows = (uint8_t)(st >= CHROMATIC_STRUCT_TOEPLITZ ? 0u : chromatic_choose_block_rows(M, out, in));
            ly->buckets = chromatic_buckets(M, ly->block_rows);
        }
    }
    m->mean = blob + off;
    m->std = m->mean + v * sizes[0];

    /* Hidden layers must be tanh or relu when there are several (as Policy.validate). */
    if (L > 1u && hidden == CHROMATIC_ACT_IDENTITY) return CHROMATIC_ERR_HEADER;
    /* Indices: every color < M, whatever the packing. (With --pack bytes, or any b wider than
       ceil(log2 M), an index >= M fits in b bits even when M is a power of two, and would
       read past the palette and write past the per-color scratch.) */
    if (bits != 0u) {
        chromatic_bitreader r;
        const uint32_t mask = (1u << bits) - 1u;
        uint32_t i, j;
        for (l = 0; l < L; l++)
            for (i = 0; i < m->layers[l].out; i++) {
                chromatic_br_init(&r, m->dictionary, m->layers[l].bit_offset + i * m->layers[l].row_bits);
                for (j = 0; j < m->layers[l].in; j++)
                    if (chromatic_br_next(&r, bits, mask) >= M) return CHROMATIC_ERR_INDEX;
            }
    }
    return chromatic_check_values(m, (uint32_t)(M + sum_out + 2u * (uint64_t)sizes[0]));
}

int chromatic_init(chromatic_model *m, const uint8_t *blob, size_t len)
{
    int rc;
    if (m == NULL) return CHROMATIC_ERR_NULL;
    memset(m, 0, sizeof *m);
    if (blob == NULL) return CHROMATIC_ERR_NULL;
    rc = chromatic_init_impl(m, blob, len);
    if (rc != CHROMATIC_OK) memset(m, 0, sizeof *m);
    return rc;
}

size_t chromatic_scratch_floats(const chromatic_model *m)
{
    uint32_t l, buckets = 0;
    if (m == NULL) return 0;
    for (l = 0; l < m->num_layers; l++)
        if (m->layers[l].buckets > buckets) buckets = m->layers[l].buckets;
    return CHROMATIC_SCRATCH_FLOATS((size_t)m->max_width, (size_t)buckets);
}

int chromatic_set_block_rows(chromatic_model *m, uint32_t layer, unsigned k)
{
    uint32_t buckets;
    if (m == NULL) return CHROMATIC_ERR_NULL;
    if (layer >= m->num_layers || k > CHROMATIC_MAX_BLOCK_ROWS) return CHROMATIC_ERR_ARGUMENT;
    if (k == 0u) {
        buckets = 0;
    } else {
        if (m->structure >= CHROMATIC_STRUCT_TOEPLITZ) return CHROMATIC_ERR_ARGUMENT;
        buckets = chromatic_buckets(m->num_colors, k);
        if (buckets == 0u) return CHROMATIC_ERR_ARGUMENT;
    }
    m->layers[layer].block_rows = (uint8_t)k;
    m->layers[layer].buckets = buckets;
    return CHROMATIC_OK;
}

/* ---- inference ------------------------------------------------------------------------ */

static void chromatic_forward(const chromatic_model *m, const float *obs, float *act, float *scratch)
{
    const unsigned f16 = m->dtype == CHROMATIC_DTYPE_F16;
    float *a = scratch, *b = scratch + m->max_width, *acc = scratch + 2u * m->max_width;
    const float *x = a;
    uint32_t j, l;
    for (j = 0; j < m->layers[0].in; j++)
        a[j] = chromatic_obs_clamp((obs[j] - chromatic_value(m->mean, f16, j)) / chromatic_value(m->std, f16, j));
    for (l = 0; l < m->num_layers; l++) {
        const chromatic_layer *L = &m->layers[l];
        float *y = l + 1u == m->num_layers ? act : (x == a ? b : a);
        if (m->structure >= CHROMATIC_STRUCT_TOEPLITZ)
            chromatic_layer_implicit(m, L, x, y);
        else if (L->block_rows == 0u)
            chromatic_layer_direct(m, L, x, y);
        else if (L->block_rows == 1u)
            chromatic_layer_mailman1(m, L, x, y, acc);
        else
            chromatic_layer_block(m, L, x, y, acc);
        if (L->activation == CHROMATIC_ACT_TANH)
            for (j = 0; j < L->out; j++) y[j] = chromatic_tanh(y[j]);
        else if (L->activation == CHROMATIC_ACT_RELU)
            for (j = 0; j < L->out; j++) y[j] = chromatic_relu(y[j]);
        x = y;
    }
}

static void chromatic_forward_n(const chromatic_model *m, const float *obs, float *act, size_t n,
                                float *scratch)
{
    const size_t d0 = m->layers[0].in, dl = m->layers[m->num_layers - 1u].out;
    size_t i;
    for (i = 0; i < n; i++) chromatic_forward(m, obs + i * d0, act + i * dl, scratch);
}

#if CHROMATIC_STACK_SCRATCH_FLOATS > 0
/* The scratch = NULL fallback in a frame of its own (never inlined), so a caller that passes
   scratch does not pay CHROMATIC_STACK_SCRATCH_FLOATS floats of stack. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void chromatic_forward_local(const chromatic_model *m, const float *obs, float *act, size_t n)
{
    float local[CHROMATIC_STACK_SCRATCH_FLOATS];
    chromatic_forward_n(m, obs, act, n, local);
}
#endif

int chromatic_infer_batch(const chromatic_model *m, const float *obs, float *act, size_t n, float *scratch)
{
    if (m == NULL || obs == NULL || act == NULL) return CHROMATIC_ERR_NULL;
    if (m->num_layers == 0u) return CHROMATIC_ERR_ARGUMENT; /* not initialized */
    if (scratch != NULL) {
        chromatic_forward_n(m, obs, act, n, scratch);
        return CHROMATIC_OK;
    }
#if CHROMATIC_STACK_SCRATCH_FLOATS > 0
    if (chromatic_scratch_floats(m) <= CHROMATIC_STACK_SCRATCH_FLOATS) {
        chromatic_forward_local(m, obs, act, n);
        return CHROMATIC_OK;
    }
#endif
    return CHROMATIC_ERR_SCRATCH;
}

int chromatic_infer(const chromatic_model *m, const float *obs, float *act, float *scratch)
{
    return chromatic_infer_batch(m, obs, act, 1u, scratch);
}

const char *chromatic_strerror(int code)
{
    switch (code) {
    case CHROMATIC_OK: return "ok";
    case CHROMATIC_ERR_NULL: return "a required pointer is NULL";
    case CHROMATIC_ERR_TRUNCATED: return "truncated blob: shorter than its header";
    case CHROMATIC_ERR_MAGIC: return "not a chromatic blob (bad magic)";
    case CHROMATIC_ERR_VERSION: return "unsupported blob version";
    case CHROMATIC_ERR_LENGTH: return "blob length does not match its header and sections";
    case CHROMATIC_ERR_HEADER: return "corrupt header: unknown code, flag, zero size or index width";
    case CHROMATIC_ERR_TOO_LARGE: return "blob exceeds this kernel's limits (layers, edges, index bits)";
    case CHROMATIC_ERR_CRC: return "corrupt blob: CRC32 mismatch";
    case CHROMATIC_ERR_INDEX: return "corrupt blob: a color index is >= M";
    case CHROMATIC_ERR_VALUE: return "corrupt blob: NaN/inf value, std <= 0 or nonzero pruned weight";
    case CHROMATIC_ERR_SCRATCH: return "scratch is NULL and the model needs more than the stack array";
    case CHROMATIC_ERR_ARGUMENT: return "argument out of range or model not initialized";
    default: return "unknown chromatic error code";
    }
}
