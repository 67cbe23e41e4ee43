"""The imbalanced-classification metrics of the tables (imbalanced-learn's)."""

from imblearn.metrics import geometric_mean_score, make_index_balanced_accuracy
from sklearn.metrics import balanced_accuracy_score, f1_score

_iba = make_index_balanced_accuracy(alpha=0.1, squared=True)(geometric_mean_score)

METRICS = {
    "balanced_accuracy": balanced_accuracy_score,
    "macro_f1": lambda y, p: f1_score(y, p, average="macro"),
    "g_mean": lambda y, p: geometric_mean_score(y, p, average="multiclass"),
    "iba": lambda y, p: _iba(y, p, average="multiclass"),
}


def score_all(y_true, y_pred):
    """Every metric of :data:`METRICS` for one run, as a dict of floats."""
    return {name: float(fn(y_true, y_pred)) for name, fn in METRICS.items()}
