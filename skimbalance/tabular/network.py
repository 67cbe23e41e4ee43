"""The tabular network: quantile transform, PLR embeddings, TabM-mini."""

from torch import nn

from .embeddings import PeriodicEmbeddings
from .ensemble import MiniEnsembleMLP
from .quantile import QuantileNormal


class TabularNet(nn.Module):
    """Quantile transform, periodic embeddings and a TabM-mini ensemble.

    ``x (B, F)`` → :class:`QuantileNormal` (when ``quantiles`` is given) →
    :class:`PeriodicEmbeddings` ``(B, F, d_embedding)``, flattened (when
    ``d_embedding`` is positive) → :class:`MiniEnsembleMLP` ``(B, k, width)``
    → the mean over the ``k`` members, ``(B, width)``: the representation
    the estimators' embedding layer, head and method terms take.

    Parameters
    ----------
    n_features : int
        Number of input features.
    quantiles : array-like of shape (n_features, n_quantiles) or None
        Training quantiles of each feature (no quantile transform when None).
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Widths of the shared MLP blocks.
    dropout : float, default=0.1
        Dropout after each block.
    n_members : int, default=8
        Ensemble members ``k``.
    d_embedding : int, default=24
        Size of each feature's periodic embedding; 0 for none (the
        transformed features go straight to the ensemble).
    n_frequencies : int, default=48
        Frequencies per feature of the embeddings.
    frequency_scale : float, default=0.01
        Initialisation scale of the frequencies.

    Attributes
    ----------
    out_features : int
        Size of the output (the last block's width).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.tabular import TabularNet
    >>> net = TabularNet(3, None, hidden_layer_sizes=(16,), n_members=4,
    ...                  d_embedding=8, n_frequencies=4)
    >>> net(torch.zeros(5, 3)).shape
    torch.Size([5, 16])
    """

    def __init__(
        self,
        n_features,
        quantiles=None,
        hidden_layer_sizes=(256, 256),
        dropout=0.1,
        n_members=8,
        d_embedding=24,
        n_frequencies=48,
        frequency_scale=0.01,
    ):
        super().__init__()
        self.normalize = None if quantiles is None else QuantileNormal(quantiles)
        if d_embedding:
            self.embeddings = PeriodicEmbeddings(
                n_features, d_embedding, n_frequencies, frequency_scale
            )
            d_in, chunk = n_features * d_embedding, d_embedding
        else:
            self.embeddings = None
            d_in, chunk = n_features, 1
        self.ensemble = MiniEnsembleMLP(
            d_in, tuple(hidden_layer_sizes), dropout, n_members, chunk=chunk
        )
        self.out_features = self.ensemble.out_features

    def members(self, x):
        """Each member's representation, ``(B, n_members, width)``."""
        if self.normalize is not None:
            x = self.normalize(x)
        if self.embeddings is not None:
            x = self.embeddings(x).flatten(1)
        return self.ensemble(x)

    def forward(self, x):
        """The members' mean representation ``(B, width)``."""
        return self.members(x).mean(1)
