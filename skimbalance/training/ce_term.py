"""The cross-entropy term and its long-tail losses, as ``loss=`` resolves them.

``loss`` of :class:`~skimbalance.CrossEntropyClassifier` and of
:class:`~skimbalance.CRLClassifier`'s cross-entropy term is a string
(:data:`CE_LOSSES`) or a loss object that carries its own parameters (one of
:mod:`skimbalance.losses`, or your own criterion module). At ``fit`` the loss
is bound to the training set's class counts (``with_class_counts``) and gives
the classifier head it needs (``make_head``: LDAM's cosine head).
"""

import copy

from ..losses.cross_entropy import WeightedCrossEntropy
from ..losses.focal import FocalLoss
from ..losses.ldam import LDAMLoss
from ..losses.logit_adjusted import LogitAdjustedLoss
from ..losses.vector_scaling import VSLoss

#: The loss each string value of ``loss`` names, at its default parameters.
CE_LOSSES = {
    "cross_entropy": WeightedCrossEntropy,
    "focal": FocalLoss,
    "logit_adjusted": LogitAdjustedLoss,
    "ldam": LDAMLoss,
    "vs": VSLoss,
}


def resolve_loss(loss):
    """The loss object of ``loss`` (a string of :data:`CE_LOSSES` or an object).

    Examples
    --------
    >>> from skimbalance.training.ce_term import resolve_loss
    >>> resolve_loss("focal")
    FocalLoss()
    """
    if isinstance(loss, str):
        return CE_LOSSES[loss]()
    return loss


def is_plain_cross_entropy(loss):
    """Whether ``loss`` is the (weighted) cross-entropy."""
    return type(resolve_loss(loss)) is WeightedCrossEntropy


def rebalances(loss):
    """Whether ``loss`` already targets the balanced error (logit adjustment, LDAM, VS)."""
    return bool(getattr(resolve_loss(loss), "rebalances", False))


def ce_head(loss, n_tasks, embedding_dim, n_classes):
    """The classifier head ``loss`` needs (LDAM's cosine head), or None (linear)."""
    make = getattr(resolve_loss(loss), "make_head", None)
    return None if make is None else make(n_tasks, embedding_dim, n_classes)


def ce_criterion(loss, class_counts):
    """``loss`` as a criterion of this fit, bound to its ``class_counts`` (T, C).

    The user's object is never modified: a bound copy is returned.
    """
    loss = resolve_loss(loss)
    bind = getattr(loss, "with_class_counts", None)
    if bind is None:
        return copy.deepcopy(loss)
    return bind(class_counts)
