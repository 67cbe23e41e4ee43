"""Measures: what a run records of its fitted estimator beyond its scores.

An experiment's ``measures`` (see :mod:`benchmarks.harness.experiments`) are
module-level functions ``measure(estimator, X_train, y_train, X_test,
y_test) -> dict`` that the runner calls on the fitted estimator, after the
scores, with the labels encoded as the estimator saw them
(:func:`benchmarks.harness.runner.apply_measures`); their values are cached
with the run and summarised in ``summary.csv``. A measure returns ``{}`` for
an estimator it does not apply to. This module holds the measures that are
not one method's, and the helpers to reach the method inside a row's
pipeline.
"""

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)


def final_step(estimator):
    """The last step of a pipeline (the estimator itself otherwise)."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def final_input(estimator, X):
    """``X`` as the last step of a pipeline sees it (through the scaler)."""
    if hasattr(estimator, "steps") and len(estimator.steps) > 1:
        return estimator[:-1].transform(X)
    return X


def train_accuracy(estimator, X_train, y_train, X_test, y_test):
    """``train_accuracy``: the accuracy of the fitted estimator on its training set."""
    return {
        "train_accuracy": float(accuracy_score(y_train, estimator.predict(X_train)))
    }


def binary_scores(y_true, p):
    """Ranking and probability scores of the positive-class probabilities ``p``.

    ``roc_auc``, ``average_precision``, ``log_loss``, ``brier`` and
    ``distinct_scores`` (the number of distinct values of ``p``: a score
    that ties many samples ranks them poorly).

    Examples
    --------
    >>> from benchmarks.harness.measures import binary_scores
    >>> s = binary_scores([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> s["roc_auc"], s["distinct_scores"]
    (0.75, 4.0)
    """
    y_true = np.asarray(y_true)
    p = np.asarray(p, dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y_true, p)),
        "average_precision": float(average_precision_score(y_true, p)),
        "log_loss": float(log_loss(y_true, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y_true, p)),
        "distinct_scores": float(len(np.unique(p))),
    }


def probability_scores(estimator, X_train, y_train, X_test, y_test):
    """:func:`binary_scores` of ``predict_proba[:, 1]`` on the test set, for a
    binary problem (``{}`` otherwise, or without ``predict_proba``)."""
    if len(np.unique(y_train)) != 2 or not hasattr(estimator, "predict_proba"):
        return {}
    return binary_scores(y_test, estimator.predict_proba(X_test)[:, 1])


def epoch_seconds(estimator, X_train, y_train, X_test, y_test):
    """``epoch_seconds``: the median duration of the fitted network's epochs
    after the first (the first pays one-off costs); ``{}`` without a skorch
    network or with a single epoch."""
    net = getattr(final_step(estimator), "net_", None)
    if net is None or len(net.history) < 2:
        return {}
    return {"epoch_seconds": float(np.median(net.history[1:, "dur"]))}
