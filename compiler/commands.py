"""`chromatic compile | infer | measure`: the compiler's subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from chromatic.atomic import atomic_write_bytes, atomic_write_with
from chromatic.compiler.bits import bit_report
from chromatic.compiler.blob import Blob, decode
from chromatic.compiler.compile import compile_policy
from chromatic.errors import ChromaticError
from chromatic.compiler.policy_file import load_policy

ARROW = "\u2192"


def read_file(path: str, what: str, limit: int = 1 << 30) -> bytes:
    """Read a user's file with one-line errors (missing, unreadable, absurdly large)."""
    p = Path(path)
    try:
        if p.stat().st_size > limit:
            raise ChromaticError(f"{path}: {what} is larger than {limit} bytes")
        return p.read_bytes()
    except FileNotFoundError:
        raise ChromaticError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise ChromaticError(f"{path}: is a directory, expected a {what}") from None
    except OSError as e:
        raise ChromaticError(f"{path}: cannot read {what} ({e.strerror})") from None


def read_blob(path: str) -> tuple[bytes, Blob]:
    data = read_file(path, "blob file")
    try:
        return data, decode(data)
    except ChromaticError as e:
        raise ChromaticError(f"{path}: {e}") from None


def describe(blob: Blob) -> str:
    p = blob.policy
    sizes = ARROW.join(str(s) for s in p.layer_sizes)
    return (
        f"{sizes}  {p.structure.name.lower()}  M={p.num_colors}  {blob.dtype.label}  "
        f"{blob.index_bits}-bit indices ({blob.pack})"
    )


# -- compile --------------------------------------------------------------------------------
def cmd_compile(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    data = compile_policy(policy, dtype=args.dtype, pack=args.pack)
    atomic_write_bytes(args.output, data)
    print(f"wrote {args.output}: {len(data)} bytes ({8 * len(data)} bits)  {describe(decode(data))}")
    return 0


# -- infer ----------------------------------------------------------------------------------
def load_observations(path: str) -> np.ndarray:
    read_file(path, "observation file")  # uniform errors for missing/unreadable files
    try:
        obs = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ChromaticError(f"{path}: not a readable .npy array ({e})") from None
    if not isinstance(obs, np.ndarray) or obs.dtype.kind not in "fiu":
        raise ChromaticError(f"{path}: expected a numeric .npy array")
    if obs.ndim == 1:
        obs = obs[None, :]
    if obs.ndim != 2:
        raise ChromaticError(f"{path}: expected an N x d0 array, found shape {obs.shape}")
    if not np.isfinite(obs).all():
        raise ChromaticError(f"{path}: observations contain NaN or inf")
    return obs


def cmd_infer(args: argparse.Namespace) -> int:
    from chromatic.runtime import load

    data, blob = read_blob(args.blob)
    obs = load_observations(args.input)
    d0 = blob.policy.layer_sizes[0]
    if obs.shape[1] != d0:
        raise ChromaticError(f"{args.input}: observations have {obs.shape[1]} columns, the blob expects {d0}")
    actions = load(data, args.runtime).batch(obs)
    atomic_write_with(args.output, lambda f: np.save(f, actions))
    print(f"wrote {args.output}: {actions.shape[0]} x {actions.shape[1]} actions ({args.runtime} runtime)")
    return 0


# -- measure --------------------------------------------------------------------------------
def cmd_measure(args: argparse.Namespace) -> int:
    data, blob = read_blob(args.blob)
    bits = bit_report(blob)
    report: dict[str, object] = {"blob": args.blob, "policy": describe(blob), **bits.as_dict()}
    lines = [
        f"policy         {describe(blob)}",
        f"paper_bits     {bits.paper_bits:>10,}   paper Table 2 accounting",
        f"blob_bits      {bits.blob_bits:>10,}   8 x file size: "
        + " + ".join(f"{k} {v:,}" for k, v in bits.parts.items() if v),
        f"weight_params  {bits.weight_params:>10,}",
        f"compression    {100 * bits.compression:>9.1f}%   "
        "1 - (params + hidden biases) / (edges + hidden biases)",
    ]
    if args.latency:
        from chromatic.runtime.latency import latency_report

        extra, extra_lines = latency_report(data, quick=args.quick)
        report.update(extra)
        lines += extra_lines
    if args.target:
        from chromatic.targets.measure import target_report

        extra, extra_lines = target_report(data, args.target)
        report.update(extra)
        lines += extra_lines
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print("\n".join(lines))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile a policy file (.npz) into a blob (.cblob)")
    p.add_argument("policy", help="policy file (.npz, docs/policy-format.md)")
    p.add_argument("-o", "--output", required=True, help="blob file to write")
    p.add_argument(
        "--dtype",
        choices=("f32", "f16"),
        default="f32",
        help="storage of palette, biases, normalization (f32 is bit-exact)",
    )
    p.add_argument(
        "--pack",
        choices=("bits", "bytes"),
        default="bits",
        help="indices at ceil(log2 M) bits, or whole bytes for faster decoding",
    )
    p.set_defaults(handler=cmd_compile)

    p = sub.add_parser("infer", help="run a blob on a batch of observations")
    p.add_argument("blob")
    p.add_argument("--input", required=True, help="observations, N x d0 .npy")
    p.add_argument("--output", required=True, help="actions to write, N x dL .npy")
    p.add_argument("--runtime", choices=("numpy", "numba", "c"), default="numpy")
    p.set_defaults(handler=cmd_infer)

    p = sub.add_parser("measure", help="bits (paper and honest), latency, and target footprint")
    p.add_argument("blob")
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    p.add_argument(
        "--no-latency", dest="latency", action="store_false", help="skip the host latency benchmark"
    )
    p.add_argument("--quick", action="store_true", help="fewer latency repetitions")
    p.add_argument("--target", help="also build for this target and report flash, RAM, instructions")
    p.set_defaults(handler=cmd_measure)
