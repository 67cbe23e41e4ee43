"""The cross-entropy network and its long-tail losses: the like-for-like baseline.

Also the home of the options every cross-entropy term of the library shares
(``loss`` and its parameters, see :data:`CE_LOSSES`), used by
:class:`CrossEntropyClassifier` and by the CE term of
:class:`~skimbalance.CRLClassifier`.
"""

import numbers

from sklearn.utils._param_validation import Interval, StrOptions

from ..base import TRAINING_OPTION_CONSTRAINTS, BaseDeepClassifier
from ..losses.cross_entropy import WeightedCrossEntropy
from ..losses.focal import FocalLoss
from ..losses.ldam import CosineTaskHead, LDAMLoss
from ..losses.logit_adjusted import LogitAdjustedLoss

#: The values of ``loss``: the cross-entropy and the long-tail losses.
CE_LOSSES = ("cross_entropy", "focal", "logit_adjusted", "ldam")

LOSS_PARAMETER_CONSTRAINTS = {
    "loss": [StrOptions(set(CE_LOSSES))],
    "focal_gamma": [Interval(numbers.Real, 0, None, closed="left")],
    "logit_adjustment_tau": [Interval(numbers.Real, 0, None, closed="left")],
    "ldam_max_margin": [Interval(numbers.Real, 0, None, closed="left")],
    "ldam_scale": [Interval(numbers.Real, 0, None, closed="neither")],
}

LOSS_PARAMETERS_DOC = """
    loss : {"cross_entropy", "focal", "logit_adjusted", "ldam"}, default="cross_entropy"
        The cross-entropy term (see the user guide's "Long-tail losses"):

        - ``"cross_entropy"``: the (weighted) softmax cross-entropy;
        - ``"focal"``: the focal loss ``-(1 - p_y) ** focal_gamma * log p_y``
          (Lin et al., 2017);
        - ``"logit_adjusted"``: the cross-entropy of ``f(x) +
          logit_adjustment_tau * log pi``, with ``pi`` each task's
          training-set class prior (Menon et al., 2021; balanced softmax of
          Ren et al., 2020, at ``tau=1``). Predictions use the raw logits
          ``f(x)``, which estimate the balanced-error-optimal rule;
        - ``"ldam"``: the label-distribution-aware margin loss (Cao et al.,
          2019): a cosine classifier (L2-normalised embedding and class
          vectors, logits ``ldam_scale * cos``) whose target cosine must win
          by ``Delta_j = C / n_j ** (1/4)``, ``C`` such that the rarest class
          gets ``ldam_max_margin``. Predictions use ``ldam_scale * cos``.

        Combine with ``class_weight`` (e.g. ``"effective_number"``) and
        ``class_weight_start_epoch`` for class-balanced focal loss or
        LDAM-DRW.
    focal_gamma : float, default=2.0
        Focusing parameter ``gamma >= 0`` of ``loss="focal"`` (0 is the
        cross-entropy).
    logit_adjustment_tau : float, default=1.0
        Strength ``tau >= 0`` of ``loss="logit_adjusted"``.
    ldam_max_margin : float, default=0.5
        Margin of the rarest class of ``loss="ldam"``, in cosine units.
    ldam_scale : float, default=30.0
        Scale ``s > 0`` of the cosine logits of ``loss="ldam"``.
"""


def build_ce_head(estimator, ctx):
    """The classifier of ``estimator.loss``: a cosine head for LDAM, else None."""
    if estimator.loss != "ldam":
        return None
    return CosineTaskHead(
        ctx.n_tasks,
        estimator.embedding_dim,
        ctx.n_classes,
        scale=float(estimator.ldam_scale),
    )


def build_ce_criterion(estimator, ctx):
    """The criterion of ``estimator.loss`` (criterion protocol), from the fit's counts."""
    if estimator.loss == "focal":
        return FocalLoss(gamma=float(estimator.focal_gamma))
    if estimator.loss == "logit_adjusted":
        return LogitAdjustedLoss(
            ctx.class_counts, tau=float(estimator.logit_adjustment_tau)
        )
    if estimator.loss == "ldam":
        return LDAMLoss(
            ctx.class_counts,
            max_margin=float(estimator.ldam_max_margin),
            scale=float(estimator.ldam_scale),
        )
    return WeightedCrossEntropy()


