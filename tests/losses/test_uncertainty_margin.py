import itertools
import math

import pytest
import torch
from torch.nn import functional as F

from skimbalance.losses.large_margin import (
    MARGIN_TYPES,
    large_margin_loss,
    plain_logits,
)
from skimbalance.losses.uncertainty_margin import (
    error_moments,
    error_moments_from_passes,
    misclassification_probability,
    uncertainty_margin_loss,
)

DT = torch.float64


def _problem(seed=0, n=8, c=4, d=5):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n, d, generator=g, dtype=DT)
    weight = torch.randn(c, d, generator=g, dtype=DT)
    targets = torch.randint(0, c, (n,), generator=g)
    mean = features + 0.1 * torch.randn(n, d, generator=g, dtype=DT)
    var = torch.rand(n, d, generator=g, dtype=DT)
    return features, weight, targets, mean, var


def _loop_probability(mean, var, weight, targets):
    """F = max_j P(E_j > 0) with loops over samples, classes and dimensions."""
    out = []
    for i in range(mean.shape[0]):
        y = int(targets[i])
        best = torch.zeros((), dtype=mean.dtype)
        for j in range(weight.shape[0]):
            if j == y:
                continue
            diff = weight[j] - weight[y]
            mu = sum(diff[d] * mean[i, d] for d in range(mean.shape[1]))
            s2 = sum(diff[d] ** 2 * var[i, d] for d in range(mean.shape[1]))
            p = 0.5 * (1 + torch.erf(mu / torch.sqrt(2 * s2)))
            best = torch.maximum(best, p)
        out.append(best)
    return torch.stack(out)


def test_error_moments_match_loop():
    _, weight, targets, mean, var = _problem(1)
    mu, s2 = error_moments(mean, var, weight, targets)
    for i in range(mean.shape[0]):
        y = int(targets[i])
        for j in range(weight.shape[0]):
            diff = weight[j] - weight[y]
            assert float(mu[i, j]) == pytest.approx(float(diff @ mean[i]), abs=1e-10)
            want = float((diff**2 * var[i]).sum())
            assert float(s2[i, j]) == pytest.approx(want, abs=1e-10)
        assert float(mu[i, y]) == 0.0 and float(s2[i, y]) == 0.0


def test_probability_matches_loop_value_and_gradient():
    _, weight, targets, mean, var = _problem(2)
    weight.requires_grad_(True)
    prob = misclassification_probability(mean, var, weight, targets)
    ref = _loop_probability(mean, var, weight, targets)
    assert torch.allclose(prob, ref, atol=1e-10)
    (g,) = torch.autograd.grad(prob.sum(), weight)
    (r,) = torch.autograd.grad(ref.sum(), weight)
    assert F.cosine_similarity(g.flatten(), r.flatten(), dim=0) > 0.99
    assert torch.allclose(g, r, atol=1e-8)


def test_probability_in_unit_interval():
    g = torch.Generator().manual_seed(3)
    for scale in (0.01, 1.0, 100.0):
        mean = scale * torch.randn(50, 6, generator=g, dtype=DT)
        var = scale * torch.rand(50, 6, generator=g, dtype=DT)
        weight = torch.randn(5, 6, generator=g, dtype=DT)
        targets = torch.randint(0, 5, (50,), generator=g)
        for kind in MARGIN_TYPES:
            prob = misclassification_probability(
                mean, var, weight, targets, margin_type=kind
            )
            assert bool(((prob >= 0) & (prob <= 1)).all())


def test_zero_variance_is_a_step_without_nan():
    weight = torch.eye(2, dtype=DT, requires_grad=True)
    # correct, misclassified, exactly on the boundary
    mean = torch.tensor([[2.0, 1.0], [1.0, 2.0], [1.0, 1.0]], dtype=DT)
    targets = torch.tensor([0, 0, 0])
    prob = misclassification_probability(mean, torch.zeros_like(mean), weight, targets)
    assert prob.tolist() == [0.0, 1.0, 0.5]
    features = mean.clone().requires_grad_(True)
    loss = uncertainty_margin_loss(
        features, weight, targets, sample_stats=(mean, torch.zeros_like(mean))
    )
    assert torch.isfinite(loss).all()
    loss.sum().backward()
    assert torch.isfinite(weight.grad).all() and torch.isfinite(features.grad).all()
    # zero weights: every error is exactly 0 with zero variance
    zero_w = torch.zeros(3, 2, dtype=DT, requires_grad=True)
    prob = misclassification_probability(mean, torch.zeros_like(mean), zero_w, targets)
    prob.sum().backward()
    assert torch.isfinite(zero_w.grad).all()


