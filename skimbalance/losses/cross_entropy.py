"""Weighted multi-task cross-entropy, the loss of the baseline and of every warm-up."""

import torch
from torch.nn import functional as F

from .._params import ParamsMixin


def weighted_cross_entropy(logits, targets, weight=None):
    """Cross-entropy averaged over samples and tasks, each term scaled by a weight.

    Parameters
    ----------
    logits : Tensor of shape (B, T, C)
        Unnormalised scores of ``C`` classes for each of ``T`` tasks.
    targets : LongTensor of shape (B, T)
        Class index of each sample in each task.
    weight : Tensor of shape (B, T) or None
        Per-sample, per-task weight (sample weight times class weight). The
        estimators normalise weights to mean 1 over the training set, so the
        loss keeps the scale of the unweighted one and a batch's loss does not
        depend on which other samples it holds.

    Returns
    -------
    loss : scalar Tensor
        ``mean over (b, t) of weight[b, t] * -log softmax(logits[b, t])[targets[b, t]]``.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.cross_entropy import weighted_cross_entropy
    >>> logits = torch.zeros(2, 1, 2)
    >>> targets = torch.tensor([[0], [1]])
    >>> round(float(weighted_cross_entropy(logits, targets)), 4)  # log 2
    0.6931
    >>> round(float(weighted_cross_entropy(logits, targets, torch.tensor([[2.0], [0.0]]))), 4)
    0.6931
    """
    per_term = F.cross_entropy(
        logits.flatten(0, 1), targets.flatten(), reduction="none"
    )
    if weight is not None:
        per_term = per_term * weight.flatten().to(per_term.dtype)
    return per_term.mean()


class WeightedCrossEntropy(ParamsMixin, torch.nn.Module):
    """Module form of :func:`weighted_cross_entropy` following the criterion protocol.

    A criterion is called as ``criterion(y_pred, y_true, batch)`` where ``y_pred``
    is the network's output tuple ``(logits, embedding, ...)``, ``y_true`` the
    ``(B, T)`` targets and ``batch`` the dict of batch inputs (``"data"``,
    ``"sample_weight"`` of shape ``(B, T)``, ``"index"`` of shape ``(B,)``).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.cross_entropy import WeightedCrossEntropy
    >>> crit = WeightedCrossEntropy()
    >>> y_pred = (torch.zeros(2, 1, 2), torch.zeros(2, 1, 3))
    >>> round(float(crit(y_pred, torch.tensor([[0], [1]]), {})), 4)
    0.6931
    """

    def forward(self, y_pred, y_true, batch):
        return weighted_cross_entropy(y_pred[0], y_true, batch.get("sample_weight"))

    def with_class_counts(self, class_counts):
        """A copy (the cross-entropy does not use the class counts)."""
        return type(self)()
