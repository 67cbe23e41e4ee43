"""``loss`` and ``class_weight`` as strings or objects: one story on every estimator."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from skimbalance.class_weight import EffectiveNumberWeights
from skimbalance.losses import FocalLoss, LDAMLoss, LogitAdjustedLoss
from skimbalance.training.ce_term import (
    CE_LOSSES,
    ce_criterion,
    rebalances,
    resolve_loss,
)

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
        n_samples=160,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.75, 0.2, 0.05],
        random_state=3,
    )


@pytest.mark.parametrize("name", sorted(CE_LOSSES))
def test_a_string_is_its_object_at_the_defaults(data, name):
    X, y = data
    by_name = CrossEntropyClassifier(**FAST, loss=name).fit(X, y)
    by_object = CrossEntropyClassifier(**FAST, loss=CE_LOSSES[name]()).fit(X, y)
    np.testing.assert_array_equal(by_name.predict_proba(X), by_object.predict_proba(X))


def test_effective_number_string_is_the_object_at_its_default_beta(data):
    X, y = data
    by_name = CrossEntropyClassifier(**FAST, class_weight="effective_number")
    by_object = CrossEntropyClassifier(**FAST, class_weight=EffectiveNumberWeights())
    np.testing.assert_array_equal(
        by_name.fit(X, y).predict_proba(X), by_object.fit(X, y).predict_proba(X)
    )
    other = CrossEntropyClassifier(**FAST, class_weight=EffectiveNumberWeights(0.9))
    assert not np.allclose(other.fit(X, y).predict_proba(X), by_name.predict_proba(X))


def test_the_objects_parameters_reach_the_criterion_and_the_head(data):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, loss=LDAMLoss(max_margin=0.3, scale=8.0))
    clf.fit(X, y)
    counts = clf.class_counts_
    np.testing.assert_allclose(
        clf.net_.criterion_.margins.numpy()[0],
        0.3 * (counts.min() / counts) ** 0.25,
        rtol=1e-6,
    )
    assert clf.net_.module_.head.scale == 8.0
    crl = CRLClassifier(**FAST, loss=FocalLoss(gamma=0.5)).fit(X, y)
    assert crl.net_.criterion_.ce.gamma == 0.5


def test_the_users_object_is_never_modified(data):
    X, y = data
    loss = LDAMLoss(max_margin=0.3)
    CrossEntropyClassifier(**FAST, loss=loss).fit(X, y)
    assert loss.margins is None  # the fit bound a copy
    assert loss.get_params() == {"max_margin": 0.3, "scale": 30.0}


def test_clone_get_params_and_a_grid_search_over_the_objects_parameters(data):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, loss=FocalLoss(gamma=1.0))
    params = clf.get_params(deep=True)
    assert params["loss__gamma"] == 1.0
    copy = clone(clf)
    assert copy.loss is not clf.loss and copy.loss.gamma == 1.0
    search = GridSearchCV(clf, {"loss__gamma": [0.0, 2.0]}, cv=2).fit(X, y)
    assert search.best_params_["loss__gamma"] in (0.0, 2.0)
    assert clf.loss.gamma == 1.0  # the search cloned it
    weighted = CrossEntropyClassifier(**FAST, class_weight=EffectiveNumberWeights())
    assert weighted.get_params()["class_weight__beta"] == 0.999


def test_repr_and_set_params():
    assert repr(FocalLoss()) == "FocalLoss()"
    assert repr(LDAMLoss(max_margin=0.3)) == "LDAMLoss(max_margin=0.3)"
    assert repr(EffectiveNumberWeights(beta=0.9)) == "EffectiveNumberWeights(beta=0.9)"
    with pytest.raises(ValueError, match="Invalid parameter 'tau' for FocalLoss"):
        FocalLoss().set_params(tau=1.0)


@pytest.mark.parametrize(
    "option, message",
    [
        (dict(loss=FocalLoss(gamma=-1.0)), r"FocalLoss\(gamma=-1.0\): gamma must be"),
        (dict(loss=LogitAdjustedLoss(tau=-0.5)), r"tau must be a finite number >= 0"),
        (dict(loss=LDAMLoss(scale=0.0)), r"scale must be a finite number > 0"),
        (dict(loss=LDAMLoss(max_margin="big")), r"max_margin must be a finite"),
        (dict(class_weight=EffectiveNumberWeights(1.0)), r"beta must be .* < 1"),
    ],
)
def test_bad_parameters_of_an_object_are_named(data, option, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        CrossEntropyClassifier(**FAST, **option).fit(X, y)


def test_a_loss_used_before_its_counts_says_how_to_bind_them():
    with pytest.raises(ValueError, match="has no class counts"):
        LDAMLoss()((torch.zeros(2, 1, 2),), torch.tensor([[0], [1]]), {})
    bound = ce_criterion(LDAMLoss(), np.array([[9, 1]]))
    assert torch.isfinite(bound((torch.zeros(2, 1, 2),), torch.tensor([[0], [1]]), {}))


def test_rebalancing_losses_turn_the_auto_prior_correction_off():
    assert rebalances("logit_adjusted") and rebalances(LDAMLoss())
    assert not rebalances("focal") and not rebalances(resolve_loss("cross_entropy"))
    for loss, expected in [
        ("cross_entropy", 1.0),
        (FocalLoss(), 1.0),
        (LogitAdjustedLoss(tau=0.5), 0.0),
        ("ldam", 0.0),
    ]:
        crl = CRLClassifier(**FAST, loss=loss)
        assert crl._prior_tau() == expected, loss
    assert CRLClassifier(**FAST, class_weight="balanced")._prior_tau() == 0.0


def test_every_estimator_takes_the_same_rebalancing_parameters():
    shared = {"class_weight", "class_weight_start_epoch", "prior_correction"}
    for cls in (
        CrossEntropyClassifier,
        CRLClassifier,
        CLMLEClassifier,
        UncertaintyMarginClassifier,
    ):
        params = cls().get_params()
        assert shared <= set(params), cls
        for old in (
            "effective_number_beta",
            "focal_gamma",
            "logit_adjustment_tau",
            "ldam_max_margin",
            "ldam_scale",
        ):
            assert old not in params, (cls, old)
        start = params["class_weight_start_epoch"]
        assert start is None or isinstance(start, int), cls  # no string
