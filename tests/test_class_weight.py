"""Class-weight schemes and the deferred re-weighting callback."""

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

from skimbalance.class_weight import (
    balanced_class_weights,
    deferred_weights,
    effective_number_class_weights,
)
from skimbalance.training.deferred_reweighting import DeferredReweighting


def test_balanced_is_sklearns():
    y = np.array([0] * 7 + [1] * 2 + [2])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(balanced_class_weights([np.bincount(y)])[0], expected)
    assert balanced_class_weights([[4, 0]]).tolist() == [[0.5, 1.0]]


def test_effective_number_against_loop():
    counts = [[1000, 100, 10, 1], [3, 0, 5, 2]]  # a class of one; an absent class
    beta = 0.99
    got = effective_number_class_weights(counts, beta)
    for t, row in enumerate(counts):
        raw = [(1 - beta) / (1 - beta**n) if n > 0 else 0.0 for n in row]
        scale = sum(row) / sum(n * r for n, r in zip(row, raw, strict=True))
        expected = [r * scale if n > 0 else 1.0 for n, r in zip(row, raw, strict=True)]
        np.testing.assert_allclose(got[t], expected, rtol=1e-12)
    # Normalised as "balanced": the weights average 1 over the training samples.
    present = np.asarray(counts)
    np.testing.assert_allclose((present * got).sum(1), present.sum(1))


def test_effective_number_limits_are_uniform_and_balanced():
    counts = [[500, 40, 3]]
    np.testing.assert_array_equal(effective_number_class_weights(counts, 0.0), 1.0)
    np.testing.assert_allclose(
        effective_number_class_weights(counts, 1 - 1e-10),
        balanced_class_weights(counts),
        rtol=1e-6,
    )
    weights = effective_number_class_weights(counts, 0.999)[0]
    assert weights[0] < weights[1] < weights[2]
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\)"):
        effective_number_class_weights(counts, 1.0)


def test_deferred_weights_recombine_to_the_normalised_weights():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=(40, 2))
    sw = rng.uniform(0.1, 3.0, size=40)
    cw = np.array([[1.0, 2.0, 5.0], [0.5, 1.0, 4.0]])
    full = sw[:, None] * np.take_along_axis(cw.T, y, axis=0)
    full = full / full.mean()
    early, table = deferred_weights(sw, y, cw)
    np.testing.assert_allclose(
        early, np.repeat((sw / sw.mean())[:, None], 2, 1), rtol=1e-6
    )
    recombined = early * table[np.arange(2)[None, :], y]
    np.testing.assert_allclose(recombined, full, rtol=1e-6)


class _Net:
    def __init__(self, n_epochs):
        self.history = _History(n_epochs)


class _History(list):
    def __init__(self, n_epochs):
        super().__init__([{}] * n_epochs)
        self.records = []

    def record(self, key, value):
        self.records.append((key, value))


def test_callback_switches_weights_on_after_start_epoch_and_always_in_validation():
    drw = DeferredReweighting([[1.0, 3.0], [2.0, 0.5]], start_epoch=2).initialize()
    y = torch.tensor([[0, 1], [1, 0], [1, 1]])
    seen = {}
    for epoch in (1, 2, 3):
        for training in (True, False):
            X = {"sample_weight": torch.full((3, 2), 2.0)}
            drw.on_batch_begin(_Net(epoch), batch=(X, y), training=training)
            seen[epoch, training] = X["sample_weight"].tolist()
    weighted = [[2.0, 1.0], [6.0, 4.0], [6.0, 1.0]]
    assert seen[1, True] == seen[2, True] == [[2.0, 2.0]] * 3
    assert seen[3, True] == weighted
    assert seen[1, False] == seen[2, False] == seen[3, False] == weighted
    net = _Net(3)
    drw.on_epoch_begin(net)
    assert net.history.records == [("class_weights_on", True)]
