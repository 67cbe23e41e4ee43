"""Class Rectification Loss (Dong, Gong and Zhu, ICCV 2017) as an estimator."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ..base import TRAINING_OPTION_CONSTRAINTS, BaseDeepClassifier
from ..losses.crl import LOSSES, MININGS, class_rectification_loss
from ..losses.cross_entropy import weighted_cross_entropy
from .cross_entropy import (
    LOSS_PARAMETER_CONSTRAINTS,
    LOSS_PARAMETERS_DOC,
    METHOD_TRAINING_OPTIONS_DOC,
    SHARED_ATTRIBUTES_DOC,
    SHARED_PARAMETERS_DOC,
    build_ce_criterion,
    build_ce_head,
)

#: Largest difference of two distances between L2-normalised embeddings.
_DISTANCE_RANGE = 2.0


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
    >>> from skimbalance.classifiers.crl import CRLCriterion
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
    >>> from skimbalance.classifiers.crl import imbalance_measure
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


class CRLClassifier(BaseDeepClassifier):
    __doc__ = f"""Network trained with the Class Rectification Loss (Dong et al., ICCV 2017).

    Cross-entropy alone lets the majority classes shape the feature space. CRL
    adds a term built, in every training batch, from the batch's *minority*
    classes only: the smallest classes of the batch that together hold fewer
    than half of it (Eq. 3). For them it mines hard positives and hard
    negatives (``mining``) and penalises their arrangement in the per-task
    embedding space (``crl_loss``); the network minimises
    ``l_ce + crl_weight * l_crl`` (Eq. 8). The cross-entropy term ``l_ce``
    can be any of the long-tail losses of ``loss`` (e.g.
    ``loss="logit_adjusted"``), weighted by ``class_weight``.

    - ``mining="instance"``: every minority sample is an anchor; its hard
      positives are the misclassified samples of its class farthest from it,
      its hard negatives the samples of other classes nearest to it (Eq. 6-7).
    - ``mining="class"``: per minority class, the hard positives are the
      samples of the class with the lowest predicted probability of it, the
      hard negatives the samples of other classes with the highest (Eq. 4-5);
      every sample of the class is an anchor paired with them.
    - ``crl_loss="relative"``: triplet hinge with margin ``2 pi / n_classes``
      (Eq. 9-10); ``"absolute"``: contrastive loss with margin 1 (Eq. 11);
      ``"distribution"``: histogram loss (Eq. 12-14).

    A multi-class target is one attribute; a multi-label indicator matrix is
    one binary attribute per column, each with its own embedding layer and
    classifier, trained jointly. As in the paper, the cross-entropy is summed
    over the attributes (Eq. 2) and the CRL term is one mean over the triplets
    of all attributes (Eq. 9); the network minimises Eq. 8 divided by the
    number of attributes ``T`` (the cross-entropy then has the scale of
    :class:`CrossEntropyClassifier`'s), so CRL does not gain weight with ``T``.

    Parameters
    ----------
    mining : {{"instance", "class"}}, default="instance"
        Instance-level or class-level hard mining.
    crl_loss : {{"relative", "absolute", "distribution"}}, default="relative"
        Form of the CRL term: triplet ranking, contrastive or histogram loss.
    k : int, default=5
        Number ``K`` of hard positives and of hard negatives per anchor
        (instance level) or per class (class level); the paper does not give
        its value. Capped at the batch size: no batch holds more, so any
        ``k >= batch_size`` gives the same triplets, loss and memory.
    crl_weight : float or "imbalance", default=1.0
        Weight ``w`` of the CRL term (the paper adds it with weight 1):
        the network minimises ``(l_ce + w * l_crl) / T`` with ``l_ce`` summed
        over the ``T`` labels (Eq. 2) and ``l_crl`` one mean over the triplets
        of all labels (Eq. 9), i.e. the cross-entropy averaged over the labels
        plus ``w * l_crl / T``. ``"imbalance"``: the imbalance-dependent
        weighting of the journal version of the method, per label ``j``
        ``l = (1 - alpha_j) * l_ce + alpha_j * l_crl`` with ``alpha_j =
        min(1, crl_eta * Omega_j)`` and ``Omega_j`` the fraction of training
        samples that would have to change class for label ``j``'s classes to
        be balanced (see :func:`imbalance_measure`; ``crl_alpha_``).
    crl_eta : float, default=1.0
        ``eta > 0`` of ``crl_weight="imbalance"``; ignored otherwise.
    margin : float or None, default=None
        Margin of the relative form (default ``2 pi / n_classes``, Eq. 10) or of
        the absolute form (default 1). Ignored by the distribution form. With
        ``normalize=True`` two distances differ by at most 2: a relative margin
        of 2 or more (the paper's default for two or three classes) is never
        met, every triplet stays active and the margin only adds a constant;
        such a value given explicitly raises a warning.
    n_bins : int, default=51
        Number of histogram nodes over the distance range ``[0, 2]`` of the
        distribution form.
    normalize : bool, default=True
        Measure distances between L2-normalised embeddings (in ``[0, 2]``).
        The distribution form requires it; ``False`` uses the raw Euclidean
        distance in the relative and absolute forms. Not recommended with the
        relative form: its gradient then shrinks the whole embedding towards
        one point (the loss tends to the margin) and the classifier loses its
        input (see the user guide's measurement); a warning says so.
    positive_fallback : bool, default=True
        Instance-level mining: when fewer than ``k`` samples of an anchor's class
        are misclassified, complete its hard positives with the farthest
        correctly classified ones (``False``: misclassified ones only).
{LOSS_PARAMETERS_DOC}{SHARED_PARAMETERS_DOC}{METHOD_TRAINING_OPTIONS_DOC}
    Attributes
    ----------
    minority_frequency_ : ndarray of shape (n_classes,) or (n_labels, 2)
        Fraction of the training batches in which each class (each value of
        each label) was a minority class taking part in the CRL term.
    crl_alpha_ : ndarray of shape (n_labels,)
        With ``crl_weight="imbalance"``: ``alpha_j`` of each label (shape
        ``(1,)`` for a multi-class target). Absent otherwise.
{SHARED_ATTRIBUTES_DOC}
    See Also
    --------
    CrossEntropyClassifier : the same network with plain cross-entropy.

    Notes
    -----
    The history ``net_.history`` holds per epoch the mean ``ce_loss`` and
    ``crl_loss`` of the training batches, the mean number of minority classes
    per batch (``crl_minority_classes``) and of triplets (``crl_triplets``, or
    pairs ``crl_pairs``), and for the relative form the fraction of triplets
    whose hinge is active (``crl_active_fraction``).

    Choices where the paper is open (see the user guide): a class with equal
    batch count to others at the Eq. 3 cut enters with all of them or not at
    all; distances are between L2-normalised embeddings; anchors are never
    their own positives; instance-level hard positives are completed with the
    farthest correctly classified samples when too few are misclassified. With
    normalised embeddings and two or three classes per attribute, the default
    relative margin (``>= 2.09``) exceeds the largest possible distance gap
    (2): no triplet can meet it, even with antipodal classes, so every hinge
    stays active and the margin only adds a constant to the loss (margins 1
    and pi gave identical fits on yeast). An explicit ``margin`` of 2 or more
    raises a warning; the default is kept as Eq. 10 gives it (see the user
    guide for the measurement of smaller margins).

    References
    ----------
    .. [1] Q. Dong, S. Gong and X. Zhu, "Class Rectification Hard Mining for
       Imbalanced Deep Learning", ICCV 2017.
    .. [2] E. Ustinova and V. Lempitsky, "Learning Deep Embeddings with
       Histogram Loss", NIPS 2016 (the distribution form).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skimbalance import CRLClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CRLClassifier(hidden_layer_sizes=(64,), max_epochs=20, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    >>> clf.minority_frequency_.shape
    (10,)
    """

    _parameter_constraints: dict = {
        **BaseDeepClassifier._parameter_constraints,
        **TRAINING_OPTION_CONSTRAINTS,
        "mining": [StrOptions(set(MININGS))],
        "crl_loss": [StrOptions(set(LOSSES))],
        "k": [Interval(numbers.Integral, 1, None, closed="left")],
        "crl_weight": [
            Interval(numbers.Real, 0, None, closed="left"),
            StrOptions({"imbalance"}),
        ],
        "crl_eta": [Interval(numbers.Real, 0, None, closed="neither")],
        "margin": [None, Interval(numbers.Real, 0, None, closed="left")],
        "n_bins": [Interval(numbers.Integral, 2, None, closed="left")],
        "normalize": ["boolean"],
        "positive_fallback": ["boolean"],
        **LOSS_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
        mining="instance",
        crl_loss="relative",
        k=5,
        crl_weight=1.0,
        crl_eta=1.0,
        margin=None,
        n_bins=51,
        normalize=True,
        positive_fallback=True,
        loss="cross_entropy",
        focal_gamma=2.0,
        logit_adjustment_tau=1.0,
        ldam_max_margin=0.5,
        ldam_scale=30.0,
        hidden_layer_sizes=(512, 512),
        dropout=0.5,
        embedding_dim=64,
        backbone=None,
        input_shape=None,
        max_epochs=30,
        batch_size=128,
        lr=1e-3,
        weight_decay=0.0,
        optimizer="adam",
        class_weight=None,
        effective_number_beta=0.999,
        class_weight_start_epoch=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        scoring=None,
        warm_start=False,
        optimizer_params=None,
        prior_correction="auto",
        callbacks=None,
        device="auto",
        n_threads=None,
        random_state=None,
        verbose=0,
    ):
        self.mining = mining
        self.crl_loss = crl_loss
        self.k = k
        self.crl_weight = crl_weight
        self.crl_eta = crl_eta
        self.margin = margin
        self.n_bins = n_bins
        self.normalize = normalize
        self.positive_fallback = positive_fallback
        self.loss = loss
        self.focal_gamma = focal_gamma
        self.logit_adjustment_tau = logit_adjustment_tau
        self.ldam_max_margin = ldam_max_margin
        self.ldam_scale = ldam_scale
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            dropout=dropout,
            embedding_dim=embedding_dim,
            backbone=backbone,
            input_shape=input_shape,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            optimizer=optimizer,
            class_weight=class_weight,
            effective_number_beta=effective_number_beta,
            class_weight_start_epoch=class_weight_start_epoch,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            scoring=scoring,
            warm_start=warm_start,
            optimizer_params=optimizer_params,
            prior_correction=prior_correction,
            callbacks=callbacks,
            device=device,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
        )

    def _build_head(self, ctx):
        return build_ce_head(self, ctx)

    def _build_criterion(self, ctx):
        if self.crl_loss == "distribution" and not self.normalize:
            raise ValueError(
                "crl_loss='distribution' needs normalize=True: the histogram loss "
                "works on the bounded distances of L2-normalised embeddings."
            )
        if self.crl_loss == "relative" and self.normalize and self.margin is not None:
            if float(self.margin) >= _DISTANCE_RANGE:
                warnings.warn(
                    f"margin={self.margin} is not below {_DISTANCE_RANGE:g}, the "
                    "largest difference of two distances between L2-normalised "
                    "embeddings: no triplet can meet it, every hinge stays active "
                    "and the margin only adds a constant to the loss.",
                    UserWarning,
                    stacklevel=3,
                )
        if self.crl_loss == "relative" and not self.normalize:
            warnings.warn(
                "normalize=False with crl_loss='relative': the raw-distance "
                "triplet loss is lowered by shrinking every embedding towards one "
                "point, which can leave a label predicting a single class.",
                UserWarning,
                stacklevel=3,
            )
        alpha = None
        if self.crl_weight == "imbalance":
            omega = imbalance_measure(ctx.class_counts)
            alpha = np.clip(float(self.crl_eta) * omega, 0.0, 1.0)
        return CRLCriterion(
            self.mining,
            self.crl_loss,
            int(self.k),
            0.0 if alpha is not None else float(self.crl_weight),
            None if self.margin is None else float(self.margin),
            int(self.n_bins),
            bool(self.normalize),
            bool(self.positive_fallback),
            ce=None if self.loss == "cross_entropy" else build_ce_criterion(self, ctx),
            alpha=None
            if alpha is None
            else torch.as_tensor(alpha, dtype=torch.float32),
        )

    def _on_fit_end(self, ctx):
        criterion = self.net_.criterion_
        counts = criterion.minority_counts
        if counts is None:
            counts = torch.zeros(ctx.n_tasks, ctx.n_classes, dtype=torch.long)
        counts = counts.cpu().reshape(ctx.n_tasks, ctx.n_classes).numpy()
        frequency = counts.astype(float) / max(criterion.n_batches, 1)
        self.minority_frequency_ = frequency[0] if self.n_outputs_ == 1 else frequency
        alpha = criterion.alpha
        if alpha is not None:
            self.crl_alpha_ = alpha.detach().cpu().numpy().astype(float)
        elif hasattr(self, "crl_alpha_"):
            del self.crl_alpha_
        # The counters are fit-time state: reset them in the fitted net.
        criterion.minority_counts = None
        criterion.n_batches = 0
