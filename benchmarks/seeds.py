"""Run one training configuration over N seeds and report it the way the ARS paper does.

    python benchmarks/seeds.py hopper_h41_c11 --seeds 0 1 2 3 4
    python benchmarks/seeds.py --list

Each seed is an ordinary ``chromatic train`` run in ``benchmarks/runs/<case>/seed<k>`` (so
``chromatic plot`` works on it); a finished run is skipped, an interrupted one is resumed, and
``benchmarks/results/seeds_<case>.json`` + ``.png`` are rewritten after every seed, so a campaign
can span sessions. Run directories need not survive a session: a seed already recorded in the
committed JSON (same case settings) is kept in the report and not trained again unless ``--rerun``
is given, so more seeds can be added later. The report: median, quartiles and best of the evaluation
returns (policy.npz's ``eval_return``: the best periodically evaluated policy, scored on reporting
seeds it was not selected on), the share of seeds reaching the case's threshold, and the timesteps
and episodes at which each seed's periodic evaluation first reached it. Cases use the settings'
defaults except for what they name, so a case is the ``chromatic train`` command a user would type.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from frontier import CALIBRATION_EPISODES, CALIBRATION_SEED, observations

from chromatic.atomic import atomic_write_bytes
from chromatic.compiler.bits import bit_report
from chromatic.compiler.blob import decode
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Structure
from chromatic.compiler.policy_file import load_policy
from chromatic.training.checkpoint import CHECKPOINT, CONFIG, POLICY, read_log
from chromatic.training.run import EngineOptions, resume, start
from chromatic.training.settings import TrainConfig
from chromatic.training.warmup import WARMUP_CONFIG, WARMUP_DIR

HERE = Path(__file__).resolve().parent
RESULTS, RUNS = HERE / "results", HERE / "runs"

#: ARS's thresholds (Mania et al. 2018, Table 1; MuJoCo v1 tasks, here v5) and its episodes to
#: reach them with linear policies (V2-t, about 1,700 and 2,000), for the side-by-side comparison.
#: Our first reach is read off the periodic evaluations (every --eval-every iterations), so it is
#: an upper bound with a resolution of eval_every x perturbations episodes.
ARS = {"HalfCheetah-v5": {"threshold": 3430, "episodes": 1707},
       "Hopper-v5": {"threshold": 3120, "episodes": 2000},
       "Walker2d-v5": {"threshold": 4390, "episodes": 24000},
       "Swimmer-v5": {"threshold": 325, "episodes": 100}}


@dataclasses.dataclass(frozen=True)
class Case:
    cfg: TrainConfig
    threshold: float
    note: str = ""
    #: (dense policy file relative to the repository, M): start from its colored import
    #: (``chromatic import DENSE --colors M``, deterministic) through ``--init-policy``
    init_import: tuple[str, int] | None = None
    #: color that import with ``--refit`` (fitted to the dense policy's actions on the calibration
    #: episodes ``frontier.py`` uses) instead of plain k-means
    init_refit: bool = False


def _case(env: str, threshold: float, note: str = "", **kw) -> Case:
    return Case(TrainConfig(env_id=env, **kw), threshold, note)


CASES: dict[str, Case] = {
    # dense linear policies against ARS's published episodes to threshold
    "halfcheetah_linear": _case("HalfCheetah-v5", 3430, "ARS threshold", structure="dense",
                                timesteps=2_000_000),
    "hopper_linear": _case("Hopper-v5", 3120, "ARS threshold", structure="dense", timesteps=1_000_000),
    # the paper's chromatic architectures, fixed random partitions
    "halfcheetah_h41_c17": _case("HalfCheetah-v5", 3000, "issue 13 goal", hidden=(41,), colors=17,
                                 timesteps=3_000_000),
    "hopper_h41_c11": _case("Hopper-v5", 3000, "issue 13 goal", hidden=(41,), colors=11,
                            timesteps=4_000_000),
    "walker2d_h41_c17": _case("Walker2d-v5", 3000, "", hidden=(41,), colors=17, timesteps=5_000_000),
}

#: Fig. 4: a learned partition (enas) against a fixed random population and a random controller,
#: at the fixed cases' budgets (the ``fixed`` reference is the case above with the same seeds).
#: ``enas_population_search`` is ENAS as §3 writes it (every perturbation trains its own sample),
#: the learning controller's default before the incumbent search (docs/enas.md). The ENAS cases
#: search from a random partition (``--dense-warmup 0``; the warm-up, ``--controller enas``'s
#: default, is the ``warmup80_enas`` case below).
for _env, _fixed in (("halfcheetah", "halfcheetah_h41_c17"), ("walker2d", "walker2d_h41_c17")):
    _base = CASES[_fixed]
    for _ctrl in ("enas", "population", "random"):
        _no_warmup = {"dense_warmup": 0.0} if _ctrl == "enas" else {}
        CASES[f"fig4_{_env}_{_ctrl}"] = Case(
            dataclasses.replace(_base.cfg, controller=_ctrl, **_no_warmup), _base.threshold,
            f"Fig. 4: --controller {_ctrl}" + (" --dense-warmup 0" if _no_warmup else ""))
    CASES[f"fig4_{_env}_enas_population_search"] = Case(
        dataclasses.replace(CASES[f"fig4_{_env}_enas"].cfg, nas_search="population"), _base.threshold,
        "Fig. 4: --controller enas --dense-warmup 0 --nas-search population")

#: The partition learned by clustering (``--dense-warmup F``, training/warmup.py): a share F of
#: the budget trains the dense policy, its 17-color refitted k-means coloring trains for the rest
#: (``fixed``: the clustered partition; ``enas``: the incumbent search starting from it).
#: ``warmup50`` / ``warmup80``: F = 0.5 / 0.8 (tuned on seed 100, docs/enas.md).
for _env, _fixed in (("halfcheetah", "halfcheetah_h41_c17"), ("walker2d", "walker2d_h41_c17")):
    _base = CASES[_fixed]
    for _share in (0.5, 0.8):
        for _ctrl in ("fixed", "enas"):
            CASES[f"fig4_{_env}_warmup{round(100 * _share)}_{_ctrl}"] = Case(
                dataclasses.replace(_base.cfg, controller=_ctrl, dense_warmup=_share), _base.threshold,
                f"Fig. 4: --dense-warmup {_share} --controller {_ctrl}")

#: The reward-versus-bits curve (benchmarks/bits_curve.py): the Fig. 4 ENAS case with --bits-weight.
for _name, _lam in (("lam005", 0.05), ("lam02", 0.2), ("lam05", 0.5)):
    _base = CASES["fig4_halfcheetah_enas"]
    CASES[f"bits_halfcheetah_{_name}"] = Case(dataclasses.replace(_base.cfg, bits_weight=_lam),
                                             _base.threshold, f"bits-aware search: --bits-weight {_lam}")

#: Table 2's other classes (benchmarks/table2.py): each env's fixed chromatic case with only
#: ``--structure`` changed (same H41, budget and recipe; ``colors`` is unused by these structures
#: and reset to the default so the case's settings do not show it). ``masked`` runs the baseline
#: with ``--mask-fixed`` (exactly 10 % of the weights from the start): the paper's annealed
#: sparsity reward did not reach > 90 % pruning with a working policy (docs/training.md).
for _env, _fixed in (("halfcheetah", "halfcheetah_h41_c17"), ("hopper", "hopper_h41_c11"),
                     ("walker2d", "walker2d_h41_c17")):
    _base = CASES[_fixed]
    for _structure in ("toeplitz", "circulant", "dense", "masked"):
        _fixed_mask = {"mask_fixed": True} if _structure == "masked" else {}
        CASES[f"table2_{_env}_{_structure}"] = Case(
            dataclasses.replace(_base.cfg, structure=_structure, colors=TrainConfig().colors, **_fixed_mask),
            _base.threshold, f"Table 2: --structure {_structure}" + (" --mask-fixed" if _fixed_mask else ""))

#: ES fine-tunes of colored imports (issue 15; ``benchmarks/frontier.py --tuned``): the task's
#: dense zoo policy imported with ``--colors M``, then ``chromatic train --init-policy`` for 2 M
#: timesteps at the defaults (docs/import.md). The import is written into the case's run folder.
for _env, _task in (("HalfCheetah-v5", "halfcheetah"), ("Hopper-v5", "hopper"), ("Walker2d-v5", "walker2d")):
    for _m in (4, 8, 17, 32, 64):
        CASES[f"ft_{_task}_c{_m}"] = Case(
            TrainConfig(env_id=_env, hidden=(41,), colors=_m, timesteps=2_000_000), 0.0,
            f"fine-tune of policies/{_task}_dense_h41.npz imported with --colors {_m}",
            init_import=(f"policies/{_task}_dense_h41.npz", _m))
    for _m in (4, 8):  # quantization-aware: trained for the f16 blob the frontier's smallest points use
        CASES[f"ft_{_task}_c{_m}_f16"] = Case(
            TrainConfig(env_id=_env, hidden=(41,), colors=_m, timesteps=2_000_000, dtype="f16"), 0.0,
            f"fine-tune of policies/{_task}_dense_h41.npz imported with --colors {_m}, --dtype f16",
            init_import=(f"policies/{_task}_dense_h41.npz", _m))
    for _dtype, _sfx in (("f32", ""), ("f16", "_f16")):  # M = 4 from the refit import (99 % before ES)
        CASES[f"ft_{_task}_c4{_sfx}_refit"] = Case(
            TrainConfig(env_id=_env, hidden=(41,), colors=4, timesteps=2_000_000, dtype=_dtype), 0.0,
            f"fine-tune of policies/{_task}_dense_h41.npz imported with --colors 4 --refit"
            + (", --dtype f16" if _dtype == "f16" else ""),
            init_import=(f"policies/{_task}_dense_h41.npz", 4), init_refit=True)

#: The ablation behind the recipe (docs/training.md), on Hopper H41 M=11 at 1 M timesteps, run on
#: tuning seeds (100, 101), never the reported ones: each case changes one part of the default.
_ABLATE = dict(hidden=(41,), colors=11, timesteps=1_000_000)
ABLATION: dict[str, Case] = {
    "ablate_default": _case("Hopper-v5", 1000, "ARS V2-t, the default", **_ABLATE),
    "ablate_all_directions": _case("Hopper-v5", 1000, "b = all pairs (ARS V2)", top_directions=16, **_ABLATE),
    "ablate_no_shift": _case("Hopper-v5", 1000, "no survival-bonus shift", survival_shift=0.0, **_ABLATE),
    "ablate_small_steps": _case("Hopper-v5", 1000, "ARS's linear-Hopper step sizes (sigma 0.025, lr 0.01)",
                                sigma=0.025, lr=0.01, **_ABLATE),
    "ablate_adam": _case("Hopper-v5", 1000, "Adam instead of SGD", optimizer="adam", lr=0.02, **_ABLATE),
    "ablate_large_init": _case("Hopper-v5", 1000, "initial palette std 1/sqrt(11) (the former default) "
                               "instead of 0.1", init_scale=0.3015, **_ABLATE),
    "ablate_paper_es": _case("Hopper-v5", 1000, "the previous recipe: antithetic, z-scored, sigma 0.1, "
                             "lr 0.01 (B.3), no shift", strategy="antithetic", sigma=0.1, lr=0.01,
                             survival_shift=0.0, **_ABLATE),
}
CASES.update(ABLATION)


def colored_import(case: Case, name: str, runs: Path) -> Path:
    """The case's starting policy: its dense policy imported with --colors M [--refit] (written once)."""
    from chromatic.compiler.importer import import_model
    from chromatic.compiler.policy_file import load_policy, save_policy

    assert case.init_import is not None
    dense, colors = case.init_import
    path = runs / name / f"import_c{colors}{'_refit' if case.init_refit else ''}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        calibration = None
        if case.init_refit:
            calibration = observations(load_policy(HERE.parent / dense), case.cfg.env_id,
                                       CALIBRATION_EPISODES, CALIBRATION_SEED)
        imp = import_model(HERE.parent / dense, colors=colors, calibration=calibration, refit=case.init_refit)
        save_policy(imp.policy, path)
    return path