def test_single_class_has_no_confusion():
    mean = torch.randn(4, 3, dtype=DT)
    prob = misclassification_probability(
        mean,
        torch.ones_like(mean),
        torch.randn(1, 3, dtype=DT),
        torch.zeros(4, dtype=torch.long),
    )
    assert torch.equal(prob, torch.zeros(4, dtype=DT))


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_reduces_to_softmax_without_uncertainty_and_margin_one(margin_type):
    features, weight, targets, _, _ = _problem(4)
    expected = F.cross_entropy(
        plain_logits(features, weight, margin_type=margin_type),
        targets,
        reduction="none",
    )
    off = uncertainty_margin_loss(features, weight, targets, margin_type=margin_type)
    assert torch.allclose(off, expected, atol=1e-10)
    ones = torch.ones(4, dtype=torch.long)
    off = uncertainty_margin_loss(
        features, weight, targets, ones, margin_type=margin_type
    )
    assert torch.allclose(off, expected, atol=1e-10)
    # zero feature variance at correctly classified means: F = 0, exactly softmax
    logits = plain_logits(features, weight, margin_type=margin_type)
    correct = logits.argmax(1) == targets
    assert bool(correct.any())
    stats = (features, torch.zeros_like(features))
    zero_unc = uncertainty_margin_loss(
        features, weight, targets, ones, margin_type=margin_type, sample_stats=stats
    )
    assert torch.allclose(zero_unc[correct], expected[correct], atol=1e-10)


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_without_sample_stats_is_the_class_level_loss(margin_type):
    features, weight, targets, _, _ = _problem(5)
    class_margins = torch.tensor([1, 3, 2, 4])
    loss = uncertainty_margin_loss(
        features, weight, targets, class_margins, margin_type=margin_type
    )
    expected = large_margin_loss(
        features, weight, targets, class_margins[targets], margin_type=margin_type
    )
    assert torch.allclose(loss, expected)


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_more_uncertain_sample_is_stricter(margin_type):
    # a correctly classified mean; only its feature variance grows
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=DT)
    mean = torch.tensor([[2.0, 0.5]], dtype=DT)
    targets = torch.tensor([0])
    probs, losses = [], []
    for sigma2 in (0.0, 0.1, 0.5, 2.0, 10.0):
        stats = (mean, torch.full_like(mean, sigma2))
        probs.append(
            float(
                misclassification_probability(
                    mean, stats[1], weight, targets, margin_type=margin_type
                )
            )
        )
        losses.append(
            float(
                uncertainty_margin_loss(
                    mean,
                    weight,
                    targets,
                    2,
                    margin_type=margin_type,
                    sample_stats=stats,
                )[0]
            )
        )
    assert probs[0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(probs))
    assert all(b > a for a, b in itertools.pairwise(losses))
    # a misclassified mean is always at least as penalised as any correct one
    wrong = torch.tensor([[0.5, 2.0]], dtype=DT)
    for sigma2 in (0.0, 1.0, 100.0):
        p = misclassification_probability(
            wrong,
            torch.full_like(wrong, sigma2),
            weight,
            targets,
            margin_type=margin_type,
        )
        assert float(p) >= 0.5 > max(probs)


def _loop_full_loss(features, weight, targets, class_margins, mean, var, lam):
    prob = _loop_probability(mean, var, weight, targets)
    losses = []
    for i in range(features.shape[0]):
        f, y, m = features[i], int(targets[i]), int(class_margins[int(targets[i])])
        logits = []
        for j in range(weight.shape[0]):
            w = weight[j]
            if j != y:
                logits.append(torch.dot(w, f))
                continue
            cos = torch.dot(w, f) / (w.norm() * f.norm())
            theta = torch.acos(cos)
            r = min(int(m * theta.item() / math.pi), m - 1)
            psi = (-1) ** r * torch.cos(m * theta) - 2 * r
            logits.append(w.norm() * f.norm() * (psi - lam * prob[i]))
        losses.append(-torch.log_softmax(torch.stack(logits), 0)[y])
    return torch.stack(losses)


