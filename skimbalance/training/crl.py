"""Training plumbing of :class:`~skimbalance.CRLClassifier`: its criterion
(Eq. 8 over the batch-wise hard-mined CRL term) and the imbalance measure of
its ``crl_weight="imbalance"``."""

import numpy as np
import torch
from torch import nn

from ..losses.crl import class_rectification_loss
from ..losses.cross_entropy import weighted_cross_entropy

#: Largest difference of two distances between L2-normalised embeddings.
DISTANCE_RANGE = 2.0


class CRLCriterion(nn.Module):
    """Training loss of :class:`CRLClassifier`: Eq. 8 divided by the number of tasks.

    Called as ``criterion(y_pred, y_true, batch)`` with ``y_pred = (logits (B, T,
    C), embedding (B, T, D), ...)``. Returns ``ce + w * l_crl / T``: ``ce`` is the
    cross-entropy averaged over samples *and* tasks (the loss of
    :class:`~skimbalance.CrossEntropyClassifier`, weighted by the batch's
    ``sample_weight``) and ``l_crl``
    (:func:`skimbalance.losses.crl.class_rectification_loss`) one mean over the
    triplets (pairs) of all tasks (Eq. 9). The paper's Eq. 2 *sums* the
    cross-entropy over the ``T`` attributes, so this is ``(l_ce + w * l_crl) /
    T`` with the paper's ``l_ce``: the balance of Eq. 8 whatever ``T``.

    With ``alpha`` (the imbalance weighting), ``w`` is replaced per task: task
    ``j``'s cross-entropy is weighted by ``1 - alpha_j`` and its CRL terms by
    ``alpha_j``, ``l = (1 - alpha) l_ce + alpha l_crl``.

    In training mode it counts, per task and class, the batches in which the
    class was a minority class taking part (``minority_counts``,
    ``n_batches``) and returns the batch's terms as logs (averaged per epoch in
    the history).

    Parameters
    ----------
    mining : {"instance", "class"}
        Hard-mining level.
    crl_loss : {"relative", "absolute", "distribution"}
        Form of the CRL term.
    k : int
        Hard positives and hard negatives per anchor (class).
    crl_weight : float
        Weight ``w`` of the CRL term; 0 trains with cross-entropy alone.
    margin : float or None
        Margin of the relative or absolute form (None: the paper's).
    n_bins : int
        Histogram nodes of the distribution form.
    normalize : bool
        Distances between L2-normalised embeddings.
    positive_fallback : bool
        Complete instance-level hard positives with correctly classified ones.
    ce : nn.Module or None, default=None
        The cross-entropy term as a criterion (e.g.
        :class:`~skimbalance.losses.logit_adjusted.LogitAdjustedLoss`);
        ``None`` is the weighted cross-entropy.
    alpha : Tensor of shape (T,) or None, default=None
        Per-task weight ``alpha_j`` in ``[0, 1]`` of the CRL term, the
        cross-entropy taking ``1 - alpha_j`` (``crl_weight`` is then unused).

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu. "Class Rectification Hard Mining for
       Imbalanced Deep Learning". ICCV 2017, Eq. 8.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.training.crl import CRLCriterion
    >>> crit = CRLCriterion("instance", "relative", 3, 1.0, None, 51, True, True)
    >>> logits, emb = torch.randn(8, 1, 2), torch.randn(8, 1, 4)
    >>> y = torch.tensor([[0]] * 6 + [[1]] * 2)
    >>> loss, logs = crit((logits, emb), y, {})
    >>> sorted(logs)
    ['ce_loss', 'crl_active_fraction', 'crl_loss', 'crl_minority_classes', 'crl_triplets']
    >>> crit.minority_counts.tolist(), crit.n_batches
    ([[0, 1]], 1)
    """

    def __init__(
        self,
        mining,
        crl_loss,
        k,
        crl_weight,
        margin,
        n_bins,
        normalize,
        positive_fallback,
        ce=None,
        alpha=None,
    ):
        super().__init__()
        self.ce = ce
        self.register_buffer(
            "alpha", None if alpha is None else torch.as_tensor(alpha).float()
        )
        self.mining = mining
        self.crl_loss = crl_loss
        self.k = k
        self.crl_weight = crl_weight
        self.margin = margin
        self.n_bins = n_bins
        self.normalize = normalize
        self.positive_fallback = positive_fallback
        self.minority_counts = None
        self.n_batches = 0

    def forward(self, y_pred, y_true, batch):
        logits, embedding = y_pred[0], y_pred[1]
        n_tasks = logits.shape[1]
        alpha = self.alpha
        if alpha is not None:  # task j: (1 - alpha_j) * CE_j, alpha_j * CRL_j
            weight = batch.get("sample_weight")
            if weight is None:
                weight = torch.ones(y_true.shape, device=logits.device)
            keep = (1.0 - alpha).to(device=weight.device, dtype=weight.dtype)
            batch = {**batch, "sample_weight": weight * keep}
        if self.ce is None:
            ce = weighted_cross_entropy(logits, y_true, batch.get("sample_weight"))
        else:
            ce = self.ce(y_pred, y_true, batch)
        if self.crl_weight == 0 and alpha is None:
            crl = ce.new_zeros(())
            stats = None
        else:
            crl, stats = class_rectification_loss(
                logits,
                embedding,
                y_true,
                mining=self.mining,
                loss=self.crl_loss,
                k=self.k,
                margin=self.margin,
                n_bins=self.n_bins,
                normalize=self.normalize,
                fallback=self.positive_fallback,
                attribute_weight=alpha,
            )
        # ce averages over the T tasks where Eq. 2 sums: divide Eq. 8 by T.
        weight = 1.0 if alpha is not None else self.crl_weight
        loss = ce + (weight / n_tasks) * crl
        if not self.training:
            return loss
        logs = {"ce_loss": ce.detach(), "crl_loss": crl.detach()}
        if stats is not None:
            minority = stats["minority"].detach().long()
            if self.minority_counts is None:
                self.minority_counts = torch.zeros_like(minority)
            self.minority_counts += minority
            logs["crl_minority_classes"] = stats["n_minority_classes"]
            if self.crl_loss == "relative":
                logs["crl_triplets"] = stats["n_triplets"]
                logs["crl_active_fraction"] = stats["n_active_triplets"] / stats[
                    "n_triplets"
                ].clamp_min(1.0)
            else:
                logs["crl_pairs"] = (
                    stats["n_positive_pairs"] + stats["n_negative_pairs"]
                )
        self.n_batches += 1
        return loss, logs


