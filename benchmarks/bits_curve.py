"""Reward versus bits from the bits-aware partition search (issue 14 item 5): ``--bits-weight λ``.

    python benchmarks/seeds.py bits_halfcheetah_lam005 bits_halfcheetah_lam02 \
        bits_halfcheetah_lam05 --seeds 0 1 2          # the runs (resumable), ~4 min each
    python benchmarks/bits_curve.py [--results benchmarks/results]

Each case is the Fig. 4 ENAS case (``fig4_halfcheetah_enas``: ``chromatic train --env
HalfCheetah-v5 --hidden 41 --colors 17 --timesteps 3000000 --controller enas --dense-warmup 0``,
the search from a random partition) plus
``--bits-weight λ``; λ = 0 is the Fig. 4 case itself. The controller then maximises
``score − λ · bits`` and merge proposals let the incumbent drop colors (docs/enas.md, "Bits-aware
search"). For every finished seed the shipped ``policy.npz`` compiled with the defaults (unused
colors dropped, bit-packed indices) is reported at its honest size, 8 × the blob's bytes, next to
its ``eval_return`` and the number of colors it uses, as seeds.py recorded them
(``seeds_<case>.json``, ``facts``). Writes
``benchmarks/results/bits_curve.{json,png,md}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from chromatic.atomic import atomic_write_bytes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: λ -> the seeds.py case that runs it (benchmarks/seeds.py defines the bits_* cases from this).
LAMBDAS = {0.0: "fig4_halfcheetah_enas", 0.05: "bits_halfcheetah_lam005", 0.2: "bits_halfcheetah_lam02",
           0.5: "bits_halfcheetah_lam05"}


def collect(results: Path) -> list[dict]:
    """Per λ: each seed's (eval return, colors used, blob bits) from ``seeds_<case>.json`` (the
    facts seeds.py recorded from its shipped policy)."""
    out = []
    for lam, case in LAMBDAS.items():
        path = results / f"seeds_{case}.json"
        recorded = json.loads(path.read_text())["per_seed"] if path.is_file() else []
        pts = [{"seed": int(r["seed"]), "eval_return": float(r["eval_return"]),
                "colors": int(r["facts"]["colors_used"]), "blob_bits": int(r["facts"]["blob_bits"]),
                "train_command": r.get("train_command", "")}
               for r in recorded if "colors_used" in r.get("facts", {})]
        ev = np.array([p["eval_return"] for p in pts])
        bits = np.array([p["blob_bits"] for p in pts])
        out.append({"lambda": lam, "case": case, "seeds": len(pts), "points": pts,
                    "median_return": float(np.median(ev)) if len(ev) else None,
                    "median_bits": float(np.median(bits)) if len(bits) else None})
    return out


def table(rows: list[dict]) -> str:
    lines = ["| λ | case | seeds | median eval | median blob bits | per seed (eval, colors, bits) |",
             "|---:|---|---:|---:|---:|---|"]
    for r in rows:
        if not r["seeds"]:
            lines.append(f"| {r['lambda']:g} | `{r['case']}` | 0 | not run | | |")
            continue
        per = "; ".join(f"{p['seed']}: {p['eval_return']:.0f}, {p['colors']}, {p['blob_bits']:,}"
                        for p in r["points"])
        lines.append(f"| {r['lambda']:g} | `{r['case']}` | {r['seeds']} | **{r['median_return']:.0f}** | "
                     f"{r['median_bits']:,.0f} | {per} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    med = [(r["median_bits"], r["median_return"], r["lambda"]) for r in rows if r["seeds"]]
    for r in rows:
        if r["seeds"]:
            ax.scatter([p["blob_bits"] for p in r["points"]], [p["eval_return"] for p in r["points"]],
                       s=18, alpha=0.6, label=f"λ = {r['lambda']:g} (seeds)")
    if med:
        b, v, lam = zip(*sorted(med), strict=True)
        ax.plot(b, v, "k-", lw=1, label="median over seeds")
    ax.set_xlabel("blob size (bits)")
    ax.set_ylabel("evaluation return")
    ax.set_title("HalfCheetah H41: bits-aware partition search (--bits-weight λ)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS,
                   help="where seeds_<case>.json are and the report goes")
    a = p.parse_args()
    rows = collect(a.results)
    a.results.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(a.results / "bits_curve.json", (json.dumps(rows, indent=1) + "\n").encode())
    atomic_write_bytes(a.results / "bits_curve.md", table(rows).encode())
    plot(rows, a.results / "bits_curve.png")
    print(table(rows), end="")


if __name__ == "__main__":
    main()
