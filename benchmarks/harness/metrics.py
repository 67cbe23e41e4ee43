"""The imbalanced-classification metrics of the tables (scikit-learn's and
imbalanced-learn's).

Two families:

- scalar metrics of one run (:data:`METRICS`): balanced accuracy, macro F1,
  G-mean (the geometric mean of the class recalls, imbalanced-learn's
  ``average="multiclass"``; for two classes ``sqrt(TPR * TNR)``), IBA, and the
  plain accuracy;
- per-class metrics (:data:`PER_CLASS`), as Khan et al. report them in Table 5
  ("mean ± std over classes"): precision, recall, F1, and the one-vs-rest
  G-mean ``sqrt(sensitivity * specificity)`` and IBA
  ``(1 + α (sens - spec)) sens spec`` with α = 0.1 of each class.
"""

import numpy as np
from imblearn.metrics import geometric_mean_score, make_index_balanced_accuracy
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_recall_fscore_support,
)

_iba = make_index_balanced_accuracy(alpha=0.1, squared=True)(geometric_mean_score)

METRICS = {
    "balanced_accuracy": balanced_accuracy_score,
    "macro_f1": lambda y, p: f1_score(y, p, average="macro", zero_division=0),
    "g_mean": lambda y, p: geometric_mean_score(y, p, average="multiclass"),
    "iba": lambda y, p: _iba(y, p, average="multiclass"),
}

#: Scalar metrics recorded for every run, beyond :data:`METRICS`.
EXTRA_METRICS = {"accuracy": accuracy_score}

#: Per-class metrics, in the column order of Khan et al.'s Table 5.
PER_CLASS = ("precision", "f1", "recall", "g_mean_ovr", "iba_ovr")


def score_all(y_true, y_pred):
    """Every metric of :data:`METRICS` for one run, as a dict of floats."""
    return {name: float(fn(y_true, y_pred)) for name, fn in METRICS.items()}


def per_class_scores(y_true, y_pred, labels):
    """Each metric of :data:`PER_CLASS` for every class of ``labels`` (lists)."""
    labels = np.asarray(labels)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    g_mean = geometric_mean_score(y_true, y_pred, labels=labels, average=None)
    iba = _iba(y_true, y_pred, labels=labels, average=None)
    return {
        "precision": precision.tolist(),
        "f1": f1.tolist(),
        "recall": recall.tolist(),
        "g_mean_ovr": np.asarray(g_mean, dtype=float).tolist(),
        "iba_ovr": np.asarray(iba, dtype=float).tolist(),
    }


def run_scores(y_true, y_pred, labels):
    """Scalar and per-class scores of one run, ready for the run record."""
    scores = score_all(y_true, y_pred)
    scores.update({n: float(fn(y_true, y_pred)) for n, fn in EXTRA_METRICS.items()})
    scores["per_class"] = per_class_scores(y_true, y_pred, labels)
    return scores
