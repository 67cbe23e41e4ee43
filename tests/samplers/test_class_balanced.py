"""Class-balanced batch sampling (Kang et al., ICLR 2020) against its targets."""

import math
import pickle

import numpy as np
import pytest
import torch
from scipy import stats
from torch.utils.data import DataLoader, TensorDataset

from skimbalance.miners.minority import minority_classes
from skimbalance.samplers.class_balanced import (
    ClassBalancedBatchSampler,
    class_probabilities,
)

COUNTS = [400, 120, 40, 12, 3, 1]  # a long tail, down to a class of one sample


def long_tail_labels(counts=COUNTS, seed=0):
    labels = np.repeat(np.arange(len(counts)), counts)
    return torch.as_tensor(np.random.default_rng(seed).permutation(labels))


def test_probabilities_by_hand():
    n = torch.tensor(COUNTS, dtype=torch.float64)
    torch.testing.assert_close(class_probabilities(COUNTS, "instance"), n / n.sum())
    torch.testing.assert_close(
        class_probabilities(COUNTS, "class_balanced"),
        torch.full((6,), 1 / 6, dtype=torch.float64),
    )
    torch.testing.assert_close(
        class_probabilities(COUNTS, "square_root"), n.sqrt() / n.sqrt().sum()
    )
    for t in (0.0, 0.3, 1.0):
        torch.testing.assert_close(
            class_probabilities(COUNTS, "progressive", progress=t),
            (1 - t) * n / n.sum() + t / 6,
        )
    # t / T beyond the last epoch stays class-balanced.
    torch.testing.assert_close(
        class_probabilities(COUNTS, "progressive", progress=3.0),
        class_probabilities(COUNTS, "class_balanced"),
    )
    with pytest.raises(ValueError, match="positive"):
        class_probabilities([3, 0])
    with pytest.raises(ValueError, match="sampling must be one of"):
        class_probabilities([3, 1], "balanced")


@pytest.mark.parametrize("sampling", ["instance", "class_balanced", "square_root"])
def test_drawn_classes_follow_the_target_probabilities(sampling):
    y = long_tail_labels()
    sampler = ClassBalancedBatchSampler(y, 32, sampling=sampling, generator=0)
    drawn = torch.cat([y[sampler.sample_epoch().reshape(-1)] for _ in range(40)])
    observed = torch.bincount(drawn, minlength=6).double()
    expected = class_probabilities(COUNTS, sampling) * drawn.numel()
    # Pearson's chi-square: a generous level, the draws are far from random
    # per epoch (systematic counts), so the statistic is small.
    assert stats.chisquare(observed.numpy(), expected.numpy()).pvalue > 0.01
    # Every epoch's class counts are floor or ceil of N * p_j.
    per_epoch = torch.bincount(y[sampler.sample_epoch().reshape(-1)], minlength=6)
    target = class_probabilities(COUNTS, sampling) * len(sampler) * 32
    assert ((per_epoch - target).abs() < 1 + 1e-9).all()


def test_progressive_moves_from_instance_to_class_balanced():
    y = long_tail_labels()
    n_epochs = 4
    sampler = ClassBalancedBatchSampler(
        y, 48, sampling="progressive", n_epochs=n_epochs, generator=1
    )
    for t in range(n_epochs + 1):  # the iteration advances the epoch
        assert sampler.epoch == t
        target = class_probabilities(COUNTS, "progressive", progress=t / n_epochs)
        drawn = torch.cat([y[torch.tensor(b)] for b in sampler])
        frac = torch.bincount(drawn, minlength=6).double() / drawn.numel()
        assert (frac - target).abs().max() < 2 / drawn.numel() + 1e-9
    sampler.set_epoch(0)
    torch.testing.assert_close(
        sampler.class_probabilities(), class_probabilities(COUNTS, "instance")
    )
    with pytest.raises(ValueError, match="needs n_epochs"):
        ClassBalancedBatchSampler(y, 8, sampling="progressive")


def test_every_sample_of_a_class_drawn_enough_appears():
    y = long_tail_labels()
    sampler = ClassBalancedBatchSampler(y, 32, sampling="class_balanced", generator=2)
    for _ in range(5):
        idx = sampler.sample_epoch().reshape(-1)
        times = torch.bincount(idx, minlength=y.numel())
        for c, n_c in enumerate(COUNTS):
            of_class = times[y == c]
            if int(of_class.sum()) >= n_c:  # drawn at least n_c times
                assert (of_class >= 1).all(), c
            # Without replacement within a class: counts differ by at most 1.
            assert int(of_class.max() - of_class.min()) <= 1, c


