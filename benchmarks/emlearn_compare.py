"""emlearn against chromatic on the same policy, the same flags and the same emulator (issue 16, item 7).

Each policy is compiled to a chromatic blob; the numpy reference (runtime/reference.py) of that
blob is the yardstick. emlearn (PyPI) converts the blob's weights, expanded to dense matrices,
into C: ``loadable`` through ``emlearn.convert`` (the MLPRegressor path), ``inline`` through
``emlearn.net.c_generate_net_inline`` (emlearn's converter refuses inline regressors, its generator
does not). Its C is compiled with the cortex-m4f flags of targets/registry.py and nothing else,
linked with the linker script chromatic's self-test uses, and read by the same code as
``chromatic measure``: targets/footprint.py for flash, static RAM and the stack bound,
targets/emulate.py for the instruction count and the stack high-water mark. Beside it: chromatic's
gather, inline and loadable kernels and its dense float32 baseline (targets/c/dense.c), built by
``chromatic.targets.build.build``, and the gather kernel of the same policy compiled with
``--pack rows``.

emlearn has no input normalization: (obs - mean) / std is folded into its first layer
(W' = W / std, b' = b - W' mean), the cheapest thing an emlearn user can do. emlearn prints every
weight with ``%.6f`` (cgen.constant), so its C carries the weights to 1e-6 absolute, not float32.
emlearn 0.23.2's inline MLP generator raises ValueError (cgen.constant_declare formats the
activation enum's name as an int) and its converter's 'inline' classifier emits the loadable code,
so only emlearn's loadable MLP can be measured; the inline attempt is recorded with its error.

Writes benchmarks/results/emlearn_compare.json and .png. Deterministic; run:
``nice -n 19 .venv/bin/python benchmarks/emlearn_compare.py [--observations 256]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chromatic.compiler.blob import Blob, decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Policy
from chromatic.compiler.policy_file import load_policy
from chromatic.compiler.synth import random_policy
from chromatic.runtime.reference import forward
from chromatic.targets.build import FW_DIR, LDFLAGS, build, run, selftest_vectors
from chromatic.targets.emulate import Emulator, symbols
from chromatic.targets.footprint import elf_footprint, object_symbols
from chromatic.targets.registry import Target, get_target
from chromatic.targets.render import linker_script

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
KERNELS = ("gather", "inline", "loadable")
EMLEARN_METHODS = ("loadable", "inline")
#: emlearn's names of our activations (emlearn.net.ACTIVATION_FUNCTIONS)
EML_ACTIVATION = {Activation.IDENTITY: "identity", Activation.TANH: "tanh", Activation.RELU: "relu"}


@dataclass
class Args:
    """Benchmark settings."""

    observations: int = 256  # random observations (mean + std * N(0, 1.5^2)) per implementation
    dtype: str = "f16"  # the blob's value type; emlearn gets the blob's (rounded) values
    target: str = "cortex-m4f"  # a float firmware target of targets/registry.py


def policies() -> dict[str, Policy]:
    """The two policies compared: issue 16's synthetic 17->41->6 M=17 and a trained one."""
    return {
        "random_17x41x6_c17_seed1": random_policy((17, 41, 6), 17, seed=1),
        "halfcheetah_h41_c17": load_policy(ROOT / "policies" / "halfcheetah_h41_c17.npz"),
    }


class FittedMLP:
    """The attributes of a fitted sklearn MLPRegressor that emlearn's converter reads
    (emlearn.net.convert_sklearn_mlp), so scikit-learn itself is not needed: ``coefs_`` are
    (in, out) matrices as sklearn stores them."""

    def __init__(self, coefs: list[np.ndarray], intercepts: list[np.ndarray], activation: str,
                 out_activation: str):
        self.coefs_, self.intercepts_ = coefs, intercepts
        self.n_layers_ = len(coefs) + 1
        self.activation, self.out_activation_ = activation, out_activation


def dense_mlp(p: Policy) -> FittedMLP:
    """The blob's policy as a dense MLP, normalization folded into the first layer (float64)."""
    ws = [np.asarray(w, np.float64) for w in p.weight_matrices()]
    bs = [np.asarray(layer.bias, np.float64) for layer in p.layers]
    inv = 1.0 / np.asarray(p.normalization.std, np.float64)
    w0 = ws[0] * inv[None, :]
    bs[0] = bs[0] - w0 @ np.asarray(p.normalization.mean, np.float64)
    ws[0] = w0
    acts = [EML_ACTIVATION[p.activation(l)] for l in range(len(p.layers))]
    if len(set(acts[:-1])) != 1:
        raise ValueError(f"emlearn's sklearn path has one hidden activation; found {acts[:-1]}")
    return FittedMLP([w.T.copy() for w in ws], bs, acts[0], acts[-1])


