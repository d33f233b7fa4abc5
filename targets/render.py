"""Render the files of a build: the API header, the glue with the blob, config, self-test.

Renderers know nothing about training: they get the blob's bytes, its KernelSpec (shapes,
offsets, buffers: targets/spec.py) and the target, and return file texts rendered from the
templates in targets/templates/ (string.Template: C as written, ``${name}`` placeholders).
The glue (glue.c.in) is shared by every kernel: the blob array, then the kernel's own part
(targets/kernels.py). Every generated file starts with the policy's hash and "do not edit".
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from string import Template

import numpy as np

from chromatic.compiler.blob import Blob
from chromatic.targets.kernels import Rendered, get_kernel
from chromatic.targets.registry import Target
from chromatic.targets.spec import KernelSpec
from chromatic.targets.templates import render


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


#: Every header the shipped kernel sources define macros in (include guards too).
MACRO_HEADERS = ("c/chromatic.h", "c/chromatic_tanh.h", "c/chromatic_load.h", "firmware/chromatic_fixed.h")
_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)", re.M)


def kernel_macros() -> tuple[str, ...]:
    """The macros the shipped kernel headers define (a prefix's upper case must not reach them)."""
    here = Path(__file__).resolve().parent
    return tuple(sorted({n for h in MACRO_HEADERS for n in _DEFINE.findall((here / h).read_text())}))


def kernel_symbol(prefix: str, name: str) -> str:
    """The name a kernel function links under in a build with this prefix."""
    return f"{prefix}_{name}"


def config_header(data: bytes, prefix: str, spec: KernelSpec, target: Target, kernel: str) -> str:
    """<prefix>_config.h: every setting the kernel sources read, and the symbol renames.

    Everything that changes the compiled code lives here rather than in -D flags, so that
    compiling src/ with the target's CPU flags alone gives the sizes `measure` reports; the
    renames (zlib's Z_PREFIX idea) let several policies' src/ folders link into one image."""
    settings = render("config_fixed.h", index_bits=spec.index_bits) if target.kernel == "fixed" else ""
    return render("config.h", header=header(data, f"{prefix}_config.h -- kernel settings and symbol "
                                                  f"names for target {target.name}, kernel {kernel}."),
                  guard=f"{prefix.upper()}_CONFIG_H", num_layers=spec.num_layers, settings=settings,
                  renames="\n".join(f"#define {n} {kernel_symbol(prefix, n)}" for n in kernel_symbols()))


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
    return render("make.mk", prefix=prefix, var=var, banner=banner(data), target=target.name,
                  sources=" ".join(f"$(CHROMATIC_DIR_{var}){s}" for s in sources),
                  cflags=" ".join(target.cflags))


def cmake_fragment(data: bytes, prefix: str, target: Target, sources: list[str]) -> str:
    """<prefix>.cmake: the same for CMake (include() it, then add the list to a target)."""
    return render("cmake", prefix=prefix, banner=banner(data), target=target.name,
                  sources="\n".join(f'    "${{CMAKE_CURRENT_LIST_DIR}}/{s}"' for s in sources),
                  cflags=" ".join(target.cflags))


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


def scratch_words(spec: KernelSpec, target: Target) -> int:
    """The loadable kernel's scratch (words): ping-pong activations, and the fixed-point
    kernel's per-color sums."""
    if target.kernel == "fixed":
        return 2 * spec.max_width + spec.num_colors
    return 2 * spec.max_width  # direct gather for stored partitions (no buckets on MCUs)


def fixed_param_words(spec: KernelSpec) -> int:
    """The fixed-point kernel's parameters in RAM (words): palette, biases, mean and 1/std."""
    return spec.num_colors + spec.num_biases + 2 * spec.d0


def model_header(data: bytes, prefix: str, spec: KernelSpec) -> str:
    """<prefix>.h: the API (api.h.in)."""
    return render("api.h", header=header(data, f"{prefix}.h -- the compiled policy's API."),
                  P=prefix.upper(), prefix=prefix, d0=spec.d0, dl=spec.dl, blob_bytes=len(data))


def render_kernel(spec: KernelSpec, prefix: str, target: Target, kernel: str) -> Rendered:
    """The kernel's code for this policy (targets/kernels.py)."""
    return get_kernel(kernel).render(spec, prefix, target)


def model_source(data: bytes, prefix: str, spec: KernelSpec, target: Target, kernel: str,
                 rendered: Rendered | None = None) -> str:
    """<prefix>.c, the one glue of every kernel (glue.c.in): the blob array, then the
    kernel's init/infer."""
    if rendered is None:
        rendered = render_kernel(spec, prefix, target, kernel)
    includes = '#include "chromatic_fixed.h"\n\n' if target.kernel == "fixed" else ""
    return render("glue.c", header=header(data, f"{prefix}.c -- blob and glue for target "
                                                f"{target.name}, kernel {kernel}."),
                  prefix=prefix, includes=includes, blob_bytes=len(data),
                  blob_array=c_array(data, "uint8_t"),
                  kernel=rendered.glue.removesuffix("\n"))  # glue.c.in ends the line


def dense_source(data: bytes, blob: Blob, prefix: str) -> str:
    """The dense float32 baseline of the same policy (expanded weights, targets/c/dense.c)."""
    p = blob.policy
    ws = np.concatenate([w.ravel() for w in p.weight_matrices()])
    bs = np.concatenate([layer.bias for layer in p.layers])
    acts = [int(p.activation(l)) for l in range(len(p.layers))]
    return render("dense.c", header=header(data, f"{prefix}_dense.c -- dense float32 baseline of "
                                                 "the same policy."),
                  prefix=prefix, num_sizes=len(p.layer_sizes), sizes=", ".join(map(str, p.layer_sizes)),
                  num_weights=ws.size, weights=c_array(ws, "float", 6),
                  num_biases=bs.size, biases=c_array(bs, "float", 6), d0=p.layer_sizes[0],
                  mean=c_array(p.normalization.mean, "float", 6),
                  stdev=c_array(p.normalization.std, "float", 6),
                  num_layers=len(acts), acts=", ".join(map(str, acts)),
                  max_width=max(p.layer_sizes), scratch=2 * max(p.layer_sizes))


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
    return render("selftest.c", header=header(data, "selftest.c -- embedded test vectors from the "
                                                    "numpy reference."),
                  prefix=prefix, io=render("selftest_io_semihost.c" if firmware else "selftest_io_stdio.c"),
                  n=n, d0=d0, dl=dl, obs=c_rows(obs), expected=c_rows(expected),
                  reference=c_rows(reference), atol=repr(atol), rtol=repr(rtol), bound=repr(bound))


def linker_script(template: str, target: Target, flash_bytes: int, ram_bytes: int) -> str:
    """firmware.ld from the text of targets/firmware/firmware.ld.in (string.Template, as the
    templates of targets/templates/)."""
    assert target.board is not None
    return Template(template).substitute(
        TARGET=target.name, FLASH_ORIGIN=hex(target.board.flash_origin), FLASH_LENGTH=flash_bytes,
        RAM_ORIGIN=hex(target.board.ram_origin), RAM_LENGTH=ram_bytes)
