"""Atomic writes of the harness's outputs (issue 17, item 8)."""

import matplotlib
import matplotlib.artist

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from benchmarks.harness.files import atomic_open, atomic_path, save_figure, write_text
from benchmarks.harness.report import write_csv


class Unprintable:
    def __str__(self):
        raise KeyboardInterrupt  # a kill in the middle of writing


class Undrawable(matplotlib.artist.Artist):
    def draw(self, renderer):
        raise KeyboardInterrupt  # a kill in the middle of drawing


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path):
    path = tmp_path / "summary.md"
    write_text(path, "old report")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half a new rep")
        raise RuntimeError("killed")
    assert path.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.md"]
    write_text(path, "new report")
    assert path.read_text() == "new report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.md"]


def test_write_csv_interrupted_mid_table_keeps_the_previous_table(tmp_path):
    path = tmp_path / "summary.csv"
    write_csv([{"method": "CE", "score": 0.5}], path)
    before = path.read_text()
    rows = [{"method": "CE", "score": 0.6}, {"method": "CRL", "score": Unprintable()}]
    with pytest.raises(KeyboardInterrupt):
        write_csv(rows, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_save_figure_keeps_the_format_and_is_atomic(tmp_path):
    path = tmp_path / "figure.png"
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_figure(fig, path, dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = path.read_bytes()
    ax.add_artist(Undrawable())  # drawing fails
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, path, dpi=50)
    plt.close(fig)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


def test_atomic_open_writes_whole_files(tmp_path):
    path = tmp_path / "sub" / "speed.md"
    with atomic_open(path) as f:
        f.write("| a |\n")
    assert path.read_text() == "| a |\n"
