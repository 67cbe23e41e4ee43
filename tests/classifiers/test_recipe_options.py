"""The long-tail recipes as estimator options: ``loss="vs"``, ``optimizer="sam"``,
``max_norm`` and ``sampling``."""

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skimbalance import (
    CRLClassifier,
    CrossEntropyClassifier,
    load_model,
    save_model,
)
from skimbalance.losses import VSLoss
from skimbalance.training.ce_term import CE_LOSSES, rebalances

FAST = dict(
    hidden_layer_sizes=(16,),
    embedding_dim=8,
    max_epochs=3,
    lr=1e-2,
    batch_size=32,
    random_state=0,
    n_threads=1,
)


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=200,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.75, 0.2, 0.05],
        class_sep=1.0,
        random_state=3,
    )


# ------------------------------------------------------------------ VS loss
def test_vs_is_a_loss_string_and_rebalances():
    assert CE_LOSSES["vs"] is VSLoss and rebalances("vs") and rebalances(VSLoss())


def test_vs_loss_by_hand():
    # counts (16, 1), gamma 0.5: Delta = (1, 1/4); tau 1: iota = log(16/17, 1/17).
    crit = VSLoss(gamma=0.5, tau=1.0).with_class_counts([[16, 1]])
    logits = torch.tensor([[[2.0, 4.0]]])
    z = np.array([2.0 * 1.0 + math.log(16 / 17), 4.0 * 0.25 + math.log(1 / 17)])
    expected = -(z[1] - np.log(np.exp(z).sum()))
    got = float(crit((logits,), torch.tensor([[1]]), {}))
    assert got == pytest.approx(expected, rel=1e-6)


def test_vs_unbound_and_bad_parameters_are_refused_clearly():
    with pytest.raises(ValueError, match="no class counts"):
        VSLoss()((torch.zeros(1, 1, 2),), torch.tensor([[0]]), {})
    with pytest.raises(ValueError, match=r"VSLoss\(gamma=-1.0\): gamma must be"):
        VSLoss(gamma=-1.0).with_class_counts([[3, 1]])


@pytest.mark.parametrize("cls", [CrossEntropyClassifier, CRLClassifier])
def test_vs_loss_trains_the_estimators_with_the_training_counts(data, cls):
    X, y = data
    user_loss = VSLoss(gamma=0.3, tau=0.5)
    clf = cls(**FAST, loss=user_loss).fit(X, y)
    crit = clf.net_.criterion_
    crit = getattr(crit, "ce", crit)
    assert isinstance(crit, VSLoss) and crit is not user_loss
    counts = np.bincount(y).astype(float)
    torch.testing.assert_close(
        crit.scale,
        torch.tensor(((counts / counts.max()) ** 0.3)[None], dtype=torch.float32),
    )
    torch.testing.assert_close(
        crit.offset,
        torch.tensor((0.5 * np.log(counts / counts.sum()))[None], dtype=torch.float32),
    )
    assert user_loss.scale is None  # the user's object is not bound
    # A rebalancing loss: "auto" corrects nothing; a string equals its object.
    assert clf.set_params(prior_correction="auto")._prior_tau() == 0.0
    a = CrossEntropyClassifier(**FAST, loss="vs").fit(X, y)
    b = CrossEntropyClassifier(**FAST, loss=VSLoss()).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = CrossEntropyClassifier(**FAST).fit(X, y)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_vs_loss_parameters_in_a_search_and_in_a_model_file(data, tmp_path):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, loss=VSLoss())
    assert clf.get_params()["loss__gamma"] == 0.2
    assert clone(clf.set_params(loss__gamma=0.4)).loss.gamma == 0.4
    search = GridSearchCV(clf, {"loss__gamma": [0.1, 0.3]}, cv=2).fit(X, y)
    assert search.best_estimator_.loss.gamma in (0.1, 0.3)
    fitted = CrossEntropyClassifier(**FAST, loss=VSLoss(gamma=0.3)).fit(X, y)
    path = save_model(fitted, tmp_path / "vs.safetensors")
    loaded = load_model(path)
    assert loaded.loss.gamma == 0.3
    torch.testing.assert_close(
        loaded.net_.criterion_.scale, fitted.net_.criterion_.scale
    )
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
