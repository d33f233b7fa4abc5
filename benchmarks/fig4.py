"""The paper's Fig. 4 and Fig. 5 from the seed campaigns: learned vs fixed vs random partitions.

    python benchmarks/seeds.py fig4_halfcheetah_enas fig4_halfcheetah_population \
        fig4_halfcheetah_random halfcheetah_h41_c17 --seeds 0 1 2     # the runs (resumable)
    python benchmarks/fig4.py [--env halfcheetah]

Reads ``benchmarks/results/seeds_<case>.json`` for the four controllers of one task (``fixed`` is
the task's plain case, e.g. ``halfcheetah_h41_c17``, restricted to the same seeds as the others)
and, for Fig. 5, each ENAS seed's ``nas_curve`` there (the controller's mean reward and entropy at
every NAS update, which seeds.py records from the run's log; seeds recorded before it did have
none). Writes ``benchmarks/results/fig4_<env>.png`` and ``fig4_<env>.md`` (the table:
median, quartiles, best and worst final evaluation per controller at equal timesteps).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from chromatic.atomic import atomic_write_bytes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FIXED = {"halfcheetah": "halfcheetah_h41_c17", "walker2d": "walker2d_h41_c17"}
CONTROLLERS = ("enas", "warmup80_fixed", "warmup80_enas", "warmup50_fixed", "warmup50_enas",
               "enas_population_search", "population", "random")


def load_cases(env: str) -> dict[str, dict]:
    cases = {c: RESULTS / f"seeds_fig4_{env}_{c}.json" for c in CONTROLLERS}
    out = {c: json.loads(p.read_text()) for c, p in cases.items() if p.exists()}
    seeds = sorted({s["seed"] for r in out.values() for s in r["per_seed"]})
    fixed = RESULTS / f"seeds_{FIXED[env]}.json"
    if fixed.exists():
        f = json.loads(fixed.read_text())
        f["per_seed"] = [s for s in f["per_seed"] if s["seed"] in seeds]
        out = {"fixed": f, **out}
    return out


def row(name: str, case: dict) -> str:
    ev = np.array([s["eval_return"] for s in case["per_seed"]])
    if not len(ev):
        return f"| `{name}` | 0 | | | | | |"
    q25, med, q75 = np.percentile(ev, [25, 50, 75])
    steps = np.median([s["timesteps"] for s in case["per_seed"]])
    wall = np.median([s["wall_s"] or 0 for s in case["per_seed"]])
    seeds = ", ".join(f"{s['seed']}: {s['eval_return']:.0f}" for s in case["per_seed"])
    return (f"| `{name}` | {len(ev)} | **{med:.0f}** | {q25:.0f} – {q75:.0f} | "
            f"{ev.max():.0f} / {ev.min():.0f} | {seeds} | {steps / 1e6:.2f} M | {wall / 60:.1f} min |")


def table(cases: dict[str, dict]) -> str:
    lines = ["| controller | seeds | median eval | q25 – q75 | best / worst | per seed | timesteps | "
             "rollout wall/run |", "|---|---:|---:|---|---|---|---:|---:|"]
    lines += [row(n, c) for n, c in cases.items()]
    return "\n".join(lines) + "\n"


def plot(env: str, cases: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4), dpi=110)
    for k, (name, case) in enumerate(cases.items()):
        curves = [np.array(s["curve"], float) for s in case["per_seed"] if s["curve"]]
        if not curves:
            continue
        grid = np.linspace(max(c[0, 0] for c in curves), min(c[-1, 0] for c in curves), 40)
        ys = np.array([np.interp(grid, c[:, 0], c[:, 1]) for c in curves])
        a.plot(grid / 1e6, np.median(ys, axis=0), color=f"C{k}", lw=1.5,
               label=f"{name} ({len(curves)} seeds)")
        a.fill_between(grid / 1e6, ys.min(axis=0), ys.max(axis=0), color=f"C{k}", alpha=0.12)
        final = [s["eval_return"] for s in case["per_seed"]]
        a.scatter(np.full(len(final), grid[-1] / 1e6 + 0.06 + 0.03 * k), final, color=f"C{k}", s=14,
                  marker="D", zorder=3)
    a.set_xlabel("training timesteps (M)")
    a.set_ylabel("evaluation return (mean policy)")
    a.set_title(f"Fig. 4: {env}, H41 M=17: median over seeds, band min-max;\n"
                "diamonds: each seed's shipped policy (eval_return)", fontsize=10)
    a.legend(fontsize=7, loc="lower left", framealpha=0.7)
    a.grid(alpha=0.3)
    enas = cases.get("enas")
    b2 = b.twinx()
    for j, s in enumerate(enas["per_seed"] if enas else []):
        if not s.get("nas_curve"):
            continue
        t, reward, entropy, _ = (np.array(c, float) for c in zip(*s["nas_curve"], strict=True))
        b.plot(t / 1e6, reward, "o-", ms=2.5, lw=1, color=f"C{j}",
               label=f"seed {s['seed']}: controller reward")
        b2.plot(t / 1e6, entropy, ":", lw=1, color=f"C{j}")
    if enas:
        b.set_title("Fig. 5: ENAS at each NAS update; dotted: entropy per edge (right)", fontsize=10)
        b.set_xlabel("training timesteps (M)")
        b.set_ylabel("controller reward: mean score of its samples")
        b.legend(fontsize=7)
        b.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="halfcheetah", choices=sorted(FIXED))
    args = ap.parse_args()
    cases = load_cases(args.env)
    if not cases:
        raise SystemExit(f"fig4.py: no results for {args.env}; "
                         f"run benchmarks/seeds.py fig4_{args.env}_* first")
    text = table(cases)
    atomic_write_bytes(RESULTS / f"fig4_{args.env}.md", text.encode())
    plot(args.env, cases, RESULTS / f"fig4_{args.env}.png")
    print(text, end="")


if __name__ == "__main__":
    main()
