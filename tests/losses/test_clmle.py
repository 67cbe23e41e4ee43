"""Tests of the CLMLE loss (Eq. 9) against a plain-loop reference."""

import math

import pytest
import torch

from skimbalance.losses.clmle import (
    clmle_loss,
    clmle_margin_bounds,
    default_clmle_margins,
)


def reference_clmle(
    emb, clusters, labels, a1, a2, scale=1.0, cost=True, sw=None, detach=False
):
    """Eq. 9 with Python loops over samples and clusters (float64 autograd)."""
    n = emb.shape[0]
    f = [emb[i] / torch.sqrt((emb[i] ** 2).sum()) for i in range(n)]
    ids = sorted(set(clusters))
    mu, cls_of = {}, {}
    for m in ids:
        s = sum(f[i] for i in range(n) if clusters[i] == m)
        if detach:
            s = s.detach()
        mu[m] = s / torch.sqrt((s**2).sum())
        cls_of[m] = next(labels[i] for i in range(n) if clusters[i] == m)
    losses = []
    for i in range(n):
        m, c = clusters[i], labels[i]
        own = torch.dot(f[i], mu[m])
        other = [torch.dot(f[i], mu[k]) for k in ids if cls_of[k] != c]
        same = [torch.dot(f[i], mu[k]) for k in ids if k != m and cls_of[k] == c]
        a2c = a2[c] if isinstance(a2, list | tuple) else a2
        li = torch.zeros((), dtype=emb.dtype)
        if other:
            lse = torch.log(sum(torch.exp(scale * s) for s in other)) / scale
            li = li + torch.clamp(a1 - own + lse, min=0.0)
        if same:
            lse = torch.log(sum(torch.exp(scale * s) for s in same)) / scale
            li = li + torch.clamp(a2c - own + lse, min=0.0)
        losses.append(li)
    weights = []
    for i in range(n):
        w = 1.0 / sum(1 for j in range(n) if labels[j] == labels[i]) if cost else 1.0
        if sw is not None:
            w = w * float(sw[i])
        weights.append(w)
    total = sum(w * li for w, li in zip(weights, losses, strict=True))
    return total / max(sum(weights), 1e-12), losses


def _batch(seed, n_clusters=4, per=3, dim=5, classes=(0, 0, 1, 1)):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(n_clusters * per, dim, generator=g, dtype=torch.float64)
    clusters = [m for m in range(n_clusters) for _ in range(per)]
    labels = [classes[m] for m in clusters]
    return emb, clusters, labels


def _compare(emb, clusters, labels, a1, a2, **kw):
    e1 = emb.clone().requires_grad_(True)
    margin_within = (
        torch.tensor(a2, dtype=torch.float64) if isinstance(a2, list) else a2
    )
    out = clmle_loss(
        e1, torch.tensor(clusters), torch.tensor(labels), a1, margin_within, **kw
    )
    out.loss.backward()
    e2 = emb.clone().requires_grad_(True)
    ref_kw = {
        "scale": kw.get("scale", 1.0),
        "cost": kw.get("cost_sensitive", True),
        "sw": kw.get("sample_weight"),
        "detach": kw.get("detach_centroids", False),
    }
    ref, ref_losses = reference_clmle(e2, clusters, labels, a1, a2, **ref_kw)
    ref.backward()
    assert torch.allclose(out.loss.detach(), ref.detach(), atol=1e-10)
    assert torch.allclose(
        out.sample_losses.detach(),
        torch.stack([r.detach() for r in ref_losses]),
        atol=1e-10,
    )
    assert torch.isfinite(e1.grad).all()
    assert torch.allclose(e1.grad, e2.grad, atol=1e-10)
    return out, e1.grad


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("scale", [1.0, 8.0])
@pytest.mark.parametrize("cost", [True, False])
def test_matches_loop_reference(seed, scale, cost):
    emb, clusters, labels = _batch(seed, n_clusters=5, per=3, classes=(0, 0, 1, 1, 2))
    _compare(emb, clusters, labels, 0.4, 0.2, scale=scale, cost_sensitive=cost)


def test_per_class_within_margin_and_sample_weight():
    emb, clusters, labels = _batch(3, n_clusters=5, per=2, classes=(0, 0, 1, 1, 1))
    sw = torch.tensor(
        [1.0, 2.0, 0.5, 0.0, 1.0, 1.0, 3.0, 1.0, 1.0, 2.0], dtype=torch.float64
    )
    _compare(emb, clusters, labels, 0.5, [0.1, 0.3], sample_weight=sw)


