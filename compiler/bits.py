"""Size accounting: the paper's Table 2 bits next to the blob's honest bits.

``paper_bits`` reproduces Table 2 exactly: E*ceil(log2 M) dictionary bits for chromatic
and masked policies (none for implicit structures) plus 32 bits per free weight
parameter and per hidden-layer bias (output biases are not counted there).
``blob_bits`` is 8 x the blob's length, header and all; ``parts`` sums to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chromatic.compiler.blob import Blob
from chromatic.compiler.ir import Policy, Structure, index_bits

ARROW = "\u2192"


def describe(blob: Blob) -> str:
    """One line naming what a blob holds: ``17→41→6  chromatic  M=17  f32  5-bit indices (bits)``."""
    p = blob.policy
    sizes = ARROW.join(str(s) for s in p.layer_sizes)
    return (
        f"{sizes}  {p.structure.name.lower()}  M={p.num_colors}  {blob.dtype.label}  "
        f"{blob.index_bits}-bit indices ({blob.pack})"
    )


def weight_params(policy: Policy) -> int:
    """Free weight parameters: M, or M - 1 for masked (the pruned class is not a parameter)."""
    return policy.num_colors - 1 if policy.structure == Structure.MASKED else policy.num_colors


def paper_bits(policy: Policy) -> int:
    dictionary = 0 if policy.structure.implicit else policy.num_edges * index_bits(policy.num_colors)
    return dictionary + 32 * (weight_params(policy) + policy.num_hidden_biases)


def compression(policy: Policy) -> float:
    """The paper's compression: 1 - (params + hidden biases) / (edges + hidden biases)."""
    h = policy.num_hidden_biases
    return 1.0 - (weight_params(policy) + h) / (policy.num_edges + h)


@dataclass(frozen=True)
class BitReport:
    paper_bits: int
    blob_bits: int
    weight_params: int
    compression: float
    parts: dict[str, int]  # bits per blob section; sums to blob_bits

    def as_dict(self) -> dict[str, object]:
        return {
            "paper_bits": self.paper_bits,
            "blob_bits": self.blob_bits,
            "weight_params": self.weight_params,
            "compression": self.compression,
            "parts_bits": dict(self.parts),
        }


def bit_report(blob: Blob) -> BitReport:
    lay = blob.layout
    parts = {name: 8 * getattr(lay, name) for name in lay.offsets()}
    return BitReport(
        paper_bits=paper_bits(blob.policy),
        blob_bits=8 * lay.total,
        weight_params=weight_params(blob.policy),
        compression=compression(blob.policy),
        parts=parts,
    )
