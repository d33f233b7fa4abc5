"""The C runtime: build targets/c with the system gcc on first use and call it through cffi.

The kernel sources are compiled to objects with the strict flags below (the same flags
for the chromatic kernel and the dense baseline), then linked into a cffi API-mode
extension, whose calls cost a fraction of a microsecond. The build is cached under
``$CHROMATIC_CACHE`` (default ``~/.cache/chromatic``) in a folder named by a hash of
the sources, flags, compiler and Python, and is published with an atomic rename, so
concurrent first uses never see half a build.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from chromatic.compiler.blob import blob_bytes, decode
from chromatic.errors import BlobError, ChromaticError
from chromatic.runtime import check_obs

SOURCE_DIR = Path(__file__).resolve().parent.parent / "targets" / "c"
_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)
SOURCES = ("chromatic.c", "chromatic_expand.c", "dense.c", "bench.c")
HEADERS = ("chromatic.h", "chromatic_expand.h", "chromatic_load.h", "chromatic_tanh.h", "dense.h", "bench.h")
WARNINGS = (
    "-Wall", "-Wextra", "-Wpedantic", "-Wdouble-promotion", "-Wfloat-conversion",
    "-Wconversion", "-Wshadow", "-Werror",
)
CFLAGS = ("-std=c99", "-O2", *WARNINGS, "-fPIC")

CDEF = """
typedef struct {
    uint32_t in, out, bit_offset, row_bits, color_offset, buckets;
    uint8_t activation, block_rows;
    ...;
} chromatic_layer;
typedef struct {
    size_t len;
    uint8_t structure, dtype, flags, index_bits;
    uint32_t num_layers, num_colors, max_width;
    chromatic_layer layers[...];
    ...;
} chromatic_model;
typedef struct {
    const chromatic_model *model;
    const float *weights, *biases, *mean, *std;
} chromatic_expanded;
typedef struct {
    uint32_t num_layers, max_width;
    const uint32_t *sizes;
    const float *weights, *biases, *mean, *std;
    const uint8_t *activations;
} chromatic_dense;
int chromatic_init(chromatic_model *m, const uint8_t *blob, size_t len);
size_t chromatic_scratch_floats(const chromatic_model *m);
int chromatic_infer(const chromatic_model *m, const float *obs, float *act, float *scratch);
int chromatic_infer_batch(const chromatic_model *m, const float *obs, float *act, size_t n,
                          float *scratch);
unsigned chromatic_choose_block_rows(uint32_t num_colors, uint32_t out, uint32_t in);
int chromatic_set_block_rows(chromatic_model *m, uint32_t layer, unsigned k);
uint32_t chromatic_crc32(const uint8_t *data, size_t len);
const char *chromatic_strerror(int code);
size_t chromatic_expand_floats(const chromatic_model *m);
int chromatic_expand(chromatic_expanded *e, const chromatic_model *m, float *workspace, size_t floats);
int chromatic_expanded_infer(const chromatic_expanded *e, const float *obs, float *act, float *scratch);
int chromatic_expanded_infer_batch(const chromatic_expanded *e, const float *obs, float *act, size_t n,
                                   float *scratch);
void chromatic_dense_infer(const chromatic_dense *d, const float *obs, float *act, float *scratch);
int64_t chromatic_bench_infer(const chromatic_model *m, const float *obs, float *act,
                              float *scratch, uint32_t reps);
int64_t chromatic_bench_expanded(const chromatic_expanded *e, const float *obs, float *act,
                                 float *scratch, uint32_t reps);
int64_t chromatic_bench_dense(const chromatic_dense *d, const float *obs, float *act,
                              float *scratch, uint32_t reps);
int chromatic_bench_noop(const float *obs, float *act);
int chromatic_py_infer_f64(const chromatic_model *m, const chromatic_expanded *e, const double *obs,
                           float *obs32, float *act, float *scratch);