def test_full_loss_matches_loop_value_and_gradient():
    features, weight, targets, mean, var = _problem(6, n=10)
    class_margins = torch.tensor([1, 2, 3, 4])
    features.requires_grad_(True)
    weight.requires_grad_(True)
    loss = uncertainty_margin_loss(
        features,
        weight,
        targets,
        class_margins,
        sample_stats=(mean, var),
        sample_margin=0.7,
    )
    ref = _loop_full_loss(features, weight, targets, class_margins, mean, var, 0.7)
    assert torch.allclose(loss, ref, atol=1e-8)
    got = torch.autograd.grad(loss.sum(), (features, weight))
    want = torch.autograd.grad(ref.sum(), (features, weight))
    for a, b in zip(got, want, strict=True):
        assert F.cosine_similarity(a.flatten(), b.flatten(), dim=0) > 0.99
        assert torch.allclose(a, b, atol=1e-7)


def test_sample_term_penalises_and_is_bounded():
    features, weight, targets, mean, var = _problem(7, n=30)
    base = uncertainty_margin_loss(features, weight, targets, 2)
    with_sum = uncertainty_margin_loss(
        features, weight, targets, 2, sample_stats=(mean, var), sample_margin=0.5
    )
    assert bool((with_sum >= base - 1e-12).all())
    assert bool((with_sum > base).any())
    zero_lambda = uncertainty_margin_loss(
        features, weight, targets, 2, sample_stats=(mean, var), sample_margin=0.0
    )
    assert torch.allclose(zero_lambda, base)


def test_cosine_families_use_normalised_weights():
    _, weight, targets, mean, var = _problem(8)
    rescaled = weight * torch.tensor([[0.1], [5.0], [2.0], [0.3]], dtype=DT)
    for kind in ("sphereface", "cosface", "arcface"):
        a = misclassification_probability(mean, var, weight, targets, margin_type=kind)
        b = misclassification_probability(
            mean, var, rescaled, targets, margin_type=kind
        )
        assert torch.allclose(a, b)


def test_task_axis_matches_per_task():
    g = torch.Generator().manual_seed(9)
    features = torch.randn(6, 3, 4, generator=g, dtype=DT)
    weight = torch.randn(3, 2, 4, generator=g, dtype=DT)
    targets = torch.randint(0, 2, (6, 3), generator=g)
    mean = features + 0.1
    var = torch.rand(6, 3, 4, generator=g, dtype=DT)
    margins = torch.tensor([[1, 3], [2, 1], [3, 3]])
    loss = uncertainty_margin_loss(
        features, weight, targets, margins, sample_stats=(mean, var)
    )
    assert loss.shape == (6, 3)
    for t in range(3):
        single = uncertainty_margin_loss(
            features[:, t],
            weight[t],
            targets[:, t],
            margins[t],
            sample_stats=(mean[:, t], var[:, t]),
        )
        assert torch.allclose(loss[:, t], single)


def test_backward_with_float32_and_empty_batch():
    features, weight, targets, mean, var = _problem(10)
    weight32 = weight.float().requires_grad_(True)
    loss = uncertainty_margin_loss(
        features.float(), weight32, targets, 3, sample_stats=(mean.float(), var.float())
    )
    loss.mean().backward()
    assert torch.isfinite(weight32.grad).all()
    empty = uncertainty_margin_loss(
        torch.zeros(0, 5),
        weight32,
        torch.zeros(0, dtype=torch.long),
        2,
        sample_stats=(torch.zeros(0, 5), torch.zeros(0, 5)),
    )
    assert empty.shape == (0,)


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
@pytest.mark.parametrize("sample_level", [False, True])
def test_loss_and_gradient_finite_for_features_of_1e30(margin_type, sample_level):
    """float32 features with entries of 1e30 (their squares overflow float32)."""
    g = torch.Generator().manual_seed(0)
    features = torch.randn(6, 4, generator=g)
    features[0] *= 1e30
    features[1, 2] = 1e30
    features.requires_grad_()
    weight = torch.randn(3, 4, generator=g).requires_grad_()
    targets = torch.tensor([0, 1, 2, 0, 1, 2])
    stats = None
    if sample_level:  # MC moments as mc_dropout_statistics returns them
        std = 0.3 * features.detach().abs().double()
        stats = (features.detach(), std.square())
    loss = uncertainty_margin_loss(
        features,
        weight,
        targets,
        torch.tensor([1, 3, 2]),
        margin_type=margin_type,
        sample_stats=stats,
        softmax_weight=1.0,
    )
    loss.sum().backward()
    assert torch.isfinite(loss).all()
    assert torch.isfinite(features.grad).all()
    assert torch.isfinite(weight.grad).all()
    if sample_level:
        prob = misclassification_probability(*stats, weight, targets)
        assert torch.isfinite(prob).all() and prob.dtype == torch.float32


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_plain_logits_finite_and_scale_free_at_1e30(margin_type):
    features = torch.tensor([[3e30, 4e30], [3.0, 4.0]])
    weight = torch.eye(2)
    logits = plain_logits(features, weight, margin_type=margin_type)
    assert torch.isfinite(logits).all()
    if margin_type in ("cosface", "arcface"):  # s cos: the same for both rows
        torch.testing.assert_close(logits[0], logits[1])


