"""Read-only numpy arrays: the frozen IR and the ES state hold these so they stay frozen."""

from __future__ import annotations

import numpy as np


def readonly(a, dtype=None) -> np.ndarray:
    """A write-protected copy, so that frozen dataclasses holding arrays stay frozen."""
    a = np.array(a, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a
