import pytest
import torch
from torch import nn

from skimbalance.uncertainty.mc_dropout import (
    mc_dropout_statistics,
    predictive_uncertainty,
    row_keys,
)


class _Net(nn.Module):
    def __init__(self, p=0.5, n_tasks=None, batch_norm=False):
        super().__init__()
        layers = [nn.Linear(4, 16)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(16))
        layers += [nn.ReLU(), nn.Dropout(p)]
        self.body = nn.Sequential(*layers)
        self.n_tasks = n_tasks
        self.head = nn.Linear(16, 3 * (n_tasks or 1))

    def forward(self, x):
        f = self.body(x)
        logits = self.head(f)
        if self.n_tasks:
            logits = logits.reshape(x.shape[0], self.n_tasks, 3)
            f = f.unsqueeze(1).expand(-1, self.n_tasks, -1)
        return logits, f


def _x(n=13, seed=0):
    return torch.randn(n, 4, generator=torch.Generator().manual_seed(seed))


def test_shapes_and_positive_variance_with_dropout():
    torch.manual_seed(0)
    stats = mc_dropout_statistics(_Net(0.5), _x(), n_samples=10, batch_size=5)
    assert stats.prob_mean.shape == (13, 3) and stats.prob_var.shape == (13, 3)
    assert stats.feature_mean.shape == (13, 16) and stats.feature_var.shape == (13, 16)
    assert bool((stats.uncertainty > 0).all())
    assert torch.allclose(stats.prob_mean.sum(1), torch.ones(13))


def test_zero_variance_without_dropout_and_mean_is_the_deterministic_output():
    torch.manual_seed(0)
    net = _Net(0.0)
    x = _x()
    stats = mc_dropout_statistics(net, x, n_samples=7, batch_size=4)
    assert torch.all(stats.prob_var == 0) and torch.all(stats.feature_var < 1e-12)
    logits, features = net.eval()(x)
    assert torch.allclose(stats.prob_mean, torch.softmax(logits, -1), atol=1e-6)
    assert torch.allclose(stats.feature_mean, features, atol=1e-6)
    # a network without any dropout module is deterministic too
    plain = nn.Sequential(nn.Linear(4, 3))

    def model(batch):
        out = plain(batch)
        return out, out

    stats = mc_dropout_statistics(model, x, n_samples=5)
    assert torch.all(predictive_uncertainty(stats.prob_var) < 1e-12)


def test_task_axis_shapes():
    torch.manual_seed(1)
    stats = mc_dropout_statistics(_Net(0.3, n_tasks=2), _x(), n_samples=4)
    assert stats.prob_mean.shape == (13, 2, 3)
    assert stats.feature_var.shape == (13, 2, 16)
    assert stats.uncertainty.shape == (13, 2)


def test_moments_follow_pass_major_layout_of_repeated_batch():
    # A callable whose output in pass k is x * (k + 1): checks the reshape of the
    # repeated batch and the 1/N-normalised moments against a loop.
    n_samples, n = 4, 10

    def model(batch):
        b = batch.shape[0] // n_samples
        k = torch.arange(batch.shape[0]) // b
        out = batch[:, :3] * (k.unsqueeze(1) + 1.0)
        return out, out

    x = _x(n)
    stats = mc_dropout_statistics(
        model, x, n_samples=n_samples, batch_size=3, activation=None
    )
    outs = torch.stack([x[:, :3] * (k + 1.0) for k in range(n_samples)])
    mean = outs.mean(0)
    var = ((outs - mean) ** 2).mean(0)
    assert torch.allclose(stats.feature_mean, mean, atol=1e-6)
    assert stats.feature_var.dtype == torch.float64  # float32 can overflow
    assert torch.allclose(stats.feature_var, var.double(), atol=1e-5)
    assert torch.allclose(stats.prob_var, var, atol=1e-5)


