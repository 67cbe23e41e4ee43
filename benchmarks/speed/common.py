"""What the speed benchmarks share: the imbalanced problem they time and the timer."""

import time

import numpy as np
from sklearn.datasets import make_classification


def imbalanced_data(
    n_samples, n_features, n_classes, *, n_clusters_per_class=1, seed=0
):
    """A synthetic problem with half of the classes kept at 10 % (Khan et al.'s protocol)."""
    weights = np.where(np.arange(n_classes) < n_classes // 2, 1.0, 0.1)
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_features // 2,
        n_classes=n_classes,
        n_clusters_per_class=n_clusters_per_class,
        weights=weights / weights.sum(),
        random_state=seed,
    )
    return X.astype(np.float32), y


def time_fit(estimator, X, y):
    """Wall-clock seconds of ``estimator.fit(X, y)``."""
    tic = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - tic
