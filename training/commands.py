"""`chromatic train | plot | analyze`: the training stage's subcommands (registered by chromatic/cli.py)."""

from __future__ import annotations

import argparse

from chromatic.errors import ChromaticError
from chromatic.training.settings import MAX_WORKERS_PER_CORE, add_arguments


def cmd_train(args: argparse.Namespace) -> int:
    from chromatic.compiler.policy_file import load_policy
    from chromatic.training.run import EngineOptions, resume, start
    from chromatic.training.settings import from_args, given

    opts = EngineOptions(args.backend, args.workers, args.address)
    if args.resume:
        extra = sorted(set(given(args)) - {"iterations", "timesteps"})
        if extra:
            raise ChromaticError(f"--resume continues a run with its own settings; only --iterations "
                                 f"and --timesteps may be given (got --{extra[0].replace('_', '-')})")
        path = resume(args.resume, getattr(args, "iterations", None), opts, progress=not args.quiet,
                      timesteps=getattr(args, "timesteps", None))
    else:
        if not args.out:
            raise ChromaticError("train needs --env and --out (or --resume RUN_DIR)")
        path = start(from_args(args), args.out, opts, progress=not args.quiet)
    meta = load_policy(path).metadata
    print(f"wrote {path}: eval return {meta['eval_return']:.2f} ± {meta['eval_std']:.2f} "
          f"(best of the periodic evaluations, iteration {meta['best_iteration']}) after "
          f"{meta['timesteps']} timesteps")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from chromatic.training.plot import plot_run

    print(f"wrote {plot_run(args.run_dir, args.output)}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from chromatic.training.run_analysis import analyze_run

    out = analyze_run(args.run_dir, args.output)
    print(f"wrote {out / 'analysis.json'} and its plots")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the CLI."""
    p = sub.add_parser("train", help="train a chromatic (or dense/toeplitz/circulant) policy with ES",
                       description="Train with ES (ARS V2-t by default; docs/training.md).")
    p.add_argument("--out", help="run directory to create (log, checkpoint, policy.npz)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue this run to a new --iterations / --timesteps budget")
    add_arguments(p)
    p.add_argument("--backend", choices=("local", "ray", "inline"), default="local",
                   help="local process pool, Ray cluster, or in-process (default: local)")
    p.add_argument("--workers", type=int,
                   help="rollout workers (default: all cores / cluster CPUs); at most the rollouts of "
                        "one iteration (--perturbations, plus --pivot-episodes with --strategy forward) "
                        f"and, unless --backend ray --address, at most {MAX_WORKERS_PER_CORE} per core of "
                        "this machine")
    p.add_argument("--address", help="Ray cluster address (HOST:PORT or auto) for --backend ray")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("plot", help="plot a training run's curve as a PNG")
    p.add_argument("run_dir")
    p.add_argument("-o", "--output", help="PNG to write (default RUN_DIR/curve.png)")
    p.set_defaults(handler=cmd_plot)

    p = sub.add_parser("analyze", help="partition metrics and plots of a run's NAS steps (App. C)")
    p.add_argument("run_dir")
    p.add_argument("-o", "--output", help="directory for analysis.json and PNGs (default RUN_DIR/analysis)")
    p.set_defaults(handler=cmd_analyze)
