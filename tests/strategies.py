"""Hypothesis strategies for policies of every structure (shared by the runtime tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.synth import random_policy

SHAPES = [
    (1, 1),
    (3, 2),
    (8, 2),
    (11, 3),
    (17, 6),
    (11, 41, 3),
    (17, 41, 6),
    (5, 7, 7, 4),
    (17, 41, 41, 6),
    (111, 41, 41, 8),
]


#: Every hidden activation a multi-layer policy may have (identity is refused there).
HIDDEN_ACTIVATIONS = [a for a in Activation if a != Activation.IDENTITY]


@st.composite
def policies(draw, shapes=SHAPES, max_colors: int = 300):
    """Random valid policies: any structure and activations, M in [1, max_colors], 1->1 .. 111->41->41->8."""
    sizes = draw(st.sampled_from(shapes))
    structure = draw(st.sampled_from(list(Structure)))
    lo = 2 if structure == Structure.MASKED else 1
    colors = draw(st.integers(lo, max_colors))
    out_act = draw(st.sampled_from(list(Activation)))
    hidden = draw(st.sampled_from(HIDDEN_ACTIVATIONS))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_policy(
        sizes, colors, structure, seed=seed, output_activation=out_act, hidden_activation=hidden
    )