def printed_forward(mlp: FittedMLP, obs: np.ndarray) -> np.ndarray:
    """The MLP in float64 with its values rounded as emlearn prints them (``%.6f``): what the
    generated C would compute without float32 rounding, to attribute emlearn's error."""
    x = np.asarray(obs, np.float64)
    acts = [mlp.activation] * (len(mlp.coefs_) - 1) + [mlp.out_activation_]
    fns: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "identity": lambda v: v, "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0)}
    for w, b, act in zip(mlp.coefs_, mlp.intercepts_, acts, strict=True):
        x = fns[act](x @ np.round(w, 6) + np.round(b, 6))
    return x


def import_emlearn():
    """emlearn, without its side effect: importing it runs ``numpy.seterr(all='raise')``
    (emlearn/bayes.py), which would turn every later float16 underflow in this process into an
    exception. The caller's numpy error state is restored."""
    saved = np.geterr()
    try:
        import emlearn
        import emlearn.net  # noqa: F401
    finally:
        np.seterr(**saved)
    return emlearn


def emlearn_source(mlp: FittedMLP, method: str, prefix: str) -> str:
    """emlearn's generated C for the model plus the two-function API chromatic's harness calls
    (``<prefix>_init`` returns 0: emlearn validates nothing; ``<prefix>_infer(obs, act)``)."""
    emlearn = import_emlearn()
    net = emlearn.net

    model = f"{prefix}_model"
    d0, dl = mlp.coefs_[0].shape[0], mlp.coefs_[-1].shape[1]
    if method == "loadable":
        # emlearn's converter compiles a test program in ./tmp: keep it out of the user's folder
        with tempfile.TemporaryDirectory(prefix="chromatic-emlearn-") as d, contextlib.chdir(d):
            code = emlearn.convert(mlp, kind="MLPRegressor", method="loadable",
                                   return_type="regressor").save(name=model)
        call = f"return (int)eml_net_regress(&{model}, obs, {d0}, act, {dl});"
    elif method == "inline":
        acts = [mlp.activation] * (len(mlp.coefs_) - 1) + [mlp.out_activation_]
        code = net.c_generate_net_inline(acts, mlp.coefs_, mlp.intercepts_, prefix=model)
        call = (f"const EmlError e = {model}_infer(obs, {d0}, {model}_activations1, "
                f"{model}_activations2, {model}_activations_length);\n"
                f"    for (int i = 0; i < {dl}; i++) act[i] = {model}_activations2[i];\n"
                "    return (int)e;")
    else:
        raise ValueError(f"unknown emlearn method {method!r}; expected one of {EMLEARN_METHODS}")
    return (f"/* emlearn {emlearn.__version__} '{method}' model, generated by "
            f"benchmarks/emlearn_compare.py -- do not edit */\n{code}\n\n"
            f"int {prefix}_init(void);\nint {prefix}_infer(const float *obs, float *act);\n"
            f"int {prefix}_init(void) {{ return 0; }}\n"
            f"int {prefix}_infer(const float *obs, float *act)\n{{\n    {call}\n}}\n")


@dataclass(frozen=True)
class Image:
    """One linked implementation: its ELF, API prefix, the symbols its own objects define and
    its stack-usage files (for targets/footprint.py), and which of those symbols are weights."""

    name: str
    elf: Path
    prefix: str
    ours: frozenset[str]
    stack_files: tuple[Path, ...]
    weights: frozenset[str]


def build_emlearn(p: Policy, method: str, target: Target, out: Path) -> Image:
    """emlearn's C compiled with the target's flags alone (-fstack-usage does not change code),
    linked like chromatic's dense.elf: the self-test's linker script, entry at infer."""
    emlearn = import_emlearn()

    out.mkdir(parents=True, exist_ok=True)
    prefix = f"emlearn_{method}"
    src = out / f"{prefix}.c"
    src.write_text(emlearn_source(dense_mlp(p), method, prefix))
    obj = out / f"{prefix}.o"
    run([target.cc, *target.cflags, "-fstack-usage", "-I", emlearn.includedir, "-c", str(src),
         "-o", str(obj)], f"compile {src.name}")
    assert target.board is not None
    ld = out / "firmware.ld"
    ld.write_text(linker_script((FW_DIR / "firmware.ld.in").read_text(), target,
                                target.flash_bytes, target.ram_bytes))
    elf = out / f"{prefix}.elf"
    run([target.cc, *target.cflags, "-nostartfiles", "--specs=nano.specs", "-T", str(ld), *LDFLAGS,
         f"-Wl,--undefined={prefix}_init", f"-Wl,-e,{prefix}_infer", str(obj), "-lm", "-lc", "-lgcc",
         "-o", str(elf)], f"link {elf.name}")
    ours = object_symbols(obj)
    weights = {s for s in ours if s.endswith(("_weights", "_biases"))}
    return Image(f"emlearn {method}", elf, prefix, frozenset(ours), (out / f"{prefix}.su",),
                 frozenset(weights))


