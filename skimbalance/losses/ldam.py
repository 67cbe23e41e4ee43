"""Label-distribution-aware margin loss (Cao et al., NeurIPS 2019) and its cosine head."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from .._params import ParamsMixin, check_number, unbound_message
from .cross_entropy import weighted_cross_entropy


def ldam_margins(class_counts, max_margin=0.5):
    """Per-class margins ``Delta_j = C / n_j ** (1/4)``, the largest equal to ``max_margin``.

    ``C`` is chosen per task so that the rarest class gets ``max_margin``:
    ``Delta_j = max_margin * (n_min / n_j) ** (1/4)``. A class with no training
    sample (one value of a multi-label label) is counted as one sample.

    Parameters
    ----------
    class_counts : array-like of shape (T, C)
        Training-set count of each class of each task.
    max_margin : float, default=0.5
        Margin of the rarest class of each task (Cao et al. use 0.5).

    Returns
    -------
    margins : Tensor of shape (T, C), float32

    Examples
    --------
    >>> from skimbalance.losses.ldam import ldam_margins
    >>> ldam_margins([[16, 1]], max_margin=0.5)
    tensor([[0.2500, 0.5000]])
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    if counts.dim() != 2:
        raise ValueError(
            f"class_counts must have shape (n_tasks, n_classes), got {tuple(counts.shape)}."
        )
    if (counts < 0).any():
        raise ValueError("class_counts must be >= 0.")
    if max_margin < 0:
        raise ValueError(f"max_margin must be >= 0, got {max_margin!r}.")
    counts = counts.clamp_min(1.0)
    smallest = counts.min(dim=1, keepdim=True).values
    return (max_margin * (smallest / counts) ** 0.25).float()


def ldam_loss(logits, targets, margins, weight=None, *, scale=30.0):
    """LDAM loss: cross-entropy of scaled cosines with the target's margin subtracted.

    With ``logits = scale * cos(theta)`` from a cosine classifier
    (:class:`CosineTaskHead`), the loss of a sample of class ``y`` is
    ``-log softmax(scale * (cos(theta) - Delta_y e_y))[y]``: the target cosine
    must beat the others by the class's margin ``Delta_y``, larger for rarer
    classes.

    Parameters
    ----------
    logits : Tensor of shape (B, T, C)
        Scaled cosines ``scale * cos(theta)`` of each sample to each class.
    targets : LongTensor of shape (B, T)
        Class index of each sample in each task.
    margins : Tensor of shape (T, C)
        Margin ``Delta_j`` of each class of each task, in cosine units
        (:func:`ldam_margins`).
    weight : Tensor of shape (B, T) or None, default=None
        Per-sample, per-task weight.
    scale : float, default=30.0
        The scale ``s`` the logits carry; the margin is subtracted as
        ``scale * Delta_y`` from the target logit.

    Returns
    -------
    loss : scalar Tensor

    References
    ----------
    .. [1] K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning
       Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
       NeurIPS 2019, Eq. 13.

    Examples
    --------
    >>> import math, torch
    >>> from skimbalance.losses.ldam import ldam_loss
    >>> cos = torch.tensor([[[0.5, 0.0]]])
    >>> loss = ldam_loss(10.0 * cos, torch.tensor([[0]]), torch.tensor([[0.5, 0.1]]),
    ...                  scale=10.0)
    >>> round(float(loss), 6), round(math.log(2.0), 6)  # the margin eats the lead
    (0.693147, 0.693147)
    """
    margins = margins.to(device=logits.device, dtype=logits.dtype)
    n_tasks = logits.shape[1]
    task = torch.arange(n_tasks, device=logits.device)
    target_margin = margins[task.unsqueeze(0), targets]  # (B, T)
    one_hot = F.one_hot(targets, logits.shape[-1]).to(logits.dtype)
    adjusted = logits - scale * target_margin.unsqueeze(-1) * one_hot
    return weighted_cross_entropy(adjusted, targets, weight)


