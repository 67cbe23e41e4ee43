"""CLMLE's open choices (issue 19, findings 6-8), paired against plain CE.

``python -m benchmarks clmle_open_choices`` (output
``benchmarks/results/clmle_open_choices``; 3 seeds, about 10 CPU-minutes on
one thread).

Data (:class:`PowerLawPixels`): Fashion-MNIST pixels (784-d, in [0, 1]), a
class-balanced pool of ``POOL_PER_CLASS`` training images per class cut to
power-law class sizes at γ = 1 (:func:`benchmarks.huang2019.table8.power_law_indices`:
2,000 down to 200 per class, so CLMLE's ``cluster_size=200`` gives 10
clusters down to 1), the first ``N_TEST`` official test images; which class
gets which size, and the pool, follow the seed.

Rows (:data:`VARIANTS`): plain cross-entropy; CLMLE with its defaults
(deferred-acceptance assignment, normalised centroids, renormalised cost
weights); each of the three alternatives alone. Same small network for all
(one hidden layer of 256, 15 epochs: 3 of warm-up, 3 clustering rounds), on
the pixels as they are (no scaler).

The report (:func:`report`): per row, balanced accuracy (%) mean ± sd over the
seeds and each seed, and the paired difference to plain CE and to the CLMLE
default; and the Eq. 6 objective gap of the deferred-acceptance assignment
against the exact (auction) one on the final embedding of each CLMLE fit
(:func:`assignment_gap`, a measure of every CLMLE row; the study reads it on
the default's).
"""

from dataclasses import dataclass

import numpy as np
import torch

from skimbalance import CLMLEClassifier, CrossEntropyClassifier
from skimbalance.cluster.equal_size_spherical_kmeans import (
    balanced_assignment,
    equal_size_spherical_kmeans,
    equal_sizes,
)

from ..harness.ablation_report import Column, Line, paired_table
from ..harness.data import protocols
from ..harness.experiments import HoldoutExperiment
from ..harness.measures import final_step
from ..harness.profile import Profile
from .table8 import power_law_indices

POOL_PER_CLASS = 2000
N_TEST = 3000
GAMMA = 1.0
#: CLMLE's curriculum in these runs (beside the profile's network).
CLMLE = dict(warmup_epochs=3, n_cluster_rounds=3)
DEFAULT = "CLMLE (defaults)"

#: Row -> the CLMLE options it changes (None: plain cross-entropy).
VARIANTS = {
    "CE": None,
    DEFAULT: {},
    "CLMLE auction assignment": {"cluster_assignment": "auction"},
    "CLMLE literal cost weights": {"renormalize_cost_weights": False},
    "CLMLE unnormalised centroids": {"normalize_centroids": False},
}


def make_row(name, random_state, **net):
    """A row of :data:`VARIANTS` on the pixels as they are (no scaler)."""
    options = VARIANTS[name]
    if options is None:
        return CrossEntropyClassifier(random_state=random_state, **net)
    return CLMLEClassifier(random_state=random_state, **net, **CLMLE, **options)


@dataclass(frozen=True)
class PowerLawPixels:
    """``load(seed, device)``: a power-law training set and a test subset.

    ``pool_per_class`` training images of each class drawn from the seed,
    cut to power-law sizes at ``gamma``
    (:func:`~benchmarks.huang2019.table8.power_law_indices`), and the first
    ``n_test`` official test images, of ``name``'s pixels
    (:func:`benchmarks.harness.data.protocols.image_pixels`).
    """

    name: str = "fashion_mnist"
    pool_per_class: int = POOL_PER_CLASS
    n_test: int = N_TEST
    gamma: float = GAMMA

    def __call__(self, seed, device="cpu"):
        X, y, X_test, y_test = protocols.image_pixels(self.name)
        rng = np.random.default_rng(seed)
        pool = np.concatenate(
            [
                rng.choice(np.flatnonzero(y == c), self.pool_per_class, replace=False)
                for c in np.unique(y)  # a loop over classes
            ]
        )
        keep = pool[power_law_indices(y[pool], self.gamma, seed)]
        return X[keep], y[keep], X_test[: self.n_test], y_test[: self.n_test]