def run_seed(case: Case, name: str, seed: int, runs: Path, workers: int | None) -> Path:
    cfg = dataclasses.replace(case.cfg, seed=seed)
    if case.init_import:
        cfg = dataclasses.replace(cfg, init_policy=str(colored_import(case, name, runs)))
    run_dir = runs / name / f"seed{seed}"
    opts = EngineOptions("local", workers)
    if (run_dir / POLICY).exists():
        return run_dir / POLICY
    if any((run_dir / f).exists() for f in (CHECKPOINT, CONFIG, WARMUP_CONFIG)):
        return resume(run_dir, cfg.iterations, opts, progress=sys.stderr.isatty(), timesteps=cfg.timesteps)
    return start(cfg, run_dir, opts, progress=sys.stderr.isatty())


def first_reach(rows: list[dict], threshold: float) -> dict | None:
    """Timesteps and episodes of the first periodic evaluation at or above the threshold."""
    for r in rows:
        if r.get("eval_return") is not None and r["eval_return"] >= threshold:
            return {"timesteps": r["timesteps"], "episodes": r["episodes"], "iteration": r["iteration"]}
    return None


def _settings(case: Case) -> dict:
    """The case's non-default settings, as its JSON records them."""
    diff = {k: v for k, v in dataclasses.asdict(case.cfg).items() if v != getattr(TrainConfig(), k)}
    if case.init_import:
        diff["init_import"] = list(case.init_import)
    if case.init_refit:
        diff["init_refit"] = True
    return json.loads(json.dumps(diff))


