"""Write the demo policy shipped in policies/ (a random 17->41->6, 17-color chromatic policy).

It is untrained: it exists so the compiler, runtimes and targets can be shown on a
policy of the paper's HalfCheetah shape without training first.
Run: .venv/bin/python scripts/make_demo_policy.py
"""

from pathlib import Path

from chromatic.compiler.policy_file import save_policy
from chromatic.compiler.synth import random_policy

out = Path(__file__).resolve().parent.parent / "policies" / "demo_random_17x41x6_c17.npz"
policy = random_policy((17, 41, 6), num_colors=17, seed=0)
policy = policy.replace(
    metadata={
        "env_id": "HalfCheetah-v5",
        "train_command": "python scripts/make_demo_policy.py  "
                         "(untrained: random partition and weights, seed 0)",
        "seed": 0,
    }
)
save_policy(policy, out)
print(f"wrote {out}")
