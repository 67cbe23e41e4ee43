"""The multi-label ``yeast`` data set: 2,417 genes, 103 features, 14 functional labels.

Not to be confused with KEEL's single-label ``yeast`` sets (``yeast1`` …
``yeast6``, see :func:`~skimbalance.datasets.fetch_keel`), which hold 1,484
proteins described by 8 features.
"""

import csv
import gzip
import io
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_files
from sklearn.utils import Bunch

from . import _home
from ._home import DatasetNotFoundError, get_data_home, package_folders

#: The data set's shape: samples, features, labels.
N_SAMPLES, N_FEATURES, N_LABELS = 2417, 103, 14

#: Folder of ``data_home`` where the files are looked for and downloaded to.
FOLDER = "yeast_multilabel"

#: Files of the MULAN CSV layout (header ``Att1 … Att103, Class1 … Class14``).
CSV_FILES = ("yeast.csv.gz", "yeast.csv")

#: Elisseeff and Weston's training and test files, in LIBSVM's multi-label format.
LIBSVM_FILES = ("yeast_train.svm.bz2", "yeast_test.svm.bz2")

#: Where the LIBSVM files are downloaded from (the LIBSVM data-set page).
LIBSVM_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multilabel/"

FEATURE_NAMES = tuple(f"Att{i}" for i in range(1, N_FEATURES + 1))
LABEL_NAMES = tuple(f"Class{j}" for j in range(1, N_LABELS + 1))


def _river_file():
    """The CSV shipped by the PyPI package ``river``, found without importing it."""
    paths = (
        folder / "datasets" / "yeast.csv.gz" for folder in package_folders("river")
    )
    return next((path for path in paths if path.is_file()), None)


def read_yeast_csv(path):
    """Read the MULAN CSV layout: a header, then one row per gene.

    Feature columns are those whose name starts with ``Att``, label columns
    those whose name starts with ``Class`` (values ``0``/``1``, or
    ``False``/``True``), each kept in file order. ``.gz`` files are
    decompressed.

    Parameters
    ----------
    path : str or path-like
        The CSV file (``.csv`` or ``.csv.gz``).

    Returns
    -------
    data : ndarray of shape (n_samples, n_features), float64
    target : ndarray of shape (n_samples, n_labels), int64
    feature_names, target_names : list of str
    """
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    reader = csv.reader(io.StringIO(raw.decode("utf-8")))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ValueError(f"{path} is empty.") from None
    features = [i for i, name in enumerate(header) if name.startswith("Att")]
    labels = [i for i, name in enumerate(header) if name.startswith("Class")]
    if not features or not labels:
        raise ValueError(
            f"{path} is not the multi-label yeast CSV: its header has no Att* "
            "feature or no Class* label columns."
        )
    truth = {"0": 0, "1": 1, "false": 0, "true": 1, "0.0": 0, "1.0": 1}
    data, target = [], []
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{path}:{number}: {len(row)} values for {len(header)} columns."
            )
        data.append([float(row[i]) for i in features])
        try:
            target.append([truth[row[i].strip().lower()] for i in labels])
        except KeyError as error:
            raise ValueError(
                f"{path}:{number}: a label value must be 0 or 1, got {error.args[0]!r}."
            ) from None
    return (
        np.asarray(data, dtype=np.float64).reshape(-1, len(features)),
        np.asarray(target, dtype=np.int64).reshape(-1, len(labels)),
        [header[i] for i in features],
        [header[i] for i in labels],
    )


def read_yeast_libsvm(paths):
    """Read Elisseeff and Weston's files in LIBSVM's multi-label format.

    Each line is ``l1,l2,... i:v i:v ...``: the sample's labels, then its
    non-zero features with 1-based indices. The files are read in the given
    order (training, then test) and stacked. Labels are numbered 0-13 in
    LIBSVM's copy; a copy numbered 1-14 is recognised by holding label 14 and
    no label 0.

    Parameters
    ----------
    paths : sequence of str or path-like
        The files (``.svm`` or compressed ``.svm.bz2`` / ``.svm.gz``).

    Returns
    -------
    data : ndarray of shape (n_samples, 103), float64
    target : ndarray of shape (n_samples, 14), int64
    """
    parts = load_svmlight_files(
        [str(p) for p in paths],
        n_features=N_FEATURES,
        multilabel=True,
        zero_based=False,
        dtype=np.float64,
    )
    blocks, label_sets = [], []
    for X, y in zip(parts[0::2], parts[1::2], strict=True):
        blocks.append(X.toarray())
        label_sets += [[int(v) for v in labels] for labels in y]
    seen = {v for labels in label_sets for v in labels}
    offset = 1 if (N_LABELS in seen and 0 not in seen) else 0
    target = np.zeros((len(label_sets), N_LABELS), dtype=np.int64)
    for i, labels in enumerate(label_sets):
        for v in labels:
            if not 0 <= v - offset < N_LABELS:
                raise ValueError(
                    f"label {v} out of range in {[str(p) for p in paths]}; "
                    f"expected {N_LABELS} labels."
                )
            target[i, v - offset] = 1
    return np.vstack(blocks), target


def _read(path_or_paths):
    if isinstance(path_or_paths, tuple):
        data, target = read_yeast_libsvm(path_or_paths)
        return data, target, list(FEATURE_NAMES), list(LABEL_NAMES)
    return read_yeast_csv(path_or_paths)


def _on_disk(folder):
    for name in CSV_FILES:
        if (folder / name).is_file():
            return folder / name
    if all((folder / name).is_file() for name in LIBSVM_FILES):
        return tuple(folder / name for name in LIBSVM_FILES)
    return None