# ------------------------------------------- full covariance of the MC passes
def _passes(seed=0, n=8, n_passes=6, d=5):
    """Correlated passes: a shared random direction per sample plus noise."""
    g = torch.Generator().manual_seed(100 + seed)
    direction = torch.randn(n, 1, d, generator=g, dtype=DT)
    scale = torch.randn(n, n_passes, 1, generator=g, dtype=DT)
    noise = 0.2 * torch.randn(n, n_passes, d, generator=g, dtype=DT)
    passes = direction * scale + noise
    return passes - passes.mean(dim=1, keepdim=True)


def _loop_probability_full(mean, deviations, weight, targets):
    """Eq. 12-14 with Sigma_f = (1/N) sum_i d_i d_i^T built entry by entry."""
    n, n_passes, d = deviations.shape
    out = []
    for i in range(n):
        sigma = [[0.0] * d for _ in range(d)]
        for k in range(n_passes):
            for a in range(d):
                for b in range(d):
                    sigma[a][b] = (
                        sigma[a][b]
                        + deviations[i, k, a] * deviations[i, k, b] / n_passes
                    )
        y = int(targets[i])
        best = torch.zeros((), dtype=mean.dtype)
        for j in range(weight.shape[0]):
            if j == y:
                continue
            diff = weight[j] - weight[y]
            mu = sum(diff[a] * mean[i, a] for a in range(d))
            s2 = sum(
                diff[a] * sigma[a][b] * diff[b] for a in range(d) for b in range(d)
            )
            if float(s2.detach()) <= 1e-12:
                p = torch.tensor(
                    0.5 if float(mu.detach()) == 0 else float(mu > 0), dtype=DT
                )
            else:
                p = 0.5 * (1 + torch.erf(mu / torch.sqrt(2 * s2)))
            best = torch.maximum(best, p)
        out.append(best)
    return torch.stack(out)


def test_full_covariance_matches_loop_value_and_gradient():
    _, weight, targets, mean, _ = _problem(7)
    dev = _passes(7)
    weight.requires_grad_(True)
    prob = misclassification_probability(mean, dev, weight, targets, covariance="full")
    ref = _loop_probability_full(mean, dev, weight, targets)
    assert torch.allclose(prob, ref, atol=1e-12)
    (g,) = torch.autograd.grad(prob.sum(), weight)
    (r,) = torch.autograd.grad(ref.sum(), weight)
    assert torch.allclose(g, r, atol=1e-10)


def test_full_covariance_differs_from_its_diagonal_only_through_correlations():
    _, weight, targets, mean, _ = _problem(8)
    dev = _passes(8)
    diag = (dev**2).mean(dim=1)
    _, var_full = error_moments_from_passes(mean, dev, weight, targets)
    _, var_diag = error_moments(mean, diag, weight, targets)
    assert not torch.allclose(var_full, var_diag)  # the passes are correlated
    # one feature dimension: no correlations, the two agree
    mu1, v1 = error_moments_from_passes(
        mean[:, :1], dev[:, :, :1], weight[:, :1], targets
    )
    mu2, v2 = error_moments(mean[:, :1], diag[:, :1], weight[:, :1], targets)
    assert torch.allclose(mu1, mu2) and torch.allclose(v1, v2, atol=1e-12)


def test_full_covariance_degenerate_cases_are_finite():
    _, weight, targets, mean, _ = _problem(9)
    # a single pass: zero covariance, F is the step of the mean's decision
    one = torch.zeros(mean.shape[0], 1, mean.shape[1], dtype=DT)
    weight.requires_grad_(True)
    prob = misclassification_probability(mean, one, weight, targets, covariance="full")
    step = misclassification_probability(mean, torch.zeros_like(mean), weight, targets)
    assert torch.equal(prob, step)
    (g,) = torch.autograd.grad(prob.sum(), weight, allow_unused=True)
    assert g is None or torch.isfinite(g).all()
    # one class: no confusion; an empty batch
    p1 = misclassification_probability(
        mean,
        _passes(9),
        weight[:1],
        torch.zeros(8, dtype=torch.long),
        covariance="full",
    )
    assert torch.equal(p1, torch.zeros(8, dtype=DT))
    empty = misclassification_probability(
        mean[:0], _passes(9)[:0], weight, targets[:0], covariance="full"
    )
    assert empty.shape == (0,)
    with pytest.raises(ValueError, match="covariance"):
        misclassification_probability(mean, _passes(9), weight, targets, covariance="x")


