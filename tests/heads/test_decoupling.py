"""Decoupled heads: τ-normalisation, LWS, MaxNorm and cRT on frozen embeddings."""

import copy

import pytest
import torch

from skimbalance.heads.decoupling import (
    LearnableWeightScaling,
    project_max_norm_,
    retrain_head,
    retrain_linear_head,
    tau_normalize,
)

MEANS = torch.tensor([[0.0, 2.0], [1.7, -1.0], [-1.7, -1.0]])
TRAIN_COUNTS = (3000, 150, 15)  # a class of 15 among 3165


def gaussians(counts, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.repeat_interleave(torch.arange(3), torch.tensor(counts))
    return MEANS[y] + torch.randn(y.numel(), 2, generator=g), y


def balanced_accuracy(head, X, y):
    with torch.no_grad():
        pred = head(X).argmax(1)
    return float(
        torch.stack([(pred[y == c] == c).float().mean() for c in range(3)]).mean()
    )


@pytest.fixture(scope="module")
def data():
    return gaussians(TRAIN_COUNTS, seed=0), gaussians((1000, 1000, 1000), seed=1)


def plain_head(X, y, epochs=20, seed=0):
    """The head of an instance-balanced training: shuffled epochs, plain CE."""
    torch.manual_seed(seed)
    head = torch.nn.Linear(2, 3)
    opt = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    for _ in range(epochs):
        for batch in torch.randperm(y.numel()).split(256):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(head(X[batch]), y[batch]).backward()
            opt.step()
    return head


# -- τ-normalisation ------------------------------------------------------------
def test_tau_zero_is_the_identity_and_tau_one_unit_norm():
    torch.manual_seed(0)
    w, b = (
        torch.randn(4, 3) * torch.tensor([[5.0], [1.0], [0.1], [2.0]]),
        torch.randn(4),
    )
    w0, b0 = tau_normalize(w, b, tau=0.0)
    assert torch.equal(w0, w) and torch.equal(b0, b)
    w1, _ = tau_normalize(w, b, tau=1.0)
    torch.testing.assert_close(w1.norm(dim=1), torch.ones(4))
    # the logits are the original ones divided by ||w_j|| ** tau (a loop)
    x = torch.randn(6, 3)
    for tau in (0.3, 1.0, 2.0):
        wt, bt = tau_normalize(w, b, tau=tau)
        for j in range(4):
            expected = (x @ w[j] + b[j]) / w[j].norm() ** tau
            torch.testing.assert_close(x @ wt[j] + bt[j], expected)
    assert tau_normalize(w, tau=0.5)[1] is None


def test_tau_normalize_on_the_per_task_layout_and_a_zero_vector():
    torch.manual_seed(1)
    w = torch.randn(2, 5, 3)  # (T, D, C): class vectors along dim=-2
    w[1, :, 2] = 0.0  # a class vector of norm 0 is left alone
    b = torch.randn(2, 3)
    wt, bt = tau_normalize(w, b, tau=1.0, dim=-2)
    norms = wt.norm(dim=-2)
    torch.testing.assert_close(norms[0], torch.ones(3))
    assert norms[1, 2] == 0 and torch.isfinite(wt).all()
    torch.testing.assert_close(
        bt, b / torch.where(w.norm(dim=-2) > 0, w.norm(dim=-2), 1)
    )
    with pytest.raises(ValueError, match="tau"):
        tau_normalize(w, tau=-1.0)
    with pytest.raises(ValueError, match="bias has shape"):
        tau_normalize(w, torch.randn(3), dim=-2)


# -- MaxNorm ----------------------------------------------------------------------
def test_max_norm_caps_long_rows_and_leaves_short_ones_alone():
    torch.manual_seed(2)
    w = torch.randn(6, 4) * torch.tensor([[0.1], [3.0], [0.5], [10.0], [0.0], [1.0]])
    before = w.clone()
    out = project_max_norm_(w, 1.0)
    assert out is w
    norms, old = w.norm(dim=1), before.norm(dim=1)
    assert (norms <= 1.0 + 1e-6).all()
    short = old <= 1.0
    assert torch.equal(w[short], before[short])  # bit for bit
    torch.testing.assert_close(norms[~short], torch.ones(int((~short).sum())))
    # directions kept
    torch.testing.assert_close(
        w[~short] / norms[~short, None], before[~short] / old[~short, None]
    )
    # per-task layout, on a parameter (no autograd record)
    p = torch.nn.Parameter(torch.randn(2, 4, 3) * 5)
    project_max_norm_(p, 0.5, dim=-2)
    assert (p.norm(dim=-2) <= 0.5 + 1e-6).all() and p.grad_fn is None
    with pytest.raises(ValueError, match="max_norm"):
        project_max_norm_(w, 0.0)


def test_retraining_with_max_norm_keeps_the_norms(data):
    (X, y), _ = data
    head = retrain_linear_head(X, y, epochs=2, max_norm=0.7, generator=0)
    assert (head.weight.norm(dim=1) <= 0.7 + 1e-6).all()


# -- LWS ----------------------------------------------------------------------------
def test_lws_starts_as_the_identity_and_learns_only_the_scales(data):
    (X, y), (X_test, y_test) = data
    head = plain_head(X, y)
    frozen = copy.deepcopy(head.state_dict())
    lws = LearnableWeightScaling(head, 3)
    assert torch.equal(lws(X_test), head(X_test))
    assert [n for n, p in lws.named_parameters() if p.requires_grad] == ["scales"]
    retrain_head(lws, X, y, epochs=10, weight_decay=0.0, generator=0)
    for key, value in head.state_dict().items():
        assert torch.equal(value, frozen[key]), key
    assert not torch.equal(lws.scales.detach(), torch.ones(3))
    assert balanced_accuracy(lws, X_test, y_test) > balanced_accuracy(
        head, X_test, y_test
    )
    # per-task scales broadcast over (B, T, C)
    multi = LearnableWeightScaling(torch.nn.Identity(), (2, 3))
    with pytest.raises(ValueError, match="trainable"):
        retrain_head(torch.nn.Identity(), X, y)
    assert multi(torch.ones(4, 2, 3)).shape == (4, 2, 3)


# -- cRT -----------------------------------------------------------------------------
def test_crt_improves_balanced_accuracy_and_needs_the_rebalancing(data):
    (X, y), (X_test, y_test) = data
    original = balanced_accuracy(plain_head(X, y), X_test, y_test)
    crt = retrain_linear_head(X, y, epochs=10, generator=0)
    rebalanced = balanced_accuracy(crt, X_test, y_test)
    # the same re-training without re-balancing stays as biased as the original
    instance = retrain_linear_head(X, y, epochs=10, sampling="instance", generator=0)
    unbalanced = balanced_accuracy(instance, X_test, y_test)
    assert rebalanced > original + 0.05, (rebalanced, original)
    assert rebalanced > unbalanced + 0.05, (rebalanced, unbalanced)
    # square-root sampling sits in between
    sqrt = balanced_accuracy(
        retrain_linear_head(X, y, epochs=10, sampling="square_root", generator=0),
        X_test,
        y_test,
    )
    assert unbalanced < sqrt < rebalanced + 0.02


def test_crt_is_reproducible_and_spares_the_global_rng(data):
    (X, y), _ = data
    state = torch.random.get_rng_state()
    a = retrain_linear_head(X, y, epochs=1, generator=3)
    b = retrain_linear_head(X, y, epochs=1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    c = retrain_linear_head(X, y, epochs=1, generator=4)
    assert not torch.equal(a.weight, c.weight)


def test_crt_degenerate_labels():
    torch.manual_seed(0)
    X = torch.randn(20, 3)
    # one class: a defined, finite head that predicts it
    head = retrain_linear_head(
        X, torch.zeros(20, dtype=torch.long), epochs=2, generator=0
    )
    assert head.out_features == 1 and torch.isfinite(head.weight).all()
    # a class with one sample, a class absent from the labels (n_classes)
    y = torch.tensor([0] * 19 + [2])
    head = retrain_linear_head(X, y, n_classes=4, epochs=3, generator=0)
    assert head.out_features == 4 and torch.isfinite(head.weight).all()
    assert head(X[-1:]).argmax().item() == 2  # the single sample is learnt
    with pytest.raises(ValueError, match="n_classes=2"):
        retrain_linear_head(X, y, n_classes=2)
    with pytest.raises(ValueError, match="labels must have shape"):
        retrain_linear_head(X, y[:5])
    with pytest.raises(ValueError, match="class indices"):
        retrain_linear_head(X, y.float())
    with pytest.raises(ValueError, match="embeddings must have shape"):
        retrain_linear_head(torch.randn(20), y)
