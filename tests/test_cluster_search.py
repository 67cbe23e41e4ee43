"""GridSearchCV over a real Dask cluster through joblib (issue 16, item 9).

The estimators pickle, so scikit-learn's searches can send their fits to the
workers of a cluster through joblib's ``dask`` backend. This starts a
:class:`dask.distributed.LocalCluster` with worker *processes* (so every
candidate is pickled to another interpreter and its result pickled back, as
on a real cluster) and checks that each estimator fits and scores there, with
the same result as the search run in this process.
"""

import logging

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)

distributed = pytest.importorskip("distributed")

SMALL = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=32, random_state=0)
ESTIMATORS = [
    CrossEntropyClassifier(**SMALL, n_threads=1),
    CRLClassifier(**SMALL, n_threads=1),
    CLMLEClassifier(**SMALL, n_threads=1, warmup_epochs=1, cluster_size=10),
    UncertaintyMarginClassifier(**SMALL, n_threads=1, warmup_epochs=1),
]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_grid_search_on_a_dask_cluster(client, estimator):
    X, y = make_classification(
        n_samples=150, n_features=6, weights=[0.8], random_state=0
    )
    grid = {"lr": [1e-3, 1e-2]}
    local = GridSearchCV(estimator, grid, cv=2, scoring="balanced_accuracy").fit(X, y)
    with (
        distributed.get_task_stream(client) as stream,
        joblib.parallel_backend("dask"),
    ):
        remote = GridSearchCV(
            estimator, grid, cv=2, scoring="balanced_accuracy", n_jobs=-1
        ).fit(X, y)
    # The 2 x 2 fits ran as tasks on the cluster's workers (other processes) ...
    workers = set(client.scheduler_info()["workers"])
    assert len(stream.data) >= 4
    assert {task["worker"] for task in stream.data} <= workers
    # ... and gave the results of the search run here.
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
