"""Tests of the Class Rectification Loss (Dong et al., ICCV 2017, Eq. 3-14)."""

import math

import pytest
import torch

from skimbalance.losses.crl import (
    class_rectification_loss,
    distribution_rectification_loss,
    relative_rectification_loss,
)
from skimbalance.miners.hard_mining import HardSamples

MININGS = ("class", "instance")
LOSSES = ("relative", "absolute", "distribution")


# --------------------------------------------------------------------------------------
# Independent reference: plain Python loops over classes, anchors, pairs and bins.
# --------------------------------------------------------------------------------------


def ref_minority(labels, n_classes, min_count=2):
    counts = [labels.count(c) for c in range(n_classes)]
    chosen, total = set(), 0
    for value in sorted(set(counts)):
        group = [c for c in range(n_classes) if counts[c] == value]
        total += value * len(group)
        if 2 * total >= len(labels):
            break
        chosen.update(group)
    return [c in chosen and counts[c] >= min_count for c in range(n_classes)]


def ref_distance(u, v):
    return torch.sqrt(((u - v) ** 2).sum())


def ref_hard_sets(logits, x, labels, mining, k, fallback):
    """{anchor: (positives, negatives)} mined with loops (Eq. 4-7)."""
    n, n_classes = logits.shape
    minority = ref_minority(labels, n_classes)
    probs = torch.softmax(logits.detach(), dim=-1).tolist()
    predictions = logits.detach().argmax(-1).tolist()
    sets = {}
    for i in range(n):
        c = labels[i]
        if not minority[c]:
            continue
        if mining == "class":
            positives = sorted(
                (j for j in range(n) if labels[j] == c), key=lambda j: probs[j][c]
            )
            positives = [j for j in positives[:k] if j != i]
            negatives = sorted(
                (j for j in range(n) if labels[j] != c), key=lambda j: -probs[j][c]
            )
        else:
            dist = [float(ref_distance(x[i].detach(), x[j].detach())) for j in range(n)]
            candidates = [j for j in range(n) if labels[j] == c and j != i]
            if not fallback:
                candidates = [j for j in candidates if predictions[j] != c]
            positives = sorted(
                candidates, key=lambda j: (predictions[j] == c, -dist[j])
            )[:k]
            negatives = sorted(
                (j for j in range(n) if labels[j] != c), key=lambda j: dist[j]
            )
        sets[i] = (positives, negatives[:k])
    return sets


def ref_histogram(distances, n_bins):
    """Eq. 12-13 literally: nodes b_1..b_tau over [0, 2], triangular weights."""
    delta = 2.0 / (n_bins - 1)
    nodes = [t * delta for t in range(n_bins)]
    hist = []
    for t in range(n_bins):
        h = 0.0
        for d in distances:
            if t > 0 and nodes[t - 1] <= d <= nodes[t]:
                h = h + (d - nodes[t - 1]) / delta
            elif t < n_bins - 1 and nodes[t] <= d <= nodes[t + 1]:
                h = h + (nodes[t + 1] - d) / delta
        hist.append(h / len(distances))
    return hist


def ref_attribute_terms(
    logits, features, labels, *, mining, loss, k, margin, n_bins, normalize, fallback
):
    """The raw terms of one attribute: its triplet hinges (relative), its positive
    and negative pair terms (absolute), or its histogram loss and the number of
    positive-negative comparisons (distribution, None without both pair kinds)."""
    x = features / features.norm(dim=-1, keepdim=True) if normalize else features
    sets = ref_hard_sets(logits, x, labels, mining, k, fallback)
    n_classes = logits.shape[-1]
    if loss == "relative":
        m = 2 * math.pi / n_classes if margin is None else margin
        return [
            torch.relu(m + ref_distance(x[a], x[p]) - ref_distance(x[a], x[q]))
            for a, (positives, negatives) in sets.items()
            for p in positives
            for q in negatives
        ]
    pos = [ref_distance(x[a], x[p]) for a, (ps, _) in sets.items() for p in ps]
    neg = [ref_distance(x[a], x[q]) for a, (_, qs) in sets.items() for q in qs]
    if loss == "absolute":
        m = 1.0 if margin is None else margin
        return [d**2 for d in pos], [torch.relu(m - d) ** 2 for d in neg]
    if not pos or not neg:
        return None
    h_pos, h_neg = ref_histogram(pos, n_bins), ref_histogram(neg, n_bins)
    total = 0.0
    for t in range(n_bins):
        total = total + h_pos[t] * sum(h_neg[: t + 1])
    return total, len(pos) * len(neg)


