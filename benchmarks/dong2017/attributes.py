"""Dong et al.'s attribute table (ICCV 2017, Table 2; Huang et al., Table 5) on yeast.

The papers train one multi-task network on CelebA's 40 binary face attributes
and report, per attribute, the class-balanced accuracy (the mean of the
sensitivities of the positive and the negative class), attributes sorted by
imbalance ratio, and the average over attributes. CelebA is not available
offline here; the multi-label ``yeast`` set is (2,417 genes, 103 features, 14
labels with positive rates from 1.4 % to 75 %, see
:func:`skimbalance.datasets.fetch_yeast_multilabel`). Its labels play the
attributes: every estimator of the library takes the 0/1 indicator matrix and
learns one head (and one embedding) per label on a shared backbone, as the
papers' per-attribute FC layers.

Protocol
    5-fold cross-validation, repeated (repeat ``r`` shuffles with seed ``r``),
    folds made by iterative stratification (Sechidis et al., 2011;
    :func:`iterative_stratification`): the rarest label (34 positives) gets 6
    or 7 positives in every test fold, every other label close to a fifth of
    its positives (fold sizes 474 to 492). Plain shuffled 5-fold CV gives it
    4 positives in one fold and 10 in another in a typical shuffle (medians
    over 1,000 shuffles of the fewest and the most; 0 and 17 at worst).
    Standardised features (a scaler fitted on the training folds), as every
    row of the harness.

Rows (:data:`ATTRIBUTE_ROWS`)
    ``CE`` (the plain multi-task network, the papers' DeepID2 baseline);
    ``Over-sampling + CE`` and ``Down-sampling + CE``; ``CE
    (cost-sensitive)`` (``class_weight="balanced"``, per label); the
    long-tail baselines of :data:`benchmarks.harness.methods.MODERN_BASELINES`
    (logit-adjusted, LDAM-DRW, focal, class-balanced and class-balanced focal
    CE, each per label of the multi-task head); ``CRL(C)``,
    ``CRL(I)``; ``CLMLE``; ``Uncertainty margin`` (the library's defaults);
    ``CRL(I) (paper)``, ``CLMLE (paper)`` and ``Uncertainty margin
    (paper)``, the papers' methods as published (``prior_correction=0`` for
    CRL, ``class_weight=None`` for the other two); and ``CE (per label)``,
    the control of the two sampling rows.

Over- and down-sampling for multi-label data
    One training set cannot be balanced for 14 labels at once (over-sampling
    the positives of one label changes the rates of the others). These rows
    are therefore binary relevance (:class:`PerLabelNetworks`): one binary
    network per label, each trained on its own training set resampled by
    imbalanced-learn's ``RandomOverSampler`` (positives and negatives
    equal, by duplication) or ``RandomUnderSampler`` (by discarding). Every
    per-label network runs as many mini-batch updates as the multi-task
    network runs in its ``max_epochs`` on the whole training set, so
    resampling changes the data and not the training budget (a down-sampled
    set of 54 genes trains for many epochs, an over-sampled set of 3,800 for
    fewer). ``CE (per label)`` is the same 14 networks without resampling:
    the gain of a sampling row over it is the effect of resampling alone; its
    gain over ``CE`` adds the effect of separate networks.

Scores (:func:`fit_and_score`)
    Per label: balanced accuracy, and Khan et al.'s per-class metrics of the
    positive class; the run's scalar metrics (``accuracy``,
    ``balanced_accuracy``, ``macro_f1``, ``g_mean``, ``iba``) are the means of
    the per-label binary metrics over the labels.

The table (:func:`attributes_report`) is Dong et al.'s layout: one column per
label sorted by imbalance ratio (positive rate and ratio in header lines),
the mean, and the mean over the most imbalanced half; then the same layout as
gains over ``CE``; the papers' averages on CelebA beside ours, labelled; and
the figure of each label's gain over ``CE`` against its imbalance ratio
(Dong et al.'s Fig. 5).

Sizing
    4 repeats of 5-fold CV, 30 epochs of batch 128 ((512, 512) MLP, dropout
    0.5), 2 runs in parallel: about an hour on this project's 2 cores (the
    measured runs: ``docs/results/attributes/runs.jsonl``; the reasons in
    ``docs/benchmarks.rst``).
"""

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skimbalance import CrossEntropyClassifier
from skimbalance.datasets import fetch_yeast_multilabel

