import itertools
import math

import pytest
import torch
from torch.nn import functional as F

from skimbalance.losses.large_margin import (
    MARGIN_TYPES,
    chebyshev_cos_multiple,
    large_margin_loss,
    large_margin_psi,
    margin_logits,
    margin_value,
    plain_logits,
    target_angular_value,
)

DT = torch.float64


def _psi_reference(theta, m):
    """Plain-Python psi_m(theta) from the piecewise definition."""
    r = min(int(m * theta / math.pi), m - 1)
    return (-1) ** r * math.cos(m * theta) - 2 * r


def _family_reference(theta, m, margin_type):
    if margin_type in ("large_margin", "sphereface"):
        return _psi_reference(theta, m)
    if margin_type == "cosface":
        return math.cos(theta) - (m - 1) * 0.175
    a = (m - 1) * 0.2
    if theta + a <= math.pi:
        return math.cos(theta + a)
    return math.cos(theta) - (1 - math.cos(a))


def _loop_loss(features, weight, targets, margins, margin_type, scale=30.0):
    """Per-sample loss with loops, torch scalars (for autograd) and acos/cos(m t)."""
    losses = []
    for i in range(features.shape[0]):
        f = features[i]
        y = int(targets[i])
        m = int(margins[i])
        logits = []
        for j in range(weight.shape[0]):
            w = weight[j]
            cos = torch.dot(w, f) / (w.norm() * f.norm())
            if margin_type == "large_margin":
                factor = w.norm() * f.norm()
            elif margin_type == "sphereface":
                factor = f.norm()
            else:
                factor = torch.tensor(scale, dtype=f.dtype)
            if j != y:
                logits.append(factor * cos)
                continue
            theta = torch.acos(cos)
            if margin_type in ("large_margin", "sphereface"):
                r = min(int(m * theta.item() / math.pi), m - 1)
                value = (-1) ** r * torch.cos(m * theta) - 2 * r
            elif margin_type == "cosface":
                value = cos - (m - 1) * 0.175
            else:
                a = (m - 1) * 0.2
                if theta.item() + a <= math.pi:
                    value = torch.cos(theta + a)
                else:
                    value = cos - (1 - math.cos(a))
            logits.append(factor * value)
        logits = torch.stack(logits)
        losses.append(-torch.log_softmax(logits, 0)[y])
    return torch.stack(losses)


def _problem(seed=0, n=7, c=4, d=5):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n, d, generator=g, dtype=DT)
    weight = torch.randn(c, d, generator=g, dtype=DT)
    targets = torch.randint(0, c, (n,), generator=g)
    return features, weight, targets


def test_psi_equals_cos_for_m1():
    theta = torch.linspace(0, math.pi, 101, dtype=DT)
    assert torch.allclose(large_margin_psi(torch.cos(theta), 1), torch.cos(theta))


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_psi_continuous_decreasing_and_matches_definition(m):
    theta = torch.linspace(0, math.pi, 4001, dtype=DT)
    psi = large_margin_psi(torch.cos(theta), m)
    ref = torch.tensor([_psi_reference(float(t), m) for t in theta], dtype=DT)
    assert torch.allclose(psi, ref, atol=1e-9)
    steps = psi[1:] - psi[:-1]
    assert bool((steps <= 1e-12).all())  # monotonically decreasing
    # continuity: no jump larger than the slope bound m * dtheta allows
    assert float(steps.abs().max()) <= m * (math.pi / 4000) * 1.01
    assert psi[0] == pytest.approx(1.0)
    assert psi[-1] == pytest.approx(1.0 - 2.0 * m)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 4, 5])
def test_chebyshev_matches_cos_m_acos(m):
    x = torch.linspace(-1, 1, 201, dtype=DT)
    assert torch.allclose(
        chebyshev_cos_multiple(x, m), torch.cos(m * torch.acos(x)), atol=1e-10
    )


