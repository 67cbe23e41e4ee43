"""The CNN speed benchmark: its quick mode runs every part and writes its tables."""

import csv

import numpy as np
import pytest
import torch

from benchmarks.speed import cnn


def test_quick_mode_runs_everything(tmp_path, capsys):
    before = (torch.get_num_threads(), torch.backends.mkldnn.enabled)
    result = cnn.main(["--quick", "--profile", "--out", str(tmp_path)])
    assert (torch.get_num_threads(), torch.backends.mkldnn.enabled) == before
    updates, steps = result["updates"], result["steps"]
    # Every (layout, mkldnn, batch) of the quick grid, one width, one thread.
    assert {(r["layout"], r["mkldnn"], r["batch_size"]) for r in updates} == {
        (layout, mkldnn, batch)
        for layout in cnn.LAYOUTS
        for mkldnn in ("on", "off")
        for batch in (32, 64)
    }
    assert all(r["updates_per_s"] > 0 and r["steps_timed"] == 3 for r in updates)
    defaults = [
        r for r in updates if (r["layout"], r["mkldnn"]) == ("contiguous", "on")
    ]
    assert [r["speed_vs_default"] for r in defaults] == [1.0, 1.0]
    # The floor and the four estimators; the uncertainty margin per stage.
    rows = {(r["method"], r["stage"]): r for r in steps}
    assert set(rows) == {
        (cnn.FLOOR, "all"),
        ("CE", "all"),
        ("CRL", "all"),
        ("CLMLE", "CLMLE loss"),
        ("UncertaintyMargin", "class"),
        ("UncertaintyMargin", "sample"),
    }
    assert rows[(cnn.FLOOR, "all")]["ratio_to_floor"] == 1.0
    assert all(r["step_ms"] > 0 and r["steps_timed"] > 0 for r in steps)
    assert rows[("CE", "all")]["samples_per_step"] == 32
    # The files.
    table = list(csv.DictReader((tmp_path / "speed_cnn_steps.csv").open()))
    assert len(table) == len(steps)
    assert len(list(csv.DictReader((tmp_path / "speed_cnn_updates.csv").open()))) == 8
    summary = (tmp_path / "speed_cnn.md").read_text()
    assert "| ratio to floor |" in summary and "| vs default |" in summary
    profile = (tmp_path / "speed_cnn_profile.txt").read_text()
    for name in (cnn.FLOOR, *cnn.METHODS):
        assert f"## {name}: 2 steps" in profile
    assert "Self CPU" in profile and "aten::" in profile
    assert "ratio to floor" in capsys.readouterr().out


def test_quick_mode_writes_nothing_without_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = cnn.parse_args(["--quick"])
    assert args.out is None and args.widths == [(4, 8)]
    assert cnn.parse_args([]).out.endswith("results")


def test_digit_images_are_imbalanced_28_by_28_rows():
    X, y = cnn.digit_images(500, seed=1)
    assert X.shape == (500, 784) and X.dtype == np.float32
    assert 0 <= X.min() and X.max() <= 1
    counts = np.bincount(y, minlength=10)
    assert counts[:5].min() > 3 * counts[5:].max()
    assert np.array_equal(cnn.digit_images(500, seed=1)[0], X)


def test_widths_are_parsed_and_checked():
    assert cnn.parse_args(["--widths", "16,32", "8"]).widths == [(16, 32), (8,)]
    for bad in ("16,x", "0,4", ""):
        with pytest.raises(SystemExit):
            cnn.parse_args(["--widths", bad])
    with pytest.raises(SystemExit):
        cnn.parse_args(["--epochs", "3"])