from ..harness import methods
from ..harness.experiments import CVExperiment
from ..harness.files import save_figure
from ..harness.methods import MODERN_BASELINES
from ..harness.metrics import EXTRA_METRICS, METRICS, per_class_scores
from ..harness.profile import Profile
from ..harness.report import markdown_table, percent, write_csv
from ..harness.runner import apply_measures, failed_run

# ----------------------------------------------------------------- papers
#: Dong et al. (ICCV 2017), Table 2: average class-balanced accuracy (%) over
#: CelebA's 40 attributes (the "Average" column, printed as integers).
DONG2017_TABLE2_AVERAGE = {
    "Triplet-kNN": 72,
    "PANDA": 77,
    "ANet": 80,
    "DeepID2": 81,
    "Over-Sampling": 82,
    "Down-Sampling": 78,
    "Cost-Sensitive": 82,
    "LMLE": 84,
    "CRL(C)": 85,
    "CRL(I)": 86,
}
#: Huang et al. (TPAMI 2019), Table 5: the same metric and data, two decimals.
HUANG2019_TABLE5_AVERAGE = {
    "Triplet-kNN": 71.55,
    "PANDA": 76.95,
    "ANet": 79.58,
    "Down-sampling": 77.45,
    "MOON": 78.59,
    "Over-sampling": 81.48,
    "Cost-sensitive": 81.60,
    "AFFACT": 82.69,
    "CRL-I": 86.60,
    "MOON-D": 87.02,
    "AFFACT-D": 88.84,
    "LMLE": 83.83,
    "CLMLE": 88.78,
}
#: The baseline of Dong et al.'s gains (Fig. 5, Table 4): the plain DeepID2
#: network every imbalanced method of their Table 2 is built on.
DONG2017_BASELINE = "DeepID2"

#: Our row -> the papers' row names (Dong et al. Table 2, Huang et al. Table 5).
PAPER_ROWS = {
    "CE": ("DeepID2", None),
    "Over-sampling + CE": ("Over-Sampling", "Over-sampling"),
    "Down-sampling + CE": ("Down-Sampling", "Down-sampling"),
    "CE (cost-sensitive)": ("Cost-Sensitive", "Cost-sensitive"),
    "CRL(C)": ("CRL(C)", None),
    "CRL(I)": ("CRL(I)", "CRL-I"),
    "CLMLE": (None, "CLMLE"),
}

BASELINE = "CE"


