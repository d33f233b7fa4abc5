"""`chromatic plot RUN_DIR`: the training curve (perturbed returns and evaluations) as a PNG."""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

from chromatic.atomic import atomic_write_bytes
from chromatic.errors import ChromaticError

#: What every plotted log row needs: a finite number each.
REQUIRED = ("timesteps", "mean_return", "max_return")


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the curve of ``run_dir/log.jsonl`` to ``out`` (default RUN_DIR/curve.png).

    A log row lacking a finite number for any of ``timesteps``, ``mean_return`` and
    ``max_return`` (a hand-edited or foreign log) is skipped, with one warning line on stderr
    naming how many rows and the first one's iteration; an optional value (``pivot_return``,
    ``eval_return``) that is not a finite number is left out of its curve. If no row is left the
    plot is refused with one line, and nothing is written. (A line that is not a log row at all
    is ``read_log``'s error, as for ``--resume``.)
    """
    from chromatic.training.run import LOG, read_log

    run_dir = Path(run_dir)
    rows = read_log(run_dir)
    if not rows:
        raise ChromaticError(f"{run_dir}: no training log to plot (no iterations in log.jsonl)")
    plottable = [all(_number(r.get(k)) for k in REQUIRED) for r in rows]
    bad = [r for r, ok in zip(rows, plottable, strict=True) if not ok]
    rows = [r for r, ok in zip(rows, plottable, strict=True) if ok]
    if not rows:
        raise ChromaticError(f"{run_dir / LOG}: no row has a number for each of {', '.join(REQUIRED)}; "
                             f"nothing to plot")
    if bad:
        print(f"chromatic: warning: {run_dir / LOG}: skipped {len(bad)} row{'s' if len(bad) > 1 else ''} "
              f"without a number for each of {', '.join(REQUIRED)} (first: iteration "
              f"{bad[0]['iteration']})", file=sys.stderr)
    out = Path(out) if out else run_dir / "curve.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["timesteps"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot(t, [r["mean_return"] for r in rows], label="mean return (perturbed)")
    ax.plot(t, [r["max_return"] for r in rows], label="max return", alpha=0.7)
    pivot = [(x, r["pivot_return"]) for x, r in zip(t, rows, strict=True) if _number(r.get("pivot_return"))]
    if pivot:
        ax.plot(*zip(*pivot, strict=True), label="unperturbed return", alpha=0.7)
    evals = [(x, r["eval_return"]) for x, r in zip(t, rows, strict=True) if _number(r.get("eval_return"))]
    if evals:  # the periodic evaluations on held-out seeds that pick policy.npz
        ax.plot(*zip(*evals, strict=True), "o-", ms=3, color="k", lw=1.2, label="evaluation (held-out seeds)")
    nas = [x for x, r in zip(t, rows, strict=True) if r.get("nas_update")]
    for k, x in enumerate(nas):  # NAS updates as vertical lines, as in the paper's Fig. 5
        ax.axvline(x, color="grey", lw=0.6, alpha=0.5, ls="--", label="NAS update" if k == 0 else None)
    ax.set_xlabel("timesteps")
    ax.set_ylabel("return")
    # a folder name that is not UTF-8 arrives with surrogate escapes, which matplotlib cannot draw
    ax.set_title(run_dir.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    ax.grid(alpha=0.3)
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(out, buf.getvalue())
    return out
