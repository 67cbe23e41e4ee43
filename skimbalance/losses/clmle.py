"""Cluster-based Large Margin Local Embedding loss (CLMLE, Huang et al., Eq. 9).

For a batch made of samples from ``M`` clusters (Sec. 3.3 of the paper), with unit-norm
embeddings ``f_i`` and in-batch cluster centroids ``mu_m`` (normalised mean of the
cluster's samples in the batch), a sample ``i`` of cluster ``m`` and class ``c(m)`` has
the loss

.. math::

    \\ell_i = \\Big[a_1 - f_i^\\top\\mu_m
        + \\log \\sum_{k:\\,c(k) \\neq c(m)} e^{f_i^\\top\\mu_k}\\Big]_+
      + \\Big[a_2 - f_i^\\top\\mu_m
        + \\log \\sum_{k \\neq m:\\,c(k) = c(m)} e^{f_i^\\top\\mu_k}\\Big]_+,

which is Eq. 9 written in log form: ``-log(e^{s_m - a} / sum_k e^{s_k})`` equals
``a - s_m + log sum_k e^{s_k}``. The first term keeps the sample's cluster apart from
the clusters of other classes by the between-class margin ``a_1``, the second from the
other clusters of its own class by the within-class margin ``a_2``.

Choices where the paper is open (documented in the user guide):

* A term whose set of clusters is empty (no other class, or no second cluster of the
  same class in the batch) is 0: the sum in the denominator of Eq. 9 is empty and no
  pair exists to separate.
* The centroids are the in-batch means of the sampled members (Sec. 3.3,
  ``mu_hat_m = sum f_i / 20``), normalised as in Eq. 7 by default
  (``normalize_centroids=True``); the text of Sec. 3.3 and the margin derivation of
  Sec. 3.2 ("each unnormalized cluster centroid ... has unit norm" only once the
  cluster has collapsed) describe the plain mean, ``normalize_centroids=False``.
  Gradients flow through them by default (``detach_centroids=False``), since they
  are functions of the batch features.
* Cost-sensitivity (Sec. 3.3): each sample's loss is scaled by the inverse frequency
  of its class in the batch. By default the weights are divided by their sum, so
  that the loss is the mean over the classes present of their mean sample loss;
  ``renormalize_cost_weights=False`` is the literal form, ``B / n_c`` weights and
  the ``1/(Ml)`` of Eq. 9, i.e. the sum over the classes present (twice the default
  with two classes in the batch, three times with three).
* ``scale`` (default 1, i.e. Eq. 9 as printed) generalises the log-sum-exp to
  ``(1/s) log sum_k e^{s f^T mu_k}``. As printed, Eq. 9 compares cosines in ``[-1, 1]``
  with a log-sum-exp over several clusters, which is at least ``max_k s_k`` plus up to
  ``log(#clusters)``, so the hinge can rarely reach zero; a larger ``s`` makes the
  log-sum-exp tend to the maximum and the hinge exactly "the nearest other cluster is
  ``a`` less similar than the own one", the geometry from which the paper derives the
  margin bounds. Dividing by ``s`` keeps margins in cosine units. In our experiments
  (see the user guide) ``s = 1`` trained poorly and ``s`` of 16 to 64 well;
  :class:`skimbalance.CLMLEClassifier` defaults to 32.
* The margin upper bounds (Sec. 3.2) are ``a1_max = 1 - cos(2 pi / C)`` and
  ``a2_max(c) = 1 - cos(min(2 pi L_c / L, pi))``: the angle between two points of an
  arc of length ``2 pi L_c / L`` on the unit circle is at most ``pi``, hence the
  clipping. The paper uses the bounds as the range of a grid search;
  :func:`default_clmle_margins` takes ``a1 = a1_max`` and
  ``a2 = min(a2_max(c), a1_max) / 2`` (so ``a2 < a1``, as the paper requires a
  larger margin between classes than within).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "CLMLELossOutput",
    "clmle_loss",
    "clmle_margin_bounds",
    "default_clmle_margins",
]


class CLMLELossOutput(NamedTuple):
    """Result of :func:`clmle_loss`.

    Attributes
    ----------
    loss : Tensor
        Scalar loss (cost-sensitive weighted mean over the batch).
    sample_losses : Tensor of shape (batch_size,)
        Loss of every sample before any weighting (part of the autograd graph).
    cluster_ids : Tensor of shape (n_batch_clusters,)
        The distinct cluster ids of the batch, sorted.
    cluster_losses : Tensor of shape (n_batch_clusters,)
        Mean sample loss of every batch cluster (detached), for the sampler's cache.
    """

    loss: Tensor
    sample_losses: Tensor
    cluster_ids: Tensor
    cluster_losses: Tensor


def clmle_margin_bounds(class_counts) -> tuple[float, Tensor]:
    """Upper bounds of the CLMLE margins (Sec. 3.2, "Angular margin derivation").

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training-set size ``L_c`` of every class.

    Returns
    -------
    a1_max : float
        ``1 - cos(2 pi / C)``, the between-class bound (0 for a single class).
    a2_max : Tensor of shape (n_classes,)
        ``1 - cos(min(2 pi L_c / L, pi))``, the within-class bound of every class
        (float64).

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Sec. 3.2).

    Examples
    --------
    >>> a1, a2 = clmle_margin_bounds([90, 10])
    >>> round(a1, 4), [round(v, 4) for v in a2.tolist()]
    (2.0, [2.0, 0.191])
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64).reshape(-1)
    if counts.numel() == 0 or bool((counts < 0).any()) or float(counts.sum()) <= 0:
        raise ValueError("class_counts must be non-negative with a positive sum.")
    n_classes = counts.numel()
    a1_max = 1.0 - math.cos(2.0 * math.pi / n_classes)
    angle = torch.clamp(2.0 * math.pi * counts / counts.sum(), max=math.pi)
    a2_max = 1.0 - torch.cos(angle)
    return float(max(a1_max, 0.0)), a2_max


