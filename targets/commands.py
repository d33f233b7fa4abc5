"""`chromatic build`: the targets stage's subcommand (see compiler/cli.py)."""

from __future__ import annotations

import argparse

from chromatic.targets.registry import TARGETS
from chromatic.targets.render import KERNELS


def cmd_build(args: argparse.Namespace) -> int:
    from chromatic.compiler.commands import read_blob
    from chromatic.targets.build import build, run_selftest
    from chromatic.targets.registry import get_target

    data, _ = read_blob(args.blob)
    target = get_target(args.target)
    r = build(data, target, args.output, kernel=args.kernel, prefix=args.prefix,
              flash_bytes=None if args.flash_kib is None else args.flash_kib * 1024,
              ram_bytes=None if args.ram_kib is None else args.ram_kib * 1024)
    print(f"wrote {r.out_dir}/: {r.prefix}.c/.h, {r.library.name}, {r.selftest.name} "
          f"({target.name}, {r.kernel} {target.kernel} kernel)")
    if args.run:
        rc, out = run_selftest(r)
        print(out)
        return 0 if rc == 0 else 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the CLI."""
    p = sub.add_parser("build", help="C sources, a static library and a self-test image for a target")
    p.add_argument("blob")
    p.add_argument("--target", required=True, choices=tuple(TARGETS))
    p.add_argument("-o", "--output", required=True, help="directory to write")
    p.add_argument("--kernel", choices=KERNELS, default="loadable",
                   help="decode any blob at run time (loadable), decode this policy's bits with "
                        "specialized C (inline, float only) or generated Cortex-M4F assembly "
                        "(gather: gather + FMA, small and fast), or bake the indices into "
                        "straight-line code (unrolled: fastest, largest)")
    p.add_argument("--prefix", default="chromatic_policy", help="prefix of the generated C symbols")
    p.add_argument("--flash-kib", type=int, help="override the target's flash size (KiB)")
    p.add_argument("--ram-kib", type=int, help="override the target's RAM size (KiB)")
    p.add_argument("--run", action="store_true", help="run the self-test (QEMU for firmware)")
    p.set_defaults(handler=cmd_build)