def test_mode_restored_and_batchnorm_untouched():
    torch.manual_seed(2)
    net = _Net(0.5, batch_norm=True)
    bn = net.body[1]
    bn.running_mean.fill_(0.25)
    before = bn.running_mean.clone()
    for mode in (True, False):
        net.train(mode)
        net.head.train(not mode)  # a mixed state must be restored exactly
        modes = {name: m.training for name, m in net.named_modules()}
        stats = mc_dropout_statistics(net, _x(), n_samples=5)
        assert {name: m.training for name, m in net.named_modules()} == modes
        assert torch.equal(bn.running_mean, before)
        assert bool((stats.uncertainty > 0).all())


def test_mode_restored_on_error():
    net = _Net(0.5).train()

    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = net

        def forward(self, x):
            raise RuntimeError("boom")

    boom = Boom().train()
    with pytest.raises(RuntimeError, match="boom"):
        mc_dropout_statistics(boom, _x())
    assert boom.training and net.training and net.body[2].training


def test_no_grad_and_activation_options():
    net = _Net(0.5)
    stats = mc_dropout_statistics(net, _x(), n_samples=3, activation="sigmoid")
    assert not stats.prob_mean.requires_grad
    assert bool(((stats.prob_mean > 0) & (stats.prob_mean < 1)).all())
    with pytest.raises(ValueError, match="activation"):
        mc_dropout_statistics(net, _x(), activation="nope")
    with pytest.raises(ValueError, match="n_samples"):
        mc_dropout_statistics(net, _x(), n_samples=0)
    with pytest.raises(ValueError, match="no samples"):
        mc_dropout_statistics(net, torch.zeros(0, 4))


def test_more_passes_do_not_change_the_expected_features():
    # inverted dropout keeps the expectation: the MC mean approaches the eval output
    torch.manual_seed(3)
    net = _Net(0.5)
    x = _x(6)
    stats = mc_dropout_statistics(net, x, n_samples=4000, batch_size=6)
    _, features = net.eval()(x)
    assert torch.allclose(stats.feature_mean, features, atol=0.1)


def test_keyed_masks_depend_on_the_row_only():
    torch.manual_seed(0)
    net = _Net().eval()
    x = torch.randn(40, 4)
    state = torch.random.get_rng_state()
    a = mc_dropout_statistics(net, x, n_samples=8, batch_size=7, seed=5)
    assert torch.equal(state, torch.random.get_rng_state())
    perm = torch.randperm(40)
    b = mc_dropout_statistics(net, x[perm], n_samples=8, batch_size=40, seed=5)
    torch.testing.assert_close(b.prob_mean, a.prob_mean[perm], rtol=0, atol=1e-6)
    torch.testing.assert_close(b.feature_var, a.feature_var[perm], rtol=0, atol=1e-6)
    assert (a.uncertainty > 0).all()  # the masks are random across passes
    c = mc_dropout_statistics(net, x, n_samples=8, seed=6)
    assert not torch.allclose(a.prob_mean, c.prob_mean)
    assert all(not mod.training for mod in net.modules())  # modes restored


def test_keyed_masks_follow_each_dropout_rule():
    x = torch.randn(300, 4)
    keys = row_keys(x, 0)
    assert keys.unique().numel() == 300

    class Probe(nn.Module):
        def __init__(self, dropout, shape):
            super().__init__()
            self.dropout = dropout
            self.shape = shape

        def forward(self, rows):
            out = self.dropout(torch.ones(rows.shape[0], *self.shape))
            return out.flatten(1), out.flatten(1)

    def one_pass(dropout, shape):
        stats = mc_dropout_statistics(
            Probe(dropout, shape), x, n_samples=1, activation=None, seed=1
        )
        return stats.feature_mean  # one pass: the dropout's output itself

    elementwise = one_pass(nn.Dropout(0.3), (50,))
    assert abs(float((elementwise == 0).float().mean()) - 0.3) < 0.02
    torch.testing.assert_close(elementwise.unique(), torch.tensor([0.0, 1 / 0.7]))
    channels = one_pass(nn.Dropout2d(0.5), (6, 3, 3))
    per_channel = channels.reshape(300, 6, 9)
    assert (per_channel.amin(-1) == per_channel.amax(-1)).all()  # whole channels
    assert 0.3 < float((per_channel[:, :, 0] == 0).float().mean()) < 0.7
    alpha = one_pass(nn.AlphaDropout(0.2), (40,))
    torch.manual_seed(0)
    reference = nn.AlphaDropout(0.2).train()(torch.ones(300, 40))
    torch.testing.assert_close(alpha.unique(), reference.unique())  # same 2 values


