"""The data folder and the download helper."""

from pathlib import Path

import pytest

from skimbalance.datasets import _home, get_data_home


def test_data_home_explicit_env_and_default(tmp_path, monkeypatch):
    assert get_data_home(tmp_path / "a") == tmp_path / "a"
    assert (tmp_path / "a").is_dir()
    monkeypatch.setenv("SKIMBALANCE_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    monkeypatch.delenv("SKIMBALANCE_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home() == tmp_path / "home" / "skimbalance_data"


def test_download_first_tries_each_url_and_reports_all(tmp_path, monkeypatch):
    tried = []

    def fake(url, path, *, timeout=1.0):
        tried.append(url)
        if "good" not in url:
            raise OSError(f"refused {url}")
        Path(path).write_text("ok")
        return path

    monkeypatch.setattr(_home, "download", fake)
    target = tmp_path / "f.txt"
    assert _home.download_first(["http://bad/1", "http://good/2"], target) == target
    assert tried == ["http://bad/1", "http://good/2"] and target.read_text() == "ok"
    with pytest.raises(OSError, match=r"refused http://bad/1.*refused http://bad/3"):
        _home.download_first(["http://bad/1", "http://bad/3"], target)


def test_download_reaches_no_server_quickly(tmp_path):
    # Port 9 (discard) on the loopback: refused at once, never a real server.
    with pytest.raises(OSError):
        _home.download("http://127.0.0.1:9/none", tmp_path / "x", timeout=2)
    assert not (tmp_path / "x").exists()


def test_download_writes_the_whole_file(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(256)) * 100)
    target = tmp_path / "sub" / "copy.bin"
    assert _home.download(source.as_uri(), target) == target
    assert target.read_bytes() == source.read_bytes()
    assert [p.name for p in target.parent.iterdir()] == ["copy.bin"]  # no leftovers