"""

# Compiled into the cffi module only: one call for a float64 observation (MuJoCo's), converted
# to float32 with saturation (beyond float32's range -> +-FLT_MAX, not inf; NaN stays NaN
# for the kernel's bad-observation rule) without a numpy temporary, then run on the expanded
# path (e != NULL) or in place.
PY_GLUE = """
#include <float.h>
int chromatic_py_infer_f64(const chromatic_model *m, const chromatic_expanded *e, const double *obs,
                           float *obs32, float *act, float *scratch)
{
    uint32_t j;
    if (m == NULL || m->num_layers == 0u) return CHROMATIC_ERR_ARGUMENT;
    for (j = 0; j < m->layers[0].in; j++) {
        double x = obs[j];
        obs32[j] = x > (double)FLT_MAX ? FLT_MAX : x < -(double)FLT_MAX ? -FLT_MAX : (float)x;
    }
    if (e != NULL) return chromatic_expanded_infer(e, obs32, act, scratch);
    return chromatic_infer(m, obs32, act, scratch);
}
"""


def cache_root() -> Path:
    """Where builds live: $CHROMATIC_CACHE, else ~/.cache/chromatic."""
    env = os.environ.get("CHROMATIC_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "chromatic"


def compiler() -> str:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise ChromaticError(f"the C runtime needs a C compiler: {cc!r} not found (set CC)")
    return cc


def build_key(cc: str) -> str:
    """Hash of everything that changes the built module."""
    h = hashlib.sha256()
    for name in SOURCES + HEADERS:
        h.update(name.encode() + b"\0" + (SOURCE_DIR / name).read_bytes())
    try:
        version = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise ChromaticError(f"cannot run the C compiler {cc!r}: {e}") from None
    for part in (" ".join(CFLAGS), CDEF, PY_GLUE, version, sys.version, sysconfig.get_platform()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def _build(cc: str, key: str, dest: Path) -> None:
    """Compile the objects with CFLAGS, link the cffi module, publish it atomically at dest."""
    import cffi

    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".build-") as tmp:
        objects = []
        for src in SOURCES:
            obj = Path(tmp) / (Path(src).stem + ".o")
            cmd = [cc, *CFLAGS, "-c", str(SOURCE_DIR / src), "-o", str(obj)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                first = (proc.stderr.strip().splitlines() or ["(no output)"])[0]
                raise ChromaticError(f"building the C kernel failed ({src}): {first}")
            objects.append(str(obj))
        ffi = cffi.FFI()
        ffi.cdef(CDEF)
        ffi.set_source(
            f"_chromatic_c_{key}",
            '#include "chromatic.h"\n#include "chromatic_expand.h"\n#include "dense.h"\n#include "bench.h"\n'
            + PY_GLUE,
            include_dirs=[str(SOURCE_DIR)],
            extra_objects=objects,
        )
        old_cc = os.environ.get("CC")
        os.environ["CC"] = cc
        try:
            built = Path(ffi.compile(tmpdir=tmp, verbose=False))
        except Exception as e:  # distutils errors carry the compiler's message
            raise ChromaticError(f"building the cffi wrapper failed: {e}") from None
        finally:
            if old_cc is None:
                os.environ.pop("CC", None)
            else:
                os.environ["CC"] = old_cc
        staged = Path(tmp) / "staged"
        staged.mkdir()
        shutil.copy2(built, staged / dest.name)
        try:
            os.replace(staged / dest.name, dest)
        except OSError as e:
            raise ChromaticError(f"cannot write the C kernel cache at {dest}: {e.strerror}") from None


@cache
def module() -> ModuleType:
    """The compiled cffi module (built on first use, then loaded from the cache)."""
    cc = compiler()
    key = build_key(cc)
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    dest = cache_root() / f"c-{key}" / f"_chromatic_c_{key}{suffix}"
    if not dest.exists():
        _build(cc, key, dest)
    spec = importlib.util.spec_from_file_location(f"_chromatic_c_{key}", dest)
    if spec is None or spec.loader is None:
        raise ChromaticError(f"cannot load the C kernel from {dest}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class CRunner:
    """A blob validated and run by the C runtime (not thread-safe: one scratch).

    ``chromatic_init`` (targets/c/chromatic.c) validates the blob; then, by default
    (``expand=True``), ``chromatic_expand`` (targets/c/chromatic_expand.c) decodes it once
    into a dense float32 workspace and every call runs the dense kernel over that: on a host
    the workspace (4 bytes per edge) is cheap and decoding packed indices per call is not
    (docs/c-api.md). ``expand=False``, or :meth:`set_block_rows`, runs the blob in place with
    the firmware's loadable kernel (``chromatic_infer``), reading the packed indices per call.
    The expanded path sums each row in the in-place kernel's order, so the two give
    bit-identical actions; it is taken only where the in-place kernel runs every layer by direct
    gather or an implicit structure (the cost model's choice except for very few colors), so
    the runtime's actions -- and the zoo's returns on a chaotic gait -- do not depend on the path.
    """

    def __init__(self, blob: bytes, expand: bool = True) -> None:
        blob = blob_bytes(blob)
        mod = module()
        self.ffi, self.lib = mod.ffi, mod.lib
        self._blob = self.ffi.new("uint8_t[]", max(len(blob), 1))  # aligned, owned copy
        self.ffi.memmove(self._blob, blob, len(blob))
        self.model = self.ffi.new("chromatic_model *")
        rc = self.lib.chromatic_init(self.model, self._blob, len(blob))
        if rc != 0:
            raise BlobError(f"C kernel rejected the blob: {self.strerror(rc)} (code {rc})", rc)
        self._bytes = blob
        m = self.model
        self.layer_sizes = (int(m.layers[0].__getattribute__("in")),) + tuple(
            int(m.layers[l].out) for l in range(m.num_layers)
        )
        self._d0, self._dl = self.layer_sizes[0], self.layer_sizes[-1]
        self.expanded: Any = self.ffi.NULL  # chromatic_expanded * while on the expanded path
        if expand and not any(self.block_rows):  # mailman layers: in place (see above)
            floats = self.lib.chromatic_expand_floats(self.model)
            self._workspace = self.ffi.new("float[]", max(1, floats))
            expanded = self.ffi.new("chromatic_expanded *")
            self._check(self.lib.chromatic_expand(expanded, self.model, self._workspace, floats))
            self.expanded = expanded
        self._alloc_scratch()

    @functools.cached_property
    def policy(self):  # noqa: ANN201 - Policy
        """The decoded policy (Python's decoder, on demand: the C verdict stays C's own)."""
        return decode(self._bytes).policy

    @property
    def path(self) -> str:
        """``"expanded"`` (the default: dense kernel over the decoded workspace) or ``"in_place"``."""
        return "expanded" if self.expanded != self.ffi.NULL else "in_place"

    def _alloc_scratch(self) -> None:
        self._scratch = self.ffi.new("float[]", max(1, self.lib.chromatic_scratch_floats(self.model)))
        # One observation and one action buffer with their cffi pointers made once: a control
        # loop's call then costs one conversion copy in, the C call and one copy out.
        self._obs, self._act = np.empty(self._d0, np.float32), np.empty(self._dl, np.float32)
        fb = self.ffi.from_buffer
        self._obs_ptr, self._act_ptr = fb("float[]", self._obs), fb("float[]", self._act)

    def strerror(self, rc: int) -> str:
        return self.ffi.string(self.lib.chromatic_strerror(rc)).decode()

    @property
    def block_rows(self) -> tuple[int, ...]:
        """k per layer (0 = direct gather) of the in-place kernel, as the cost model or
        set_block_rows chose."""
        return tuple(int(self.model.layers[l].block_rows) for l in range(self.model.num_layers))

    def set_block_rows(self, layer: int, k: int) -> None:
        """Run in place with k rows per mailman block in ``layer`` (tests, experiments)."""
        rc = self.lib.chromatic_set_block_rows(self.model, layer, k)
        if rc != 0:
            raise ChromaticError(f"block rows {k} for layer {layer}: {self.strerror(rc)}")
        self.expanded = self.ffi.NULL
        self._workspace = None
        self._alloc_scratch()

    def _check(self, rc: int) -> None:
        if rc != 0:
            raise ChromaticError(f"C kernel: {self.strerror(rc)} (code {rc})")

    def _infer(self) -> None:
        if self.expanded != self.ffi.NULL:
            self._check(self.lib.chromatic_expanded_infer(self.expanded, self._obs_ptr, self._act_ptr,
                                                          self._scratch))
        else:
            self._check(self.lib.chromatic_infer(self.model, self._obs_ptr, self._act_ptr, self._scratch))

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if type(obs) is np.ndarray and obs.shape == (self._d0,) and obs.flags.c_contiguous:
            if obs.dtype is _F64:  # MuJoCo's observations: converted (saturating) inside C
                self._check(self.lib.chromatic_py_infer_f64(
                    self.model, self.expanded, self.ffi.from_buffer("double[]", obs), self._obs_ptr,
                    self._act_ptr, self._scratch))
                return self._act.copy()
            if obs.dtype is _F32:
                np.copyto(self._obs, obs)
                self._infer()
                return self._act.copy()
        np.copyto(self._obs, check_obs(obs, self._d0, False))
        self._infer()
        return self._act.copy()

    def batch(self, obs: np.ndarray) -> np.ndarray:
        obs = check_obs(obs, self._d0, True)
        out = np.empty((obs.shape[0], self._dl), np.float32)
        if obs.shape[0]:
            fb = self.ffi.from_buffer
            x, y, n = fb("float[]", obs), fb("float[]", out), obs.shape[0]
            if self.expanded != self.ffi.NULL:
                self._check(self.lib.chromatic_expanded_infer_batch(self.expanded, x, y, n, self._scratch))
            else:
                self._check(self.lib.chromatic_infer_batch(self.model, x, y, n, self._scratch))
        return out

    def bench(self, obs: np.ndarray, reps: int) -> float:
        """Nanoseconds per inference on this runner's path, timed inside C over ``reps`` calls."""
        obs = check_obs(obs, self._d0, False)
        out = np.empty(self._dl, np.float32)
        fb = self.ffi.from_buffer
        if self.expanded != self.ffi.NULL:
            ns = self.lib.chromatic_bench_expanded(self.expanded, fb("float[]", obs), fb("float[]", out),
                                                   self._scratch, reps)
        else:
            ns = self.lib.chromatic_bench_infer(self.model, fb("float[]", obs), fb("float[]", out),
                                                self._scratch, reps)
        return ns / reps


class DenseC:
    """The dense float32 baseline kernel (targets/c/dense.c) on a policy's expanded weights."""

    def __init__(self, policy: Any) -> None:
        mod = module()
        self.ffi, self.lib = mod.ffi, mod.lib
        sizes = policy.layer_sizes
        self._keep = {
            "sizes": np.asarray(sizes, np.uint32),
            "weights": np.concatenate([w.astype(np.float32).ravel() for w in policy.weight_matrices()]),
            "biases": np.concatenate([layer.bias.astype(np.float32) for layer in policy.layers]),
            "mean": policy.normalization.mean.astype(np.float32),
            "std": policy.normalization.std.astype(np.float32),
            "acts": np.asarray([int(policy.activation(l)) for l in range(len(policy.layers))], np.uint8),
        }
        fb, k = self.ffi.from_buffer, self._keep
        self.dense = self.ffi.new("chromatic_dense *")
        self.dense.num_layers = len(policy.layers)
        self.dense.max_width = max(sizes)
        self.dense.sizes = self.ffi.cast("uint32_t *", fb(k["sizes"]))
        self.dense.weights = fb("float[]", k["weights"])
        self.dense.biases = fb("float[]", k["biases"])
        self.dense.mean = fb("float[]", k["mean"])
        self.dense.std = fb("float[]", k["std"])
        self.dense.activations = self.ffi.cast("uint8_t *", fb(k["acts"]))
        self._scratch = self.ffi.new("float[]", 2 * max(sizes))
        self.layer_sizes = sizes

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = check_obs(obs, self.layer_sizes[0], False)
        out = np.empty(self.layer_sizes[-1], np.float32)
        fb = self.ffi.from_buffer
        self.lib.chromatic_dense_infer(self.dense, fb("float[]", obs), fb("float[]", out), self._scratch)
        return out

    def bench(self, obs: np.ndarray, reps: int) -> float:
        obs = check_obs(obs, self.layer_sizes[0], False)
        out = np.empty(self.layer_sizes[-1], np.float32)
        fb = self.ffi.from_buffer
        ns = self.lib.chromatic_bench_dense(self.dense, fb("float[]", obs), fb("float[]", out),
                                            self._scratch, reps)
        return ns / reps
