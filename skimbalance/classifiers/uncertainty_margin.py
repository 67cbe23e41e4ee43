"""Uncertainty-driven max-margin learning (Khan et al., CVPR 2019) as an estimator."""

import math
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import Subset

from .._warnings import warn_once
from ..base import TRAINING_OPTION_CONSTRAINTS, BaseDeepClassifier, torch_threads
from ..losses.large_margin import MARGIN_TYPES, plain_logits
from ..losses.uncertainty_margin import (
    misclassification_probability,
    uncertainty_margin_loss,
)
from ..modules import MultiTaskNet
from ..uncertainty.class_margins import (
    MARGIN_MAPS,
    class_uncertainty,
    uncertainty_margins,
)
from ..uncertainty.mc_dropout import DROPOUT_TYPES, mc_dropout_statistics
from .cross_entropy import (
    SHARED_ATTRIBUTES_DOC,
    SHARED_PARAMETERS_DOC,
    TRAINING_OPTIONS_DOC,
    with_default,
)

# Cached per-sample MC statistics stay on the training device below this size.
_MAX_DEVICE_CACHE_BYTES = 256 * 2**20


class MarginHead(nn.Module):
    """Bias-free per-task classifier whose output is a margin family's neutral logits.

    Holds the class vectors ``weight`` of shape ``(T, C, D)`` read by the margin
    loss; its forward pass returns the logits the model predicts with
    (:func:`skimbalance.losses.large_margin.plain_logits`): ``W f`` for
    ``"large_margin"``, ``W_hat f`` for ``"sphereface"``, ``s cos`` for
    ``"cosface"`` and ``"arcface"``.

    Parameters
    ----------
    n_tasks, in_features, n_classes : int
        Number of tasks ``T``, embedding size ``D`` and classes per task ``C``.
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
    scale : float
        Scale ``s`` of the additive families.

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 8 (the last layer, without bias, inside the loss).

    Examples
    --------
    >>> import torch
    >>> from skimbalance.classifiers.uncertainty_margin import MarginHead
    >>> MarginHead(2, 4, 3, "cosface", 30.0)(torch.zeros(5, 2, 4)).shape
    torch.Size([5, 2, 3])
    """

    def __init__(self, n_tasks, in_features, n_classes, margin_type, scale):
        super().__init__()
        self.margin_type = margin_type
        self.scale = scale
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(n_tasks, n_classes, in_features).uniform_(-bound, bound)
        )

    def forward(self, embedding):
        return plain_logits(
            embedding, self.weight, margin_type=self.margin_type, scale=self.scale
        )