def recorded(name: str, case: Case) -> dict[int, dict]:
    """Per-seed records of the committed results JSON, if it was written with the case's settings."""
    path = RESULTS / f"seeds_{name}.json"
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    if old.get("settings") != _settings(case):
        return {}
    return {int(s["seed"]): s for s in old.get("per_seed", [])}


#: Table 2's masked rows: a policy keeping less than this share of its weights is "> 90 % pruned".
PRUNED = 0.1


def policy_facts(run_dir: Path) -> dict:
    """What the reports read from a finished run (benchmarks/table2.py, bits_curve.py), recorded
    in the JSON so that they outlive the run directory: the blob compiled at the defaults
    (compiler/bits.py's sizes, 8 x bytes), the colors the partition uses, the largest perturbed
    return of training, and for a masked policy the share of weights it keeps and the largest
    training return on iterations already > 90 % pruned."""
    policy = load_policy(run_dir / POLICY)
    bits = bit_report(decode(compile_policy(policy)))
    rows = read_log(run_dir)
    masked = policy.structure == Structure.MASKED

    def max_return(pruned: bool) -> float | None:
        v = [r["max_return"] for r in rows if r.get("max_return") is not None
             and (not pruned or (r.get("mask_density") is not None and r["mask_density"] < PRUNED))]
        return float(max(v)) if v else None

    used = np.unique(np.concatenate([la.partition.ravel() for la in policy.layers]))
    facts = {"layer_sizes": list(policy.layer_sizes), "structure": policy.structure.name.lower(),
             "weight_params": bits.weight_params,
             "total_params": bits.weight_params + policy.num_hidden_biases,
             "compression": bits.compression, "paper_bits": bits.paper_bits, "blob_bits": bits.blob_bits,
             "colors_used": len(used), "max_training_return": max_return(False)}
    if masked:  # color 0 is the pruned class
        kept = sum(int((la.partition != 0).sum()) for la in policy.layers)
        facts.update(mask_density=kept / policy.num_edges, max_training_return_pruned=max_return(True))
    return facts


