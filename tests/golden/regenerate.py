"""Regenerate the golden blobs (a deliberate format change only)."""

from pathlib import Path

from chromatic.compiler.compile import compile_policy
from tests.test_blob import golden_policy

here = Path(__file__).parent
for dtype in ("f32", "f16"):
    (here / f"small_3_4_2_m5_{dtype}.cblob").write_bytes(compile_policy(golden_policy(), dtype))
