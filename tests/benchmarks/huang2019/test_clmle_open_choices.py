"""CLMLE's open choices (``clmle_open_choices``) on digits' pixels."""

from dataclasses import replace

import numpy as np

from benchmarks import __main__ as cli
from benchmarks.harness import runner
from benchmarks.huang2019 import clmle_open_choices
from benchmarks.huang2019.clmle_open_choices import (
    PROFILES,
    VARIANTS,
    PowerLawPixels,
    assignment_gap,
    experiments,
    make_row,
)
from skimbalance import CLMLEClassifier, CrossEntropyClassifier


def test_rows():
    assert cli.PROFILES["clmle_open_choices"] is PROFILES["clmle_open_choices"]
    net = PROFILES["clmle_open_choices"].net
    assert net == dict(hidden_layer_sizes=(256,), max_epochs=15)
    assert isinstance(make_row("CE", 0, **net), CrossEntropyClassifier)  # no scaler
    auction = make_row("CLMLE auction assignment", 1, **net)
    assert isinstance(auction, CLMLEClassifier)
    params = auction.get_params()
    assert (params["cluster_assignment"], params["warmup_epochs"]) == ("auction", 3)
    assert params["n_cluster_rounds"] == 3 and params["random_state"] == 1
    assert set(VARIANTS) == set(experiments()[0].rows)


def test_power_law_pixels(digits_pixels):
    X, y, X_test, y_test = PowerLawPixels(pool_per_class=80, n_test=100)(0)
    counts = np.sort(np.bincount(y))[::-1]
    assert counts[0] == 80 and counts[-1] == 8  # 80 down to 80 / 10 at gamma 1
    assert X.shape[1] == X_test.shape[1] == 784 and len(y_test) == 100
    assert 0.0 <= X.min() and X.max() <= 1.0
    _, y_other, _, _ = PowerLawPixels(pool_per_class=80, n_test=100)(1)
    assert not np.array_equal(np.bincount(y), np.bincount(y_other))  # the seed


def test_tiny_run(tmp_path, digits_pixels, monkeypatch):
    # Clusters of 10 (not 200) so that the tiny classes hold two or more.
    monkeypatch.setitem(clmle_open_choices.CLMLE, "cluster_size", 10)
    monkeypatch.setitem(clmle_open_choices.CLMLE, "warmup_epochs", 1)
    monkeypatch.setitem(clmle_open_choices.CLMLE, "n_cluster_rounds", 1)
    profile = replace(
        PROFILES["clmle_open_choices"],
        seeds=2,
        experiments=lambda: experiments(pool_per_class=60, n_test=200),
        net=dict(hidden_layer_sizes=(16,), max_epochs=3),
    )
    records = runner.run_profile(
        profile,
        methods=["CE", "CLMLE (defaults)", "CLMLE literal cost weights"],
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )["records"]
    assert len(records) == 6 and not [r["error"] for r in records if r["error"]]
    gaps = [r["assignment_gap"] for r in records if r["method"] != "CE"]
    assert len(gaps) == 4 and all(0 <= g < 0.5 for g in gaps)
    assert all("assignment_gap" not in r for r in records if r["method"] == "CE")
    summary = (tmp_path / "summary.md").read_text()
    assert "| row | bal. acc. % | vs CE | vs CLMLE defaults |" in summary
    assert assignment_gap(make_row("CE", 0), None, None, None, None) == {}
