"""`chromatic compile`: the compiler stage's subcommand (see chromatic/cli.py).

Registering costs nothing but argparse: the handler imports the compiler when it runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chromatic.compiler.blob import Blob
    from chromatic.compiler.ir import Policy


def cmd_compile(args: argparse.Namespace) -> int:
    from chromatic.atomic import atomic_write_bytes
    from chromatic.compiler.bits import describe
    from chromatic.compiler.blob import decode
    from chromatic.compiler.compile import compile_policy
    from chromatic.compiler.policy_file import load_policy
    from chromatic.compiler.sidecar import sidecar_bytes, sidecar_path
    from chromatic.errors import ChromaticError

    # chromatic/cli.py checked both outputs before any work, so neither is written if one cannot be.
    sidecar = sidecar_path(args.output)
    policy = load_policy(args.policy)
    data = compile_policy(policy, dtype=args.dtype, pack=args.pack, relabel=not args.keep_unused_colors)
    try:  # built before anything is written: one too large for `run` writes neither file
        side = sidecar_bytes(data, policy.metadata)
    except ChromaticError as e:
        raise ChromaticError(f"{args.policy}: {e}") from None
    atomic_write_bytes(args.output, data)
    atomic_write_bytes(sidecar, side)  # after the blob: see sidecar.py
    blob = decode(data)
    print(f"wrote {args.output}: {len(data)} bytes ({8 * len(data)} bits)  {describe(blob)}")
    print(relabel_summary(policy, blob))
    env = policy.metadata.get("env_id")
    print(f"wrote {sidecar}: " + (f"env {env}" if env else "no env_id in the policy file (run needs --env)"))
    return 0


def relabel_summary(policy: Policy, blob: Blob) -> str:
    """One line: the colors the partition uses, and the bits before and after relabelling."""
    from chromatic.compiler.blob import index_width, layout
    from chromatic.compiler.passes.relabel import used_colors

    m, k = policy.num_colors, int(used_colors(policy).sum())
    if policy.structure.implicit:
        return f"relabel: {policy.structure.name.lower()} uses all M={m} colors by construction"
    b1, dict1, total1 = blob.index_bits, 8 * blob.layout.dictionary, 8 * blob.layout.total
    if blob.policy.num_colors == m:
        kept = " (kept: --keep-unused-colors)" if k < m else ""
        return f"relabel: {k} of M={m} colors used{kept}; {b1}-bit indices, dictionary {dict1:,} bits"
    b0 = index_width(m, policy.structure, blob.pack)
    before = layout(policy.layer_sizes, m, b0, blob.dtype, blob.pack)
    return (f"relabel: {k} of M={m} colors used: palette {m} -> {k}, indices {b0} -> {b1} bits, "
            f"dictionary {8 * before.dictionary:,} -> {dict1:,} bits, "
            f"blob {8 * before.total:,} -> {total1:,} bits")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the CLI."""
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
        choices=("bits", "bytes", "rows"),  # compiler.blob.PACK_MODES (not imported: see above)
        default="bits",
        help="indices at ceil(log2 M) bits (the smallest); whole bytes (faster to decode); or rows: "
        "bits with every row starting on a byte (a few bits a row; the cortex-m kernels' fastest)",
    )
    p.add_argument(
        "--keep-unused-colors",
        action="store_true",
        help="store all M colors even when the partition uses fewer (default: drop them, lossless)",
    )
    p.set_defaults(handler=cmd_compile)
    register_import(sub)


# -- import ---------------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    from chromatic.compiler.importer import import_model, load_calibration, summary
    from chromatic.compiler.policy_file import save_policy
    from chromatic.errors import ChromaticError

    if args.refit_rounds is not None and not args.refit:
        raise ChromaticError("--refit-rounds only applies with --refit")
    calibration = load_calibration(args.calibration) if args.calibration else None
    rounds = {} if args.refit_rounds is None else {"refit_rounds": args.refit_rounds}
    result = import_model(
        args.model,
        args.colors,
        args.normalization,
        weighting=args.weighting,
        calibration=calibration,
        refit=args.refit,
        **rounds,
    )
    save_policy(result.policy, args.output)
    print(f"wrote {args.output}: {summary(result)}")
    for note in result.notes:
        print(f"note: {note}")
    return 0


def register_import(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import a dense MLP (ONNX or policy file), optionally colored")
    p.add_argument("model", help="ONNX model or policy file (.npz); see docs/import.md")
    p.add_argument("-o", "--output", required=True, help="policy file (.npz) to write")
    p.add_argument("--colors", type=int, metavar="M", help="cluster all weights into one palette of M colors")
    p.add_argument(
        "--normalization", metavar="STATS.npz", help="observation mean and std (or var) to apply first"
    )
    p.add_argument(
        "--weighting",
        choices=("none", "sensitivity"),
        default="none",
        help="with --colors: weight each edge's squared error by its effect on the action",
    )
    p.add_argument(
        "--calibration", metavar="OBS.npy", help="with --colors: observations (N x d0) the policy visits"
    )
    p.add_argument(
        "--refit",
        action="store_true",
        help="with --colors and --calibration: fit the palette and biases (and move single edges) "
        "so the colored actions match the dense ones on the calibration observations",
    )
    p.add_argument(
        "--refit-rounds",
        type=int,
        metavar="R",
        help="with --refit: edge-reassignment sweeps, each followed by a refit; 0 keeps the k-means "
        "partition (default 3)",
    )
    p.set_defaults(handler=cmd_import)
