"""Tests of class-level and instance-level minority hard mining (CRL, Eq. 4-7)."""

import pytest
import torch

from skimbalance.miners.hard_mining import (
    class_hard_samples_per_anchor,
    class_level_hard_samples,
    instance_level_hard_samples,
    minority_anchors,
)
from skimbalance.miners.minority import minority_classes


def _valid_list(index, mask):
    return [int(i) for i, m in zip(index.tolist(), mask.tolist(), strict=True) if m]


def _as_dict(hard):
    """{anchor: (positives, negatives)} from per-anchor hard samples."""
    return {
        int(a): (
            _valid_list(hard.positive_index[r], hard.positive_mask[r]),
            _valid_list(hard.negative_index[r], hard.negative_mask[r]),
        )
        for r, a in enumerate(hard.anchor_index.tolist())
    }


def reference_class_level(scores, labels, minority, k):
    """Eq. 4-5 with loops: per minority class, bottom-K / top-K scored on it."""
    result = {}
    n = len(labels)
    for c, is_minority in enumerate(minority):
        if not is_minority:
            continue
        positives = sorted(
            (j for j in range(n) if labels[j] == c), key=lambda j: (scores[j][c], j)
        )
        negatives = sorted(
            (j for j in range(n) if labels[j] != c), key=lambda j: (-scores[j][c], j)
        )
        result[c] = (positives[:k], negatives[:k])
    return result


def reference_instance_level(distances, labels, predictions, minority, k, fallback):
    """Eq. 6-7 with loops: per minority anchor, farthest misclassified / nearest others."""
    result = {}
    n = len(labels)
    for i in range(n):
        c = labels[i]
        if not minority[c]:
            continue
        candidates = [j for j in range(n) if labels[j] == c and j != i]
        if not fallback:
            candidates = [j for j in candidates if predictions[j] != c]
        positives = sorted(
            candidates, key=lambda j: (predictions[j] == labels[j], -distances[i][j], j)
        )
        negatives = sorted(
            (j for j in range(n) if labels[j] != c), key=lambda j: (distances[i][j], j)
        )
        result[i] = (positives[:k], negatives[:k])
    return result


def _random_batch(seed, n=24, n_classes=4, dim=5):
    g = torch.Generator().manual_seed(seed)
    labels = torch.multinomial(
        torch.tensor([0.55, 0.25, 0.12, 0.08]), n, True, generator=g
    )
    labels[:2] = 3  # make sure class 3 has at least two samples
    logits = torch.randn(n, n_classes, generator=g, dtype=torch.float64)
    logits = logits + 1.5 * torch.nn.functional.one_hot(labels, n_classes)
    features = torch.randn(n, dim, generator=g, dtype=torch.float64)
    return logits, features, labels


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 30])
def test_class_level_agrees_with_reference(seed, k):
    logits, _, labels = _random_batch(seed)
    scores = logits.softmax(-1)
    minority = minority_classes(labels, 4)
    assert minority.any()
    hard = class_level_hard_samples(scores, labels, minority, k)
    assert hard.positive_index.shape == (4, min(k, 24))  # capped at the batch
    expected = reference_class_level(
        scores.tolist(), labels.tolist(), minority.tolist(), k
    )
    for c in range(4):
        pos = _valid_list(hard.positive_index[c], hard.positive_mask[c])
        neg = _valid_list(hard.negative_index[c], hard.negative_mask[c])
        assert (pos, neg) == expected.get(c, ([], []))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 30])
@pytest.mark.parametrize("fallback", [True, False])
def test_instance_level_agrees_with_reference(seed, k, fallback):
    logits, features, labels = _random_batch(seed)
    distances = torch.cdist(features, features)
    predictions = logits.argmax(-1)
    minority = minority_classes(labels, 4)
    hard = instance_level_hard_samples(
        distances, labels, predictions, minority, k, fallback=fallback
    )
    expected = reference_instance_level(
        distances.tolist(),
        labels.tolist(),
        predictions.tolist(),
        minority.tolist(),
        k,
        fallback,
    )
    assert _as_dict(hard) == expected


def test_class_level_per_anchor_drops_self_pairs():
    scores_1 = torch.tensor([0.1, 0.2, 0.9, 0.6, 0.4, 0.3])
    scores = torch.stack([1 - scores_1, scores_1], dim=-1)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    minority = torch.tensor([False, True])
    class_hard = class_level_hard_samples(scores, labels, minority, 2)
    assert _valid_list(class_hard.positive_index[1], class_hard.positive_mask[1]) == [
        5,
        4,
    ]
    hard = class_hard_samples_per_anchor(class_hard, labels, minority)
    assert hard.positive_index.shape == (3, 2)
    assert _as_dict(hard) == {3: ([5, 4], [2, 1]), 4: ([5], [2, 1]), 5: ([4], [2, 1])}


def test_class_level_per_anchor_agrees_with_reference():
    for seed in range(5):
        logits, _, labels = _random_batch(seed)
        scores = logits.softmax(-1)
        minority = minority_classes(labels, 4)
        hard = class_hard_samples_per_anchor(
            class_level_hard_samples(scores, labels, minority, 3), labels, minority
        )
        per_class = reference_class_level(
            scores.tolist(), labels.tolist(), minority.tolist(), 3
        )
        expected = {
            i: ([j for j in per_class[c][0] if j != i], per_class[c][1])
            for i, c in enumerate(labels.tolist())
            if c in per_class
        }
        assert _as_dict(hard) == expected