def ref_crl(
    logits,
    features,
    targets,
    *,
    mining,
    loss,
    k=3,
    margin=None,
    n_bins=21,
    normalize=True,
    fallback=True,
    weights=None,
):
    """Eq. 9 / 11 as written: one mean over ALL triplets (pairs) of ALL attributes.

    Each attribute's terms are multiplied by ``weights[t]`` (1 by default). The
    distribution form averages the attributes' histogram losses weighted by
    their numbers of positive-negative comparisons.
    """
    if logits.ndim == 2:
        logits, features, targets = logits[:, None], features[:, None], targets[:, None]
    n_attributes = logits.shape[1]
    weights = [1.0] * n_attributes if weights is None else weights
    triplets, positives, negatives, histograms = [], [], [], []
    for t in range(n_attributes):
        terms = ref_attribute_terms(
            logits[:, t], features[:, t], targets[:, t].tolist(), mining=mining, loss=loss, k=k,
            margin=margin, n_bins=n_bins, normalize=normalize, fallback=fallback,
        )  # fmt: skip
        w = weights[t]
        if loss == "relative":
            triplets += [w * term for term in terms]
        elif loss == "absolute":
            positives += [w * term for term in terms[0]]
            negatives += [w * term for term in terms[1]]
        elif terms is not None:
            histograms.append((w * terms[0], terms[1]))
    zero = features.sum() * 0.0
    if loss == "relative":
        return sum(triplets) / len(triplets) if triplets else zero
    if loss == "absolute":
        if not positives and not negatives:
            return zero
        pos = sum(positives) / len(positives) if positives else 0.0
        neg = sum(negatives) / len(negatives) if negatives else 0.0
        return 0.5 * (pos + neg) + zero
    if not histograms:
        return zero
    return sum(h * n for h, n in histograms) / sum(n for _, n in histograms)


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def random_batch(seed, n=24, n_attributes=None, n_classes=4, dim=5):
    g = torch.Generator().manual_seed(seed)
    shape = (n,) if n_attributes is None else (n, n_attributes)
    probs = torch.tensor([0.55, 0.25, 0.12, 0.08])[:n_classes]
    labels = torch.multinomial(probs, math.prod(shape), True, generator=g).reshape(
        shape
    )
    labels[:2] = n_classes - 1  # the rarest class has at least two samples
    logits = torch.randn(*shape, n_classes, generator=g, dtype=torch.float64)
    logits = logits + 1.5 * torch.nn.functional.one_hot(labels, n_classes)
    features = torch.randn(
        *shape, dim, generator=g, dtype=torch.float64, requires_grad=True
    )
    return logits, features, labels


def grad_of(value, features):
    (grad,) = torch.autograd.grad(value, features, allow_unused=True)
    return torch.zeros_like(features) if grad is None else grad


def assert_zero_and_differentiable(loss, features):
    assert loss.ndim == 0
    assert float(loss.detach()) == 0.0
    assert loss.requires_grad
    loss.backward()
    assert features.grad is not None
    assert torch.isfinite(features.grad).all()
    assert (features.grad == 0).all()


