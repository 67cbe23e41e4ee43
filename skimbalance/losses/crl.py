"""Class Rectification Loss (CRL) of Dong, Gong and Zhu (ICCV 2017).

CRL regularises the cross-entropy of a network with a term computed, in each
training batch, from the hard positives and hard negatives of the batch's minority
classes only: ``l_bln = l_ce + w * l_crl`` (Eq. 8). Three forms of the term are
implemented, each with class-level or instance-level hard mining:

* relative comparison (Eq. 9-10), a triplet ranking loss: every minority sample is
  an anchor, combined with each of its ``K`` hard positives and ``K`` hard
  negatives into at most ``K^2`` triplets;
* absolute comparison (Eq. 11), a contrastive loss on the (anchor, hard positive)
  and (anchor, hard negative) pairs;
* distribution comparison (Eq. 12-14), the histogram loss of Ustinova and
  Lempitsky (NIPS 2016) on the same pairs.

Choices where the paper is open
-------------------------------
* Distance. All three forms and the instance-level mining use one distance: by
  default (``normalize=True``) the Euclidean distance between L2-normalised
  features, which lies in ``[0, 2]`` (``d^2 = 2 - 2 cos``). The histogram loss needs
  such a bounded range; the relative and absolute forms also accept the plain
  Euclidean distance of the raw features (``normalize=False``, the paper's "L2
  distance" read literally). With raw distances the relative hinge ``m + d(a, p)
  - d(a, n)`` of a hard triplet (``d(a, p) > d(a, n)``) is lowered by shrinking
  all features by a common factor: the gradient has a constant-norm component
  towards the origin, and the loss tends to ``m`` as the features collapse.
* Relative margin. ``m_j = 2 pi / |Z_j|`` (Eq. 10) by default. With normalised
  features two distances differ by at most 2, so for ``|Z_j| <= 3`` (``m_j >=
  2.09``) the hinge never reaches 0, even for antipodal classes (the loss is then
  at least ``m_j - 2``): the margin only adds a constant, and margins 1 and pi
  train identically in practice. Pass ``margin`` to choose another value.
* Anchors of class-level mining: every minority sample of class ``c`` is an anchor
  paired with the ``K`` class-level hard positives and negatives of ``c``; the pair
  of an anchor with itself is dropped.
* Pooling. Eq. 9 averages *once* over all the triplets of all attributes (Eq. 11
  over all positive and all negative pairs): ``pooling="triplets"``, the default,
  so an attribute weighs by its number of triplets (pairs). The histogram loss
  (Eq. 14) compares distances of one embedding, so it is computed per attribute
  and the attributes' losses are averaged with weights ``|P+_j| |P-_j|``, the
  number of positive-negative comparisons each holds. Attributes with no triplet
  (pair) contribute nothing; when no attribute has any, the term is exactly 0,
  with a zero gradient, and still part of the autograd graph.
  ``pooling="attributes"`` gives the mean of the per-attribute means.
* Eq. 11 squares the positive distance (the poster drops the square); the squared
  form of the contrastive loss of Hadsell et al. is used, with ``m_apc = 1``.
* Histogram bins: ``n_bins`` bins uniformly spaced over the distance range
  ``[0, 2]`` with the triangular kernel of Eq. 13; Eq. 14 is the probability that a
  random negative pair is nearer than a random positive pair, in ``[0, 1]``.
"""

import math

import torch
from torch.nn import functional as F

from skimbalance.miners.hard_mining import (
    class_hard_samples_per_anchor,
    class_level_hard_samples,
    instance_level_hard_samples,
    minority_anchors,
)
from skimbalance.miners.minority import minority_classes

__all__ = [
    "absolute_rectification_loss",
    "anchor_feature_distances",
    "class_rectification_loss",
    "distribution_rectification_loss",
    "pairwise_feature_distances",
    "relative_rectification_loss",
]

_EPS = 1e-12
MININGS = ("class", "instance")
LOSSES = ("relative", "absolute", "distribution")


