"""Do CLMLE's scores rank? (``clmle_scores``), tiny."""

from dataclasses import replace

import numpy as np

from benchmarks import __main__ as cli
from benchmarks.harness import runner
from benchmarks.huang2019.clmle_scores import PROFILES, SHARPNESS, make_data


def test_the_data_of_a_seed():
    X_train, y_train, X_test, y_test = make_data(0)
    assert X_train.shape == (3000, 20) and X_test.shape == (1000, 20)
    assert abs(y_test.mean() - y_train.mean()) < 0.005  # stratified
    assert 0.08 < y_test.mean() < 0.12
    np.testing.assert_array_equal(make_data(0)[3], y_test)


def test_tiny_run(tmp_path):
    assert cli.PROFILES["clmle_scores"] is PROFILES["clmle_scores"]
    profile = replace(
        PROFILES["clmle_scores"], seeds=2, net=dict(hidden_layer_sizes=(8,))
    )
    records = runner.run_profile(
        profile,
        max_epochs=6,
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )["records"]
    assert not [r["error"] for r in records if r["error"]]
    ce, clmle = records[0], records[1]
    for r in (ce, clmle):
        assert 0.5 <= r["roc_auc"] <= 1 and r["log_loss"] > 0
    assert "clamped_roc_auc" not in ce
    # The two score rules of one fit: the extended one is predict_proba's.
    assert 0 < clmle["clamped_distinct_scores"] <= 1000
    assert clmle["sharpness1_log_loss"] == clmle["log_loss"]
    assert {f"sharpness{m:g}_distinct_scores" for m in SHARPNESS} <= set(clmle)
    summary = (tmp_path / "summary.md").read_text()
    assert "| CLMLE, clamped Eq. 10 ratio (before) |" in summary
    assert "| CLMLE, extended Eq. 10 ratio |" in summary
    assert "| 32 |" in summary  # the sharpness sweep