def build_chromatic(data: bytes, target: Target, out: Path) -> list[Image]:
    """chromatic's kernels and its dense float32 baseline (dense.elf of the first build)."""
    images = []
    for i, k in enumerate(KERNELS):
        r = build(data, target, out / k, kernel=k, dense=(i == 0))
        ours: set[str] = set()
        for o in (r.glue_object, *r.kernel_objects):
            ours |= object_symbols(o)
        images.append(Image(f"chromatic {k}", r.selftest, r.prefix, frozenset(ours), r.stack_files,
                            frozenset({f"{r.prefix}_blob"})))
        if i == 0:
            obj_dir = r.glue_object.parent
            dobjs = (obj_dir / "dense.o", obj_dir / f"{r.prefix}_dense.o")
            dours: set[str] = set()
            for o in dobjs:
                dours |= object_symbols(o)
            dense = Image("dense float32", r.selftest.parent / "dense.elf", f"{r.prefix}_dense",
                          frozenset(dours), tuple(o.with_suffix(".su") for o in dobjs),
                          frozenset({"weights", "biases", "mean", "stdev"}))
    return [*images, dense]


def measure_image(img: Image, target: Target, obs: np.ndarray, reference: np.ndarray) -> dict:
    """Footprint (targets/footprint.py) and, in one emulator (targets/emulate.py), init then one
    counted infer per observation: instructions, stack high-water, max |action - reference|."""
    fp = elf_footprint(img.elf, img.prefix, set(img.ours), img.stack_files)
    syms = symbols(img.elf)
    weights = sum(syms[s].size for s in img.weights if s in syms)
    data_image = sum(s.size for s in syms.values() if s.name in img.ours and s.section == ".data")
    emu = Emulator(img.elf, target.cpu)
    init_stack = emu.init(img.prefix)
    dl = reference.shape[1]
    o = emu.alloc(b"\0" * 4 * obs.shape[1])
    a = emu.alloc(b"\0" * 4 * dl)
    counts, outs, infer_stack = [], [], 0
    for x in obs:
        emu.uc.mem_write(o, np.asarray(x, "<f4").tobytes())
        emu.uc.mem_write(a, b"\0" * 4 * dl)
        rc = emu.call(f"{img.prefix}_infer", o, a, count=True)
        if rc != 0:
            raise RuntimeError(f"{img.name}: infer returned {rc}")
        counts.append(emu.count)
        infer_stack = max(infer_stack, emu.stack_bytes)
        outs.append(emu.read_floats(a, dl))
    err = np.abs(np.asarray(outs, np.float64) - reference)
    stack = max(init_stack, infer_stack)
    return {
        "flash_bytes": fp["flash_bytes"] + data_image,
        "flash_code_bytes": fp["flash_bytes"] - weights,
        "flash_weights_bytes": weights,
        "flash_data_image_bytes": data_image,
        "flash_library_bytes": fp["flash_library_bytes"],
        "flash_validate_bytes": fp["flash_validate_bytes"],
        "ram_static_bytes": fp["ram_static_bytes"],
        "ram_stack_measured_bytes": stack,
        "ram_init_stack_measured_bytes": init_stack,
        "ram_infer_stack_measured_bytes": infer_stack,
        "ram_stack_bound_bytes": fp["ram_stack_bytes"],
        "ram_bytes": fp["ram_static_bytes"] + stack,
        "instructions_first": counts[0],
        "instructions_median": int(np.median(counts)),
        "instructions_min": int(min(counts)),
        "instructions_max": int(max(counts)),
        "max_abs_diff_vs_reference": float(err.max()),
    }


