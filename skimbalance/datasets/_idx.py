"""Readers of the IDX files of MNIST and Fashion-MNIST (LeCun et al.'s format)."""

import gzip
from pathlib import Path

import numpy as np

#: The four files of the format, by subset.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_DTYPES = {0x08: np.uint8}


def read_idx(path):
    """An IDX array (gzip-compressed or not) as a numpy array.

    The header is two zero bytes, a type code (only unsigned bytes, ``0x08``,
    are used by these data sets), the number of dimensions and one big-endian
    32-bit size per dimension.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    offset = 4 + 4 * ndim
    data = np.frombuffer(raw, dtype=_DTYPES[raw[2]], offset=offset)
    if data.size != int(np.prod(shape)):
        raise ValueError(
            f"{path}: the header announces shape {shape} but the file holds "
            f"{data.size} values."
        )
    return data.reshape(shape)


def find_idx_folder(folders, subsets):
    """The first folder holding the IDX files of every subset in ``subsets``."""
    needed = [name for subset in subsets for name in IDX_FILES[subset]]
    for folder in folders:
        if folder is not None and all((Path(folder) / n).is_file() for n in needed):
            return Path(folder)
    return None


def read_idx_subsets(folder, subsets):
    """Images (n, 28, 28) uint8 and labels (n,) int64 of ``subsets``, concatenated."""
    images, labels = [], []
    for subset in subsets:
        image_file, label_file = IDX_FILES[subset]
        x = read_idx(Path(folder) / image_file)
        y = read_idx(Path(folder) / label_file)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{folder}: {image_file} holds {x.shape} and {label_file} "
                f"holds {y.shape}; expected (n, rows, cols) images and n labels."
            )
        images.append(x)
        labels.append(y.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)
