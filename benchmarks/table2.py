"""The paper's Table 2 on HalfCheetah, Hopper and Walker2d: ours next to the paper's numbers.

Per task and class of policy (chromatic with a fixed random partition, chromatic with learned
partitions, masked, Toeplitz, circulant, unstructured): the best and median evaluation return
over seeds, the weight parameters, the compression against the unstructured network, the
paper's bits and the compiled blob's bits, each next to the paper's Table 2 figure. It trains
nothing; it reads what these commands write (each resumable, one seed after another):

    # chromatic, fixed random partition (the paper's H41 architectures)
    python benchmarks/seeds.py halfcheetah_h41_c17 hopper_h41_c11 walker2d_h41_c17 --seeds 0 1 2 3 4
    # chromatic, learned partitions (Fig. 4's cases; none for Hopper): --controller enas with
    # its defaults (the dense warm-up's clustering, then the search) and from a random partition
    python benchmarks/seeds.py fig4_halfcheetah_warmup80_enas fig4_walker2d_warmup80_enas --seeds 0 1 2 3 4
    python benchmarks/seeds.py fig4_halfcheetah_enas fig4_walker2d_enas --seeds 0 1 2 3 4
    python benchmarks/seeds.py fig4_halfcheetah_enas_population_search \\
        fig4_walker2d_enas_population_search --seeds 0 1 2 3 4
    # the other classes: the fixed case with only --structure changed
    python benchmarks/seeds.py table2_{halfcheetah,hopper,walker2d}_{masked,toeplitz,circulant,dense} \\
        --seeds 0 1 2 3 4
    # this table
    python benchmarks/table2.py [--results benchmarks/results]

Inputs: only ``<results>/seeds_<case>.json``: per seed the evaluation return (``eval_return``,
the best periodically evaluated policy scored on reporting seeds it was not selected on) and the
``facts`` seeds.py recorded from the finished run (``seeds.policy_facts``: the compiled blob's
sizes, the largest perturbed return seen in training, a masked policy's kept share), so the table
does not need the run directories, which need not outlive a session.

Sizes follow compiler/bits.py: weight-params (M; masked: the kept weights), compression =
1 - (weight-params + hidden biases) / (edges + hidden biases), the paper's definition (its
percentages come out exactly), paper bits (Table 2's rule) and blob bits (8 x the bytes of the
best seed's policy compiled at the defaults, f32). Masked rows report, as the paper does, the
seeds with > 90 % of the weights pruned (mask_density < 0.1, counted from the policy file by seeds.py) and
say "none reached 90 %" when no seed did. A case with no results is a "not run" row.
Writes <results>/table2.json, table2.md and table2.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np
from seeds import CASES, PRUNED

from chromatic.atomic import atomic_write_bytes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

#: The paper's Table 2, transcribed: (reward, # weight-params, compression %, # bits; None = "-").
#: All feedforward nets with one hidden layer of 41 units. Striker is in the paper only.
PAPER: dict[str, dict[str, tuple[float, int, int, int | None]]] = {
    "Striker": {"chromatic": (-248, 23, 95, 8198), "masked": (-967, 25, 95, 8262),
                "toeplitz": (-129, 110, 88, 4832), "circulant": (-120, 82, 90, 3936),
                "unstructured": (-117, 1230, 0, 40672)},
    "HalfCheetah": {"chromatic": (3779, 17, 94, 6571), "masked": (4806, 40, 92, 8250),
                    "toeplitz": (2525, 103, 85, None), "circulant": (1728, 82, 88, None),
                    "unstructured": (3614, 943, 0, 31488)},
    "Hopper": {"chromatic": (3408, 11, 92, 3960), "masked": (2196, 17, 91, 4726),
               "toeplitz": (2749, 94, 78, 4320), "circulant": (2680, 82, 80, 3936),
               "unstructured": (2691, 574, 0, 19680)},
    "Walker2d": {"chromatic": (3695, 17, 94, 6571), "masked": (1781, 19, 94, 6635),
                 "toeplitz": (1, 103, 85, None), "circulant": (3, 82, 88, None),
                 "unstructured": (2230, 943, 0, 31488)},
}

#: (task, env id, the fixed chromatic case) in the paper's order.
ENVS = (("HalfCheetah", "HalfCheetah-v5", "halfcheetah_h41_c17"),
        ("Hopper", "Hopper-v5", "hopper_h41_c11"),
        ("Walker2d", "Walker2d-v5", "walker2d_h41_c17"))

#: (class, label, case name from (env key, fixed case), the paper's class).
CLASSES = (
    ("chromatic_fixed", "chromatic, fixed random partition", lambda e, f: f, "chromatic"),
    ("chromatic_learned_default", "chromatic, learned (`--controller enas`: warm-up, clustering, search)",
     lambda e, f: f"fig4_{e}_warmup80_enas", "chromatic"),
    ("chromatic_learned", "chromatic, learned partitions (ENAS from a random partition)",
     lambda e, f: f"fig4_{e}_enas", "chromatic"),
    ("chromatic_learned_population_search", "chromatic, learned (ENAS, §3 population search)",
     lambda e, f: f"fig4_{e}_enas_population_search", "chromatic"),
    ("masked", "masked (> 90 % pruned)", lambda e, f: f"table2_{e}_masked", "masked"),
    ("toeplitz", "Toeplitz", lambda e, f: f"table2_{e}_toeplitz", "toeplitz"),
    ("circulant", "circulant", lambda e, f: f"table2_{e}_circulant", "circulant"),
    ("unstructured", "unstructured (dense)", lambda e, f: f"table2_{e}_dense", "unstructured"),
)


SIZE_KEYS = ("layer_sizes", "structure", "weight_params", "total_params", "compression", "paper_bits",
             "blob_bits")


def row(task: str, env: str, cls: str, label: str, case: str, paper_cls: str, results: Path) -> dict:
    p = PAPER[task][paper_cls]
    out: dict = {"task": task, "env_id": env, "class": cls, "label": label, "case": case,
                 "paper": {"class": paper_cls, "reward": p[0], "weight_params": p[1],
                           "compression": p[2] / 100, "bits": p[3]}}
    if case not in CASES:
        return {**out, "status": "no case", "note": f"no seeds.py case {case}"}
    path = results / f"seeds_{case}.json"
    summary = json.loads(path.read_text()) if path.is_file() else None
    if not summary or not summary.get("per_seed"):
        return {**out, "status": "not run", "note": f"python benchmarks/seeds.py {case}"}
    masked = paper_cls == "masked"
    per_seed, facts = [], {}
    for s in summary["per_seed"]:
        f = facts[s["seed"]] = s.get("facts") or {}
        d = {"seed": s["seed"], "eval_return": s["eval_return"], "timesteps": s.get("timesteps"),
             "max_training_return": f.get("max_training_return_pruned" if masked else "max_training_return")}
        if masked:
            d["mask_density"] = f.get("mask_density")
        per_seed.append(d)
    out.update(seeds=len(per_seed), per_seed=per_seed, budget_timesteps=CASES[case].cfg.timesteps)
    if masked:
        eligible = [d for d in per_seed if d["mask_density"] is not None and d["mask_density"] < PRUNED]
        unknown = sum(d["mask_density"] is None for d in per_seed)
        dens = [d["mask_density"] for d in per_seed if d["mask_density"] is not None]
        out["min_mask_density"] = min(dens) if dens else None
        if not eligible:
            note = "none reached 90 %"
            if dens:
                any_best = max(d["eval_return"] for d in per_seed)
                note += f" (lowest mask density {min(dens):.1%}; best eval at any density {any_best:,.0f})"
            if unknown:
                note += f"; {unknown} seed(s) recorded without their policy's facts"
            return {**out, "status": "none reached 90 %", "note": note}
    else:
        eligible = per_seed
    ev = np.array([d["eval_return"] for d in eligible], dtype=float)
    best = eligible[int(np.argmax(ev))]
    out.update(status="ok", seeds_reported=len(eligible), best=float(ev.max()), median=float(np.median(ev)),
               best_seed=best["seed"])
    tr = [d["max_training_return"] for d in eligible if d["max_training_return"] is not None]
    out["max_training_return"] = max(tr) if tr else None
    notes = []
    if masked:
        notes.append(f"{len(eligible)} of {len(per_seed)} seeds > 90 % pruned")
    # implicit and chromatic sizes are the same for every seed; a masked row's are the best seed's
    sized = [best] if masked else [best] + [d for d in eligible if d is not best]
    found = next((d for d in sized if "blob_bits" in facts[d["seed"]]), None)
    if found is None:
        notes.append("no seed recorded its policy's sizes")
    else:
        out.update({k: facts[found["seed"]][k] for k in SIZE_KEYS}, sizes_from_seed=found["seed"])
        if found is not best:
            notes.append(f"sizes from seed {found['seed']} (the best seed recorded none)")
    out["note"] = "; ".join(notes)
    return out


def build(results: Path) -> list[dict]:
    rows = []
    for task, env, fixed in ENVS:
        key = fixed.split("_")[0]
        for cls, label, case_of, paper_cls in CLASSES:
            rows.append(row(task, env, cls, label, case_of(key, fixed), paper_cls, results))
    return rows


# -- output ----------------------------------------------------------------------------------
def _n(v: float | int | None, fmt: str = ",.0f") -> str:
    return "–" if v is None else format(v, fmt)


def table(rows: list[dict]) -> str:
    lines = ["| task | class | case | seeds | best (median) | paper reward | max in training | "
             "weight-params (paper) | compression (paper) | paper bits (paper) | blob bits | note |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        p = r["paper"]
        head = f"| {r['task']} | {r['label']} | `{r['case']}` |"
        paper_reward = _n(p["reward"])
        if r["status"] != "ok":
            seeds = str(r.get("seeds", ""))
            lines.append(f"{head} {seeds} | {r['status']} | {paper_reward} | | ({p['weight_params']}) | "
                         f"({p['compression']:.0%}) | ({_n(p['bits'])}) | | {r['note']} |")
            continue
        seeds = f"{r['seeds_reported']}" + (f" of {r['seeds']}" if r["seeds_reported"] != r["seeds"] else "")
        comp = f"{r['compression']:.1%}" if "compression" in r else "–"
        lines.append(
            f"{head} {seeds} | {r['best']:,.0f} ({r['median']:,.0f}) | {paper_reward} | "
            f"{_n(r['max_training_return'])} | {_n(r.get('weight_params'))} ({p['weight_params']}) | "
            f"{comp} ({p['compression']:.0%}) | {_n(r.get('paper_bits'))} ({_n(p['bits'])}) | "
            f"{_n(r.get('blob_bits'))} | {r['note']} |")
    striker = PAPER["Striker"]
    lines.append("")
    lines.append("Striker (paper only; not among these cases): " + "; ".join(
        f"{c} {v[0]:g}, {v[1]} weight-params, {v[2]} %, {_n(v[3])} bits" for c, v in striker.items()) + ".")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ENVS), figsize=(15, 4.5), dpi=110)
    for ax, (task, _, _) in zip(np.atleast_1d(axes), ENVS, strict=True):
        rs = [r for r in rows if r["task"] == task]
        x = np.arange(len(rs))
        best = [r.get("best", np.nan) if r["status"] == "ok" else np.nan for r in rs]
        med = [r.get("median", np.nan) if r["status"] == "ok" else np.nan for r in rs]
        ax.bar(x - 0.2, best, 0.4, label="ours: best seed (eval)")
        ax.scatter(x - 0.2, med, color="k", marker="_", s=200, zorder=3, label="ours: median seed")
        ax.bar(x + 0.2, [r["paper"]["reward"] for r in rs], 0.4, label="paper Table 2", alpha=0.6)
        for k, r in enumerate(rs):
            if r["status"] != "ok":
                ax.text(k - 0.2, 0, r["status"], rotation=90, ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, [r["label"].replace(" (", "\n(").replace(", ", ",\n", 1) for r in rs],
                      fontsize=6, rotation=60)
        ax.set_title(task)
        ax.grid(alpha=0.3, axis="y")
    np.atleast_1d(axes)[0].set_ylabel("return")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle("Table 2: chromatic vs masked, Toeplitz, circulant and unstructured (H41)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="where seeds_<case>.json are and table2.* go")
    ap.add_argument("--no-plot", action="store_true", help="skip table2.png")
    args = ap.parse_args(argv)
    rows = build(args.results)
    args.results.mkdir(parents=True, exist_ok=True)
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
              "pruned_below_density": PRUNED, "paper": PAPER, "rows": rows}
    atomic_write_bytes(args.results / "table2.json", (json.dumps(result, indent=1) + "\n").encode())
    atomic_write_bytes(args.results / "table2.md", table(rows).encode())
    if not args.no_plot:
        plot(rows, args.results / "table2.png")
    print(table(rows), end="")


if __name__ == "__main__":
    main()
