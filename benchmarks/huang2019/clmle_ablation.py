"""Huang et al.'s Table 7: which parts of CLMLE matter, on the data that loads here.

Huang et al. (TPAMI 2019, Sec. 5.4 and Table 7) remove one component of CLMLE
at a time: the hardest-cluster choice of the query cluster (replaced by
uniform cluster sampling), the in-batch cost-sensitive weighting, and the
k-nearest-cluster rule of Eq. 10 (replaced, in the text, by an instance-wise
kNN). Their table reports face-verification accuracy on LFW and the average
balanced accuracy of 40 attributes on CelebA; neither data set loads here.

Rows (:data:`ROWS`, built by :func:`make_row`)
    ``CLMLE``
        :class:`~skimbalance.CLMLEClassifier` as published: hardest query
        cluster, cost-sensitive, k-nearest clusters, and ``class_weight=None``
        (the library's default adds class weights; every row here is the
        paper's method with one component removed);
    ``uniform cluster sampling``
        ``cluster_sampling="uniform"``;
    ``no cost-sensitive learning``
        ``cost_sensitive=False``;
    ``instance-wise kNN``
        :class:`CLMLEEmbeddingKNN`: the same CLMLE fit, then scikit-learn's
        ``KNeighborsClassifier`` (``k = 16``, uniform votes, Euclidean
        distance) on its unit-norm embedding (``transform``) of the training
        set in place of the k-nearest-cluster rule. The paper does not give
        its ``k``; we use 16, a vote over 16 training points where a CLMLE
        cluster holds about 200 (``cluster_size``).
    Every row has a standard scaler in front (as in :mod:`benchmarks.harness.methods`).

Data (:class:`PowerLawFeatures`)
    EfficientNet-Lite0 features of Fashion-MNIST (:func:`benchmarks.harness.data.protocols.image_features`),
    the training classes cut to power-law sizes as in Huang et al.'s own
    generic-classification experiment (Sec. 5.5, Table 8:
    :func:`skimbalance.datasets.power_law_class_sizes`), at γ = 1 (6,000 down
    to 600 per class, 17,600 samples) and γ = 0.5 (6,000 down to 60, 9,300
    samples); which class gets which size changes with the seed. The official
    test set (1,000 per class) is untouched.

Metric
    Balanced accuracy (Table 7's CelebA column is an average balanced
    accuracy; on the balanced test set it equals the accuracy), mean ± std
    over seeds, with the per-seed difference to the full CLMLE (paired on the
    training set); and the mean recall of the five rarest classes. The
    paper's numbers are printed beside ours, labelled as theirs: different
    data (faces), networks and tasks, so only the direction of each effect
    compares.

Sizing (``clmle_ablation``; the measured runs:
``docs/results/clmle_ablation/runs.jsonl``, the reasons in ``docs/benchmarks.rst``)
    30 epochs (CLMLE's defaults: 5 of cross-entropy warm-up, then 5
    clustering rounds of 5 epochs), 10 seeds, 2 runs in parallel: about an
    hour on this project's 2-core machine.
"""

from pathlib import Path

import numpy as np
from imblearn.pipeline import make_pipeline
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from skimbalance import CLMLEClassifier

from ..harness.ablation_report import (
    cell,
    delta_cell,
    fit_seconds_cell,
    grouped_bars,
    mean_std,
    n_failed,
    paired_deltas,
    paper_cell,
    run_values,
    tail_recall,
)
from ..harness.data.protocols import PowerLawFeatures
from ..harness.experiments import HoldoutExperiment
from ..harness.methods import METHODS
from ..harness.profile import Profile
from ..harness.report import markdown_table

#: Neighbours of the instance-wise kNN row (the paper gives none; our choice).
KNN_NEIGHBORS = 16