def test_keyed_masks_need_a_module():
    with pytest.raises(ValueError, match=r"nn\.Module"):
        mc_dropout_statistics(lambda b: (b, b), torch.zeros(3, 2), seed=0)


def test_kept_passes_are_the_centred_passes_in_sample_major_layout():
    # Same pass-k model as above: pass k of sample i is x_i * (k + 1).
    n_samples, n = 4, 10

    def model(batch):
        b = batch.shape[0] // n_samples
        k = torch.arange(batch.shape[0]) // b
        out = batch[:, :3] * (k.unsqueeze(1) + 1.0)
        return out, out

    x = _x(n)
    stats = mc_dropout_statistics(
        model, x, n_samples=n_samples, batch_size=3, activation=None, keep_passes=True
    )
    outs = torch.stack([x[:, :3] * (k + 1.0) for k in range(n_samples)], dim=1)
    assert stats.feature_deviations.shape == (n, n_samples, 3)
    expected = outs - outs.mean(dim=1, keepdim=True)
    assert torch.allclose(stats.feature_deviations, expected, atol=1e-5)
    # their mean square is the diagonal variance
    var = (stats.feature_deviations.double() ** 2).mean(dim=1)
    assert torch.allclose(var, stats.feature_var, atol=1e-5)
    plain = mc_dropout_statistics(model, x, n_samples=n_samples, activation=None)
    assert plain.feature_deviations is None


# ------------------------------------------------------------------ streaming
def _multitask_net(seed=0, hidden=(16, 8), head=None):
    from skimbalance.modules import MLPBackbone, MultiTaskNet

    torch.manual_seed(seed)
    return MultiTaskNet(
        MLPBackbone(4, hidden, dropout=0.5), hidden[-1], 1, 3, 5, head=head
    )


@pytest.mark.parametrize("batch_size", [1, 4, 13, 64])
@pytest.mark.parametrize("keep_passes", [False, True])
def test_streamed_statistics_equal_the_full_computation(batch_size, keep_passes):
    # chunks of 1, of a size that does not divide n = 13, of n and beyond n
    from uncertainty.mc_reference import reference_mc_dropout_statistics

    net, x = _multitask_net(), _x(13)
    torch.manual_seed(5)
    expected = reference_mc_dropout_statistics(
        net, x, n_samples=6, batch_size=batch_size, keep_passes=keep_passes
    )
    after_reference = torch.get_rng_state()
    torch.manual_seed(5)
    stats = mc_dropout_statistics(
        net, x, n_samples=6, batch_size=batch_size, keep_passes=keep_passes
    )
    # the same masks: torch's random stream is consumed as by the full pass
    assert torch.equal(torch.get_rng_state(), after_reference)
    assert stats.feature_var.dtype == torch.float64
    for name in ("prob_mean", "prob_var", "feature_mean", "feature_var"):
        got, want = getattr(stats, name), getattr(expected, name)
        assert got.shape == want.shape == (13, 1, want.shape[-1])
        torch.testing.assert_close(got.double(), want.double(), atol=1e-5, rtol=1e-5)
    if keep_passes:
        assert stats.feature_deviations.shape == (13, 6, 1, 5)
        torch.testing.assert_close(
            stats.feature_deviations, expected.feature_deviations, atol=1e-5, rtol=0
        )
    else:
        assert stats.feature_deviations is None