def fetch_yeast_multilabel(
    *, data_home=None, download_if_missing=True, return_X_y=False
):
    """Load the multi-label yeast data set (Elisseeff and Weston, 2001).

    2,417 yeast genes, each described by 103 micro-array expression and
    phylogenetic-profile features and annotated with a subset of 14
    functional categories; the positive rate of a label ranges from 1.4 %
    (``Class14``, 34 genes) to 75 % (``Class12``). It is the multi-label
    benchmark of MULAN and of OpenML (data set 40597). Not KEEL's
    single-label ``yeast`` sets (see :func:`fetch_keel`).

    The data are looked for, in order:

    1. in ``<data_home>/yeast_multilabel/``, where downloads also go: MULAN's
       CSV layout as ``yeast.csv.gz`` or ``yeast.csv`` (header ``Att1`` …
       ``Att103``, ``Class1`` … ``Class14``), else LIBSVM's pair
       ``yeast_train.svm.bz2`` and ``yeast_test.svm.bz2``;
    2. in the PyPI package ``river`` (``pip install river``), which ships the
       MULAN CSV as ``river/datasets/yeast.csv.gz``; the file is read
       directly, river is not imported;
    3. on the LIBSVM data-set page, whose two files (Elisseeff and Weston's
       1,500 training and 917 test genes) are downloaded into
       ``<data_home>/yeast_multilabel/`` when ``download_if_missing``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download from the LIBSVM page when no copy is found on disk.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (2417, 103) float64 features, ``target`` (2417, 14) int64 0/1
        indicator matrix (one column per label, the layout every estimator of
        this library accepts as a multi-label target), ``feature_names``,
        ``target_names`` (``Class1`` … ``Class14``), ``DESCR`` and ``source``
        (the file(s) read).
    (data, target) : tuple
        When ``return_X_y`` is True.

    Raises
    ------
    DatasetNotFoundError
        When no copy is on disk and downloading failed or is disabled; the
        message says how to get the data offline.

    Notes
    -----
    The sources hold the same genes; the row order may differ between the
    MULAN CSV and the LIBSVM files (training genes, then test genes).

    References
    ----------
    .. [1] A. Elisseeff and J. Weston, "A kernel method for multi-labelled
       classification", NIPS 2001.
    .. [2] G. Tsoumakas, E. Spyromitros-Xioufis, J. Vilcek and I. Vlahavas,
       "MULAN: A Java library for multi-label learning", JMLR 12, 2011.

    Examples
    --------
    The real data come from ``river`` or the network, which a doctest run
    cannot count on, so the line that loads them is skipped:

    >>> from skimbalance.datasets import fetch_yeast_multilabel
    >>> X, Y = fetch_yeast_multilabel(return_X_y=True)  # doctest: +SKIP

    Then ``X.shape`` is ``(2417, 103)`` and ``Y.shape`` ``(2417, 14)``. A copy
    in MULAN's CSV layout under ``data_home`` is read as it is:

    >>> import tempfile
    >>> from pathlib import Path
    >>> home = Path(tempfile.mkdtemp())
    >>> (home / "yeast_multilabel").mkdir()
    >>> header = [f"Att{i}" for i in range(1, 104)] + [f"Class{j}" for j in range(1, 15)]
    >>> row = ["0.5"] * 103 + ["1", "0"] + ["0"] * 12
    >>> text = ",".join(header) + "\\n" + ",".join(row) + "\\n"
    >>> _ = (home / "yeast_multilabel" / "yeast.csv").write_text(text)
    >>> data = fetch_yeast_multilabel(data_home=home, download_if_missing=False)
    >>> data.data.shape, data.target.shape, data.target[0, :3].tolist()
    ((1, 103), (1, 14), [1, 0, 0])
    """
    folder = get_data_home(data_home) / FOLDER
    source = _on_disk(folder) or _river_file()
    if source is None:
        reason = "downloading is disabled (download_if_missing=False)"
        if download_if_missing:
            try:
                for name in LIBSVM_FILES:
                    if not (folder / name).is_file():
                        _home.download_first([LIBSVM_URL + name], folder / name)
                source = tuple(folder / name for name in LIBSVM_FILES)
            except OSError as error:
                reason = f"downloading failed: {error}"
        if source is None:
            raise DatasetNotFoundError(
                "The multi-label yeast data set was not found. Looked in "
                f"{folder} for {' or '.join(CSV_FILES)} (MULAN's CSV layout) or "
                f"for {' + '.join(LIBSVM_FILES)}, and for the PyPI package river; "
                f"{reason}. To get it without a network: `pip install river` (it "
                "ships the data as river/datasets/yeast.csv.gz), or copy that file, "
                f"or the two files from {LIBSVM_URL}, into {folder}."
            )
    data, target, feature_names, target_names = _read(source)
    if return_X_y:
        return data, target
    rates = target.mean(axis=0)
    where = " + ".join(str(p) for p in source) if isinstance(source, tuple) else source
    descr = (
        f"Multi-label yeast (Elisseeff and Weston, 2001): {data.shape[0]} genes, "
        f"{data.shape[1]} features, {target.shape[1]} functional labels with "
        f"positive rates from {100 * rates.min():.1f} % to {100 * rates.max():.1f} %."
    )
    return Bunch(
        data=data,
        target=target,
        feature_names=list(feature_names),
        target_names=list(target_names),
        DESCR=descr,
        source=str(where),
    )