def default_clmle_margins(
    class_counts, fraction_between: float = 1.0, fraction_within: float = 0.5
) -> tuple[float, Tensor]:
    """Default CLMLE margins: fractions of the upper bounds, with ``a2 < a1``.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training-set size ``L_c`` of every class.
    fraction_between : float, default=1.0
        Fraction of ``a1_max`` used for ``a_1``, in ``[0, 1]``.
    fraction_within : float, default=0.5
        Fraction of ``min(a2_max(c), a1_max)`` used for ``a_2``, in ``[0, 1]``; with
        the defaults the within-class margin is at most half the between-class one,
        as the paper asks for a larger margin between classes than within.

    Returns
    -------
    margin_between : float
        ``fraction_between * a1_max``.
    margin_within : Tensor of shape (n_classes,)
        ``fraction_within * min(a2_max(c), a1_max)`` for every class (float64);
        when there is a single class, ``fraction_within * a2_max``.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Sec. 3.2).

    Examples
    --------
    >>> a1, a2 = default_clmle_margins([50, 30, 20])
    >>> round(a1, 4), [round(v, 4) for v in a2.tolist()]
    (1.5, [0.75, 0.6545, 0.3455])
    """
    for name, value in (
        ("fraction_between", fraction_between),
        ("fraction_within", fraction_within),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}.")
    a1_max, a2_max = clmle_margin_bounds(class_counts)
    if a2_max.numel() > 1:
        a2_max = torch.clamp(a2_max, max=a1_max)
    return fraction_between * a1_max, fraction_within * a2_max


def _masked_logsumexp(
    values: Tensor, mask: Tensor, scale: float
) -> tuple[Tensor, Tensor]:
    """Row-wise ``(1/s) log sum exp(s * v)`` over ``mask``; finite where a row is empty."""
    has_any = mask.any(dim=1)
    masked = (scale * values).masked_fill(~mask, float("-inf"))
    masked = torch.where(has_any.unsqueeze(1), masked, torch.zeros_like(masked))
    return torch.logsumexp(masked, dim=1) / scale, has_any


