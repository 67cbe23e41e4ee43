"""Logit-adjusted loss against a plain loop, and its balanced-error minimiser."""

import math

import pytest
import torch

from skimbalance.losses.cross_entropy import weighted_cross_entropy
from skimbalance.losses.logit_adjusted import (
    LogitAdjustedLoss,
    log_class_prior,
    logit_adjusted_loss,
)


def reference(logits, targets, counts, weight, tau):
    """mean over (b, t) of w * CE(z + tau * log prior), prior from plain counts."""
    total, B, T = 0.0, len(logits), len(logits[0])
    for b in range(B):
        for t in range(T):
            n = sum(counts[t])
            row = [
                z + tau * math.log(max(c, 1) / n)
                for z, c in zip(logits[b][t], counts[t], strict=True)
            ]
            log_z = math.log(sum(math.exp(v) for v in row))
            total += weight[b][t] * (log_z - row[targets[b][t]])
    return total / (B * T)


def test_log_prior_by_hand_and_absent_class_floored():
    prior = log_class_prior([[6, 3, 1], [4, 0, 6]]).exp()
    expected = torch.tensor([[0.6, 0.3, 0.1], [0.4, 0.1, 0.6]])
    torch.testing.assert_close(prior, expected)
    with pytest.raises(ValueError, match="shape"):
        log_class_prior([1, 2])
    with pytest.raises(ValueError, match="positive total"):
        log_class_prior([[0, 0]])


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
@pytest.mark.parametrize(
    "targets",
    [
        torch.tensor([[0, 1], [2, 0], [1, 1], [0, 0]]),
        torch.tensor([[2, 1], [2, 1], [2, 1], [2, 1]]),  # one class only per task
    ],
    ids=["mixed", "one-class"],
)
def test_matches_loop_over_tasks_and_gradient_finite(tau, targets):
    torch.manual_seed(0)
    counts = [[50, 9, 1], [7, 3, 0]]  # a class of one sample; an absent class
    logits = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.rand(4, 2, dtype=torch.float64)
    log_prior = log_class_prior(counts).double()
    loss = logit_adjusted_loss(logits, targets, log_prior, weight, tau=tau)
    expected = reference(
        logits.tolist(), targets.tolist(), counts, weight.tolist(), tau
    )
    assert math.isclose(float(loss.detach()), expected, rel_tol=1e-6)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_hand_worked_value_and_tau_zero_is_cross_entropy():
    log_prior = torch.log(torch.tensor([[0.8, 0.2]]))
    zero = torch.zeros(1, 1, 2)
    # Equal raw logits: the adjusted softmax is the prior itself.
    assert math.isclose(
        float(logit_adjusted_loss(zero, torch.tensor([[1]]), log_prior)),
        -math.log(0.2),
        rel_tol=1e-6,
    )
    torch.manual_seed(2)
    logits, targets = torch.randn(5, 1, 2), torch.randint(0, 2, (5, 1))
    assert torch.equal(
        logit_adjusted_loss(logits, targets, log_prior, tau=0.0),
        weighted_cross_entropy(logits, targets),
    )


def test_multilabel_label_never_positive_in_training_stays_finite():
    # Task 1 never saw its positive class; its prior is floored at one sample.
    crit = LogitAdjustedLoss(tau=1.0, class_counts=[[30, 10], [40, 0]])
    assert torch.isfinite(crit.log_prior).all()
    logits = torch.randn(6, 2, 2, requires_grad=True)
    targets = torch.tensor([[0, 0], [1, 0]] * 3)
    loss = crit((logits, None), targets, {"sample_weight": torch.ones(6, 2)})
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_minimiser_predicts_the_balanced_error_optimal_class():
    """Free logits per input cell, trained to the minimum of the adjusted loss.

    Three input cells; class 0 has 100 samples spread 60/30/10 over them, class 1
    has 10 spread 1/4/5. In cells 1 and 2, p(y | x) favours class 0 (30 vs 4,
    10 vs 5) but p(x | y) favours class 1 (0.4 vs 0.3, 0.5 vs 0.1): the
    cross-entropy minimiser predicts class 0 everywhere, the balanced-error
    rule ``argmax_y p(x | y)`` predicts [0, 1, 1]. With tau = 1 the raw logits
    of the minimiser differ by log p(x | 1) / p(x | 0) (Menon et al., Sec. 4).
    """
    per_cell = {0: [60, 30, 10], 1: [1, 4, 5]}
    cells, labels = [], []
    for label, counts in per_cell.items():
        for cell, count in enumerate(counts):
            cells += [cell] * count
            labels += [label] * count
    cells = torch.tensor(cells)
    targets = torch.tensor(labels).reshape(-1, 1)
    log_prior = log_class_prior([[100, 10]]).double()

    def fit(tau):
        table = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([table], max_iter=200, tolerance_grad=1e-12)

        def closure():
            opt.zero_grad()
            loss = logit_adjusted_loss(
                table[cells].unsqueeze(1), targets, log_prior, tau=tau
            )
            loss.backward()
            return loss

        opt.step(closure)
        return table.detach()

    adjusted, plain = fit(1.0), fit(0.0)
    assert adjusted.argmax(1).tolist() == [0, 1, 1]
    assert plain.argmax(1).tolist() == [0, 0, 0]
    gap = adjusted[:, 1] - adjusted[:, 0]
    expected = [
        math.log((c1 / 10) / (c0 / 100))
        for c0, c1 in zip(*per_cell.values(), strict=True)
    ]
    torch.testing.assert_close(
        gap, torch.tensor(expected, dtype=torch.float64), atol=1e-4, rtol=0
    )