def pairwise_feature_distances(features, *, normalize=True, squared=False):
    """Pairwise Euclidean distances of a batch of features.

    Parameters
    ----------
    features : Tensor of shape (..., B, D)
        Feature vectors; leading dimensions are batch dimensions.
    normalize : bool, default=True
        L2-normalise the features first (distances then lie in ``[0, 2]``).
    squared : bool, default=False
        Return squared distances (cheaper; same order, enough for mining).

    Returns
    -------
    distances : Tensor of shape (..., B, B)
        ``distances[..., i, j] = ||x_i - x_j||`` (of the normalised features when
        ``normalize``). Computed through inner products; meant for mining, where
        it is not differentiated.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Eq. 6-7.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.crl import pairwise_feature_distances
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    >>> pairwise_feature_distances(x).round(decimals=4).tolist()
    [[0.0, 1.4142, 2.0], [1.4142, 0.0, 1.4142], [2.0, 1.4142, 0.0]]
    """
    if normalize:
        features = F.normalize(features, dim=-1, eps=_EPS)
        gram = features @ features.transpose(-1, -2)
        sq_distances = 2.0 - 2.0 * gram
    else:
        squared_norms = (features * features).sum(-1)
        gram = features @ features.transpose(-1, -2)
        sq_distances = (
            squared_norms.unsqueeze(-1) + squared_norms.unsqueeze(-2) - 2.0 * gram
        )
    sq_distances = sq_distances.clamp_min(0.0)
    return sq_distances if squared else sq_distances.sqrt()


def anchor_feature_distances(features, anchor_index, *, normalize=True, squared=True):
    """Distances from each anchor to every sample of its own row (attribute).

    The rows of :func:`pairwise_feature_distances` that instance-level mining
    reads, without the rest: the anchors of each attribute (at most half of its
    batch, Eq. 3) are gathered into a padded ``(T, A, D)`` block (``A``, the
    most anchors of any attribute) and multiplied with the attribute's ``(B,
    D)`` features, so the cost is ``T * A * B * D`` instead of the ``T * B^2 *
    D`` of the full Gram matrix, and memory ``O(T * A * B)``.

    Parameters
    ----------
    features : Tensor of shape (T, B, D) or (B, D)
        Features of the batch, one row of ``B`` samples per attribute.
    anchor_index : LongTensor of shape (N,)
        Anchors in the flattened batch (``row * B + i``), in increasing order
        (as :func:`skimbalance.miners.hard_mining.minority_anchors` returns
        them).
    normalize : bool, default=True
        L2-normalise the features first (distances then lie in ``[0, 2]``).
    squared : bool, default=True
        Return squared distances (enough for mining: same order).

    Returns
    -------
    distances : Tensor of shape (N, B)
        ``distances[n, j]`` is the distance from anchor ``n`` to sample ``j`` of
        the anchor's row: row ``anchor_index[n] % B`` of the anchor's
        attribute's :func:`pairwise_feature_distances`, by the same formula.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Eq. 6-7.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.crl import anchor_feature_distances
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    >>> anchor_feature_distances(x, torch.tensor([2]), squared=False).tolist()
    [[2.0, 1.4142135381698608, 0.0]]
    """
    if features.ndim == 2:
        features = features.unsqueeze(0)
    n_rows, n_samples, dim = features.shape
    if normalize:
        features = F.normalize(features, dim=-1, eps=_EPS)
    rows = anchor_index // n_samples
    counts = torch.bincount(rows, minlength=n_rows)
    n_max = int(counts.max()) if anchor_index.numel() else 0
    starts = torch.cumsum(counts, 0) - counts
    position = torch.arange(anchor_index.numel(), device=rows.device) - starts[rows]
    padded = features.new_zeros(n_rows, n_max, dim)
    padded[rows, position] = features.reshape(-1, dim)[anchor_index]
    gram = (padded @ features.transpose(-1, -2))[rows, position]  # (N, B)
    if normalize:
        sq_distances = 2.0 - 2.0 * gram
    else:
        squared_norms = (features * features).sum(-1)  # (T, B)
        sq_distances = (
            squared_norms.reshape(-1)[anchor_index].unsqueeze(-1)
            + squared_norms[rows]
            - 2.0 * gram
        )
    sq_distances = sq_distances.clamp_min(0.0)
    return sq_distances if squared else sq_distances.sqrt()


def _flat_features(features, normalize):
    """(L2-normalised) features as (R * B, D), with R, the rows of the leading dims."""
    if normalize:
        features = F.normalize(features, dim=-1, eps=_EPS)
    *lead, n_samples, dim = features.shape
    return features.reshape(-1, dim), tuple(lead), n_samples


