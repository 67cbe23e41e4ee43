"""Training plumbing of :class:`~skimbalance.UncertaintyMarginClassifier`:
the margin head, the criterion and the curriculum callback (MC-dropout
refreshes of the class margins and of the per-sample feature moments)."""

import math

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import Subset

from .._arrays import rows_as_tensor
from ..losses.large_margin import plain_logits
from ..losses.uncertainty_margin import (
    misclassification_probability,
    uncertainty_margin_loss,
)
from ..uncertainty.class_margins import (
    class_uncertainty,
    uncertainty_margins,
)
from ..uncertainty.mc_dropout import mc_dropout_statistics

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
    >>> from skimbalance.training.uncertainty_margin import MarginHead
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
    >>> from skimbalance.training.uncertainty_margin import (
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
        prob = None
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
            # computed once: logged, and used by the loss (with its gradient)
            with torch.set_grad_enabled(
                torch.is_grad_enabled() and bool(self.sample_margin)
            ):
                prob = misclassification_probability(
                    stats[0],
                    stats[1],
                    weight,
                    y_true,
                    margin_type=self.margin_type,
                    covariance=covariance,
                )
            logs["misclassification_probability"] = float(prob.detach().mean())
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
            misclassification=prob,
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
    >>> from skimbalance.training.uncertainty_margin import curriculum_stage
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
    >>> from skimbalance.training.uncertainty_margin import annealed_softmax_weight
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
    the training samples and, in the sample-level stage, caches every
    sample's feature mean and variance for the sample-level term (the passes
    are streamed over chunks, so the memory is that of the cache). Records
    ``class_uncertainty`` and ``class_margins`` in the epoch's history row.

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
    >>> from skimbalance.training.uncertainty_margin import UncertaintySchedule
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
        """Run the MC passes; set the criterion's margins and feature moments.

        The passes are streamed over chunks of ``batch_size`` samples
        (:func:`~skimbalance.uncertainty.mc_dropout.mc_dropout_statistics`).
        What is kept per training sample is what the criterion reads: its
        predictive uncertainty (reduced at once to the class uncertainties)
        and, for the sample-level stage only, its feature mean and variance
        (``2 D`` float32 numbers, the variance in float64 only where it
        exceeds float32's range; ``(N + 1) D`` with
        ``sample_covariance="full"``).
        The previous refresh's feature moments are released first, so two sets
        are never held at once. The masks drawn are the same in every stage.
        """
        criterion = net.criterion_
        criterion.feature_mean = None
        criterion.feature_var = None
        sample_stage = getattr(self, "stage_", "sample") == "sample"
        full = self.sample_covariance == "full"
        stats = mc_dropout_statistics(
            net.module_,
            rows_as_tensor(self.X),
            n_samples=self.n_mc_samples,
            batch_size=self.batch_size,
            keep_passes=full and sample_stage,
            feature_moments=sample_stage,
            compact_variance=True,  # the criterion widens it to float64
        )
        index = (
            self.train_index_
            if self.train_index_ is not None
            else np.arange(self.X.shape[0])
        )
        device = stats.prob_var.device
        index_t = torch.as_tensor(index, device=device)
        u = stats.uncertainty[index_t]
        targets = torch.as_tensor(self.y[index], device=u.device)
        self.class_uncertainty_ = class_uncertainty(u, targets, self.n_classes).cpu()
        if not (self.freeze_margins and criterion.margins is not None):
            margins = uncertainty_margins(
                self.class_uncertainty_, self.max_margin, self.margin_map
            )
            if self.margin_source == "fixed":
                margins = torch.full_like(margins, int(self.max_margin))
            criterion.margins = margins.to(device)
        if not sample_stage:  # the class-level stage reads no feature moments
            return
        spread = stats.feature_deviations if full else stats.feature_var
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
