"""`chromatic infer | run | export`: the runtime stage's subcommands (see chromatic/cli.py).

Registering costs nothing but argparse: each handler imports what it runs (numpy for
``infer``, gymnasium and the simulators for ``run``, onnx for ``export``) when it runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

RUNTIMES = ("numpy", "numba", "c")


# -- infer ----------------------------------------------------------------------------------
def load_observations(path: str) -> np.ndarray:
    """An N x d0 float array from a .npy file, with one-line errors."""
    import numpy as np

    from chromatic.compiler.npfile import read_npy
    from chromatic.errors import ChromaticError

    obs = read_npy(path, "observation file")  # its header checked against its size first
    if obs.dtype.kind not in "fiu":
        raise ChromaticError(f"{path}: expected a numeric .npy array")
    if obs.ndim == 1:
        obs = obs[None, :]
    if obs.ndim != 2:
        raise ChromaticError(f"{path}: expected an N x d0 array, found shape {obs.shape}")
    if not np.isfinite(obs).all():
        raise ChromaticError(f"{path}: observations contain NaN or inf")
    return obs


def cmd_infer(args: argparse.Namespace) -> int:
    import numpy as np

    from chromatic.atomic import atomic_write_with
    from chromatic.compiler.files import read_blob
    from chromatic.errors import ChromaticError
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


# -- run ------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    """The robot control loop (runtime/control_loop.py) on a gymnasium environment."""
    import json
    import sys
    from dataclasses import asdict

    from chromatic.compiler.files import read_blob
    from chromatic.compiler.sidecar import recorded_env
    from chromatic.runtime import load
    from chromatic.runtime.control_loop import format_report, run_episodes

    data, _ = read_blob(args.blob)
    env_id = args.env if args.env is not None else recorded_env(args.blob, data)
    runner = load(data, args.runtime)
    report = run_episodes(
        runner,
        env_id,
        args.episodes,
        args.seed,
        hz=args.hz,
        max_steps=args.max_steps,
        runtime_name=args.runtime,
        progress=not args.json and sys.stderr.isatty(),
        deadline_us=args.deadline_us,
        budget_share=args.budget_share,
    )
    if args.json:
        out = asdict(report)
        out.pop("observations")
        print(json.dumps(out, indent=2))
    else:
        print(format_report(report))
    return 0


# -- export ---------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    """Write the blob's dense-equivalent ONNX graph (runtime/onnx_export.py)."""
    from chromatic.atomic import atomic_write_bytes
    from chromatic.compiler.bits import describe
    from chromatic.compiler.files import read_blob
    from chromatic.runtime.onnx_export import OPSET, export_onnx_bytes

    data, blob = read_blob(args.blob)
    model = export_onnx_bytes(data)
    atomic_write_bytes(args.output, model)
    print(f"wrote {args.output}: {len(model)} bytes, ONNX opset {OPSET}  {describe(blob)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the CLI."""
    p = sub.add_parser("infer", help="run a blob on a batch of observations")
    p.add_argument("blob", help="blob file (.cblob)")
    p.add_argument("--input", required=True, help="observations, N x d0 .npy")
    p.add_argument("--output", required=True, help="actions to write, N x dL .npy")
    p.add_argument("--runtime", choices=RUNTIMES, default="numpy", help="runtime that runs the blob")
    p.set_defaults(handler=cmd_infer)

    p = sub.add_parser("run", help="run a blob in a gymnasium environment (the robot control loop)")
    p.add_argument("blob", help="blob file (.cblob)")
    p.add_argument(
        "--env",
        default=None,
        help="environment id, e.g. HalfCheetah-v5, chromatic/Minitaur-v0 "
        "(default: the one `compile` recorded in BLOB.json from the policy's env_id)",
    )
    p.add_argument("--episodes", type=int, default=1, help="episodes to run")
    p.add_argument("--runtime", choices=RUNTIMES, default="c", help="runtime that runs the blob")
    p.add_argument("--seed", type=int, default=0, help="episode k resets with seed S + k")
    p.add_argument(
        "--hz", type=float, default=None, help="run at a fixed control rate and count deadline misses"
    )
    p.add_argument("--max-steps", type=int, default=None, help="cap steps per episode")
    p.add_argument(
        "--deadline-us",
        type=float,
        default=None,
        help="hold each step's inference latency against this deadline, in microseconds "
        "(default: 1e6 / --hz, else the env's control period, e.g. 10000 for the Minitaur's 100 Hz)",
    )
    p.add_argument(
        "--budget-share",
        type=float,
        default=0.1,
        help="also count the steps whose inference took more than this share of the deadline "
        "(the rest of a control period is for sensing and actuation)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("export", help="write a blob's dense-equivalent ONNX graph")
    p.add_argument("blob", help="blob file (.cblob)")
    p.add_argument("-o", "--output", required=True, help="ONNX file to write (.onnx)")
    p.set_defaults(handler=cmd_export)
