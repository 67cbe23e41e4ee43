"""Minority class hard mining of Class Rectification Loss (Dong et al., Sec. 2.1).

Two levels of hard mining select, inside one training batch, the hard positives and
hard negatives of the batch's minority classes:

* class level (Eq. 4-5), one set per minority class ``c``: the ``K`` samples of
  class ``c`` the model scores lowest on ``c`` (hard positives, "poor
  recognitions") and the ``K`` samples of other classes it scores highest on ``c``
  (hard negatives, "obvious mistakes"); the score is the predicted probability of
  class ``c``;
* instance level (Eq. 6-7), one set per minority sample (anchor) ``i`` of class
  ``c``: the ``K`` misclassified samples of class ``c`` farthest from ``i`` in
  feature space (hard positives) and the ``K`` samples of other classes nearest to
  ``i`` (hard negatives).

Sets are index tensors padded to ``K`` with validity masks, so that the losses stay
vectorised: a set with fewer than ``K`` candidates is padded with invalid entries
(index 0, mask False). ``K`` is capped at the batch size ``B`` (the sets have
``min(K, B)`` slots): no set can hold more samples than the batch, so the sets,
the triplets and the result are the same for every ``K >= B`` and memory stays
linear in ``B`` whatever ``K``. Scores and distances are ranked in float32; ties are broken
by sample index (the lower index is selected first), so the result is
deterministic.

Per-anchor sets (:class:`HardSamples`) list the anchors only (the minority samples,
usually a small part of the batch), which keeps the cost of instance-level mining
at ``O(n_anchors x B)`` rather than ``O(B^2)``. Samples are numbered in the
flattened batch: with targets of shape ``(..., B)``, sample ``i`` of row ``r`` of
the flattened leading dimensions is ``r * B + i`` (with a single attribute, simply
``i``).

Choices where the paper is open
-------------------------------
* Instance-level hard positives when fewer than ``K`` samples of the anchor's class
  are misclassified: by default (``fallback=True``) the set is filled up with the
  farthest correctly classified samples of the class, so that each anchor keeps
  ``min(K, n_c - 1)`` positives. Misclassified samples always come first; without
  this fall-back an anchor whose class is already well recognised in the batch
  would have no triplet at all and its class would drop out of the loss. With
  ``fallback=False`` only misclassified samples are used (Eq. 6 read literally).
* The anchor itself is never one of its own hard positives (its distance to itself
  is 0 and carries no information). At the class level, where all anchors of a
  class share the class's ``K`` hard positives, the pair (anchor, anchor) is
  dropped, so an anchor that is itself among the ``K`` hard positives of its class
  has ``K - 1`` positives (see :func:`class_hard_samples_per_anchor`).
"""

import numbers
from typing import NamedTuple

import torch

__all__ = [
    "ClassHardSamples",
    "HardSamples",
    "class_hard_samples_per_anchor",
    "class_level_hard_samples",
    "instance_level_hard_samples",
    "minority_anchors",
]


class ClassHardSamples(NamedTuple):
    """Class-level hard positives and negatives, one padded set per class.

    Attributes
    ----------
    positive_index : LongTensor of shape (..., C, K)
        Batch indices (within the row) of the hard positives of each class.
    positive_mask : BoolTensor of shape (..., C, K)
        Which positive slots hold a real hard positive (all False for classes
        that are not minority classes).
    negative_index : LongTensor of shape (..., C, K)
        Batch indices (within the row) of the hard negatives of each class.
    negative_mask : BoolTensor of shape (..., C, K)
        Which negative slots hold a real hard negative.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Sec. 2.1, Eq. 4-5.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.miners.hard_mining import ClassHardSamples
    >>> idx, mask = torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, 2, dtype=torch.bool)
    >>> ClassHardSamples(idx, mask, idx, mask).positive_index.shape
    torch.Size([3, 2])
    """

    positive_index: torch.Tensor
    positive_mask: torch.Tensor
    negative_index: torch.Tensor
    negative_mask: torch.Tensor