class CLMLEEmbeddingKNN(ClassifierMixin, BaseEstimator):
    """CLMLE's embedding with an instance-wise kNN classifier on top.

    Fits a clone of ``clmle`` on ``X, y``, embeds the training set with its
    ``transform`` (the learned unit-norm embedding) and fits scikit-learn's
    :class:`~sklearn.neighbors.KNeighborsClassifier` on it; a query is
    embedded the same way and labelled by its ``n_neighbors`` nearest training
    points instead of CLMLE's k-nearest-cluster rule (Huang et al.'s ablation
    of Eq. 10).

    Parameters
    ----------
    clmle : CLMLEClassifier or None, default=None
        The embedding learner (cloned; ``None``: ``CLMLEClassifier()``).
    n_neighbors : int, default=16
        ``k`` of the kNN; capped at the number of training samples.
    weights : {"uniform", "distance"}, default="uniform"
        Vote weights of the neighbours.

    Attributes
    ----------
    clmle_ : CLMLEClassifier
        The fitted embedding learner.
    knn_ : KNeighborsClassifier
        The kNN fitted on ``clmle_.transform(X)``.
    classes_ : ndarray
        Class labels.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI, 2019,
       Sec. 5.4 (the instance-wise kNN ablation).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skimbalance import CLMLEClassifier
    >>> from benchmarks.huang2019.clmle_ablation import CLMLEEmbeddingKNN
    >>> X, y = load_digits(return_X_y=True)
    >>> clmle = CLMLEClassifier(hidden_layer_sizes=(32,), max_epochs=3,
    ...                         warmup_epochs=1, n_cluster_rounds=1, random_state=0)
    >>> clf = CLMLEEmbeddingKNN(clmle, n_neighbors=5).fit(X / 16, y)
    >>> clf.predict(X[:4] / 16).shape
    (4,)
    """

    def __init__(self, clmle=None, n_neighbors=KNN_NEIGHBORS, weights="uniform"):
        self.clmle = clmle
        self.n_neighbors = n_neighbors
        self.weights = weights

    def fit(self, X, y):
        """Fit CLMLE, then the kNN on its embedding of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : object
        """
        clmle = CLMLEClassifier() if self.clmle is None else self.clmle
        self.clmle_ = clone(clmle).fit(X, y)
        embedding = self.clmle_.transform(X)
        k = min(int(self.n_neighbors), embedding.shape[0])
        self.knn_ = KNeighborsClassifier(n_neighbors=k, weights=self.weights).fit(
            embedding, y
        )
        self.classes_ = self.knn_.classes_
        self.n_features_in_ = self.clmle_.n_features_in_
        return self

    def predict(self, X):
        """Labels of the ``n_neighbors`` nearest training points in the embedding."""
        check_is_fitted(self, "knn_")
        return self.knn_.predict(self.clmle_.transform(X))

    def predict_proba(self, X):
        """kNN vote shares, columns in ``classes_`` order."""
        check_is_fitted(self, "knn_")
        return self.knn_.predict_proba(self.clmle_.transform(X))


def _clmle(random_state, **net):
    """CLMLE as Huang et al. ablate it: the harness's ``CLMLE (paper)`` row
    (``class_weight=None``, the setting these runs had before the library's
    default became ``"balanced"``), so that a row differs from ``CLMLE`` by
    the removed component alone (with the default's class weights,
    ``cost_sensitive=False`` would leave a class-weighted loss and ablate
    nothing)."""
    return METHODS["CLMLE (paper)"](random_state, **net)


#: Row name -> factory ``(random_state, **net) -> estimator`` (scaler added by
#: :func:`make_row`), in the table's order.
ROWS = {
    "CLMLE": _clmle,
    "uniform cluster sampling": lambda random_state, **net: _clmle(
        random_state, cluster_sampling="uniform", **net
    ),
    "no cost-sensitive learning": lambda random_state, **net: _clmle(
        random_state, cost_sensitive=False, **net
    ),
    "instance-wise kNN": lambda random_state, **net: CLMLEEmbeddingKNN(
        _clmle(random_state, **net), n_neighbors=KNN_NEIGHBORS
    ),
}


def make_row(row, random_state, **net):
    """A fresh estimator for the row ``row`` of :data:`ROWS`, scaler in front."""
    return make_pipeline(StandardScaler(), ROWS[row](random_state, **net))