# ------------------------------------------------------------------- rows
class PerLabelNetworks(ClassifierMixin, BaseEstimator):
    """Binary relevance: one network per label, each on its own resampled data.

    For each column ``j`` of the 0/1 indicator target, ``sampler`` (if any)
    resamples ``(X, Y[:, j])`` and a clone of ``estimator`` is fitted on the
    result. With ``budget="updates"`` each clone runs
    ``ceil(updates / batches per epoch of its resampled set)`` epochs, where
    ``updates = estimator.max_epochs * ceil(n_samples / batch_size)`` is what
    the estimator would run on the whole, un-resampled training set: every
    label's network trains as many mini-batch updates as one multi-task
    network. ``budget="epochs"`` keeps ``max_epochs`` as it is.

    Parameters
    ----------
    estimator : classifier
        A binary classifier with ``max_epochs`` and ``batch_size`` parameters
        (e.g. :class:`skimbalance.CrossEntropyClassifier`).
    sampler : imbalanced-learn sampler or None, default=None
        Applied to each label's binary problem; ``None`` trains on the data
        as they are.
    budget : {"updates", "epochs"}, default="updates"
        ``"updates"``: every label's network runs as many mini-batch updates
        as ``estimator`` would on the whole training set; ``"epochs"``: as
        many epochs (more updates on an over-sampled set, fewer on a
        down-sampled one).

    Attributes
    ----------
    estimators_ : list
        The fitted network of each label.
    epochs_ : list of int
        The epochs each network ran with.
    resampled_sizes_ : list of int
        The size of each label's (resampled) training set.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu, "Class Rectification Hard Mining for
       Imbalanced Deep Learning", ICCV 2017 (over- and down-sampling rows of
       Table 2).
    """

    def __init__(self, estimator, sampler=None, budget="updates"):
        self.estimator = estimator
        self.sampler = sampler
        self.budget = budget

    def fit(self, X, Y):
        X = np.asarray(X)
        Y = np.asarray(Y)
        if Y.ndim != 2:
            raise ValueError(f"Y must be a 2-D 0/1 indicator matrix, got {Y.shape}.")
        if self.budget not in ("updates", "epochs"):
            raise ValueError(
                f"budget must be 'updates' or 'epochs', got {self.budget!r}."
            )
        params = self.estimator.get_params()
        batch = int(params["batch_size"])
        updates = int(params["max_epochs"]) * math.ceil(len(X) / batch)
        self.estimators_, self.epochs_, self.resampled_sizes_ = [], [], []
        for j in range(Y.shape[1]):
            X_j, y_j = X, Y[:, j]
            if self.sampler is not None:
                X_j, y_j = clone(self.sampler).fit_resample(X_j, y_j)
            estimator = clone(self.estimator)
            if self.budget == "updates":
                epochs = max(1, math.ceil(updates / math.ceil(len(y_j) / batch)))
                estimator.set_params(max_epochs=epochs)
            self.estimators_.append(estimator.fit(X_j, y_j))
            self.epochs_.append(int(estimator.get_params()["max_epochs"]))
            self.resampled_sizes_.append(len(y_j))
        self.classes_ = np.arange(Y.shape[1])
        return self

    def predict(self, X):
        """The 0/1 indicator matrix of predicted labels, shape (n_samples, n_labels)."""
        return np.column_stack([e.predict(X) for e in self.estimators_]).astype(
            np.int64
        )


def _per_label(sampler):
    def factory(random_state, **net):
        return PerLabelNetworks(
            CrossEntropyClassifier(random_state=random_state, **net),
            sampler=None if sampler is None else sampler(random_state),
        )

    return factory


#: Rows of this module (the others come from :mod:`benchmarks.harness.methods`).
OWN_ROWS = {
    "Over-sampling + CE": _per_label(lambda rs: RandomOverSampler(random_state=rs)),
    "Down-sampling + CE": _per_label(lambda rs: RandomUnderSampler(random_state=rs)),
    "CE (per label)": _per_label(None),
}

#: The rows of the attribute table, in Dong et al.'s order (the per-label
#: control next to the sampling rows, which also spreads the three expensive
#: rows of a fold over the two parallel jobs).
ATTRIBUTE_ROWS = (
    "CE",
    "Over-sampling + CE",
    "Down-sampling + CE",
    "CE (per label)",
    "CE (cost-sensitive)",
    *MODERN_BASELINES,
    "CRL(C)",
    "CRL(I)",
    "CLMLE",
    "Uncertainty margin",
    # The papers' methods as published (the library's defaults above add a
    # rebalanced head): what the fidelity fixes changed, apart from the head.
    "CRL(I) (paper)",
    "CLMLE (paper)",
    "Uncertainty margin (paper)",
)


def make_row(name, random_state, **net):
    """A fresh estimator for ``name`` (this module's rows, else the harness's),
    with a standard scaler in front."""
    if name in OWN_ROWS:
        return make_pipeline(StandardScaler(), OWN_ROWS[name](random_state, **net))
    return methods.make_row(name, random_state, **net)


# ---------------------------------------------------------------- scoring
def imbalance_ratios(Y):
    """Per label: the larger of (positives, negatives) over the smaller (inf if 0)."""
    Y = np.asarray(Y)
    positives = Y.sum(axis=0).astype(float)
    negatives = Y.shape[0] - positives
    with np.errstate(divide="ignore"):
        return np.maximum(positives, negatives) / np.minimum(positives, negatives)


