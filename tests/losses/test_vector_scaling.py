"""VS loss against a plain loop, and its reductions to CE and logit adjustment."""

import math

import pytest
import torch

from skimbalance.losses.cross_entropy import weighted_cross_entropy
from skimbalance.losses.logit_adjusted import log_class_prior, logit_adjusted_loss
from skimbalance.losses.vector_scaling import VSLoss, vs_loss, vs_parameters


def reference(logits, targets, counts, weight, gamma, tau):
    """mean over (b, t) of w * -log softmax(Delta z + iota)[y], from plain counts."""
    total, B, T = 0.0, len(logits), len(logits[0])
    for b in range(B):
        for t in range(T):
            n = [max(c, 1) for c in counts[t]]
            row = [
                (n_j / max(n)) ** gamma * z + tau * math.log(n_j / sum(counts[t]))
                for z, n_j in zip(logits[b][t], n, strict=True)
            ]
            log_z = math.log(sum(math.exp(v) for v in row))
            total += weight[b][t] * (log_z - row[targets[b][t]])
    return total / (B * T)


def test_parameters_by_hand():
    scale, offset = vs_parameters([[100, 25, 1], [4, 0, 4]], gamma=0.5, tau=2.0)
    torch.testing.assert_close(
        scale, torch.tensor([[1.0, 0.5, 0.1], [1.0, 0.5, 1.0]])
    )  # the absent class counts one sample
    torch.testing.assert_close(
        offset,
        2.0
        * torch.log(torch.tensor([[100 / 126, 25 / 126, 1 / 126], [0.5, 1 / 8, 0.5]])),
    )
    with pytest.raises(ValueError, match="gamma"):
        vs_parameters([[1, 2]], gamma=-1.0)
    with pytest.raises(ValueError, match="tau"):
        vs_parameters([[1, 2]], tau=math.inf)
    with pytest.raises(ValueError, match="positive total"):
        vs_parameters([[0, 0]])


@pytest.mark.parametrize("gamma, tau", [(0.2, 1.0), (0.5, 0.0), (1.0, 1.5)])
@pytest.mark.parametrize(
    "targets",
    [
        torch.tensor([[0, 1], [2, 0], [1, 1], [0, 0]]),  # class 2 of task 1 absent
        torch.tensor([[2, 1], [2, 1], [2, 1], [2, 1]]),  # one class per task
    ],
    ids=["mixed", "one-class"],
)
def test_matches_loop_and_gradient_finite(gamma, tau, targets):
    torch.manual_seed(0)
    counts = [[50, 9, 1], [7, 3, 0]]  # a class of one sample; an absent class
    logits = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.rand(4, 2, dtype=torch.float64)
    scale, offset = vs_parameters(counts, gamma=gamma, tau=tau)
    loss = vs_loss(logits, targets, scale.double(), offset.double(), weight)
    expected = reference(
        logits.tolist(), targets.tolist(), counts, weight.tolist(), gamma, tau
    )
    assert math.isclose(float(loss.detach()), expected, rel_tol=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_reduces_to_cross_entropy_and_to_logit_adjustment():
    torch.manual_seed(1)
    counts = [[40, 8, 2]]
    logits, targets = torch.randn(6, 1, 3), torch.randint(0, 3, (6, 1))
    weight = torch.rand(6, 1)
    scale, offset = vs_parameters(counts, gamma=0.0, tau=0.0)
    torch.testing.assert_close(
        vs_loss(logits, targets, scale, offset, weight),
        weighted_cross_entropy(logits, targets, weight),
    )
    for tau in (0.5, 1.0):
        scale, offset = vs_parameters(counts, gamma=0.0, tau=tau)
        torch.testing.assert_close(
            vs_loss(logits, targets, scale, offset, weight),
            logit_adjusted_loss(
                logits, targets, log_class_prior(counts), weight, tau=tau
            ),
        )


def test_rare_class_scale_raises_its_loss_at_a_margin():
    # The same positive margin of the rare class's logit counts for less when
    # scaled by Delta < 1: the loss keeps pushing the margin up.
    logits = torch.tensor([[[0.0, 3.0]]])
    target = torch.tensor([[1]])
    scale, offset = vs_parameters([[100, 1]], gamma=0.3, tau=0.0)
    assert float(vs_loss(logits, target, scale, offset)) > float(
        weighted_cross_entropy(logits, target)
    )


def test_module_follows_the_criterion_protocol():
    crit = VSLoss(gamma=0.25, tau=1.0, class_counts=[[30, 3]])
    logits = torch.randn(5, 1, 2)
    y = torch.randint(0, 2, (5, 1))
    w = torch.rand(5, 1)
    torch.testing.assert_close(
        crit((logits, None), y, {"sample_weight": w}),
        vs_loss(logits, y, crit.scale, crit.offset, w),
    )
    assert set(dict(crit.named_buffers())) == {"scale", "offset"}
