"""`chromatic` subcommands of the runtime stage (see compiler/cli.py)."""

from __future__ import annotations

import argparse


# -- export ---------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    """Write the blob's dense-equivalent ONNX graph (runtime/onnx_export.py)."""
    from chromatic.atomic import atomic_write_bytes
    from chromatic.compiler.commands import describe, read_blob
    from chromatic.runtime.onnx_export import OPSET, export_onnx_bytes

    data, blob = read_blob(args.blob)
    model = export_onnx_bytes(data)
    atomic_write_bytes(args.output, model)
    print(f"wrote {args.output}: {len(model)} bytes, ONNX opset {OPSET}  {describe(blob)}")
    return 0


def _register_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a blob's dense-equivalent ONNX graph")
    p.add_argument("blob")
    p.add_argument("-o", "--output", required=True, help="ONNX file to write (.onnx)")
    p.set_defaults(handler=cmd_export)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the CLI."""
    from chromatic.runtime.control_loop import register_run

    register_run(sub)
    _register_export(sub)