# --------------------------------------------------------------------------------------
# Agreement with the reference, in value and gradient, for all six variants
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("mining", MININGS)
def test_agrees_with_reference(mining, loss, seed):
    logits, features, labels = random_batch(seed)
    value, stats = class_rectification_loss(
        logits, features, labels, mining=mining, loss=loss, k=3, n_bins=21
    )
    expected = ref_crl(
        logits, features, labels, mining=mining, loss=loss, k=3, n_bins=21
    )
    assert stats["n_anchors"] > 0
    torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-12)
    got, want = grad_of(value, features), grad_of(expected, features)
    assert want.abs().sum() > 0
    torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-10)
    cosine = torch.nn.functional.cosine_similarity(got.flatten(), want.flatten(), dim=0)
    assert cosine > 0.99


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("mining", MININGS)
def test_multi_attribute_agrees_with_reference(mining, loss):
    logits, features, labels = random_batch(7, n=20, n_attributes=3, n_classes=3)
    value, stats = class_rectification_loss(
        logits, features, labels, mining=mining, loss=loss, k=2, n_bins=21
    )
    expected = ref_crl(
        logits, features, labels, mining=mining, loss=loss, k=2, n_bins=21
    )
    torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(
        grad_of(value, features), grad_of(expected, features), rtol=1e-7, atol=1e-10
    )
    assert stats["minority"].shape == (3, 3)
    assert stats["loss_per_attribute"].shape == (3,)


@pytest.mark.parametrize("loss", ["relative", "absolute"])
@pytest.mark.parametrize("mining", MININGS)
def test_raw_euclidean_distance_agrees_with_reference(mining, loss):
    logits, features, labels = random_batch(11)
    kwargs = {"mining": mining, "loss": loss, "k": 4, "normalize": False, "margin": 1.7}
    value, _ = class_rectification_loss(logits, features, labels, **kwargs)
    expected = ref_crl(logits, features, labels, **kwargs)
    torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(
        grad_of(value, features), grad_of(expected, features), rtol=1e-7, atol=1e-10
    )


@pytest.mark.parametrize("loss", LOSSES)
def test_strict_instance_mining_agrees_with_reference(loss):
    logits, features, labels = random_batch(5)
    value, _ = class_rectification_loss(
        logits, features, labels, loss=loss, k=3, n_bins=21, fallback=False
    )
    expected = ref_crl(
        logits,
        features,
        labels,
        mining="instance",
        loss=loss,
        k=3,
        n_bins=21,
        fallback=False,
    )
    torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_attributes_without_pairs_do_not_dilute_the_mean(loss):
    logits, features, labels = random_batch(8, n=20, n_attributes=2, n_classes=2)
    labels[:, 1] = torch.arange(20) % 2  # balanced attribute: no minority class
    value, stats = class_rectification_loss(logits, features, labels, loss=loss)
    alone, _ = class_rectification_loss(
        logits[:, 0], features[:, 0], labels[:, 0], loss=loss
    )
    assert float(stats["n_active_attributes"]) == 1
    assert alone.item() > 0
    torch.testing.assert_close(value, alone)
    assert stats["minority"][1].tolist() == [False, False]


def test_shared_features_broadcast_over_attributes():
    logits, features, labels = random_batch(3, n=16, n_attributes=2, n_classes=2)
    shared = features[:, 0].detach()
    a, _ = class_rectification_loss(logits, shared, labels)
    b, _ = class_rectification_loss(logits, shared[:, None].expand(-1, 2, -1), labels)
    torch.testing.assert_close(a, b)


def test_default_margins():
    logits, features, labels = random_batch(2)
    for loss, default in (("relative", 2 * math.pi / 4), ("absolute", 1.0)):
        a, _ = class_rectification_loss(logits, features, labels, loss=loss)
        b, _ = class_rectification_loss(
            logits, features, labels, loss=loss, margin=default
        )
        c, _ = class_rectification_loss(logits, features, labels, loss=loss, margin=0.1)
        torch.testing.assert_close(a, b)
        assert not torch.isclose(a, c)


# --------------------------------------------------------------------------------------
# Degenerate batches
# --------------------------------------------------------------------------------------

