"""Tests of batch-wise minority class profiling (CRL, Eq. 3)."""

import pytest
import torch

from skimbalance.miners.minority import batch_class_counts, minority_classes


def reference_minority(labels, n_classes, min_count=2):
    """Eq. 3 with plain loops: walk the sorted counts, one group of equal counts at a time."""
    counts = [sum(1 for v in labels if v == c) for c in range(n_classes)]
    half = len(labels) / 2
    distinct = sorted(set(counts))
    chosen, total = set(), 0
    for value in distinct:
        group = [c for c in range(n_classes) if counts[c] == value]
        total += value * len(group)
        if total >= half:
            break
        chosen.update(group)
    return [c in chosen and counts[c] >= min_count for c in range(n_classes)]


def test_hand_worked_example():
    # counts (8, 1, 3, 3, 5) in a batch of 20; sorted: 1, 3, 3, 5, 8, cumulative
    # 1, 7, 7, 12, 20; half the batch is 10 -> classes 1, 2, 3 are minority classes,
    # class 1 has one sample and does not take part.
    y = torch.tensor([0] * 8 + [1] + [2] * 3 + [3] * 3 + [4] * 5)
    assert batch_class_counts(y, 5).tolist() == [8, 1, 3, 3, 5]
    assert minority_classes(y, 5).tolist() == [False, False, True, True, False]
    assert minority_classes(y, 5, min_count=1).tolist() == [
        False,
        True,
        True,
        True,
        False,
    ]


def test_cut_is_strictly_below_half():
    # 5 + 5 in a batch of 10: 5 is not < 5, no minority class (balanced binary batch)
    y = torch.tensor([0] * 5 + [1] * 5)
    assert not minority_classes(y, 2).any()
    # 4 + 6: class 0 holds 4 < 5
    y = torch.tensor([0] * 4 + [1] * 6)
    assert minority_classes(y, 2).tolist() == [True, False]


def test_ties_enter_together_or_not_at_all():
    # (3, 3, 4) in 10: both classes of 3 together hold 6 >= 5 -> neither
    y = torch.tensor([0] * 3 + [1] * 3 + [2] * 4)
    assert minority_classes(y, 3).tolist() == [False, False, False]
    # (3, 3, 14) in 20: 6 < 10 -> both
    y = torch.tensor([0] * 3 + [1] * 3 + [2] * 14)
    assert minority_classes(y, 3).tolist() == [True, True, False]


def test_result_does_not_depend_on_class_order():
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        y = torch.multinomial(
            torch.tensor([0.4, 0.2, 0.2, 0.1, 0.1]), 30, True, generator=g
        )
        perm = torch.randperm(5, generator=g)
        relabelled = perm[y]
        assert torch.equal(
            minority_classes(relabelled, 5)[perm], minority_classes(y, 5)
        )


def test_absent_and_single_classes():
    assert not minority_classes(
        torch.zeros(7, dtype=torch.long), 3
    ).any()  # single class
    y = torch.tensor([2] * 9 + [0] * 2)  # class 1 absent
    assert minority_classes(y, 3).tolist() == [True, False, False]
    assert not minority_classes(torch.tensor([1]), 2).any()  # batch of one


def test_agrees_with_loop_reference_on_random_batches():
    g = torch.Generator().manual_seed(0)
    probabilities = torch.tensor([0.45, 0.2, 0.15, 0.1, 0.06, 0.04])
    for batch_size in (4, 9, 16, 33, 64):
        for _ in range(25):
            y = torch.multinomial(probabilities, batch_size, True, generator=g)
            expected = reference_minority(y.tolist(), 6)
            assert minority_classes(y, 6).tolist() == expected


def test_leading_dimensions_are_profiled_independently():
    g = torch.Generator().manual_seed(1)
    y = torch.multinomial(torch.tensor([0.7, 0.2, 0.1]), 40 * 3, True, generator=g)
    y = y.reshape(2, 3, 20)
    out = minority_classes(y, 3)
    assert out.shape == (2, 3, 3)
    for a in range(2):
        for b in range(3):
            assert out[a, b].tolist() == reference_minority(y[a, b].tolist(), 3)


@pytest.mark.parametrize("min_count", [1, 2, 3])
def test_min_count(min_count):
    y = torch.tensor([0] * 20 + [1] + [2] * 2 + [3] * 3)
    expected = [False] + [c >= min_count for c in (1, 2, 3)]
    assert minority_classes(y, 4, min_count=min_count).tolist() == expected
