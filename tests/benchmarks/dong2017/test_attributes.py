"""The attribute table (Dong et al. Table 2 on multi-label yeast) on tiny configurations."""

import csv

import numpy as np
import pytest
from imblearn.under_sampling import RandomUnderSampler

from benchmarks.dong2017 import attributes
from benchmarks.dong2017.attributes import (
    PerLabelNetworks,
    attributes_report,
    dong_table2_markdown,
    fit_and_score,
    imbalance_ratios,
    iterative_stratification,
    label_scores,
    label_table,
)
from benchmarks.harness import runner
from benchmarks.harness.profile import Profile
from skimbalance import CrossEntropyClassifier


def toy_multilabel(n=120, seed=0):
    """Learnable multi-label data; label positive rates 10 %, 50 %, 25 %."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    Y = np.column_stack(
        [
            X[:, 0] > np.quantile(X[:, 0], 0.9),
            X[:, 1] > np.quantile(X[:, 1], 0.5),
            X[:, 2] > np.quantile(X[:, 2], 0.75),
        ]
    ).astype(np.int64)
    return X, Y


# ------------------------------------------------------------------ folds
def test_iterative_stratification_spreads_every_label():
    rng = np.random.default_rng(1)
    n = 300
    Y = np.zeros((n, 4), dtype=int)
    Y[rng.choice(n, 13, replace=False), 0] = 1  # rare
    Y[rng.choice(n, 150, replace=False), 1] = 1
    Y[rng.choice(n, 60, replace=False), 2] = 1
    Y[rng.choice(n, 31, replace=False), 3] = 1
    folds = iterative_stratification(Y, 5, random_state=0)
    assert folds.shape == (n,) and set(folds.tolist()) == set(range(5))
    sizes = np.bincount(folds, minlength=5)
    assert sizes.max() - sizes.min() <= 2
    per_fold = np.vstack([Y[folds == f].sum(axis=0) for f in range(5)])
    assert per_fold[:, 0].max() - per_fold[:, 0].min() <= 1  # the rarest: 2 or 3
    assert (per_fold.max(axis=0) - per_fold.min(axis=0) <= 3).all()
    np.testing.assert_array_equal(folds, iterative_stratification(Y, 5, 0))
    assert not np.array_equal(folds, iterative_stratification(Y, 5, 1))
    with pytest.raises(ValueError, match="n_splits"):
        iterative_stratification(Y, 1)


def test_multilabel_cv_experiment_splits():
    X, Y = toy_multilabel()
    exp = attributes.yeast_experiment(rows=("CE",))
    exp.load = lambda: (X, Y)
    exp.n_splits = 3
    seen = np.zeros(len(X), dtype=int)
    for fold, X_tr, Y_tr, X_te, Y_te in exp.splits(0):  # noqa: B007
        assert Y_tr.ndim == 2 and len(X_tr) + len(X_te) == len(X)
        assert Y_te[:, 0].sum() == 4  # 12 positives of the rarest label, 3 folds
        seen[np.isin(X[:, 5], X_te[:, 5])] += 1
    assert fold == 2 and (seen == 1).all()
    info = exp.describe()
    assert info["n_classes"] == 3 and info["label_names"][0] == "Class1"
    np.testing.assert_allclose(info["imbalance_ratios"], [9.0, 1.0, 3.0])


# ---------------------------------------------------------------- scores
def test_label_scores_by_hand():
    Y_true = np.array([[1, 0], [1, 1], [0, 1], [0, 0], [0, 0], [0, 1]])
    Y_pred = np.array([[1, 0], [0, 1], [0, 0], [1, 0], [0, 0], [0, 1]])
    out = label_scores(Y_true, Y_pred)
    # label 0: TPR 1/2, TNR 3/4; label 1: TPR 2/3, TNR 3/3
    pc = out["per_class"]
    np.testing.assert_allclose(pc["tpr"], [0.5, 2 / 3])
    np.testing.assert_allclose(pc["tnr"], [0.75, 1.0])
    np.testing.assert_allclose(pc["balanced_accuracy"], [0.625, 5 / 6])
    np.testing.assert_allclose(pc["recall"], pc["tpr"])
    np.testing.assert_allclose(pc["precision"], [0.5, 1.0])
    np.testing.assert_allclose(pc["g_mean_ovr"], np.sqrt([0.375, 2 / 3]))
    assert out["balanced_accuracy"] == pytest.approx((0.625 + 5 / 6) / 2)
    assert out["accuracy"] == pytest.approx((4 / 6 + 5 / 6) / 2)
    assert out["g_mean"] == pytest.approx(np.sqrt([0.375, 2 / 3]).mean())
    np.testing.assert_allclose(imbalance_ratios(Y_true), [2.0, 1.0])


class FixedPredictions:
    """An 'estimator' predicting a given matrix (fit records what it saw)."""

    def __init__(self, Y_pred, fail=False):
        self.Y_pred = Y_pred
        self.fail = fail

    def fit(self, X, Y):
        if self.fail:
            raise RuntimeError("boom")
        self.seen = Y
        return self

    def predict(self, X):
        return self.Y_pred


def test_fit_and_score_per_label_against_hand_computed():
    X_train = np.zeros((8, 2))
    Y_train = np.array([[1, 0, 1]] * 2 + [[0, 1, 1]] * 6)
    X_test = np.zeros((4, 2))
    Y_test = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 0]])
    Y_pred = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 0, 0]])
    est = FixedPredictions(Y_pred)
    run = fit_and_score(est, X_train, Y_train, X_test, Y_test)
    assert run["error"] == "" and est.seen.shape == (8, 3)  # no label encoding
    # label 0: TPR 1/2, TNR 1/2; label 1: 1/2, 2/2; label 2: 2/2, 1/2
    expected = [0.5, 0.75, 0.75]
    np.testing.assert_allclose(run["per_class"]["balanced_accuracy"], expected)
    assert run["balanced_accuracy"] == pytest.approx(np.mean(expected))
    np.testing.assert_allclose(run["per_class"]["imbalance_ratio"], [3.0, 3.0, np.inf])
    np.testing.assert_allclose(run["per_class"]["positive_rate"], [0.25, 0.75, 1.0])
    assert run["train_counts"] == [2, 6, 8] and run["test_counts"] == [2, 2, 2]
    assert run["classes"] == ["0", "1", "2"] and run["fit_seconds"] >= 0
    for key in ("accuracy", "macro_f1", "g_mean", "iba"):
        assert 0 <= run[key] <= 1

    failed = fit_and_score(
        FixedPredictions(Y_pred, fail=True), X_train, Y_train, X_test, Y_test
    )
    assert failed["error"] == "RuntimeError: boom"
    assert np.isnan(failed["balanced_accuracy"]) and "per_class" not in failed
    wrong = fit_and_score(
        FixedPredictions(Y_pred[:, :2]), X_train, Y_train, X_test, Y_test
    )
    assert "shape" in wrong["error"]


def test_per_label_networks_resample_each_label_with_the_same_updates():
    X, Y = toy_multilabel(n=60)
    net = CrossEntropyClassifier(
        hidden_layer_sizes=(8,), max_epochs=2, batch_size=16, random_state=0
    )
    model = PerLabelNetworks(net, sampler=RandomUnderSampler(random_state=0))
    model.fit(X, Y)
    # Down-sampling keeps 2 x the positives of each label: 12, 60, 30.
    assert model.resampled_sizes_ == [12, 60, 30]
    # 2 epochs x ceil(60 / 16) = 8 updates for each label's network.
    assert model.epochs_ == [8, 2, 4]  # ceil(8 / ceil(size / 16))
    pred = model.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    plain = PerLabelNetworks(net, budget="epochs").fit(X, Y)
    assert plain.resampled_sizes_ == [60] * 3 and plain.epochs_ == [2] * 3
    with pytest.raises(ValueError, match="budget"):
        PerLabelNetworks(net, budget="steps").fit(X, Y)
    with pytest.raises(ValueError, match="2-D"):
        PerLabelNetworks(net).fit(X, Y[:, 0])


# ---------------------------------------------------------------- report
def _record(method, fold, ba, ratios, rates):
    return {
        "experiment": "toy",
        "method": method,
        "seed": 0,
        "fold": fold,
        "error": "",
        "fit_seconds": 1.0,
        "balanced_accuracy": float(np.mean(ba)),
        "per_class": {
            "balanced_accuracy": list(ba),
            "imbalance_ratio": list(ratios),
            "positive_rate": list(rates),
        },
    }


def test_report_sorts_labels_by_imbalance_and_gains_are_method_minus_ce():
    ratios, rates = [9.0, 1.0, 3.0], [0.1, 0.5, 0.25]
    records = [
        _record("CE", 0, [0.50, 0.90, 0.70], ratios, rates),
        _record("CE", 1, [0.60, 0.80, 0.70], ratios, rates),
        _record("CRL(I)", 0, [0.70, 0.80, 0.75], ratios, rates),
        _record("CRL(I)", 1, [0.80, 0.80, 0.75], ratios, rates),
        _record("CRL(C)", 0, [0.55, 0.90, 0.70], ratios, rates),  # fold 1 failed
        {"experiment": "toy", "method": "CRL(C)", "seed": 0, "fold": 1, "error": "x"},
    ]
    table = label_table(records, ["CE", "CRL(C)", "CRL(I)"])
    np.testing.assert_allclose(table["gain"][2], [0.20, -0.05, 0.05])
    np.testing.assert_allclose(table["gain"][1], [0.05, 0.0, 0.0])  # fold 0 only
    ba_md, gain_md = dong_table2_markdown(table, ["a", "b", "c"])
    header = ba_md.splitlines()[0]
    assert header.index("| b |") < header.index("| c |") < header.index("| a |")
    assert "| *imbalance ratio* | 1:1.0 | 1:3.0 | 1:9.0 |" in ba_md
    assert "| *positive rate (%)* | 50.0 | 25.0 | 10.0 |" in ba_md
    # CRL(I): b, c, a = 80.0, 75.0, 75.0; average 76.7 [std of the fold means
    # 75.0 and 78.3]; the most imbalanced half is c, a. Then the papers' averages.
    row = "| CRL(I) | 80.0 | 75.0 | 75.0 | **76.7** [1.7] | 75.0 | *86* | *86.60* |"
    assert row in ba_md
    assert "| CE | 85.0 | 70.0 | 55.0 | **70.0** [0.0] | 62.5 | *81* |  |" in ba_md
    # Gains: b, c, a; mean; most imbalanced half; labels improved; Dong 86 - 81.
    row = "| CRL(I) | -5.0 | +5.0 | +20.0 | **+6.7** [1.7] | +12.5 | 2/3 | *+5* |"
    assert row in gain_md
    assert "| CE |" not in gain_md


def test_attributes_protocol_tiny(tmp_path, monkeypatch):
    X, Y = toy_multilabel()
    monkeypatch.setattr(attributes, "load_yeast", lambda: (X, Y))
    rows = ("CE", "Down-sampling + CE", "CE (cost-sensitive)", "CRL(I)")

    def experiments():
        exp = attributes.yeast_experiment(rows=rows)
        exp.n_splits = 2
        return [exp]

    profile = Profile(
        name="tiny_attributes",
        description="tiny",
        experiments=experiments,
        seeds=1,
        net=dict(hidden_layer_sizes=(8,), max_epochs=1, batch_size=32),
        reporters={"attributes": attributes_report},
    )
    result = runner.run_profile(
        profile, out=tmp_path, progress=False, echo=lambda *a: None
    )
    records = result["records"]
    assert len(records) == 4 * 2 and not [r["error"] for r in records if r["error"]]
    assert {r["method"] for r in records} == set(rows)
    summary = (tmp_path / "summary.md").read_text()
    assert "Table 2" in summary and "| Down-sampling + CE |" in summary
    header = next(line for line in summary.splitlines() if line.startswith("| Method"))
    assert header.index("Class2") < header.index("Class3") < header.index("Class1")
    assert "Gain over CE" in summary and "*+1*" in summary  # Dong: 82 - 81
    per_label = list(csv.DictReader((tmp_path / "per_label_yeast.csv").open()))
    assert len(per_label) == 4 * 3
    for entry in per_label:
        mine = [
            r["per_class"]["balanced_accuracy"][int(entry["label"][5:]) - 1]
            for r in records
            if r["method"] == entry["method"]
        ]
        ce = [
            r["per_class"]["balanced_accuracy"][int(entry["label"][5:]) - 1]
            for r in records
            if r["method"] == "CE"
        ]
        assert float(entry["gain_over_ce"]) == pytest.approx(
            np.mean(mine) - np.mean(ce)
        )
    assert (tmp_path / "gain_vs_label_imbalance_yeast.png").stat().st_size > 1000
    runs = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert "per_class" not in runs[0] and float(runs[0]["balanced_accuracy"]) > 0


def test_profile_covers_the_issue():
    profile = attributes.PROFILES["attributes"]
    (exp,) = runner.select(profile)  # every row survives the runner's selection
    assert exp.rows == attributes.ATTRIBUTE_ROWS
    issue = {"CE", "Over-sampling + CE", "Down-sampling + CE", "CE (cost-sensitive)"}
    assert issue | {"CRL(C)", "CRL(I)", "CLMLE", "Uncertainty margin"} <= set(exp.rows)
    # The papers' methods as published beside the defaults (issue 19).
    paper = {
        "CRL(I) (paper)": ("prior_correction", 0.0),
        "CLMLE (paper)": ("class_weight", None),
        "Uncertainty margin (paper)": ("class_weight", None),
    }
    for row, (name, value) in paper.items():
        assert row in exp.rows
        params = attributes.make_row(row, 0, max_epochs=3).steps[-1][1].get_params()
        assert params[name] == value
    assert (exp.name, exp.kind, exp.n_splits, exp.suite) == (
        "yeast",
        "cv",
        5,
        "attributes",
    )
    assert exp.fit_and_score is fit_and_score and exp.make_row is attributes.make_row
    assert profile.jobs == 2 and profile.reporters == {"attributes": attributes_report}