def test_full_covariance_loss_matches_loop_and_per_task():
    features, weight, targets, mean, _ = _problem(10, n=10)
    dev = _passes(10, n=10)
    class_margins = torch.tensor([1, 2, 3, 4])
    features.requires_grad_(True)
    loss = uncertainty_margin_loss(
        features,
        weight,
        targets,
        class_margins,
        sample_stats=(mean, dev),
        sample_margin=0.7,
        sample_covariance="full",
    )
    prob = _loop_probability_full(mean, dev, weight, targets)
    # the loop loss of the diagonal test, with the full-covariance F
    ref = []
    for i in range(features.shape[0]):
        f, y, m = features[i], int(targets[i]), int(class_margins[int(targets[i])])
        logits = []
        for j in range(weight.shape[0]):
            w = weight[j]
            if j != y:
                logits.append(torch.dot(w, f))
                continue
            theta = torch.acos(torch.dot(w, f) / (w.norm() * f.norm()))
            r = min(int(m * theta.item() / math.pi), m - 1)
            psi = (-1) ** r * torch.cos(m * theta) - 2 * r
            logits.append(w.norm() * f.norm() * (psi - 0.7 * prob[i]))
        ref.append(-torch.log_softmax(torch.stack(logits), 0)[y])
    ref = torch.stack(ref)
    assert torch.allclose(loss, ref, atol=1e-8)
    (g,) = torch.autograd.grad(loss.sum(), features)
    assert torch.isfinite(g).all()
    # a task axis: (B, N, T, D) passes give each task's own probability
    w2 = torch.stack([weight, weight.flip(0)])
    t2 = torch.stack([targets, targets.flip(0)], dim=1)
    m2 = torch.stack([mean, mean.flip(0)], dim=1)
    d2 = torch.stack([dev, dev.flip(0)], dim=2)
    both = misclassification_probability(m2, d2, w2, t2, covariance="full")
    for t in range(2):
        alone = misclassification_probability(
            m2[:, t], d2[:, :, t], w2[t], t2[:, t], covariance="full"
        )
        assert torch.allclose(both[:, t], alone, atol=1e-12)


@pytest.mark.parametrize(
    "feature_shape, weight_shape",
    [((6, 4), (3, 4)), ((6, 4), (2, 3, 4)), ((6, 2, 4), (2, 3, 4))],
)
def test_per_task_products_equal_the_broadcast_projection(feature_shape, weight_shape):
    from skimbalance.losses.large_margin import project
    from skimbalance.losses.uncertainty_margin import _project

    gen = torch.Generator().manual_seed(0)
    f = torch.randn(feature_shape, generator=gen, dtype=torch.float64)
    w = torch.randn(weight_shape, generator=gen, dtype=torch.float64)
    f.requires_grad_(True)
    w.requires_grad_(True)
    got, want = _project(f, w), project(f, w)
    torch.testing.assert_close(got, want)
    (grad_f, grad_w) = torch.autograd.grad(got.square().sum(), (f, w))
    (ref_f, ref_w) = torch.autograd.grad(want.square().sum(), (f, w))
    torch.testing.assert_close(grad_f, ref_f)
    torch.testing.assert_close(grad_w, ref_w)


def test_a_precomputed_misclassification_probability_is_used_as_it_is():
    gen = torch.Generator().manual_seed(1)
    f = torch.randn(5, 1, 3, generator=gen)
    w = torch.randn(1, 4, 3, generator=gen, requires_grad=True)
    y = torch.randint(0, 4, (5, 1), generator=gen)
    stats = (f + 0.1, torch.rand(5, 1, 3, generator=gen))
    prob = misclassification_probability(*stats, w, y)
    computed = uncertainty_margin_loss(f, w, y, sample_stats=stats)
    given = uncertainty_margin_loss(f, w, y, sample_stats=stats, misclassification=prob)
    torch.testing.assert_close(given, computed)
    torch.testing.assert_close(
        torch.autograd.grad(given.sum(), w)[0],
        torch.autograd.grad(computed.sum(), w)[0],
    )
    zero = uncertainty_margin_loss(
        f, w, y, sample_stats=stats, misclassification=torch.zeros(5, 1)
    )
    torch.testing.assert_close(zero, uncertainty_margin_loss(f, w, y, margins=1))
