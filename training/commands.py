"""`chromatic train | plot | analyze`: the training stage's subcommands (see compiler/cli.py)."""

from __future__ import annotations

import argparse

from chromatic.errors import ChromaticError
from chromatic.training.controllers import CONTROLLERS
from chromatic.training.policy_params import STRUCTURES


def cmd_train(args: argparse.Namespace) -> int:
    from chromatic.training.run import EngineOptions, TrainConfig, resume, start

    opts = EngineOptions(args.backend, args.workers, args.address)
    if args.resume:
        path = resume(args.resume, args.iterations, opts, progress=not args.quiet)
    else:
        if not args.env or not args.out:
            raise ChromaticError("train needs --env and --out (or --resume RUN_DIR)")
        cfg = TrainConfig(
            env_id=args.env, hidden=tuple(args.hidden or ()), structure=args.structure,
            colors=args.colors, iterations=100 if args.iterations is None else args.iterations,
            perturbations=args.perturbations, seed=args.seed, sigma=args.sigma, lr=args.lr,
            antithetic=args.antithetic, optimizer=args.optimizer,
            pivot_episodes=args.pivot_episodes, eval_episodes=args.eval_episodes,
            horizon=args.horizon, normalize=args.normalize, init_partition=args.init_partition,
            controller=args.controller, nas_every=args.nas_every, replay_size=args.replay_size,
            replay_fraction=args.replay_fraction, controller_lr=args.controller_lr,
            entropy_weight=args.entropy_weight,
        )
        path = start(cfg, args.out, opts, progress=not args.quiet)
    from chromatic.compiler.policy_file import load_policy

    meta = load_policy(path).metadata
    print(f"wrote {path}: eval return {meta['eval_return']:.2f} after {meta['timesteps']} timesteps")
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
    p = sub.add_parser("train", help="train a chromatic (or dense/toeplitz/circulant) policy with ES")
    p.add_argument("--env", help="gymnasium id, e.g. HalfCheetah-v5, Swimmer-v5, chromatic/Minitaur-v0")
    p.add_argument("--out", help="run directory to create (log, checkpoint, policy.npz)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue this run up to --iterations in total")
    p.add_argument("--hidden", type=int, action="append", metavar="WIDTH",
                   help="a hidden layer (repeat for more); none: a linear policy")
    p.add_argument("--structure", choices=STRUCTURES, default="chromatic")
    p.add_argument("--colors", type=int, default=17, help="palette size M (chromatic)")
    p.add_argument("--init-partition", metavar="POLICY.npz", help="reuse this policy's partition")
    p.add_argument("--controller", choices=sorted(CONTROLLERS), default="fixed",
                   help="where each perturbation's partition comes from: fixed (one partition), "
                        "population (a fixed random population), random, factorized or enas "
                        "(learned, alternating with ES; docs/enas.md)")
    p.add_argument("--nas-every", type=int, default=5, metavar="K",
                   help="ES iterations per weight phase; the controller updates after each")
    p.add_argument("--replay-size", type=int, default=16, help="best partitions the replay buffer keeps")
    p.add_argument("--replay-fraction", type=float, default=0.25,
                   help="share of each population resampled from the replay buffer")
    p.add_argument("--controller-lr", type=float, default=1e-3,
                   help="Adam learning rate of enas/factorized (App. B.1: 0.001)")
    p.add_argument("--entropy-weight", type=float, default=0.3,
                   help="entropy bonus of enas/factorized (App. B.1: 0.3)")
    p.add_argument("--iterations", type=int, help="ES iterations in total (default 100)")
    p.add_argument("--perturbations", type=int, default=32, help="perturbed rollouts per iteration")
    p.add_argument("--antithetic", action="store_true", help="antithetic pairs (+g, -g)")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--sigma", type=float, default=0.1, help="smoothing std (B.3)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (B.3)")
    p.add_argument("--pivot-episodes", type=int, default=1,
                   help="unperturbed rollouts per iteration for the pivot of eq. (3)")
    p.add_argument("--eval-episodes", type=int, default=5, help="episodes of the final evaluation")
    p.add_argument("--horizon", type=int, help="cap episode length (default: the env's limit)")
    norm = p.add_mutually_exclusive_group()
    norm.add_argument("--normalize", dest="normalize", action="store_true", default=None,
                      help="observation normalization (default: on except Swimmer)")
    norm.add_argument("--no-normalize", dest="normalize", action="store_false")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("local", "ray", "inline"), default="local",
                   help="local process pool (default), Ray cluster, or in-process")
    p.add_argument("--workers", type=int, help="rollout workers (default: all cores / cluster CPUs)")
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