def label_scores(Y_true, Y_pred):
    """Per-label binary scores and their means over the labels.

    Returns a dict: ``accuracy`` and each metric of
    :data:`~benchmarks.harness.metrics.METRICS` as the mean over labels of the
    metric of each label's binary problem, and ``per_class``, per label:
    ``balanced_accuracy``, ``tpr`` and ``tnr`` (the sensitivities of the
    positive and of the negative class), and Khan et al.'s per-class metrics
    (:data:`~benchmarks.harness.metrics.PER_CLASS`) of the positive class.
    """
    Y_true = np.asarray(Y_true)
    Y_pred = np.asarray(Y_pred)
    n_labels = Y_true.shape[1]
    scalar = {**EXTRA_METRICS, **METRICS}
    values = {name: np.empty(n_labels) for name in scalar}
    per_label = {}
    tpr, tnr = np.empty(n_labels), np.empty(n_labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a fold without a class
        for j in range(n_labels):
            y, p = Y_true[:, j], Y_pred[:, j]
            for name, fn in scalar.items():
                values[name][j] = fn(y, p)
            scores = per_class_scores(y, p, [0, 1])
            for name, pair in scores.items():
                per_label.setdefault(name, []).append(float(pair[1]))
            positives, negatives = y == 1, y == 0
            tpr[j] = (p[positives] == 1).mean() if positives.any() else np.nan
            tnr[j] = (p[negatives] == 0).mean() if negatives.any() else np.nan
    out = {name: float(v.mean()) for name, v in values.items()}
    out["per_class"] = per_label | {
        "balanced_accuracy": values["balanced_accuracy"].tolist(),
        "tpr": tpr.tolist(),
        "tnr": tnr.tolist(),
    }
    return out


def fit_and_score(estimator, X_train, y_train, X_test, y_test, measures=()):
    """Fit on a multi-label training fold, predict the test fold, score per label.

    ``y_train`` and ``y_test`` are 0/1 indicator matrices (one column per
    label); no label encoding. The record holds ``classes`` (the label
    indices, as strings), ``train_counts`` and ``test_counts`` (the positives
    of each label), ``n_train``, ``n_test``, ``fit_seconds``, the scalar
    scores of :func:`label_scores` and ``per_class`` with each label's scores
    and its ``imbalance_ratio`` and ``positive_rate`` in the training fold,
    then the values of ``measures``
    (:func:`benchmarks.harness.runner.apply_measures`). A failure is
    recorded as ``error`` with NaN scores, as the harness does.
    """
    Y_train = np.asarray(y_train).astype(np.int64)
    Y_test = np.asarray(y_test).astype(np.int64)
    if Y_train.ndim != 2 or Y_test.ndim != 2:
        raise ValueError("The multi-label experiment needs 2-D indicator targets.")
    n_labels = Y_train.shape[1]
    run = {
        "error": "",
        "n_train": len(Y_train),
        "n_test": len(Y_test),
        "classes": [str(j) for j in range(n_labels)],
        "train_counts": Y_train.sum(axis=0).tolist(),
        "test_counts": Y_test.sum(axis=0).tolist(),
    }
    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            for category in (UserWarning, ConvergenceWarning, FutureWarning):
                warnings.simplefilter("ignore", category=category)
            estimator.fit(X_train, Y_train)
            run["fit_seconds"] = time.perf_counter() - tic
            Y_pred = np.asarray(estimator.predict(X_test)).astype(np.int64)
        if Y_pred.shape != Y_test.shape:
            raise ValueError(
                f"predict returned shape {Y_pred.shape}, expected {Y_test.shape}."
            )
    except Exception as error:  # recorded, reported, and the benchmark goes on
        return failed_run(run, error)
    scores = label_scores(Y_test, Y_pred)
    scores["per_class"]["imbalance_ratio"] = imbalance_ratios(Y_train).tolist()
    scores["per_class"]["positive_rate"] = Y_train.mean(axis=0).tolist()
    run |= scores
    if not measures:
        return run
    try:
        return run | apply_measures(
            measures, estimator, X_train, Y_train, X_test, Y_test, taken=run
        )
    except Exception as error:  # a measure that fails fails the run
        return failed_run(run, error)


# ------------------------------------------------------------ experiments
def iterative_stratification(Y, n_splits, random_state=None):
    """Fold of every sample by iterative stratification (Sechidis et al., 2011).

    Labels are served rarest first: each positive sample of the label with the
    fewest positives left goes to the fold that still wants the most of that
    label (ties: the fold that wants the most samples, then at random), and
    every fold's wants are updated for all the sample's labels. Samples with
    no label go last, to the folds that want the most samples. The rarest
    label's positives end up spread within one of each other over the folds.

    Parameters
    ----------
    Y : array-like of shape (n_samples, n_labels)
        0/1 indicator matrix.
    n_splits : int
        Number of folds, at least 2.
    random_state : int or None, default=None
        Seed of the random tie-breaks and of the order of the samples.

    Returns
    -------
    folds : ndarray of shape (n_samples,)
        The fold index (0 .. n_splits - 1) of each sample.

    References
    ----------
    .. [1] K. Sechidis, G. Tsoumakas and I. Vlahavas, "On the Stratification
       of Multi-Label Data", ECML PKDD 2011.
    """
    Y = np.asarray(Y).astype(bool)
    n_samples = Y.shape[0]
    if not 2 <= n_splits <= n_samples:
        raise ValueError(f"n_splits must be in [2, {n_samples}], got {n_splits}.")
    rng = np.random.default_rng(random_state)
    wants = np.full(n_splits, n_samples / n_splits)
    label_wants = np.tile(Y.sum(axis=0) / n_splits, (n_splits, 1))
    folds = np.full(n_samples, -1)
    left = np.ones(n_samples, dtype=bool)

    def place(i, candidates):
        if len(candidates) > 1:
            candidates = candidates[wants[candidates] == wants[candidates].max()]
        fold = rng.choice(candidates)
        folds[i] = fold
        left[i] = False
        wants[fold] -= 1
        label_wants[fold] -= Y[i]

    while left.any():
        counts = Y[left].sum(axis=0)
        if counts.max() == 0:
            for i in rng.permutation(np.flatnonzero(left)):
                place(i, np.arange(n_splits))
            break
        rarest = np.flatnonzero(counts == counts[counts > 0].min())
        label = rng.choice(rarest)
        for i in rng.permutation(np.flatnonzero(left & Y[:, label])):
            column = label_wants[:, label]
            place(i, np.flatnonzero(column == column.max()))
    return folds


def load_yeast():
    """``(X, Y)`` of the multi-label yeast set (float64 features, 0/1 labels)."""
    return fetch_yeast_multilabel(return_X_y=True)


@dataclass
class MultiLabelCVExperiment(CVExperiment):
    """Repeated k-fold cross-validation of a multi-label set, iteratively stratified.

    As :class:`~benchmarks.harness.experiments.CVExperiment` (``load() -> (X, Y)``
    with ``Y`` a 0/1 indicator matrix), with folds from
    :func:`iterative_stratification` (repeat ``r`` uses seed ``r``), this
    module's rows and multi-label scoring by default.

    Attributes
    ----------
    label_names : tuple of str
        Names of the label columns (default ``"0"``, ``"1"`` …).
    """

    suite: str = "attributes"
    make_row: Callable | None = make_row
    fit_and_score: Callable | None = fit_and_score
    label_names: tuple = ()

    def splits(self, seed):
        X, Y = self.load()
        folds = iterative_stratification(Y, self.n_splits, random_state=seed)
        for fold in range(self.n_splits):
            train, test = folds != fold, folds == fold
            yield fold, X[train], Y[train], X[test], Y[test]

    def describe(self):
        """Size, features, labels, and per label its positive rate and imbalance ratio."""
        X, Y = self.load()
        Y = np.asarray(Y)
        ratios = imbalance_ratios(Y)
        return {
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "n_classes": int(Y.shape[1]),
            "imbalance_ratio": float(ratios.max()),
            "label_names": list(self.label_names)
            or [str(j) for j in range(Y.shape[1])],
            "positive_rates": Y.mean(axis=0).tolist(),
            "imbalance_ratios": ratios.tolist(),
        }


def yeast_experiment(rows=ATTRIBUTE_ROWS, suite="attributes", **kwargs):
    """The yeast experiment (5-fold, iteratively stratified) with ``rows``."""
    return MultiLabelCVExperiment(
        name="yeast",
        title="yeast (multi-label, 14 labels), 5-fold iteratively stratified CV",
        load=load_yeast,
        rows=tuple(rows),
        settings={"data": "yeast-multilabel", "cv": "iterative-stratified 5-fold"},
        suite=suite,
        n_splits=5,
        label_names=tuple(f"Class{j}" for j in range(1, 15)),
        **kwargs,
    )


def attribute_experiments():
    return [yeast_experiment()]


# -------------------------------------------------------------- reporting
def label_table(records, rows):
    """Per (row, label): mean over runs of the balanced accuracy, and gains.

    Returns a dict with ``rows`` (those with at least one successful run),
    ``ba`` (n_rows, n_labels) mean balanced accuracy, ``ba_runs`` {row:
    (n_runs, n_labels)}, ``gain`` (n_rows, n_labels) the mean over the runs
    both rows completed (same repeat and fold) of ``row - CE`` (NaN without
    ``CE``), ``gain_runs``, ``positive_rate`` and ``imbalance_ratio`` per
    label (means over the training folds of the runs).
    """
    ok = [r for r in records if not r.get("error") and "per_class" in r]
    present = [row for row in rows if any(r["method"] == row for r in ok)]
    if not ok:
        return {"rows": [], "ba": np.empty((0, 0))}
    by_key = {}
    for r in ok:
        by_key[(r["method"], r["experiment"], r["seed"], r["fold"])] = np.asarray(
            r["per_class"]["balanced_accuracy"], dtype=float
        )
    n_labels = len(ok[0]["per_class"]["balanced_accuracy"])
    ba = np.full((len(present), n_labels), np.nan)
    gain = np.full_like(ba, np.nan)
    ba_runs, gain_runs = {}, {}
    for i, row in enumerate(present):
        keys = [k for k in by_key if k[0] == row]
        ba_runs[row] = np.vstack([by_key[k] for k in keys])
        ba[i] = np.nanmean(ba_runs[row], axis=0)
        paired = [
            by_key[k] - by_key[(BASELINE, *k[1:])]
            for k in keys
            if (BASELINE, *k[1:]) in by_key
        ]
        if paired:
            gain_runs[row] = np.vstack(paired)
            gain[i] = np.nanmean(gain_runs[row], axis=0)
    return {
        "rows": present,
        "ba": ba,
        "ba_runs": ba_runs,
        "gain": gain,
        "gain_runs": gain_runs,
        "positive_rate": np.mean([r["per_class"]["positive_rate"] for r in ok], axis=0),
        "imbalance_ratio": np.mean(
            [r["per_class"]["imbalance_ratio"] for r in ok], axis=0
        ),
    }


def _ratio(v):
    return f"1:{v:.0f}" if v >= 10 else f"1:{v:.1f}"


def _paper_cells(row, gains=False):
    dong, huang = PAPER_ROWS.get(row, (None, None))
    base = DONG2017_TABLE2_AVERAGE[DONG2017_BASELINE]
    cells = []
    if dong is None:
        cells.append("")
    elif gains:
        cells.append(f"*{DONG2017_TABLE2_AVERAGE[dong] - base:+d}*")
    else:
        cells.append(f"*{DONG2017_TABLE2_AVERAGE[dong]}*")
    if gains:
        return cells
    cells.append("" if huang is None else f"*{HUANG2019_TABLE5_AVERAGE[huang]:.2f}*")
    return cells


def dong_table2_markdown(table, label_names):
    """The two tables (balanced accuracy, gains over CE) in Dong et al.'s layout."""
    order = np.argsort(table["imbalance_ratio"], kind="stable")
    half = order[len(order) // 2 :]
    names = [label_names[j] for j in order]
    header = ["Method", *names, "Average", "Avg. most imbalanced half"]
    rate_row = [
        "*positive rate (%)*",
        *(f"{100 * table['positive_rate'][j]:.1f}" for j in order),
        "",
        "",
    ]
    ratio_row = [
        "*imbalance ratio*",
        *(_ratio(table["imbalance_ratio"][j]) for j in order),
        "",
        "",
    ]
    body = [rate_row, ratio_row]
    for i, row in enumerate(table["rows"]):
        means = table["ba_runs"][row].mean(axis=1)
        body.append(
            [
                row,
                *(percent(table["ba"][i, j]) for j in order),
                f"**{percent(np.nanmean(table['ba'][i]))}** [{percent(means.std())}]",
                percent(np.nanmean(table["ba"][i, half])),
            ]
        )
    paper_header = [
        *header,
        "Dong T2 avg. (CelebA)",
        "Huang T5 avg. (CelebA)",
    ]
    body = [
        cells + ([""] * 2 if k < 2 else _paper_cells(table["rows"][k - 2]))
        for k, cells in enumerate(body)
    ]
    ba_md = markdown_table(paper_header, body)
    gain_md = ""
    if BASELINE in table["rows"]:
        gbody = [[*rate_row, "", ""], [*ratio_row, "", ""]]
        for i, row in enumerate(table["rows"]):
            if row == BASELINE:
                continue
            runs = table["gain_runs"].get(row)
            spread = (
                f" [{percent(runs.mean(axis=1).std())}]" if runs is not None else ""
            )
            wins = int(np.sum(table["gain"][i] > 0))
            gbody.append(
                [
                    row,
                    *(percent(table["gain"][i, j], sign=True) for j in order),
                    f"**{percent(np.nanmean(table['gain'][i]), sign=True)}**{spread}",
                    percent(np.nanmean(table["gain"][i, half]), sign=True),
                    f"{wins}/{len(order)}",
                    *_paper_cells(row, gains=True),
                ]
            )
        gain_md = markdown_table(
            [*header, "labels improved", "Dong T2 gain over DeepID2 (CelebA)"], gbody
        )
    return ba_md, gain_md


def plot_gain_vs_label_imbalance(table, label_names, path, title):
    """Each label's balanced-accuracy gain over CE, labels sorted by imbalance ratio.

    As Dong et al.'s Fig. 5: one position per label, in increasing imbalance
    ratio (the tick says the label and its ratio), one marker set per row
    joined in that order; the library's methods in thick lines, baselines in
    thin dashed ones. Returns ``path``, or None without a CE row or another
    row to draw.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in table["rows"] if r != BASELINE]
    if BASELINE not in table["rows"] or not rows:
        return None
    order = np.argsort(table["imbalance_ratio"], kind="stable")
    x = np.arange(len(order))
    fig, ax = plt.subplots(figsize=(max(6.5, 0.5 * len(order) + 3.5), 4.4))
    markers = "osD^v<>ph*"
    for k, row in enumerate(rows):
        i = table["rows"].index(row)
        method = row in methods.METHODS
        ax.plot(
            x,
            100 * table["gain"][i, order],
            marker=markers[k % len(markers)],
            lw=1.8 if method else 0.9,
            ls="-" if method else "--",
            ms=5,
            label=row,
        )
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(
        [f"{label_names[j]}\n{_ratio(table['imbalance_ratio'][j])}" for j in order],
        fontsize=7,
    )
    ax.set_xlabel("label and its imbalance ratio (training folds), sorted by imbalance")
    ax.set_ylabel(f"balanced accuracy − {BASELINE} (points)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


def attributes_report(records, experiments, out, n_seeds):
    """The suite's section of ``summary.md``: Dong et al.'s Table 2 layout.

    Writes ``per_label_<experiment>.csv`` (per row and label: positive rate,
    imbalance ratio, balanced accuracy mean and std over runs, gain over CE)
    and ``gain_vs_label_imbalance_<experiment>.png``; returns ``(markdown,
    [figure paths])``.
    """
    out = Path(out)
    parts, figures = [], []
    for exp in experiments:
        runs = [r for r in records if r["experiment"] == exp.name]
        table = label_table(runs, list(exp.rows))
        if not table["rows"]:
            parts.append(f"## {exp.title}\n\nNo successful run.")
            continue
        n_labels = table["ba"].shape[1]
        names = list(exp.label_names) or [str(j) for j in range(n_labels)]
        ba_md, gain_md = dong_table2_markdown(table, names)
        folds = {(r["seed"], r["fold"]) for r in runs}
        times = {
            row: np.nanmean([r["fit_seconds"] for r in runs if r["method"] == row])
            for row in table["rows"]
        }
        parts.append(
            f"## {exp.title}\n\n"
            f"Class-balanced accuracy (%) of each label (mean of the sensitivities "
            f"of its positive and negative class), mean over {len(folds)} test "
            f"folds ({n_seeds[exp.name]} repeat(s) of {exp.n_splits}-fold "
            "cross-validation); labels sorted by imbalance ratio (training "
            "folds), as Dong et al. (ICCV 2017) Table 2. Average: over the "
            "labels [std over runs of the label mean]. The italic columns are "
            "the papers' averages over CelebA's 40 face attributes (Dong et "
            "al. Table 2; Huang et al. TPAMI Table 5), not ours: other data, "
            "network and training; CE stands for their plain DeepID2 network. "
            "Over- and down-sampling train one network per label on its "
            "resampled training set; CE (per label) is the same without "
            "resampling.\n\n"
            + ba_md
            + "\n\n"
            + (
                "#### Gain over CE (points), per label and on average\n\n"
                "Mean over the folds of the paired difference row − CE (same "
                "repeat and fold) [std over runs of the label-mean gain]; the "
                "italic column is Dong et al.'s average minus their DeepID2 "
                "baseline on CelebA.\n\n" + gain_md + "\n\n"
                if gain_md
                else ""
            )
            + "Mean fit time (s): "
            + ", ".join(f"{row} {t:.1f}" for row, t in times.items())
            + "."
        )
        csv_rows = []
        for i, row in enumerate(table["rows"]):
            for j in range(n_labels):
                csv_rows.append(
                    {
                        "experiment": exp.name,
                        "method": row,
                        "label": names[j],
                        "positive_rate": table["positive_rate"][j],
                        "imbalance_ratio": table["imbalance_ratio"][j],
                        "balanced_accuracy": table["ba"][i, j],
                        "balanced_accuracy_std": table["ba_runs"][row][:, j].std(),
                        "gain_over_ce": table["gain"][i, j],
                    }
                )
        write_csv(csv_rows, out / f"per_label_{exp.name}.csv")
        path = plot_gain_vs_label_imbalance(
            table,
            names,
            out / f"gain_vs_label_imbalance_{exp.name}.png",
            f"Gain over CE per label by imbalance ratio ({exp.name}; as Dong et al. "
            "Fig. 5)",
        )
        if path:
            figures.append(path)
    return "\n\n".join(parts), figures


# ---------------------------------------------------------------- profile
PROFILES = {
    "attributes": Profile(
        name="attributes",
        description=(
            "Dong et al.'s attribute table (ICCV 2017 Table 2; Huang et al. "
            "Table 5) on the multi-label yeast set (14 labels, positive rates "
            "1.4-75 %): per-label class-balanced accuracy, iteratively "
            "stratified 5-fold CV"
        ),
        experiments=attribute_experiments,
        seeds=4,
        jobs=2,
        net=dict(
            hidden_layer_sizes=(512, 512),
            dropout=0.5,
            max_epochs=30,
            batch_size=128,
            lr=1e-3,
        ),
        reporters={"attributes": attributes_report},
        sizing_records=("docs/results/attributes/runs.jsonl",),
    )
}