class HardSamples(NamedTuple):
    """Per-anchor hard positives and negatives, as padded index tensors with masks.

    All indices number the samples of the flattened batch: with targets of shape
    ``(..., B)``, sample ``i`` of row ``r`` (leading dimensions flattened) is
    ``r * B + i``. An anchor's hard samples always lie in its own row (attribute).

    Attributes
    ----------
    anchor_index : LongTensor of shape (N,)
        The anchors (minority samples), in increasing order.
    positive_index : LongTensor of shape (N, K)
        Hard positives of each anchor; padding slots hold the anchor's row start.
    positive_mask : BoolTensor of shape (N, K)
        Which positive slots hold a real hard positive.
    negative_index : LongTensor of shape (N, K)
        Hard negatives of each anchor.
    negative_mask : BoolTensor of shape (N, K)
        Which negative slots hold a real hard negative.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Sec. 2.1-2.2.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.miners.hard_mining import HardSamples
    >>> hard = HardSamples(torch.tensor([0]), torch.tensor([[1]]), torch.tensor([[True]]),
    ...                    torch.tensor([[2]]), torch.tensor([[True]]))
    >>> hard.positive_index.shape
    torch.Size([1, 1])
    """

    anchor_index: torch.Tensor
    positive_index: torch.Tensor
    positive_mask: torch.Tensor
    negative_index: torch.Tensor
    negative_mask: torch.Tensor


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    return int(k)


def _float_ranks(values):
    """Integers in the order of ``values`` (compared in float32), as int64.

    The float32 bit patterns are mapped to integers of the same order, so that the
    ranking key below can append a priority and the sample index exactly.
    """
    bits = (values.float() + 0.0).view(torch.int32)  # + 0.0: -0.0 -> 0.0
    return torch.where(bits < 0, bits ^ 0x7FFFFFFF, bits).long()


def _masked_top_k(ranks, mask, k, *, largest, first=None):
    """Indices of the ``k`` largest (smallest) ``ranks`` where ``mask``.

    ``ranks`` come from :func:`_float_ranks`. Entries where ``first`` is True rank
    before all others; among equal ranks the lower index comes first. One exact
    int64 key ``(priority, rank, index)`` and one ``topk`` do the selection (a
    stable sort would do the same, several times slower). Returns indices and
    validity of shape ``(..., min(k, n))``: no set can hold more than the ``n``
    samples of a row, so a larger ``k`` only added slots that are never valid
    (and made the losses' ``K x K`` triplet tensors grow with ``k``). With fewer
    than ``min(k, n)`` candidates the remaining slots are index 0 with validity
    False.
    """
    n = ranks.shape[-1]
    key = -ranks if largest else ranks  # smallest key first; |key| <= 2^31
    if first is not None:
        key = key - (first.long() << 32)
    shift = max(1, (n - 1).bit_length())
    key = (key << shift) + torch.arange(n, device=ranks.device)
    key = key.masked_fill(~mask, torch.iinfo(torch.int64).max)
    order = torch.topk(key, min(k, n), dim=-1, largest=False).indices
    valid = torch.gather(mask, -1, order)
    return order.masked_fill(~valid, 0), valid


def minority_anchors(targets, minority):
    """The samples of the batch that belong to a (participating) minority class.

    Parameters
    ----------
    targets : LongTensor of shape (..., B)
        True class of each sample.
    minority : BoolTensor of shape (..., C)
        Minority classes of each row (see
        :func:`skimbalance.miners.minority.minority_classes`).

    Returns
    -------
    anchor_index : LongTensor of shape (N,)
        Indices in the flattened batch (``row * B + i``), increasing.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Sec. 2.2 (I): "we regard each image
       of these minority classes as an anchor".

    Examples
    --------
    >>> import torch
    >>> from skimbalance.miners.hard_mining import minority_anchors
    >>> targets = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 0]])
    >>> minority = torch.tensor([[False, True], [True, False]])
    >>> minority_anchors(targets, minority).tolist()
    [1, 2, 7]
    """
    is_anchor = torch.gather(minority, -1, targets)
    return is_anchor.reshape(-1).nonzero().squeeze(-1)