def clmle_loss(
    embeddings: Tensor,
    cluster_ids: Tensor,
    labels: Tensor,
    margin_between: float | Tensor,
    margin_within: float | Tensor,
    *,
    scale: float = 1.0,
    cost_sensitive: bool = True,
    sample_weight: Tensor | None = None,
    detach_centroids: bool = False,
    normalize_centroids: bool = True,
    renormalize_cost_weights: bool = True,
) -> CLMLELossOutput:
    """CLMLE loss of a cluster-based batch (Eq. 9 of Huang et al.).

    Parameters
    ----------
    embeddings : Tensor of shape (batch_size, n_dims)
        Embeddings ``f(x_i)``; rows are L2-normalised here (the hypersphere of the
        paper).
    cluster_ids : Tensor of shape (batch_size,)
        Cluster (any integer id) of every sample.
    labels : Tensor of shape (batch_size,)
        Class of every sample (integer codes ``0..n_classes-1`` when
        ``margin_within`` is given per class). All samples of a cluster must share
        the class.
    margin_between : float or 0-d Tensor
        Between-class angular margin ``a_1`` (cosine units).
    margin_within : float or Tensor of shape (n_classes,)
        Within-class angular margin ``a_2``, one value or one per class (indexed by
        ``labels``).
    scale : float, default=1.0
        Inverse temperature ``s`` of the log-sum-exp; 1 is Eq. 9 as printed (see the
        module docstring).
    cost_sensitive : bool, default=True
        Scale each sample's loss by the inverse frequency of its class in the batch;
        ``False`` gives the plain mean.
    sample_weight : Tensor of shape (batch_size,), optional
        Extra non-negative weights, multiplying the cost-sensitive ones.
    detach_centroids : bool, default=False
        Stop gradients through the in-batch centroids.
    normalize_centroids : bool, default=True
        Use the unit-norm in-batch centroid ``mu_m / ||mu_m||`` (as Eq. 7 does for
        the clustering). ``False``: the plain in-batch mean
        ``mu_hat_m = sum_i f_i / n_m``, as Sec. 3.3 writes it; its norm is below one
        unless the cluster's batch samples coincide.
    renormalize_cost_weights : bool, default=True
        With the weights ``w_i`` (cost times ``sample_weight``), ``True`` returns
        ``sum_i w_i l_i / sum_i w_i``: with cost-sensitivity alone, the mean over
        the classes present of their mean sample loss. ``False`` returns the
        paper's literal ``(1/B) sum_i (B / n_c(i)) l_i`` (the inverse class
        frequency ``B / n_c`` of Sec. 3.3 and the ``1/(Ml)`` of Eq. 9), times the
        sample weights: the *sum* over the classes present of their mean sample
        loss, which grows with the number of classes in the batch. Without
        cost-sensitivity both give the (weighted) mean.

    Returns
    -------
    CLMLELossOutput
        ``(loss, sample_losses, cluster_ids, cluster_losses)``.

    References
    ----------
    .. [1] C. Huang, Y. Li, C. C. Loy and X. Tang, "Deep Imbalanced Learning for Face
       Recognition and Attribute Prediction", IEEE TPAMI, 2019 (Eqs. 8-9, Sec. 3.3).

    Examples
    --------
    >>> import torch
    >>> emb = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> out = clmle_loss(emb, torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 1, 1]),
    ...                  margin_between=0.5, margin_within=0.2)
    >>> round(float(out.loss), 4), out.cluster_ids.tolist()
    (0.0, [0, 1])
    """
    if embeddings.ndim != 2:
        raise ValueError(
            f"embeddings must be 2-D, got shape {tuple(embeddings.shape)}."
        )
    batch = embeddings.shape[0]
    cluster_ids = torch.as_tensor(cluster_ids, device=embeddings.device).reshape(-1)
    labels = torch.as_tensor(labels, device=embeddings.device).reshape(-1)
    if cluster_ids.numel() != batch or labels.numel() != batch:
        raise ValueError("cluster_ids and labels need one entry per embedding row.")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}.")
    f = F.normalize(embeddings, dim=1)
    uniq, inverse = torch.unique(cluster_ids, sorted=True, return_inverse=True)
    n_clu = uniq.numel()
    labels = labels.long()
    # Class of every batch cluster (checked to be unique within the cluster).
    lab_min = torch.full((n_clu,), torch.iinfo(torch.long).max, device=f.device)
    lab_min = lab_min.scatter_reduce(0, inverse, labels, reduce="amin")
    lab_max = torch.full((n_clu,), torch.iinfo(torch.long).min, device=f.device)
    lab_max = lab_max.scatter_reduce(0, inverse, labels, reduce="amax")
    if not torch.equal(lab_min, lab_max):
        raise ValueError("all samples of a cluster must have the same label.")
    cluster_class = lab_min

    sums = torch.zeros(n_clu, f.shape[1], dtype=f.dtype, device=f.device)
    sums = sums.index_add(0, inverse, f)
    if normalize_centroids:
        centroids = F.normalize(sums, dim=1)
    else:
        members = torch.bincount(inverse, minlength=n_clu).to(f.dtype)
        centroids = sums / members.unsqueeze(1)
    if detach_centroids:
        centroids = centroids.detach()
    sim = f @ centroids.T  # (batch, n_clu)
    own = sim.gather(1, inverse.unsqueeze(1)).squeeze(1)

    same_class = cluster_class.unsqueeze(0) == labels.unsqueeze(1)
    own_cluster = torch.arange(n_clu, device=f.device).unsqueeze(
        0
    ) == inverse.unsqueeze(1)
    lse_other, has_other = _masked_logsumexp(sim, ~same_class, scale)
    lse_same, has_same = _masked_logsumexp(sim, same_class & ~own_cluster, scale)

    a1 = torch.as_tensor(margin_between, dtype=f.dtype, device=f.device)
    a2 = torch.as_tensor(margin_within, dtype=f.dtype, device=f.device)
    if a2.ndim > 0:
        if (
            a2.ndim != 1
            or bool((labels < 0).any())
            or bool((labels >= a2.numel()).any())
        ):
            raise ValueError(
                "per-class margin_within needs labels coded 0..len(margin_within)-1."
            )
        a2 = a2[labels]
    zero = torch.zeros_like(own)
    between = torch.where(has_other, F.relu(a1 - own + lse_other), zero)
    within = torch.where(has_same, F.relu(a2 - own + lse_same), zero)
    sample_losses = between + within

    weights = torch.ones_like(own)
    if cost_sensitive:
        _, lab_inv, lab_counts = torch.unique(
            labels, return_inverse=True, return_counts=True
        )
        weights = 1.0 / lab_counts.to(f.dtype)[lab_inv]
    if sample_weight is not None:
        sw = torch.as_tensor(sample_weight, dtype=f.dtype, device=f.device).reshape(-1)
        if sw.numel() != batch:
            raise ValueError("sample_weight needs one entry per embedding row.")
        weights = weights * sw
    if cost_sensitive and not renormalize_cost_weights:
        loss = (weights * sample_losses).sum()
    else:
        total = weights.sum()
        loss = (weights * sample_losses).sum() / torch.clamp(total, min=1e-12)

    counts = torch.bincount(inverse, minlength=n_clu).to(f.dtype)
    cluster_losses = torch.zeros(n_clu, dtype=f.dtype, device=f.device)
    cluster_losses = (
        cluster_losses.index_add(0, inverse, sample_losses.detach()) / counts
    )
    return CLMLELossOutput(loss, sample_losses, uniq, cluster_losses)
