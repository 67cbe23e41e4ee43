"""Focal loss (Lin et al., ICCV 2017) over multi-task logits."""

import torch
from torch.nn import functional as F

from .._params import ParamsMixin, check_number
from .cross_entropy import weighted_cross_entropy


def focal_loss(logits, targets, weight=None, *, gamma=2.0):
    """Focal loss ``-(1 - p_y) ** gamma * log p_y``, averaged over samples and tasks.

    The factor ``(1 - p_y) ** gamma`` down-weights the well-classified terms,
    so that the many easy (mostly majority-class) samples do not dominate the
    gradient. ``gamma=0`` is the cross-entropy.

    Parameters
    ----------
    logits : Tensor of shape (B, T, C)
        Unnormalised scores of ``C`` classes for each of ``T`` tasks.
    targets : LongTensor of shape (B, T)
        Class index of each sample in each task.
    weight : Tensor of shape (B, T) or None, default=None
        Per-sample, per-task weight (sample weight times class weight), as in
        :func:`~skimbalance.losses.cross_entropy.weighted_cross_entropy`.
    gamma : float, default=2.0
        Focusing parameter, ``>= 0`` (Lin et al. use 2).

    Returns
    -------
    loss : scalar Tensor
        ``mean over (b, t) of weight[b, t] * -(1 - p) ** gamma * log p`` with
        ``p = softmax(logits[b, t])[targets[b, t]]``.

    Notes
    -----
    ``1 - p`` is computed as ``-expm1(log p)`` and floored at the smallest
    positive normal number of the dtype, so the loss and its gradient stay
    finite when ``p`` rounds to 1, also for ``0 < gamma < 1`` (where the
    derivative of ``(1 - p) ** gamma`` is unbounded at ``p = 1``). With
    ``gamma=0`` the cross-entropy itself is returned.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollár, "Focal Loss
       for Dense Object Detection", ICCV 2017, Eq. 4 (without the class
       weight ``alpha``; pass class weights through ``weight``).

    Examples
    --------
    >>> import math, torch
    >>> from skimbalance.losses.focal import focal_loss
    >>> logits = torch.tensor([[[math.log(3.0), 0.0]]])  # p_y = 0.75
    >>> round(float(focal_loss(logits, torch.tensor([[0]]), gamma=2.0)), 6)
    0.01798
    >>> round(0.25 ** 2 * -math.log(0.75), 6)
    0.01798
    """
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma!r}.")
    if gamma == 0:
        return weighted_cross_entropy(logits, targets, weight)
    log_p = F.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1))
    log_p = log_p.squeeze(-1)
    one_minus_p = (-torch.expm1(log_p)).clamp_min(torch.finfo(log_p.dtype).tiny)
    per_term = -(one_minus_p**gamma) * log_p
    if weight is not None:
        per_term = per_term * weight.to(per_term.dtype)
    return per_term.mean()


class FocalLoss(ParamsMixin, torch.nn.Module):
    """Module form of :func:`focal_loss` following the criterion protocol.

    Called as ``criterion(y_pred, y_true, batch)`` with ``y_pred = (logits (B,
    T, C), ...)``; the weights are read from ``batch["sample_weight"]``.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter, ``>= 0``.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollár, "Focal Loss
       for Dense Object Detection", ICCV 2017.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.focal import FocalLoss
    >>> crit = FocalLoss(gamma=2.0)
    >>> round(float(crit((torch.zeros(2, 1, 2),), torch.tensor([[0], [1]]), {})), 4)
    0.1733
    """

    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, y_pred, y_true, batch):
        return focal_loss(
            y_pred[0], y_true, batch.get("sample_weight"), gamma=self.gamma
        )

    def with_class_counts(self, class_counts):
        """A checked copy (the focal loss does not use the class counts)."""
        check_number(self, "gamma", 0)
        return type(self)(**self.get_params())
