"""`chromatic compile`: the compiler stage's subcommand (see chromatic/cli.py).

Registering costs nothing but argparse: the handler imports the compiler when it runs.
"""

from __future__ import annotations

import argparse


def cmd_compile(args: argparse.Namespace) -> int:
    from chromatic.atomic import atomic_write_bytes
    from chromatic.compiler.bits import describe
    from chromatic.compiler.blob import decode
    from chromatic.compiler.compile import compile_policy

    data = compile_policy(args.policy, dtype=args.dtype, pack=args.pack)
    atomic_write_bytes(args.output, data)
    print(f"wrote {args.output}: {len(data)} bytes ({8 * len(data)} bits)  {describe(decode(data))}")
    return 0


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
        choices=("bits", "bytes"),
        default="bits",
        help="indices at ceil(log2 M) bits, or whole bytes for faster decoding",
    )
    p.set_defaults(handler=cmd_compile)

