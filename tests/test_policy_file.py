import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chromatic.cli import main
from chromatic.compiler import npfile
from chromatic.compiler.ir import Activation, Structure
from chromatic.compiler.limits import MAX_ARRAY_BYTES
from chromatic.compiler.npfile import read_npy, read_npz
from chromatic.compiler.policy_file import load_policy, policy_to_arrays, save_policy
from chromatic.compiler.synth import random_policy
from chromatic.errors import ChromaticError, PolicyFormatError


def write(tmp_path, arrays, name="p.npz"):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("structure", list(Structure))
def test_round_trip(tmp_path, structure):
    p = random_policy((5, 7, 3), 9, structure)
    p = p.replace(metadata={"env_id": "Hopper-v5", "seed": 3, "eval_return": 12.5})
    save_policy(p, tmp_path / "p.npz")
    q = load_policy(tmp_path / "p.npz")
    assert q.layer_sizes == p.layer_sizes and q.structure == structure
    np.testing.assert_array_equal(q.palette, p.palette.astype(np.float32))
    assert q.metadata == {"env_id": "Hopper-v5", "seed": 3, "eval_return": 12.5}


@pytest.mark.parametrize("hidden", [Activation.TANH, Activation.RELU])
@pytest.mark.parametrize("output", list(Activation))
def test_activations_round_trip(tmp_path, hidden, output):
    p = random_policy((5, 7, 3), 9, hidden_activation=hidden, output_activation=output)
    save_policy(p, tmp_path / "p.npz")
    q = load_policy(tmp_path / "p.npz")
    assert (q.hidden_activation, q.output_activation) == (hidden, output)
    assert str(np.load(tmp_path / "p.npz")["hidden_activation"]) == hidden.name.lower()


def arrays():
    return policy_to_arrays(random_policy((5, 7, 3), 9))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda a: a.pop("weights"), "weights: missing key"),
        (
            lambda a: a.update(partition_0=np.zeros((7, 4), int)),
            r"partition_0: expected shape \(7, 5\), found \(7, 4\)",
        ),
        (lambda a: a.update(partition_1=np.full((3, 7), 9)), r"partition_1: expected colors in \[0, 8\]"),
        (lambda a: a.update(bias_1=np.zeros(4)), r"bias_1: expected shape \(3,\), found \(4,\)"),
        (lambda a: a.update(obs_std=np.ones(4)), r"obs_std: expected shape \(5,\)"),
        (lambda a: a.update(obs_std=-np.ones(5)), "obs_std: expected values >= 0"),
        (lambda a: a.update(weights=np.array([np.nan] * 9)), "weights: expected finite"),
        (lambda a: a.update(structure=np.array("fancy")), "structure: expected one of"),
        (lambda a: a.update(output_activation=np.array("sigmoid")), "output_activation: expected one of"),
        (lambda a: a.update(hidden_activation=np.array("identity")), "hidden_activation: expected one of"),
        (lambda a: a.update(structure=np.array("toeplitz")), "toeplitz"),
        (lambda a: a.update(structure=np.array("masked")), r"weights\[0\] == 0"),
        (lambda a: a.update(layer_sizes=np.array([5.0, 7, 3])), "layer_sizes: expected an integer array"),
        (lambda a: a.update(partition_2=np.zeros((1, 1), int)), "partition_2: unexpected key"),
        (lambda a: a.update(env_id=np.array(["a", "b"])), "env_id: metadata must be"),
    ],
)
def test_errors_name_the_key(tmp_path, mutate, message):
    a = arrays()
    mutate(a)
    with pytest.raises(PolicyFormatError, match=message):
        load_policy(write(tmp_path, a))


def test_toeplitz_relabeling_is_accepted_and_checked(tmp_path):
    p = random_policy((4, 3), structure=Structure.TOEPLITZ, seed=2)  # shuffled labels
    save_policy(p, tmp_path / "t.npz")
    assert load_policy(tmp_path / "t.npz").structure == Structure.TOEPLITZ
    a = policy_to_arrays(p)
    a["partition_0"] = a["partition_0"].copy()
    a["partition_0"][0, 0] = a["partition_0"][1, 0]  # breaks one diagonal
    with pytest.raises(PolicyFormatError, match="not toeplitz"):
        load_policy(write(tmp_path, a))


def test_pickled_object_arrays_are_refused(tmp_path):
    a = arrays()
    a["weights"] = np.array([object()] * 9, dtype=object)
    path = tmp_path / "p.npz"
    np.savez(path, **a)
    with pytest.raises(PolicyFormatError, match="not a readable"):
        load_policy(path)


def test_not_a_zip(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"hello")
    with pytest.raises(PolicyFormatError, match="not a readable"):
        load_policy(tmp_path / "x.npz")


# -- bad files: one safe reader (compiler/npfile.py) for every .npz and .npy ----------------
ZOO = Path(__file__).resolve().parent.parent / "policies" / "halfcheetah_h41_c17.npz"


