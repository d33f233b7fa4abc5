"""The paper's Table 2 on HalfCheetah, Hopper and Walker2d: ours next to the paper's numbers.

Per task and class of policy (chromatic with a fixed random partition, chromatic with learned
partitions, masked, Toeplitz, circulant, unstructured): the best and median evaluation return
over seeds, the weight parameters, the compression against the unstructured network, the
paper's bits and the compiled blob's bits, each next to the paper's Table 2 figure. It trains
nothing; it reads what these commands write (each resumable, one seed after another):

    # chromatic, fixed random partition (the paper's H41 architectures)
    python benchmarks/seeds.py halfcheetah_h41_c17 hopper_h41_c11 walker2d_h41_c17 --seeds 0 1 2 3 4
    # chromatic, learned partitions (Fig. 4's cases; none for Hopper)
    python benchmarks/seeds.py fig4_halfcheetah_enas fig4_walker2d_enas --seeds 0 1 2 3 4
    python benchmarks/seeds.py fig4_halfcheetah_enas_population_search \\
        fig4_walker2d_enas_population_search --seeds 0 1 2 3 4
    # the other classes: the fixed case with only --structure changed
    python benchmarks/seeds.py table2_{halfcheetah,hopper,walker2d}_{masked,toeplitz,circulant,dense} \\
        --seeds 0 1 2 3 4
    # this table
    python benchmarks/table2.py [--runs benchmarks/runs] [--results benchmarks/results]

Inputs: ``<results>/seeds_<case>.json`` (the evaluation returns; ``eval_return`` is the best
periodically evaluated policy scored on reporting seeds it was not selected on) and the run
directories ``<runs>/<case>/seed<k>`` (``policy.npz`` for the sizes, ``log.jsonl`` for the
largest perturbed return seen in training). A seed's policy file is also looked for at the
``--out`` of its recorded train command, and used only if its ``eval_return`` is the JSON's.
Run directories need not outlive a session: where a seed's policy file is gone, what the previous
``table2.json`` read from it (same case, seed and ``eval_return``) is kept, so the table is
regenerated before the run directories are deleted and new seeds can be added later.

Sizes follow compiler/bits.py: weight-params (M; masked: the kept weights), compression =
1 - (weight-params + hidden biases) / (edges + hidden biases), the paper's definition (its
percentages come out exactly), paper bits (Table 2's rule) and blob bits (8 x the bytes of the
best seed's policy compiled at the defaults, f32). Masked rows report, as the paper does, the
seeds with > 90 % of the weights pruned (mask_density < 0.1, counted from the policy file) and
say "none reached 90 %" when no seed did. A case with no results is a "not run" row.
Writes <results>/table2.json, table2.md and table2.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
from pathlib import Path

import numpy as np
from seeds import CASES

from chromatic.atomic import atomic_write_bytes
from chromatic.compiler.bits import bit_report
from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Policy
from chromatic.compiler.policy_file import load_policy
from chromatic.errors import ChromaticError
from chromatic.training.checkpoint import POLICY, read_log

HERE = Path(__file__).resolve().parent
RESULTS, RUNS = HERE / "results", HERE / "runs"
PRUNED = 0.1  # masked rows: mask_density below this, "> 90 % of the network pruned"

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
    ("chromatic_learned", "chromatic, learned partitions (ENAS)", lambda e, f: f"fig4_{e}_enas",
     "chromatic"),
    ("chromatic_learned_population_search", "chromatic, learned (ENAS, §3 population search)",
     lambda e, f: f"fig4_{e}_enas_population_search", "chromatic"),
    ("masked", "masked (> 90 % pruned)", lambda e, f: f"table2_{e}_masked", "masked"),
    ("toeplitz", "Toeplitz", lambda e, f: f"table2_{e}_toeplitz", "toeplitz"),
    ("circulant", "circulant", lambda e, f: f"table2_{e}_circulant", "circulant"),
    ("unstructured", "unstructured (dense)", lambda e, f: f"table2_{e}_dense", "unstructured"),
)


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(a))


def find_policy(seed: dict, case: str, runs: Path) -> Path | None:
    """The seed's policy file: ``runs/case/seed<k>``, else its command's ``--out``; only if it
    holds the JSON's ``eval_return`` (a reused run directory may hold another run)."""
    candidates = [runs / case / f"seed{seed['seed']}" / POLICY]
    cmd = shlex.split(seed.get("train_command") or "")
    if "--out" in cmd[:-1]:
        candidates.append(Path(cmd[cmd.index("--out") + 1]) / POLICY)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            meta = load_policy(path).metadata
        except ChromaticError:
            continue
        if _same(meta.get("eval_return"), seed["eval_return"]):
            return path
    return None


def kept_share(policy: Policy) -> float:
    """The share of edges a masked policy keeps (color 0 is the pruned class)."""
    kept = sum(int((layer.partition != 0).sum()) for layer in policy.layers)
    return kept / policy.num_edges


