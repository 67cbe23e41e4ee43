"""CRL's multi-label settings on yeast (``crl_multilabel``) on a tiny stand-in."""

from dataclasses import replace

import numpy as np
import pytest

from benchmarks import __main__ as cli
from benchmarks.dong2017 import attributes
from benchmarks.dong2017.multilabel_balance import (
    GROUPS,
    PROFILES,
    ROWS,
    make_row,
    yeast_split,
)
from benchmarks.harness import runner
from skimbalance import CRLClassifier, CrossEntropyClassifier


def toy_multilabel(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    Y = np.column_stack(
        [
            X[:, 0] > np.quantile(X[:, 0], 0.9),
            X[:, 1] > 0,
            X[:, 2] > np.quantile(X[:, 2], 0.75),
        ]
    ).astype(np.int64)
    return X, Y


@pytest.fixture
def toy_yeast(monkeypatch):
    X, Y = toy_multilabel()
    monkeypatch.setattr(attributes, "load_yeast", lambda: (X, Y))
    return X, Y


def test_the_rows_of_every_group_are_rows_of_the_profile():
    assert list(ROWS) == list(dict.fromkeys(r for g in GROUPS.values() for r in g))
    assert cli.PROFILES["crl_multilabel"] is PROFILES["crl_multilabel"]
    net = PROFILES["crl_multilabel"].net
    assert net == attributes.PROFILES["attributes"].net  # the attribute protocol's
    assert isinstance(make_row("CE", 0, **net)[-1], CrossEntropyClassifier)
    raw = make_row("CRL(I+R) raw distances", 3, **net)
    assert isinstance(raw[-1], CRLClassifier) and raw[0].__class__.__name__ == (
        "StandardScaler"
    )
    params = raw[-1].get_params()
    assert (params["normalize"], params["mining"], params["random_state"]) == (
        False,
        "instance",
        3,
    )
    assert make_row("CRL(I+R) m=3.1416", 0, **net)[-1].margin == 3.1416


def test_the_split_is_fold_0_of_the_iterative_stratification(toy_yeast):
    X, Y = toy_yeast
    X_train, Y_train, X_test, Y_test = yeast_split(4)
    folds = attributes.iterative_stratification(Y, 5, random_state=4)
    np.testing.assert_array_equal(X_test, X[folds == 0])
    np.testing.assert_array_equal(X_train, X[folds != 0])
    np.testing.assert_array_equal(Y_train, Y[folds != 0])
    assert len(Y_test) == len(Y) // 5
    # Every label has positives on both sides.
    assert (Y_test.sum(axis=0) > 0).all() and (Y_train.sum(axis=0) > 0).all()


def test_tiny_run(tmp_path, toy_yeast):
    profile = replace(
        PROFILES["crl_multilabel"],
        seeds=2,
        net=dict(hidden_layer_sizes=(8,), max_epochs=2, batch_size=32),
    )
    rows = ["CE", "CRL(I+R)", "CRL(I+R) m=0.5"]
    records = runner.run_profile(
        profile,
        methods=rows,
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )["records"]
    assert len(records) == 6 and not [r["error"] for r in records if r["error"]]
    by_row = {r["method"]: r for r in records if r["seed"] == 0}
    for r in by_row.values():
        assert 0 <= r["single_class_labels"] <= 3 and r["embedding_norm"] > 0
    # The relative form records its active triplets; CE has none.
    assert "active_fraction" not in by_row["CE"]
    assert 0 <= by_row["CRL(I+R)"]["active_fraction"] <= 1
    summary = (tmp_path / "summary.md").read_text()
    assert "### balance" in summary and "### margin" in summary
    assert "### imbalance" not in summary  # none of its rows ran
    line = next(x for x in summary.splitlines() if x.startswith("| CRL(I+R) m=0.5 |"))
    assert line.count("±") >= 2  # the score and its paired difference to CE
