"""Class Rectification Loss (Dong, Gong and Zhu, ICCV 2017) as an estimator."""

import numbers
import warnings

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import TRAINING_OPTION_CONSTRAINTS, BaseDeepClassifier
from ..losses.crl import LOSSES, MININGS
from ..training.ce_term import is_plain_cross_entropy
from ..training.crl import DISTANCE_RANGE, CRLCriterion, imbalance_measure
from ._docs import (
    LOSS_PARAMETERS_DOC,
    SHARED_ATTRIBUTES_DOC,
    SHARED_PARAMETERS_DOC,
    training_options_doc,
)
from .cross_entropy import LOSS_PARAMETER_CONSTRAINTS, CETermMixin

_CRL_OPTIONS_DOC = training_options_doc(
    '"auto"',
    """
        The default, ``"auto"``, is this method's recommended setting for
        imbalanced data (chosen on the KEEL suite and the feature sets; see
        the user guide, "How it compares"): ``tau = 1``, the paper's training
        with the prediction corrected toward the balanced error, unless
        ``class_weight`` or a rebalancing ``loss`` already re-balanced the
        training, then ``tau = 0``. ``prior_correction=0`` is the paper's
        method as published.""",
)


class CRLClassifier(CETermMixin, BaseDeepClassifier):
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
{LOSS_PARAMETERS_DOC}{SHARED_PARAMETERS_DOC}{_CRL_OPTIONS_DOC}
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
        class_weight_start_epoch=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        scoring=None,
        warm_start=False,
        optimizer_params=None,
        prior_correction="auto",
        target_prior="uniform",
        head_retraining=None,
        head_retraining_epochs=10,
        tau_normalization=0.0,
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
            class_weight_start_epoch=class_weight_start_epoch,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            scoring=scoring,
            warm_start=warm_start,
            optimizer_params=optimizer_params,
            prior_correction=prior_correction,
            target_prior=target_prior,
            head_retraining=head_retraining,
            head_retraining_epochs=head_retraining_epochs,
            tau_normalization=tau_normalization,
            callbacks=callbacks,
            device=device,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
        )

    def _build_criterion(self, ctx):
        if self.crl_loss == "distribution" and not self.normalize:
            raise ValueError(
                "crl_loss='distribution' needs normalize=True: the histogram loss "
                "works on the bounded distances of L2-normalised embeddings."
            )
        if self.crl_loss == "relative" and self.normalize and self.margin is not None:
            if float(self.margin) >= DISTANCE_RANGE:
                warnings.warn(
                    f"margin={self.margin} is not below {DISTANCE_RANGE:g}, the "
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
            ce=None if is_plain_cross_entropy(self.loss) else self._ce_criterion(ctx),
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