class UncertaintyMarginCriterion(nn.Module):
    """Training loss of :class:`UncertaintyMarginClassifier` (criterion protocol).

    Called as ``criterion(y_pred, y_true, batch)``; reads the class vectors of
    the bound :class:`MarginHead`, the current stage of the curriculum
    (``"softmax"``, ``"class"`` or ``"sample"``), the class margins and the
    cached per-sample MC-dropout feature moments (looked up with
    ``batch["index"]``), all set by the schedule callback. Returns the
    sample-weighted mean of
    :func:`skimbalance.losses.uncertainty_margin.uncertainty_margin_loss` and,
    in the sample stage, the mean misclassification probability as a log.

    Parameters
    ----------
    margin_type : {"large_margin", "sphereface", "cosface", "arcface"}
    sample_margin : float
        ``lambda`` of the sample-level term.
    scale : float
        Scale of the additive families.
    softmax_weight : float, default=0.0
        L-softmax/SphereFace blending ``lambda`` of the multiplicative families
        (the schedule callback may anneal it).
    sample_covariance : {"diagonal", "full"}, default="diagonal"
        What the cached ``feature_var`` holds: the per-dimension variances, or
        the centred MC passes (the full covariance of Eq. 13).

    References
    ----------
    .. [1] S. Khan et al., "Striking the Right Balance with Uncertainty",
       CVPR 2019, Eq. 10-15.

    Examples
    --------
    >>> import torch
    >>> from skimbalance.classifiers.uncertainty_margin import (
    ...     MarginHead, UncertaintyMarginCriterion)
    >>> head = MarginHead(1, 3, 2, "large_margin", 30.0)
    >>> crit = UncertaintyMarginCriterion("large_margin", 0.5, 30.0).bind(head)
    >>> emb = torch.randn(4, 1, 3)
    >>> loss, logs = crit((head(emb), emb), torch.tensor([[0], [1], [1], [0]]), {})
    >>> loss.shape
    torch.Size([])
    """

    def __init__(
        self,
        margin_type,
        sample_margin,
        scale,
        softmax_weight=0.0,
        sample_covariance="diagonal",
    ):
        super().__init__()
        self.margin_type = margin_type
        self.sample_margin = sample_margin
        self.scale = scale
        self.softmax_weight = softmax_weight
        self.sample_covariance = sample_covariance
        self.stage = "softmax"
        self.margins = None
        self.feature_mean = None
        self.feature_var = None
        self._head = []  # a plain list: the head is not registered twice

    def bind(self, head):
        """Read the class vectors of ``head`` (a :class:`MarginHead`)."""
        self._head = [head]
        return self

    def forward(self, y_pred, y_true, batch):
        if not self._head:
            raise RuntimeError("The criterion is not bound to a MarginHead.")
        embedding = y_pred[1]
        weight = self._head[0].weight
        margins = None
        if self.stage != "softmax" and self.margins is not None:
            margins = self.margins.to(embedding.device)
        stats = None
        logs = {}
        covariance = getattr(self, "sample_covariance", "diagonal")
        if (
            self.stage == "sample"
            and self.feature_mean is not None
            and "index" in batch
        ):
            index = batch["index"].to(self.feature_mean.device)
            stats = (
                self.feature_mean[index].to(embedding.device),
                self.feature_var[index].to(embedding.device),
            )
            with torch.no_grad():
                prob = misclassification_probability(
                    stats[0],
                    stats[1],
                    weight,
                    y_true,
                    margin_type=self.margin_type,
                    covariance=covariance,
                )
            logs["misclassification_probability"] = float(prob.mean())
        loss = uncertainty_margin_loss(
            embedding,
            weight,
            y_true,
            margins,
            margin_type=self.margin_type,
            sample_stats=stats,
            sample_margin=self.sample_margin,
            scale=self.scale,
            softmax_weight=self.softmax_weight,
            sample_covariance=covariance,
        )
        weight_batch = batch.get("sample_weight")
        if weight_batch is not None:
            loss = loss * weight_batch.to(loss.dtype)
        return loss.mean(), logs


def curriculum_stage(epoch, max_epochs, warmup_epochs, sample_level_epochs):
    """Stage of the curriculum at a 1-based ``epoch`` (Sec. 6.1.1).

    ``"softmax"`` for the first ``warmup_epochs`` epochs, ``"sample"`` for the
    last ``sample_level_epochs`` epochs after the warm-up, ``"class"`` between.

    Examples
    --------
    >>> from skimbalance.classifiers.uncertainty_margin import curriculum_stage
    >>> [curriculum_stage(e, 6, 2, 2) for e in range(1, 7)]
    ['softmax', 'softmax', 'class', 'class', 'sample', 'sample']
    """
    if epoch <= warmup_epochs:
        return "softmax"
    if sample_level_epochs > 0 and epoch > max_epochs - sample_level_epochs:
        return "sample"
    return "class"


def annealed_softmax_weight(
    epoch, max_epochs, warmup_epochs, sample_level_epochs, start, end
):
    """Blending ``lambda`` at a 1-based ``epoch``, annealed from ``start`` to ``end``.

    Over the class-level stage (:func:`curriculum_stage`) ``1 + lambda``
    falls geometrically from ``1 + start`` at its first epoch to ``1 + end``
    at its last, so the weight ``1 / (1 + lambda)`` of the margin term
    ``psi_m`` in ``(lambda cos + psi_m) / (1 + lambda)`` grows by the same
    factor every epoch; ``end`` from then on (the sample-level stage). This is
    the large-to-small schedule of L-softmax and SphereFace (Liu et al. 2016,
    2017), whose authors decay ``lambda`` per iteration to a floor.

    Examples
    --------
    >>> from skimbalance.classifiers.uncertainty_margin import annealed_softmax_weight
    >>> [round(annealed_softmax_weight(e, 5, 1, 1, 99.0, 0.0), 3) for e in range(1, 6)]
    [99.0, 99.0, 9.0, 0.0, 0.0]
    """
    first = warmup_epochs + 1
    last = max_epochs - sample_level_epochs if sample_level_epochs > 0 else max_epochs
    if epoch <= first:
        return float(start) if last >= first else float(end)
    if epoch >= last:
        return float(end)
    p = (epoch - first) / (last - first)
    return float(math.exp((1 - p) * math.log1p(start) + p * math.log1p(end)) - 1.0)