SHARED_PARAMETERS_DOC = """
    hidden_layer_sizes : tuple of int, default=(512, 512)
        Widths of the default MLP backbone's hidden layers (ReLU, then dropout).
        Ignored when ``backbone`` is given.
    dropout : float, default=0.5
        Dropout probability after each hidden layer of the default backbone.
    embedding_dim : int, default=64
        Size of each task's embedding layer (the per-attribute 64-d FC2 of
        Dong et al.); the classifier of each task reads it.
    backbone : torch.nn.Module, callable or None, default=None
        Your own feature extractor (e.g. a CNN): a module (copied at ``fit``,
        never modified) or a callable returning one, such as
        :class:`~skimbalance.ConvNetBackbone`. Its output is flattened.
        ``None`` uses the MLP given by ``hidden_layer_sizes``.
    input_shape : tuple of int or None, default=None
        Shape of one input, e.g. ``(1, 28, 28)``: flat rows of ``X`` are
        reshaped to it before the backbone, so samplers that need 2-D ``X``
        can run before the estimator in a pipeline. None: the
        ``input_shape`` the backbone declares (as
        :class:`~skimbalance.ConvNetBackbone` does), else flat rows.
    max_epochs : int, default=30
        Number of training epochs (passes over the training set).
    batch_size : int, default=128
        Mini-batch size.
    lr : float, default=1e-3
        Learning rate.
    weight_decay : float, default=0.0
        L2 penalty of the optimizer.
    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        Optimizer (SGD uses momentum 0.9).
    class_weight : dict, list of dict, {"balanced", "effective_number"} or None, default=None
        Weights of the classes in the loss, multiplied with ``sample_weight``.
        ``"balanced"`` uses ``n_samples / (n_classes * count)``;
        ``"effective_number"`` the class-balanced weights of Cui et al. (2019),
        ``(1 - beta) / (1 - beta ** count)`` with ``beta =
        effective_number_beta``, scaled (as ``"balanced"``) to average 1 over
        the training samples; a dict maps labels to weights; for a
        multi-label target, a list of one dict ``{0: w0, 1: w1}`` per label.
    effective_number_beta : float, default=0.999
        ``beta`` in ``[0, 1)`` of ``class_weight="effective_number"``: 0 gives
        uniform weights, values near 1 approach ``"balanced"``.
    class_weight_start_epoch : int or None, default=None
        Deferred re-weighting (DRW, Cao et al., 2019): train the first
        ``class_weight_start_epoch`` epochs without the class weights (with
        ``sample_weight`` alone) and apply them from the next epoch on, with
        any loss. ``None`` or 0 applies them throughout. Needs a
        ``class_weight``. The validation loss of early stopping is always
        class-weighted.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training set and
        stop when its loss has not improved for ``n_iter_no_change`` epochs,
        keeping the best parameters.
    validation_fraction : float, default=0.1
        Fraction held out when ``early_stopping`` is on.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    callbacks : list or None, default=None
        Extra skorch callbacks (instances or ``(name, callback)`` pairs),
        copied at ``fit``.
    device : str, default="auto"
        Torch device; ``"auto"`` takes CUDA when available, else the CPU.
    n_threads : int or None, default=None
        Torch intra-op threads during ``fit`` and prediction; ``None`` leaves
        torch's setting alone.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout. The same value
        gives the same predictions on the CPU; the caller's global random
        state is left as it was.
    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar per epoch and the training log.
"""


def with_default(doc, name, spec, note):
    """``doc`` with parameter ``name``'s type-and-default line replaced by
    ``spec`` (what follows ``name : ``) and ``note`` appended to its entry.

    For an estimator whose default differs from the shared docstring's.
    """
    lines = doc.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"    {name} : "))
    lines[start] = f"    {name} : {spec}"
    end = start + 1
    while end < len(lines) and (lines[end].startswith("        ") or not lines[end]):
        if (
            not lines[end]
            and end + 1 < len(lines)
            and not lines[end + 1].startswith("        ")
        ):
            break
        end += 1
    return "\n".join(lines[:end] + [line for line in note.split("\n")] + lines[end:])


_OPTIONS_DOC = """
    scoring : str, callable or None, default=None
        What early stopping monitors on the validation set: ``None``, the
        validation loss; else a scikit-learn scorer name (e.g.
        ``"balanced_accuracy"``, ``"roc_auc"``, ``"average_precision"``) or a
        callable ``scorer(estimator, X, y)``, computed at the end of every epoch
        and recorded in ``net_.history`` as ``valid_<name>`` (``valid_score``
        for a callable). Higher is better; an epoch improves on the best by more
        than ``1e-4`` (absolute). Needs ``early_stopping=True``.
    warm_start : bool, default=False
        When True, a ``fit`` on a fitted estimator continues training its
        network for ``max_epochs`` more epochs instead of drawing a new one,
        as :class:`~sklearn.neural_network.MLPClassifier`: the weights and
        the optimizer's state (when ``optimizer`` is unchanged) carry over,
        ``net_.history`` and ``n_iter_`` keep counting, and
        ``class_weight_start_epoch`` counts from the network's first epoch.
        The data must have the same features and classes (a ValueError
        otherwise).
    optimizer_params : dict or None, default=None
        Extra keyword arguments of the torch optimizer, besides ``lr`` and
        ``weight_decay``: e.g. ``{"betas": (0.9, 0.99)}`` for Adam or
        ``{"momentum": 0.0}``, ``{"nesterov": True}`` for SGD (whose momentum
        is 0.9 unless given here). An argument the optimizer does not take is
        a ValueError naming it.
"""

