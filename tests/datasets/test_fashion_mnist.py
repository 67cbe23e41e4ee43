"""Fashion-MNIST loader: each source on tiny files written in the real format."""

import gzip

import numpy as np
import pytest

from skimbalance.datasets import (
    DatasetNotFoundError,
    _fashion_mnist,
    _home,
    fetch_fashion_mnist,
)
from skimbalance.datasets._idx import IDX_FILES

rng = np.random.default_rng(1)
IMAGES = {
    "train": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
    "test": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
}
LABELS = {
    "train": np.array([0, 9, 3, 3, 1], np.uint8),
    "test": np.array([2, 5, 8], np.uint8),
}


def write_idx_set(folder, offset=0):
    folder.mkdir(parents=True, exist_ok=True)
    for subset, (image_file, label_file) in IDX_FILES.items():
        for name, array in ((image_file, IMAGES[subset]), (label_file, LABELS[subset])):
            array = (array.astype(int) + offset) % 256
            header = bytes([0, 0, 0x08, array.ndim])
            header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
            (folder / name).write_bytes(
                gzip.compress(header + array.astype(np.uint8).tobytes())
            )


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty system folder, and downloads that fail as without a network."""
    monkeypatch.setattr(_fashion_mnist, "SYSTEM_FOLDERS", (tmp_path / "usr_share",))

    def no_network(url, path, *, timeout=1.0):
        raise OSError("network is unreachable")

    monkeypatch.setattr(_home, "download", no_network)
    return tmp_path / "usr_share"


def test_system_package_folder(tmp_path, offline):
    write_idx_set(offline)
    data = fetch_fashion_mnist(subset="train", data_home=tmp_path / "home")
    assert data.source == str(offline) and data.data.shape == (5, 784)
    np.testing.assert_array_equal(data.images, IMAGES["train"] / np.float32(255))
    np.testing.assert_array_equal(data.target, LABELS["train"])
    assert data.target_names[0] == "T-shirt/top" and len(data.target_names) == 10
    X, y = fetch_fashion_mnist(data_home=tmp_path / "home", return_X_y=True)
    assert X.shape == (8, 784) and y.tolist() == [0, 9, 3, 3, 1, 2, 5, 8]


def test_data_home_comes_first(tmp_path, offline):
    write_idx_set(offline, offset=1)
    write_idx_set(tmp_path / "home" / "fashion_mnist")
    data = fetch_fashion_mnist(subset="test", data_home=tmp_path / "home")
    assert data.source == str(tmp_path / "home" / "fashion_mnist")
    np.testing.assert_array_equal(data.target, LABELS["test"])


def test_download_into_data_home(tmp_path, offline, monkeypatch):
    write_idx_set(tmp_path / "server")
    urls = []

    def fake_download(url, path, *, timeout=1.0):
        urls.append(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((tmp_path / "server" / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(_home, "download", fake_download)
    data = fetch_fashion_mnist(subset="test", data_home=tmp_path / "home")
    assert data.images.shape == (3, 28, 28)
    assert all(u.startswith(_fashion_mnist.FASHION_MNIST_URLS[0]) for u in urls)
    assert len(urls) == 2


def test_clear_error_without_data_or_network(tmp_path, offline):
    with pytest.raises(DatasetNotFoundError) as info:
        fetch_fashion_mnist(data_home=tmp_path / "home")
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "network is unreachable" in message and str(offline) in message


def test_real_fashion_mnist_from_debian_package(tmp_path):
    folder = _fashion_mnist.SYSTEM_FOLDERS[0]
    if not (folder / IDX_FILES["test"][0]).is_file():
        pytest.skip("the Debian package dataset-fashion-mnist is not installed")
    X, y = fetch_fashion_mnist(subset="test", data_home=tmp_path, return_X_y=True)
    assert X.shape == (10000, 784) and np.bincount(y).tolist() == [1000] * 10