def npy_header(shape, descr="<f8") -> bytes:
    """A bare .npy header claiming ``shape``, followed by no data (a few hundred bytes)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def with_member(tmp_path, name, data, compress=zipfile.ZIP_STORED) -> Path:
    """The zoo policy with one more member."""
    path = tmp_path / "extra.npz"
    path.write_bytes(ZOO.read_bytes())
    with zipfile.ZipFile(path, "a", compression=compress) as z:
        z.writestr(name, data)
    return path


def renamed_npy(tmp_path) -> Path:
    np.save(tmp_path / "a.npy", np.zeros(3))
    return (tmp_path / "a.npy").rename(tmp_path / "renamed.npz")


def text_member(tmp_path) -> Path:
    return with_member(tmp_path, "notes.txt", b"hello")


BAD_NPZ = {
    "renamed-npy": (renamed_npy, "a .npy array, not a .npz"),
    "text-member": (text_member, "member 'notes.txt' is not a .npy array"),
    "folder-member": (lambda t: with_member(t, "sub/", b""), "member 'sub/' is not a .npy array"),
    "truncated": (lambda t: (t / "cut.npz").write_bytes(ZOO.read_bytes()[:200]) and t / "cut.npz",
                  "not a readable .npz"),
    "corrupt-member": (lambda t: with_member(t, "x.npy", b"\x93NUMPY\x01\x00garbage"), "member 'x.npy'"),
}


@pytest.mark.parametrize("case", list(BAD_NPZ))
def test_a_file_that_is_not_an_npz_of_arrays_is_one_line(tmp_path, case):
    make, message = BAD_NPZ[case]
    path = make(tmp_path)
    with pytest.raises(PolicyFormatError, match="not a readable .npz policy file") as e:
        load_policy(path)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("case", ["renamed-npy", "text-member"])
@pytest.mark.parametrize("command", ["compile", "import", "import --normalization", "train --init-policy",
                                     "train --init-partition"])
def test_every_npz_reader_of_the_cli_refuses_in_one_line(tmp_path, capsys, case, command):
    bad = BAD_NPZ[case][0](tmp_path)
    out = tmp_path / "out"
    argv = {
        "compile": ["compile", str(bad), "-o", str(out)],
        "import": ["import", str(bad), "-o", str(out)],
        "import --normalization": ["import", str(ZOO), "-o", str(out), "--normalization", str(bad)],
        "train --init-policy": ["train", "--env", "HalfCheetah-v5", "--init-policy", str(bad),
                                "--out", str(out)],
        "train --init-partition": ["train", "--env", "HalfCheetah-v5", "--init-partition", str(bad),
                                   "--out", str(out)],
    }[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not a readable" in err, err
    assert BAD_NPZ[case][1] in err and "Traceback" not in err
    assert not out.exists()


def test_a_tiny_npy_claiming_a_huge_shape_is_refused_before_allocating(tmp_path, capsys):
    huge = tmp_path / "huge.npy"
    huge.write_bytes(npy_header((10**11, 17)))  # 13.6 TB claimed, ~128 bytes held
    with pytest.raises(ChromaticError, match=r"claims shape \(100000000000, 17\).*only 0 bytes follow"):
        read_npy(huge, "observation file")
    for shape in ((-1, 3), (2**62, 2**62)):  # negative; a product past int64
        huge.write_bytes(npy_header(shape))
        with pytest.raises(ChromaticError, match="not a readable .npy observation file"):
            read_npy(huge, "observation file")
    huge.write_bytes(npy_header((10**11, 17)))
    blob = tmp_path / "p.cblob"
    assert main(["compile", str(ZOO), "-o", str(blob)]) == 0
    capsys.readouterr()
    for argv in (["infer", str(blob), "--input", str(huge), "--output", str(tmp_path / "a.npy")],
                 ["import", str(ZOO), "-o", str(tmp_path / "i.npz"), "--colors", "4",
                  "--calibration", str(huge)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "claims shape (100000000000, 17)" in err, err
    assert not (tmp_path / "a.npy").exists() and not (tmp_path / "i.npz").exists()


def test_an_npz_member_claiming_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = with_member(tmp_path, "extra.npy", npy_header((10**11, 17)))
    with pytest.raises(PolicyFormatError, match=r"member 'extra.npy': header claims shape \(10+, 17\)"):
        load_policy(path)
    path = with_member(tmp_path, "zero_width.npy", npy_header((10**15,), "|S0"))  # 0 bytes an entry
    with pytest.raises(PolicyFormatError, match="is larger than"):
        load_policy(path)


def test_a_compressed_npz_bomb_is_refused_before_decoding(tmp_path):
    """One member of 129 MiB of zeros (the limit is 128 MiB: a dense palette of 2^24 float64s)
    is a 130 kB file; its declared size is refused before a byte is decompressed."""
    path = tmp_path / "bomb.npz"
    path.write_bytes(ZOO.read_bytes())
    n = MAX_ARRAY_BYTES + (1 << 20)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("extra.npy", "w") as f:
            f.write(npy_header((n,), "|u1"))
            zeros = bytes(1 << 20)
            for _ in range(n >> 20):
                f.write(zeros)
    assert path.stat().st_size < 2 << 20
    with pytest.raises(PolicyFormatError, match=r"member 'extra.npy' decompresses to 135,266,432 bytes; "
                                                r"the largest array a policy can need is 134,217,728"):
        load_policy(path)


def test_an_npz_member_lying_about_its_size_cannot_decode_past_it(tmp_path):
    """A central directory declaring 4 GB for a small member is refused from the declaration;
    one declaring less than it holds fails its CRC (zipfile never decodes past the declaration)."""
    src = tmp_path / "a.npz"
    np.savez_compressed(src, **arrays())
    raw = bytearray(src.read_bytes())
    entry = raw.index(b"PK\x01\x02")  # the first central directory entry: uncompressed size at +24
    raw[entry + 24:entry + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    (tmp_path / "big.npz").write_bytes(raw)
    with pytest.raises(PolicyFormatError, match="decompresses to 4,294,967,280 bytes"):
        load_policy(tmp_path / "big.npz")
    raw[entry + 24:entry + 28] = (40).to_bytes(4, "little")
    (tmp_path / "small.npz").write_bytes(raw)
    with pytest.raises(PolicyFormatError, match="not a readable .npz policy file"):
        load_policy(tmp_path / "small.npz")


def test_the_members_together_are_bounded(tmp_path, monkeypatch):
    with zipfile.ZipFile(ZOO) as z:
        total = sum(i.file_size for i in z.infolist())
    assert ZOO.stat().st_size < total - 1  # compressed
    monkeypatch.setattr(npfile, "MAX_NPZ_BYTES", total - 1)
    with pytest.raises(PolicyFormatError, match=f"members decompress to {total:,} bytes; "
                                                f"a policy file needs at most {total - 1:,}"):
        load_policy(ZOO)
    monkeypatch.setattr(npfile, "MAX_NPZ_MEMBERS", 5)
    with pytest.raises(PolicyFormatError, match="27 members"):
        load_policy(ZOO)


def test_the_zoo_and_a_round_trip_still_read(tmp_path):
    a = read_npz(ZOO, "policy file")
    with np.load(ZOO) as z:
        assert sorted(a) == sorted(z.files)
        for k in z.files:
            np.testing.assert_array_equal(a[k], z[k])
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "x.npy", np.asfortranarray(x))
    np.testing.assert_array_equal(read_npy(tmp_path / "x.npy", "observation file"), x)
    np.save(tmp_path / "e.npy", np.zeros((0, 4)))
    assert read_npy(tmp_path / "e.npy", "observation file").shape == (0, 4)


def test_a_uint64_color_is_shown_as_stored(tmp_path):
    a = arrays()
    a["partition_0"] = a["partition_0"].astype(np.uint64)
    a["partition_0"][0, 0] = 2**64 - 1
    with pytest.raises(PolicyFormatError, match=r"partition_0: expected colors in \[0, 8\] \(M=9\), "
                                                r"found 18446744073709551615"):
        load_policy(write(tmp_path, a))
    a = arrays()
    a["layer_sizes"] = np.array([5, 2**64 - 1, 3], np.uint64)
    with pytest.raises(PolicyFormatError, match="layer size 1 is 18446744073709551615"):
        load_policy(write(tmp_path, a))


def test_messages_show_plain_numbers(tmp_path):
    a = arrays()
    a["structure"] = np.array("masked")
    a["weights"] = np.full(9, 0.3)
    with pytest.raises(PolicyFormatError) as e:
        load_policy(write(tmp_path, a))
    assert str(e.value).endswith("found 0.3") and "np." not in str(e.value)


def test_a_value_float32_cannot_hold_suggests_nothing_wrong(tmp_path, capsys):
    from chromatic.compiler.compile import compile_policy

    p = random_policy((5, 7, 3), 9)
    big = p.replace(palette=np.where(np.arange(9) == 2, 1e39, p.palette))
    for dtype in ("f32", "f16"):
        with pytest.raises(ChromaticError) as e:
            compile_policy(big, dtype=dtype)
        msg = str(e.value)
        assert msg.startswith("weights: value 1e+39 does not fit in float") and "np." not in msg
        assert "--dtype f32" not in msg and "float32, the widest" in msg
    mid = p.replace(palette=np.where(np.arange(9) == 2, 1e5, p.palette))  # fits float32, not float16
    with pytest.raises(ChromaticError, match=r"weights: value 100000 does not fit in float16 "
                                             r"\(\|x\| <= 65504\); use --dtype f32"):
        compile_policy(mid, dtype="f16")
    assert compile_policy(mid, dtype="f32")
    with pytest.raises(ChromaticError, match="float32, the widest"):  # never a file of infs
        save_policy(big, tmp_path / "big.npz")
    assert not (tmp_path / "big.npz").exists()


def test_a_failed_read_touches_nothing(tmp_path, capsys):
    bad = text_member(tmp_path)
    (tmp_path / "out.cblob").write_bytes(b"previous")
    before = hashlib.sha256(bad.read_bytes()).hexdigest()
    assert main(["compile", str(bad), "-o", str(tmp_path / "out.cblob")]) == 1
    assert (tmp_path / "out.cblob").read_bytes() == b"previous"
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == before
