"""Environment steps per second under random actions: what one ES rollout worker can expect.

Writes benchmarks/results/env_speed.json and env_speed.png. Median of ``--repeats`` timed runs of
``--steps`` steps each (episodes that end are reset outside the timed step calls).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from chromatic.runtime.envs import SUPPORTED_ENVS, make_env

RESULTS = Path(__file__).parent / "results"


def steps_per_second(env_id: str, steps: int, repeats: int, **kwargs: object) -> list[float]:
    env = make_env(env_id, seed=0, **kwargs)
    rng = np.random.default_rng(0)
    rates = []
    try:
        env.reset(seed=0)
        for _ in range(repeats):
            actions = rng.uniform(-1, 1, size=(steps, *env.action_space.shape))
            elapsed = 0.0
            for a in actions:
                t = time.perf_counter()
                _, _, terminated, truncated, _ = env.step(a.astype(env.action_space.dtype))
                elapsed += time.perf_counter() - t
                if terminated or truncated:
                    env.reset()
            rates.append(steps / elapsed)
    finally:
        env.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per env (median)")
    args = parser.parse_args()

    cases = [(e, {}) for e in SUPPORTED_ENVS]
    cases.append(("chromatic/Minitaur-v0", {"self_collision": False}))
    results = []
    for env_id, kwargs in tqdm(cases, desc="envs"):
        rates = steps_per_second(env_id, args.steps, args.repeats, **kwargs)
        label = env_id + (
            "" if not kwargs else " " + ",".join(f"{k}={v}" for k, v in kwargs.items())
        )
        results.append(
            {"env": label, "median_steps_per_s": statistics.median(rates), "runs": rates}
        )

    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "python": platform.python_version(),
        },
        "steps": args.steps,
        "repeats": args.repeats,
        "results": results,
    }
    (RESULTS / "env_speed.json").write_text(json.dumps(report, indent=2) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh([r["env"] for r in results], [r["median_steps_per_s"] for r in results])
    ax.set_xscale("log")
    ax.set_xlabel("env steps per second (median, one core, random actions)")
    fig.tight_layout()
    fig.savefig(RESULTS / "env_speed.png", dpi=120)
    for r in results:
        print(f"{r['env']:45s} {r['median_steps_per_s']:10.0f} steps/s")


if __name__ == "__main__":
    main()
