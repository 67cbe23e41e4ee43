"""Estimator-level tests of CRLClassifier (Class Rectification Loss)."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import InvalidParameterError

from skimbalance import CRLClassifier, CrossEntropyClassifier

FAST = dict(
    hidden_layer_sizes=(16,),
    embedding_dim=8,
    max_epochs=5,
    batch_size=32,
    lr=1e-2,
    n_threads=1,
)


@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_classification(
        n_samples=240,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.75, 0.15, 0.10],
        n_clusters_per_class=1,
        random_state=0,
    )
    labels = np.array(["common", "rare", "rarer"])[y]
    return X.astype(np.float32), labels


def test_multiclass_with_string_labels(imbalanced):
    X, y = imbalanced
    # batches of equal size: skorch's train_loss is then the mean of the batches'
    clf = CRLClassifier(random_state=0, **{**FAST, "batch_size": 48}).fit(X, y)
    assert list(clf.classes_) == ["common", "rare", "rarer"]
    assert set(clf.predict(X)) <= set(clf.classes_)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))
    assert clf.minority_frequency_.shape == (3,)
    history = clf.net_.history
    assert len(history) == 5
    for key in ("ce_loss", "crl_loss", "crl_minority_classes", "crl_triplets"):
        assert np.isfinite(history[:, key]).all()
    assert max(history[:, "crl_loss"]) > 0  # the term is active on this data
    assert max(history[:, "crl_triplets"]) > 0
    # loss = ce + w * crl with w = 1
    np.testing.assert_allclose(
        history[-1, "train_loss"],
        history[-1, "ce_loss"] + history[-1, "crl_loss"],
        rtol=1e-4,
    )


def test_minority_frequency_follows_batch_profiles(imbalanced):
    X, y = imbalanced
    clf = CRLClassifier(random_state=0, **FAST).fit(X, y)
    freq = dict(zip(clf.classes_, clf.minority_frequency_, strict=True))
    # The largest class of a batch is never one of its minority classes (Eq. 3).
    assert freq["common"] == 0.0
    assert freq["rare"] > 0.5 and freq["rarer"] > 0.3
    assert ((clf.minority_frequency_ >= 0) & (clf.minority_frequency_ <= 1)).all()


def test_multilabel_indicator():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 5)).astype(np.float32)
    Y = np.stack([X[:, 0] > 1.0, X[:, 1] > 0.8, X[:, 2] + X[:, 3] > 1.5], axis=1)
    Y = Y.astype(int)
    clf = CRLClassifier(mining="class", random_state=0, **FAST).fit(X, Y)
    assert clf.predict(X).shape == (160, 3)
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    assert clf.predict_proba(X).shape == (160, 3)
    assert clf.minority_frequency_.shape == (3, 2)
    # the positive value of each (rare) label is the batch minority
    assert (clf.minority_frequency_[:, 1] > clf.minority_frequency_[:, 0]).all()
    assert max(clf.net_.history[:, "crl_loss"]) > 0


@pytest.mark.parametrize("crl_loss", ["relative", "absolute", "distribution"])
@pytest.mark.parametrize("mining", ["instance", "class"])
def test_every_variant_trains(imbalanced, mining, crl_loss):
    X, y = imbalanced
    clf = CRLClassifier(mining=mining, crl_loss=crl_loss, k=3, random_state=0, **FAST)
    clf.fit(X, y)
    crl = np.asarray(clf.net_.history[:, "crl_loss"])
    assert np.isfinite(crl).all() and crl.max() > 0
    key = "crl_triplets" if crl_loss == "relative" else "crl_pairs"
    assert max(clf.net_.history[:, key]) > 0
    assert clf.score(X, y) > 0.75


def test_zero_weight_is_the_cross_entropy_baseline(imbalanced):
    X, y = imbalanced
    ce = CrossEntropyClassifier(random_state=3, **FAST).fit(X, y)
    crl0 = CRLClassifier(crl_weight=0.0, random_state=3, **FAST).fit(X, y)
    crl1 = CRLClassifier(random_state=3, **FAST).fit(X, y)
    np.testing.assert_allclose(crl0.predict_proba(X), ce.predict_proba(X), rtol=1e-5)
    assert not np.allclose(crl1.predict_proba(X), ce.predict_proba(X), rtol=1e-3)


def test_same_random_state_same_predictions(imbalanced):
    # Bit for bit on the CPU (CUDA's atomic adds make GPU fits agree closely only).
    X, y = imbalanced
    a = CRLClassifier(random_state=7, device="cpu", **FAST).fit(X, y).predict_proba(X)
    b = CRLClassifier(random_state=7, device="cpu", **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_early_stopping_and_class_weight(imbalanced):
    X, y = imbalanced
    clf = CRLClassifier(
        early_stopping=True, class_weight="balanced", random_state=0, **FAST
    ).fit(X, y)
    assert np.isfinite(clf.net_.history[:, "valid_loss"]).all()


def test_batch_without_minority_classes_trains():
    # Balanced classes and batches covering both: often no minority in a batch.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = np.tile([0, 1], 32)
    clf = CRLClassifier(random_state=0, **{**FAST, "batch_size": 64}).fit(X, y)
    assert np.isfinite(clf.net_.history[:, "train_loss"]).all()
    np.testing.assert_array_equal(clf.minority_frequency_, [0.0, 0.0])


def test_invalid_parameters(imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match="normalize=True"):
        CRLClassifier(crl_loss="distribution", normalize=False, **FAST).fit(X, y)
    with pytest.raises(InvalidParameterError):
        CRLClassifier(mining="global", **FAST).fit(X, y)
    with pytest.raises(InvalidParameterError):
        CRLClassifier(k=0, **FAST).fit(X, y)