def imbalance_measure(class_counts):
    """Per task, the fraction of samples to move for a uniform class distribution.

    ``Omega_j = 1/2 * sum_k |n_jk / n_j - 1 / C|``, the total-variation distance
    between task ``j``'s training class distribution and the uniform one: 0 for
    balanced classes, ``1 - 1/C`` at most (all samples in one class). For a
    binary label with positive rate ``p``, ``|p - 1/2|``.

    Parameters
    ----------
    class_counts : array-like of shape (T, C)
        Training-set count of each class of each task.

    Returns
    -------
    omega : ndarray of shape (T,)

    Examples
    --------
    >>> from skimbalance.training.crl import imbalance_measure
    >>> imbalance_measure([[50, 50], [90, 10], [1, 99]]).round(3).tolist()
    [0.0, 0.4, 0.49]
    >>> imbalance_measure([[80, 10, 10]]).round(3).tolist()  # three classes
    [0.467]
    """
    counts = np.asarray(class_counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError(
            f"class_counts must have shape (n_tasks, n_classes), got {counts.shape}."
        )
    total = counts.sum(axis=1, keepdims=True)
    fractions = counts / np.maximum(total, 1.0)
    return 0.5 * np.abs(fractions - 1.0 / counts.shape[1]).sum(axis=1)