class CosineTaskHead(nn.Module):
    """Per-task cosine classifier: ``scale * cos`` of the embedding and each class vector.

    The normalised linear layer of Cao et al.'s LDAM: both the embedding and
    the class vectors are L2-normalised (no bias), so a logit is ``scale``
    times a cosine in ``[-1, 1]``. Input ``(B, T, D)``, output ``(B, T, C)``.

    Parameters
    ----------
    n_tasks, in_features, n_classes : int
        Number of tasks ``T``, embedding size ``D`` and classes per task ``C``.
    scale : float, default=30.0
        The scale ``s`` (Cao et al. use 30).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.ldam import CosineTaskHead
    >>> head = CosineTaskHead(2, 4, 3, scale=30.0)
    >>> out = head(torch.randn(5, 2, 4))
    >>> tuple(out.shape), bool(out.abs().max() <= 30.0 + 1e-4)
    ((5, 2, 3), True)
    """

    def __init__(self, n_tasks, in_features, n_classes, scale=30.0):
        super().__init__()
        self.scale = scale
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(n_tasks, n_classes, in_features).uniform_(-bound, bound)
        )

    def forward(self, embedding):
        cosine = torch.einsum(
            "btd,tcd->btc",
            F.normalize(embedding, dim=-1),
            F.normalize(self.weight, dim=-1),
        )
        return self.scale * cosine


class LDAMLoss(ParamsMixin, nn.Module):
    """Module form of :func:`ldam_loss` following the criterion protocol.

    Expects the logits of a :class:`CosineTaskHead` with the same ``scale``.

    Given to an estimator (``loss=LDAMLoss(max_margin=0.3)``) it needs no
    counts: the estimator binds it to its training set at ``fit``
    (:meth:`with_class_counts`) and gives the network the
    :class:`CosineTaskHead` of :meth:`make_head`.

    Parameters
    ----------
    max_margin : float, default=0.5
        Margin of the rarest class, in cosine units.
    scale : float, default=30.0
        Scale ``s`` of the cosine logits.
    class_counts : array-like of shape (T, C) or None, default=None
        Training-set count of each class of each task; the margins
        (:func:`ldam_margins`) are kept as the buffer ``margins``. Needed to
        compute the loss.

    References
    ----------
    .. [1] K. Cao et al., "Learning Imbalanced Datasets with
       Label-Distribution-Aware Margin Loss", NeurIPS 2019.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.ldam import LDAMLoss
    >>> crit = LDAMLoss(max_margin=0.5, scale=30.0, class_counts=[[9, 1]])
    >>> crit.margins
    tensor([[0.2887, 0.5000]])
    >>> float(crit((torch.zeros(2, 1, 2),), torch.tensor([[0], [1]]), {})) > 0.6931
    True
    """

    rebalances = True

    def __init__(self, max_margin=0.5, scale=30.0, *, class_counts=None):
        super().__init__()
        self.max_margin = max_margin
        self.scale = scale
        self.register_buffer(
            "margins",
            None if class_counts is None else ldam_margins(class_counts, max_margin),
        )

    def with_class_counts(self, class_counts):
        """A checked copy bound to ``class_counts`` (its margins)."""
        check_number(self, "max_margin", 0)
        check_number(self, "scale", 0, low_inclusive=False)
        return type(self)(**self.get_params(), class_counts=class_counts)

    def make_head(self, n_tasks, in_features, n_classes):
        """The classifier this loss expects: a :class:`CosineTaskHead` of ``scale``."""
        return CosineTaskHead(n_tasks, in_features, n_classes, scale=float(self.scale))

    def forward(self, y_pred, y_true, batch):
        if self.margins is None:
            raise ValueError(unbound_message(self))
        return ldam_loss(
            y_pred[0],
            y_true,
            self.margins,
            batch.get("sample_weight"),
            scale=self.scale,
        )
