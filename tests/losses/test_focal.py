"""Focal loss against a plain loop, hand-worked values and degenerate batches."""

import math

import pytest
import torch

from skimbalance.losses.cross_entropy import weighted_cross_entropy
from skimbalance.losses.focal import FocalLoss, focal_loss


def reference(logits, targets, weight, gamma):
    """mean over (b, t) of w * -(1 - p) ** gamma * log p, with plain floats."""
    total, B, T = 0.0, len(logits), len(logits[0])
    for b in range(B):
        for t in range(T):
            row = logits[b][t]
            z = sum(math.exp(v) for v in row)
            p = math.exp(row[targets[b][t]]) / z
            total += weight[b][t] * -((1.0 - p) ** gamma) * math.log(p)
    return total / (B * T)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize(
    "targets",
    [
        torch.tensor([[0, 1, 2], [3, 0, 1], [2, 2, 0], [1, 3, 3], [0, 0, 2]]),
        torch.zeros(5, 3, dtype=torch.long),  # one class only; 1-3 absent
    ],
    ids=["mixed", "one-class"],
)
def test_matches_loop_over_tasks_and_gradient_finite(gamma, targets):
    torch.manual_seed(0)
    logits = torch.randn(5, 3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.rand(5, 3, dtype=torch.float64)
    loss = focal_loss(logits, targets, weight, gamma=gamma)
    expected = reference(logits.tolist(), targets.tolist(), weight.tolist(), gamma)
    assert math.isclose(float(loss.detach()), expected, rel_tol=1e-10)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_hand_worked_value():
    # p_y = 3 / (3 + 1) = 0.75: (1 - 0.75)^2 * -log 0.75
    logits = torch.tensor([[[math.log(3.0), 0.0]]], dtype=torch.float64)
    loss = focal_loss(logits, torch.tensor([[0]]), gamma=2.0)
    assert math.isclose(float(loss), 0.0625 * -math.log(0.75), rel_tol=1e-12)


def test_gamma_zero_is_the_weighted_cross_entropy_exactly():
    torch.manual_seed(1)
    logits = torch.randn(6, 2, 3)
    targets = torch.randint(0, 3, (6, 2))
    weight = torch.rand(6, 2)
    assert torch.equal(
        focal_loss(logits, targets, weight, gamma=0.0),
        weighted_cross_entropy(logits, targets, weight),
    )


def test_focal_is_below_cross_entropy_and_focuses_on_hard_samples():
    easy = torch.tensor([[[4.0, 0.0]]])
    hard = torch.tensor([[[0.0, 4.0]]])
    y = torch.tensor([[0]])
    ratio_easy = focal_loss(easy, y, gamma=2.0) / weighted_cross_entropy(easy, y)
    ratio_hard = focal_loss(hard, y, gamma=2.0) / weighted_cross_entropy(hard, y)
    assert ratio_easy < 0.001 < 0.9 < ratio_hard < 1.0


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_confident_samples_keep_finite_gradients(gamma, dtype):
    # p -> 1 (1 - p rounds to 0) and p -> 0 in the same batch.
    logits = torch.tensor([[[800.0, 0.0]], [[-800.0, 0.0]]], dtype=dtype)
    logits.requires_grad_(True)
    loss = focal_loss(logits, torch.tensor([[0], [0]]), gamma=gamma)
    loss.backward()
    assert torch.isfinite(loss)
    assert math.isclose(float(loss.detach()), 400.0, rel_tol=1e-6)
    assert torch.isfinite(logits.grad).all()


def test_negative_gamma_is_rejected():
    with pytest.raises(ValueError, match="gamma must be >= 0"):
        focal_loss(torch.zeros(1, 1, 2), torch.tensor([[0]]), gamma=-1.0)


def test_module_reads_batch_weights():
    logits = torch.randn(4, 1, 3)
    targets = torch.tensor([[0], [1], [2], [0]])
    weight = torch.tensor([[1.0], [0.0], [2.0], [1.0]])
    crit = FocalLoss(gamma=1.5)
    assert torch.equal(
        crit((logits, None), targets, {"sample_weight": weight}),
        focal_loss(logits, targets, weight, gamma=1.5),
    )