class UncertaintySchedule(Callback):
    """Curriculum and MC-dropout refreshes of :class:`UncertaintyMarginClassifier`.

    At the start of each epoch it sets the criterion's stage
    (:func:`curriculum_stage`); after the warm-up it runs ``n_mc_samples``
    MC-dropout passes over the training set at the first margin epoch, every
    ``refresh_interval`` epochs after it, and at the start of the sample-level
    stage. Each refresh sets the class margins from the class uncertainties of
    the training samples and caches every sample's feature mean and variance
    for the sample-level term. Records ``class_uncertainty`` and
    ``class_margins`` in the epoch's history row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32
        The training inputs (released at the end of training).
    y : ndarray of shape (n_samples, n_tasks), int64
        Encoded targets.
    n_classes : int
    n_mc_samples, max_margin, refresh_interval : int
    warmup_epochs, sample_level_epochs : int
    batch_size : int
        Samples per MC chunk.
    margin_source : {"uncertainty", "fixed"}, default="uncertainty"
        ``"uncertainty"`` sets each class margin from its uncertainty
        (:func:`~skimbalance.uncertainty.class_margins.uncertainty_margins`);
        ``"fixed"`` gives every class ``max_margin`` (the MC passes still run:
        the uncertainties are recorded and the sample-level term needs the
        feature moments).
    margin_map : {"ratio", "linear", "rank"}, default="ratio"
        See :func:`~skimbalance.uncertainty.class_margins.uncertainty_margins`.
    freeze_margins : bool, default=False
        If True, the class margins are set at the first refresh (from the
        network at the end of the warm-up) and kept; later refreshes update
        the feature moments and the recorded uncertainties only.
    softmax_weight_start : float or None, default=None
        If given, the criterion's ``softmax_weight`` is annealed from it to
        ``softmax_weight_end`` (:func:`annealed_softmax_weight`).
    softmax_weight_end : float, default=0.0
    sample_covariance : {"diagonal", "full"}, default="diagonal"
        ``"full"`` keeps every sample's centred MC passes for the full
        covariance of the sample-level term.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.classifiers.uncertainty_margin import UncertaintySchedule
    >>> cb = UncertaintySchedule(np.zeros((4, 2), np.float32), np.zeros((4, 1), int),
    ...     2, n_mc_samples=10, max_margin=3, refresh_interval=5, warmup_epochs=1,
    ...     sample_level_epochs=1, batch_size=4)
    >>> cb.n_mc_samples
    10
    """

    def __init__(
        self,
        X,
        y,
        n_classes,
        *,
        n_mc_samples,
        max_margin,
        refresh_interval,
        warmup_epochs,
        sample_level_epochs,
        batch_size,
        margin_source="uncertainty",
        margin_map="ratio",
        freeze_margins=False,
        softmax_weight_start=None,
        softmax_weight_end=0.0,
        sample_covariance="diagonal",
    ):
        self.X = X
        self.y = y
        self.n_classes = n_classes
        self.n_mc_samples = n_mc_samples
        self.max_margin = max_margin
        self.refresh_interval = refresh_interval
        self.warmup_epochs = warmup_epochs
        self.sample_level_epochs = sample_level_epochs
        self.batch_size = batch_size
        self.margin_source = margin_source
        self.margin_map = margin_map
        self.freeze_margins = freeze_margins
        self.softmax_weight_start = softmax_weight_start
        self.softmax_weight_end = softmax_weight_end
        self.sample_covariance = sample_covariance

    def initialize(self):
        self.last_refresh_ = None
        self.stage_ = "softmax"
        self.class_uncertainty_ = None
        self.train_index_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        net.criterion_.bind(net.module_.head)
        net.criterion_.stage = "softmax"

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        epoch = len(net.history)
        if isinstance(dataset_train, Subset):
            self.train_index_ = np.asarray(dataset_train.indices)
        stage = curriculum_stage(
            epoch, net.max_epochs, self.warmup_epochs, self.sample_level_epochs
        )
        refresh = stage != "softmax" and (
            self.last_refresh_ is None
            or epoch - self.last_refresh_ >= self.refresh_interval
            or (stage == "sample" and self.stage_ != "sample")
        )
        self.stage_ = stage
        net.criterion_.stage = stage
        if self.softmax_weight_start is not None:
            net.criterion_.softmax_weight = annealed_softmax_weight(
                epoch,
                net.max_epochs,
                self.warmup_epochs,
                self.sample_level_epochs,
                self.softmax_weight_start,
                self.softmax_weight_end,
            )
            net.history.record("softmax_weight", net.criterion_.softmax_weight)
        if refresh:
            self.refresh(net)
            self.last_refresh_ = epoch
            net.history.record(
                "class_uncertainty", self.class_uncertainty_.squeeze(0).tolist()
            )
            net.history.record(
                "class_margins", net.criterion_.margins.squeeze(0).tolist()
            )

    def refresh(self, net):
        """Run the MC passes; set the criterion's margins and feature moments."""
        stats = mc_dropout_statistics(
            net.module_,
            torch.from_numpy(self.X),
            n_samples=self.n_mc_samples,
            batch_size=self.batch_size,
            keep_passes=self.sample_covariance == "full",
        )
        index = (
            self.train_index_
            if self.train_index_ is not None
            else np.arange(self.X.shape[0])
        )
        index_t = torch.as_tensor(index, device=stats.prob_var.device)
        u = stats.uncertainty[index_t]
        targets = torch.as_tensor(self.y[index], device=u.device)
        self.class_uncertainty_ = class_uncertainty(u, targets, self.n_classes).cpu()
        criterion = net.criterion_
        if not (self.freeze_margins and criterion.margins is not None):
            margins = uncertainty_margins(
                self.class_uncertainty_, self.max_margin, self.margin_map
            )
            if self.margin_source == "fixed":
                margins = torch.full_like(margins, int(self.max_margin))
            criterion.margins = margins.to(stats.feature_mean.device)
        spread = (
            stats.feature_deviations
            if self.sample_covariance == "full"
            else stats.feature_var
        )
        nbytes = sum(t.numel() * t.element_size() for t in (stats.feature_mean, spread))
        keep = stats.feature_mean.device.type == "cpu" or (
            nbytes <= _MAX_DEVICE_CACHE_BYTES
        )
        criterion.feature_mean = (
            stats.feature_mean if keep else stats.feature_mean.cpu()
        )
        criterion.feature_var = spread if keep else spread.cpu()

    def on_train_end(self, net, **kwargs):
        # Do not keep the training data or per-sample caches in the fitted net.
        self.X = None
        self.y = None
        net.criterion_.feature_mean = None
        net.criterion_.feature_var = None


