"""Vector-scaling (VS) loss (Kini et al., NeurIPS 2021) over multi-task logits."""

import math

import torch

from .._params import ParamsMixin, check_number, unbound_message
from .cross_entropy import weighted_cross_entropy
from .logit_adjusted import log_class_prior


def vs_parameters(class_counts, *, gamma=0.2, tau=1.0):
    """The multiplicative and additive logit adjustments of the VS loss.

    ``Delta_j = (n_j / n_max) ** gamma`` (at most 1, smaller for rarer
    classes) and ``iota_j = tau * log pi_j`` with ``pi_j = n_j / n`` the
    training prior. A class with no training sample (one value of a
    multi-label label) is counted as one sample, as in
    :func:`~skimbalance.losses.logit_adjusted.log_class_prior`.

    Parameters
    ----------
    class_counts : array-like of shape (T, C)
        Training-set count of each class of each task.
    gamma : float, default=0.2
        Exponent of the multiplicative adjustment, ``>= 0`` (0: no scaling).
    tau : float, default=1.0
        Strength of the additive adjustment (0: none).

    Returns
    -------
    scale : Tensor of shape (T, C), float32
        ``Delta``.
    offset : Tensor of shape (T, C), float32
        ``iota``.

    Examples
    --------
    >>> from skimbalance.losses.vector_scaling import vs_parameters
    >>> scale, offset = vs_parameters([[16, 1]], gamma=0.5, tau=1.0)
    >>> scale
    tensor([[1.0000, 0.2500]])
    >>> offset.exp()
    tensor([[0.9412, 0.0588]])
    """
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be finite and >= 0, got {gamma!r}.")
    if not math.isfinite(tau):
        raise ValueError(f"tau must be finite, got {tau!r}.")
    log_prior = log_class_prior(class_counts).double()  # validates the counts
    counts = torch.as_tensor(class_counts, dtype=torch.float64).clamp_min(1.0)
    largest = counts.max(dim=1, keepdim=True).values
    scale = (counts / largest) ** gamma
    return scale.float(), (tau * log_prior).float()


def vs_loss(logits, targets, scale, offset, weight=None):
    """VS loss: cross-entropy of the logits scaled and shifted per class.

    The loss of a sample of class ``y`` with logits ``z`` is
    ``-log softmax(Delta * z + iota)[y]``: every logit ``z_j`` becomes
    ``Delta_j z_j + iota_j``. The additive part is logit adjustment (Menon et
    al.); the multiplicative part, ``Delta_j < 1`` for the rare classes, keeps
    pushing a rare class's margin up after the training data are separated,
    which an additive offset alone stops doing (Kini et al., Sec. 3).
    ``Delta = 1`` gives the logit-adjusted loss, ``Delta = 1, iota = 0`` the
    cross-entropy. Prediction uses the raw logits ``z``.

    Parameters
    ----------
    logits : Tensor of shape (B, T, C)
        Raw scores ``z``.
    targets : LongTensor of shape (B, T)
        Class index of each sample in each task.
    scale : Tensor of shape (T, C)
        ``Delta`` of each class of each task (:func:`vs_parameters`).
    offset : Tensor of shape (T, C)
        ``iota`` of each class of each task (:func:`vs_parameters`).
    weight : Tensor of shape (B, T) or None, default=None
        Per-sample, per-task weight.

    Returns
    -------
    loss : scalar Tensor

    References
    ----------
    .. [1] G. R. Kini, O. Paraskevas, S. Oymak and C. Thrampoulidis,
       "Label-Imbalanced and Group-Sensitive Classification under
       Overparameterization", NeurIPS 2021, Eq. 3 (VS loss).

    Examples
    --------
    With ``Delta = (1, 0.5)`` and no offset, logits ``(2, 2)`` are seen as
    ``(2, 1)``:

    >>> import math, torch
    >>> from skimbalance.losses.vector_scaling import vs_loss
    >>> loss = vs_loss(torch.full((1, 1, 2), 2.0), torch.tensor([[0]]),
    ...                torch.tensor([[1.0, 0.5]]), torch.zeros(1, 2))
    >>> round(float(loss), 6), round(math.log(1 + math.exp(-1.0)), 6)
    (0.313262, 0.313262)
    """
    scale = scale.to(device=logits.device, dtype=logits.dtype)
    offset = offset.to(device=logits.device, dtype=logits.dtype)
    return weighted_cross_entropy(logits * scale + offset, targets, weight)


class VSLoss(ParamsMixin, torch.nn.Module):
    """Module form of :func:`vs_loss` following the criterion protocol.

    Given to an estimator (``loss=VSLoss(gamma=0.3)``, or ``loss="vs"`` at the
    defaults) it needs no counts: the estimator binds it to its training set
    at ``fit`` (:meth:`with_class_counts`). The loss changes training only:
    the network predicts with its raw logits.

    Parameters
    ----------
    gamma : float, default=0.2
        Exponent of ``Delta_j = (n_j / n_max) ** gamma``, ``>= 0``.
    tau : float, default=1.0
        Strength of ``iota_j = tau * log pi_j``, ``>= 0``.
    class_counts : array-like of shape (T, C) or None, default=None
        Training-set count of each class of each task; ``Delta`` and ``iota``
        (:func:`vs_parameters`) are kept as the buffers ``scale`` and
        ``offset``. Needed to compute the loss.

    References
    ----------
    .. [1] G. R. Kini, O. Paraskevas, S. Oymak and C. Thrampoulidis,
       "Label-Imbalanced and Group-Sensitive Classification under
       Overparameterization", NeurIPS 2021.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses import VSLoss
    >>> crit = VSLoss(gamma=0.3, tau=1.0, class_counts=[[1, 1]])  # balanced: CE
    >>> round(float(crit((torch.zeros(2, 1, 2),), torch.tensor([[0], [1]]), {})), 4)
    0.6931
    >>> VSLoss(gamma=0.5).with_class_counts([[16, 1]]).scale
    tensor([[1.0000, 0.2500]])
    """

    rebalances = True

    def __init__(self, gamma=0.2, tau=1.0, *, class_counts=None):
        super().__init__()
        self.gamma = gamma
        self.tau = tau
        scale = offset = None
        if class_counts is not None:
            scale, offset = vs_parameters(class_counts, gamma=gamma, tau=tau)
        self.register_buffer("scale", scale)
        self.register_buffer("offset", offset)

    def with_class_counts(self, class_counts):
        """A checked copy bound to ``class_counts`` (its ``Delta`` and ``iota``)."""
        check_number(self, "gamma", 0)
        check_number(self, "tau", 0)
        return type(self)(**self.get_params(), class_counts=class_counts)

    def forward(self, y_pred, y_true, batch):
        if self.scale is None:
            raise ValueError(unbound_message(self))
        return vs_loss(
            y_pred[0], y_true, self.scale, self.offset, batch.get("sample_weight")
        )