def _hard_distances(flat, hard):
    """Differentiable distances from each anchor to its hard positives / negatives.

    Returns two (N, K) tensors, computed from the feature differences (exact near
    0, finite gradient everywhere; padding slots point at real samples).
    """
    n_anchors, k = hard.positive_index.shape
    anchors = flat.index_select(0, hard.anchor_index).unsqueeze(-2)  # (N, 1, D)
    index = torch.cat([hard.positive_index, hard.negative_index], dim=-1).reshape(-1)
    others = flat.index_select(0, index).reshape(n_anchors, 2 * k, flat.shape[-1])
    difference = anchors - others
    distances = (difference * difference).sum(-1).clamp_min(_EPS).sqrt()
    return distances[:, :k], distances[:, k:]


def _anchor_rows(hard, n_samples):
    """Row (attribute) of each anchor of ``hard``."""
    return hard.anchor_index // n_samples


def _row_sums(values, rows, n_rows):
    """Sum per-anchor ``values`` (N, ...) into the rows (attributes) ``rows`` (N,)."""
    out = values.new_zeros((n_rows, *values.shape[1:]))
    return out.index_add(0, rows, values)


def _masked_row_sums(values, mask, rows, n_rows):
    """Per row: the sum of ``values`` (N, K...) where ``mask``, and the count."""
    masked = torch.where(mask, values, torch.zeros_like(values)).flatten(1).sum(-1)
    count = mask.flatten(1).sum(-1).to(values.dtype)
    return _row_sums(masked, rows, n_rows), _row_sums(count, rows, n_rows)


def _row_means(values, mask, rows, n_rows):
    """Mean of ``values`` (N, K...) over ``mask`` within each row; 0 for empty rows."""
    total, count = _masked_row_sums(values, mask, rows, n_rows)
    return total / count.clamp_min(1.0)


def _relative_terms(flat, hard, margin):
    """Hinge of every (anchor, positive, negative) triplet (N, K, K) and its validity."""
    d_pos, d_neg = _hard_distances(flat, hard)  # (N, K)
    hinge = F.relu(margin + d_pos.unsqueeze(-1) - d_neg.unsqueeze(-2))
    valid = hard.positive_mask.unsqueeze(-1) & hard.negative_mask.unsqueeze(-2)
    return hinge, valid


def _absolute_terms(flat, hard, margin):
    """Squared positive distances and squared negative hinges (N, K) each."""
    d_pos, d_neg = _hard_distances(flat, hard)
    return d_pos.square(), F.relu(margin - d_neg).square()


def relative_rectification_loss(features, hard, *, margin, normalize=True):
    """CRL by relative comparison: triplet ranking loss on hard samples (Eq. 9).

    For every anchor ``a`` with hard positives ``P_a`` and hard negatives ``N_a``,
    the triplets ``(a, p, n)``, ``p`` in ``P_a``, ``n`` in ``N_a``, give
    ``max(0, m + d(a, p) - d(a, n))``, averaged over all triplets of one
    attribute.

    Parameters
    ----------
    features : Tensor of shape (..., B, D)
        Features of the batch (the paper's per-attribute feature layer); leading
        dimensions are attributes.
    hard : HardSamples
        Per-anchor hard samples (indices in the flattened batch), e.g. from
        :func:`skimbalance.miners.hard_mining.instance_level_hard_samples`.
    margin : float
        Class margin ``m_j`` (the paper: ``2 pi / |Z_j|``).
    normalize : bool, default=True
        Use the distance between L2-normalised features.

    Returns
    -------
    loss : Tensor of shape (...)
        Mean hinge over the valid triplets of each attribute; exactly 0 (with zero
        gradient) where there is none.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Eq. 9-10.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.crl import relative_rectification_loss
    >>> from skimbalance.miners.hard_mining import HardSamples
    >>> x = torch.tensor([[0.0], [1.0], [3.0]])  # anchor 0, positive 1, negative 2
    >>> t = torch.tensor
    >>> hard = HardSamples(t([0]), t([[1]]), t([[True]]), t([[2]]), t([[True]]))
    >>> round(float(relative_rectification_loss(x, hard, margin=2.5, normalize=False)), 4)
    0.5
    """
    flat, lead, n_samples = _flat_features(features, normalize)
    hinge, valid = _relative_terms(flat, hard, margin)
    rows, n_rows = _anchor_rows(hard, n_samples), math.prod(lead)
    return _row_means(hinge, valid, rows, n_rows).reshape(lead)


