"""`chromatic` subcommands of the runtime stage (see compiler/cli.py)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the CLI."""
    from runtime.control_loop import register_run

    register_run(sub)
