"""Uncertainty-driven max-margin learning (Khan et al., CVPR 2019) as an estimator."""

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from .._warnings import warn_once
from ..base import TRAINING_OPTION_CONSTRAINTS, BaseDeepClassifier, torch_threads
from ..losses.large_margin import MARGIN_TYPES
from ..modules import MultiTaskNet
from ..training.uncertainty_margin import (
    MarginHead,
    UncertaintyMarginCriterion,
    UncertaintySchedule,
)
from ..uncertainty.class_margins import (
    MARGIN_MAPS,
    class_uncertainty,
)
from ..uncertainty.mc_dropout import DROPOUT_TYPES, mc_dropout_statistics
from ._docs import (
    SHARED_ATTRIBUTES_DOC,
    SHARED_PARAMETERS_DOC,
    training_options_doc,
    with_default,
)

_UM_SHARED_PARAMETERS_DOC = with_default(
    with_default(
        SHARED_PARAMETERS_DOC,
        "class_weight",
        'dict, list of dict, "balanced", "effective_number", '
        'EffectiveNumberWeights or None, default="balanced"',
        """        The default, ``"balanced"`` (deferred to the end of the default
        warm-up by ``class_weight_start_epoch=10``, the margins then frozen by
        ``freeze_margins="auto"``), is this method's recommended setting for
        imbalanced data, chosen on the KEEL suite and the feature sets (see the
        user guide, "How it compares"). ``class_weight=None`` is the paper's
        method as published.""",
    ),
    "class_weight_start_epoch",
    "int or None, default=10",
    """        The default, 10, is the default ``warmup_epochs``: the class weights
        start when the margins do, so that the margins are estimated on the
        unweighted network. Set both together (e.g. ``warmup_epochs=5,
        class_weight_start_epoch=5``) to keep them in step.""",
)


_UM_OPTIONS_DOC = training_options_doc(
    "0.0",
    """
        The default, 0, because this method's default ``class_weight=
        "balanced"`` already re-balances the training (``"auto"`` gives 0 with
        a ``class_weight`` too); with ``class_weight=None`` (the paper's
        method), ``prior_correction=1`` or ``"auto"`` corrects the training
        prior at prediction.""",
)