DEGENERATE = {
    "no_minority": [0] * 6 + [1] * 6 + [2] * 6,
    "minority_with_one_sample": [0] * 11 + [1],
    "single_class": [2] * 9,
    "batch_of_one": [1],
}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("mining", MININGS)
def test_degenerate_batches_give_exact_zero(mining, loss, case):
    labels = torch.tensor(DEGENERATE[case])
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(len(labels), 3, generator=g)
    features = torch.randn(len(labels), 4, generator=g, requires_grad=True)
    value, stats = class_rectification_loss(
        logits, features, labels, mining=mining, loss=loss
    )
    assert float(stats["n_minority_classes"]) == 0
    assert float(stats["n_triplets"]) == 0
    assert_zero_and_differentiable(value, features)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("mining", MININGS)
def test_k_larger_than_available(mining, loss):
    logits, features, labels = random_batch(1, n=12)
    value, stats = class_rectification_loss(
        logits, features, labels, mining=mining, loss=loss, k=50, n_bins=21
    )
    expected = ref_crl(
        logits, features, labels, mining=mining, loss=loss, k=50, n_bins=21
    )
    torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-12)
    value.backward()
    assert torch.isfinite(features.grad).all()
    assert stats["n_triplets"] > 0


@pytest.mark.parametrize("loss", LOSSES)
def test_no_pair_without_misclassified_positive_in_strict_mode(loss):
    labels = torch.tensor([0] * 8 + [1] * 2)
    logits = torch.nn.functional.one_hot(labels, 2).double() * 5  # all correct
    features = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    value, stats = class_rectification_loss(
        logits, features, labels, loss=loss, fallback=False
    )
    assert float(stats["n_positive_pairs"]) == 0
    if loss == "absolute":  # negative pairs alone still push
        assert value.item() > 0
    else:
        assert_zero_and_differentiable(value, features)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("mining", MININGS)
def test_coincident_and_zero_features_keep_finite_gradients(mining, loss):
    labels = torch.tensor([0] * 8 + [1] * 3)
    logits = torch.randn(11, 2, generator=torch.Generator().manual_seed(0))
    features = torch.randn(11, 4, generator=torch.Generator().manual_seed(1))
    features[9] = features[8]  # a minority anchor and its positive coincide
    features[0] = 0.0  # a zero feature vector
    features[1] = features[8]  # a negative on top of the anchor
    features.requires_grad_(True)
    value, _ = class_rectification_loss(
        logits, features, labels, mining=mining, loss=loss, k=3
    )
    assert torch.isfinite(value)
    value.backward()
    assert torch.isfinite(features.grad).all()


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("mining", MININGS)
def test_float32_is_finite_and_close_to_float64(mining, loss):
    logits, features, labels = random_batch(9, n=64)
    value64, _ = class_rectification_loss(
        logits, features, labels, mining=mining, loss=loss
    )
    f32 = features.detach().float().requires_grad_(True)
    value32, _ = class_rectification_loss(
        logits.float(), f32, labels, mining=mining, loss=loss
    )
    value32.backward()
    assert torch.isfinite(f32.grad).all()
    assert abs(value32.item() - value64.item()) < 1e-4


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mining", MININGS)
def test_relative_loss_is_zero_when_positives_beat_negatives_by_the_margin(mining):
    # 10 classes, margin 2 pi / 10 = 0.63; each class sits in its own direction with
    # a small spread: every hard positive is nearer than every hard negative by more.
    g = torch.Generator().manual_seed(0)
    labels = torch.tensor([0] * 60 + [c for c in range(1, 10) for _ in range(3)])
    centres = torch.linalg.qr(torch.randn(16, 16, generator=g))[0][:10]  # orthonormal
    features = centres[labels] + 0.01 * torch.randn(len(labels), 16, generator=g)
    features.requires_grad_(True)
    logits = torch.randn(len(labels), 10, generator=g)
    value, stats = class_rectification_loss(
        logits, features, labels, mining=mining, k=5
    )
    assert float(stats["n_triplets"]) > 0
    assert value.item() == 0.0
    value.backward()
    assert (features.grad == 0).all()
    # with too large a margin the same batch is penalised
    larger, _ = class_rectification_loss(
        logits, features, labels, mining=mining, margin=1.5
    )
    assert larger.item() > 0


