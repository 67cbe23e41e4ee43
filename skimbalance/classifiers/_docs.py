"""The docstrings the estimators share (parameters, options, attributes)."""

LOSS_PARAMETERS_DOC = """
    loss : {"cross_entropy", "focal", "logit_adjusted", "ldam", "vs"} or loss object, default="cross_entropy"
        The cross-entropy term (see the user guide's "Long-tail losses"): a
        string for a loss at its defaults, or a loss object of
        :mod:`skimbalance.losses` carrying its own parameters (tuned in a
        search as ``loss__gamma``, ``loss__tau`` ...):

        - ``"cross_entropy"``: the (weighted) softmax cross-entropy;
        - ``"focal"`` or :class:`~skimbalance.losses.FocalLoss` ``(gamma=2.0)``:
          ``-(1 - p_y) ** gamma * log p_y`` (Lin et al., 2017);
        - ``"logit_adjusted"`` or
          :class:`~skimbalance.losses.LogitAdjustedLoss` ``(tau=1.0)``: the
          cross-entropy of ``f(x) + tau * log pi``, with ``pi`` each task's
          training-set class prior (Menon et al., 2021; balanced softmax of
          Ren et al., 2020, at ``tau=1``). Predictions use the raw logits
          ``f(x)``, which estimate the balanced-error-optimal rule;
        - ``"ldam"`` or :class:`~skimbalance.losses.LDAMLoss`
          ``(max_margin=0.5, scale=30.0)``: the label-distribution-aware
          margin loss (Cao et al., 2019): a cosine classifier (L2-normalised
          embedding and class vectors, logits ``scale * cos``) whose target
          cosine must win by ``Delta_j = C / n_j ** (1/4)``, ``C`` such that
          the rarest class gets ``max_margin``. Predictions use
          ``scale * cos``;
        - ``"vs"`` or :class:`~skimbalance.losses.VSLoss`
          ``(gamma=0.2, tau=1.0)``: the vector-scaling loss (Kini et al.,
          2021), the cross-entropy of ``Delta * f(x) + tau * log pi`` with
          ``Delta_j = (n_j / n_max) ** gamma``: logit adjustment plus a
          multiplicative scaling that keeps widening the rare classes'
          margins. Predictions use the raw logits ``f(x)``.

        Combine with ``class_weight`` (e.g. ``"effective_number"``) and
        ``class_weight_start_epoch`` for class-balanced focal loss or
        LDAM-DRW. The object you pass is not modified: ``fit`` binds a copy
        to the training set's class counts.
"""

SHARED_PARAMETERS_DOC = """
    hidden_layer_sizes : tuple of int, default=(512, 512)
        Widths of the MLP backbone's hidden layers (ReLU, then dropout).
        Used when ``backbone`` is None or ``"mlp"``.
    dropout : float, default=0.5
        Dropout probability after each hidden layer of the default backbone.
    embedding_dim : int, default=64
        Size of each task's embedding layer (the per-attribute 64-d FC2 of
        Dong et al.); the classifier of each task reads it.
    backbone : {"mlp", "tabular"}, torch.nn.Module, callable or None, \
default=None
        The network before the embedding layer. ``"mlp"`` (or None) is the
        MLP given by ``hidden_layer_sizes`` and ``dropout``; ``"tabular"`` is
        :class:`~skimbalance.TabularBackbone` at its defaults (a quantile
        transform fitted on the training rows, periodic embeddings of the
        numerical features and a TabM-mini ensemble; it ignores
        ``hidden_layer_sizes`` and ``dropout``, pass a
        :class:`~skimbalance.TabularBackbone` to set its own), for raw
        numerical tables. Or your own feature extractor (e.g. a CNN): a
        module (copied at ``fit``, never modified) or a callable returning
        one, such as :class:`~skimbalance.ConvNetBackbone`. Its output is
        flattened.
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
    optimizer : {"adam", "adamw", "sgd", "sam"}, default="adam"
        Optimizer (SGD uses momentum 0.9). ``"sam"`` is sharpness-aware
        minimization (Foret et al., 2021) wrapping one of the others: each
        step takes the gradient at the worst weights within a radius ``rho``
        (two forward and backward passes per step). Its settings are keys of
        ``optimizer_params``: ``"base_optimizer"`` (default ``"sgd"``) and
        ``"rho"`` (default 0.05), beside the base optimizer's own arguments.
    class_weight : dict, list of dict, "balanced", "effective_number", EffectiveNumberWeights or None, default=None
        Weights of the classes in the loss, multiplied with ``sample_weight``.
        ``"balanced"`` uses ``n_samples / (n_classes * count)``;
        ``"effective_number"`` the class-balanced weights of Cui et al. (2019),
        ``(1 - beta) / (1 - beta ** count)`` with ``beta = 0.999``, scaled (as
        ``"balanced"``) to average 1 over the training samples
        (:class:`~skimbalance.class_weight.EffectiveNumberWeights` ``(beta=...)``
        for another ``beta``); a dict maps labels to weights; for a
        multi-label target, a list of one dict ``{0: w0, 1: w1}`` per label.
    class_weight_start_epoch : int or None, default=None
        Deferred re-weighting (DRW, Cao et al., 2019): train the first
        ``class_weight_start_epoch`` epochs without the class weights (with
        ``sample_weight`` alone) and apply them from the next epoch on, with
        any loss. ``None`` or 0 applies them throughout. Ignored when
        ``class_weight`` is None (there is nothing to defer). The validation
        loss of early stopping is always class-weighted.
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
        is 0.9 unless given here); with ``optimizer="sam"`` also
        ``"base_optimizer"`` and ``"rho"``, e.g. ``{"base_optimizer": "sgd",
        "rho": 0.1, "momentum": 0.9}``. An argument the optimizer does not take
        is a ValueError naming it.
"""

