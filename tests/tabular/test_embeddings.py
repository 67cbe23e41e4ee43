"""PLR embeddings against rtdl_num_embeddings (same weights, same outputs)."""

import pytest
import torch

from skimbalance.tabular import PeriodicEmbeddings

rtdl = pytest.importorskip("rtdl_num_embeddings")


def test_same_initialisation_and_outputs_as_rtdl():
    torch.manual_seed(0)
    theirs = rtdl.PeriodicEmbeddings(
        5, 12, n_frequencies=7, frequency_init_scale=0.3, lite=False
    )
    torch.manual_seed(0)
    ours = PeriodicEmbeddings(5, 12, n_frequencies=7, frequency_scale=0.3)
    torch.testing.assert_close(ours.frequencies, theirs.periodic.weight)
    torch.testing.assert_close(ours.weight, theirs.linear.weight)
    torch.testing.assert_close(ours.bias, theirs.linear.bias)
    x = torch.randn(9, 5) * 3
    torch.testing.assert_close(ours(x), theirs(x))


def test_pl_variant_without_relu_is_rtdls():
    theirs = rtdl.PeriodicEmbeddings(
        3, 4, n_frequencies=5, activation=False, lite=False
    )
    ours = PeriodicEmbeddings(3, 4, n_frequencies=5, activation=False)
    ours.load_state_dict(
        {
            "frequencies": theirs.periodic.weight,
            "weight": theirs.linear.weight,
            "bias": theirs.linear.bias,
        }
    )
    x = torch.randn(6, 3)
    torch.testing.assert_close(ours(x), theirs(x))
    assert (ours(x) < 0).any()


def test_frequency_scale_must_be_positive():
    with pytest.raises(ValueError, match="frequency_scale"):
        PeriodicEmbeddings(3, frequency_scale=0.0)