#: (data set, gamma) of the experiments.
SETTINGS = (("fashion_mnist", 1.0), ("fashion_mnist", 0.5))
_TITLES = {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST"}


def clmle_ablation_experiments():
    """One holdout experiment per (data set, γ) of :data:`SETTINGS`, every row."""
    return [
        HoldoutExperiment(
            name=f"{name}_gamma{gamma:g}",
            title=f"{_TITLES[name]}, power law γ = {gamma:g}",
            load=PowerLawFeatures(name, gamma),
            rows=tuple(ROWS),
            settings={
                "data": name,
                "features": "efficientnet-lite0@64",
                "power_law_gamma": gamma,
            },
            suite="clmle_ablation",
            make_row=make_row,
        )
        for name, gamma in SETTINGS
    ]


#: Huang et al., Table 7 (and Sec. 5.4 for the instance-wise kNN, whose LFW
#: number is not given): our row -> (paper's row, LFW verification accuracy,
#: CelebA average balanced accuracy), in %.
HUANG2019_TABLE7 = {
    "CLMLE": ("CLMLE", 99.62, 88.78),
    "uniform cluster sampling": ("uniform cluster sampling", 99.52, 88.23),
    "no cost-sensitive learning": ("no cost-sensitive learning", 99.57, 87.46),
    "instance-wise kNN": ("instance-wise kNN (Sec. 5.4 text)", None, 88.59),
}
PAPER_LABEL = (
    "Huang et al. 2019, Table 7: LFW face verification and CelebA attributes, "
    "their CNNs"
)


def report_clmle_ablation(records, experiments, out, n_seeds):
    """The suite's section of ``summary.md`` (Table 7 layout) and its figure.

    Rows: the variants; columns: our balanced accuracy on each experiment
    (mean ± std over seeds, then the paired difference to the full CLMLE),
    the fit time, and the paper's two columns in italics.
    """
    names = [e.name for e in experiments]
    titles = {e.name: e.title for e in experiments}
    rows = list(dict.fromkeys(r for e in experiments for r in e.rows))
    seeds = sorted({n_seeds[n] for n in names})
    metric = "balanced_accuracy"

    def body(value):
        out_rows = []
        for row in rows:
            cells = [row]
            for name in names:
                text = cell(
                    run_values(records, row, value, name), n_failed(records, row, name)
                )
                if row != "CLMLE":
                    delta = delta_cell(
                        paired_deltas(records, row, "CLMLE", value, name)
                    )
                    text += f" ({delta})" if delta else ""
                cells.append(text)
            out_rows.append(cells)
        return out_rows

    main = body(metric)
    for cells, row in zip(main, rows, strict=True):
        cells.append(fit_seconds_cell(records, row))
        _, lfw, celeba = HUANG2019_TABLE7.get(row, (None, None, None))
        cells += [paper_cell(lfw, 2), paper_cell(celeba, 2)]
    header = [
        "Method",
        *(f"{titles[n]}: balanced accuracy" for n in names),
        "fit s",
        "*paper: LFW verification acc.*",
        "*paper: CelebA balanced acc.*",
    ]
    tail_header = ["Method", *(f"{titles[n]}: recall of the 5 rarest" for n in names)]
    text = (
        "## Huang et al. Table 7 ablation: CLMLE without each of its components\n\n"
        + "Data: "
        + "; ".join(titles[n] for n in names)
        + " (EfficientNet-Lite0 features, training classes cut to power-law sizes, "
        "official test set untouched); "
        + f"{'/'.join(map(str, seeds))} seed(s). Each cell: mean ± std over seeds in "
        "%, then (Δ) the mean ± std over seeds of the difference to the full CLMLE "
        "on the same training set, in points. The instance-wise kNN row fits the "
        f"same CLMLE and votes over the {KNN_NEIGHBORS} nearest training points of "
        "its embedding. Columns in italics are the paper's own numbers on its data "
        f"({PAPER_LABEL}), not ours: only the direction of each effect compares.\n\n"
        + markdown_table(header, main)
        + "\n\n"
        + markdown_table(tail_header, body(tail_recall))
    )
    means = np.array(
        [[mean_std(run_values(records, r, metric, n))[0] for r in rows] for n in names]
    )
    stds = np.array(
        [[mean_std(run_values(records, r, metric, n))[1] for r in rows] for n in names]
    )
    path = grouped_bars(
        [titles[n] for n in names],
        rows,
        100 * means,
        100 * stds,
        Path(out) / "clmle_ablation.png",
        "CLMLE ablation (as Huang et al. Table 7): balanced accuracy, mean ± std",
        "balanced accuracy (%)",
    )
    return text, [path] if path else []


PROFILES = {
    "clmle_ablation": Profile(
        name="clmle_ablation",
        description=(
            "Huang et al.'s Table 7 ablation of CLMLE (uniform cluster sampling, no "
            "cost-sensitivity, instance-wise kNN) on EfficientNet-Lite0 features of "
            "Fashion-MNIST with power-law class sizes (γ = 1 and 0.5)"
        ),
        experiments=clmle_ablation_experiments,
        seeds=10,
        jobs=2,
        net=dict(
            hidden_layer_sizes=(512, 512),
            dropout=0.5,
            max_epochs=30,
            batch_size=128,
            lr=1e-3,
        ),
        reporters={"clmle_ablation": report_clmle_ablation},
        sizing_records=("docs/results/clmle_ablation/runs.jsonl",),
    )
}