def test_imbalanced_batch_cost_sensitive_weights():
    # class 1 has one cluster of 2 samples, class 0 three clusters of 4
    g = torch.Generator().manual_seed(4)
    emb = torch.randn(14, 4, generator=g, dtype=torch.float64)
    clusters = [0] * 4 + [1] * 4 + [2] * 4 + [3] * 2
    labels = [0] * 12 + [1] * 2
    out, _ = _compare(emb, clusters, labels, 0.3, 0.1)
    # cost-sensitive loss = mean over classes of the class-mean sample loss
    sl = out.sample_losses.detach()
    expected = 0.5 * (sl[:12].mean() + sl[12:].mean())
    assert torch.allclose(out.loss.detach(), expected)


def test_hinge_is_zero_when_margins_are_met():
    # two tight clusters of different classes, orthogonal: cos gap 1 > a1
    emb = torch.tensor(
        [[1.0, 0.01], [1.0, -0.01], [0.01, 1.0], [-0.01, 1.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    out = clmle_loss(
        emb, torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 1]), 0.5, 0.2
    )
    out.loss.backward()
    assert float(out.loss.detach()) == 0.0
    assert torch.equal(emb.grad, torch.zeros_like(emb))


def test_hinge_partly_active_matches_reference():
    # margin close to the gap: some samples inside the margin, some outside
    emb = torch.tensor(
        [[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]], dtype=torch.float64
    )
    out, _ = _compare(emb, [0, 0, 1, 1], [0, 0, 1, 1], 0.35, 0.1)
    sl = out.sample_losses.detach()
    assert (sl == 0).any() and (sl > 0).any()
    inactive = sl == 0
    # samples whose hinge is inactive only receive gradient through centroids
    e = emb.clone().requires_grad_(True)
    out2 = clmle_loss(
        e,
        torch.tensor([0, 0, 1, 1]),
        torch.tensor([0, 0, 1, 1]),
        0.35,
        0.1,
        detach_centroids=True,
    )
    out2.loss.backward()
    assert torch.equal(e.grad[inactive], torch.zeros_like(e.grad[inactive]))


def test_no_same_class_second_cluster():
    # every class has exactly one cluster: the within-class term is absent
    emb, clusters, labels = _batch(5, n_clusters=3, per=3, classes=(0, 1, 2))
    out, _ = _compare(emb, clusters, labels, 0.4, 0.3)
    out_no_within, _ = _compare(emb, clusters, labels, 0.4, 1.7)
    assert torch.allclose(out.loss, out_no_within.loss)


def test_no_other_class_in_batch():
    emb, clusters, labels = _batch(6, n_clusters=3, per=2, classes=(1, 1, 1))
    out, _ = _compare(emb, clusters, labels, 0.4, 0.3)
    out_other_margin, _ = _compare(emb, clusters, labels, 1.9, 0.3)
    assert torch.allclose(out.loss, out_other_margin.loss)


def test_single_cluster_gives_zero_and_backward_works():
    emb = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    out = clmle_loss(
        emb,
        torch.zeros(5, dtype=torch.long),
        torch.zeros(5, dtype=torch.long),
        0.5,
        0.2,
    )
    out.loss.backward()
    assert float(out.loss.detach()) == 0.0
    assert torch.isfinite(emb.grad).all()
    assert torch.equal(emb.grad, torch.zeros_like(emb))


def test_cluster_with_one_sample_and_zero_embedding():
    emb = torch.tensor(
        [[0.0, 0.0, 0.0], [1.0, 0.2, 0.0], [0.3, 1.0, 0.1], [0.2, 0.9, 0.0]],
        dtype=torch.float64,
    )
    # zero embedding row: normalisation must not produce NaN
    e = emb.clone().requires_grad_(True)
    out = clmle_loss(
        e, torch.tensor([0, 1, 2, 2]), torch.tensor([0, 0, 1, 1]), 0.5, 0.2
    )
    out.loss.backward()
    assert torch.isfinite(out.loss) and torch.isfinite(e.grad).all()
    _compare(emb[1:], [1, 2, 2], [0, 1, 1], 0.5, 0.2)


def test_gradient_direction_float32_matches_reference():
    emb, clusters, labels = _batch(
        7, n_clusters=6, per=4, dim=8, classes=(0, 0, 0, 1, 1, 2)
    )
    e = emb.float().requires_grad_(True)
    clmle_loss(
        e, torch.tensor(clusters), torch.tensor(labels), 0.4, 0.2
    ).loss.backward()
    e2 = emb.clone().requires_grad_(True)
    reference_clmle(e2, clusters, labels, 0.4, 0.2)[0].backward()
    cos = torch.nn.functional.cosine_similarity(
        e.grad.double().ravel(), e2.grad.ravel(), dim=0
    )
    assert cos > 0.999


def test_large_scale_tends_to_hardest_cluster_hinge():
    emb, clusters, labels = _batch(8, n_clusters=4, per=3)
    out = clmle_loss(
        emb,
        torch.tensor(clusters),
        torch.tensor(labels),
        0.4,
        0.2,
        scale=1e4,
        cost_sensitive=False,
    )
    f = torch.nn.functional.normalize(emb, dim=1)
    mu = torch.stack(
        [
            torch.nn.functional.normalize(f[3 * m : 3 * m + 3].sum(0), dim=0)
            for m in range(4)
        ]
    )
    sim = f @ mu.T
    expected = []
    for i in range(12):
        m, c = clusters[i], labels[i]
        own = sim[i, m]
        other = max(sim[i, k] for k in range(4) if (0, 0, 1, 1)[k] != c)
        same = max(sim[i, k] for k in range(4) if k != m and (0, 0, 1, 1)[k] == c)
        expected.append(max(0.4 - own + other, 0) + max(0.2 - own + same, 0))
    assert torch.allclose(
        out.sample_losses, torch.tensor(expected, dtype=torch.float64), atol=1e-3
    )


def test_cluster_losses_are_member_means_and_ids_sorted():
    emb, clusters, labels = _batch(9, n_clusters=4, per=3)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    cl = torch.tensor(clusters)[perm] + 10
    lab = torch.tensor(labels)[perm]
    out = clmle_loss(emb[perm], cl, lab, 0.4, 0.2)
    assert out.cluster_ids.tolist() == [10, 11, 12, 13]
    for j, cid in enumerate(out.cluster_ids):
        assert torch.allclose(
            out.cluster_losses[j], out.sample_losses[cl == cid].mean()
        )
    assert not out.cluster_losses.requires_grad


def test_detached_centroids_match_reference():
    emb, clusters, labels = _batch(10, n_clusters=4, per=3)
    _compare(emb, clusters, labels, 0.4, 0.2, detach_centroids=True)


def test_inconsistent_cluster_labels_raise():
    with pytest.raises(ValueError, match="same label"):
        clmle_loss(
            torch.randn(4, 3),
            torch.tensor([0, 0, 1, 1]),
            torch.tensor([0, 1, 1, 1]),
            0.4,
            0.2,
        )


def test_margin_bounds_follow_the_paper():
    a1, a2 = clmle_margin_bounds([700, 200, 100])
    assert math.isclose(a1, 1 - math.cos(2 * math.pi / 3))
    assert torch.allclose(
        a2,
        torch.tensor(
            [
                1 - math.cos(math.pi),  # 2 pi * 0.7 > pi: clipped to pi
                1 - math.cos(2 * math.pi * 0.2),
                1 - math.cos(2 * math.pi * 0.1),
            ],
            dtype=torch.float64,
        ),
    )
    b1, b2 = default_clmle_margins([700, 200, 100])
    assert math.isclose(b1, a1)
    assert (b2 <= 0.5 * b1 + 1e-12).all() and (b2 > 0).all()
    # smaller classes get smaller within-class margins
    assert b2[2] < b2[1] <= b2[0]
    c1, c2 = default_clmle_margins([700, 200, 100], 0.5, 0.25)
    assert math.isclose(c1, 0.5 * a1) and torch.allclose(c2, 0.5 * b2)
    with pytest.raises(ValueError):
        default_clmle_margins([1, 2], fraction_between=1.5)


def reference_open_choices(emb, clusters, labels, a1, a2, scale, normalize, literal):
    """Eq. 9 by loops, with Sec. 3.3's options written out from the text.

    ``normalize=False``: centroid ``mu_hat_m = sum_i f_i / n_m`` (Sec. 3.3).
    ``literal=True``: ``(1/B) sum_i (B / n_c(i)) l_i`` (inverse class frequency
    ``B / n_c`` and Eq. 9's ``1/(Ml)``), no division by the summed weights.
    """
    n = emb.shape[0]
    f = [emb[i] / torch.sqrt((emb[i] ** 2).sum()) for i in range(n)]
    ids = sorted(set(clusters))
    mu, cls_of = {}, {}
    for m in ids:
        members = [f[i] for i in range(n) if clusters[i] == m]
        s = sum(members)
        mu[m] = s / torch.sqrt((s**2).sum()) if normalize else s / len(members)
        cls_of[m] = next(labels[i] for i in range(n) if clusters[i] == m)
    total = 0.0 * emb.sum()  # zero, in the graph (a batch may have no pair)
    weight_sum = 0.0
    for i in range(n):
        m, c = clusters[i], labels[i]
        own = torch.dot(f[i], mu[m])
        li = torch.zeros((), dtype=emb.dtype)
        for group, a in (
            ([k for k in ids if cls_of[k] != c], a1),
            ([k for k in ids if k != m and cls_of[k] == c], a2),
        ):
            if group:
                lse = torch.log(
                    sum(torch.exp(scale * torch.dot(f[i], mu[k])) for k in group)
                )
                li = li + torch.clamp(a - own + lse / scale, min=0.0)
        n_c = sum(1 for j in range(n) if labels[j] == c)
        w = n / n_c  # inverse class frequency in the batch
        total = total + w * li
        weight_sum += w
    return total / n if literal else total / weight_sum


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("literal", [True, False])
@pytest.mark.parametrize(
    "classes", [(0, 0, 1, 1), (0, 1, 2, 2), (0, 0, 0, 0), (0,), (0, 1, 1, 1)]
)
def test_open_choices_match_paper_shaped_reference(normalize, literal, classes):
    emb, clusters, labels = _batch(3, n_clusters=len(classes), classes=classes)
    if classes == (0, 1, 1, 1):  # a class with one sample
        emb, clusters, labels = emb[2:], clusters[2:], labels[2:]
    e1 = emb.clone().requires_grad_(True)
    out = clmle_loss(
        e1,
        torch.tensor(clusters),
        torch.tensor(labels),
        0.6,
        0.3,
        scale=4.0,
        normalize_centroids=normalize,
        renormalize_cost_weights=not literal,
    )
    out.loss.backward()
    e2 = emb.clone().requires_grad_(True)
    ref = reference_open_choices(
        e2, clusters, labels, 0.6, 0.3, 4.0, normalize, literal
    )
    ref.backward()
    assert torch.allclose(out.loss.detach(), ref.detach(), atol=1e-10)
    assert torch.isfinite(e1.grad).all()
    assert torch.allclose(e1.grad, e2.grad, atol=1e-10)


def test_literal_cost_weights_scale_with_classes_in_batch():
    # the renormalised loss is the literal one divided by the classes present
    for classes in ((0, 0, 1, 1), (0, 1, 2, 2)):
        emb, clusters, labels = _batch(8, classes=classes)
        args = (emb, torch.tensor(clusters), torch.tensor(labels), 0.9, 0.4)
        lit = clmle_loss(*args, scale=8.0, renormalize_cost_weights=False).loss
        ren = clmle_loss(*args, scale=8.0).loss
        assert float(ren) > 0
        assert math.isclose(float(lit), len(set(classes)) * float(ren), rel_tol=1e-12)


def test_unnormalised_centroid_is_the_plain_batch_mean():
    # two members at 90 degrees: mean has norm 1/sqrt(2), so f^T mu_hat = 1/2
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    out = clmle_loss(
        emb,
        torch.tensor([0, 0, 1]),
        torch.tensor([0, 0, 1]),
        0.0,
        0.0,
        normalize_centroids=False,
        cost_sensitive=False,
    )
    # sample 0: own 0.5, other class centroid (-1, 0): sim -1 -> [0 - 0.5 - 1]_+ = 0
    # sample 2: own 1, other centroid (0.5, 0.5): sim -0.5 -> 0
    assert float(out.loss) == 0.0
    out = clmle_loss(
        emb,
        torch.tensor([0, 0, 1]),
        torch.tensor([0, 0, 1]),
        2.0,
        0.0,
        normalize_centroids=False,
        cost_sensitive=False,
    )
    # a1 = 2: sample 0: 2 - 0.5 - 1 = 0.5; sample 1: 2 - 0.5 + 0 = 1.5;
    # sample 2: 2 - 1 - 0.5 = 0.5 -> mean 2.5 / 3
    assert math.isclose(float(out.loss), 2.5 / 3, rel_tol=1e-12)
