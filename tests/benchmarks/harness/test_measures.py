"""The measures that are not one method's, and the helpers to reach a row's method."""

import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from benchmarks.harness import measures
from skimbalance import CrossEntropyClassifier


def binary(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0.8).astype(int)
    return X[: n // 2], y[: n // 2], X[n // 2 :], y[n // 2 :]


def test_final_step_and_input_go_through_the_scaler():
    X_train, y_train, X_test, _ = binary()
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)
    assert measures.final_step(pipe) is pipe[-1]
    np.testing.assert_allclose(
        measures.final_input(pipe, X_test), pipe[0].transform(X_test)
    )
    bare = LogisticRegression().fit(X_train, y_train)
    assert measures.final_step(bare) is bare
    assert measures.final_input(bare, X_test) is X_test


def test_train_accuracy_and_probability_scores():
    X_train, y_train, X_test, y_test = binary()
    clf = LogisticRegression().fit(X_train, y_train)
    values = measures.train_accuracy(clf, X_train, y_train, X_test, y_test)
    assert values == {"train_accuracy": clf.score(X_train, y_train)}
    scores = measures.probability_scores(clf, X_train, y_train, X_test, y_test)
    p = clf.predict_proba(X_test)[:, 1]
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y_test, p))
    assert scores["brier"] == pytest.approx(np.mean((p - y_test) ** 2))
    assert scores["distinct_scores"] == len(np.unique(p))
    # Not binary: nothing to score.
    y3 = np.arange(len(y_train)) % 3
    clf3 = LogisticRegression().fit(X_train, y3)
    assert measures.probability_scores(clf3, X_train, y3, X_test, y_test) == {}


def test_epoch_seconds_is_the_median_after_the_first_epoch():
    X_train, y_train, X_test, y_test = binary()
    clf = CrossEntropyClassifier(hidden_layer_sizes=(4,), max_epochs=4).fit(
        X_train.astype(np.float32), y_train
    )
    (value,) = measures.epoch_seconds(clf, X_train, y_train, X_test, y_test).values()
    assert value == pytest.approx(np.median(clf.net_.history[1:, "dur"]))
    assert (
        measures.epoch_seconds(LogisticRegression(), X_train, y_train, None, None) == {}
    )