def absolute_rectification_loss(features, hard, *, margin=1.0, normalize=True):
    """CRL by absolute comparison: contrastive loss on hard pairs (Eq. 11).

    ``0.5 * (mean over P+ of d(a, p)^2 + mean over P- of max(m - d(a, n), 0)^2)``
    where ``P+`` holds the (anchor, hard positive) pairs and ``P-`` the (anchor,
    hard negative) pairs of one attribute. An empty set contributes 0.

    Parameters
    ----------
    features : Tensor of shape (..., B, D)
        Features of the batch; leading dimensions are attributes.
    hard : HardSamples
        Per-anchor hard samples (indices in the flattened batch).
    margin : float, default=1.0
        Between-class margin ``m_apc`` (1 in the paper).
    normalize : bool, default=True
        Use the distance between L2-normalised features.

    Returns
    -------
    loss : Tensor of shape (...)
        The contrastive term of each attribute; exactly 0 (with zero gradient)
        where there is no pair.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Eq. 11.
    .. [2] R. Hadsell, S. Chopra and Y. LeCun. "Dimensionality Reduction by
       Learning an Invariant Mapping". CVPR 2006.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.crl import absolute_rectification_loss
    >>> from skimbalance.miners.hard_mining import HardSamples
    >>> x = torch.tensor([[0.0], [1.0], [0.5]])  # anchor 0, positive 1, negative 2
    >>> t = torch.tensor
    >>> hard = HardSamples(t([0]), t([[1]]), t([[True]]), t([[2]]), t([[True]]))
    >>> round(float(absolute_rectification_loss(x, hard, normalize=False)), 4)
    0.625
    """
    flat, lead, n_samples = _flat_features(features, normalize)
    pos_terms, neg_terms = _absolute_terms(flat, hard, margin)
    rows, n_rows = _anchor_rows(hard, n_samples), math.prod(lead)
    positive = _row_means(pos_terms, hard.positive_mask, rows, n_rows)
    negative = _row_means(neg_terms, hard.negative_mask, rows, n_rows)
    return (0.5 * (positive + negative)).reshape(lead)


def _soft_histogram(distances, mask, rows, n_rows, n_bins):
    """Histograms of Eq. 12-13 of the distances where ``mask``, one per row.

    ``distances`` (N, K) in ``[0, 2]``, ``n_bins`` nodes ``b_t = t * delta`` with
    ``delta = 2 / (n_bins - 1)``; each distance spreads over its two nearest nodes
    with the triangular kernel. Returns (n_rows, n_bins), each row summing to 1
    where it has an entry and to 0 elsewhere.
    """
    delta = 2.0 / (n_bins - 1)
    nodes = torch.arange(n_bins, dtype=distances.dtype, device=distances.device) * delta
    weights = F.relu(1.0 - (distances.unsqueeze(-1) - nodes).abs() / delta)
    weights = weights * mask.unsqueeze(-1).to(distances.dtype)  # (N, K, n_bins)
    total = _row_sums(weights.sum(1), rows, n_rows)  # (R, n_bins)
    count = _row_sums(mask.sum(-1).to(distances.dtype), rows, n_rows)
    return total / count.clamp_min(1.0).unsqueeze(-1)


