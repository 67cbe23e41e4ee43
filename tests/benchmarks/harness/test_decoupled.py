"""The decoupled test of a representation: a row's frozen embedding under a
class-balanced linear head."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification

from benchmarks.harness.decoupled import DecoupledHead
from benchmarks.harness.methods import DECOUPLED, decoupled_rows
from skimbalance import CRLClassifier, CrossEntropyClassifier
from skimbalance.heads.decoupling import retrain_linear_head

FAST = dict(hidden_layer_sizes=(16,), max_epochs=5, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=400,
        n_features=6,
        n_informative=4,
        n_classes=3,
        n_clusters_per_class=1,
        weights=[0.8, 0.15, 0.05],
        random_state=0,
    )
    return X, np.array(["a", "b", "c"])[y]


def test_the_network_is_the_rows_and_the_head_is_the_balanced_fit_of_its_embedding(
    data,
):
    X, y = data
    alone = CRLClassifier(**FAST).fit(X, y)
    decoupled = DecoupledHead(CRLClassifier(**FAST), epochs=3, random_state=1)
    decoupled.fit(X, y)
    for a, b in zip(
        alone.net_.module_.state_dict().values(),
        decoupled.estimator_.net_.module_.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    module = alone.net_.module_.eval()
    with torch.no_grad():
        emb = module(torch.as_tensor(X, dtype=torch.float32))[1][:, 0].double()
    codes = torch.as_tensor(np.searchsorted(alone.classes_, y))
    head = retrain_linear_head(
        emb,
        codes,
        3,
        epochs=3,
        batch_size=32,
        generator=torch.Generator().manual_seed(1),
    )
    with torch.no_grad():
        expected = head(emb).numpy()
    np.testing.assert_allclose(decoupled.decision_function(X), expected, atol=1e-6)
    assert (decoupled.predict(X) == alone.classes_[expected.argmax(1)]).all()
    proba = decoupled.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)


def test_it_clones_and_refuses_a_multi_label_target(data):
    X, _ = data
    est = DecoupledHead(CrossEntropyClassifier(**FAST), epochs=2)
    assert clone(est).get_params()["estimator__max_epochs"] == 5
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    with pytest.raises(ValueError, match="multi-class"):
        est.fit(X, Y)


def test_every_method_has_its_decoupled_row():
    rows = decoupled_rows()
    assert set(DECOUPLED) <= set(rows)
    for name in DECOUPLED:
        assert name.replace(" [cRT head]", "") in rows
        assert isinstance(DECOUPLED[name](0, max_epochs=1), DecoupledHead)