def max_training_return(run_dir: Path, masked: bool) -> float | None:
    """The largest perturbed return in the run's log (masked: on iterations already < 10 %)."""
    try:
        rows = read_log(run_dir)
    except ChromaticError:
        return None
    vals = [r["max_return"] for r in rows if r.get("max_return") is not None
            and (not masked or (r.get("mask_density") is not None and r["mask_density"] < PRUNED))]
    return float(max(vals)) if vals else None


def sizes(path: Path) -> dict:
    policy = load_policy(path)
    bits = bit_report(decode(compile_policy(policy)))
    return {"layer_sizes": list(policy.layer_sizes), "structure": policy.structure.name.lower(),
            "weight_params": bits.weight_params,
            "total_params": bits.weight_params + policy.num_hidden_biases,
            "compression": bits.compression, "paper_bits": bits.paper_bits, "blob_bits": bits.blob_bits}


SIZE_KEYS = ("layer_sizes", "structure", "weight_params", "total_params", "compression", "paper_bits",
             "blob_bits")


def row(task: str, env: str, cls: str, label: str, case: str, paper_cls: str,
        results: Path, runs: Path, prev: dict | None = None) -> dict:
    """One table row; ``prev`` is the same case's row of the previous table2.json (a cache of what
    was read from policy files and logs that may be gone now)."""
    prev = prev or {}
    cached = {d["seed"]: d for d in prev.get("per_seed", [])}
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
    per_seed = []
    for s in summary["per_seed"]:
        policy_path = find_policy(s, case, runs)
        c = cached.get(s["seed"])
        if policy_path is None and c and c.get("policy") and _same(c["eval_return"], s["eval_return"]):
            per_seed.append({**c, "timesteps": s.get("timesteps")})
            continue
        d = {"seed": s["seed"], "eval_return": s["eval_return"], "timesteps": s.get("timesteps"),
             "policy": str(policy_path) if policy_path else None,
             "max_training_return": max_training_return(policy_path.parent, masked) if policy_path else None}
        if masked and policy_path:
            d["mask_density"] = kept_share(load_policy(policy_path))
        per_seed.append(d)
    out.update(seeds=len(per_seed), per_seed=per_seed, budget_timesteps=CASES[case].cfg.timesteps)
    if masked:
        eligible = [d for d in per_seed if d.get("mask_density") is not None and d["mask_density"] < PRUNED]
        unknown = sum(d.get("mask_density") is None for d in per_seed)
        dens = [d["mask_density"] for d in per_seed if d.get("mask_density") is not None]
        out["min_mask_density"] = min(dens) if dens else None
        if not eligible:
            note = "none reached 90 %"
            if dens:
                any_best = max(d["eval_return"] for d in per_seed)
                note += f" (lowest mask density {min(dens):.1%}; best eval at any density {any_best:,.0f})"
            if unknown:
                note += f"; {unknown} seed(s) without a policy file under --runs"
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
    found = best if best["policy"] else (None if masked else next((d for d in eligible if d["policy"]), None))
    if found is not None and not Path(found["policy"]).is_file():  # read by an earlier table2 run
        if prev.get("sizes_from_seed") == found["seed"] or (not masked and "blob_bits" in prev):
            out.update({k: prev[k] for k in SIZE_KEYS if k in prev}, sizes_from_seed=prev["sizes_from_seed"])
        else:
            found = None
    elif found is not None:
        out.update(sizes(Path(found["policy"])), sizes_from_seed=found["seed"])
    if found is None:
        notes.append("policy file not found under --runs: no sizes")
    elif out["sizes_from_seed"] != best["seed"]:
        notes.append(f"sizes from seed {out['sizes_from_seed']} (the best seed's policy file was not found)")
    out["note"] = "; ".join(notes)
    return out


def build(results: Path, runs: Path) -> list[dict]:
    path = results / "table2.json"
    prev = {r["case"]: r for r in json.loads(path.read_text())["rows"]} if path.is_file() else {}
    rows = []
    for task, env, fixed in ENVS:
        key = fixed.split("_")[0]
        for cls, label, case_of, paper_cls in CLASSES:
            case = case_of(key, fixed)
            rows.append(row(task, env, cls, label, case, paper_cls, results, runs, prev.get(case)))
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
    ap.add_argument("--runs", type=Path, default=RUNS, help="the run directories seeds.py wrote")
    ap.add_argument("--results", type=Path, default=RESULTS,
                    help="where seeds_<case>.json are and table2.* go")
    ap.add_argument("--no-plot", action="store_true", help="skip table2.png")
    args = ap.parse_args(argv)
    rows = build(args.results, args.runs)
    args.results.mkdir(parents=True, exist_ok=True)
    result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
              "runs": str(args.runs), "pruned_below_density": PRUNED, "paper": PAPER, "rows": rows}
    atomic_write_bytes(args.results / "table2.json", (json.dumps(result, indent=1) + "\n").encode())
    atomic_write_bytes(args.results / "table2.md", table(rows).encode())
    if not args.no_plot:
        plot(rows, args.results / "table2.png")
    print(table(rows), end="")


if __name__ == "__main__":
    main()