def compare(p: Policy, args: Args, tmp: Path) -> dict:
    """Every implementation of one policy, measured on the same observations."""
    target = get_target(args.target)
    data = compile_policy(p, dtype=args.dtype)
    blob: Blob = decode(data)
    obs, *_ = selftest_vectors(blob, target, n=args.observations)
    reference = forward(blob.policy, obs.astype(np.float64))
    images = build_chromatic(data, target, tmp / "chromatic")
    # the same policy with --pack rows (the same colors, every row on a byte): the gather
    # kernel compiles the constant bit phase in; same observations, same reference
    r = build(compile_policy(p, dtype=args.dtype, pack="rows"), target, tmp / "rows", kernel="gather")
    ours = set().union(*(object_symbols(o) for o in (r.glue_object, *r.kernel_objects)))
    images.insert(1, Image("chromatic gather, --pack rows", r.selftest, r.prefix, frozenset(ours),
                           r.stack_files, frozenset({f"{r.prefix}_blob"})))
    failed: dict[str, dict] = {}
    for m in EMLEARN_METHODS:
        try:
            images.append(build_emlearn(blob.policy, m, target, tmp / f"emlearn_{m}"))
        except ValueError as e:  # emlearn 0.23.2's inline generator: see the module docstring
            failed[f"emlearn {m}"] = {"error": f"emlearn's generator raised ValueError: {e}"}
    rows = {img.name: measure_image(img, target, obs, reference) for img in images} | failed
    printed = printed_forward(dense_mlp(blob.policy), obs)
    for k in rows:
        if k.startswith("emlearn") and "error" not in rows[k]:
            rows[k]["max_abs_diff_printed_weights_float64_vs_reference"] = float(
                np.abs(printed - reference).max())
    return {"layer_sizes": list(blob.policy.layer_sizes), "colors": int(blob.policy.palette.size),
            "blob_bytes": len(data), "dense_params": int(sum(w.size + b.size for w, b in zip(
                blob.policy.weight_matrices(), (layer.bias for layer in blob.policy.layers),
                strict=True))),
            "implementations": rows}


def table(name: str, run_: dict) -> list[str]:
    """A markdown table of one policy's implementations (the one docs/targets.md quotes)."""
    lines = [f"**{name}** ({'->'.join(map(str, run_['layer_sizes']))}, M = {run_['colors']}, "
             f"{run_['blob_bytes']} B blob)", "",
             "| implementation | instr/inference (median) | flash code + weights = total | "
             "static RAM | stack (bound) | max abs diff |", "|---|---:|---:|---:|---:|---:|"]
    for k, e in run_["implementations"].items():
        if "error" in e:
            lines.append(f"| {k} | does not generate: {e['error']} | | | | |")
            continue
        lines.append(
            f"| {k} | {e['instructions_median']:,} | {e['flash_code_bytes']:,} + "
            f"{e['flash_weights_bytes']:,} = {e['flash_bytes']:,} B | {e['ram_static_bytes']:,} B | "
            f"{e['ram_stack_measured_bytes']:,} B ({e['ram_stack_bound_bytes']:,}) | "
            f"{e['max_abs_diff_vs_reference']:.1e} |")
    return lines


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["policies"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    fields = (("instructions_median", "instructions per inference (unicorn, median)"),
              ("flash_bytes", "flash bytes (code + weights)"), ("ram_bytes", "RAM bytes (static + stack)"))
    width = 0.8 / len(runs)
    for ax, (field, label) in zip(axes, fields, strict=True):
        for i, (name, r) in enumerate(runs.items()):
            impls = [k for k, e in r["implementations"].items() if "error" not in e]
            xs = np.arange(len(impls)) + i * width
            ax.bar(xs, [r["implementations"][k][field] for k in impls], width, label=name)
        ax.set_xticks(np.arange(len(impls)) + width * (len(runs) - 1) / 2, impls, rotation=30,
                      ha="right", fontsize=8)
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"chromatic vs emlearn on {results['target']} ({results['dtype']} blob), same flags")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def tree() -> dict[str, object]:
    """The commit measured, and whether the code the figures depend on had local edits
    (None outside a git checkout, e.g. a ``git archive`` export)."""
    def git(*a: str) -> str | None:
        r = subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "targets", "compiler", "runtime",
                "benchmarks/emlearn_compare.py")
    return {"commit": commit, "local_edits": None if dirty is None else bool(dirty)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--observations", type=int, default=Args.observations)
    ap.add_argument("--dtype", default=Args.dtype, choices=("f16", "f32"))
    ap.add_argument("--target", default=Args.target)
    args = Args(**vars(ap.parse_args()))
    emlearn = import_emlearn()

    target = get_target(args.target)
    gcc = subprocess.run([target.cc, "--version"], capture_output=True, text=True).stdout
    results: dict = {"machine": platform.platform(), "compiler": gcc.splitlines()[0],
                     "target": target.name, "cflags": list(target.cflags), "ldflags": list(LDFLAGS),
                     "emlearn": emlearn.__version__, "dtype": args.dtype,
                     "observations": args.observations, **tree(), "policies": {}}
    with tempfile.TemporaryDirectory(prefix="chromatic-emlearn-") as tmp:
        for name, p in policies().items():
            results["policies"][name] = compare(p, args, Path(tmp) / name)
            lines = table(name, results["policies"][name])
            print("\n".join(lines) + "\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "emlearn_compare.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, RESULTS / "emlearn_compare.png")


if __name__ == "__main__":
    main()