def test_chebyshev_per_entry_order():
    x = torch.tensor([0.3, 0.3, 0.3], dtype=DT)
    m = torch.tensor([1, 2, 4])
    expected = torch.cos(m * torch.acos(x))
    assert torch.allclose(chebyshev_cos_multiple(x, m), expected)


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_target_value_continuous_decreasing(margin_type, m):
    theta = torch.linspace(0, math.pi, 2001, dtype=DT)
    value = target_angular_value(torch.cos(theta), m, margin_type)
    ref = torch.tensor(
        [_family_reference(float(t), m, margin_type) for t in theta], dtype=DT
    )
    assert torch.allclose(value, ref, atol=1e-6)
    steps = value[1:] - value[:-1]
    assert bool((steps <= 1e-9).all())
    assert float(steps.abs().max()) < 0.01


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_finite_gradient_at_theta_0_and_pi(margin_type, m):
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=DT, requires_grad=True)
    # theta_y = 0 for sample 0, theta_y = pi for sample 1
    features = torch.tensor([[2.0, 0.0], [-3.0, 0.0]], dtype=DT, requires_grad=True)
    targets = torch.tensor([0, 0])
    loss = large_margin_loss(features, weight, targets, m, margin_type=margin_type)
    assert torch.isfinite(loss).all()
    loss.sum().backward()
    assert torch.isfinite(features.grad).all()
    assert torch.isfinite(weight.grad).all()


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_margin_one_is_cross_entropy_of_plain_logits(margin_type):
    features, weight, targets = _problem(1)
    loss = large_margin_loss(features, weight, targets, 1, margin_type=margin_type)
    expected = F.cross_entropy(
        plain_logits(features, weight, margin_type=margin_type),
        targets,
        reduction="none",
    )
    assert torch.allclose(loss, expected, atol=1e-10)
    none_margin = large_margin_loss(features, weight, targets, margin_type=margin_type)
    assert torch.allclose(none_margin, expected, atol=1e-10)


def test_large_margin_at_m1_is_plain_cross_entropy_of_wf():
    features, weight, targets = _problem(2)
    loss = large_margin_loss(features, weight, targets, torch.ones(7, dtype=torch.long))
    expected = F.cross_entropy(features @ weight.T, targets, reduction="none")
    assert torch.allclose(loss, expected, atol=1e-10)


def test_plain_logits_definitions():
    features, weight, _ = _problem(3)
    w_hat = weight / weight.norm(dim=1, keepdim=True)
    f_hat = features / features.norm(dim=1, keepdim=True)
    assert torch.allclose(plain_logits(features, weight), features @ weight.T)
    assert torch.allclose(
        plain_logits(features, weight, margin_type="sphereface"), features @ w_hat.T
    )
    for kind in ("cosface", "arcface"):
        assert torch.allclose(
            plain_logits(features, weight, margin_type=kind, scale=7.0),
            7.0 * f_hat @ w_hat.T,
        )


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_loss_matches_loop_reference_value_and_gradient(margin_type):
    features, weight, targets = _problem(4, n=9)
    margins = torch.tensor([1, 2, 3, 4, 1, 2, 3, 4, 2])
    features.requires_grad_(True)
    weight.requires_grad_(True)
    loss = large_margin_loss(
        features, weight, targets, margins, margin_type=margin_type
    )
    ref = _loop_loss(features, weight, targets, margins, margin_type)
    assert torch.allclose(loss, ref, atol=1e-8)
    g_f, g_w = torch.autograd.grad(loss.sum(), (features, weight))
    r_f, r_w = torch.autograd.grad(ref.sum(), (features, weight))
    for got, want in ((g_f, r_f), (g_w, r_w)):
        assert F.cosine_similarity(got.flatten(), want.flatten(), dim=0) > 0.99
        assert torch.allclose(got, want, atol=1e-7)


