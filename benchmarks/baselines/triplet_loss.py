"""The batch-hard triplet loss of the "Triplet+" baseline (pure PyTorch).

Huang et al. (TPAMI 2019), Table 8, compare CLMLE with "Triplet+": the triplet
loss of FaceNet (Schroff et al., CVPR 2015) with over-sampling and cost
sensitivity. FaceNet's loss on L2-normalised embeddings, with squared
Euclidean distances and margin ``alpha = 0.2``, is

    ``sum over triplets of [ ||f(a) - f(p)||^2 - ||f(a) - f(n)||^2 + alpha ]_+``.

FaceNet picks its triplets by semi-hard negative mining over large batches;
here every sample of the batch is an anchor, paired with its hardest positive
(the farthest sample of its class) and its hardest negative (the nearest sample
of another class): the "batch hard" mining of Hermans, Beyer and Leibe (2017),
which needs no mining pass outside the batch and is vectorised over anchors.
"""

import torch
from torch.nn import functional as F


def pairwise_squared_distances(embedding):
    """Squared Euclidean distances between the rows of ``embedding``.

    Parameters
    ----------
    embedding : Tensor of shape (B, D)

    Returns
    -------
    distances : Tensor of shape (B, B)
        ``||e_i - e_j||^2``, clamped at 0 against rounding.

    Examples
    --------
    >>> import torch
    >>> from benchmarks.baselines.triplet_loss import pairwise_squared_distances
    >>> pairwise_squared_distances(torch.tensor([[0.0, 0.0], [3.0, 4.0]])).tolist()
    [[0.0, 25.0], [25.0, 0.0]]
    """
    squared_norms = (embedding * embedding).sum(dim=1)
    gram = embedding @ embedding.T
    return (squared_norms[:, None] + squared_norms[None, :] - 2 * gram).clamp_min(0)


def batch_hard_triplet_loss(
    embedding, labels, *, margin=0.2, weight=None, normalize=True
):
    """Batch-hard triplet loss: each anchor with its hardest positive and negative.

    For every anchor ``a`` of the batch, ``d_ap`` is the largest squared
    distance to another sample of its class and ``d_an`` the smallest squared
    distance to a sample of another class; the anchor's loss is
    ``max(0, margin + d_ap - d_an)``. The loss is the (weighted) mean over the
    anchors that have both a positive and a negative in the batch. An anchor
    alone in its class, or a batch of one class, forms no triplet: such anchors
    are left out, and a batch without any triplet gives 0 with zero gradients.

    Parameters
    ----------
    embedding : Tensor of shape (B, D)
        Embeddings of the batch.
    labels : Tensor of shape (B,)
        Class of each sample.
    margin : float, default=0.2
        Margin ``alpha`` (FaceNet's 0.2, on normalised embeddings).
    weight : Tensor of shape (B,) or None, default=None
        Weight of each anchor's term (cost sensitivity: the class weight of
        the anchor); the result is ``sum(w * l) / sum(w)`` over the anchors
        with a triplet.
    normalize : bool, default=True
        L2-normalise the embeddings first (FaceNet's hypersphere; squared
        distances then lie in ``[0, 4]``).

    Returns
    -------
    loss : scalar Tensor
    n_triplets : int
        Number of anchors that formed a triplet.

    References
    ----------
    .. [1] F. Schroff, D. Kalenichenko and J. Philbin, "FaceNet: A Unified
       Embedding for Face Recognition and Clustering", CVPR 2015, Eq. 2.
    .. [2] A. Hermans, L. Beyer and B. Leibe, "In Defense of the Triplet Loss
       for Person Re-Identification", arXiv:1703.07737, 2017 (batch-hard mining).
    .. [3] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning
       for Face Recognition and Attribute Prediction", IEEE TPAMI 2019,
       Table 8 ("Triplet+").

    Examples
    --------
    >>> import torch
    >>> from benchmarks.baselines.triplet_loss import batch_hard_triplet_loss
    >>> e = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> loss, n = batch_hard_triplet_loss(e, torch.tensor([0, 0, 1, 1]))
    >>> round(float(loss), 4), n  # positives coincide, negatives at distance 2
    (0.0, 4)
    >>> loss, n = batch_hard_triplet_loss(e, torch.tensor([0, 1, 0, 1]))
    >>> round(float(loss), 4), n  # 0.2 + 2 - 0
    (2.2, 4)
    """
    if embedding.dim() != 2 or labels.dim() != 1:
        raise ValueError(
            "embedding must be (B, D) and labels (B,); got shapes "
            f"{tuple(embedding.shape)} and {tuple(labels.shape)}."
        )
    if normalize:
        embedding = F.normalize(embedding, dim=1)
    distances = pairwise_squared_distances(embedding)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive = same & ~eye
    negative = ~same
    # Finite fills (no inf in any branch, so gradients stay finite): distances
    # are >= 0, so -1 never wins a max over positives, and anything above the
    # largest distance never wins a min over negatives.
    low = torch.full_like(distances, -1.0)
    high = (distances.detach().max() + 1.0).expand_as(distances)
    hardest_positive = torch.where(positive, distances, low).amax(dim=1)
    hardest_negative = torch.where(negative, distances, high).amin(dim=1)
    valid = positive.any(dim=1) & negative.any(dim=1)
    n_triplets = int(valid.sum())
    if n_triplets == 0:
        return embedding.sum() * 0.0, 0
    per_anchor = F.relu(margin + hardest_positive - hardest_negative)
    w = valid.to(per_anchor.dtype)
    if weight is not None:
        w = w * weight.to(per_anchor.dtype)
    total = w.sum()
    if not total > 0:  # every anchor with a triplet has weight 0
        return embedding.sum() * 0.0, n_triplets
    return (w * per_anchor).sum() / total, n_triplets
