"""The relabel pass (compiler/passes/relabel.py): a partition that uses k of its M colors
compiles to a k-color blob with ceil(log2 k)-bit indices, computes the same function (the
reference bit for bit; every runtime against the reference on the same blob), and costs what
training's partition_bits assumes."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from chromatic.compiler.bits import paper_bits
from chromatic.compiler.blob import decode, index_width
from chromatic.compiler.compile import compile_policy
from chromatic.compiler.ir import Layer, Policy, Structure, index_bits
from chromatic.compiler.passes.relabel import relabel, used_colors
from chromatic.compiler.synth import random_policy
from chromatic.runtime import load
from chromatic.runtime.reference import forward
from chromatic.training.alternating import partition_bits
from chromatic.training.enas.edges import flatten_partitions

SHAPES = [(1, 1), (5, 3, 2), (17, 41, 6), (111, 41, 41, 8)]
RUNTIMES = ["numpy", "numba", pytest.param("c", marks=pytest.mark.skipif(
    shutil.which("gcc") is None, reason="needs the system C compiler (gcc)"))]
RTOL, ATOL = 1e-5, 1e-5


def with_colors(policy: Policy, colors: np.ndarray) -> Policy:
    """The policy with every edge recolored into ``colors`` (so exactly those are used)."""
    colors = np.asarray(colors)
    layers, k = [], 0
    for layer in policy.layers:
        n = layer.partition.size
        idx = (np.arange(k, k + n) * 7919) % len(colors)  # spread, and every color used once E >= len
        layers.append(Layer(colors[idx].reshape(layer.partition.shape), layer.bias))
        k += n
    return policy.replace(layers=tuple(layers)).validate()


def sparse_policy(sizes, m, structure=Structure.CHROMATIC, seed=0, k=None):
    """A random policy that uses only k (default about a third) of its M colors."""
    rng = np.random.default_rng(seed)
    p = random_policy(sizes, m, structure, seed=seed)
    e = p.num_edges
    k = k or max(1, min(e, m // 3))
    colors = np.sort(rng.choice(m, size=min(k, m), replace=False))
    if structure == Structure.MASKED:
        colors = np.union1d(colors[1:] if len(colors) > 1 else colors, [0])
    colors = colors[: max(1, e)]
    return with_colors(p, colors)


# -- the pass -------------------------------------------------------------------------------
def test_drops_unused_colors_in_order_and_keeps_every_weight():
    p = with_colors(random_policy((5, 3, 2), 10, seed=1), np.array([2, 5, 9]))
    q = relabel(p)
    assert q.num_colors == 3 and np.array_equal(q.palette, p.palette[[2, 5, 9]])
    assert {int(c) for layer in q.layers for c in layer.partition.ravel()} == {0, 1, 2}
    for a, b in zip(p.weight_matrices(), q.weight_matrices(), strict=True):
        assert a.tobytes() == b.tobytes()  # the same float64 bits
    assert relabel(q) is q  # idempotent: all colors used is a no-op
    q.validate()


def test_masked_keeps_its_pruned_class_even_unused():
    p = random_policy((5, 3, 2), 10, Structure.MASKED, seed=2)
    p = with_colors(p, np.array([3, 4, 8]))  # color 0 unused
    q = relabel(p)
    assert q.structure == Structure.MASKED and q.num_colors == 4 and q.palette[0] == 0.0
    assert used_colors(p).sum() == 4
    q.validate()


@pytest.mark.parametrize("structure", [Structure.TOEPLITZ, Structure.CIRCULANT, Structure.DENSE])
def test_implicit_structures_pass_through(structure):
    p = random_policy((5, 3, 2), 0, structure, seed=3)
    assert relabel(p) is p


@pytest.mark.parametrize("pack", ["bits", "bytes", "rows"])
def test_compile_drops_colors_by_default_and_keeps_them_on_request(pack):
    p = sparse_policy((17, 41, 6), 64, seed=4, k=9)
    kept, dropped = decode(compile_policy(p, pack=pack, relabel=False)), decode(compile_policy(p, pack=pack))
    assert kept.policy.num_colors == 64 and dropped.policy.num_colors == 9
    assert kept.index_bits == index_width(64, Structure.CHROMATIC, pack)
    assert dropped.index_bits == index_width(9, Structure.CHROMATIC, pack)
    assert dropped.layout.total < kept.layout.total


# -- every runtime, against the reference, on the same blob -----------------------------------
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("structure", [Structure.CHROMATIC, Structure.MASKED])
@pytest.mark.parametrize("dtype,pack", [("f32", "bits"), ("f16", "bytes"), ("f32", "bytes"), ("f16", "bits")])
def test_every_runtime_matches_the_reference_and_the_function_is_unchanged(runtime, structure, dtype, pack):
    rng = np.random.default_rng(5)
    for sizes in SHAPES:
        for m in (2, 3, 17, 300):
            p = sparse_policy(sizes, m, structure, seed=m)
            full, small = compile_policy(p, dtype, pack, relabel=False), compile_policy(p, dtype, pack)
            x = rng.normal(size=(6, sizes[0]))
            ref_full, ref_small = forward(decode(full).policy, x), forward(decode(small).policy, x)
            assert ref_small.tobytes() == ref_full.tobytes()  # relabelling is exact
            got = load(small, runtime).batch(x.astype(np.float32))
            np.testing.assert_allclose(got, ref_small, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(load(small, runtime)(x[0].astype(np.float32)), ref_small[0],
                                       rtol=RTOL, atol=ATOL)


# -- the compiler and training count the same bits ------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 9, 16, 17])
def test_blob_index_bits_are_what_partition_bits_assumes(k):
    p = sparse_policy((17, 41, 6), 17, seed=k, k=k)
    blob = decode(compile_policy(p))
    flat = flatten_partitions([layer.partition for layer in p.layers])
    assumed = partition_bits(flat)[0]  # E * ceil(log2 k) + 32 k
    e = p.num_edges
    assert blob.policy.num_colors == k and blob.index_bits == index_bits(k)
    assert e * blob.index_bits + 32 * blob.policy.num_colors == assumed
    assert 8 * blob.layout.dictionary == -(-e * index_bits(k) // 8) * 8  # the packed stream, to the byte
    assert paper_bits(blob.policy) == assumed + 32 * p.num_hidden_biases


def test_cli_compile_reports_the_bits_before_and_after(tmp_path):
    import subprocess
    import sys

    from chromatic.compiler.policy_file import save_policy

    policy = with_colors(random_policy((8, 2), 8, seed=6), np.array([0, 1, 2, 3, 5, 7]))
    save_policy(policy, tmp_path / "p.npz")

    def compile_(*flags):
        args = ["compile", str(tmp_path / "p.npz"), "-o", str(tmp_path / "p.cblob"), *flags]
        r = subprocess.run([sys.executable, "-m", "chromatic", *args],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    out = compile_()
    assert ("relabel: 6 of M=8 colors used: palette 8 -> 6, indices 3 -> 3 bits, "
            "dictionary 48 -> 48 bits, blob 1,120 -> 1,056 bits") in out
    assert decode((tmp_path / "p.cblob").read_bytes()).policy.num_colors == 6
    out = compile_("--keep-unused-colors")
    assert "relabel: 6 of M=8 colors used (kept: --keep-unused-colors)" in out
    assert decode((tmp_path / "p.cblob").read_bytes()).policy.num_colors == 8
