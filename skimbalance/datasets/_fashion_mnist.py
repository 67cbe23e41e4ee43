"""Fashion-MNIST: Zalando's 70,000 article images of 28 × 28 in 10 classes."""

from pathlib import Path

from . import _home
from ._home import DatasetNotFoundError, get_data_home
from ._idx import IDX_FILES, find_idx_folder, read_idx_subsets
from ._images import check_subset, image_bunch

#: The official download location (Zalando Research).
FASHION_MNIST_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

#: Folders of system packages holding the IDX files (Debian's
#: ``dataset-fashion-mnist``).
SYSTEM_FOLDERS = (Path("/usr/share/datasets/fashion-mnist"),)

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_DESCR = (
    "Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28 x 28 grey-level images of "
    "Zalando articles in 10 classes; 60,000 training and 10,000 test images. "
    "MIT licence."
)


def fetch_fashion_mnist(
    *, subset="all", data_home=None, download_if_missing=True, return_X_y=False
):
    """Load Fashion-MNIST, from disk when it is there, else from its official source.

    The original IDX files (``train-images-idx3-ubyte.gz`` …) are looked for,
    in order:

    1. in ``<data_home>/fashion_mnist/``, where downloads also go;
    2. in ``/usr/share/datasets/fashion-mnist/``, where the Debian package
       ``dataset-fashion-mnist`` puts them (``apt-get install
       dataset-fashion-mnist``);
    3. on Zalando Research's download page, downloaded into
       ``<data_home>/fashion_mnist/`` when ``download_if_missing``.

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
        ``data`` (n, 784) float32 pixels in [0, 1], ``target`` (n,) int64 class
        index, ``images`` (n, 28, 28) (a view of ``data``), ``target_names``
        (the article names), ``DESCR`` and ``source`` (where the files were read).
    (data, target) : tuple
        When ``return_X_y`` is True.

    Raises
    ------
    DatasetNotFoundError
        When no copy is on disk and downloading failed or is disabled; the
        message says how to get the data offline.

    References
    ----------
    .. [1] H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a novel image
       dataset for benchmarking machine learning algorithms", arXiv:1708.07747,
       2017.

    Examples
    --------
    >>> from skimbalance.datasets import fetch_fashion_mnist
    >>> data = fetch_fashion_mnist(subset="train")  # doctest: +SKIP
    >>> data.images.shape, data.target_names[0]  # doctest: +SKIP
    ((60000, 28, 28), 'T-shirt/top')
    """
    subsets = check_subset(subset)
    folder = get_data_home(data_home) / "fashion_mnist"
    found = find_idx_folder([folder, *SYSTEM_FOLDERS], subsets)
    if found is None:
        names = [name for s in subsets for name in IDX_FILES[s]]
        reason = "downloading is disabled (download_if_missing=False)"
        if download_if_missing:
            try:
                for name in names:
                    if not (folder / name).is_file():
                        _home.download_first(
                            [base + name for base in FASHION_MNIST_URLS], folder / name
                        )
                reason = None
            except OSError as error:
                reason = f"downloading failed: {error}"
        if reason is not None:
            looked = ", ".join(str(f) for f in [folder, *SYSTEM_FOLDERS])
            raise DatasetNotFoundError(
                f"Fashion-MNIST was not found. Looked for the IDX files {names} in "
                f"{looked}; {reason}. To get it without a network: `apt-get install "
                "dataset-fashion-mnist` (Debian/Ubuntu), or copy the four IDX "
                f"files from {FASHION_MNIST_URLS[0]} into {folder}."
            )
        found = folder
    images, labels = read_idx_subsets(found, subsets)
    return image_bunch(
        images,
        labels,
        target_names=FASHION_MNIST_CLASSES,
        descr=_DESCR,
        source=found,
        return_X_y=return_X_y,
    )