def test_each_sample_uses_its_own_margin():
    features, weight, targets = _problem(5, n=6)
    margins = torch.tensor([1, 3, 2, 1, 4, 2])
    batch = large_margin_loss(features, weight, targets, margins)
    for i in range(6):
        single = large_margin_loss(
            features[i : i + 1], weight, targets[i : i + 1], int(margins[i])
        )
        assert torch.allclose(batch[i], single[0])


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_larger_margin_is_stricter(margin_type):
    features, weight, targets = _problem(6, n=20)
    losses = [
        large_margin_loss(features, weight, targets, m, margin_type=margin_type)
        for m in (1, 2, 3, 4)
    ]
    for low, high in itertools.pairwise(losses):
        assert bool((high >= low - 1e-12).all())
    assert bool((losses[-1] > losses[0]).any())


def test_task_axis_matches_per_task_computation():
    g = torch.Generator().manual_seed(7)
    features = torch.randn(5, 3, 4, generator=g, dtype=DT)
    weight = torch.randn(3, 2, 4, generator=g, dtype=DT)
    targets = torch.randint(0, 2, (5, 3), generator=g)
    margins = torch.randint(1, 4, (5, 3), generator=g)
    for kind in MARGIN_TYPES:
        loss = large_margin_loss(features, weight, targets, margins, margin_type=kind)
        assert loss.shape == (5, 3)
        for t in range(3):
            single = large_margin_loss(
                features[:, t],
                weight[t],
                targets[:, t],
                margins[:, t],
                margin_type=kind,
            )
            assert torch.allclose(loss[:, t], single)
    # shared (B, D) features broadcast over the tasks
    shared = features[:, 0]
    loss = large_margin_loss(shared, weight, targets, margins)
    for t in range(3):
        single = large_margin_loss(shared, weight[t], targets[:, t], margins[:, t])
        assert torch.allclose(loss[:, t], single)


def test_margin_logits_only_change_the_true_class():
    features, weight, targets = _problem(8)
    logits = margin_logits(features, weight, targets, 3)
    plain = plain_logits(features, weight)
    mask = F.one_hot(targets, 4).bool()
    assert torch.allclose(logits[~mask], plain[~mask])
    assert bool((logits[mask] <= plain[mask] + 1e-12).all())


def test_softmax_weight_interpolates():
    features, weight, targets = _problem(9)
    pure = large_margin_loss(features, weight, targets, 3)
    plain = large_margin_loss(features, weight, targets, 1)
    blended = large_margin_loss(features, weight, targets, 3, softmax_weight=1.0)
    assert bool((blended <= pure + 1e-12).all())
    assert bool((blended >= plain - 1e-12).all())


def test_margin_value_mapping():
    m = torch.tensor([1, 2, 3])
    assert margin_value(m, "large_margin").tolist() == [1, 2, 3]
    assert torch.allclose(margin_value(m, "cosface"), torch.tensor([0.0, 0.175, 0.35]))
    assert torch.allclose(margin_value(m, "arcface"), torch.tensor([0.0, 0.2, 0.4]))


def test_degenerate_inputs():
    weight = torch.randn(3, 4, dtype=DT, requires_grad=True)
    features = torch.zeros(2, 4, dtype=DT, requires_grad=True)
    for kind in MARGIN_TYPES:
        loss = large_margin_loss(
            features, weight, torch.tensor([0, 2]), 3, margin_type=kind
        )
        assert torch.isfinite(loss).all()
        loss.sum().backward()
        assert torch.isfinite(weight.grad).all() and torch.isfinite(features.grad).all()
    # a single class: the loss is 0
    one = large_margin_loss(
        torch.randn(4, 2), torch.randn(1, 2), torch.zeros(4, dtype=torch.long), 2
    )
    assert torch.allclose(one, torch.zeros(4))


def test_invalid_arguments():
    features, weight, targets = _problem(10)
    with pytest.raises(ValueError, match="margin_type"):
        large_margin_loss(features, weight, targets, 2, margin_type="nope")
    with pytest.raises(ValueError, match=">= 1"):
        large_margin_loss(features, weight, targets, 0)
