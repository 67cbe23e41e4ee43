"""CrossEntropyClassifier's long-tail options, and the CE term of CRL."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification
from skorch.callbacks import Callback

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from skimbalance.class_weight import (
    EffectiveNumberWeights,
    effective_number_class_weights,
)
from skimbalance.losses.cross_entropy import WeightedCrossEntropy
from skimbalance.losses.focal import FocalLoss
from skimbalance.losses.ldam import CosineTaskHead, LDAMLoss
from skimbalance.losses.logit_adjusted import LogitAdjustedLoss
from skimbalance.modules import TaskLinear

REFERENCE = Path(__file__).parent / "data" / "default_loss_reference.json"
FAST = dict(
    hidden_layer_sizes=(16,),
    embedding_dim=8,
    max_epochs=5,
    lr=1e-2,
    batch_size=32,
    random_state=0,
    n_threads=1,
)


@pytest.fixture(scope="module")
def data():
    """The problem tests/classifiers/data/default_loss_reference.json was made on."""
    return make_classification(
        n_samples=200,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.75, 0.2, 0.05],
        class_sep=1.0,
        random_state=3,
    )


@pytest.mark.parametrize(
    "name, cls, extra",
    [
        ("CrossEntropyClassifier", CrossEntropyClassifier, {}),
        (
            "CrossEntropyClassifier_balanced",
            CrossEntropyClassifier,
            {"class_weight": "balanced"},
        ),
        # Its training defaults are those of 365de80; its prediction now
        # corrects the prior by default (issue 13), which the reference predates.
        ("CRLClassifier", CRLClassifier, {"prior_correction": 0.0}),
    ],
)
def test_defaults_predict_as_before_the_long_tail_options(data, name, cls, extra):
    # The reference was computed with the code of commit 365de80 (before).
    X, y = data
    expected = json.loads(REFERENCE.read_text())[name]
    clf = cls(**FAST, **extra).fit(X, y)
    assert clf.predict(X[:20]).tolist() == expected["predict"]
    np.testing.assert_allclose(
        clf.predict_proba(X[:20]), expected["predict_proba"], atol=2e-6
    )


def test_default_builds_todays_criterion_and_head(data):
    X, y = data
    clf = CrossEntropyClassifier(**FAST).fit(X, y)
    assert type(clf.net_.criterion_) is WeightedCrossEntropy
    assert type(clf.net_.module_.head) is TaskLinear
    assert CRLClassifier(**FAST).fit(X, y).net_.criterion_.ce is None


@pytest.mark.parametrize(
    "options",
    [
        {"loss": FocalLoss(gamma=0.0)},
        {"loss": LogitAdjustedLoss(tau=0.0)},
        {"class_weight": EffectiveNumberWeights(beta=0.0)},
        {"class_weight": "balanced", "class_weight_start_epoch": 5},
    ],
    ids=["focal-gamma0", "la-tau0", "effective-beta0", "drw-never"],
)
def test_neutral_settings_reproduce_the_plain_cross_entropy(data, options):
    X, y = data
    plain = CrossEntropyClassifier(**FAST).fit(X, y).predict_proba(X)
    with (
        pytest.warns(UserWarning, match="never apply")
        if "class_weight_start_epoch" in options
        else _nothing()
    ):
        clf = CrossEntropyClassifier(**FAST, **options).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), plain)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _cells(counts_by_class):
    """One-hot cells; ``counts_by_class[label][cell]`` samples of each."""
    X, y = [], []
    for label, counts in enumerate(counts_by_class):
        for cell, count in enumerate(counts):
            X += [np.eye(len(counts))[cell]] * count
            y += [label] * count
    return np.array(X), np.array(y)


def test_logit_adjusted_predicts_the_balanced_error_rule_with_raw_logits():
    # In cells 1 and 2 p(y | x) favours class 0 but p(x | y) favours class 1
    # (see tests/losses/test_logit_adjusted.py): the cross-entropy predicts
    # class 0 everywhere, the logit-adjusted loss (tau=1) the balanced rule.
    X, y = _cells([[60, 30, 10], [1, 4, 5]])
    net = dict(
        hidden_layer_sizes=(),
        dropout=0.0,
        embedding_dim=4,
        max_epochs=300,
        lr=0.05,
        batch_size=110,
        random_state=0,
        n_threads=1,
    )
    cells = np.eye(3)
    plain = CrossEntropyClassifier(**net).fit(X, y)
    adjusted = CrossEntropyClassifier(loss="logit_adjusted", **net).fit(X, y)
    assert plain.predict(cells).tolist() == [0, 0, 0]
    assert adjusted.predict(cells).tolist() == [0, 1, 1]
    # Prediction reads the raw logits: their gap is log p(x | 1) / p(x | 0).
    expected = [
        math.log((c1 / 10) / (c0 / 100)) for c0, c1 in [(60, 1), (30, 4), (10, 5)]
    ]
    np.testing.assert_allclose(adjusted.decision_function(cells), expected, atol=0.05)
    crit = adjusted.net_.criterion_
    assert isinstance(crit, LogitAdjustedLoss)
    np.testing.assert_allclose(
        crit.log_prior.exp().numpy(), [[100 / 110, 10 / 110]], rtol=1e-6
    )


def test_ldam_uses_a_cosine_head_and_the_training_margins(data):
    X, y = data
    clf = CrossEntropyClassifier(loss=LDAMLoss(max_margin=0.4, scale=10.0), **FAST).fit(
        X, y
    )
    assert isinstance(clf.net_.module_.head, CosineTaskHead)
    assert isinstance(clf.net_.criterion_, LDAMLoss)
    counts = clf.class_counts_
    np.testing.assert_allclose(
        clf.net_.criterion_.margins.numpy()[0],
        0.4 * (counts.min() / counts) ** 0.25,
        rtol=1e-6,
    )
    scores = clf.decision_function(X)
    assert np.abs(scores).max() <= 10.0 + 1e-4
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1.0)
    assert isinstance(
        CrossEntropyClassifier(loss="focal", **FAST).fit(X, y).net_.criterion_,
        FocalLoss,
    )


def test_long_tail_options_raise_minority_recall(data):
    X, y = data
    net = dict(FAST, max_epochs=30)
    recall = {}
    for name, options in {
        "ce": {},
        "la": {"loss": "logit_adjusted"},
        "ldam-drw": {
            "loss": "ldam",
            "class_weight": "effective_number",
            "class_weight_start_epoch": 20,
        },
    }.items():
        pred = CrossEntropyClassifier(**net, **options).fit(X, y).predict(X)
        recall[name] = np.mean(pred[y == 2] == 2)
    assert recall["la"] > recall["ce"] and recall["ldam-drw"] > recall["ce"]


class _RecordWeights(Callback):
    def initialize(self):
        self.rows = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            X, y = batch
            w = X["sample_weight"][:, 0].numpy()
            self.rows.append(
                (
                    len(net.history),
                    {
                        int(c): float(w[y[:, 0].numpy() == c][0])
                        for c in np.unique(y[:, 0].numpy())
                    },
                )
            )


def test_deferred_reweighting_switches_the_batch_weights_on(data):
    X, y = data
    record = _RecordWeights()
    clf = CrossEntropyClassifier(
        **FAST,
        class_weight=EffectiveNumberWeights(beta=0.99),
        class_weight_start_epoch=3,
        callbacks=[record],
    ).fit(X, y)
    assert clf.net_.history[:, "class_weights_on"] == [False, False, False, True, True]
    rows = dict(clf.net_.callbacks_)["_RecordWeights"].rows
    before = {c for epoch, w in rows if epoch <= 3 for c in w.values()}
    assert before == {1.0}
    after = {}
    for epoch, w in rows:
        if epoch > 3:
            after.update(w)
    # From epoch 4 on: the normalised effective-number weights of the classes.
    raw = effective_number_class_weights([np.bincount(y)], 0.99)[0]
    expected = raw / np.mean(raw[y])
    np.testing.assert_allclose([after[c] for c in range(3)], expected, rtol=1e-5)


def test_deferred_reweighting_without_class_weights_defers_nothing(data):
    # With class_weight=None there is nothing to defer: the start epoch is
    # ignored on every estimator (the uncertainty margin's default sets one).
    X, y = data
    plain = CrossEntropyClassifier(**FAST).fit(X, y)
    deferred = CrossEntropyClassifier(**FAST, class_weight_start_epoch=2).fit(X, y)
    np.testing.assert_array_equal(deferred.predict_proba(X), plain.predict_proba(X))
    assert "class_weights_on" not in deferred.net_.history[-1]


def test_deferred_reweighting_works_for_every_method(data):
    X, y = data
    for cls, extra in [
        (CRLClassifier, {"loss": "logit_adjusted"}),
        (CLMLEClassifier, {"warmup_epochs": 2, "n_cluster_rounds": 1}),
        (
            UncertaintyMarginClassifier,
            {"warmup_epochs": 1, "sample_level_epochs": 1, "n_mc_samples": 2},
        ),
    ]:
        clf = cls(
            **FAST, **extra, class_weight="effective_number", class_weight_start_epoch=2
        ).fit(X, y)
        assert clf.net_.history[:, "class_weights_on"] == [
            False,
            False,
            True,
            True,
            True,
        ]


@pytest.mark.parametrize("loss", ["focal", "logit_adjusted", "ldam"])
def test_crl_cross_entropy_term_takes_the_long_tail_losses(data, loss):
    X, y = data
    clf = CRLClassifier(**FAST, loss=loss).fit(X, y)
    expected = {
        "focal": FocalLoss,
        "logit_adjusted": LogitAdjustedLoss,
        "ldam": LDAMLoss,
    }[loss]
    assert isinstance(clf.net_.criterion_.ce, expected)
    assert isinstance(clf.net_.module_.head, CosineTaskHead) == (loss == "ldam")
    ce = clf.net_.history[:, "ce_loss"]
    assert all(np.isfinite(ce)) and ce[-1] < ce[0]


@pytest.mark.parametrize("loss", ["focal", "logit_adjusted", "ldam"])
def test_multilabel_with_a_label_never_positive(loss):
    X, Y = make_multilabel_classification(n_samples=80, n_classes=3, random_state=0)
    Y[:, 2] = 0  # its positive class is absent from the training set
    clf = CrossEntropyClassifier(
        **FAST, loss=loss, class_weight="effective_number"
    ).fit(X, Y)
    assert np.isfinite(clf.net_.history[:, "train_loss"]).all()
    assert clf.predict(X).shape == Y.shape
    assert clf.predict(X)[:, 2].mean() < 0.5


@pytest.mark.parametrize(
    "param, value",
    [
        ("loss", "hinge"),
        ("class_weight_start_epoch", -1),
        ("class_weight", "inverse"),
    ],
)
def test_bad_option_values_are_named(param, value):
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        CrossEntropyClassifier(**{param: value}).fit(np.zeros((4, 2)), [0, 1, 0, 1])
