"""The cross-entropy network and its long-tail losses: the like-for-like baseline."""

from sklearn.utils._param_validation import StrOptions
from torch import nn

from ..base import TRAINING_OPTION_CONSTRAINTS, BaseDeepClassifier
from ..training.ce_term import CE_LOSSES, ce_criterion, ce_head, rebalances
from ._docs import (
    LOSS_PARAMETERS_DOC,
    SHARED_ATTRIBUTES_DOC,
    SHARED_PARAMETERS_DOC,
    training_options_doc,
)

#: Constraints of ``loss``: a string of CE_LOSSES or a criterion module (a
#: loss object of :mod:`skimbalance.losses`, or your own).
LOSS_PARAMETER_CONSTRAINTS = {"loss": [StrOptions(set(CE_LOSSES)), nn.Module]}


class CETermMixin:
    """The cross-entropy term of ``loss``: its head, its criterion, and whether
    it re-balances the training (for ``prior_correction="auto"``)."""

    def _build_head(self, ctx):
        return ce_head(self.loss, ctx.n_tasks, self.embedding_dim, ctx.n_classes)

    def _ce_criterion(self, ctx):
        return ce_criterion(self.loss, ctx.class_counts)

    def _rebalanced_training(self):
        return super()._rebalanced_training() or rebalances(self.loss)


_CE_OPTIONS_DOC = training_options_doc(
    "0.0",
    """
        The default, 0, keeps this baseline the plain network;
        ``prior_correction=1`` (or ``"auto"``) is the post-hoc logit
        adjustment of Menon et al. Do not combine ``tau > 0`` with
        ``loss="logit_adjusted"``, which already predicts with prior-free
        logits, unless a stronger correction is wanted (``"auto"`` gives 0
        there).""",
)


class CrossEntropyClassifier(CETermMixin, BaseDeepClassifier):
    __doc__ = f"""Neural network trained with cross-entropy or a long-tail loss.

    The same backbone, embedding layer and training loop as every method of
    the library, with the plain cross-entropy loss: the like-for-like baseline
    of the benchmarks. With ``class_weight="balanced"`` it is the
    cost-sensitive baseline. ``loss``, ``class_weight="effective_number"`` and
    ``class_weight_start_epoch`` make it the long-tail baselines too: focal
    loss, logit adjustment (balanced softmax), LDAM(-DRW) and class-balanced
    weights.

    Parameters
    ----------{LOSS_PARAMETERS_DOC}{SHARED_PARAMETERS_DOC}{_CE_OPTIONS_DOC}
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
    >>> from skimbalance.losses import LDAMLoss
    >>> ldam_drw = CrossEntropyClassifier(hidden_layer_sizes=(64,), max_epochs=20,
    ...     loss=LDAMLoss(max_margin=0.5), class_weight="effective_number",
    ...     class_weight_start_epoch=15, random_state=0)
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
        return self._ce_criterion(ctx)