def test_batch_count_sizes_and_a_plain_dataloader():
    y = long_tail_labels()
    X = torch.randn(y.numel(), 3)
    sampler = ClassBalancedBatchSampler(y, 50, generator=0)
    assert len(sampler) == math.ceil(y.numel() / 50)
    loader = DataLoader(TensorDataset(X, y), batch_sampler=sampler)
    batches = list(loader)
    assert len(batches) == len(loader) == len(sampler)
    assert all(xb.shape == (50, 3) and yb.shape == (50,) for xb, yb in batches)
    assert len(ClassBalancedBatchSampler(y, 50, n_batches=7)) == 7


def test_the_same_seed_gives_the_same_batches_and_spares_the_global_rng():
    y = long_tail_labels()
    state = torch.random.get_rng_state()
    a = [list(ClassBalancedBatchSampler(y, 16, generator=5)) for _ in range(2)]
    g = torch.Generator().manual_seed(5)
    b = list(ClassBalancedBatchSampler(y, 16, generator=g))
    assert a[0] == a[1] == b
    assert torch.equal(torch.random.get_rng_state(), state)
    other = list(ClassBalancedBatchSampler(y, 16, generator=6))
    assert other != a[0]
    # A pickled sampler (a fitted net is pickled) goes on with the same draws.
    s = ClassBalancedBatchSampler(y, 16, generator=5)
    copy = pickle.loads(pickle.dumps(s))
    assert list(copy) == list(s) == a[0]
    # Two epochs of one sampler differ.
    s = ClassBalancedBatchSampler(y, 16, generator=5)
    assert list(s) != list(s)


SHARP = [2000, 60, 30, 20, 8, 3]  # rare classes mostly absent from a batch


@pytest.mark.parametrize("sampling", ["instance", "square_root", "class_balanced"])
@pytest.mark.parametrize("k, r", [(2, 1), (3, 2)])
def test_minimum_per_batch_and_the_crl_minority_rule(sampling, k, r):
    y = long_tail_labels(SHARP)
    sampler = ClassBalancedBatchSampler(
        y, 32, sampling=sampling, min_per_class=k, min_classes=r, generator=3
    )
    for _ in range(3):
        batches = sampler.sample_epoch()
        labels = y[batches]  # (n_batches, 32)
        for batch, lab in zip(batches, labels, strict=True):
            distinct = torch.tensor(
                [batch[lab == c].unique().numel() for c in range(len(SHARP))]
            )
            assert int((distinct >= k).sum()) >= r  # k distinct samples, r classes
        if sampling != "class_balanced":  # (a balanced batch has no minority)
            minority = minority_classes(labels, len(SHARP), min_count=2)
            assert minority.any(dim=1).all()  # every batch can mine (CRL)


def test_without_the_minimum_batches_lack_a_minority_pair():
    # The guarantee is what makes the previous test pass.
    y = long_tail_labels(SHARP)
    sampler = ClassBalancedBatchSampler(y, 32, sampling="instance", generator=3)
    batches = torch.cat([sampler.sample_epoch() for _ in range(3)])
    minority = minority_classes(y[batches], len(SHARP), min_count=2)
    assert minority.any(dim=1).float().mean() < 0.5


def test_degenerate_labels():
    # One class: every strategy is the plain epoch.
    one = torch.zeros(10, dtype=torch.long)
    s = ClassBalancedBatchSampler(one, 4, generator=0)
    idx = s.sample_epoch().reshape(-1)
    assert idx.numel() == 12 and set(idx.tolist()) == set(range(10))
    # Non-contiguous, string-free labels are encoded.
    s = ClassBalancedBatchSampler(torch.tensor([7, 7, 7, 3]), 4, generator=0)
    assert s.classes_.tolist() == [3, 7] and s.class_counts_.tolist() == [1, 3]
    drawn = torch.tensor([7, 7, 7, 3])[s.sample_epoch().reshape(-1)]
    assert sorted(drawn.tolist()) == [3, 3, 7, 7]
    with pytest.raises(ValueError, match="multi-label"):
        ClassBalancedBatchSampler(torch.eye(3, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="empty"):
        ClassBalancedBatchSampler(torch.tensor([], dtype=torch.long), 2)
    with pytest.raises(ValueError, match="only 1 classes"):
        ClassBalancedBatchSampler(
            torch.tensor([0, 0, 1]), 4, min_per_class=2, min_classes=2
        )
    with pytest.raises(ValueError, match="do not fit"):
        ClassBalancedBatchSampler(
            torch.tensor([0, 0, 1, 1]), 3, min_per_class=2, min_classes=2
        )
    with pytest.raises(TypeError, match="generator"):
        ClassBalancedBatchSampler(one, 2, generator="seed")
    with pytest.raises(ValueError, match="batch_size"):
        ClassBalancedBatchSampler(one, 0)
