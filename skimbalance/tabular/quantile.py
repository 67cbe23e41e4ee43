"""A quantile transform to a standard normal, held by a torch module.

The transform of TabM's and the numerical-embeddings papers' preprocessing
(scikit-learn's ``QuantileTransformer(output_distribution="normal")``), with
its quantiles stored as a buffer so that the fitted network carries it:
saved, loaded and exported with the weights.
"""

import numpy as np
import torch
from torch import nn

#: Probability of the end quantiles' normal scores, as scikit-learn's
#: ``QuantileTransformer`` clips them (``norm.ppf(1e-7)`` = -5.2).
_BOUND = 1e-7


def fit_quantiles(X, n_quantiles):
    """The ``n_quantiles`` quantiles of each column of ``X``, shape ``(F, n_quantiles)``.

    Quantiles at the evenly spaced levels ``0, 1/(n-1), ..., 1`` (linear
    interpolation between order statistics, as :func:`numpy.quantile`). With
    no rows, every column gets ``0, 1/(n-1), ..., 1`` (a placeholder that a
    loaded state overwrites).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training inputs.
    n_quantiles : int
        Number of quantiles per column, at least 2.

    Returns
    -------
    quantiles : ndarray of shape (n_features, n_quantiles), float32

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.tabular import fit_quantiles
    >>> fit_quantiles(np.arange(5.0).reshape(-1, 1), 3)
    array([[0., 2., 4.]], dtype=float32)
    """
    X = np.asarray(X, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, int(n_quantiles))
    if X.shape[0] == 0:
        return np.tile(levels, (X.shape[1], 1)).astype(np.float32)
    quantiles = np.quantile(X, levels, axis=0).T
    # Monotone despite rounding (numpy's interpolation can dip by an ulp).
    return np.maximum.accumulate(quantiles, axis=1).astype(np.float32)


class QuantileNormal(nn.Module):
    """Map each feature through its training quantiles to a standard normal.

    A value between the quantiles ``q_j`` and ``q_{j+1}`` of its feature is
    interpolated linearly between their normal scores
    ``Φ⁻¹(j / (n-1))`` and ``Φ⁻¹((j+1) / (n-1))``; the end scores are
    ``Φ⁻¹(1e-7)`` and ``Φ⁻¹(1 - 1e-7)`` (±5.2), and values outside the
    training range are clipped to them, as scikit-learn's
    ``QuantileTransformer(output_distribution="normal")``. It agrees with
    scikit-learn at the quantiles; between two of them it is linear in the
    normal scores (scikit-learn is linear in the levels, then takes the
    normal quantile), which differs little with many quantiles away from
    the tails. Where quantiles tie (a feature with few distinct values), a
    value equal to them goes to the middle of their scores, as
    scikit-learn's averaging of the forward and backward interpolations
    does inside the range; at the ends too, where scikit-learn sends the
    minimum and maximum to ±5.2 however many rows share them (a binary
    feature becomes ±5.2 there, and ``-2.3, 2.9`` here for a 70/30
    split). The computation is a sum of clipped ramps
    (no search), so it is vectorised over batch, features and quantiles and
    exports to ONNX; it holds a ``(batch, n_features, n_quantiles - 1)``
    tensor, so feed an exported graph batches of rows rather than millions
    at once.

    Parameters
    ----------
    quantiles : array-like of shape (n_features, n_quantiles)
        Non-decreasing quantiles of each feature at evenly spaced levels from
        0 to 1 (:func:`fit_quantiles`); stored as a buffer.

    References
    ----------
    .. [1] Y. Gorishniy, I. Rubachev, N. Kartashev, D. Shlenskii, A. Kotelnikov
       and A. Babenko, "TabM: Advancing Tabular Deep Learning with
       Parameter-Efficient Ensembling", ICLR 2025 (the quantile
       preprocessing of its experiments).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.tabular import QuantileNormal
    >>> qn = QuantileNormal([[0.0, 1.0, 2.0]])
    >>> qn(torch.tensor([[1.0], [9.0]])).squeeze(1)
    tensor([0.0000, 5.1993])
    """

    def __init__(self, quantiles):
        super().__init__()
        quantiles = torch.as_tensor(np.asarray(quantiles), dtype=torch.float32)
        if quantiles.dim() != 2 or quantiles.shape[1] < 2:
            raise ValueError(
                "quantiles must have shape (n_features, n_quantiles) with at "
                f"least 2 quantiles; got {tuple(quantiles.shape)}."
            )
        n = quantiles.shape[1]
        levels = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
        scores = torch.special.ndtri(levels.clamp(_BOUND, 1.0 - _BOUND)).float()
        self.register_buffer("quantiles", quantiles)
        self.register_buffer("scores", scores)

    def forward(self, x):
        """Normal scores ``(B, F)`` of inputs ``(B, F)``."""
        lower = self.quantiles[:, :-1]
        width = self.quantiles[:, 1:] - lower
        rise = self.scores[1:] - self.scores[:-1]
        below = x.unsqueeze(-1) - lower  # (B, F, n - 1)
        tied = width <= 0
        ramp = (below / torch.where(tied, torch.ones_like(width), width)).clamp(0, 1)
        step = 0.5 * ((below >= 0).to(x.dtype) + (below > 0).to(x.dtype))
        fraction = torch.where(tied, step, ramp)
        return self.scores[0] + (fraction * rise).sum(-1)
