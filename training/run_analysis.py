"""`chromatic analyze RUN_DIR`: Appendix C's partition metrics over the NAS steps a run logged.

A run with a learning controller saves each NAS step's population in
``RUN_DIR/partitions/nas_NNNNN.npz`` (:func:`training.run.log_partitions`); this feeds the
controller's samples of each step (the population; in an incumbent search, whose population is
the incumbent repeated, the challengers), in order, to
:func:`training.analysis.analyze_partitions` (entropy vs. uniform, displacement ranks,
Rand index / variation of information / edge distance between successive steps) and adds the
controller's rewards per step. A run with one fixed partition is analysed as a single step.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from chromatic.atomic import atomic_open
from chromatic.compiler.limits import check_sizes
from chromatic.compiler.npfile import read_run_npz
from chromatic.compiler.policy_file import load_policy
from chromatic.errors import ChromaticError


def _load(path: Path) -> dict[str, np.ndarray]:
    """A NAS step's partition log, read bounded (a renamed .npy or a zip bomb is one line) and
    checked to hold what :func:`training.run.log_partitions` writes, so a bad one is one line."""
    step = read_run_npz(path, "partition log")
    try:
        _check_step(step)
    except (KeyError, ValueError, TypeError, OverflowError) as e:
        reason = f"no {e.args[0]!r} array" if isinstance(e, KeyError) else str(e)
        raise ChromaticError(f"{path}: corrupt partition log ({reason})") from None
    except ChromaticError as e:
        raise ChromaticError(f"{path}: corrupt partition log ({e})") from None
    return step


def _check_step(step: dict[str, np.ndarray]) -> None:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(what)

    def shape(name: str, kinds: str, ndim: int) -> tuple[int, ...]:
        a = step[name]
        need(a.dtype.kind in kinds and a.ndim == ndim,
             f"{name} is {a.dtype} of shape {a.shape}, expected {'a scalar' if ndim == 0 else f'{ndim}-d'} "
             f"{'integers' if kinds == 'iu' else 'numbers'}")
        return a.shape

    shape("layer_sizes", "iu", 1)
    sizes = [int(s) for s in step["layer_sizes"]]
    check_sizes(sizes, what="layer_sizes")
    edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    pop, e = shape("partitions", "iu", 2)
    need(pop >= 1 and e == edges, f"partitions have shape {(pop, e)}, expected (P >= 1, {edges})")
    need(shape("rewards", "iuf", 1) == (pop,), f"{len(step['rewards'])} rewards for {pop} partitions")
    need(shape("palette", "iuf", 1)[0] >= 1, "an empty palette")
    for name in ("iteration", "timesteps"):
        shape(name, "iu", 0)
        need(int(step[name]) >= 0, f"{name} {int(step[name])}")
    if "sampled" in step:
        need(shape("sampled", "biu", 1) == (pop,),
             f"{len(step['sampled'])} sampled flags for {pop} partitions")
    if "candidates" in step:
        c, e = shape("candidates", "iu", 2)
        need(e == edges, f"candidates have shape {(c, e)}, expected (C, {edges})")
        if "scores" in step or _incumbent_search(step):
            need(shape("scores", "iuf", 1) == (pop + c,),
                 f"{len(step['scores'])} scores for {pop} partitions and {c} candidates")


def _incumbent_search(step: dict[str, np.ndarray]) -> bool:
    """Whether a logged NAS step is an incumbent search's: nothing in it sampled, challengers scored."""
    return ("sampled" in step and not step["sampled"].any() and "candidates" in step
            and len(step["candidates"]) > 0)


def _samples(step: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The controller's samples of a NAS step and their rewards: the population and its phase
    maxima, or an incumbent search's scored challengers and their scores."""
    if _incumbent_search(step):
        P, scores = len(step["partitions"]), step["scores"]
        ok = np.isfinite(scores[P:])
        return step["candidates"][ok], scores[P:][ok]
    return step["partitions"], step["rewards"]


def analyze_run(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write ``analysis.json`` and the PNGs of Figs. 12-14 for ``run_dir``; returns the directory."""
    from chromatic.training.analysis import analyze_partitions
    from chromatic.training.run import CHECKPOINT, PARTITIONS, POLICY, load_checkpoint

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ChromaticError(f"{run_dir}: no such run directory")
    out = Path(out_dir) if out_dir else run_dir / "analysis"
    files = sorted((run_dir / PARTITIONS).glob("nas_*.npz"))
    for f in files:
        if not f.stem[len("nas_"):].isdecimal() or not f.stem.isascii():
            raise ChromaticError(f"{f}: not a NAS step's partition log name (nas_NNNNN.npz); "
                                 f"move it out of {PARTITIONS}/")
    steps = [_load(f) for f in files]
    for f, s in zip(files, steps, strict=True):
        if not np.array_equal(s["layer_sizes"], steps[-1]["layer_sizes"]):
            raise ChromaticError(f"{f}: layer sizes {s['layer_sizes'].tolist()}, but {files[-1].name} has "
                                 f"{steps[-1]['layer_sizes'].tolist()}")
    if steps:
        sizes = tuple(int(s) for s in steps[-1]["layer_sizes"])
        populations = {int(f.stem.split("_")[1]): list(_samples(s)[0])
                       for f, s in zip(files, steps, strict=True)}
        palette = steps[-1]["palette"]
    else:
        st = load_checkpoint(run_dir / CHECKPOINT)
        sizes = st.spec.layer_sizes
        populations = {0: [st.spec.flat_partition()]}
        palette = st.es.params[: st.spec.num_colors]
    if (run_dir / POLICY).is_file():  # the trained palette, if the run has finished
        palette = load_policy(run_dir / POLICY).palette
    result = analyze_partitions(populations, sizes, palette, out)
    result["nas_steps"] = []
    for f, s in zip(files, steps, strict=True):
        parts, reward = _samples(s)
        row = {"step": int(f.stem.split("_")[1]), "iteration": int(s["iteration"]),
               "timesteps": int(s["timesteps"]), "samples": len(parts),
               "mean_reward": float(np.mean(reward)) if len(reward) else None,
               "max_reward": float(np.max(reward)) if len(reward) else None}
        if _incumbent_search(s):  # the partition ES trained, its score and its distance from the start
            row.update(incumbent_score=float(s["scores"][0]),
                       incumbent_edits=int((s["partitions"][0] != steps[0]["partitions"][0]).sum()))
        result["nas_steps"].append(row)
    with atomic_open(out / "analysis.json", "w") as f:
        json.dump(result, f, indent=1)
    return out