def class_level_hard_samples(scores, targets, minority, k):
    """Class-level hard positives and negatives of each minority class (Eq. 4-5).

    For each minority class ``c``, the hard positives are the ``K`` samples of
    class ``c`` with the lowest score on ``c`` and the hard negatives the ``K``
    samples of other classes with the highest score on ``c``.

    Parameters
    ----------
    scores : Tensor of shape (..., B, C)
        Score of each sample on each class; the paper uses the predicted
        probability ``p(y = c | x)`` (softmax of the logits). Not differentiated.
    targets : LongTensor of shape (..., B)
        True class of each sample.
    minority : BoolTensor of shape (..., C)
        Minority classes of the batch (see
        :func:`skimbalance.miners.minority.minority_classes`). Rows of
        non-minority classes are returned empty (all masks False).
    k : int
        Number ``K`` of hard positives and of hard negatives per class.

    Returns
    -------
    hard : ClassHardSamples
        Tensors of shape ``(..., C, K)``: row ``c`` holds the hard samples of
        class ``c`` (indices within the batch row), positives by increasing
        score, negatives by decreasing score; ties go to the lower sample index.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Sec. 2.1, Eq. 4-5.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.miners.hard_mining import class_level_hard_samples
    >>> p1 = torch.tensor([0.1, 0.2, 0.9, 0.6, 0.4])  # probability of class 1
    >>> scores = torch.stack([1 - p1, p1], dim=-1)
    >>> targets = torch.tensor([0, 0, 0, 1, 1])
    >>> minority = torch.tensor([False, True])
    >>> hard = class_level_hard_samples(scores, targets, minority, k=2)
    >>> hard.positive_index[1].tolist(), hard.negative_index[1].tolist()
    ([4, 3], [2, 1])
    >>> hard.positive_mask[0].tolist()  # class 0 is not a minority class
    [False, False]
    """
    k = _check_k(k)
    n_classes = scores.shape[-1]
    ranks = _float_ranks(scores.detach().transpose(-1, -2))  # (..., C, B)
    classes = torch.arange(n_classes, device=targets.device)
    is_class = targets.unsqueeze(-2) == classes.unsqueeze(-1)  # (..., C, B)
    active = minority.unsqueeze(-1)
    positive_index, positive_mask = _masked_top_k(
        ranks, is_class & active, k, largest=False
    )
    negative_index, negative_mask = _masked_top_k(
        ranks, ~is_class & active, k, largest=True
    )
    return ClassHardSamples(
        positive_index, positive_mask, negative_index, negative_mask
    )


def class_hard_samples_per_anchor(class_hard, targets, minority):
    """Per-anchor view of class-level hard samples: each minority sample is an anchor.

    The paper regards every sample of a minority class ``c`` as an anchor and pairs
    it with the hard positives and hard negatives of its class. The pair of an
    anchor with itself is dropped (an anchor that is one of the ``K`` hard
    positives of its class gets ``K - 1`` positives).

    Parameters
    ----------
    class_hard : ClassHardSamples
        Class-level hard samples of shape ``(..., C, K)`` from
        :func:`class_level_hard_samples`.
    targets : LongTensor of shape (..., B)
        True class of each sample.
    minority : BoolTensor of shape (..., C)
        Minority classes of the batch: their samples are the anchors.

    Returns
    -------
    hard : HardSamples
        One row per anchor, indices in the flattened batch.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Sec. 2.2 (I).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.miners.hard_mining import (
    ...     class_hard_samples_per_anchor, class_level_hard_samples)
    >>> p1 = torch.tensor([0.1, 0.2, 0.9, 0.6, 0.4])
    >>> scores = torch.stack([1 - p1, p1], dim=-1)
    >>> targets = torch.tensor([0, 0, 0, 1, 1])
    >>> minority = torch.tensor([False, True])
    >>> class_hard = class_level_hard_samples(scores, targets, minority, 2)
    >>> hard = class_hard_samples_per_anchor(class_hard, targets, minority)
    >>> hard.anchor_index.tolist()
    [3, 4]
    >>> hard.positive_index[0].tolist(), hard.positive_mask[0].tolist()  # anchor 3
    ([4, 0], [True, False])
    >>> hard.negative_index[1].tolist()  # anchor 4
    [2, 1]
    """
    n_samples = targets.shape[-1]
    n_classes = class_hard.positive_index.shape[-2]
    k = class_hard.positive_index.shape[-1]
    anchor_index = minority_anchors(targets, minority)
    row = anchor_index // n_samples
    anchor_class = targets.reshape(-1)[anchor_index]
    class_row = row * n_classes + anchor_class  # row of (flattened) class sets

    def per_anchor(tensor):
        return tensor.reshape(-1, k)[class_row]

    offset = (row * n_samples).unsqueeze(-1)
    positive_index = per_anchor(class_hard.positive_index) + offset
    positive_mask = per_anchor(class_hard.positive_mask) & (
        positive_index != anchor_index.unsqueeze(-1)
    )
    negative_index = per_anchor(class_hard.negative_index) + offset
    negative_mask = per_anchor(class_hard.negative_mask)
    return HardSamples(
        anchor_index,
        torch.where(positive_mask, positive_index, offset),
        positive_mask,
        negative_index,
        negative_mask,
    )


