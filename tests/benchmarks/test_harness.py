"""The benchmark harness end to end on a tiny configuration."""

import csv

import numpy as np

from benchmarks.__main__ import main
from benchmarks.report import format_table, summarise


def test_quick_profile_tiny_run(tmp_path, capsys):
    main(
        [
            "quick",
            "--seeds",
            "1",
            "--max-epochs",
            "1",
            "--methods",
            "CE",
            "ADASYN + CE",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert "balanced_accuracy" in out
    rows = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert [r["method"] for r in rows] == ["CE", "ADASYN + CE"]
    assert 0.0 < float(rows[0]["balanced_accuracy"]) <= 1.0
    # ADASYN finds no majority neighbours on digits: recorded, not fatal.
    assert rows[1]["error"]
    markdown = (tmp_path / "summary.md").read_text()
    assert "| CE |" in markdown and "failed" in markdown


def test_summary_mean_and_std():
    runs = [
        {"method": "A", "seed": 0, "error": "", "fit_seconds": 1.0, "acc": 0.5},
        {"method": "A", "seed": 1, "error": "", "fit_seconds": 3.0, "acc": 0.7},
    ]
    (row,) = summarise(runs, ["acc"])
    assert np.isclose(row["acc"], 0.6) and np.isclose(row["acc_std"], 0.1)
    assert "60.0 ± 10.0" in format_table([row], ["acc"])