def assignment_gap(estimator, X_train, y_train, X_test, y_test):
    """``assignment_gap``: the relative Eq. 6 gap (fixed centroids) of the
    deferred-acceptance assignment against the auction, on a CLMLE fit.

    Per class of the final training embedding: spherical k-means centroids
    (``n // cluster_size`` clusters; classes with one are skipped), then both
    assignments with those centroids; the gap of their summed similarities.
    ``{}`` for a row that is not CLMLE, or without a class of two clusters.
    """
    clf = final_step(estimator)
    if not isinstance(clf, CLMLEClassifier):
        return {}
    emb = torch.as_tensor(clf.transform(X_train))
    labels = np.asarray(y_train)
    da_total, opt_total = 0.0, 0.0
    for c in np.unique(labels):  # a loop over classes
        xc = emb[labels == c]
        k = max(1, xc.shape[0] // clf.cluster_size)
        if k < 2:
            continue
        _, cent = equal_size_spherical_kmeans(xc, k, random_state=0)
        caps = equal_sizes(xc.shape[0], k)
        for method in ("deferred_acceptance", "auction"):
            a = balanced_assignment(xc, cent, caps, method=method)
            val = float((xc.double() * cent.double()[a]).sum())
            if method == "auction":
                opt_total += val
            else:
                da_total += val
    if not opt_total:
        return {}
    return {"assignment_gap": (opt_total - da_total) / opt_total}


def experiments(pool_per_class=POOL_PER_CLASS, n_test=N_TEST):
    """The one experiment: power-law Fashion-MNIST pixels, every row."""
    return [
        HoldoutExperiment(
            name="fashion_mnist_pixels",
            title=(
                f"Fashion-MNIST pixels, power law γ = {GAMMA:g} on a pool of "
                f"{pool_per_class:,} a class, the first {n_test:,} test images"
            ),
            load=PowerLawPixels(pool_per_class=pool_per_class, n_test=n_test),
            rows=tuple(VARIANTS),
            settings={
                "data": "fashion_mnist",
                "input": "pixels 28x28",
                "pool_per_class": pool_per_class,
                "power_law_gamma": GAMMA,
                "n_test": n_test,
            },
            suite="clmle_open_choices",
            make_row=make_row,
            measures=(assignment_gap,),
        )
    ]


COLUMNS = (
    Column("bal. acc. %", "balanced_accuracy", digits=2, each=True),
    Column("vs CE", "balanced_accuracy", digits=2, reference="CE"),
    Column("vs CLMLE defaults", "balanced_accuracy", digits=2, reference=DEFAULT),
    Column(
        "Eq. 6 gap of deferred acceptance (%)",
        "assignment_gap",
        digits=3,
        each=True,
    ),
)


def report(records, experiments, out, n_seeds):
    """The suite's section: every row against CE and the CLMLE default."""
    (exp,) = experiments
    lines = [Line(row, row) for row in exp.rows]
    return (
        f"## CLMLE's open choices (issue 19)\n\n{exp.title}; "
        f"{n_seeds[exp.name]} seed(s). Balanced accuracy mean ± sd over the seeds "
        "(the sample sd) [each seed]; vs: the paired difference to that row on "
        "the same training set, in points; the Eq. 6 gap: the relative shortfall "
        "of the deferred-acceptance assignment's objective against the exact "
        "(auction) one, fixed centroids, on the fit's final training embedding.\n\n"
        + paired_table(records, lines, COLUMNS)
    ), []


PROFILES = {
    "clmle_open_choices": Profile(
        name="clmle_open_choices",
        description=(
            "CLMLE's open choices (issue 19: the cluster assignment, the cost "
            "weights, the centroids' normalisation) against its defaults and "
            "plain CE, on Fashion-MNIST pixels with power-law class sizes "
            "(γ = 1)"
        ),
        experiments=experiments,
        seeds=3,
        net=dict(hidden_layer_sizes=(256,), max_epochs=15),
        reporters={"clmle_open_choices": report},
    )
}
