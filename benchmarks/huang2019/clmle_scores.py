"""Do CLMLE's k-nearest-cluster scores rank? (issue 16, item 1), paired against CE.

``python -m benchmarks clmle_scores`` (output ``benchmarks/results/clmle_scores``;
3 seeds, about 2 CPU-minutes on one thread).

Data (:func:`make_data`): ``make_classification(n_samples=4000,
n_features=20, n_informative=10, weights=[0.9])``, a stratified split with
1,000 test rows, both seeded by the seed. Rows: the plain cross-entropy
network (``CE``) and ``CLMLE``, both at the estimators' defaults, on the
features as they are (no scaler). Each fit records the ranking and
probability scores of ``predict_proba[:, 1]`` on the test rows
(:func:`~benchmarks.harness.measures.probability_scores`: ROC AUC, average
precision, log loss, Brier score, the number of distinct scores); CLMLE's
fit also records, from the same fit (:func:`score_rules`), the same scores
under the score of ``main`` before issue 16 (Eq. 10's ratio with its ``0``
and ``inf`` clamped to two constants, :func:`clamped_ratio_proba`; values
``clamped_*``), and the held-out log loss and number of distinct scores of
the sigmoid of CLMLE's decision scores times each of :data:`SHARPNESS` (1 is
``predict_proba``; values ``sharpness<m>_*``).

The report (:func:`report`): per score rule, mean ± sd over the seeds [each
seed] of balanced accuracy, ROC AUC, average precision, log loss, Brier score
and distinct scores, the paired difference of ROC AUC to CE; then the
sharpness sweep.
"""

import math

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score, log_loss
from sklearn.model_selection import train_test_split

from skimbalance import CLMLEClassifier, CrossEntropyClassifier

from ..harness.ablation_report import Column, Line, paired_table
from ..harness.experiments import HoldoutExperiment
from ..harness.measures import binary_scores, final_step, probability_scores
from ..harness.profile import Profile

#: Factors of CLMLE's decision scores before the sigmoid (1: ``predict_proba``).
SHARPNESS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)

ROWS = {
    "CE": lambda random_state, **net: CrossEntropyClassifier(
        random_state=random_state, **net
    ),
    "CLMLE": lambda random_state, **net: CLMLEClassifier(
        random_state=random_state, **net
    ),
}


def make_row(name, random_state, **net):
    """``CE`` or ``CLMLE`` at the estimator's defaults, no scaler."""
    return ROWS[name](random_state, **net)


def make_data(seed, device="cpu"):
    """The held-out binary 90/10 problem of one seed: ``X_train, y_train,
    X_test, y_test`` (``device`` is not used)."""
    X, y = make_classification(
        n_samples=4000,
        n_features=20,
        n_informative=10,
        weights=[0.9],
        random_state=seed,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=1000, stratify=y, random_state=seed
    )
    return X_train, y_train, X_test, y_test


def clamped_ratio_proba(clf, X):
    """The previous score: softmax of Eq. 10's log-ratio, -inf/+inf clamped."""
    emb = clf._embedding(np.asarray(X, dtype=np.float32))[:, 0]
    rule = clf._knc_rules[0]
    low = -3.0 - math.log(max(rule.n_neighbors_ - 1, 1))
    raw = torch.clamp(rule.log_ratios(emb), min=low, max=3.0)
    return torch.softmax(raw, dim=1).numpy()