def test_relative_loss_direct_zero_property():
    x = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.2], [3.0, 0.0], [0.0, -2.5]])
    t = torch.tensor
    hard = HardSamples(
        t([0]), t([[1, 2]]), t([[True, True]]), t([[3, 4]]), t([[True, True]])
    )
    # farthest positive 0.2, nearest negative 2.5: zero for margins up to 2.3
    assert (
        float(relative_rectification_loss(x, hard, margin=2.29, normalize=False)) == 0
    )
    assert float(relative_rectification_loss(x, hard, margin=2.31, normalize=False)) > 0


@pytest.mark.parametrize("mining", MININGS)
def test_histogram_loss_lies_in_unit_interval(mining):
    for seed in range(30):
        logits, features, labels = random_batch(seed, n=32, dim=3)
        value, stats = class_rectification_loss(
            logits, features, labels, mining=mining, loss="distribution", n_bins=11
        )
        assert 0.0 <= value.item() <= 1.0
        assert (
            (stats["loss_per_attribute"] >= 0) & (stats["loss_per_attribute"] <= 1)
        ).all()


def test_histogram_loss_extremes():
    t = torch.tensor
    hard = HardSamples(t([0]), t([[1]]), t([[True]]), t([[2]]), t([[True]]))
    x = torch.tensor([[1.0, 0.0], [1.0, 0.05], [-1.0, 0.0]])
    assert float(distribution_rectification_loss(x, hard)) == pytest.approx(
        0.0, abs=1e-6
    )
    swapped = HardSamples(t([0]), t([[2]]), t([[True]]), t([[1]]), t([[True]]))
    assert float(distribution_rectification_loss(x, swapped)) == pytest.approx(
        1.0, abs=1e-5
    )


def test_gradient_step_reduces_each_loss():
    for mining in MININGS:
        for loss in LOSSES:
            logits, features, labels = random_batch(4, n=48)
            kwargs = {"mining": mining, "loss": loss, "k": 3, "n_bins": 11}
            before, _ = class_rectification_loss(logits, features, labels, **kwargs)
            (grad,) = torch.autograd.grad(before, features)
            stepped = (features - 0.01 * grad / grad.norm()).detach()
            after = ref_crl(logits, stepped, labels, **kwargs)
            assert after.item() < before.item(), (mining, loss)


# --------------------------------------------------------------------------------------
# Statistics and validation
# --------------------------------------------------------------------------------------


def test_stats():
    labels = torch.tensor([0] * 20 + [1] * 6 + [2] * 4 + [3] * 2)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 4, generator=g)
    features = torch.randn(32, 8, generator=g, requires_grad=True)
    _, stats = class_rectification_loss(logits, features, labels, mining="class", k=3)
    assert stats["minority"].tolist() == [False, True, True, True]
    assert float(stats["n_minority_classes"]) == 3
    assert float(stats["n_anchors"]) == 12
    # class level: 12 anchors x 3 negatives; positives 3 per class minus self pairs
    assert float(stats["n_negative_pairs"]) == 36
    assert float(stats["n_positive_pairs"]) == (6 * 3 - 3) + (4 * 3 - 3) + (2 * 2 - 2)
    assert float(stats["n_active_attributes"]) == 1
    assert stats["loss_per_attribute"].ndim == 0
    assert not any(v.requires_grad for v in stats.values())


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"mining": "global"}, ValueError),
        ({"loss": "triplet"}, ValueError),
        ({"loss": "distribution", "normalize": False}, ValueError),
        ({"k": 0}, ValueError),
    ],
)
def test_bad_arguments_raise(kwargs, error):
    logits, features, labels = random_batch(0)
    with pytest.raises(error):
        class_rectification_loss(logits, features, labels, **kwargs)


def test_bad_shapes_raise():
    logits, features, labels = random_batch(0)
    with pytest.raises(ValueError):
        class_rectification_loss(logits, features[:-1], labels)
    with pytest.raises(ValueError):
        class_rectification_loss(logits[:, None], features, labels)
    with pytest.raises(TypeError):
        class_rectification_loss(logits, features, labels.double())


