"""Logit-adjusted cross-entropy (Menon et al., ICLR 2021); balanced softmax at tau = 1."""

import math

import torch

from .._params import ParamsMixin, check_number, unbound_message
from .cross_entropy import weighted_cross_entropy


def log_class_prior(class_counts):
    """Log of each task's training-set class prior, ``log(n_j / n)``.

    A class with no training sample (possible for one value of a multi-label
    label, never for a multi-class target) is counted as one sample, so its log
    prior is ``log(1 / n)`` rather than ``-inf``: finite, and the smallest any
    observed class can have.

    Parameters
    ----------
    class_counts : array-like of shape (T, C)
        Training-set count of each class of each task.

    Returns
    -------
    log_prior : Tensor of shape (T, C), float32

    Examples
    --------
    >>> from skimbalance.losses.logit_adjusted import log_class_prior
    >>> log_class_prior([[3, 1, 0]]).exp()
    tensor([[0.7500, 0.2500, 0.2500]])
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if counts.dim() != 2:
        raise ValueError(
            f"class_counts must have shape (n_tasks, n_classes), got {tuple(counts.shape)}."
        )
    if (counts < 0).any() or not (counts.sum(dim=1) > 0).all():
        raise ValueError("class_counts must be >= 0 with a positive total per task.")
    total = counts.sum(dim=1, keepdim=True)
    return (counts.clamp_min(1.0).log() - total.log()).float()


def logit_adjusted_loss(logits, targets, log_prior, weight=None, *, tau=1.0):
    """Cross-entropy of the logits shifted by ``tau`` times the log class prior.

    ``CE(f(x) + tau * log pi, y)``: during training every logit gets its class's
    log prior added, so a frequent class must win by a larger raw margin than a
    rare one; predicting with the raw logits ``f(x)`` then estimates
    ``argmax_y p(x | y)``, the rule that minimises the balanced error (for
    ``tau = 1``). ``tau = 1`` is the balanced softmax of Ren et al. (2020).

    Parameters
    ----------
    logits : Tensor of shape (B, T, C)
        Raw scores ``f(x)``.
    targets : LongTensor of shape (B, T)
        Class index of each sample in each task.
    log_prior : Tensor of shape (T, C)
        Log class prior of each task (:func:`log_class_prior`).
    weight : Tensor of shape (B, T) or None, default=None
        Per-sample, per-task weight.
    tau : float, default=1.0
        Strength of the adjustment; 0 gives the cross-entropy.

    Returns
    -------
    loss : scalar Tensor

    References
    ----------
    .. [1] A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit and S.
       Kumar, "Long-tail learning via logit adjustment", ICLR 2021, Eq. 10.
    .. [2] J. Ren, C. Yu, S. Sheng, X. Ma, H. Zhao, S. Yi and H. Li, "Balanced
       Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS 2020.

    Examples
    --------
    >>> import math, torch
    >>> from skimbalance.losses.logit_adjusted import logit_adjusted_loss
    >>> log_prior = torch.log(torch.tensor([[0.8, 0.2]]))
    >>> loss = logit_adjusted_loss(torch.zeros(1, 1, 2), torch.tensor([[1]]), log_prior)
    >>> round(float(loss), 6), round(-math.log(0.2), 6)  # the prior alone decides
    (1.609438, 1.609438)
    """
    adjusted = logits + tau * log_prior.to(device=logits.device, dtype=logits.dtype)
    return weighted_cross_entropy(adjusted, targets, weight)


class LogitAdjustedLoss(ParamsMixin, torch.nn.Module):
    """Module form of :func:`logit_adjusted_loss` following the criterion protocol.

    Given to an estimator (``loss=LogitAdjustedLoss(tau=0.5)``) it needs no
    counts: the estimator binds it to its training set at ``fit``
    (:meth:`with_class_counts`).

    Parameters
    ----------
    tau : float, default=1.0
        Strength of the adjustment.
    class_counts : array-like of shape (T, C) or None, default=None
        Training-set count of each class of each task; its log prior (see
        :func:`log_class_prior`) is kept as the buffer ``log_prior``. Needed
        to compute the loss.

    References
    ----------
    .. [1] A. K. Menon et al., "Long-tail learning via logit adjustment",
       ICLR 2021.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.logit_adjusted import LogitAdjustedLoss
    >>> crit = LogitAdjustedLoss(tau=1.0, class_counts=[[1, 1]])
    >>> round(float(crit((torch.zeros(2, 1, 2),), torch.tensor([[0], [1]]), {})), 4)
    0.6931
    """

    rebalances = True

    def __init__(self, tau=1.0, *, class_counts=None):
        super().__init__()
        if not math.isfinite(tau):
            raise ValueError(f"tau must be finite, got {tau!r}.")
        self.tau = tau
        self.register_buffer(
            "log_prior", None if class_counts is None else log_class_prior(class_counts)
        )

    def with_class_counts(self, class_counts):
        """A checked copy bound to ``class_counts`` (its log prior)."""
        check_number(self, "tau", 0)
        return type(self)(**self.get_params(), class_counts=class_counts)

    def forward(self, y_pred, y_true, batch):
        if self.log_prior is None:
            raise ValueError(unbound_message(self))
        return logit_adjusted_loss(
            y_pred[0],
            y_true,
            self.log_prior,
            batch.get("sample_weight"),
            tau=self.tau,
        )