def test_fallback_when_few_misclassified():
    x = torch.tensor([0.0, 1.0, 2.0, 3.0, 10.0, 11.0])
    distances = (x[:, None] - x[None, :]).abs()
    labels = torch.tensor([1, 1, 1, 1, 0, 0])
    predictions = torch.tensor([1, 0, 1, 1, 0, 0])  # only sample 1 of class 1 is wrong
    minority = torch.tensor([True, True])  # as if profiled so, to exercise the ranking
    hard = instance_level_hard_samples(distances, labels, predictions, minority, 3)
    positives = {a: pos for a, (pos, _) in _as_dict(hard).items()}
    # anchor 3: misclassified sample 1 first, then farthest correct ones (0, then 2)
    assert positives[3] == [1, 0, 2]
    # anchor 1 (itself the misclassified one): never its own positive
    assert positives[1] == [3, 0, 2]
    strict = instance_level_hard_samples(
        distances, labels, predictions, minority, 3, fallback=False
    )
    positives = {a: pos for a, (pos, _) in _as_dict(strict).items()}
    assert positives[3] == [1]
    assert positives[1] == []


def test_padding_when_k_exceeds_candidates():
    labels = torch.tensor([0, 0, 1, 1, 1])
    scores = torch.rand(5, 2, generator=torch.Generator().manual_seed(0))
    minority = torch.tensor([True, False])
    hard = class_level_hard_samples(scores, labels, minority, 4)
    assert hard.positive_index.shape == (2, 4)
    assert hard.positive_mask[0].sum() == 2 and hard.negative_mask[0].sum() == 3
    assert (hard.positive_index[~hard.positive_mask] == 0).all()
    assert (hard.negative_index[~hard.negative_mask] == 0).all()
    distances = torch.rand(5, 5, generator=torch.Generator().manual_seed(1))
    inst = instance_level_hard_samples(distances, labels, labels, minority, 4)
    assert inst.anchor_index.tolist() == [0, 1]
    assert inst.positive_index.shape == (2, 4)
    assert inst.positive_mask.sum(-1).tolist() == [1, 1]
    assert inst.negative_mask.sum(-1).tolist() == [3, 3]


def test_ties_go_to_lower_index():
    scores = torch.tensor([[0.5, 0.5]] * 6)
    labels = torch.tensor([0, 1, 0, 1, 0, 1])
    hard = class_level_hard_samples(scores, labels, torch.tensor([True, True]), 2)
    assert hard.positive_index.tolist() == [[0, 2], [1, 3]]
    assert hard.negative_index.tolist() == [[1, 3], [0, 2]]
    distances = torch.ones(6, 6)
    inst = instance_level_hard_samples(
        distances, labels, labels, torch.tensor([True, True]), 2
    )
    assert inst.positive_index[4].tolist() == [0, 2]
    assert inst.negative_index[4].tolist() == [1, 3]


def test_leading_dimensions_match_per_row_results():
    batches = [_random_batch(seed) for seed in range(3)]
    logits = torch.stack([b[0] for b in batches])
    features = torch.stack([b[1] for b in batches])
    labels = torch.stack([b[2] for b in batches])
    n = labels.shape[-1]
    minority = minority_classes(labels, 4)
    distances = torch.cdist(features, features)
    predictions = logits.argmax(-1)
    batched_inst = _as_dict(
        instance_level_hard_samples(distances, labels, predictions, minority, 3)
    )
    batched_cls = class_level_hard_samples(logits.softmax(-1), labels, minority, 3)
    batched_cls_anchor = _as_dict(
        class_hard_samples_per_anchor(batched_cls, labels, minority)
    )
    for r in range(3):
        inst = instance_level_hard_samples(
            distances[r], labels[r], predictions[r], minority[r], 3
        )
        cls = class_level_hard_samples(logits[r].softmax(-1), labels[r], minority[r], 3)
        cls_anchor = class_hard_samples_per_anchor(cls, labels[r], minority[r])
        for single, batched in (
            (_as_dict(inst), batched_inst),
            (_as_dict(cls_anchor), batched_cls_anchor),
        ):
            shifted = {
                a + r * n: ([p + r * n for p in ps], [q + r * n for q in qs])
                for a, (ps, qs) in single.items()
            }
            assert shifted == {a: v for a, v in batched.items() if a // n == r}
        for got, want in zip(batched_cls, cls, strict=True):
            assert torch.equal(got[r], want)


def test_minority_anchors():
    labels = torch.tensor([[0, 1, 1, 2], [2, 2, 0, 2]])
    minority = torch.tensor([[True, False, True], [False, False, True]])
    assert minority_anchors(labels, minority).tolist() == [0, 3, 4, 5, 7]


def test_no_minority_class_gives_empty_sets():
    labels = torch.tensor([0, 0, 1, 1])
    minority = minority_classes(labels, 2)
    assert not minority.any()
    hard = class_hard_samples_per_anchor(
        class_level_hard_samples(torch.rand(4, 2), labels, minority, 2),
        labels,
        minority,
    )
    inst = instance_level_hard_samples(torch.rand(4, 4), labels, labels, minority, 2)
    for h in (hard, inst):
        assert h.anchor_index.numel() == 0
        assert h.positive_index.shape == (0, 2) and h.negative_mask.shape == (0, 2)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k_raises(k):
    labels = torch.tensor([0, 0, 1])
    with pytest.raises(ValueError, match="k must be"):
        class_level_hard_samples(
            torch.rand(3, 2), labels, torch.tensor([True, False]), k
        )