_PRIOR_CORRECTION_DOC = """\
    prior_correction : float or "auto", default={default}
        Post-hoc prior correction ``tau`` (Menon et al., ICLR 2021, the
        post-hoc form of logit adjustment): at prediction, ``tau * log(prior)``
        is subtracted from every score, the prior being each class's share of
        the training set (``class_counts_``), so that ``predict`` targets the
        balanced error rather than the error under the training prior.
        ``tau = 1`` is the Bayes-optimal correction of a calibrated model;
        ``0`` leaves the scores as trained. ``"auto"`` is 1 unless the
        training already re-balanced the network (a ``class_weight``, or a
        rebalancing ``loss`` such as ``"logit_adjusted"`` or ``"ldam"``), then
        0: no double correction. It changes ``predict``, ``predict_proba``
        (the probabilities re-weighted by ``prior ** -tau`` and renormalised,
        which is the softmax of the corrected logits) and
        ``decision_function``; training is untouched, so it can be tuned on a
        fitted model with ``set_params``.{note}
    target_prior : {{"uniform", "train"}} or array-like of shape (n_classes,), \
            default="uniform"
        The class prior expected where the model is deployed, which the prior
        correction moves the scores to: ``tau * (log(train prior) -
        log(target_prior))`` is subtracted (Bayes' rule with ``p(x | y)``
        unchanged, Saerens et al., 2002). ``"uniform"`` targets the balanced
        error (the correction above); ``"train"`` the error under the training
        prior (no correction for a network trained under it); an array gives
        each class's expected share, in ``classes_`` order (positive,
        normalised to sum 1; multi-class only). With ``prior_correction="auto"``
        a network whose training was rebalanced counts as trained under the
        uniform prior, so only ``log(target_prior)`` is added; with
        ``prior_correction=0`` nothing changes. To estimate an unknown
        deployment prior from unlabelled data, see
        :func:`skimbalance.prior_shift.estimate_target_prior`. Like
        ``prior_correction``, it can be set on a fitted model.
    head_retraining : {{"crt", "lws"}} or None, default=None
        A second, decoupled stage after training (Kang et al., ICLR 2020):
        the embedding of the training rows is frozen and only the linear head
        learns, from class-balanced batches, for ``head_retraining_epochs``
        epochs (SGD, momentum 0.9, learning rate 0.1 decayed to 0 on a cosine,
        weight decay 5e-4, batches of ``batch_size``). ``"crt"`` re-initialises
        and re-trains the head (classifier re-training); ``"lws"`` keeps it
        and learns one scale per class (learnable weight scaling), folded into
        the head's weights. Multi-class, linear heads only (not the cosine head
        of ``loss="ldam"``); ``sample_weight`` does not enter this stage. A
        re-balanced head targets the balanced error, like a ``class_weight``,
        so ``prior_correction="auto"`` then corrects nothing.
    head_retraining_epochs : int, default=10
        Epochs of the head's re-training.
    tau_normalization : float, default=0.0
        τ-normalisation of the head at prediction (Kang et al., ICLR 2020):
        each class's weight vector and bias divided by its norm to the power
        τ, which shrinks the frequent classes' larger norms; ``0`` is the head
        as trained, ``1`` unit-norm class vectors. No training; set it on a
        fitted model (``set_params``) and tune it on validation data. Linear
        heads only, like ``head_retraining``; applied before the prior
        correction.
"""


RECIPE_OPTIONS_DOC = """\
    sampling : {"instance", "class_balanced", "square_root", "progressive"}, default="instance"
        How the training batches are drawn (Kang et al., ICLR 2020).
        ``"instance"`` is the usual shuffled epoch, every training row once.
        The others draw a class ``j`` with probability ``p_j`` and then one of
        its rows, with ``p_j`` equal for every class (``"class_balanced"``),
        proportional to ``sqrt(n_j)`` (``"square_root"``), or moving linearly
        from the instance to the class-balanced probabilities over the
        ``max_epochs`` of the fit (``"progressive"``); an epoch has as many
        full batches as a plain one, every class gets the floor or the
        ceiling of its expected draws, and the rows of a class come without
        replacement (so a rare class's rows all appear once it is drawn as
        often as it has rows). With early stopping the draws are from the
        rows left for training. Multi-label targets are refused.
        :class:`~skimbalance.CRLClassifier` gets 2 distinct samples of the
        batch's rarest class in every batch, which its hard mining needs.
        Use it instead of ``class_weight`` (re-sampling rather than
        re-weighting), not with it.
    max_norm : float or None, default=None
        MaxNorm (Alshammari et al., CVPR 2022): after every optimizer step,
        each class vector of the linear classifier head is projected onto the
        ball of this radius (a longer vector is shortened to it, a shorter one
        left alone), so that the frequent classes' vectors cannot outgrow the
        rare ones'. With ``weight_decay`` (the recipe's main knob: it is what
        shrinks and balances the norms over training) it is the
        weight-balancing recipe. ``None`` projects nothing. Needs a linear
        head: a ValueError names the settings without one.
"""


def training_options_doc(prior_correction_default, note="", recipes=False):
    """The shared training options' docstring, with this estimator's default of
    ``prior_correction`` and a ``note`` on it (see the user guide's table of
    defaults); ``recipes`` adds the long-tail recipe options."""
    return (
        _OPTIONS_DOC
        + (RECIPE_OPTIONS_DOC if recipes else "")
        + _PRIOR_CORRECTION_DOC.format(default=prior_correction_default, note=note)
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
