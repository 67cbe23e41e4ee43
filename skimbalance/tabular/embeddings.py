"""Periodic embeddings of numerical features (PLR)."""

import math

import torch
from torch import nn


class PeriodicEmbeddings(nn.Module):
    """Periodic-linear-ReLU ("PLR") embeddings of numerical features.

    Each feature ``x_i`` gets its own ``n_frequencies`` trainable
    frequencies ``c_i`` (initialised from a normal of standard deviation
    ``frequency_scale``, truncated at 3 standard deviations), then
    ``[cos(2π c_i x_i), sin(2π c_i x_i)]`` goes through the feature's own
    linear layer to ``d_embedding`` values and a ReLU [1]_. The same layout
    and initialisation as ``rtdl_num_embeddings.PeriodicEmbeddings(...,
    lite=False)``, against which it is tested (same weights, same outputs).

    Parameters
    ----------
    n_features : int
        Number of numerical features.
    d_embedding : int, default=24
        Size of each feature's embedding.
    n_frequencies : int, default=48
        Number of frequencies per feature (``k`` in the paper).
    frequency_scale : float, default=0.01
        Standard deviation of the frequencies' initialisation (``σ`` in the
        paper), the embeddings' most important setting.
    activation : bool, default=True
        The final ReLU (False: the "PL" variant).

    Attributes
    ----------
    frequencies : Parameter of shape (n_features, n_frequencies)
    weight : Parameter of shape (n_features, 2 * n_frequencies, d_embedding)
    bias : Parameter of shape (n_features, d_embedding)

    References
    ----------
    .. [1] Y. Gorishniy, I. Rubachev and A. Babenko, "On Embeddings for
       Numerical Features in Tabular Deep Learning", NeurIPS 2022.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.tabular import PeriodicEmbeddings
    >>> PeriodicEmbeddings(3, d_embedding=8)(torch.zeros(2, 3)).shape
    torch.Size([2, 3, 8])
    """

    def __init__(
        self,
        n_features,
        d_embedding=24,
        n_frequencies=48,
        frequency_scale=0.01,
        activation=True,
    ):
        super().__init__()
        if not frequency_scale > 0:
            raise ValueError(
                f"frequency_scale must be positive; got {frequency_scale!r}."
            )
        self.frequencies = nn.Parameter(torch.empty(n_features, n_frequencies))
        self.weight = nn.Parameter(
            torch.empty(n_features, 2 * n_frequencies, d_embedding)
        )
        self.bias = nn.Parameter(torch.empty(n_features, d_embedding))
        self.frequency_scale = float(frequency_scale)
        self.activation = bool(activation)
        bound = 3 * self.frequency_scale
        nn.init.trunc_normal_(
            self.frequencies, 0.0, self.frequency_scale, -bound, bound
        )
        limit = (2 * n_frequencies) ** -0.5
        nn.init.uniform_(self.weight, -limit, limit)
        nn.init.uniform_(self.bias, -limit, limit)

    def forward(self, x):
        """Embeddings ``(B, F, d_embedding)`` of inputs ``(B, F)``."""
        angle = 2 * math.pi * self.frequencies * x.unsqueeze(-1)
        periodic = torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)
        out = torch.einsum("bfi,fio->bfo", periodic, self.weight) + self.bias
        return torch.relu(out) if self.activation else out
