"""Weighted multi-task cross-entropy against a plain loop."""

import math

import torch

from skimbalance.losses.cross_entropy import (
    WeightedCrossEntropy,
    weighted_cross_entropy,
)


def reference(logits, targets, weight):
    total = 0.0
    B, T, _ = logits.shape
    for b in range(B):
        for t in range(T):
            row = logits[b, t].tolist()
            log_z = math.log(sum(math.exp(v) for v in row))
            total += weight[b][t] * (log_z - row[targets[b][t]])
    return total / (B * T)


def test_matches_loop_and_gradient_finite():
    torch.manual_seed(0)
    logits = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 4, (6, 3))
    weight = torch.rand(6, 3, dtype=torch.float64)
    loss = weighted_cross_entropy(logits, targets, weight)
    assert math.isclose(
        float(loss.detach()),
        reference(logits, targets.tolist(), weight.tolist()),
        rel_tol=1e-10,
    )
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_unweighted_is_torch_cross_entropy_and_module_reads_batch_weights():
    torch.manual_seed(1)
    logits = torch.randn(5, 1, 3)
    targets = torch.randint(0, 3, (5, 1))
    plain = torch.nn.functional.cross_entropy(logits[:, 0], targets[:, 0])
    torch.testing.assert_close(weighted_cross_entropy(logits, targets), plain)
    weight = torch.zeros(5, 1)
    crit = WeightedCrossEntropy()
    assert float(crit((logits, None), targets, {"sample_weight": weight})) == 0.0
