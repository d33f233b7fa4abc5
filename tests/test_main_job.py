"""scripts/main_job.sh runs every zoo policy in its own environment (issue 17), a few steps each."""

import os
import subprocess
from pathlib import Path

import pytest

from chromatic.compiler.policy_file import load_policy

ROOT = Path(__file__).resolve().parent.parent
ZOO = sorted((ROOT / "policies").glob("*.npz"))


def main_job(tmp_path, *args):
    env = dict(os.environ, OUT=str(tmp_path), EPISODES="1", MAX_STEPS="2", MEASURE_FLAGS="--no-latency")
    return subprocess.run(["bash", str(ROOT / "scripts" / "main_job.sh"), *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)


@pytest.mark.parametrize("policy_path", ZOO, ids=[p.stem for p in ZOO])
def test_main_job_runs_each_zoo_policy_in_its_env(tmp_path, policy_path):
    env_id = load_policy(policy_path).metadata["env_id"]
    r = main_job(tmp_path, policy_path)
    assert r.returncode == 0, r.stderr
    assert f"env            {env_id}   runtime c   1 episodes, 2 steps" in r.stdout
    assert "paper_bits" in r.stdout and (tmp_path / "policy.cblob.json").is_file()


def test_main_job_env_argument_overrides(tmp_path):
    r = main_job(tmp_path, ROOT / "policies" / "demo_random_17x41x6_c17.npz", "Walker2d-v5")
    assert r.returncode == 0, r.stderr
    assert "env            Walker2d-v5" in r.stdout
