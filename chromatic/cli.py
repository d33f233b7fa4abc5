"""The ``chromatic`` command line: one entry point, subcommands registered per stage.

Each stage package has a ``commands`` module with ``register(subparsers)``; registering
imports nothing heavy (a handler imports its stage when it runs), so ``chromatic compile``
and ``--help`` never load the simulators, ONNX or plotting. A handler calls the same
function as the Python API (chromatic/__init__.py) and returns an exit code. A
:class:`ChromaticError` becomes one line on stderr and a non-zero exit; Ctrl-C exits 130
without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from typing import Any, NoReturn

# chromatic's matrices are tiny: BLAS threads only contend with rollout workers and slow the
# ENAS controller 5-7x on a loaded machine. Must be set before numpy is first imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import chromatic  # noqa: E402
from chromatic.errors import ChromaticError  # noqa: E402

STAGES = ("compiler", "runtime", "training", "targets")  # --help lists their commands in this order
COMMAND_MODULES = tuple(f"chromatic.{stage}.commands" for stage in STAGES)


class _HelpFormatter(argparse.HelpFormatter):
    """Append ``(default: X)`` to an option's help unless it has none worth saying (None,
    False, a flag) or the help already says its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help = action.help or ""
        default = action.default
        if (
            action.option_strings
            and default not in (None, False, argparse.SUPPRESS)
            and not isinstance(action, argparse._StoreConstAction)  # store_true/false/const
            and "default" not in help
        ):
            help += " (default: %(default)s)"
        return help


class _Parser(argparse.ArgumentParser):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:  # one line, exit 2, like argparse but terse
        self.exit(2, f"chromatic: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chromatic", description=(chromatic.__doc__ or "").splitlines()[0])
    parser.add_argument("--version", action="version", version=f"chromatic {chromatic.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.handler(args)
    except ChromaticError as e:
        print(f"chromatic: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("chromatic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
