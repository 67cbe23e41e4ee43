"""The rows of the tables: the long-tail baselines (issue 14) and the tabular
peers are real rows."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from benchmarks.harness.cache import estimator_signature
from benchmarks.harness.methods import (
    MODERN_BASELINES,
    TABULAR_BACKBONE,
    TABULAR_BACKBONE_BASES,
    TABULAR_PEERS,
    PriorCorrected,
    all_rows,
    make_row,
    table5_rows,
    tabular_rows,
)


def test_modern_baselines_are_in_every_comparative_table():
    for rows in (table5_rows(), table5_rows(svm="Cost-sensitive linear SVM")):
        assert set(MODERN_BASELINES) <= set(rows)
        assert "CRL(I) (logit-adjusted)" in rows
    assert set(MODERN_BASELINES) <= set(tabular_rows())


@pytest.mark.parametrize(
    "name, loss, class_weight, start, tau",
    [
        ("CE (logit-adjusted)", "logit_adjusted", None, None, 0.0),
        ("CE (post-hoc prior correction)", "cross_entropy", None, None, 1.0),
        ("CE (LDAM-DRW)", "ldam", "effective_number", 8, 0.0),
        ("CE (focal)", "focal", None, None, 0.0),
        ("CE (class-balanced)", "cross_entropy", "effective_number", None, 0.0),
        ("CE (class-balanced focal)", "focal", "effective_number", None, 0.0),
    ],
)
def test_modern_rows_build_their_loss(name, loss, class_weight, start, tau):
    assert set(MODERN_BASELINES) == {
        "CE (logit-adjusted)",
        "CE (post-hoc prior correction)",
        "CE (LDAM-DRW)",
        "CE (focal)",
        "CE (class-balanced)",
        "CE (class-balanced focal)",
    }
    est = make_row(name, random_state=0, max_epochs=10)[-1]
    assert est.loss == loss
    assert est.prior_correction == tau
    assert est.class_weight == class_weight
    # DRW as Cao et al.: class weights on for the last fifth of the epochs.
    assert est.class_weight_start_epoch == start


def test_crl_with_a_logit_adjusted_ce_term_fits():
    X, y = make_classification(
        n_samples=120, n_features=5, weights=[0.85], random_state=0
    )
    row = make_row(
        "CRL(I) (logit-adjusted)",
        random_state=0,
        max_epochs=2,
        hidden_layer_sizes=(16,),
        batch_size=32,
    )
    assert row[-1].loss == "logit_adjusted"
    proba = row.fit(X, y).predict_proba(X)
    assert np.isfinite(proba).all()


def test_modern_baselines_are_rows_of_table8_and_the_attribute_table():
    from benchmarks.dong2017 import attributes
    from benchmarks.huang2019 import table8

    assert set(MODERN_BASELINES) <= set(table8.ROWS)
    assert all(table8.ROW_LABELS[name] == name for name in MODERN_BASELINES)
    assert set(MODERN_BASELINES) <= set(attributes.ATTRIBUTE_ROWS)


@pytest.mark.parametrize("name", MODERN_BASELINES)
def test_modern_rows_fit_multi_label_targets(name):
    # The attribute table's yeast target is a 0/1 indicator matrix.
    from benchmarks.dong2017.attributes import make_row as attribute_row

    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 6))
    Y = np.column_stack([X[:, 0] > 1.0, X[:, 1] > 0.0, X[:, 2] > 1.5]).astype(int)
    row = attribute_row(name, 0, max_epochs=2, hidden_layer_sizes=(8,), batch_size=32)
    pred = row.fit(X, Y).predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}


def test_tabular_peers_and_tabular_backbone_rows_are_in_the_tabular_suite():
    rows = tabular_rows()
    assert "Gradient boosting (balanced)" in rows
    assert set(TABULAR_PEERS) <= set(rows)
    assert set(TABULAR_BACKBONE) <= set(rows)
    assert len(TABULAR_BACKBONE) == len(TABULAR_BACKBONE_BASES)
    # The Table 5 experiments keep their rows.
    assert not set(TABULAR_PEERS) & set(table5_rows())


@pytest.mark.parametrize("base", TABULAR_BACKBONE_BASES)
def test_a_tabular_row_is_its_base_row_on_the_tabular_backbone(base):
    net = dict(max_epochs=7, batch_size=64)
    ours = estimator_signature(make_row(f"{base} [tabular]", 0, **net))
    theirs = estimator_signature(make_row(base, 0, **net))
    changed = {k for k in ours if ours[k] != theirs.get(k)}
    assert {k.split("__")[-1] for k in changed} == {"backbone"}
    assert "tabular" in ours.values() and "tabular" not in theirs.values()


def test_balanced_random_forest_row():
    forest = all_rows()["Balanced random forest"](3)
    assert type(forest).__name__ == "BalancedRandomForestClassifier"
    assert (forest.n_estimators, forest.random_state) == (300, 3)


def test_prior_corrected_divides_the_probabilities_by_the_training_prior():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.where(rng.random(300) < 0.15, "rare", "common")
    X[y == "rare"] += 1.0
    model = PriorCorrected(LogisticRegression()).fit(X, y)
    reference = LogisticRegression().fit(X, y)
    prior = np.array([np.mean(y == c) for c in reference.classes_])
    expected = reference.predict_proba(X) / prior
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X), expected)
    np.testing.assert_array_equal(
        model.predict(X), reference.classes_[expected.argmax(1)]
    )
    # The correction predicts the rare class more often.
    assert np.sum(model.predict(X) == "rare") > np.sum(reference.predict(X) == "rare")


@pytest.mark.parametrize(
    "row", ["RealMLP (pytabkit)", "TabM (pytabkit, prior-corrected)"]
)
def test_pytabkit_rows_train_on_one_cpu_thread(row):
    pytest.importorskip("pytabkit")
    estimator = all_rows()[row](5)
    inner = estimator.estimator if isinstance(estimator, PriorCorrected) else estimator
    assert (inner.device, inner.n_threads, inner.random_state) == ("cpu", 1, 5)