@pytest.mark.parametrize("mining", MININGS)
@pytest.mark.parametrize("form", ["relative", "absolute", "distribution"])
def test_k_beyond_the_batch_changes_nothing_and_costs_nothing(mining, form):
    """k is capped at the batch: same loss as k = B, tensors that do not grow."""
    import skimbalance.miners.hard_mining as hard_mining

    g = torch.Generator().manual_seed(0)
    n = 24
    logits = torch.randn(n, 3, generator=g)
    features = torch.randn(n, 6, generator=g)
    targets = torch.tensor([0] * 16 + [1] * 5 + [2] * 3)
    shapes = []
    original = hard_mining._masked_top_k

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        shapes.append(tuple(out[0].shape))
        return out

    losses = {}
    hard_mining._masked_top_k = recording
    try:
        for k in (n, 10_000):
            losses[k], _ = class_rectification_loss(
                logits, features, targets, mining=mining, loss=form, k=k
            )
    finally:
        hard_mining._masked_top_k = original
    assert torch.equal(losses[n], losses[10_000])
    assert max(shape[-1] for shape in shapes) <= n
    half = len(shapes) // 2
    assert shapes[:half] == shapes[half:]


# --------------------------------------------------------------------------------------
# Pooling over attributes (Eq. 9: one mean over all triplets of all attributes)
# --------------------------------------------------------------------------------------


