"""reference/data.py: the IDX reader and MNIST-format folders.

Each kind of bad file is rejected with a one-line UsageError that names the file and the defect.
"""
import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnspec.errors import UsageError
from cnnspec.reference import data

FASHION = Path(data.DEFAULT_ROOT)
NAMES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def make_set(folder: Path, n_train=60, n_test=20, size=28, gz=True, prefix="", seed=0) -> Path:
    """A small MNIST-format set: random images, labels 0..9."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train_images": rng.integers(0, 256, (n_train, size, size), dtype=np.uint8),
              "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
              "test_images": rng.integers(0, 256, (n_test, size, size), dtype=np.uint8),
              "test_labels": (np.arange(n_test) % 10).astype(np.uint8)}
    for role, a in arrays.items():
        data.write_idx(folder / (prefix + NAMES[role] + (".gz" if gz else "")), a)
    return folder


def one_line_error(fn, *args) -> str:
    with pytest.raises(UsageError) as e:
        fn(*args)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_round_trip_every_type(tmp_path):
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        for name in ("a-idx3", "a-idx3.gz"):
            got = data.read_idx(data.write_idx(tmp_path / name, a))
            assert got.dtype == np.dtype(dtype) and np.array_equal(got, a)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    p = tmp_path / "raw-named-idx1-ubyte"
    p.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])))
    assert data.read_idx(p).tolist() == [7, 9]


@pytest.mark.parametrize("mutate, words", [
    (lambda b: b[:2], "truncated IDX header"),
    (lambda b: b[:6], "truncated IDX header"),
    (lambda b: b"\x00\x00\x42\x03" + b[4:], "not an IDX file: magic number 0x00004203"),
    (lambda b: b"\x08\x03\x00\x00" + b[4:], "not an IDX file"),
    (lambda b: b[:-1], "truncated IDX data: the header says 3x4x5 uint8 = 60 bytes, the file has 59"),
    (lambda b: b + b"\x00\x00", "corrupt IDX file: 2 bytes after"),
])
def test_bad_idx_bytes(tmp_path, mutate, words):
    good = data.write_idx(tmp_path / "good", np.zeros((3, 4, 5), np.uint8)).read_bytes()
    bad = tmp_path / "bad-idx3-ubyte"
    bad.write_bytes(mutate(good))
    msg = one_line_error(data.read_idx, bad)
    assert words in msg and str(bad) in msg and "replace the file" in msg


def test_truncated_and_corrupt_gzip(tmp_path):
    blob = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 1, 0]) + bytes(range(256)) * 1)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(blob[: len(blob) // 2])
    assert "truncated gzip stream" in one_line_error(data.read_idx, cut)
    bad = bytearray(blob)
    bad[-8] ^= 0xFF  # the CRC-32 of the trailer no longer matches
    broken = tmp_path / "crc.gz"
    broken.write_bytes(bytes(bad))
    assert "corrupt gzip data" in one_line_error(data.read_idx, broken)


def test_load_generated_folder_raw_and_gz(tmp_path):
    for gz in (True, False):
        root = make_set(tmp_path / f"gz{gz}", gz=gz)
        ds = data.load(root)
        assert ds.train_images.shape == (60, 28, 28) and ds.test_labels.shape == (20,)
        assert ds.num_classes == 10 and ds.train_labels.dtype == torch.int64
        assert not ds.mirror_ok  # not clothes: no mirroring


def test_mnist_site_spelling_and_emnist_prefix(tmp_path):
    root = tmp_path / "mnist"
    make_set(root, gz=False)
    for f in root.iterdir():  # train-images-idx3-ubyte -> train-images.idx3-ubyte
        f.rename(root / f.name.replace("-idx", ".idx"))
    assert data.load(root).train_images.shape == (60, 28, 28)

    em = tmp_path / "emnist"
    for split in ("letters", "digits"):
        make_set(em, prefix=f"emnist-{split}-", seed=len(split))
        for f in em.glob(f"emnist-{split}-t10k*"):
            f.rename(em / f.name.replace("t10k", "test"))
    msg = one_line_error(data.load, em)
    assert "2 sets in one folder" in msg and "emnist-digits" in msg and "emnist-letters" in msg
    ds = data.load(em / "emnist-letters")
    raw = data.read_idx(em / "emnist-letters-train-images-idx3-ubyte.gz")
    assert torch.equal(ds.train_images[3], torch.from_numpy(raw[3].T.copy()))  # EMNIST is transposed


def test_mismatched_files(tmp_path):
    root = make_set(tmp_path / "a")
    data.write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(59, np.uint8))
    msg = one_line_error(data.load, root)
    assert "has 60 images but" in msg and "59 labels" in msg

    root = make_set(tmp_path / "b")
    data.write_idx(root / "t10k-images-idx3-ubyte.gz", np.zeros((20, 32, 32), np.uint8))
    assert "the files come from different sets" in one_line_error(data.load, root)

    root = make_set(tmp_path / "c")
    data.write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros((60, 2), np.uint8))
    assert "labels must be a 1-D uint8 array, got 60x2" in one_line_error(data.load, root)


def test_missing_data_says_how_to_get_it(tmp_path):
    msg = one_line_error(data.load, tmp_path / "nowhere")
    assert "no such folder" in msg and "apt-get install dataset-fashion-mnist" in msg
    root = make_set(tmp_path / "partial")
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    msg = one_line_error(data.load, root)
    assert "no complete MNIST-format set" in msg and "apt-get install dataset-fashion-mnist" in msg


def test_padding_to_32_with_black(tmp_path):
    ds = data.load(make_set(tmp_path / "s"))
    d = data.to_device(ds, pad_to=32)
    assert d.train_x.shape == (60, 1, 32, 32)
    assert torch.all(d.train_x[:, :, :2] == d.background) and torch.all(d.train_x[:, :, :, -2:] == d.background)
    inner = (ds.train_images.float() / 255 - d.mean) / d.std
    assert torch.allclose(d.train_x[:, 0, 2:30, 2:30], inner, atol=1e-6)
    assert abs(float(d.train_x[:, :, 2:30, 2:30].mean())) < 1e-5  # normalised by the training set


@pytest.mark.skipif(not FASHION.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist():
    ds = data.load()
    assert ds.name == "fashion-mnist" and ds.mirror_ok
    assert ds.train_images.shape == (60000, 28, 28) and ds.test_images.shape == (10000, 28, 28)
    assert torch.bincount(ds.train_labels).tolist() == [6000] * 10  # balanced classes (Xiao et al. 2017)


# --- defects that used to give a traceback or pass silently ----------------------------------------

def _set_with(tmp_path: Path, **arrays) -> Path:
    folder = make_set(tmp_path / "set")
    for role, a in arrays.items():
        data.write_idx(folder / (NAMES[role] + ".gz"), a)
    return folder


def test_constant_images_are_one_line_not_a_division_by_zero(tmp_path):
    folder = _set_with(tmp_path, train_images=np.full((60, 28, 28), 7, np.uint8))
    assert "every pixel of every training image is 7" in one_line_error(data.load, folder)


def test_a_split_without_images_is_one_line(tmp_path):
    folder = _set_with(tmp_path, test_images=np.zeros((0, 28, 28), np.uint8),
                       test_labels=np.zeros(0, np.uint8))
    assert "holds 0 images" in one_line_error(data.load, folder)


def test_a_label_beyond_the_classes_is_one_line(tmp_path):
    y = (np.arange(60) % 10).astype(np.uint8)
    y[5] = 200
    msg = one_line_error(data.load, _set_with(tmp_path, train_labels=y))
    assert "label 200 at index 5" in msg and "10..199 never occur" in msg
    yt = (np.arange(20) % 10).astype(np.uint8)
    yt[3] = 12
    msg = one_line_error(data.load, _set_with(tmp_path / "t", test_labels=yt))
    assert "label 12 at index 3" in msg and "have 10 classes" in msg


def test_labels_from_1_are_accepted_as_in_emnist_letters(tmp_path):
    y = (np.arange(60) % 26 + 1).astype(np.uint8)
    ds = data.load(_set_with(tmp_path, train_labels=y, test_labels=(np.arange(20) % 26 + 1).astype(np.uint8)))
    assert ds.num_classes == 27


def test_a_gzip_bomb_stops_at_the_size_its_header_declares(tmp_path):
    """A header for 10 images, then 200 MB of zeros compressed to about 200 kB: refused after
    inflating one byte past the declared 7,856 bytes, not after inflating 200 MB."""
    import tracemalloc
    import zlib as _zlib

    head = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (10, 28, 28))
    z = _zlib.compressobj(9, _zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    bomb.write_bytes(z.compress(head) + b"".join(z.compress(block) for _ in range(200)) + z.flush())
    tracemalloc.start()
    try:
        msg = one_line_error(data.read_idx, bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "inflates past the 7856 bytes its IDX header announces" in msg
    assert peak < 20 << 20, peak                 # the compressed file and a little, not 200 MB


def test_the_data_digest_follows_the_content_not_the_path(tmp_path):
    a = data.load(make_set(tmp_path / "a", seed=1))
    b = data.load(make_set(tmp_path / "b", seed=1))
    c = data.load(make_set(tmp_path / "c", seed=2))
    assert data.digest(a) == data.digest(b) != data.digest(c)