def test_prediction_moments_alone_draw_the_same_masks():
    net, x = _multitask_net(1), _x(13)
    torch.manual_seed(7)
    full = mc_dropout_statistics(net, x, n_samples=5, batch_size=4)
    state = torch.get_rng_state()
    torch.manual_seed(7)
    light = mc_dropout_statistics(
        net, x, n_samples=5, batch_size=4, feature_moments=False
    )
    assert torch.equal(torch.get_rng_state(), state)
    assert light.feature_mean is None and light.feature_var is None
    assert torch.equal(light.prob_mean, full.prob_mean)
    assert torch.equal(light.prob_var, full.prob_var)
    torch.testing.assert_close(light.uncertainty, full.uncertainty)
    with pytest.raises(ValueError, match="keep_passes"):
        mc_dropout_statistics(net, x, keep_passes=True, feature_moments=False)
    with pytest.raises(ValueError, match="batch_size"):
        mc_dropout_statistics(net, x, batch_size=0)


def test_keyed_streamed_statistics_do_not_depend_on_the_chunks():
    net, x = _multitask_net(2), _x(13)
    one = mc_dropout_statistics(net, x, n_samples=4, batch_size=1, seed=3)
    whole = mc_dropout_statistics(net, x, n_samples=4, batch_size=13, seed=3)
    for name in ("prob_mean", "prob_var", "feature_mean", "feature_var"):
        torch.testing.assert_close(getattr(one, name), getattr(whole, name))


def test_the_deterministic_prefix_runs_once_per_chunk():
    from skimbalance.uncertainty.mc_dropout import _split_forward

    net, x = _multitask_net(3), _x(6)
    prefix, rest = _split_forward(net)
    # the prefix is the first Linear and ReLU: the rows before the first dropout
    torch.testing.assert_close(prefix(x), torch.relu(net.backbone[0](x)))
    net.eval()
    for got, want in zip(rest(prefix(x)), net(x), strict=True):
        torch.testing.assert_close(got, want)
    seen = []
    handle = net.backbone[0].register_forward_hook(
        lambda mod, inp, out: seen.append(inp[0].shape[0])
    )
    try:  # a hook on a prefix module: the model runs whole (the hook sees N b)
        assert _split_forward(net) is None
        mc_dropout_statistics(net, x, n_samples=3, batch_size=4)
    finally:
        handle.remove()
    assert seen == [12, 6]
    # nothing to share: a backbone that starts with dropout, or another module
    from skimbalance.modules import MultiTaskNet

    starts_with_dropout = MultiTaskNet(
        nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 8)), 8, 1, 3, 5
    )
    assert _split_forward(starts_with_dropout) is None
    assert _split_forward(_Net()) is None


def test_compact_variance_is_float32_unless_a_value_exceeds_its_range():
    n_samples = 3

    def model(batch):  # pass k of row i: x_i * (k + 1)
        b = batch.shape[0] // n_samples
        k = torch.arange(batch.shape[0]) // b
        out = batch * (k.unsqueeze(1) + 1.0)
        return out, out

    x = _x(7)
    wide = mc_dropout_statistics(model, x, n_samples=n_samples, batch_size=3)
    compact = mc_dropout_statistics(
        model, x, n_samples=n_samples, batch_size=3, compact_variance=True
    )
    assert compact.feature_var.dtype == torch.float32
    torch.testing.assert_close(
        compact.feature_var.double(), wide.feature_var, rtol=1e-6, atol=0
    )
    # a variance beyond float32 in the last chunk: all of it float64, exactly
    x[6, 0] = 1e30
    wide = mc_dropout_statistics(model, x, n_samples=n_samples, batch_size=3)
    compact = mc_dropout_statistics(
        model, x, n_samples=n_samples, batch_size=3, compact_variance=True
    )
    assert compact.feature_var.dtype == torch.float64
    assert bool(torch.isfinite(compact.feature_var).all())
    assert float(compact.feature_var[6, 0]) > 1e59
    torch.testing.assert_close(
        compact.feature_var[:6], wide.feature_var[:6], rtol=1e-6, atol=0
    )
    assert torch.equal(compact.feature_var[6:], wide.feature_var[6:])
