"""Batch-wise minority class profiling of Class Rectification Loss (Dong et al., Eq. 3).

In every training batch, and separately for every attribute (label), the classes are
ranked by how many samples of the batch they hold. The *minority classes* of the
batch are the least frequent classes that together hold fewer than half of the
batch; the other classes are its majority classes. Only minority classes with at
least two samples in the batch take part in hard mining (the paper's footnote 1:
a triplet needs an anchor and a positive of the same class).

Tie rule
--------
The paper sorts the class counts and takes the smallest classes while their sum
stays below half the batch, but does not say what happens to classes with equal
counts at the cut. Here class ``c`` is a minority class when the classes *at most
as frequent as c* (ties included) together hold fewer than half the batch::

    minority(c)  <=>  sum_{k : h_k <= h_c} h_k  <  0.5 * n_bs

This is Eq. 3 applied to the sorted counts with tied classes entering all together
or not at all. It is deterministic and does not depend on the order (index) of the
classes: relabelling the classes relabels the result. For example, counts
``(3, 3, 4)`` in a batch of 10 give no minority class (taking one of the two
classes of 3 samples would have to favour one of them arbitrarily), while counts
``(3, 3, 14)`` in a batch of 20 make both classes of 3 samples minority classes.
Classes absent from the batch count 0 and never take part.
"""

import torch

__all__ = ["batch_class_counts", "minority_classes"]


def batch_class_counts(targets, n_classes):
    """Number of samples of each class in a batch, for every attribute.

    Parameters
    ----------
    targets : LongTensor of shape (..., B)
        Class index in ``[0, n_classes)`` of each of the ``B`` samples of the
        batch. Leading dimensions (e.g. one per attribute) are batch dimensions.
    n_classes : int
        Number of classes ``|Z|``.

    Returns
    -------
    counts : LongTensor of shape (..., n_classes)
        ``counts[..., c]`` is the number of samples of class ``c`` (the paper's
        batch profile ``h``).

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Sec. 2.1, Eq. 3.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.miners.minority import batch_class_counts
    >>> batch_class_counts(torch.tensor([0, 2, 2, 2]), 3).tolist()
    [1, 0, 3]
    """
    targets = torch.as_tensor(targets)
    counts = torch.zeros(
        (*targets.shape[:-1], n_classes), dtype=torch.long, device=targets.device
    )
    return counts.scatter_add_(
        -1, targets.long(), torch.ones_like(targets, dtype=torch.long)
    )


def minority_classes(targets, n_classes, *, min_count=2):
    """Minority classes of a training batch (Eq. 3), for every attribute.

    A class is a minority class of the batch when the classes at most as frequent
    as it in the batch (ties included) together hold fewer than half the batch;
    only minority classes with at least ``min_count`` samples in the batch are
    returned (the paper keeps those with at least two, so that a triplet can be
    formed). See the module docstring for the tie rule.

    Parameters
    ----------
    targets : LongTensor of shape (..., B)
        Class index in ``[0, n_classes)`` of each of the ``B`` samples of the
        batch. Leading dimensions (e.g. one per attribute) are batch dimensions:
        each row is profiled on its own.
    n_classes : int
        Number of classes ``|Z|`` of the attribute.
    min_count : int, default=2
        Fewest samples a minority class must have in the batch to take part.

    Returns
    -------
    minority : BoolTensor of shape (..., n_classes)
        ``minority[..., c]`` is True when class ``c`` is a minority class of the
        batch with at least ``min_count`` samples.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Sec. 2.1, Eq. 3 and footnote 1.

    Examples
    --------
    Counts ``(8, 1, 3, 3, 5)`` in a batch of 20: sorted, the cumulative counts
    are 1, 7, 7, 12, 20, so classes 1, 2 and 3 hold fewer than 10 samples
    together; class 1 has a single sample and does not take part.

    >>> import torch
    >>> from skimbalance.miners.minority import minority_classes
    >>> y = torch.tensor([0] * 8 + [1] + [2] * 3 + [3] * 3 + [4] * 5)
    >>> minority_classes(y, 5).tolist()
    [False, False, True, True, False]
    """
    targets = torch.as_tensor(targets)
    counts = batch_class_counts(targets, n_classes)  # (..., C)
    batch_size = targets.shape[-1]
    # at_most[..., c, k]: class k is at most as frequent as class c
    at_most = counts.unsqueeze(-2) <= counts.unsqueeze(-1)
    cumulative = (at_most * counts.unsqueeze(-2)).sum(-1)  # (..., C)
    return (2 * cumulative < batch_size) & (counts >= min_count)
