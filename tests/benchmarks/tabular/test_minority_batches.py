"""How often CRL's minority rule fires (``crl_minority_batches``), on a stand-in."""

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks.harness import runner
from benchmarks.tabular import keel
from benchmarks.tabular.minority_batches import (
    PROFILES,
    FirstFold,
    expected_participation,
    experiments,
)


def test_expected_participation():
    assert expected_participation(100, 50, 2) == pytest.approx(0.5 * 49 / 99)
    assert expected_participation(100, 1, 64) == 0.0
    assert expected_participation(10, 5, 64) == 1.0  # the batch is the set
    # More samples of the class, more batches with two of them.
    assert expected_participation(1000, 20, 64) < expected_participation(1000, 40, 64)


def toy_keel(name):
    rng = np.random.default_rng(len(name))
    X = rng.normal(size=(300, 4))
    y = np.where(np.arange(300) % 15 == 0, "positive", "negative")
    return X + (y == "positive")[:, None], y


@pytest.fixture
def toy_sets(monkeypatch):
    monkeypatch.setattr(keel, "load_keel", toy_keel)


def test_the_fold_is_fulls_first(toy_sets):
    exp = next(e for e in keel.keel_experiments() if e.name == "yeast4")
    _, X_train, y_train, X_test, y_test = next(exp.splits(0))
    for ours, fulls in zip(
        FirstFold("yeast4")(0), (X_train, y_train, X_test, y_test), strict=True
    ):
        np.testing.assert_array_equal(ours, fulls)
    assert [e.name for e in experiments()] == [*keel.KEEL_BINARY, *keel.KEEL_MULTICLASS]


def test_tiny_run(tmp_path, toy_sets):
    profile = cli.PROFILES["crl_minority_batches"]
    assert profile is PROFILES["crl_minority_batches"]
    assert profile.net_for("crl_minority_batches")["target_steps"] == 300
    records = runner.run_profile(
        profile,
        experiments=["glass1", "yeast4"],
        max_epochs=2,
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )["records"]
    assert len(records) == 2 and not [r["error"] for r in records if r["error"]]
    r = records[0]
    assert r["smallest_class"] == min(r["train_counts"]) == 16
    assert 0 <= r["minority_participation"] <= 1
    assert r["expected_participation"] == expected_participation(240, 16, 64)
    summary = (tmp_path / "summary.md").read_text()
    assert "| data set | training rows | classes |" in summary
    assert "| glass1 | 240 | 2 | 16 | 14.0 |" in summary
    assert "of the 2 sets the rarest class" in summary
