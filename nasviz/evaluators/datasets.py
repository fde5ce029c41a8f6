"""Image datasets for live training: scikit-learn digits (built in) and a local CIFAR-10 folder.

CIFAR-10 "python version" batches are pickles. They are read with a restricted unpickler that only
rebuilds numpy arrays and plain containers, so a crafted file cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasviz.errors import ConfigError, DataError

CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class ImageSplit:
    """Train and validation tensors (images N x C x H x W float32, labels int64) and a data version."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int
    version: str

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def resolution(self) -> int:
        return int(self.x_train.shape[-1])


def _seeded_split(n: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    return perm[n_val:], perm[:n_val]


@lru_cache(maxsize=4)
def load_digits_split(seed: int = 0, val_fraction: float = 0.3, image_size: int = 8) -> ImageSplit:
    """scikit-learn's 1,797 handwritten digits (8x8 greyscale), standardised, seeded train/val split."""
    from sklearn.datasets import load_digits

    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if image_size != 8:
        images = torch.nn.functional.interpolate(images, size=(image_size, image_size), mode="bilinear", align_corners=False)
    images = (images - images.mean()) / images.std()
    labels = torch.tensor(digits.target, dtype=torch.int64)
    train, val = _seeded_split(len(labels), round(len(labels) * val_fraction), seed)
    return ImageSplit(images[train], labels[train], images[val], labels[val], 10, digits_version())


def digits_version() -> str:
    """Data version of the digits set (it ships with scikit-learn)."""
    from importlib.metadata import version

    return f"sklearn-digits-1797 (scikit-learn {version('scikit-learn')})"


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays, dtypes and plain containers; refuses every other global."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # protocol-2 pickles written by Python 3 store bytes this way (str -> latin-1)
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays and plain data are allowed")


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: (images N x 3 x 32 x 32 uint8, labels N int64)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read CIFAR-10 batch {path}: {exc.strerror}") from None
    try:
        batch = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any failure means the file is not a CIFAR batch
        raise DataError(f"{path} is not a CIFAR-10 python batch: {exc}") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path} is not a CIFAR-10 python batch: expected a dict, got {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"{path} is not a CIFAR-10 python batch: the 'data' or 'labels' field is missing")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise DataError(f"{path}: field 'data' must be N x 3072 uint8 with N labels, got {data.dtype} {data.shape} "
                        f"and {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels must be 0..9, found {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels


def _files_version(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=4)
def cifar10_version(data_dir: str, with_test: bool = True) -> str:
    """Content hash of the CIFAR-10 batches in a folder (the data version recorded with results)."""
    folder = Path(data_dir).expanduser()
    names = list(CIFAR10_TRAIN_FILES) + ([CIFAR10_TEST_FILE] if with_test else [])
    paths = [folder / name for name in names if (folder / name).exists()]
    if not paths:
        raise DataError(f"{folder} holds no CIFAR-10 batch (expected {', '.join(names)})")
    return f"cifar10-python sha256:{_files_version(paths)}"


@lru_cache(maxsize=2)
def load_cifar10_split(data_dir: str, seed: int = 0, train_size: int = 5000, val_size: int = 1000,
                       val_from: str = "test") -> ImageSplit:
    """A seeded subset of a local CIFAR-10 python folder (``data_batch_1..5``, ``test_batch``).

    Validation images come from ``test_batch`` (``val_from="test"``) or from held-out training images.
    """
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DataError(f"CIFAR-10 folder {folder} does not exist")
    train_paths = [folder / name for name in CIFAR10_TRAIN_FILES if (folder / name).exists()]
    if not train_paths:
        raise DataError(f"{folder} holds no CIFAR-10 training batch (expected {', '.join(CIFAR10_TRAIN_FILES)})")
    batches = [read_cifar_batch(p) for p in train_paths]
    x_all = np.concatenate([b[0] for b in batches])
    y_all = np.concatenate([b[1] for b in batches])
    rng = np.random.default_rng(seed)
    if val_from == "test":
        test_path = folder / CIFAR10_TEST_FILE
        if not test_path.exists():
            raise DataError(f"{folder} has no {CIFAR10_TEST_FILE}; use val_from='train'")
        x_val_all, y_val_all = read_cifar_batch(test_path)
        val_idx = rng.permutation(len(y_val_all))[:val_size]
        x_val, y_val = x_val_all[val_idx], y_val_all[val_idx]
        train_idx = rng.permutation(len(y_all))[:train_size]
    elif val_from == "train":
        perm = rng.permutation(len(y_all))
        val_idx, train_idx = perm[:val_size], perm[val_size:val_size + train_size]
        x_val, y_val = x_all[val_idx], y_all[val_idx]
    else:
        raise ConfigError(f"val_from must be 'test' or 'train', got {val_from!r}")
    x_train, y_train = x_all[train_idx], y_all[train_idx]
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)

    def prepare(x: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(x).float() / 255.0 - mean) / std

    version = cifar10_version(str(folder), val_from == "test")
    return ImageSplit(prepare(x_train), torch.from_numpy(y_train), prepare(x_val), torch.from_numpy(y_val), 10, version)