def score_rules(estimator, X_train, y_train, X_test, y_test):
    """CLMLE's two score rules and the sharpness sweep, from one fit.

    ``clamped_*``: :func:`~benchmarks.harness.measures.binary_scores` and
    the balanced accuracy of :func:`clamped_ratio_proba`;
    ``sharpness<m>_log_loss`` and ``sharpness<m>_distinct_scores`` of
    ``sigmoid(m * decision_function)`` for each ``m`` of :data:`SHARPNESS`.
    ``{}`` for a row that is not CLMLE.

    Raises
    ------
    AssertionError
        When CLMLE's ``predict`` is not the argmax of its ``predict_proba``
        (the scores would then not be those of its predictions).
    """
    clf = final_step(estimator)
    if not isinstance(clf, CLMLEClassifier):
        return {}
    proba = clf.predict_proba(X_test)
    assert np.array_equal(clf.predict(X_test), clf.classes_[proba.argmax(1)])
    clamped = clamped_ratio_proba(clf, X_test)
    values = {
        "clamped_balanced_accuracy": float(
            balanced_accuracy_score(y_test, clamped.argmax(1))
        )
    }
    values |= {
        f"clamped_{k}": v for k, v in binary_scores(y_test, clamped[:, 1]).items()
    }
    decision = clf.decision_function(X_test)
    for m in SHARPNESS:
        p = 1.0 / (1.0 + np.exp(-m * decision))
        values[f"sharpness{m:g}_log_loss"] = float(log_loss(y_test, p, labels=[0, 1]))
        values[f"sharpness{m:g}_distinct_scores"] = float(len(np.unique(p)))
    return values


def experiments():
    """The one experiment: the binary 90/10 problem of each seed, both rows."""
    return [
        HoldoutExperiment(
            name="binary_90_10",
            title=(
                "make_classification(4000, 20 features, 10 informative, 90/10), "
                "1,000 stratified test rows"
            ),
            load=make_data,
            rows=tuple(ROWS),
            settings={
                "data": "make_classification",
                "n_samples": 4000,
                "n_features": 20,
                "n_informative": 10,
                "weights": [0.9],
                "n_test": 1000,
            },
            suite="clmle_scores",
            make_row=make_row,
            measures=(probability_scores, score_rules),
        )
    ]


def _each(header, metric, digits=4, scale=1.0):
    return Column(header, metric, scale=scale, digits=digits, each=True)


COLUMNS = (
    _each("balanced accuracy", "balanced_accuracy"),
    _each("ROC AUC", "roc_auc"),
    _each("average precision", "average_precision"),
    _each("log loss", "log_loss"),
    _each("Brier", "brier"),
    _each("distinct scores", "distinct_scores", digits=0),
    Column("ROC AUC − CE", "roc_auc", scale=1.0, digits=4, reference="CE"),
)
SHARPNESS_COLUMNS = (
    _each("log loss", "log_loss"),
    _each("distinct scores", "distinct_scores", digits=0),
)


def report(records, experiments, out, n_seeds):
    """The suite's section: the score rules side by side, then the sweep."""
    (exp,) = experiments
    lines = [Line("CE", "CE")]
    if "CLMLE" in exp.rows:
        lines += [
            Line("CLMLE, clamped Eq. 10 ratio (before)", "CLMLE", prefix="clamped_"),
            Line("CLMLE, extended Eq. 10 ratio", "CLMLE"),
        ]
    text = (
        f"## CLMLE's k-nearest-cluster scores (issue 16)\n\n{exp.title}; "
        f"{n_seeds[exp.name]} seed(s), mean ± sd over the seeds (the sample sd) "
        "[each seed], of `predict_proba[:, 1]` on the test rows; both CLMLE "
        "lines score the same fit. The last column: the paired difference of "
        "ROC AUC to CE.\n\n" + paired_table(records, lines, COLUMNS, first="scores")
    )
    if "CLMLE" in exp.rows:
        sweep = [Line(f"{m:g}", "CLMLE", prefix=f"sharpness{m:g}_") for m in SHARPNESS]
        text += (
            "\n\nHeld-out log loss and distinct scores of sigmoid(m × CLMLE's "
            "decision scores) (m = 1 is `predict_proba`):\n\n"
            + paired_table(records, sweep, SHARPNESS_COLUMNS, first="m")
        )
    return text, []


PROFILES = {
    "clmle_scores": Profile(
        name="clmle_scores",
        description=(
            "whether CLMLE's k-nearest-cluster scores rank (issue 16): ROC AUC, "
            "average precision, log loss and Brier score of its two score rules "
            "on one fit, beside plain CE, on a binary 90/10 problem"
        ),
        experiments=experiments,
        seeds=3,
        net={},
        reporters={"clmle_scores": report},
    )
}
