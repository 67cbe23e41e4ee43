"""Do CLMLE's k-nearest-cluster scores rank? (issue 16, item 1), paired against CE.

Data: ``make_classification(n_samples=4000, n_features=20, n_informative=10,
weights=[0.9])``, a stratified split with 1,000 test rows, both seeded by the
seed. Rows: the plain cross-entropy network (``CrossEntropyClassifier``) and
CLMLE, both at their defaults; CLMLE's test rows are scored twice from the same
fit: by the score of ``main`` before this change (Eq. 10's ratio, its ``0`` and
``inf`` clamped to two constants) and by :meth:`CLMLEClassifier.predict_proba`
(Eq. 10 over the nearest clusters that make its ratio finite).

Prints per row, mean ± sd over the seeds and each seed: balanced accuracy, ROC
AUC, average precision, log loss, Brier score (of ``predict_proba[:, 1]``) and
the number of distinct scores among the 1,000 test rows; then the paired
difference of ROC AUC to CE, and the held-out log loss and number of distinct
scores of the softmax of CLMLE's scores times each of :data:`SHARPNESS` (1 is
``predict_proba``).

``python -m benchmarks.huang2019.clmle_scores [n_seeds]`` (3 seeds: about 2
CPU-minutes on one thread).
"""

import math
import sys

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split

from skimbalance import CLMLEClassifier, CrossEntropyClassifier

NET = dict(device="cpu", n_threads=1)
SHARPNESS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def make_data(seed):
    """The held-out binary 90/10 problem of one seed."""
    X, y = make_classification(
        n_samples=4000,
        n_features=20,
        n_informative=10,
        weights=[0.9],
        random_state=seed,
    )
    return train_test_split(X, y, test_size=1000, stratify=y, random_state=seed)


def clamped_ratio_proba(clf, X):
    """The previous score: softmax of Eq. 10's log-ratio, -inf/+inf clamped."""
    emb = clf._embedding(np.asarray(X, dtype=np.float32))[:, 0]
    rule = clf._knc_rules[0]
    low = -3.0 - math.log(max(rule.n_neighbors_ - 1, 1))
    raw = torch.clamp(rule.log_ratios(emb), min=low, max=3.0)
    return torch.softmax(raw, dim=1).numpy()


def metrics(y, proba):
    p = proba[:, 1]
    return {
        "bacc": balanced_accuracy_score(y, proba.argmax(1)),
        "auc": roc_auc_score(y, p),
        "ap": average_precision_score(y, p),
        "log_loss": log_loss(y, p),
        "brier": brier_score_loss(y, p),
        "distinct": float(len(np.unique(p))),
    }


def run_seed(seed):
    Xtr, Xte, ytr, yte = make_data(seed)
    ce = CrossEntropyClassifier(random_state=seed, **NET).fit(Xtr, ytr)
    clmle = CLMLEClassifier(random_state=seed, **NET).fit(Xtr, ytr)
    proba = clmle.predict_proba(Xte)
    assert np.array_equal(clmle.predict(Xte), clmle.classes_[proba.argmax(1)])
    dec = clmle.decision_function(Xte)
    sharp = {}
    for m in SHARPNESS:
        p1 = 1.0 / (1.0 + np.exp(-m * dec))
        sharp[m] = (log_loss(yte, p1), float(len(np.unique(p1))))
    return sharp, {
        "CE": metrics(yte, ce.predict_proba(Xte)),
        "CLMLE, clamped Eq. 10 ratio (before)": metrics(
            yte, clamped_ratio_proba(clmle, Xte)
        ),
        "CLMLE, extended Eq. 10 ratio": metrics(yte, proba),
    }


def main(n_seeds=3):
    results = [run_seed(seed) for seed in range(n_seeds)]
    runs = [r[1] for r in results]
    print(f"seeds 0..{n_seeds - 1}; mean ± sd [each seed]")
    for row in runs[0]:
        print(row)
        for name in runs[0][row]:
            v = np.array([r[row][name] for r in runs])
            each = ", ".join(
                f"{x:.4f}" if name != "distinct" else f"{x:.0f}" for x in v
            )
            print(f"  {name:9s} {v.mean():.4f} ± {v.std(ddof=1):.4f}  [{each}]")
    ce = np.array([r["CE"]["auc"] for r in runs])
    for row in list(runs[0])[1:]:
        d = np.array([r[row]["auc"] for r in runs]) - ce
        print(
            f"ROC AUC, {row} - CE: {d.mean():+.4f} ± {d.std(ddof=1):.4f} {np.round(d, 4)}"
        )
    print("CLMLE softmax(m * scores): m, log loss mean [each], distinct [each]")
    for m in SHARPNESS:
        ll = np.array([r[0][m][0] for r in results])
        nd = [int(r[0][m][1]) for r in results]
        print(f"  {m:5.1f}  {ll.mean():.4f} {np.round(ll, 4)}  {nd}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
