"""Image classification data in the IDX format (MNIST, Fashion-MNIST, KMNIST, EMNIST), validated.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic number
``0x00 0x00 TYPE NDIM``, then ``NDIM`` big-endian uint32 sizes, then the data in C order.
MNIST-style sets ship four files, gzip-compressed or raw::

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]     (MNIST, Fashion-MNIST, KMNIST)
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]
    emnist-<split>-train-images-idx3-ubyte[.gz] ... emnist-<split>-test-...   (EMNIST)

(the MNIST site's spelling ``train-images.idx3-ubyte`` is accepted too). Nothing is downloaded: the
default is Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package. Every defect of a file
(truncated, corrupt, wrong magic, mismatched counts) is one line naming the file, what is wrong,
and what to do: a :class:`cnnspec.errors.UsageError`.

>>> import numpy as np, tempfile, os
>>> d = tempfile.mkdtemp(); p = os.path.join(d, "x-idx1-ubyte")
>>> _ = write_idx(p, np.arange(3, dtype=np.uint8)); read_idx(p)
array([0, 1, 2], dtype=uint8)
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import zlib
from glob import escape as glob_escape
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cnnspec.errors import UsageError

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
HOW_TO_GET = ("install Debian's package (sudo apt-get install dataset-fashion-mnist, which fills "
              f"{DEFAULT_ROOT}) or pass --data DIR, a folder with MNIST-format IDX files")

# IDX type byte -> numpy dtype (big-endian, as the format stores it).
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _fail(path: str | os.PathLike, what: str) -> UsageError:
    return UsageError(f"{path}: {what}; replace the file (for the default data: sudo apt-get "
                      f"install --reinstall dataset-fashion-mnist)")


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic (whatever its name).

    Inflation stops at the size the IDX header inside declares (plus one byte, to see that there
    is more): a small .gz that inflates to gigabytes is refused after reading its header, not after
    inflating it all.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror or e}); check the path and permissions")
    if raw[:2] != _GZIP_MAGIC:
        return raw
    z, rest, out = zlib.decompressobj(wbits=31), raw, bytearray()   # wbits 31: gzip (zlib docs)
    try:
        want = 20                                # the longest IDX header: 4 + 4·4 bytes
        while len(out) <= want and rest:
            chunk = z.decompress(rest, min(want + 1 - len(out), 1 << 24))
            rest = z.unconsumed_tail
            out += chunk
            if want == 20 and len(out) >= 4:
                size = _declared_size(bytes(out[:20]))
                if size is None:                 # not IDX: parse_idx names the bad magic number
                    return bytes(out)
                if len(out) >= min(20, 4 + 4 * out[3]):
                    want = size
            if not chunk and not rest:
                break
        if len(out) > want:
            raise _fail(path, f"corrupt IDX file: the gzip stream inflates past the {want} bytes its "
                              f"IDX header announces")
        if not z.eof:
            raise EOFError
    except EOFError:
        raise _fail(path, "truncated gzip stream (the compressed file ends early)") from None
    except (OSError, zlib.error) as e:
        raise _fail(path, f"corrupt gzip data ({e})") from None
    return bytes(out)


def _declared_size(head: bytes) -> int | None:
    """The total size an IDX header announces: as much of it as ``head`` holds (the magic
    number alone gives a lower bound of 4 + 4·ndim bytes); None when it is not IDX."""
    if len(head) < 4 or head[0] or head[1] or head[2] not in IDX_TYPES or not 1 <= head[3] <= 4:
        return None
    n = 4 + 4 * head[3]
    if len(head) < n:
        return n
    dims = [int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(head[3])]
    return n + math.prod(dims) * IDX_TYPES[head[2]].itemsize


def parse_idx(data: bytes, path: str | os.PathLike = "<bytes>") -> np.ndarray:
    """Parse an IDX buffer, checking the magic number, the sizes and the exact length."""
    if len(data) < 4:
        raise _fail(path, f"truncated IDX header: {len(data)} bytes, the magic number alone needs 4")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES or not 1 <= data[3] <= 4:
        raise _fail(path, f"not an IDX file: magic number 0x{data[:4].hex()} should be "
                          f"0x0000TTNN with type TT in {{08,09,0b,0c,0d,0e}} and 1 <= NN <= 4 dimensions")
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    head = 4 + 4 * ndim
    if len(data) < head:
        raise _fail(path, f"truncated IDX header: {len(data)} bytes, {ndim} dimensions need {head}")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    need = math.prod(dims) * dtype.itemsize
    have = len(data) - head
    shape = "x".join(map(str, dims))
    if have < need:
        raise _fail(path, f"truncated IDX data: the header says {shape} {dtype.name} = {need} bytes, "
                          f"the file has {have}")
    if have > need:
        raise _fail(path, f"corrupt IDX file: {have - need} bytes after the {shape} {dtype.name} data "
                          f"the header announces")
    return np.frombuffer(data, dtype, offset=head).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """One IDX file (gz or raw) as a NumPy array in native byte order."""
    return parse_idx(read_bytes(path), path)


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as IDX (gzip when ``compress`` or when the name ends in ``.gz``)."""
    array = np.asarray(array)
    code = {v.str.lstrip("<>=|")[-2:]: k for k, v in IDX_TYPES.items()}
    key = array.dtype.newbyteorder(">").str.lstrip("<>=|")[-2:]
    if key not in code or array.ndim not in (1, 2, 3, 4):
        raise ValueError(f"write_idx: dtype {array.dtype} with {array.ndim} dimensions has no IDX type")
    head = bytes([0, 0, code[key], array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    data = head + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path = Path(path)
    if compress or (compress is None and path.suffix == ".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


# --- MNIST-format folders ---------------------------------------------------------------------

@dataclass
class Dataset:
    """A classification set as uint8 images ``(N, H, W)`` and int64 labels, both on the CPU."""

    name: str
    root: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    num_classes: int
    files: dict[str, str]

    def subset(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """The first ``train`` / ``test`` examples (for quick runs and tests)."""
        return Dataset(self.name, self.root, self.train_images[:train], self.train_labels[:train],
                       self.test_images[:test], self.test_labels[:test], self.num_classes, self.files)

    @property
    def mirror_ok(self) -> bool:
        """Whether a horizontal flip keeps the class: clothes yes, digits and letters no."""
        return "fashion" in self.name.lower()


_ROLE = {("train", "images"): "train_images", ("train", "labels"): "train_labels",
         ("t10k", "images"): "test_images", ("t10k", "labels"): "test_labels",
         ("test", "images"): "test_images", ("test", "labels"): "test_labels"}
_NAME = re.compile(r"^(?P<prefix>.*?)(?P<split>train|t10k|test)-(?P<kind>images|labels)"
                   r"[-.]idx(?P<nd>[13])-ubyte(?:\.gz)?$")


def find_files(path: str | os.PathLike) -> tuple[str, dict[str, Path]]:
    """The four files of the set at ``path``: a folder, or a folder plus a file-name prefix
    (``DIR/emnist-letters``) where one folder holds several EMNIST splits."""
    path = Path(path)
    folder, prefix = (path, None) if path.is_dir() else (path.parent, path.name)
    if not folder.is_dir() or (prefix is not None and not any(folder.glob(glob_escape(prefix) + "*"))):
        if str(path) == DEFAULT_ROOT:
            raise UsageError(f"no data: {DEFAULT_ROOT} does not exist; {HOW_TO_GET}")
        raise UsageError(f"--data {path}: no such folder (nor a file-name prefix of IDX files in "
                         f"{folder}); {HOW_TO_GET}")
    sets: dict[str, dict[str, Path]] = {}
    for f in sorted(folder.iterdir()):
        m = _NAME.match(f.name)
        if not m or (prefix is not None and m["prefix"].rstrip("-_.") != prefix.rstrip("-_.")):
            continue
        role = _ROLE[(m["split"], m["kind"])]
        files = sets.setdefault(m["prefix"], {})
        if role not in files or f.suffix != ".gz":  # prefer the raw file when both are there
            files[role] = f
    complete = {p: fs for p, fs in sets.items() if len(fs) == 4}
    if not complete:
        have = ", ".join(f"{p or '(no prefix)'}: {sorted(fs)}" for p, fs in sets.items()) or "none"
        raise UsageError(f"--data {path}: no complete MNIST-format set (train/t10k images and labels, "
                         f"e.g. train-images-idx3-ubyte.gz); sets found: {have}; {HOW_TO_GET}")
    if len(complete) > 1:
        choices = ", ".join(str(folder / p.rstrip('-_.')) for p in complete)
        raise UsageError(f"--data {path}: {len(complete)} sets in one folder; choose one with "
                         f"--data {choices.split(', ')[0]} (one of: {choices})")
    prefix_found, files = next(iter(complete.items()))
    return prefix_found, files


def load(path: str | os.PathLike | None = None) -> Dataset:
    """Read and validate an MNIST-format set (default: Debian's Fashion-MNIST)."""
    path = Path(path if path is not None else DEFAULT_ROOT)
    prefix, files = find_files(path)
    arrays = {role: read_idx(f) for role, f in files.items()}
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        fx, fy = files[f"{split}_images"], files[f"{split}_labels"]
        if x.ndim != 3 or x.dtype != np.uint8:
            raise _fail(fx, f"images must be a 3-D uint8 array (N, rows, cols), got "
                            f"{'x'.join(map(str, x.shape))} {x.dtype}")
        if y.ndim != 1 or y.dtype != np.uint8:
            raise _fail(fy, f"labels must be a 1-D uint8 array, got {'x'.join(map(str, y.shape))} {y.dtype}")
        if len(x) != len(y):
            raise UsageError(f"{fx} has {len(x)} images but {fy} has {len(y)} labels; the two files of "
                             f"a split must have the same count (mixed-up or partial files?)")
        if len(x) == 0:
            raise _fail(fx, "the file holds 0 images; a split needs at least one")
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise UsageError(f"{files['train_images']} images are "
                         f"{'x'.join(map(str, arrays['train_images'].shape[1:]))} but "
                         f"{files['test_images']} are {'x'.join(map(str, arrays['test_images'].shape[1:]))}; "
                         f"the files come from different sets")
    tx, ty = arrays["train_images"], arrays["train_labels"]
    if prefix.startswith("emnist"):
        # EMNIST stores each image transposed relative to MNIST (Cohen et al. 2017, §II-A).
        arrays = {k: (np.ascontiguousarray(v.transpose(0, 2, 1)) if v.ndim == 3 else v)
                  for k, v in arrays.items()}
    num_classes = check_labels(ty, arrays["test_labels"], files)
    if int(tx.min()) == int(tx.max()):
        raise _fail(files["train_images"], f"every pixel of every training image is {int(tx.min())}: "
                                           f"nothing to learn, and no spread to normalise by")
    name = prefix.rstrip("-_.") or (path.resolve().name if path.is_dir() else path.name)
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    return Dataset(name or "idx", str(path), t["train_images"], t["train_labels"].long(),
                   t["test_images"], t["test_labels"].long(), num_classes,
                   {k: str(v) for k, v in files.items()})


def check_labels(train: np.ndarray, test: np.ndarray, files: dict[str, Path]) -> int:
    """The number of classes K: the training labels are the class ids 0..K-1, each of them used
    (0 may be unused: EMNIST letters count 1..26, Cohen et al. 2017 Table II); the test labels are
    below K. A label far beyond the others (200 among 0..9) would grow the classifier's head
    silently; it is a one-line error naming the file and where the label is."""
    k = int(train.max()) + 1
    used = np.bincount(train, minlength=k)
    missing = [c for c in range(1, k) if not used[c]]
    if missing:
        i = int(np.argmax(train == k - 1))
        raise _fail(files["train_labels"], f"label {k - 1} at index {i}, but the classes "
                                           f"{_ranges(missing)} never occur: labels must be class ids "
                                           f"0..K-1 with every class used")
    if int(test.max()) >= k:
        i = int(np.argmax(test >= k))
        raise _fail(files["test_labels"], f"label {int(test[i])} at index {i}, but the training labels "
                                          f"have {k} classes (0..{k - 1})")
    return k


def _ranges(ids: list[int]) -> str:
    """``10..199`` or ``3, 5`` (a compact list of class ids)."""
    if ids == list(range(ids[0], ids[-1] + 1)) and len(ids) > 2:
        return f"{ids[0]}..{ids[-1]}"
    return ", ".join(map(str, ids[:8])) + (" ..." if len(ids) > 8 else "")


def digest(ds: "Dataset") -> str:
    """SHA-256 of the images and labels (in order, with their shapes): the data's identity for
    resuming, whatever folder it is read from."""
    h = hashlib.sha256()
    for t in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        a = np.ascontiguousarray(t.numpy())
        h.update(repr((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


# --- tensors for training ---------------------------------------------------------------------

@dataclass
class DeviceData:
    """Normalised float images ``(N, 1, S, S)`` and labels, already on the training device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: float
    std: float
    background: float  # the value of a 0 (black) pixel after normalisation: the fill of shifts

    @property
    def size(self) -> int:
        return self.train_x.shape[-1]


def to_device(ds: Dataset, device: str | torch.device = "cpu", pad_to: int | None = None,
              dtype: torch.dtype = torch.float32) -> DeviceData:
    """Normalise with the training set's mean and std and pad (with black) to ``pad_to`` pixels.

    LeNet-5 reads 32x32 inputs: "the characters were ... centered in a 28x28 field ... extended
    to 32x32" (LeCun et al. 1998, §II-A); so 28x28 images get two black pixels on each side.
    """
    xs = ds.train_images.to(torch.float64) / 255
    mean, std = float(xs.mean()), float(xs.std()) if xs.numel() > 1 else 0.0
    if not std > 0:
        raise UsageError(f"{ds.root}: the {len(xs)} training images have one pixel value "
                         f"({mean * 255:g}) throughout: no spread to normalise by; use other data")
    background = -mean / std

    def prep(img: torch.Tensor) -> torch.Tensor:
        x = ((img.to(device, torch.float32) / 255 - mean) / std).unsqueeze(1)
        if pad_to is not None and pad_to != x.shape[-1]:
            h, w = x.shape[-2:]
            if h > pad_to or w > pad_to:
                raise UsageError(f"images are {h}x{w}, larger than the model's input {pad_to}x{pad_to}")
            top, left = (pad_to - h) // 2, (pad_to - w) // 2
            x = F.pad(x, (left, pad_to - w - left, top, pad_to - h - top), value=background)
        return x.to(dtype).contiguous()

    return DeviceData(prep(ds.train_images), ds.train_labels.to(device), prep(ds.test_images),
                      ds.test_labels.to(device), mean, std, background)
