"""mypy is clean on the package as it installs (scripts/typecheck.py: chromatic, compiler/,
runtime/, targets/), so CI, which runs only pytest, checks the types too."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mypy_is_clean():
    pytest.importorskip("mypy")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "typecheck.py")], capture_output=True,
                       text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
