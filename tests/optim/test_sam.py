"""SAM: a hand-computed step, rho = 0 is the base optimizer, a skorch fit."""

import copy
import math

import numpy as np
import pytest
import torch
from skorch import NeuralNet

from skimbalance.optim.sam import SAM

A = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
B = torch.tensor([1.0, -1.0], dtype=torch.float64)


def quadratic_closure(w, opt):
    """L(w) = w A w / 2 - b w, gradient A w - b."""

    def closure():
        opt.zero_grad()
        loss = 0.5 * w @ A @ w - B @ w
        loss.backward()
        return loss

    return closure


def test_step_on_a_quadratic_matches_the_hand_computed_one():
    w0 = torch.tensor([0.5, 2.0], dtype=torch.float64)
    rho, lr = 0.3, 0.1
    # by hand: g = A w - b, e = rho g / |g|, w' = w - lr (A (w + e) - b)
    g = A @ w0 - B
    e = rho * g / math.sqrt(float(g @ g))
    expected = w0 - lr * (A @ (w0 + e) - B)
    w = torch.nn.Parameter(w0.clone())
    opt = SAM([w], torch.optim.SGD, rho=rho, lr=lr)
    loss = opt.step(quadratic_closure(w, opt))
    assert math.isclose(float(loss.detach()), float(0.5 * w0 @ A @ w0 - B @ w0))
    torch.testing.assert_close(w.detach(), expected, rtol=1e-12, atol=1e-12)
    # The manual API gives the same step.
    w2 = torch.nn.Parameter(w0.clone())
    opt2 = SAM([w2], torch.optim.SGD, rho=rho, lr=lr)
    quadratic_closure(w2, opt2)()
    opt2.first_step()
    torch.testing.assert_close(w2.detach(), w0 + e)
    (0.5 * w2 @ A @ w2 - B @ w2).backward()
    opt2.second_step()
    torch.testing.assert_close(w2.detach(), expected, rtol=1e-12, atol=1e-12)


def test_the_norm_is_over_all_parameters_and_groups():
    # Two parameter groups, one tensor each: e uses the norm of both.
    u = torch.nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    v = torch.nn.Parameter(torch.tensor([4.0], dtype=torch.float64))
    opt = SAM([{"params": [u]}, {"params": [v], "lr": 0.5}], rho=1.0, lr=1.0)

    def closure():  # L = (u^2 + v^2) / 2, g = (3, 4), |g| = 5
        loss = (u**2 + v**2).sum() / 2  # no zero_grad: SAM zeroes before pass 2
        loss.backward()
        return loss

    u.grad = torch.full_like(u, 100.0)  # stale gradients a closure might keep
    opt.zero_grad()
    opt.step(closure)
    # gradient at w + e = (3.6, 4.8); steps of lr 1.0 and 0.5
    torch.testing.assert_close(
        u.detach(), torch.tensor([3.0 - 3.6], dtype=torch.float64)
    )
    torch.testing.assert_close(
        v.detach(), torch.tensor([4.0 - 0.5 * 4.8], dtype=torch.float64)
    )


@pytest.mark.parametrize(
    "base, kwargs",
    [
        (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3}),
        (torch.optim.Adam, {"lr": 0.01}),
    ],
)
def test_rho_zero_is_the_base_optimizer(base, kwargs):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    )
    twin = copy.deepcopy(model)
    X, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    sam = SAM(model.parameters(), base, rho=0.0, **kwargs)
    plain = base(twin.parameters(), **kwargs)
    for _ in range(5):
        for net, opt in ((model, sam), (twin, plain)):

            def closure(net=net, opt=opt):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(X), y)
                loss.backward()
                return loss

            opt.step(closure)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_sam_takes_a_different_step_and_keeps_gradients_finite():
    torch.manual_seed(1)
    model = torch.nn.Linear(4, 3)
    twin = copy.deepcopy(model)
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    for net, opt in (
        (model, SAM(model.parameters(), rho=0.1, lr=0.1)),
        (twin, torch.optim.SGD(twin.parameters(), lr=0.1)),
    ):

        def closure(net=net, opt=opt):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(X), y)
            loss.backward()
            return loss

        opt.step(closure)
        assert all(torch.isfinite(p.grad).all() for p in net.parameters())
    assert not torch.allclose(model.weight, twin.weight)


def test_zero_gradient_and_errors():
    w = torch.nn.Parameter(torch.zeros(2))
    opt = SAM([w], rho=0.5, lr=0.1)

    def closure():  # a flat loss: no perturbation, no step
        opt.zero_grad()
        loss = (w * 0).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert torch.equal(w.detach(), torch.zeros(2))
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()
    for rho in (-0.1, math.nan, True, "0.05"):
        with pytest.raises(ValueError, match="rho"):
            SAM([w], rho=rho, lr=0.1)
    with pytest.raises(TypeError, match="base_optimizer"):
        SAM([w], base_optimizer="sgd", lr=0.1)


def test_state_dict_is_the_base_optimizers_and_round_trips():
    torch.manual_seed(2)
    model = torch.nn.Linear(3, 2)
    X, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    opt = SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9)

    def closure():
        model.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        return loss

    opt.step(closure)
    state = opt.state_dict()
    assert all("momentum_buffer" in s for s in state["state"].values())
    other = SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.5, momentum=0.9)
    other.load_state_dict(state)
    assert other.param_groups is other.base_optimizer.param_groups
    assert other.param_groups[0]["lr"] == 0.1
    # A scheduler on SAM drives the base optimizer's learning rate.
    scheduler = torch.optim.lr_scheduler.StepLR(other, step_size=1, gamma=0.5)
    other.step(closure)
    scheduler.step()
    assert other.base_optimizer.param_groups[0]["lr"] == 0.05


class _Module(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 2)

    def forward(self, X):
        return self.layer(X)


def _fit(optimizer, **kwargs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    torch.manual_seed(0)
    net = NeuralNet(
        _Module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=optimizer,
        lr=0.5,
        max_epochs=3,
        batch_size=16,
        train_split=None,
        iterator_train__shuffle=False,
        verbose=0,
        **kwargs,
    )
    return net.fit(X, y), X, y


def test_through_a_skorch_fit():
    net, X, y = _fit(SAM, optimizer__rho=0.05, optimizer__momentum=0.9)
    assert isinstance(net.optimizer_, SAM)
    assert isinstance(net.optimizer_.base_optimizer, torch.optim.SGD)
    losses = net.history[:, "train_loss"]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
    assert (net.predict(X).argmax(1) == y).mean() > 0.9
    # rho = 0 through skorch is skorch with the base optimizer.
    sam0, _, _ = _fit(SAM, optimizer__rho=0.0, optimizer__momentum=0.9)
    sgd, _, _ = _fit(torch.optim.SGD, optimizer__momentum=0.9)
    for p, q in zip(sam0.module_.parameters(), sgd.module_.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    # ... and the recorded loss is the loss at w, as with the base optimizer.
    assert sam0.history[:, "train_loss"] == sgd.history[:, "train_loss"]
