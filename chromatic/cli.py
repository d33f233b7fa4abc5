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
from pathlib import Path
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


def _run_files(run_dir: str | None, *own: Path) -> list[Path]:
    """The files of a run folder (its inputs), except a command's own previous outputs."""
    root = Path(run_dir) if run_dir else None
    if root is None or not root.is_dir():
        return []
    mine = [Path(os.path.realpath(o)) for o in own]
    return [f for f in root.rglob("*") if f.is_file() and not any(
        Path(os.path.realpath(f)) == m or m in Path(os.path.realpath(f)).parents for m in mine)]


def check_arguments(args: argparse.Namespace) -> None:
    """What every command writes and its numeric options, checked before any work is done
    (docs/safety.md): an output that is an input, a folder, a special file, or lies in a
    missing or unwritable folder is one line and nothing is touched."""
    from chromatic.atomic import check_output

    cmd = args.command
    if cmd == "compile":
        from chromatic.compiler.sidecar import sidecar_path

        check_output(args.output, args.policy, what="blob")
        check_output(sidecar_path(args.output), args.policy, what="blob sidecar")
    elif cmd == "infer":
        check_output(args.output, args.blob, args.input, what="actions file")
    elif cmd == "export":
        check_output(args.output, args.blob, what="ONNX file")
    elif cmd == "build":
        check_output(args.output, args.blob, directory=True, what="build folder")
        for name in ("flash_kib", "ram_kib"):
            if getattr(args, name, None) is not None and args.__dict__[name] < 1:
                raise ChromaticError(f"--{name.replace('_', '-')} must be >= 1, got {args.__dict__[name]}")
    elif cmd == "run":
        from chromatic.runtime.control_loop import check_run_options

        check_run_options(args.episodes, args.seed, args.hz, args.max_steps, args.deadline_us,
                          args.budget_share)
    elif cmd in ("plot", "analyze") and not Path(args.run_dir).is_dir():
        return  # the handler says "no such run directory": clearer than any output error
    elif cmd == "plot":
        out = Path(args.output) if args.output else Path(args.run_dir) / "curve.png"
        check_output(out, *_run_files(args.run_dir, Path(args.run_dir) / "curve.png"), what="plot")
    elif cmd == "analyze":
        default = Path(args.run_dir) / "analysis"
        out = Path(args.output) if args.output else default
        check_output(out, *_run_files(args.run_dir), directory=True, what="analysis folder")
        if out.is_dir():
            inputs = _run_files(args.run_dir, default)
            for name in ("analysis.json", "entropy.png", "displacement_ranks.png", "pairwise_metrics.png"):
                check_output(out / name, *inputs, what="analysis file")
    elif cmd == "import":
        check_output(args.output, args.model, getattr(args, "normalization", None),
                     getattr(args, "calibration", None), what="policy file")
    elif cmd == "train" and getattr(args, "out", None):
        check_output(args.out, getattr(args, "init_partition", None), directory=True, what="run folder")


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 file name prints escaped, never a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_arguments(args)
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