def instance_level_hard_samples(
    distances, targets, predictions, minority, k, *, fallback=True, anchor_rows=False
):
    """Instance-level hard positives and negatives of each minority anchor (Eq. 6-7).

    Every sample of a minority class is an anchor. Its hard positives are the
    ``K`` misclassified samples of its class farthest from it; its hard negatives
    the ``K`` samples of other classes nearest to it.

    Parameters
    ----------
    distances : Tensor of shape (..., B, B), or (N, B) with ``anchor_rows``
        Pairwise feature distances of the batch, or any quantity in the same order
        (e.g. squared distances): only their order is used. Not differentiated.
        With ``anchor_rows=True``, only the rows of the ``N`` anchors, in the
        order of :func:`minority_anchors` (e.g. from
        :func:`skimbalance.losses.crl.anchor_feature_distances`), which avoids
        the full ``(..., B, B)`` matrix.
    targets : LongTensor of shape (..., B)
        True class of each sample.
    predictions : LongTensor of shape (..., B)
        Class predicted by the current model for each sample (a sample is
        misclassified when it differs from its target).
    minority : BoolTensor of shape (..., C)
        Minority classes of the batch; only their samples are anchors.
    k : int
        Number ``K`` of hard positives and of hard negatives per anchor.
    fallback : bool, default=True
        When fewer than ``K`` samples of the anchor's class are misclassified,
        fill the positive set up with the farthest correctly classified samples of
        the class (the anchor itself excluded). Misclassified samples always rank
        first. With ``False``, only misclassified samples are hard positives.
    anchor_rows : bool, default=False
        ``distances`` holds the anchors' rows only (shape ``(N, B)``).

    Returns
    -------
    hard : HardSamples
        One row per anchor, indices in the flattened batch; positives by
        decreasing distance (misclassified first), negatives by increasing
        distance; ties go to the lower sample index.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Sec. 2.1, Eq. 6-7.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.miners.hard_mining import instance_level_hard_samples
    >>> x = torch.tensor([0.0, 1.0, 3.0, 0.5, 2.0])  # 1-d features
    >>> distances = (x[:, None] - x[None, :]).abs()
    >>> targets = torch.tensor([0, 0, 0, 1, 1])
    >>> predictions = torch.tensor([0, 0, 0, 0, 1])  # sample 3 is misclassified
    >>> minority = torch.tensor([False, True])
    >>> hard = instance_level_hard_samples(distances, targets, predictions, minority, 2)
    >>> hard.anchor_index.tolist()
    [3, 4]
    >>> hard.positive_index[1].tolist(), hard.positive_mask[1].tolist()  # anchor 4
    ([3, 0], [True, False])
    >>> hard.negative_index[1].tolist()  # nearest samples of class 0
    [1, 2]
    >>> hard.positive_mask[0].tolist()  # fall-back: sample 4 is correctly classified
    [True, False]
    """
    k = _check_k(k)
    n_samples = targets.shape[-1]
    flat_targets = targets.reshape(-1, n_samples)  # (R, B)
    anchor_index = minority_anchors(targets, minority)  # (N,)
    row = anchor_index // n_samples
    column = anchor_index % n_samples
    if anchor_rows:
        if distances.shape != (anchor_index.numel(), n_samples):
            raise ValueError(
                f"With anchor_rows=True, distances must have shape "
                f"{(anchor_index.numel(), n_samples)} (anchors, batch), got "
                f"{tuple(distances.shape)}."
            )
        anchor_distances = distances.detach()
    else:
        anchor_distances = (
            distances.detach().reshape(-1, n_samples).index_select(0, anchor_index)
        )
    ranks = _float_ranks(anchor_distances)  # (N, B)
    candidate_targets = flat_targets.index_select(0, row)  # (N, B)
    anchor_targets = flat_targets.reshape(-1).index_select(0, anchor_index)
    same_class = candidate_targets == anchor_targets.unsqueeze(-1)
    not_self = torch.arange(n_samples, device=targets.device) != column.unsqueeze(-1)
    wrong = predictions.reshape(-1, n_samples) != flat_targets
    misclassified = wrong.index_select(0, row)  # candidates' status, (N, B)

    positive_candidates = same_class & not_self
    if fallback:  # misclassified first, then the farthest correctly classified
        positive_index, positive_mask = _masked_top_k(
            ranks, positive_candidates, k, largest=True, first=misclassified
        )
    else:
        positive_index, positive_mask = _masked_top_k(
            ranks, positive_candidates & misclassified, k, largest=True
        )
    negative_index, negative_mask = _masked_top_k(ranks, ~same_class, k, largest=False)
    offset_rows = (row * n_samples).unsqueeze(-1)
    return HardSamples(
        anchor_index,
        positive_index + offset_rows,
        positive_mask,
        negative_index + offset_rows,
        negative_mask,
    )
