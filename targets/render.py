"""Render the C sources of a build: the blob as a const array, the API glue, the self-test.

Renderers know nothing about training: they get the blob's bytes, its decoded policy (for
shapes and the reference outputs of the self-test) and the target, and return file texts.
Every generated file starts with the policy's hash and "do not edit".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chromatic.compiler.blob import Blob
from chromatic.targets.registry import Target


def policy_hash(data: bytes) -> str:
    """The short hash generated files carry: the first 16 hex digits of SHA-256(blob)."""
    return hashlib.sha256(data).hexdigest()[:16]


def banner(data: bytes) -> str:
    """The line every generated file carries: which policy, which chromatic, do not edit."""
    from chromatic.version import __version__

    return f"generated from policy {policy_hash(data)} by chromatic {__version__} \u2014 do not edit."


def header(data: bytes, what: str) -> str:
    return f"/* {what}\n * {banner(data)} */\n"


#: The kernel headers whose external functions the config header renames per prefix.
KERNEL_HEADERS = ("c/chromatic.h", "firmware/chromatic_fixed.h")
_EXTERN_FN = re.compile(r"^(?!static)[A-Za-z_][\w \*]*?\b(chromatic_\w+)\s*\(", re.M)


def kernel_symbols() -> tuple[str, ...]:
    """The external functions of the shipped kernels (declared non-static in their headers)."""
    here = Path(__file__).resolve().parent
    names: list[str] = []
    for h in KERNEL_HEADERS:
        names += [n for n in _EXTERN_FN.findall((here / h).read_text()) if n not in names]
    return tuple(names)


def kernel_symbol(prefix: str, name: str) -> str:
    """The name a kernel function links under in a build with this prefix."""
    return f"{prefix}_{name}"


def config_header(data: bytes, prefix: str, sizes: Sizes, target: Target, kernel: str) -> str:
    """<prefix>_config.h: every setting the kernel sources read, and the symbol renames.

    Everything that changes the compiled code lives here rather than in -D flags, so that
    compiling src/ with the target's CPU flags alone gives the sizes `measure` reports; the
    renames (zlib's Z_PREFIX idea) let several policies' src/ folders link into one image."""
    guard = f"{prefix.upper()}_CONFIG_H"
    lines = [header(data, f"{prefix}_config.h -- kernel settings and symbol names for target "
                          f"{target.name}, kernel {kernel}."),
             f"#ifndef {guard}\n#define {guard}\n",
             "/* The model struct holds exactly this policy's layers (chromatic.h). */",
             f"#define CHROMATIC_MAX_LAYERS {sizes.num_layers}u",
             "/* No stack fallback for scratch = NULL: the glue passes static scratch, so no",
             "   hidden stack array is reserved (chromatic.h). */",
             "#define CHROMATIC_STACK_SCRATCH_FLOATS 0u"]
    if target.kernel == "fixed":
        lines += ["/* The fixed-point kernel's index width: constant shifts (chromatic_fixed.h). */",
                  f"#define CHROMATIC_FX_BITS {sizes.index_bits}"]
    lines += ["", "/* The kernel's external functions, renamed to this policy's prefix. */"]
    lines += [f"#define {n} {kernel_symbol(prefix, n)}" for n in kernel_symbols()]
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def kernel_copy(data: bytes, name: str, text: str, prefix: str) -> str:
    """A shipped kernel source as it goes into src/: the banner, and chromatic.h includes the
    policy's config header first."""
    out = header(data, f"{name} -- copied from chromatic's kernel sources.") + text
    if name == "chromatic.h":
        anchor = "#define CHROMATIC_H\n"
        assert anchor in out, "chromatic.h lost its include guard"
        out = out.replace(anchor, f'{anchor}\n#include "{prefix}_config.h"\n', 1)
    return out


def make_fragment(data: bytes, prefix: str, target: Target, sources: list[str]) -> str:
    """<prefix>.mk: the sources and the flags of the reported figures, for a user's Makefile."""
    var = prefix.upper()
    srcs = " ".join(f"$({var}_DIR){s}" for s in sources)
    return (f"# {prefix}.mk -- add policy {prefix} to a Makefile: include this file, then compile\n"
            f"# $(CHROMATIC_SOURCES) with $(CHROMATIC_CFLAGS) and -I$({var}_DIR).\n"
            f"# {banner(data)}\n"
            f"{var}_DIR := $(dir $(lastword $(MAKEFILE_LIST)))\n"
            f"CHROMATIC_SOURCES += {srcs}\n"
            f"CHROMATIC_INCLUDES += -I$({var}_DIR)\n"
            f"# The flags `chromatic measure` used for target {target.name} (no -D: the settings\n"
            f"# are in {prefix}_config.h).\n"
            f"CHROMATIC_CFLAGS := {' '.join(target.cflags)}\n"
            f"CHROMATIC_LDFLAGS := -Wl,--gc-sections\n")


def cmake_fragment(data: bytes, prefix: str, target: Target, sources: list[str]) -> str:
    """<prefix>.cmake: the same for CMake (include() it, then add the list to a target)."""
    srcs = "\n".join(f'    "${{CMAKE_CURRENT_LIST_DIR}}/{s}"' for s in sources)
    return (f"# {prefix}.cmake -- add policy {prefix} to a CMake project:\n"
            f"#   include(path/to/src/{prefix}.cmake)\n"
            f"#   target_sources(app PRIVATE ${{CHROMATIC_SOURCES}})\n"
            f"#   target_include_directories(app PRIVATE ${{CHROMATIC_INCLUDE_DIRS}})\n"
            f"# {banner(data)}\n"
            f"list(APPEND CHROMATIC_SOURCES\n{srcs})\n"
            f'list(APPEND CHROMATIC_INCLUDE_DIRS "${{CMAKE_CURRENT_LIST_DIR}}")\n'
            f"# The flags `chromatic measure` used for target {target.name}:\n"
            f'set(CHROMATIC_CFLAGS "{" ".join(target.cflags)}")\n'
            f'set(CHROMATIC_LDFLAGS "-Wl,--gc-sections")\n')


def c_array(values: np.ndarray | bytes, ctype: str, per_line: int = 12) -> str:
    """Comma-separated C initializer lines (floats as exact %a hex literals)."""
    if isinstance(values, bytes | bytearray):
        items = [f"0x{b:02x}" for b in values]
    elif ctype == "float":
        items = [f"{float(v).hex()}f" for v in np.asarray(values, np.float32).ravel()]
    else:
        items = [str(int(v)) for v in np.asarray(values).ravel()]
    if not items:
        items = ["0"]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "    " + ",\n    ".join(lines)


@dataclass(frozen=True)
class Sizes:
    """Plain ints the generated glue needs (from the decoded blob)."""

    d0: int
    dl: int
    num_layers: int
    max_width: int
    num_colors: int
    num_biases: int
    index_bits: int

    @staticmethod
    def of(blob: Blob) -> Sizes:
        p = blob.policy
        return Sizes(p.layer_sizes[0], p.layer_sizes[-1], len(p.layers), max(p.layer_sizes),
                     p.num_colors, sum(p.layer_sizes[1:]), blob.index_bits)

    def scratch_words(self, target: Target) -> int:
        if target.kernel == "fixed":
            return 2 * self.max_width + self.num_colors
        return 2 * self.max_width  # direct gather for stored partitions (no buckets on MCUs)


def model_header(data: bytes, prefix: str, sizes: Sizes) -> str:
    P = prefix.upper()
    return header(data, f"{prefix}.h -- the compiled policy's API.") + f"""#ifndef {P}_H
#define {P}_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define {P}_OBS_DIM {sizes.d0}u
#define {P}_ACT_DIM {sizes.dl}u
#define {P}_BLOB_BYTES {len(data)}u

/* The blob, a const array the linker keeps in flash. */
extern const uint8_t {prefix}_blob[{P}_BLOB_BYTES];

/* Check the blob and prepare the model; call once. The loadable kernel validates it in full
   (magic, version, sizes, CRC32); a kernel generated for this blob checks that it is still
   this blob (its CRC32). Returns 0 (CHROMATIC_OK) or an error code (chromatic.h,
   chromatic_fixed.h). */
int {prefix}_init(void);

/* act[{P}_ACT_DIM] = policy(obs[{P}_OBS_DIM]). Returns 0, or an error code when
   {prefix}_init has not succeeded. No allocation, no global state but the model. */
int {prefix}_infer(const float *obs, float *act);

#ifdef __cplusplus
}}
#endif

#endif
"""


def model_source(data: bytes, prefix: str, sizes: Sizes, target: Target, kernel: str) -> str:
    """The blob array plus init/infer glue over the chosen kernel."""
    out = [header(data, f"{prefix}.c -- blob and glue for target {target.name}, kernel {kernel}."),
           f'#include "{prefix}.h"\n#include "chromatic.h"\n']
    if target.kernel == "fixed":
        out.append('#include "chromatic_fixed.h"\n')
    out.append(f"const uint8_t {prefix}_blob[{len(data)}u] __attribute__((aligned(4))) = {{\n"
               f"{c_array(data, 'uint8_t')}\n}};\n")
    from chromatic.compiler.blob import decode

    if kernel == "unrolled":
        from chromatic.targets.unrolled import fixed_kernel, float_kernel

        gen = fixed_kernel if target.kernel == "fixed" else float_kernel
        out.append(gen(prefix, decode(data)))
        return "\n".join(out)
    if kernel == "gather":
        from chromatic.targets.gather import gather_kernel

        out.append(gather_kernel(prefix, decode(data)).c_source)
        return "\n".join(out)
    if kernel == "inline":
        from chromatic.targets.inline import inline_kernel

        out.append(inline_kernel(prefix, decode(data)))
        return "\n".join(out)
    out.append(f"static chromatic_model {prefix}_model;\n")
    if target.kernel == "fixed":
        words = sizes.num_colors + sizes.num_biases + 2 * sizes.d0
        out.append(f"""static chromatic_fx_model {prefix}_fx;
static int32_t {prefix}_params[{words}u];
static int32_t {prefix}_scratch[{sizes.scratch_words(target)}u];

int {prefix}_init(void)
{{
    int rc = chromatic_init(&{prefix}_model, {prefix}_blob, sizeof {prefix}_blob);
    if (rc != CHROMATIC_OK) return rc;
    return chromatic_fx_init(&{prefix}_fx, &{prefix}_model, {prefix}_params, {words}u);
}}

int {prefix}_infer(const float *obs, float *act)
{{
    return chromatic_fx_infer(&{prefix}_fx, obs, act, {prefix}_scratch);
}}
""")
    elif kernel == "loadable":
        out.append(f"""static float {prefix}_scratch[{sizes.scratch_words(target)}u];

int {prefix}_init(void)
{{
    uint32_t l;
    int rc = chromatic_init(&{prefix}_model, {prefix}_blob, sizeof {prefix}_blob);
    /* Direct gather on microcontrollers: no bucket scratch, and cheapest per edge there. */
    for (l = 0; rc == CHROMATIC_OK && l < {prefix}_model.num_layers; l++)
        rc = chromatic_set_block_rows(&{prefix}_model, l, 0u);
    return rc;
}}

int {prefix}_infer(const float *obs, float *act)
{{
    return chromatic_infer(&{prefix}_model, obs, act, {prefix}_scratch);
}}
""")
    return "\n".join(out)


def dense_source(data: bytes, blob: Blob, prefix: str) -> str:
    """The dense float32 baseline of the same policy (expanded weights, targets/c/dense.c)."""
    p = blob.policy
    ws = np.concatenate([w.ravel() for w in p.weight_matrices()])
    bs = np.concatenate([layer.bias for layer in p.layers])
    acts = [int(p.activation(l)) for l in range(len(p.layers))]
    return header(data, f"{prefix}_dense.c -- dense float32 baseline of the same policy.") + f"""
#include "dense.h"

static const uint32_t sizes[{len(p.layer_sizes)}] = {{{', '.join(map(str, p.layer_sizes))}}};
static const float weights[{ws.size}] = {{
{c_array(ws, 'float', 6)}
}};
static const float biases[{bs.size}] = {{
{c_array(bs, 'float', 6)}
}};
static const float mean[{p.layer_sizes[0]}] = {{
{c_array(p.normalization.mean, 'float', 6)}
}};
static const float stdev[{p.layer_sizes[0]}] = {{
{c_array(p.normalization.std, 'float', 6)}
}};
static const uint8_t acts[{len(acts)}] = {{{', '.join(map(str, acts))}}};
static const chromatic_dense dense = {{{len(p.layers)}u, {max(p.layer_sizes)}u, sizes, weights,
                                      biases, mean, stdev, acts}};
static float scratch[{2 * max(p.layer_sizes)}];

int {prefix}_init(void) {{ return 0; }}

int {prefix}_infer(const float *obs, float *act)
{{
    chromatic_dense_infer(&dense, obs, act, scratch);
    return 0;
}}
"""


def c_rows(values: np.ndarray) -> str:
    """A braced initializer per row of a 2-D float array."""
    return ",\n".join("    {" + c_array(row, "float", 6).strip() + "}" for row in values)


def selftest_source(data: bytes, prefix: str, obs: np.ndarray, expected: np.ndarray,
                    reference: np.ndarray, rtol: float, atol: float, bound: float,
                    firmware: bool) -> str:
    """A self-checking main: runs the embedded vectors, prints PASS/FAIL and the max error.

    ``expected`` is what the kernel must produce within rtol/atol (the float reference for
    float kernels, the bit-exact fixed-point model with 0 tolerance for fixed ones);
    ``reference`` is the float64 numpy reference, whose max distance must stay <= ``bound``.
    """
    n, d0 = obs.shape
    dl = expected.shape[1]
    io = ('#include "semihost.h"\n#define PUTS chromatic_sh_puts\n' if firmware else
          '#include <stdio.h>\nstatic void PUTS(const char *s) { fputs(s, stdout); }\n')
    return header(data, "selftest.c -- embedded test vectors from the numpy reference.") + f"""
#include <stdint.h>

#include "{prefix}.h"
{io}
#define N {n}
static const float obs[N][{d0}] = {{
{c_rows(obs)}
}};
static const float expected[N][{dl}] = {{
{c_rows(expected)}
}};
static const float reference[N][{dl}] = {{
{c_rows(reference)}
}};

/* "d.dddde-XX" without printf (no stdio on the firmware). */
static void put_sci(float v)
{{
    char s[16];
    int e = 0, k = 0, i;
    uint32_t m;
    if (v < 0.0f) {{ s[k++] = '-'; v = -v; }}
    if (v > 0.0f) {{
        while (v >= 10.0f) {{ v /= 10.0f; e++; }}
        while (v < 1.0f) {{ v *= 10.0f; e--; }}
    }}
    m = (uint32_t)(v * 10000.0f + 0.5f);
    if (m >= 100000u) {{ m /= 10u; e++; }}
    s[k++] = (char)('0' + m / 10000u);
    s[k++] = '.';
    for (i = 1000; i >= 1; i /= 10) s[k++] = (char)('0' + (m / (uint32_t)i) % 10u);
    s[k++] = 'e';
    s[k++] = e < 0 ? '-' : '+';
    if (e < 0) e = -e;
    s[k++] = (char)('0' + e / 10);
    s[k++] = (char)('0' + e % 10);
    s[k] = 0;
    PUTS(s);
}}

int main(void)
{{
    float act[{dl}], max_err = 0.0f, max_ref = 0.0f;
    int i, j, bad = 0, rc = {prefix}_init();
    if (rc != 0) {{
        PUTS("FAIL: init returned an error\\n");
        return 1;
    }}
    for (i = 0; i < N; i++) {{
        if ({prefix}_infer(obs[i], act) != 0) {{ PUTS("FAIL: infer returned an error\\n"); return 1; }}
        for (j = 0; j < {dl}; j++) {{
            float d = act[j] - expected[i][j], r = act[j] - reference[i][j];
            float a = expected[i][j] < 0.0f ? -expected[i][j] : expected[i][j];
            if (d < 0.0f) d = -d;
            if (r < 0.0f) r = -r;
            if (d > max_err) max_err = d;
            if (r > max_ref) max_ref = r;
            if (d > {atol!r}f + {rtol!r}f * a || !(r <= {bound!r}f)) bad++;
        }}
    }}
    PUTS(bad ? "FAIL" : "PASS");
    PUTS(" {prefix}: {n} vectors, max_err_vs_expected ");
    put_sci(max_err);
    PUTS(" max_err_vs_reference ");
    put_sci(max_ref);
    PUTS(" (bound ");
    put_sci({bound!r}f);
    PUTS(")\\n");
    return bad ? 1 : 0;
}}
"""


def linker_script(template: str, target: Target, flash_bytes: int, ram_bytes: int) -> str:
    assert target.board is not None
    return (template.replace("@TARGET@", target.name)
            .replace("@FLASH_ORIGIN@", hex(target.board.flash_origin))
            .replace("@FLASH_LENGTH@", str(flash_bytes))
            .replace("@RAM_ORIGIN@", hex(target.board.ram_origin))
            .replace("@RAM_LENGTH@", str(ram_bytes)))