def unequal_attributes(seed=12):
    """Three attributes whose minority classes give very different triplet counts."""
    logits, features, labels = random_batch(seed, n=30, n_attributes=3, n_classes=2)
    labels[:, 0] = (torch.arange(30) < 3).long()  # 3 minority samples
    labels[:, 1] = (torch.arange(30) < 12).long()  # 12 minority samples
    labels[:, 2] = (torch.arange(30) % 5 == 0).long()  # 6 minority samples
    return logits, features, labels


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("mining", MININGS)
def test_pooling_over_all_triplets_of_all_attributes(mining, loss):
    logits, features, labels = unequal_attributes()
    kwargs = {"mining": mining, "loss": loss, "k": 4, "n_bins": 21}
    value, stats = class_rectification_loss(logits, features, labels, **kwargs)
    pooled = ref_crl(logits, features, labels, **kwargs)
    torch.testing.assert_close(value, pooled, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(
        grad_of(value, features), grad_of(pooled, features), rtol=1e-7, atol=1e-10
    )
    # the old mean of the per-attribute means is a different number here
    per_attribute = [
        ref_crl(logits[:, t], features[:, t], labels[:, t], **kwargs) for t in range(3)
    ]
    mean_of_means = sum(per_attribute) / 3
    assert abs(value.item() - mean_of_means.item()) > 1e-4
    attributes, _ = class_rectification_loss(
        logits, features, labels, pooling="attributes", **kwargs
    )
    torch.testing.assert_close(attributes, mean_of_means, rtol=1e-9, atol=1e-12)
    assert float(stats["n_active_attributes"]) == 3


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("mining", MININGS)
def test_attribute_weights_scale_each_attributes_terms(mining, loss):
    logits, features, labels = unequal_attributes(13)
    kwargs = {"mining": mining, "loss": loss, "k": 3, "n_bins": 21}
    weights = [0.2, 0.0, 0.9]
    value, _ = class_rectification_loss(
        logits,
        features,
        labels,
        attribute_weight=torch.tensor(weights, dtype=torch.float64),
        **kwargs,
    )
    expected = ref_crl(logits, features, labels, weights=weights, **kwargs)
    torch.testing.assert_close(value, expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(
        grad_of(value, features), grad_of(expected, features), rtol=1e-7, atol=1e-10
    )
    with pytest.raises(ValueError, match="attribute_weight"):
        class_rectification_loss(
            logits, features, labels, attribute_weight=torch.ones(2), **kwargs
        )
    with pytest.raises(ValueError, match="pooling"):
        class_rectification_loss(logits, features, labels, pooling="mean")


def test_pooling_with_a_single_attribute_is_unchanged():
    logits, features, labels = random_batch(3)
    a, _ = class_rectification_loss(logits, features, labels)
    b, _ = class_rectification_loss(logits, features, labels, pooling="attributes")
    torch.testing.assert_close(a, b, rtol=0, atol=0)


# --------------------------------------------------------------------------------------
# The relative margin on normalised features (distances in [0, 2])
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mining", MININGS)
def test_margin_beyond_the_distance_range_only_adds_a_constant(mining):
    """With normalised features d(a, p) - d(a, n) >= -2: any margin >= 2 keeps
    every hinge active, so margins 2.5 and pi differ by exactly pi - 2.5 with the
    same gradient, even for antipodal classes."""
    labels = torch.tensor([0] * 12 + [1] * 4)
    g = torch.Generator().manual_seed(0)
    direction = torch.nn.functional.normalize(torch.randn(6, generator=g), dim=0)
    sign = torch.where(labels == 1, -1.0, 1.0).double()
    noise = 1e-3 * torch.randn(16, 6, generator=g, dtype=torch.float64)
    features = (sign[:, None] * direction.double() + noise).requires_grad_(True)
    logits = torch.randn(16, 2, generator=g, dtype=torch.float64)
    out = {}
    for m in (2.5, math.pi, 0.5):
        value, stats = class_rectification_loss(
            logits, features, labels, mining=mining, margin=m
        )
        out[m] = (value, grad_of(value, features), stats)
    assert out[math.pi][2]["n_active_triplets"] == out[math.pi][2]["n_triplets"] > 0
    # antipodal classes: the loss is about m - 2, never 0
    assert out[math.pi][0].item() == pytest.approx(math.pi - 2, abs=0.01)
    torch.testing.assert_close(
        out[math.pi][0] - out[2.5][0], torch.tensor(math.pi - 2.5, dtype=torch.float64)
    )
    torch.testing.assert_close(out[math.pi][1], out[2.5][1])
    # a margin inside the range is met by these well-separated classes
    assert out[0.5][0].item() == 0.0
    assert float(out[0.5][2]["n_active_triplets"]) == 0


# --------------------------------------------------------------------------------------
# Instance mining from the anchors' rows only
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [True, False])
def test_anchor_rows_equal_the_full_distance_matrix(normalize):
    from skimbalance.losses.crl import (
        anchor_feature_distances,
        pairwise_feature_distances,
    )
    from skimbalance.miners.hard_mining import (
        instance_level_hard_samples,
        minority_anchors,
    )
    from skimbalance.miners.minority import minority_classes

    for seed in range(5):
        logits, features, labels = random_batch(seed, n=40, n_attributes=5, n_classes=3)
        feats = features.detach().transpose(0, 1)  # (T, B, D)
        targets = labels.transpose(0, 1)
        predictions = logits.argmax(-1).transpose(0, 1)
        minority = minority_classes(targets, 3)
        anchors = minority_anchors(targets, minority)
        full = pairwise_feature_distances(feats, normalize=normalize, squared=True)
        rows = anchor_feature_distances(feats, anchors, normalize=normalize)
        torch.testing.assert_close(
            rows, full.reshape(-1, 40)[anchors], rtol=1e-10, atol=1e-12
        )
        old = instance_level_hard_samples(full, targets, predictions, minority, 4)
        new = instance_level_hard_samples(
            rows, targets, predictions, minority, 4, anchor_rows=True
        )
        for a, b in zip(old, new, strict=True):
            assert torch.equal(a, b)
    with pytest.raises(ValueError, match="anchor_rows"):
        instance_level_hard_samples(
            full, targets, predictions, minority, 4, anchor_rows=True
        )


def test_anchor_rows_without_anchors():
    from skimbalance.losses.crl import anchor_feature_distances

    out = anchor_feature_distances(
        torch.randn(3, 8, 4), torch.zeros(0, dtype=torch.long)
    )
    assert out.shape == (0, 8)
