"""`chromatic build | measure`: the targets stage's subcommands (see chromatic/cli.py).

``measure`` lives here because it is the end of the road: bits from the compiler, latency
from the runtimes, and a target's footprint. Registering costs nothing but argparse (the
registry is plain data); each handler imports what it runs when it runs.
"""

from __future__ import annotations

import argparse

from chromatic.targets.registry import KERNELS, TARGETS


def cmd_build(args: argparse.Namespace) -> int:
    import json

    from chromatic.targets.build import build, run_selftest, size_lines

    r = build(args.blob, args.target, args.output, kernel=args.kernel, prefix=args.prefix,
              flash_bytes=None if args.flash_kib is None else args.flash_kib * 1024,
              ram_bytes=None if args.ram_kib is None else args.ram_kib * 1024)
    if args.json:
        print(json.dumps({"target": r.target.name, "kernel": r.kernel, "kernel_reason":
                          r.kernel_reason, "hint": r.hint, "prefix": r.prefix, "src": str(r.src_dir),
                          "sources": [p.name for p in r.sources], **(r.sizes or {})}, indent=2))
    else:
        print(f"wrote {r.out_dir}/src/ (copy these into your project: {r.prefix}.h, "
              f"{r.prefix}.mk, {r.prefix}.cmake, ...), build/{r.library.name}, "
              f"selftest/{r.selftest.name}")
        print(f"kernel {r.kernel} ({r.target.name}, {r.target.kernel}): {r.kernel_reason}")
        if r.hint:
            print(r.hint)
        for line in size_lines(r):
            print(line)
    if args.run:
        rc, out = run_selftest(r)
        print(out)
        return 0 if rc == 0 else 1
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    import json
    import sys

    from chromatic.targets.measure import measure_report

    report, lines = measure_report(args.blob, args.target, latency=args.latency, quick=args.quick)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print("\n".join(lines))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to the CLI."""
    p = sub.add_parser("build", help="the C sources to copy into a firmware project (DIR/src/), "
                                     "a static library and a self-test image for a target")
    p.add_argument("blob", help="blob file (.cblob)")
    p.add_argument("--target", required=True, choices=tuple(TARGETS), help="target to build for")
    p.add_argument("-o", "--output", required=True,
                   help="directory to write: missing, empty or a previous build (replaced "
                        "whole, only on success); anything else is refused")
    preference = "; ".join(f"{name}: {' > '.join(t.kernels)}" for name, t in TARGETS.items() if t.firmware)
    p.add_argument("--kernel", choices=KERNELS, default=None,
                   help=f"default: the first of the target's preference order that runs the policy "
                        f"({preference}; docs/targets.md). Decode any blob at run time "
                        "(loadable), decode this policy's bits with specialized C (inline, float; "
                        "packed, fixed point) or generated assembly (gather: Cortex-M4F, gather "
                        "+ FMA; smlal: v7-M without an FPU, fixed point; muls: v6-M, a narrower "
                        "fixed point), or bake the indices into straight-line code (unrolled: "
                        "fastest, largest)")
    p.add_argument("--prefix", default="chromatic_policy", help="prefix of the generated C symbols")
    p.add_argument("--flash-kib", type=int, help="override the target's flash size (KiB)")
    p.add_argument("--ram-kib", type=int, help="override the target's RAM size (KiB)")
    p.add_argument("--run", action="store_true", help="run the self-test (QEMU for firmware)")
    p.add_argument("--json", action="store_true", help="print the size report as JSON")
    p.set_defaults(handler=cmd_build)

    p = sub.add_parser("measure", help="bits (paper and honest), latency, and target footprint")
    p.add_argument("blob", help="blob file (.cblob)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    p.add_argument(
        "--no-latency", dest="latency", action="store_false", help="skip the host latency benchmark"
    )
    p.add_argument("--quick", action="store_true", help="fewer latency repetitions")
    firmware = ", ".join(name for name, t in TARGETS.items() if t.firmware)
    p.add_argument("--target", help="also build for this firmware target and report flash, RAM, "
                                    f"instructions (one of {firmware})")
    p.set_defaults(handler=cmd_measure)
