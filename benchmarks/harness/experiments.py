"""The kinds of experiment the profiles are made of.

:class:`HoldoutExperiment`
    Khan et al.'s Table 5 protocol: per seed, a training set made imbalanced
    and an untouched test set (one "fold").
:class:`CVExperiment`
    The tabular suite: repeated stratified k-fold cross-validation of a data
    set that is imbalanced as it comes; repeat ``r`` shuffles with seed ``r``.
:class:`MeasurementExperiment`
    What is not a classifier's fit: each row calls a measurement (e.g. the
    time of one training step's hard mining) once per seed.

The first two yield ``(fold, X_train, y_train, X_test, y_test)`` for a seed;
every kind names the table rows it runs and states the settings that enter
the cache fingerprint.

Measures
    A holdout or cross-validated experiment may record more than the scores
    of a prediction: each of its ``measures`` is a module-level function
    ``measure(estimator, X_train, y_train, X_test, y_test) -> dict`` called
    on the fitted estimator after the scores (labels encoded as the estimator
    saw them), whose values join the run's record, are cached with it, and
    are summarised in ``summary.csv`` (e.g. a training accuracy, a method's
    fitted margins, the scores of a second decision rule on the same fit). A
    measure returns ``{}`` for a row it does not apply to.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedKFold


def imbalance_ratio(y):
    """Size of the largest class over the size of the smallest."""
    _, counts = np.unique(y, return_counts=True)
    return float(counts.max() / counts.min())


@dataclass
class HoldoutExperiment:
    """A training set made imbalanced per seed and a fixed, untouched test set.

    Attributes
    ----------
    name : str
        Short name (cache key, file names).
    title : str
        What the tables call it.
    load : callable
        ``load(seed, device) -> (X_train, y_train, X_test, y_test)``; ``device``
        is where features may be computed.
    rows : tuple of str
        Table rows to run, in table order.
    settings : dict
        Data settings that shape the runs (part of the cache fingerprint).
    suite : str
        Experiments of one suite share a report.
    paper : str or None
        Key of published numbers to print beside ours (see ``benchmarks.harness.paper``).
    make_row : callable or None
        ``make_row(row, random_state, **net) -> estimator`` for rows that are
        not in :mod:`benchmarks.harness.methods` (default: :func:`~benchmarks.harness.methods.make_row`).
        Must be a module-level function (runs go to worker processes).
    fit_and_score : callable or None
        ``fit_and_score(estimator, X_train, y_train, X_test, y_test) -> dict``
        (default: :func:`benchmarks.harness.runner.fit_and_score`); the dict holds at
        least ``error``, ``fit_seconds``, ``accuracy`` and every metric of
        :data:`benchmarks.harness.metrics.METRICS`. Module-level, as ``make_row``.
        With ``measures``, it is called with ``measures=`` too (see
        :func:`benchmarks.harness.runner.apply_measures`).
    measures : tuple of callable
        Module-level ``measure(estimator, X_train, y_train, X_test, y_test)
        -> dict`` recorded with each run (see the module's docstring); their
        names enter the cache fingerprint. Empty: the scores only.
    """

    name: str
    title: str
    load: Callable
    rows: tuple
    settings: dict = field(default_factory=dict)
    suite: str = "table5"
    paper: str | None = None
    make_row: Callable | None = None
    fit_and_score: Callable | None = None
    measures: tuple = ()
    kind = "holdout"
    n_folds = 1

    def splits(self, seed, device="cpu"):
        X_train, y_train, X_test, y_test = self.load(seed, device)
        yield 0, X_train, y_train, X_test, y_test


@dataclass
class CVExperiment:
    """Stratified ``n_splits``-fold cross-validation, one shuffle per seed.

    Attributes
    ----------
    name, title, rows, settings, suite, make_row, fit_and_score, measures
        As in :class:`HoldoutExperiment`.
    load : callable
        ``load() -> (X, y)``.
    n_splits : int, default=5
    first_seed : int, default=0
        Repeat ``r`` shuffles with seed ``first_seed + r`` (a profile that
        chooses settings can then use other folds than the one that reports).
    """

    name: str
    title: str
    load: Callable
    rows: tuple
    settings: dict = field(default_factory=dict)
    suite: str = "keel"
    n_splits: int = 5
    first_seed: int = 0
    make_row: Callable | None = None
    fit_and_score: Callable | None = None
    measures: tuple = ()
    paper = None
    kind = "cv"

    @property
    def n_folds(self):
        return self.n_splits

    def splits(self, seed):
        X, y = self.load()
        folds = StratifiedKFold(
            self.n_splits, shuffle=True, random_state=self.first_seed + seed
        )
        for fold, (train, test) in enumerate(folds.split(X, y)):
            yield fold, X[train], y[train], X[test], y[test]

    def describe(self):
        """Size, features, classes and imbalance ratio of the data set."""
        X, y = self.load()
        return {
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "n_classes": int(np.unique(y).size),
            "imbalance_ratio": imbalance_ratio(y),
        }


@dataclass
class MeasurementExperiment:
    """Rows that each call a measurement, not a classifier's fit, once per seed.

    For what a profile measures that no estimator's fit and prediction
    yields, e.g. the milliseconds of one training step's hard mining on
    synthetic batches: the runner calls ``measure(row, seed, **settings)`` in
    a worker, as it fits a row, and records what it returns with the cache
    key, provenance and report path of every other run.

    Attributes
    ----------
    name, title, suite
        As in :class:`HoldoutExperiment`.
    measure : callable
        Module-level ``measure(row, seed, **settings) -> dict`` of numbers (a
        failure is recorded as the run's error, as a failed fit is).
    rows : tuple of str
        What is measured (the names ``measure`` understands), in table order.
    settings : dict
        The keyword arguments of ``measure``: all that shapes a run besides
        its row and seed (part of the cache fingerprint, with the measure's
        name).
    """

    name: str
    title: str
    measure: Callable
    rows: tuple
    settings: dict = field(default_factory=dict)
    suite: str = "measurements"
    paper = None
    make_row = None
    measures = ()
    kind = "measurement"
    n_folds = 1