class UncertaintyMarginClassifier(BaseDeepClassifier):
    __doc__ = f"""Uncertainty-driven max-margin network (Khan et al., CVPR 2019).

    Rare classes are predicted with more Bayesian uncertainty; the method
    turns that uncertainty into larger classification regions for them. The
    network is trained with a curriculum (the paper's Sec. 6.1.1):

    1. ``warmup_epochs`` of plain softmax (all margins 1);
    2. class-level margins: MC-dropout passes (``n_mc_samples`` stochastic
       forward passes, Eq. 6-7) give each class's uncertainty, from which an
       integer margin ``m = max(1, floor(0.5 u))``, capped at ``max_margin``,
       is set for each class and used in an angular-margin softmax
       (``margin_type``, Eq. 10); refreshed every ``uncertainty_interval``
       epochs;
    3. the last ``sample_level_epochs``: each sample's features are modelled as
       a Gaussian from the MC passes and its misclassification probability
       (Eq. 12-14) tightens its margin (Eq. 15, see the user guide for the
       form used).

    Predictions use the margin family's neutral logits (the margin is a
    training-time constraint).

    Parameters
    ----------
    margin_type : {{"large_margin", "sphereface", "cosface", "arcface"}}, \
default="large_margin"
        Margin family, each with the uncertainty-derived per-class margin:
        L-softmax ``psi_m`` on ``W f`` (the paper's Eq. 10), SphereFace
        (normalised class vectors, same ``psi_m``), CosFace
        (``s (cos - (m - 1) 0.175)``) or ArcFace
        (``s cos(theta + (m - 1) 0.2)``). For the two additive families
        ``m = 3`` gives the settings of the paper's Table 7 (CosFace's 0.35,
        ArcFace's 0.4); its Large Margin and Sphere Product rows use
        ``m = 4``.
    max_margin : int, default=3
        Largest class margin (the paper's fixed ``m = 3`` of Sec. 6.1.1); the
        most uncertain class gets it.
    margin_map : {{"ratio", "linear", "rank"}}, default="ratio"
        How class uncertainties become integer margins in ``[1, max_margin]``
        (:func:`~skimbalance.uncertainty.class_margins.uncertainty_margins`):
        ``"ratio"``, ``m = floor(M u / max u)`` (only classes within
        ``2/3`` of the most uncertain get ``m >= 2``); ``"linear"``,
        ``m = 1 + round((M - 1) u / max u)``; ``"rank"``, ``M`` bands of
        about equal size by rank of uncertainty.
    freeze_margins : bool or "auto", default="auto"
        If True, the class margins are estimated once, at the end of the
        warm-up, and kept to the end of training (the refreshes then update
        the sample-level feature moments only). With
        ``class_weight_start_epoch=warmup_epochs`` the margins are then
        estimated on the unweighted network, before the class weights start:
        the combination that keeps the margins on the rare classes with
        ``class_weight`` (re-weighting flattens the class uncertainties, see
        the user guide). ``"auto"`` (the default) freezes them when
        ``class_weight`` is set and refreshes them (the paper) when it is not.
    margin_source : {{"uncertainty", "fixed"}}, default="uncertainty"
        Where the class margins come from once the warm-up ends:
        ``"uncertainty"`` is the method (each class's margin from its
        MC-dropout uncertainty, as above); ``"fixed"`` gives every class
        ``max_margin``, the plain margin loss of ``margin_type`` (the
        "original" losses of the paper's Table 7). With ``"fixed"`` the
        curriculum, the MC-dropout refreshes, ``class_uncertainty_`` and the
        sample-level term are unchanged.
    n_mc_samples : int, default=10
        MC-dropout passes per uncertainty estimate (the paper's ``N = 10``).
    uncertainty_interval : int, default=5
        Epochs between two MC-dropout refreshes (margins and per-sample
        feature moments); a refresh also happens when the class-level and the
        sample-level stages begin.
    warmup_epochs : int, default=10
        Epochs of plain softmax before the margins are switched on.
    sample_level_epochs : int, default=10
        Number of final epochs with the sample-level term (the paper's 10); 0
        switches it off.
    sample_margin : float, default=0.5
        Extra margin, in cosine units, of a sample whose feature distribution
        is surely misclassified (scaled by its misclassification probability).
    scale : float, default=30.0
        Logit scale ``s`` of ``"cosface"`` and ``"arcface"`` (the paper's
        feature norm 30).
    softmax_weight : float, default=1.0
        Blending ``lambda`` of the multiplicative families (``"large_margin"``,
        ``"sphereface"``): the true-class value is
        ``(lambda cos + psi_m) / (1 + lambda)``, the device Liu et al. use to
        make L-softmax and SphereFace trainable (they anneal it down to 5 for
        ``m = 4``). With 0 (the pure ``psi_m`` of the paper's Eq. 10) and
        ``m = 3`` the network under-fits small data sets. Ignored by
        ``"cosface"`` and ``"arcface"``. With ``softmax_weight_start`` it is
        the value the annealing ends at.
    softmax_weight_start : float or None, default=None
        If given, ``lambda`` is annealed from this (large) value at the first
        margin epoch down to ``softmax_weight`` at the last class-level epoch
        (``1 + lambda`` falls geometrically, one step per epoch), as
        L-softmax and SphereFace train; None keeps ``softmax_weight``
        constant.
    sample_covariance : {{"diagonal", "full"}}, default="diagonal"
        Feature covariance ``Sigma_f`` of the sample-level term (Eq. 13):
        its diagonal, or the full covariance of the ``n_mc_samples`` passes
        (from the centred passes kept for every training sample:
        ``n_mc_samples`` times the memory of the feature means).
    mc_predict : bool, default=False
        If True, ``predict_proba`` and ``predict`` average ``n_mc_samples``
        MC-dropout passes; otherwise they use one deterministic pass with
        dropout off. The MC masks of a row are drawn from a counter-based hash
        of the fit's seed and the row's values (see the user guide), so a
        row's prediction is repeatable and the same whatever rows it is
        predicted with, in whatever order or batch (identical rows get
        identical masks).
{_UM_SHARED_PARAMETERS_DOC}{_UM_OPTIONS_DOC}
    Attributes
    ----------
    class_uncertainty_ : ndarray of shape (n_classes,) or (n_labels, 2)
        Mean MC-dropout predictive uncertainty of each class's training
        samples, from the last refresh (or from one estimate at the end of
        ``fit`` when the margins were never switched on); NaN for a class
        without training samples (e.g. a label that is never 1).
    class_margins_ : ndarray of shape (n_classes,) or (n_labels, 2)
        Integer margins in force at the end of training (all 1 if training
        ended in the softmax warm-up).
{SHARED_ATTRIBUTES_DOC}
    See Also
    --------
    CrossEntropyClassifier : the same network with plain cross-entropy.

    Notes
    -----
    Dropout is what makes the uncertainty: with ``dropout=0`` (or a backbone
    without dropout) every uncertainty is 0 and the method reduces to the
    softmax of its margin family (a warning is raised).

    References
    ----------
    .. [1] S. Khan, M. Hayat, S. W. Zamir, J. Shen and L. Shao, "Striking the
       Right Balance with Uncertainty", CVPR 2019.
    .. [2] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation",
       ICML 2016.
    .. [3] W. Liu, Y. Wen, Z. Yu and M. Yang, "Large-Margin Softmax Loss for
       Convolutional Neural Networks", ICML 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skimbalance import UncertaintyMarginClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = UncertaintyMarginClassifier(
    ...     hidden_layer_sizes=(64,), max_epochs=8, warmup_epochs=4,
    ...     class_weight_start_epoch=4, sample_level_epochs=2,
    ...     uncertainty_interval=2, lr=1e-2, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    >>> clf.class_margins_.shape, clf.predict_uncertainty(X[:3] / 16).shape
    ((10,), (3,))
    """

    _warm_start_error = (
        "its curriculum (softmax warm-up, class-level, then "
        "sample-level margins) is planned over one fit's max_epochs, "
        "so a continued fit has no defined stage."
    )
    _head_retraining_error = (
        "its head is the class vectors of the margin loss (a cosine "
        "classifier), whose norms and margins the method sets itself. To "
        "compare it with a balanced linear head, re-train one on its "
        "embedding with skimbalance.heads.decoupling.retrain_linear_head."
    )

    _parameter_constraints: dict = {
        **BaseDeepClassifier._parameter_constraints,
        **TRAINING_OPTION_CONSTRAINTS,
        "margin_type": [StrOptions(set(MARGIN_TYPES))],
        "max_margin": [Interval(numbers.Integral, 1, None, closed="left")],
        "margin_source": [StrOptions({"uncertainty", "fixed"})],
        "margin_map": [StrOptions(set(MARGIN_MAPS))],
        "freeze_margins": ["boolean", StrOptions({"auto"})],
        "n_mc_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "uncertainty_interval": [Interval(numbers.Integral, 1, None, closed="left")],
        "warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "sample_level_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "sample_margin": [Interval(numbers.Real, 0, None, closed="left")],
        "scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "softmax_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "softmax_weight_start": [None, Interval(numbers.Real, 0, None, closed="left")],
        "sample_covariance": [StrOptions({"diagonal", "full"})],
        "mc_predict": ["boolean"],
    }

    def __init__(
        self,
        *,
        margin_type="large_margin",
        max_margin=3,
        margin_source="uncertainty",
        margin_map="ratio",
        freeze_margins="auto",
        n_mc_samples=10,
        uncertainty_interval=5,
        warmup_epochs=10,
        sample_level_epochs=10,
        sample_margin=0.5,
        scale=30.0,
        softmax_weight=1.0,
        softmax_weight_start=None,
        sample_covariance="diagonal",
        mc_predict=False,
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
        class_weight="balanced",
        class_weight_start_epoch=10,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        scoring=None,
        warm_start=False,
        optimizer_params=None,
        prior_correction=0.0,
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
        self.margin_type = margin_type
        self.max_margin = max_margin
        self.margin_source = margin_source
        self.margin_map = margin_map
        self.freeze_margins = freeze_margins
        self.n_mc_samples = n_mc_samples
        self.uncertainty_interval = uncertainty_interval
        self.warmup_epochs = warmup_epochs
        self.sample_level_epochs = sample_level_epochs
        self.sample_margin = sample_margin
        self.scale = scale
        self.softmax_weight = softmax_weight
        self.softmax_weight_start = softmax_weight_start
        self.sample_covariance = sample_covariance
        self.mc_predict = mc_predict
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

    # ---------------------------------------------------------------- hooks
    def _late_start_warned(self):
        # Class weights that start with the margins, after the last epoch: the
        # curriculum's warning (warmup_epochs >= max_epochs) says it.
        return self.class_weight_start_epoch == self.warmup_epochs

    def _freeze_margins(self):
        """``"auto"``: freeze the margins when class weights are used, so that
        they stay those of the network before the weights (see the user guide)."""
        if self.freeze_margins == "auto":
            return self.class_weight is not None
        return bool(self.freeze_margins)

    def _build_module(self, ctx):
        backbone, width = self._build_backbone(ctx)
        module = MultiTaskNet(
            backbone,
            width,
            n_tasks=ctx.n_tasks,
            n_classes=ctx.n_classes,
            embedding_dim=self.embedding_dim,
            input_shape=self._input_shape(),
            head=MarginHead(
                ctx.n_tasks,
                self.embedding_dim,
                ctx.n_classes,
                self.margin_type,
                float(self.scale),
            ),
        )
        if self.margin_source == "uncertainty":
            effect = (
                "so every class margin stays 1 (the plain softmax of "
                f"margin_type={self.margin_type!r})."
            )
        elif self.sample_level_epochs > 0:
            effect = "so the sample-level term treats every sample as certain."
        else:
            effect = None  # fixed margins and no sample-level term: no MC use
        if effect is not None and not any(
            isinstance(mod, DROPOUT_TYPES) and mod.p > 0 for mod in module.modules()
        ):
            warn_once(
                self,
                "The network has no dropout with p > 0: MC-dropout uncertainties are "
                f"all 0, {effect}",
            )
        return module

    def _build_criterion(self, ctx):
        return UncertaintyMarginCriterion(
            self.margin_type,
            float(self.sample_margin),
            float(self.scale),
            float(self.softmax_weight),
            self.sample_covariance,
        )

    def _mc_batch_size(self):
        return max(int(self.batch_size), 256)

    def _build_callbacks(self, ctx):
        if self.warmup_epochs >= self.max_epochs:
            warn_once(
                self,
                f"warmup_epochs={self.warmup_epochs} >= max_epochs={self.max_epochs}: "
                "the curriculum never leaves its softmax stage, so no margin is "
                "applied; lower warmup_epochs (and sample_level_epochs) or train "
                "longer.",
            )
        schedule = UncertaintySchedule(
            ctx.X,
            ctx.y,
            ctx.n_classes,
            n_mc_samples=self.n_mc_samples,
            max_margin=self.max_margin,
            refresh_interval=self.uncertainty_interval,
            warmup_epochs=self.warmup_epochs,
            sample_level_epochs=self.sample_level_epochs,
            batch_size=self._mc_batch_size(),
            margin_source=self.margin_source,
            margin_map=self.margin_map,
            freeze_margins=self._freeze_margins(),
            softmax_weight_start=(
                None
                if self.softmax_weight_start is None
                else float(self.softmax_weight_start)
            ),
            softmax_weight_end=float(self.softmax_weight),
            sample_covariance=self.sample_covariance,
        )
        return [("uncertainty_schedule", schedule)]

    def _on_fit_end(self, ctx):
        self._mc_seed = int(ctx.seed)
        schedule = dict(self.net_.callbacks_)["uncertainty_schedule"]
        criterion = self.net_.criterion_
        n_tasks, n_classes = ctx.n_tasks, ctx.n_classes
        uncertainty = schedule.class_uncertainty_
        if uncertainty is None:
            stats = self._mc_statistics(ctx.X)
            uncertainty = class_uncertainty(
                stats.uncertainty.cpu(), torch.from_numpy(ctx.y), n_classes
            )
        if criterion.stage == "softmax" or criterion.margins is None:
            margins = np.ones((n_tasks, n_classes), dtype=np.int64)
        else:
            margins = criterion.margins.cpu().numpy()
        uncertainty = uncertainty.numpy().reshape(n_tasks, n_classes)
        self.class_uncertainty_ = (
            uncertainty[0] if self.n_outputs_ == 1 else uncertainty
        )
        self.class_margins_ = margins[0] if self.n_outputs_ == 1 else margins

    # ------------------------------------------------------------ prediction
    def _mc_statistics(self, X):
        """MC-dropout moments of validated ``X``, keyed by the fit's seed.

        Each row's dropout masks are hashed from the fit's seed and the row's
        values (:func:`~skimbalance.uncertainty.mc_dropout.mc_dropout_statistics`
        with ``seed``), so a row's result does not depend on the rows predicted
        with it, and torch's random state is not touched.
        """
        with torch_threads(self.n_threads):
            return mc_dropout_statistics(
                self.net_.module_,
                torch.from_numpy(np.ascontiguousarray(X)),
                n_samples=self.n_mc_samples,
                batch_size=self._mc_batch_size(),
                seed=getattr(self, "_mc_seed", 0),
            )

    def _predict_task_proba(self, X):
        if not self.mc_predict:
            return super()._predict_task_proba(X)
        return self._mc_statistics(X).prob_mean.double().cpu().numpy()

    def decision_function(self, X):
        """Scores of ``X`` that rank as ``predict_proba`` does.

        With ``mc_predict=False``, the neutral logits (as every estimator of
        the library). With ``mc_predict=True``, the log of the MC-averaged
        probabilities, so that ``predict`` is their argmax: the log-odds
        ``log p_1 - log p_0`` for a binary or multi-label task, else one
        column per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            One column per class or label; ``(n_samples,)`` for binary.
        """
        if not self.mc_predict:
            return super().decision_function(X)
        X = self._validate_X_predict(X)
        proba = self._predict_task_proba(X)
        return self._decision_output(
            np.log(np.maximum(proba, np.finfo(np.float64).tiny))
        )

    def predict_uncertainty(self, X):
        """Predictive uncertainty of each sample from MC dropout (Eq. 7).

        The total variance ``sum_c Var[p_c]`` of the class probabilities over
        ``n_mc_samples`` stochastic passes with dropout on (the trace of the
        paper's Eq. 7 without its constant ``tau^-1`` term). The masks of a
        row are keyed by the fit's seed and the row's values (as with
        ``mc_predict``), so repeated calls agree and a row's value does not
        depend on the rows passed with it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Per sample (per label for a multi-label model); 0 means every pass
            predicts the same probabilities.
        """
        X = self._validate_X_predict(X)
        u = self._mc_statistics(X).uncertainty.double().cpu().numpy()
        return u[:, 0] if self.n_outputs_ == 1 else u

    # ------------------------------------------------------- serving hook
    def _task_scores_module(self):
        if self.mc_predict:
            raise ValueError(
                "UncertaintyMarginClassifier(mc_predict=True) predicts with the "
                "average of n_mc_samples MC-dropout passes whose masks are hashed "
                "from each row, which one ONNX graph does not reproduce. To serve "
                "the deterministic network (dropout off: the predictions of "
                "mc_predict=False, which differ), export a copy: "
                "copy.deepcopy(estimator).set_params(mc_predict=False)"
                ".export_onnx(path)."
            )
        return super()._task_scores_module()
