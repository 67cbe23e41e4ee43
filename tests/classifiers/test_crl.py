"""Estimator-level tests of CRLClassifier (Class Rectification Loss)."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import InvalidParameterError

from skimbalance import CRLClassifier, CrossEntropyClassifier

FAST = dict(
    # The paper's prediction: these tests check the method itself (the default
    # also corrects the training prior; tests/test_prior_correction.py).
    prior_correction=0.0,
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


# ------------------------------------------------------------------------------
# Multi-label balance of CE and CRL (Eq. 2 + Eq. 8 + Eq. 9)
# ------------------------------------------------------------------------------


def _multilabel_batch(seed=0, n=40, n_tasks=4):
    import torch

    g = torch.Generator().manual_seed(seed)
    rates = torch.tensor([0.08, 0.2, 0.35, 0.1])[:n_tasks]
    y = (torch.rand(n, n_tasks, generator=g) < rates).long()
    y[:3] = 1  # every task has a minority class with a few samples
    logits = torch.randn(n, n_tasks, 2, generator=g, dtype=torch.float64)
    emb = torch.randn(n, n_tasks, 5, generator=g, dtype=torch.float64)
    return logits, emb, y


def _paper_terms(logits, emb, y, mining, crl_loss):
    """Eq. 2 (CE summed over tasks, averaged over the batch) and Eq. 9 (one mean
    over all triplets of all tasks), from each task's own triplet sum."""
    import torch

    from skimbalance.losses.crl import class_rectification_loss

    n, n_tasks = y.shape
    ce_sum = sum(
        -torch.log_softmax(logits[:, t], -1)[torch.arange(n), y[:, t]].mean()
        for t in range(n_tasks)
    )
    totals, counts = [], []
    for t in range(n_tasks):  # one task at a time: its mean times its triplets
        value, stats = class_rectification_loss(
            logits[:, t], emb[:, t], y[:, t], mining=mining, loss=crl_loss, k=3
        )
        totals.append(value * stats["n_triplets"])
        counts.append(stats["n_triplets"])
    return ce_sum, sum(totals) / sum(counts), totals, counts


@pytest.mark.parametrize("mining", ["instance", "class"])
def test_multilabel_loss_is_eq8_over_the_number_of_tasks(mining):
    """criterion * T == sum_j CE_j + w * (sum over all triplets) / |T|."""
    from skimbalance.training.crl import CRLCriterion

    logits, emb, y = _multilabel_batch()
    n_tasks = y.shape[1]
    ce_sum, crl_paper, totals, counts = _paper_terms(logits, emb, y, mining, "relative")
    assert len(set(float(c) for c in counts)) > 1  # tasks differ in triplets
    for w in (1.0, 0.5):
        crit = CRLCriterion(mining, "relative", 3, w, None, 51, True, True)
        loss, logs = crit((logits, emb), y, {})
        torch_close(loss * n_tasks, ce_sum + w * crl_paper)
        torch_close(logs["crl_loss"], crl_paper)
    # the mean of the per-task means against the mean CE (the old balance) differs
    per_task = [t / c for t, c in zip(totals, counts, strict=True)]
    old = ce_sum / n_tasks + sum(per_task) / n_tasks
    assert abs(float(loss) - float(old)) > 1e-3


def test_imbalance_weighting_alpha():
    import torch

    from skimbalance.training.crl import CRLCriterion, imbalance_measure

    # hand-worked: 90/10 -> 0.4, 50/50 -> 0, 99/1 -> 0.49
    np.testing.assert_allclose(
        imbalance_measure([[90, 10], [50, 50], [99, 1]]), [0.4, 0.0, 0.49]
    )
    logits, emb, y = _multilabel_batch(1, n_tasks=3)
    alpha = torch.tensor([0.4, 0.0, 0.9], dtype=torch.float64)
    crit = CRLCriterion(
        "instance", "relative", 3, 123.0, None, 51, True, True, alpha=alpha
    )
    loss, _ = crit((logits, emb), y, {})
    n = len(y)
    ce = [
        -torch.log_softmax(logits[:, t], -1)[torch.arange(n), y[:, t]].mean()
        for t in range(3)
    ]
    _, _, totals, counts = _paper_terms(logits, emb, y, "instance", "relative")
    expected = (
        sum((1 - alpha[t]) * ce[t] for t in range(3))
        + sum(alpha[t] * totals[t] for t in range(3)) / sum(counts)
    ) / 3
    torch_close(loss, expected)


def test_imbalance_weighting_fit(imbalanced):
    X, y = imbalanced
    clf = CRLClassifier(crl_weight="imbalance", crl_eta=1.5, random_state=0, **FAST)
    clf.fit(X, y)
    counts = np.array([np.sum(y == c) for c in clf.classes_], dtype=float)
    omega = 0.5 * np.abs(counts / counts.sum() - 1 / 3).sum()
    np.testing.assert_allclose(clf.crl_alpha_, [min(1.0, 1.5 * omega)], rtol=1e-6)
    assert max(clf.net_.history[:, "crl_loss"]) > 0
    assert not hasattr(CRLClassifier(**FAST).fit(X, y), "crl_alpha_")
    with pytest.raises(InvalidParameterError):
        CRLClassifier(crl_weight="auto", **FAST).fit(X, y)
    with pytest.raises(InvalidParameterError):
        CRLClassifier(crl_weight="imbalance", crl_eta=0.0, **FAST).fit(X, y)


def test_warnings_for_unreachable_margin_and_raw_distances(imbalanced):
    import warnings

    X, y = imbalanced
    fast = {**FAST, "max_epochs": 1}
    with pytest.warns(UserWarning, match="only adds a constant"):
        CRLClassifier(margin=2.5, **fast).fit(X, y)
    with pytest.warns(UserWarning, match="shrinking"):
        CRLClassifier(normalize=False, **fast).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        CRLClassifier(**fast).fit(X, y)
        CRLClassifier(margin=2.5, crl_loss="absolute", **fast).fit(X, y)


def torch_close(a, b):
    import torch

    torch.testing.assert_close(
        torch.as_tensor(a, dtype=torch.float64),
        torch.as_tensor(b, dtype=torch.float64),
        rtol=1e-7,
        atol=1e-9,
    )
