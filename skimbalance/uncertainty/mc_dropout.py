"""Bayesian uncertainty by Monte Carlo dropout (Khan et al. 2019, Sec. 3).

``N`` stochastic forward passes with dropout on sample ``N`` sub-networks of the
ensemble of Eq. 6; the mean of their outputs is the MC estimate of the
predictive mean and their variance the data-dependent part of the predictive
covariance of Eq. 7 (the constant ``tau^-1 I`` term is the same for every
sample and is left out). The same passes give the mean and the (diagonal)
variance of the features, which the sample-level term of
:mod:`skimbalance.losses.uncertainty_margin` models as a Gaussian (Sec. 5).
"""

from dataclasses import dataclass

import torch
from torch import nn

DROPOUT_TYPES = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)
"""Modules switched to training mode during the MC passes."""


@dataclass
class MCDropoutStatistics:
    """Per-sample moments of ``N`` MC-dropout passes.

    Attributes
    ----------
    prob_mean, prob_var : Tensor of shape (n, ..., C)
        Mean and variance (over the passes, ``1/N`` normalised as in Eq. 7) of
        the predicted class probabilities.
    feature_mean, feature_var : Tensor of shape (n, ..., D)
        Mean and per-dimension variance of the features (a diagonal
        covariance ``Sigma_f``).
    """

    prob_mean: torch.Tensor
    prob_var: torch.Tensor
    feature_mean: torch.Tensor
    feature_var: torch.Tensor

    @property
    def uncertainty(self):
        """Per-sample predictive uncertainty, see :func:`predictive_uncertainty`."""
        return predictive_uncertainty(self.prob_var)


def predictive_uncertainty(prob_var):
    """Scalar predictive uncertainty of each sample: the trace of Eq. 7.

    ``u = sum_c Var_q[p_c]``, the total variance of the class probabilities over
    the MC passes (the trace of the covariance of Eq. 7 without the constant
    ``tau^-1`` term). It is 0 when every pass predicts the same probabilities
    and at most ``1 - 1/C`` (``Var[p_c] <= E[p_c] (1 - E[p_c])``).

    Parameters
    ----------
    prob_var : Tensor of shape (n, ..., C)
        Per-class probability variance from :func:`mc_dropout_statistics`.

    Returns
    -------
    Tensor of shape (n, ...)

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 7.
    .. [2] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation:
       Representing Model Uncertainty in Deep Learning", ICML 2016.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.uncertainty.mc_dropout import predictive_uncertainty
    >>> u = predictive_uncertainty(torch.tensor([[0.1, 0.1], [0.0, 0.0]]))
    >>> [round(v, 4) for v in u.tolist()]
    [0.2, 0.0]
    """
    return prob_var.sum(dim=-1)


def _dropout_modules(model):
    if not isinstance(model, nn.Module):
        return []
    return [mod for mod in model.modules() if isinstance(mod, DROPOUT_TYPES)]


def _to_probabilities(logits, activation):
    if activation == "softmax":
        return torch.softmax(logits, dim=-1)
    if activation == "sigmoid":
        return torch.sigmoid(logits)
    if activation is None:
        return logits
    if callable(activation):
        return activation(logits)
    raise ValueError(
        "activation must be 'softmax', 'sigmoid', None or a callable, "
        f"got {activation!r}."
    )


def mc_dropout_statistics(
    model,
    X,
    *,
    n_samples=10,
    batch_size=256,
    activation="softmax",
    device=None,
):
    """Mean and variance of predictions and features over ``N`` dropout passes.

    The data are processed in chunks of ``batch_size`` samples; each chunk is
    repeated ``n_samples`` times along the batch axis and sent through the model
    in ONE forward pass, so every copy draws its own dropout masks (independent
    sub-networks, Eq. 6) and the passes are vectorised. Runs under
    ``torch.no_grad``. When ``model`` is an ``nn.Module`` it is put in
    evaluation mode with only its dropout modules in training mode (batch-norm
    statistics are neither used per batch nor updated), and every submodule's
    mode is restored afterwards, also on error.

    Parameters
    ----------
    model : nn.Module or callable
        Maps a batch ``(b, ...)`` to ``(logits, features, ...)`` with shapes
        ``(b, ..., C)`` and ``(b, ..., D)``. A plain callable is responsible for
        its own stochasticity.
    X : Tensor of shape (n, ...)
        Inputs.
    n_samples : int, default=10
        Number of stochastic passes ``N`` (the paper's choice).
    batch_size : int, default=256
        Samples per chunk (the forward pass sees ``batch_size * n_samples`` rows).
    activation : {"softmax", "sigmoid"}, None or callable, default="softmax"
        Maps logits to the predictions whose moments are taken (softmax over
        the last axis).
    device : torch.device or str or None
        Device of the forward passes; defaults to the model's (first parameter)
        device, else that of ``X``. Results stay on it.

    Returns
    -------
    MCDropoutStatistics

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Sec. 3, Eq. 6-7.
    .. [2] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation:
       Representing Model Uncertainty in Deep Learning", ICML 2016.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skimbalance.uncertainty.mc_dropout import mc_dropout_statistics
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5))
    ...         self.head = nn.Linear(8, 3)
    ...     def forward(self, x):
    ...         f = self.body(x)
    ...         return self.head(f), f
    >>> _ = torch.manual_seed(0)
    >>> stats = mc_dropout_statistics(Net().eval(), torch.randn(5, 4), n_samples=10)
    >>> tuple(stats.prob_mean.shape), tuple(stats.feature_var.shape)
    ((5, 3), (5, 8))
    >>> bool((stats.uncertainty > 0).all())
    True
    """
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}.")
    if device is None:
        param = next(model.parameters(), None) if isinstance(model, nn.Module) else None
        device = param.device if param is not None else X.device
    is_module = isinstance(model, nn.Module)
    modes = [(mod, mod.training) for mod in model.modules()] if is_module else []
    parts = {"pm": [], "pv": [], "fm": [], "fv": []}
    try:
        if is_module:
            model.eval()
            for mod in _dropout_modules(model):
                mod.train()
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                chunk = torch.as_tensor(X[start : start + batch_size], device=device)
                b = chunk.shape[0]
                repeated = chunk.repeat(n_samples, *([1] * (chunk.dim() - 1)))
                out = model(repeated)
                logits, features = out[0], out[1]
                probs = _to_probabilities(logits, activation)
                probs = probs.reshape(n_samples, b, *probs.shape[1:])
                features = features.reshape(n_samples, b, *features.shape[1:])
                pv, pm = torch.var_mean(probs, dim=0, correction=0)
                fv, fm = torch.var_mean(features, dim=0, correction=0)
                parts["pm"].append(pm)
                parts["pv"].append(pv)
                parts["fm"].append(fm)
                parts["fv"].append(fv)
    finally:
        for mod, mode in modes:
            mod.training = mode
    if not parts["pm"]:
        raise ValueError("X holds no samples.")
    return MCDropoutStatistics(
        prob_mean=torch.cat(parts["pm"]),
        prob_var=torch.cat(parts["pv"]),
        feature_mean=torch.cat(parts["fm"]),
        feature_var=torch.cat(parts["fv"]),
    )
