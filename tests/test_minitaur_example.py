"""The README's second example, command for command: a 28→41→8, 13-color Minitaur policy compiled,
run on the C runtime with deadline statistics at the robot's 100 Hz, built and measured for a
Cortex-M4F. The trained `policies/minitaur_h41_c13.npz` may not exist yet, so the commands run
on a random policy of the same shape under that name, in a scratch folder."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from chromatic.cli import main
from chromatic.compiler.policy_file import save_policy
from chromatic.compiler.synth import random_policy

ROOT = Path(__file__).resolve().parent.parent
POLICY = "policies/minitaur_h41_c13.npz"


def readme_section(title_start: str) -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"^## {re.escape(title_start)}.*?(?=^## )", text, flags=re.S | re.M)
    assert m, f"README has no section starting {title_start!r}"
    return m.group(0)


def bash_lines(section: str) -> list[str]:
    blocks = re.findall(r"^```bash\n(.*?)^```", section, flags=re.S | re.M)
    return [line for b in blocks for line in b.splitlines() if line.strip()]


def example_commands() -> dict[str, list[str]]:
    """The second example's `chromatic` commands by verb, as argv lists (comments dropped)."""
    out = {}
    for line in bash_lines(readme_section("Second example")):
        argv = shlex.split(line, comments=True)
        if argv and argv[0].endswith("bin/chromatic"):
            out[argv[1]] = argv[1:]
    return out


def test_the_quick_start_keeps_its_two_commands_and_the_example_follows_it():
    assert len(bash_lines(readme_section("Quick start"))) == 2
    text = (ROOT / "README.md").read_text()
    assert text.index("## Quick start") < text.index("## Second example")
    cmds = example_commands()
    assert list(cmds) == ["compile", "run", "build", "measure"]
    assert cmds["compile"][1] == POLICY and cmds["run"][cmds["run"].index("--runtime") + 1] == "c"
    assert cmds["build"][cmds["build"].index("--target") + 1] == "cortex-m4f" and "--run" in cmds["build"]
    assert cmds["measure"][cmds["measure"].index("--target") + 1] == "cortex-m4f"


@pytest.fixture(scope="module")
def road(tmp_path_factory):
    """A scratch folder where the README's relative paths hold: policies/, out/, a compiled blob."""
    d = tmp_path_factory.mktemp("minitaur")
    (d / "policies").mkdir()
    (d / "out").mkdir()
    policy = random_policy((28, 41, 8), num_colors=13, seed=17)
    save_policy(policy.replace(metadata={"env_id": "chromatic/Minitaur-v0"}), d / POLICY)
    cwd = os.getcwd()
    os.chdir(d)
    try:
        assert main(example_commands()["compile"]) == 0
    finally:
        os.chdir(cwd)
    return d


def run_in(folder: Path, argv: list[str], capsys) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        capsys.readouterr()
        code = main(argv)
    finally:
        os.chdir(cwd)
    return code, capsys.readouterr().out


def test_minitaur_runs_on_the_c_runtime_against_its_control_period(road, capsys):
    """Few steps (pybullet is slow): the deadline is the env's 10 ms period without any option."""
    code, out = run_in(road, [*example_commands()["run"], "--max-steps", "10", "--json"], capsys)
    assert code == 0
    r = json.loads(out)
    assert (r["env_id"], r["runtime"], r["episodes"], r["steps"]) == ("chromatic/Minitaur-v0", "c", 3, 30)
    d = r["deadline"]
    assert (d["deadline_us"], d["source"]) == (10_000.0, "env")  # Minitaur's dt: 5 x 0.002 s
    assert (d["budget_share"], d["budget_us"]) == (0.1, 1000.0)
    assert 0 < d["latency_p50_of_deadline"] <= d["latency_p99_of_deadline"] <= d["latency_max_of_deadline"]
    assert d["latency_max_of_deadline"] == pytest.approx(r["latency_ns_max"] / 1e7)
    assert 0 <= d["steps_over_deadline"] <= d["steps_over_budget"] <= r["steps"]
    assert d["share_over_budget"] == d["steps_over_budget"] / r["steps"]

    # The table, with a deadline no inference can meet (1 ns): every step is over it.
    code, out = run_in(road, ["run", "out/minitaur.cblob", "--runtime", "c", "--max-steps", "4",
                              "--deadline-us", "0.001", "--budget-share", "1"], capsys)
    assert code == 0
    assert "deadline       0.001 us (1e+09 Hz, --deadline-us)" in out
    assert "over deadline  4 of 4 steps (100%)" in out and "over budget (100% = 0.001 us) 4 (100%)" in out


def firmware_toolchain() -> None:
    if not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm")):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the firmware toolchain is missing")
        pytest.skip("the README's second example builds for cortex-m4f")


@pytest.mark.firmware
def test_minitaur_builds_for_cortex_m4f_and_passes_its_self_test(road, capsys):
    firmware_toolchain()
    code, out = run_in(road, example_commands()["build"], capsys)
    assert code == 0, out
    assert "PASS" in out and "flash" in out and "RAM" in out


@pytest.mark.firmware
@pytest.mark.slow
def test_minitaur_measure_reports_flash_ram_and_instructions(road, capsys):
    firmware_toolchain()
    code, out = run_in(road, [*example_commands()["measure"], "--no-latency", "--json"], capsys)
    assert code == 0
    r = json.loads(out)
    assert r["target"] == "cortex-m4f" and r["kernel"] == "gather"
    assert r["flash_bytes"] > r["flash_blob_bytes"] > 0 and r["ram_measured_bytes"] > 0
    assert r["instructions_per_inference"] > 0 and r["dense_instructions_per_inference"] > 0
    # the README quotes these for a random policy of this shape; a trained one differs only
    # if it uses fewer colors (the blob then shrinks)
    assert r["flash_blob_bytes"] == 1244
