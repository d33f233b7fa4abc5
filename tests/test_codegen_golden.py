"""Golden generated code: every kernel x target for the tiny blobs of tests/golden/.

The glue, API header, config header, assembly and build fragments rendered from the templates
(targets/templates/) must equal tests/golden/generated/ byte for byte. A deliberate change of
a template or a generator regenerates them: ``python -m tests.golden.regenerate --code``
(tests/golden/README.md), and the diff of generated/ is the review of what the change does to
the code users ship.
"""

from __future__ import annotations

from tests.golden.regenerate import GENERATED, generated

HINT = "a template or generator changed: if on purpose, python -m tests.golden.regenerate --code"


def test_generated_code_matches_golden():
    want = generated()
    have = {p.relative_to(GENERATED).as_posix(): p for p in GENERATED.rglob("*") if p.is_file()}
    assert sorted(have) == sorted(want), f"{HINT} (files differ)"
    changed = [rel for rel, text in want.items() if have[rel].read_text() != text]
    assert not changed, f"{HINT}: {changed[:5]}"


def test_golden_covers_every_kernel_and_target():
    from chromatic.targets.kernels import KERNELS
    from chromatic.targets.registry import TARGETS

    for stem in ("small_3_4_2_m5_f32", "small_3_4_2_m5_f16", "small_9_4_2_m5_f16_rows"):
        table = (GENERATED / stem / "kernels.txt").read_text().splitlines()
        assert len(table) == len(TARGETS) * len(KERNELS)
        for line in table:
            pair, status = line.split(": ", 1)
            t, k = pair.split()
            assert (GENERATED / stem / t / k).is_dir() == (status == "ok"), line
    assert (GENERATED / "small_3_4_2_m5_f16/cortex-m4f/gather/tiny_gather.S").is_file()