def distribution_rectification_loss(features, hard, *, n_bins=51):
    """CRL by distribution comparison: histogram loss on hard pairs (Eq. 12-14).

    The distances of the (anchor, hard positive) pairs and of the (anchor, hard
    negative) pairs of one attribute are summarised by two soft histograms
    ``H+`` and ``H-`` over ``n_bins`` uniformly spaced nodes, and the loss is
    ``sum_t h+_t * sum_{k <= t} h-_k``: the probability that a random negative
    pair is nearer than a random positive pair. Features are L2-normalised, so
    the distances lie in ``[0, 2]`` and the loss in ``[0, 1]``.

    Parameters
    ----------
    features : Tensor of shape (..., B, D)
        Features of the batch; leading dimensions are attributes.
    hard : HardSamples
        Per-anchor hard samples (indices in the flattened batch).
    n_bins : int, default=51
        Number ``tau`` of histogram nodes over ``[0, 2]`` (step
        ``2 / (n_bins - 1)``).

    Returns
    -------
    loss : Tensor of shape (...)
        The histogram loss of each attribute; exactly 0 (with zero gradient)
        where the positive or the negative pair set is empty.

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Eq. 12-14.
    .. [2] E. Ustinova and V. Lempitsky. "Learning Deep Embeddings with Histogram
       Loss". NIPS 2016.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.crl import distribution_rectification_loss
    >>> from skimbalance.miners.hard_mining import HardSamples
    >>> x = torch.tensor([[1.0, 0.0], [1.0, 0.1], [-1.0, 0.0]])
    >>> t = torch.tensor
    >>> hard = HardSamples(t([0]), t([[1]]), t([[True]]), t([[2]]), t([[True]]))
    >>> round(float(distribution_rectification_loss(x, hard)), 4)  # separated
    0.0
    >>> swapped = HardSamples(t([0]), t([[2]]), t([[True]]), t([[1]]), t([[True]]))
    >>> round(float(distribution_rectification_loss(x, swapped)), 4)  # overlapping
    1.0
    """
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2, got {n_bins!r}.")
    flat, lead, n_samples = _flat_features(features, True)
    d_pos, d_neg = _hard_distances(flat, hard)
    args = (_anchor_rows(hard, n_samples), math.prod(lead), n_bins)
    h_pos = _soft_histogram(d_pos, hard.positive_mask, *args)
    h_neg = _soft_histogram(d_neg, hard.negative_mask, *args)
    # Rows with an empty side have an all-zero histogram, hence a loss of exactly 0.
    return (h_pos * torch.cumsum(h_neg, dim=-1)).sum(-1).reshape(lead)


POOLINGS = ("triplets", "attributes")


