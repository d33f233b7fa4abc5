"""chromatic: compile chromatic-network RL policies into bit-packed blobs and run them.

The public API (docs/python-api.md); the command line is a thin layer over it::

    import chromatic
    blob = chromatic.compile("policies/halfcheetah_h41_c17.npz")
    runner = chromatic.load(blob, "c")
    action = runner(observation)

Stages install as sub-packages: ``chromatic.compiler``, ``chromatic.runtime``,
``chromatic.training`` and ``chromatic.targets``. Everything here is imported lazily, so
``import chromatic`` costs numpy at most.
"""

from __future__ import annotations

from chromatic.errors import ChromaticError

__version__ = "0.2.0"

__all__ = ["ChromaticError", "__version__"]