def summarize(name: str, case: Case, runs: Path) -> dict:
    seeds = []
    for d in sorted((runs / name).glob("seed*"), key=lambda p: int(p.name[4:])):
        if not (d / POLICY).exists():
            continue
        meta = load_policy(d / POLICY).metadata
        rows = read_log(d)
        # a --dense-warmup run: its dense stage's rows come first (curve and wall time; the
        # threshold counts only once the policy is chromatic)
        warm = read_log(d / WARMUP_DIR) if (d / WARMUP_DIR).is_dir() else []
        walls = [r[-1]["elapsed"] for r in (warm, rows) if r]
        seeds.append({
            "seed": int(meta["seed"]), "eval_return": meta["eval_return"], "eval_std": meta["eval_std"],
            "final_eval_return": meta.get("final_eval_return"), "timesteps": meta["timesteps"],
            "wall_s": sum(walls) if walls else None, "reached": first_reach(rows, case.threshold),
            "train_command": meta["train_command"],
            "curve": [[r["timesteps"], r["eval_return"]] for r in warm + rows
                      if r.get("eval_return") is not None],
            "facts": policy_facts(d),
            # Fig. 5 (benchmarks/fig4.py): timesteps, controller reward and entropy, moves so far
            "nas_curve": [[r["timesteps"], r.get("controller_mean_reward"), r.get("controller_entropy"),
                           r.get("incumbent_moves")] for r in rows if r.get("nas_update")],
        })
    fresh = {s["seed"] for s in seeds}
    seeds += [s for k, s in recorded(name, case).items() if k not in fresh]
    seeds.sort(key=lambda s: s["seed"])
    ev = np.array([s["eval_return"] for s in seeds], dtype=float)
    q = np.percentile(ev, [25, 50, 75]).tolist() if len(ev) else [None] * 3
    reach = [s["reached"] for s in seeds if s["reached"]]
    out = {
        "case": name, "env_id": case.cfg.env_id, "threshold": case.threshold, "note": case.note,
        "settings": _settings(case),
        "seeds": len(seeds), "median": q[1], "q25": q[0], "q75": q[2],
        "best": float(ev.max()) if len(ev) else None, "worst": float(ev.min()) if len(ev) else None,
        "share_reaching": len(reach) / len(seeds) if seeds else None,
        "median_timesteps_to_threshold": float(np.median([r["timesteps"] for r in reach])) if reach else None,
        "median_episodes_to_threshold": float(np.median([r["episodes"] for r in reach])) if reach else None,
        "ars": ARS.get(case.cfg.env_id) if case.cfg.structure == "dense" and not case.cfg.hidden else None,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "per_seed": seeds,
    }
    return out


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for s in summary["per_seed"]:
        if s["curve"]:
            t, r = zip(*s["curve"], strict=True)
            ax.plot(t, r, lw=1, label=f"seed {s['seed']} (eval {s['eval_return']:.0f})")
    ax.axhline(summary["threshold"], color="k", ls="--", lw=0.8, label=f"threshold {summary['threshold']}")
    ax.set_title(f"{summary['case']}: median {summary['median']:.0f} "
                 f"[{summary['q25']:.0f}, {summary['q75']:.0f}], "
                 f"{100 * summary['share_reaching']:.0f}% reach")
    ax.set_xlabel("training timesteps")
    ax.set_ylabel("evaluation return (held-out seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(name: str, case: Case, runs: Path) -> dict:
    s = summarize(name, case, runs)
    RESULTS.mkdir(exist_ok=True)
    atomic_write_bytes(RESULTS / f"seeds_{name}.json", (json.dumps(s, indent=1) + "\n").encode())
    if s["seeds"]:
        plot(s, RESULTS / f"seeds_{name}.png")
    return s


def table(names: list[str]) -> str:
    """A markdown table of the cases' summaries (docs/training.md quotes it)."""
    lines = ["| case | seeds | median | q25 | q75 | best | threshold | share reaching | "
             "median timesteps (episodes) to threshold | ARS episodes | timesteps/run | wall/run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        path = RESULTS / f"seeds_{name}.json"
        if not path.exists():
            continue
        s = json.loads(path.read_text())
        if not s["seeds"]:
            continue
        ts = s["median_timesteps_to_threshold"]
        reach = f"{ts / 1e6:.2f} M ({s['median_episodes_to_threshold']:.0f})" if ts else "-"
        ars = f"{s['ars']['episodes']}" if s.get("ars") else "-"
        steps = np.median([x["timesteps"] for x in s["per_seed"]])
        wall = np.median([x["wall_s"] or 0 for x in s["per_seed"]])
        lines.append(f"| {name} | {s['seeds']} | {s['median']:.0f} | {s['q25']:.0f} | {s['q75']:.0f} | "
                     f"{s['best']:.0f} | {s['threshold']:.0f} | {100 * s['share_reaching']:.0f} % | "
                     f"{reach} | "
                     f"{ars} | {steps / 1e6:.1f} M | {wall / 60:.1f} min |")
    return "\n".join(lines) + "\n"


def main() -> None:
    global RESULTS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", help=f"cases to run: {', '.join(CASES)}")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--workers", type=int, help="rollout workers per run (default: all cores)")
    ap.add_argument("--runs", type=Path, default=RUNS, help="where the run directories go")
    ap.add_argument("--results", type=Path, default=RESULTS, help="where the JSON, PNG and table go")
    ap.add_argument("--rerun", action="store_true",
                    help="train seeds again that the results JSON already records (default: keep them)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--table", action="store_true", help="print the markdown table of finished cases")
    args = ap.parse_args()
    RESULTS = args.results
    if args.table:
        print(table(args.cases or list(CASES)), end="")
        atomic_write_bytes(RESULTS / "seeds_table.md", table(list(CASES)).encode())
        return
    if args.list or not args.cases:
        for name, c in CASES.items():
            start_from = (f" --init-policy <chromatic import {c.init_import[0]} --colors {c.init_import[1]}"
                          f"{' --refit' if c.init_refit else ''}>" if c.init_import else "")
            print(f"{name:28s} {c.cfg.command('RUN')}{start_from}")
        return
    for name in args.cases:
        if name not in CASES:
            sys.exit(f"seeds.py: unknown case {name!r}; see --list")
    for name in args.cases:
        case = CASES[name]
        for seed in args.seeds:
            if (not args.rerun and seed in recorded(name, case)
                    and not (args.runs / name / f"seed{seed}").exists()):
                print(f"{name} seed {seed}: recorded in {RESULTS / f'seeds_{name}.json'}; kept "
                      "(--rerun trains it again)", flush=True)
                s = write(name, case, args.runs)
                continue
            t0 = time.time()
            path = run_seed(case, name, seed, args.runs, args.workers)
            meta = load_policy(path).metadata
            print(f"{name} seed {seed}: eval {meta['eval_return']:.1f} ± {meta['eval_std']:.1f} "
                  f"after {meta['timesteps']} steps ({time.time() - t0:.0f} s)", flush=True)
            s = write(name, case, args.runs)
        print(f"{name}: median {s['median']:.1f} [q25 {s['q25']:.1f}, q75 {s['q75']:.1f}] "
              f"best {s['best']:.1f} "
              f"share >= {case.threshold}: {s['share_reaching']:.0%}", flush=True)


if __name__ == "__main__":
    main()
