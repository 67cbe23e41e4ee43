"""Multi-label yeast loader: each source, the formats, and the error without data."""

import bz2
import gzip
import sys

import numpy as np
import pytest

from skimbalance.datasets import (
    DatasetNotFoundError,
    _home,
    _yeast,
    fetch_yeast_multilabel,
)

HEADER = [f"Att{i}" for i in range(1, 104)] + [f"Class{j}" for j in range(1, 15)]


def _csv(rows):
    """MULAN CSV text of ``rows`` given as (features, labels) pairs."""
    lines = [",".join(HEADER)]
    for x, y in rows:
        lines.append(",".join([repr(float(v)) for v in x] + [str(v) for v in y]))
    return "\n".join(lines) + "\n"


def _tiny(n=3):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 103)).round(6)
    Y = np.zeros((n, 14), dtype=int)
    Y[0, [0, 13]] = 1
    Y[1:, 11] = 1
    return X, Y


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(_yeast, "_river_file", lambda: None)

    def no_network(url, path, *, timeout=1.0):
        raise OSError("network is unreachable")

    monkeypatch.setattr(_home, "download", no_network)


def test_csv_in_data_home(tmp_path, offline):
    X, Y = _tiny()
    folder = tmp_path / "yeast_multilabel"
    folder.mkdir()
    (folder / "yeast.csv.gz").write_bytes(
        gzip.compress(_csv(zip(X, Y, strict=True)).encode())
    )
    data = fetch_yeast_multilabel(data_home=tmp_path)
    np.testing.assert_allclose(data.data, X)
    np.testing.assert_array_equal(data.target, Y)
    assert data.data.dtype == np.float64 and data.target.dtype == np.int64
    assert data.feature_names[0] == "Att1" and data.target_names[-1] == "Class14"
    assert data.source.endswith("yeast.csv.gz")
    assert "3 genes, 103 features, 14 functional labels" in data.DESCR
    X2, Y2 = fetch_yeast_multilabel(data_home=tmp_path, return_X_y=True)
    assert X2.shape == (3, 103) and Y2.shape == (3, 14)


def test_csv_format_errors(tmp_path):
    path = tmp_path / "yeast.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no Att"):
        _yeast.read_yeast_csv(path)
    X, Y = _tiny(1)
    path.write_text(_csv([(X[0], Y[0])]).replace(",1,", ",2,", 1))
    with pytest.raises(ValueError, match="must be 0 or 1"):
        _yeast.read_yeast_csv(path)
    path.write_text(_csv([(X[0], Y[0])]).replace(",1\n", "\n"))
    with pytest.raises(ValueError, match="116 values for 117 columns"):
        _yeast.read_yeast_csv(path)


def _svm_line(x, labels):
    features = " ".join(f"{i + 1}:{v}" for i, v in enumerate(x) if v != 0)
    return ",".join(str(v) for v in labels) + " " + features


@pytest.mark.parametrize("offset", [0, 1])
def test_libsvm_pair_in_data_home(tmp_path, offline, offset):
    X, Y = _tiny(4)
    X[2, 5] = 0.0  # an omitted (zero) feature
    Y[3, 13] = 1
    folder = tmp_path / "yeast_multilabel"
    folder.mkdir()
    for name, rows in zip(_yeast.LIBSVM_FILES, ([0, 1], [2, 3]), strict=True):
        text = "\n".join(
            _svm_line(X[i], (np.flatnonzero(Y[i]) + offset).tolist()) for i in rows
        )
        (folder / name).write_bytes(bz2.compress((text + "\n").encode()))
    data = fetch_yeast_multilabel(data_home=tmp_path)
    np.testing.assert_allclose(data.data, X)
    np.testing.assert_array_equal(data.target, Y)
    assert data.target_names == list(_yeast.LABEL_NAMES)
    assert "yeast_train.svm.bz2 + " in data.source


def test_download_goes_to_data_home(tmp_path, monkeypatch):
    monkeypatch.setattr(_yeast, "_river_file", lambda: None)
    X, Y = _tiny(2)
    urls = []

    def fake_download(url, path, *, timeout=1.0):
        urls.append(url)
        i = 0 if "train" in url else 1
        line = _svm_line(X[i], np.flatnonzero(Y[i]).tolist())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bz2.compress((line + "\n").encode()))

    monkeypatch.setattr(_home, "download", fake_download)
    data = fetch_yeast_multilabel(data_home=tmp_path)
    assert urls == [_yeast.LIBSVM_URL + name for name in _yeast.LIBSVM_FILES]
    np.testing.assert_array_equal(data.target, Y)
    # The second call reads the downloaded copy.
    monkeypatch.setattr(_home, "download", None)
    assert fetch_yeast_multilabel(data_home=tmp_path).data.shape == (2, 103)


def test_river_package_found_without_importing_it(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "river"
    (pkg / "datasets").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('not imported')\n")
    X, Y = _tiny()
    (pkg / "datasets" / "yeast.csv.gz").write_bytes(
        gzip.compress(_csv(zip(X, Y, strict=True)).encode())
    )
    for name in [m for m in sys.modules if m == "river" or m.startswith("river.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(_home, "download", None)  # must not be called
    data = fetch_yeast_multilabel(data_home=tmp_path / "home")
    assert data.source == str(pkg / "datasets" / "yeast.csv.gz")
    np.testing.assert_array_equal(data.target, Y)
    assert "river" not in sys.modules


def test_real_data_from_river(tmp_path):
    if _yeast._river_file() is None:
        pytest.skip("river is not installed")
    data = fetch_yeast_multilabel(data_home=tmp_path, download_if_missing=False)
    assert data.data.shape == (2417, 103) and data.target.shape == (2417, 14)
    positives = data.target.sum(axis=0)
    assert positives.min() == 34 and positives.max() == 1816  # 1.4 % and 75.1 %
    assert set(np.unique(data.target)) == {0, 1}
    assert np.isfinite(data.data).all()


def test_clear_error_without_data_or_network(tmp_path, offline):
    with pytest.raises(DatasetNotFoundError) as info:
        fetch_yeast_multilabel(data_home=tmp_path)
    message = str(info.value)
    assert "pip install river" in message and "network is unreachable" in message
    assert str(tmp_path / "yeast_multilabel") in message
    with pytest.raises(DatasetNotFoundError, match="downloading is disabled"):
        fetch_yeast_multilabel(data_home=tmp_path, download_if_missing=False)