_UM_SHARED_PARAMETERS_DOC = with_default(
    with_default(
        SHARED_PARAMETERS_DOC,
        "class_weight",
        'dict, list of dict, {"balanced", "effective_number"} or None, '
        'default="balanced"',
        """        The default, ``"balanced"`` (deferred to the end of the warm-up by
        ``class_weight_start_epoch="warmup"``, the margins then frozen by
        ``freeze_margins="auto"``), is this method's recommended setting for
        imbalanced data, chosen on the KEEL suite and the feature sets (see the
        user guide, "How it compares"). ``class_weight=None`` is the paper's
        method as published.""",
    ),
    "class_weight_start_epoch",
    'int, "warmup" or None, default="warmup"',
    """        ``"warmup"``: at ``warmup_epochs``, when the margins start, so that
        the margins are estimated on the unweighted network (0 when
        ``class_weight`` is None).""",
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
{_UM_SHARED_PARAMETERS_DOC}{TRAINING_OPTIONS_DOC}
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
    ...     sample_level_epochs=2, uncertainty_interval=2, lr=1e-2,
    ...     random_state=0)
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

    _parameter_constraints: dict = {
        **BaseDeepClassifier._parameter_constraints,
        **TRAINING_OPTION_CONSTRAINTS,
        "margin_type": [StrOptions(set(MARGIN_TYPES))],
        "max_margin": [Interval(numbers.Integral, 1, None, closed="left")],
        "margin_source": [StrOptions({"uncertainty", "fixed"})],
        "margin_map": [StrOptions(set(MARGIN_MAPS))],
        "freeze_margins": ["boolean", StrOptions({"auto"})],
        "class_weight_start_epoch": [
            None,
            Interval(numbers.Integral, 0, None, closed="left"),
            StrOptions({"warmup"}),
        ],
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
        effective_number_beta=0.999,
        class_weight_start_epoch="warmup",
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

    # ---------------------------------------------------------------- hooks
    def _class_weight_start(self):
        """``"warmup"``: the class weights start when the margins do, at
        ``warmup_epochs`` (no weights: nothing to defer)."""
        if self.class_weight_start_epoch == "warmup":
            return int(self.warmup_epochs) if self.class_weight is not None else 0
        return super()._class_weight_start()

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
