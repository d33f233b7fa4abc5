"""Regenerate the fuzzing corpus of valid blobs (tests/corpus/*.cblob): ``python -m tests.corpus.regenerate``.

Every structure, both dtypes and the three packings, and M = 1 ... 65,536 (powers of two and
their neighbours), ReLU hidden layers, on small shapes so the files stay small. Each stored partition uses its
largest color M - 1 (the boundary an index check must get right). ``crashes/`` holds inputs
the coverage-guided fuzzers ever found (benchmarks/fuzz_campaign.py); it is never regenerated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Activation, Layer, Structure
from chromatic.compiler.synth import random_policy

HERE = Path(__file__).parent
COLORS = (1, 2, 3, 4, 5, 8, 16, 17, 255, 256, 257, 65536)
MASKED_COLORS = (2, 4, 5, 17, 256, 257)
ROW_COLORS = (3, 5, 17, 300, 65536)
SHAPES = ((3, 4, 2), (5, 3), (2, 3, 3, 2), (4, 1), (1, 1))
IMPLICIT_SHAPES = ((3, 4, 2), (5, 2), (1, 1))


def corpus() -> dict[str, bytes]:
    """File name -> blob bytes, deterministic."""
    out: dict[str, bytes] = {}
    k = 0
    for structure, colors in ((Structure.CHROMATIC, COLORS), (Structure.MASKED, MASKED_COLORS)):
        for m in colors:
            for dtype in ("f32", "f16"):
                if m == 65536 and dtype == "f32":
                    continue  # a 256 KiB palette; f16 covers 16-bit indices at half the size
                for pack in ("bits", "bytes"):
                    sizes = SHAPES[k % len(SHAPES)]
                    act = Activation.TANH if k % 3 else Activation.IDENTITY
                    p = random_policy(sizes, m, structure, seed=k, output_activation=act)
                    part = np.array(p.layers[0].partition)
                    part.flat[0] = m - 1  # the largest legal color
                    p = p.replace(layers=(Layer(part, p.layers[0].bias), *p.layers[1:]))
                    # relabel=False: the corpus stores all M colors (a blob may carry unused ones)
                    out[f"{structure.name.lower()}_m{m}_{dtype}_{pack}.cblob"] = compile_policy(
                        p.validate(), dtype, pack, relabel=False)
                    k += 1
    for structure in (Structure.TOEPLITZ, Structure.CIRCULANT, Structure.DENSE):
        combos = (("f32", "bits"), ("f16", "bits"), ("f32", "bytes"), ("f16", "bytes"))
        for i, (dtype, pack) in enumerate(combos):
            sizes = IMPLICIT_SHAPES[i % len(IMPLICIT_SHAPES)]
            p = random_policy(sizes, 0, structure, seed=k)
            name = "x".join(map(str, sizes))
            out[f"{structure.name.lower()}_{name}_{dtype}_{pack}.cblob"] = compile_policy(p, dtype, pack)
            k += 1
    # ReLU hidden layers (activation code 2), with each output activation and a stored partition
    relu = (((3, 4, 2), Activation.TANH, "f32", "bits"), ((2, 3, 3, 2), Activation.IDENTITY, "f16", "bytes"),
            ((5, 3, 2), Activation.RELU, "f16", "bits"))
    for sizes, act, dtype, pack in relu:
        p = random_policy(sizes, 5, seed=k, output_activation=act, hidden_activation=Activation.RELU)
        name = "x".join(map(str, sizes))
        out[f"relu_{name}_{act.name.lower()}_{dtype}_{pack}.cblob"] = compile_policy(p, dtype, pack)
        k += 1
    # row-aligned dictionaries (--pack rows, flag 2): rows that end mid-byte, and one at 16 bits
    for m in ROW_COLORS:
        for dtype in ("f32", "f16"):
            if m == 65536 and dtype == "f32":
                continue  # as above
            sizes = SHAPES[k % len(SHAPES)]
            p = random_policy(sizes, m, seed=k, output_activation=Activation.TANH)
            part = np.array(p.layers[-1].partition)
            part.flat[-1] = m - 1  # the largest legal color, in the last row
            p = p.replace(layers=(*p.layers[:-1], Layer(part, p.layers[-1].bias)))
            out[f"chromatic_m{m}_{dtype}_rows.cblob"] = compile_policy(p.validate(), dtype, "rows",
                                                                      relabel=False)
            k += 1
    return out


def load_corpus(with_crashes: bool = True) -> dict[str, bytes]:
    """The checked-in corpus (and the fuzzers' finds) as name -> bytes."""
    files = sorted(HERE.glob("*.cblob"))
    if with_crashes:
        files += sorted((HERE / "crashes").glob("*"))
    return {f.name if f.parent == HERE else f"crashes/{f.name}": f.read_bytes()
            for f in files if f.is_file() and f.name != "README.md"}


if __name__ == "__main__":
    for old in HERE.glob("*.cblob"):
        old.unlink()
    for name, data in corpus().items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(list(HERE.glob('*.cblob')))} blobs to {HERE}")