_PRIOR_CORRECTION_DOC = """\
    prior_correction : {type}, default={default}
        Post-hoc prior correction ``tau`` (Menon et al., ICLR 2021, the
        post-hoc form of logit adjustment): at prediction, ``tau * log(prior)``
        is subtracted from every score, the prior being each class's share of
        the training set (``class_counts_``), so that ``predict`` targets the
        balanced error rather than the error under the training prior.
        ``tau = 1`` is the Bayes-optimal correction of a calibrated model;
        ``0`` leaves the scores as trained. It changes ``predict``,
        ``predict_proba`` (the probabilities re-weighted by
        ``prior ** -tau`` and renormalised, which is the softmax of the
        corrected logits) and ``decision_function``; training is untouched,
        so it can be tuned on a fitted model with ``set_params``. Do not
        combine it with ``loss="logit_adjusted"``, which already predicts
        with prior-free logits, unless a stronger correction is wanted.{note}
"""

#: The shared training options, ``prior_correction`` defaulting to 0 (the
#: cross-entropy baseline, which stays the plain network).
TRAINING_OPTIONS_DOC = _OPTIONS_DOC + _PRIOR_CORRECTION_DOC.format(
    type='float or "auto"',
    default="0.0",
    note="""
        ``"auto"`` is 1 unless ``class_weight`` or a rebalancing ``loss``
        (``"logit_adjusted"``, ``"ldam"``) already re-balanced the training,
        then 0: the methods' default.""",
)

#: The same for the three methods, whose default corrects the prior (issue 13).
METHOD_TRAINING_OPTIONS_DOC = _OPTIONS_DOC + _PRIOR_CORRECTION_DOC.format(
    type='float or "auto"',
    default='"auto"',
    note="""
        The default, ``"auto"``, is this method's recommended setting for
        imbalanced data (chosen on the KEEL suite and the feature sets; see
        the user guide, "How it compares"): ``tau = 1``, the paper's training
        with the prediction corrected toward the balanced error, unless
        ``class_weight`` (or a rebalancing ``loss``) already re-balanced the
        training, then ``tau = 0`` (no double correction).
        ``prior_correction=0`` is the paper's method as published.""",
)

SHARED_ATTRIBUTES_DOC = """
    classes_ : ndarray of shape (n_classes,)
        Class labels (multi-class), or label indices (multi-label).
    n_outputs_ : int
        1 for multi-class, the number of labels for multi-label.
    class_counts_ : ndarray
        Training-set count of each class (shape ``(n_classes,)``), or per label
        ``(n_labels, 2)`` for multi-label.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when ``X`` has string column
        names.
    net_ : skorch.NeuralNet
        The fitted skorch net: ``net_.history``, ``net_.module_``,
        ``net_.save_params`` …
    n_iter_ : int
        Number of epochs run.
"""


class CrossEntropyClassifier(BaseDeepClassifier):
    __doc__ = f"""Neural network trained with cross-entropy or a long-tail loss.

    The same backbone, embedding layer and training loop as every method of
    the library, with the plain cross-entropy loss: the like-for-like baseline
    of the benchmarks. With ``class_weight="balanced"`` it is the
    cost-sensitive baseline. ``loss``, ``class_weight="effective_number"`` and
    ``class_weight_start_epoch`` make it the long-tail baselines too: focal
    loss, logit adjustment (balanced softmax), LDAM(-DRW) and class-balanced
    weights.

    Parameters
    ----------{LOSS_PARAMETERS_DOC}{SHARED_PARAMETERS_DOC}{TRAINING_OPTIONS_DOC}
    Attributes
    ----------{SHARED_ATTRIBUTES_DOC}
    See Also
    --------
    CRLClassifier, CLMLEClassifier, UncertaintyMarginClassifier

    References
    ----------
    .. [1] H. He and E. A. Garcia, "Learning from imbalanced data", IEEE
       Transactions on Knowledge and Data Engineering, 21(9), 2009 (the
       cost-sensitive baseline).
    .. [2] T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollár, "Focal Loss
       for Dense Object Detection", ICCV 2017.
    .. [3] A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit and S.
       Kumar, "Long-tail learning via logit adjustment", ICLR 2021.
    .. [4] J. Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual
       Recognition", NeurIPS 2020.
    .. [5] K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning
       Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
       NeurIPS 2019 (LDAM and deferred re-weighting).
    .. [6] Y. Cui, M. Jia, T.-Y. Lin, Y. Song and S. Belongie, "Class-Balanced
       Loss Based on Effective Number of Samples", CVPR 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skimbalance import CrossEntropyClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CrossEntropyClassifier(hidden_layer_sizes=(64,), max_epochs=20,
    ...                              class_weight="balanced", random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    >>> ldam_drw = CrossEntropyClassifier(hidden_layer_sizes=(64,), max_epochs=20,
    ...     loss="ldam", class_weight="effective_number", class_weight_start_epoch=15,
    ...     random_state=0)
    >>> ldam_drw.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseDeepClassifier._parameter_constraints,
        **LOSS_PARAMETER_CONSTRAINTS,
        **TRAINING_OPTION_CONSTRAINTS,
    }

    def __init__(
        self,
        *,
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
        prior_correction=0.0,
        callbacks=None,
        device="auto",
        n_threads=None,
        random_state=None,
        verbose=0,
    ):
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
        return build_ce_criterion(self, ctx)
