"""TabM-mini against the tabm package (same weights, same outputs)."""

import pytest
import torch

from skimbalance.tabular import MiniEnsembleMLP, TabularNet

tabm = pytest.importorskip("tabm")


def reference(ours, d_in, n_blocks, width, k, chunk):
    theirs = tabm.MLPBackboneMiniEnsemble(
        d_in=d_in,
        n_blocks=n_blocks,
        d_block=width,
        dropout=0.0,
        k=k,
        affine_bias=False,
        affine_scaling_init="random-signs",
        affine_scaling_init_chunks=[chunk] * (d_in // chunk),
    )
    with torch.no_grad():
        theirs.affine.weight.copy_(ours.scaling)
        linears = [m for m in ours.blocks if isinstance(m, torch.nn.Linear)]
        for block, linear in zip(theirs.blocks, linears, strict=True):
            block[0].weight.copy_(linear.weight)
            block[0].bias.copy_(linear.bias)
    return theirs.eval()


def test_same_outputs_as_tabm_mini_with_the_same_weights():
    ours = MiniEnsembleMLP(12, (16, 16), dropout=0.0, n_members=5, chunk=4).eval()
    theirs = reference(ours, 12, 2, 16, 5, 4)
    x = torch.randn(7, 12)
    torch.testing.assert_close(ours(x), theirs(tabm.ensemble_view(x, 5, False)))


def test_scaling_starts_as_random_signs_shared_within_a_chunk():
    torch.manual_seed(0)
    scaling = MiniEnsembleMLP(12, (8,), 0.0, n_members=6, chunk=3).scaling
    assert set(scaling.unique().tolist()) <= {-1.0, 1.0}
    chunks = scaling.detach().reshape(6, 4, 3)
    assert (chunks == chunks[..., :1]).all()
    assert (chunks[..., 0] == 1).any() and (chunks[..., 0] == -1).any()


def test_members_differ_and_the_network_returns_their_mean():
    torch.manual_seed(0)
    net = TabularNet(
        4, None, hidden_layer_sizes=(8,), n_members=3, d_embedding=2, n_frequencies=2
    ).eval()
    x = torch.randn(5, 4)
    members = net.members(x)
    assert members.shape == (5, 3, 8)
    assert not torch.allclose(members[:, 0], members[:, 1])
    torch.testing.assert_close(net(x), members.mean(1))


def test_dropout_masks_are_drawn_per_member():
    torch.manual_seed(0)
    m = MiniEnsembleMLP(4, (64,), dropout=0.5, n_members=2).train()
    with torch.no_grad():
        m.scaling.fill_(1.0)  # the same member twice, but for the masks
        out = m(torch.ones(3, 4))
    assert not torch.equal(out[:, 0] == 0, out[:, 1] == 0)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="at least one width"):
        MiniEnsembleMLP(4, (), 0.0, 2)
    with pytest.raises(ValueError, match="multiple of chunk"):
        MiniEnsembleMLP(5, (4,), 0.0, 2, chunk=2)