def class_rectification_loss(
    logits,
    features,
    targets,
    *,
    mining="instance",
    loss="relative",
    k=5,
    margin=None,
    n_bins=51,
    normalize=True,
    fallback=True,
    min_count=2,
    pooling="triplets",
    attribute_weight=None,
):
    """Class Rectification Loss of a batch: profiling, hard mining and loss.

    Profiles the minority classes of the batch for each attribute (Eq. 3), mines
    their hard positives and negatives at the class or instance level (Eq. 4-7)
    and returns the chosen rectification term (Eq. 9, 11 or 14), pooled over
    the triplets (pairs) of all attributes as Eq. 9 writes it.

    Parameters
    ----------
    logits : Tensor of shape (B, C) or (B, T, C)
        Class scores of the batch, for one attribute or for ``T`` attributes with
        ``C`` classes each. Used for mining only (not differentiated).
    features : Tensor of shape (B, D) or (B, T, D)
        Features the loss acts on (the paper's per-attribute feature layer). With
        ``(B, D)`` and three-dimensional ``logits``, all attributes share them.
    targets : LongTensor of shape (B,) or (B, T)
        True class of each sample for each attribute, in ``[0, C)``.
    mining : {"instance", "class"}, default="instance"
        Instance-level (Eq. 6-7) or class-level (Eq. 4-5) hard mining.
    loss : {"relative", "absolute", "distribution"}, default="relative"
        Triplet ranking (Eq. 9), contrastive (Eq. 11) or histogram (Eq. 14) form.
    k : int, default=5
        Number ``K`` of hard positives and of hard negatives per anchor (class).
    margin : float or None, default=None
        Margin of the relative form (default ``2 pi / C``, Eq. 10) or of the
        absolute form (default ``m_apc = 1``). Ignored by the distribution form.
        With ``normalize=True`` two distances differ by at most 2, so a relative
        margin of 2 or more keeps every triplet's hinge active: it then only
        adds a constant to the loss (the default for ``C <= 3``).
    n_bins : int, default=51
        Number of histogram nodes of the distribution form.
    normalize : bool, default=True
        Measure distances between L2-normalised features (in ``[0, 2]``). The
        distribution form requires it. With ``False`` the relative form is
        lowered by shrinking all features towards one point (its value tends
        to ``margin``): see the user guide.
    fallback : bool, default=True
        Instance-level mining: fill the hard positives of an anchor with the
        farthest correctly classified samples of its class when fewer than ``K``
        are misclassified (see
        :func:`skimbalance.miners.hard_mining.instance_level_hard_samples`).
    min_count : int, default=2
        Fewest samples a minority class needs in the batch to take part.
    pooling : {"triplets", "attributes"}, default="triplets"
        How the attributes are combined. ``"triplets"`` (Eq. 9, 11): one mean
        over all triplets (relative) or over all positive and all negative
        pairs (absolute) of all attributes, so each attribute weighs by its
        number of triplets (pairs); the distribution form averages the
        per-attribute histogram losses weighted by ``|P+_j| * |P-_j|`` (the
        number of positive-negative comparisons, its analogue of triplets;
        histograms are not pooled across attributes, whose distances live in
        different embeddings). ``"attributes"``: the mean over the attributes
        that have a triplet (pair) of each attribute's mean (the behaviour of
        skimbalance before 0.2). Identical for a single attribute.
    attribute_weight : Tensor of shape (T,) or None, default=None
        Weight of each attribute's terms (e.g. ``alpha_j`` of the imbalance
        weighting); ``None`` weighs all attributes 1. Weights multiply the
        terms of their attribute inside the pooled mean, not the counts.

    Returns
    -------
    loss : scalar Tensor
        The CRL term ``l_crl``; exactly 0, with a zero gradient and still attached
        to the graph, when no attribute has a triplet (pair).
    stats : dict
        Detached tensors: ``"minority"`` (bool, ``(C,)`` or ``(T, C)``: the
        participating minority classes), ``"n_minority_classes"``,
        ``"n_anchors"`` (minority samples), ``"n_positive_pairs"``,
        ``"n_negative_pairs"``, ``"n_triplets"``, ``"n_active_triplets"``
        (relative form: triplets whose hinge is positive; otherwise equal to
        ``"n_triplets"``), ``"n_active_attributes"`` (attributes with a triplet,
        pair) and ``"loss_per_attribute"`` (``()`` or ``(T,)``, each
        attribute's own mean).

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.losses.crl import class_rectification_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> logits = torch.randn(32, 4, generator=g)
    >>> features = torch.randn(32, 8, generator=g, requires_grad=True)
    >>> targets = torch.tensor([0] * 20 + [1] * 6 + [2] * 4 + [3] * 2)
    >>> loss, stats = class_rectification_loss(logits, features, targets, k=3)
    >>> stats["minority"].tolist()
    [False, True, True, True]
    >>> int(stats["n_anchors"]), loss.ndim
    (12, 0)
    >>> loss.backward()
    >>> bool(features.grad[:20].abs().sum() > 0)  # majority samples as hard negatives
    True
    """
    if mining not in MININGS:
        raise ValueError(f"mining must be one of {MININGS}, got {mining!r}.")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}.")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
    if loss == "distribution" and not normalize:
        raise ValueError(
            "The distribution loss needs bounded distances: use normalize=True."
        )
    logits, features, targets, single = _attribute_first(logits, features, targets)
    n_classes = logits.shape[-1]

    n_attributes, n_samples = targets.shape
    if attribute_weight is None:
        weight = features.new_ones(n_attributes)
    else:
        weight = torch.as_tensor(
            attribute_weight, dtype=features.dtype, device=features.device
        ).reshape(-1)
        if weight.shape != (n_attributes,):
            raise ValueError(
                f"attribute_weight must have one value per attribute ({n_attributes}), "
                f"got shape {tuple(weight.shape)}."
            )
    minority = minority_classes(targets, n_classes, min_count=min_count)  # (T, C)
    flat, _, _ = _flat_features(features, normalize)  # (T * B, D)
    if mining == "class":
        scores = torch.softmax(logits.detach(), dim=-1)
        class_hard = class_level_hard_samples(scores, targets, minority, k)
        hard = class_hard_samples_per_anchor(class_hard, targets, minority)
    else:
        anchor_index = minority_anchors(targets, minority)
        distances = anchor_feature_distances(
            features.detach(), anchor_index, normalize=normalize
        )
        predictions = logits.detach().argmax(dim=-1)
        hard = instance_level_hard_samples(
            distances,
            targets,
            predictions,
            minority,
            k,
            fallback=fallback,
            anchor_rows=True,
        )

    rows = _anchor_rows(hard, n_samples)
    n_pos_anchor = hard.positive_mask.sum(-1)
    n_neg_anchor = hard.negative_mask.sum(-1)

    def per_attribute_count(values):
        counts = torch.zeros(n_attributes, dtype=torch.long, device=targets.device)
        return counts.index_add(0, rows, values)

    n_pos = per_attribute_count(n_pos_anchor)
    n_neg = per_attribute_count(n_neg_anchor)
    n_triplets = per_attribute_count(n_pos_anchor * n_neg_anchor)
    n_active_triplets = n_triplets.sum()
    if loss == "relative":
        m = 2.0 * math.pi / n_classes if margin is None else float(margin)
        hinge, valid = _relative_terms(flat, hard, m)
        total, count = _masked_row_sums(hinge, valid, rows, n_attributes)
        per_attribute = total / count.clamp_min(1.0)
        active = n_triplets > 0
        pooled = (weight * total).sum() / count.sum().clamp_min(1.0)
        n_active_triplets = ((hinge.detach() > 0) & valid).sum()
    elif loss == "absolute":
        m = 1.0 if margin is None else float(margin)
        pos_terms, neg_terms = _absolute_terms(flat, hard, m)
        pos_total, pos_count = _masked_row_sums(
            pos_terms, hard.positive_mask, rows, n_attributes
        )
        neg_total, neg_count = _masked_row_sums(
            neg_terms, hard.negative_mask, rows, n_attributes
        )
        per_attribute = 0.5 * (
            pos_total / pos_count.clamp_min(1.0) + neg_total / neg_count.clamp_min(1.0)
        )
        active = (n_pos + n_neg) > 0
        pooled = 0.5 * (
            (weight * pos_total).sum() / pos_count.sum().clamp_min(1.0)
            + (weight * neg_total).sum() / neg_count.sum().clamp_min(1.0)
        )
    else:
        per_attribute = distribution_rectification_loss(
            features, hard, n_bins=n_bins
        ).reshape(n_attributes)
        active = (n_pos > 0) & (n_neg > 0)
        comparisons = (n_pos * n_neg).to(per_attribute.dtype)
        pooled = (
            weight * comparisons * per_attribute
        ).sum() / comparisons.sum().clamp_min(1.0)

    n_active = active.sum()
    if pooling == "triplets":
        value = pooled
    else:
        zeros = torch.zeros_like(per_attribute)
        total = torch.where(active, weight * per_attribute, zeros).sum()
        value = total / n_active.clamp_min(1).to(total.dtype)

    stats = {
        "minority": minority[0] if single else minority,
        "n_minority_classes": minority.sum().float(),
        "n_anchors": torch.tensor(float(hard.anchor_index.numel())),
        "n_positive_pairs": n_pos.sum().float(),
        "n_negative_pairs": n_neg.sum().float(),
        "n_triplets": n_triplets.sum().float(),
        "n_active_triplets": n_active_triplets.float(),
        "n_active_attributes": n_active.float(),
        "loss_per_attribute": (per_attribute[0] if single else per_attribute).detach(),
    }
    return value, stats


