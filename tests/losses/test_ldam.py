"""LDAM margins, loss and cosine head against plain loops and degenerate batches."""

import math

import pytest
import torch

from skimbalance.losses.cross_entropy import weighted_cross_entropy
from skimbalance.losses.ldam import CosineTaskHead, LDAMLoss, ldam_loss, ldam_margins


def margins_reference(counts, max_margin):
    """Delta_j = C / n_j^(1/4) with C making the largest margin max_margin."""
    out = []
    for row in counts:
        row = [max(c, 1) for c in row]
        raw = [1.0 / c**0.25 for c in row]
        const = max_margin / max(raw)
        out.append([const * r for r in raw])
    return out


def loss_reference(cosine, targets, margins, weight, scale):
    """mean over (b, t) of w * CE(s * (cos - Delta_y e_y)), with plain floats."""
    total, B, T = 0.0, len(cosine), len(cosine[0])
    for b in range(B):
        for t in range(T):
            y = targets[b][t]
            row = [
                scale * (c - (margins[t][j] if j == y else 0.0))
                for j, c in enumerate(cosine[b][t])
            ]
            log_z = math.log(sum(math.exp(v) for v in row))
            total += weight[b][t] * (log_z - row[y])
    return total / (B * T)


def test_margins_by_hand_and_against_loop():
    torch.testing.assert_close(ldam_margins([[16, 1]]), torch.tensor([[0.25, 0.5]]))
    counts = [[1000, 100, 10, 1], [5, 5, 7, 0]]  # one sample; an absent class
    torch.testing.assert_close(
        ldam_margins(counts, max_margin=0.8),
        torch.tensor(margins_reference(counts, 0.8)),
    )
    with pytest.raises(ValueError, match="max_margin"):
        ldam_margins(counts, max_margin=-0.1)
    with pytest.raises(ValueError, match="shape"):
        ldam_margins([3, 4])


@pytest.mark.parametrize(
    "targets",
    [
        torch.tensor([[0, 1], [3, 0], [2, 2], [1, 3], [0, 1]]),
        torch.full((5, 2), 3),  # one class only (the class of one sample)
    ],
    ids=["mixed", "one-class"],
)
def test_loss_matches_loop_over_tasks_and_gradient_finite(targets):
    torch.manual_seed(0)
    counts = [[500, 50, 5, 1], [9, 9, 1, 3]]
    margins = ldam_margins(counts).double()
    cosine = (torch.rand(5, 2, 4, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    weight = torch.rand(5, 2, dtype=torch.float64)
    loss = ldam_loss(30.0 * cosine, targets, margins, weight, scale=30.0)
    expected = loss_reference(
        cosine.tolist(), targets.tolist(), margins.tolist(), weight.tolist(), 30.0
    )
    assert math.isclose(float(loss.detach()), expected, rel_tol=1e-10)
    loss.backward()
    assert torch.isfinite(cosine.grad).all()


def test_hand_worked_value_and_zero_margin_is_cross_entropy():
    # cos = (0.5, 0), margin 0.5 on the target: both logits become 0 -> log 2.
    cos = torch.tensor([[[0.5, 0.0]]], dtype=torch.float64)
    loss = ldam_loss(
        10.0 * cos, torch.tensor([[0]]), torch.tensor([[0.5, 0.1]]), scale=10.0
    )
    assert math.isclose(float(loss), math.log(2.0), rel_tol=1e-12)
    logits, targets = torch.randn(6, 1, 3), torch.randint(0, 3, (6, 1))
    zero = ldam_margins([[5, 2, 1]], max_margin=0.0)
    assert torch.equal(
        ldam_loss(logits, targets, zero, scale=30.0),
        weighted_cross_entropy(logits, targets),
    )


def test_cosine_head_against_loop_and_zero_embedding_gradient():
    torch.manual_seed(3)
    head = CosineTaskHead(2, 3, 4, scale=7.0)
    emb = torch.randn(5, 2, 3)
    out = head(emb).detach()
    w = head.weight.detach()
    for b in range(5):
        for t in range(2):
            e = emb[b, t].tolist()
            for c in range(4):
                v = w[t, c].tolist()
                cos = sum(x * y for x, y in zip(e, v, strict=True)) / (
                    math.sqrt(sum(x * x for x in e)) * math.sqrt(sum(y * y for y in v))
                )
                assert math.isclose(float(out[b, t, c]), 7.0 * cos, rel_tol=1e-5)
    zero = torch.zeros(2, 2, 3, requires_grad=True)
    head(zero).sum().backward()
    assert torch.isfinite(zero.grad).all() and torch.isfinite(head.weight.grad).all()


def test_criterion_with_a_class_of_one_sample_through_the_head():
    torch.manual_seed(4)
    head = CosineTaskHead(1, 8, 3, scale=30.0)
    crit = LDAMLoss(max_margin=0.5, scale=30.0, class_counts=[[200, 20, 1]])
    torch.testing.assert_close(
        crit.margins, torch.tensor(margins_reference([[200, 20, 1]], 0.5))
    )
    emb = torch.randn(4, 1, 8, requires_grad=True)
    targets = torch.tensor([[2], [2], [0], [2]])  # class 1 absent from the batch
    loss = crit((head(emb), emb), targets, {"sample_weight": torch.ones(4, 1)})
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(emb.grad).all() and torch.isfinite(head.weight.grad).all()
    # the rarest class pays the largest margin: a tied sample of it loses most
    tie = torch.zeros(3, 1, 3)
    per_class = [
        float(crit((tie[:1], None), torch.tensor([[c]]), {})) for c in range(3)
    ]
    assert per_class[0] < per_class[1] < per_class[2]