def _attribute_first(logits, features, targets):
    """Check shapes and move the attribute axis first: (T, B, C), (T, B, D), (T, B)."""
    if logits.ndim not in (2, 3):
        raise ValueError(
            f"logits must be (B, C) or (B, T, C), got shape {tuple(logits.shape)}."
        )
    single = logits.ndim == 2
    if single:
        logits = logits.unsqueeze(1)
        if features.ndim != 2 or targets.ndim != 1:
            raise ValueError(
                "With logits of shape (B, C), features must be (B, D) and targets (B,); "
                f"got {tuple(features.shape)} and {tuple(targets.shape)}."
            )
        features, targets = features.unsqueeze(1), targets.unsqueeze(1)
    n_samples, n_attributes = logits.shape[:2]
    if features.ndim == 2:
        features = features.unsqueeze(1).expand(-1, n_attributes, -1)
    if features.ndim != 3 or features.shape[:2] != (n_samples, n_attributes):
        raise ValueError(
            f"features of shape {tuple(features.shape)} do not match logits of shape "
            f"{tuple(logits.shape)}."
        )
    if targets.shape != (n_samples, n_attributes):
        raise ValueError(
            f"targets of shape {tuple(targets.shape)} do not match logits of shape "
            f"{tuple(logits.shape)}."
        )
    if targets.dtype.is_floating_point or targets.dtype == torch.bool:
        raise TypeError(
            f"targets must hold integer class indices, got {targets.dtype}."
        )
    targets = targets.long()
    return (
        logits.transpose(0, 1),
        features.transpose(0, 1),
        targets.transpose(0, 1),
        single,
    )
