"""The long-tail training recipes as estimator options: ``max_norm`` and ``sampling``.

:class:`RecipeOptionsMixin` gives an estimator the parameters' constraints
and the skorch pieces they need in a fit (a callback, the net's training
sampler); each estimator says where a recipe does not apply to it.
"""

import numbers

from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback

from ..heads.decoupling import project_max_norm_
from ..modules import TaskLinear
from ..samplers.class_balanced import SAMPLING_STRATEGIES, ClassBalancedBatchSampler
from .uncertainty_margin import MarginHead

#: Constraints of the recipe options, merged into an estimator's.
RECIPE_CONSTRAINTS = {
    "max_norm": [None, Interval(numbers.Real, 0, None, closed="neither")],
    "sampling": [StrOptions(set(SAMPLING_STRATEGIES))],
}


def class_vectors(head):
    """``(weight, dim)``: the class vectors of a linear head and their feature
    axis, or None for a head whose class vectors are not free (a cosine head).

    :class:`~skimbalance.modules.TaskLinear` holds ``(T, D, C)`` (``dim=-2``);
    the uncertainty margin's :class:`MarginHead` ``(T, C, D)`` (``dim=-1``).

    Examples
    --------
    >>> from skimbalance.modules import TaskLinear
    >>> from skimbalance.training.recipes import class_vectors
    >>> weight, dim = class_vectors(TaskLinear(1, 4, 3))
    >>> tuple(weight.shape), dim
    ((1, 4, 3), -2)
    """
    if isinstance(head, TaskLinear):
        return head.weight, -2
    if isinstance(head, MarginHead):
        return head.weight, -1
    return None


class MaxNormProjection(Callback):
    """MaxNorm (Alshammari et al., CVPR 2022): after every optimizer step,
    project each class vector of the network's head onto the ball of radius
    ``max_norm`` (:func:`~skimbalance.heads.decoupling.project_max_norm_`).

    Parameters
    ----------
    max_norm : float
        The radius ``δ``, ``> 0``.
    """

    def __init__(self, max_norm):
        self.max_norm = max_norm

    def on_train_begin(self, net, **kwargs):
        if class_vectors(net.module_.head) is None:
            raise ValueError(
                f"max_norm={self.max_norm} needs a linear classifier head; the "
                f"network's head is a {type(net.module_.head).__name__}."
            )

    def on_batch_end(self, net, training=False, **kwargs):
        if training:  # after the optimizer's step
            weight, dim = class_vectors(net.module_.head)
            project_max_norm_(weight, self.max_norm, dim=dim)


class ClassBalancedBatches:
    """The training sampler of a fit: a factory of
    :class:`~skimbalance.samplers.class_balanced.ClassBalancedBatchSampler`
    over the labels of the training rows (first task).

    Parameters
    ----------
    batch_size : int
    sampling : {"class_balanced", "square_root", "progressive", "instance"}
    n_epochs : int
        ``T`` of progressive sampling (the fit's ``max_epochs``).
    min_per_class, min_classes : int
        The sampler's guarantee per batch (CRL: 2 samples of 1 class).
    seed : int
        Seed of the sampler's generator.
    """

    def __init__(
        self, batch_size, sampling, n_epochs, min_per_class, min_classes, seed
    ):
        self.batch_size = batch_size
        self.sampling = sampling
        self.n_epochs = n_epochs
        self.min_per_class = min_per_class
        self.min_classes = min_classes
        self.seed = seed

    def __call__(self, labels):
        return ClassBalancedBatchSampler(
            labels[:, 0],
            self.batch_size,
            sampling=self.sampling,
            n_epochs=self.n_epochs,
            min_per_class=self.min_per_class,
            min_classes=self.min_classes,
            generator=self.seed,
        )


class SamplerEpoch(Callback):
    """Tell the net's training sampler the epoch it draws (``set_epoch``): ``t``
    of progressive sampling, counted from 0 in every fit."""

    def on_train_begin(self, net, **kwargs):
        self.start_ = len(net.history)

    def on_epoch_begin(self, net, **kwargs):
        sampler = getattr(net, "train_batch_sampler_", None)
        if sampler is not None:
            sampler.set_epoch(len(net.history) - 1 - self.start_)


class RecipeOptionsMixin:
    """``max_norm`` and ``sampling`` as estimator options.

    The estimator stores ``max_norm`` and ``sampling`` in ``__init__`` and
    merges :data:`RECIPE_CONSTRAINTS`; :meth:`_max_norm_refusal` says, for
    its current parameters, why MaxNorm does not apply (None where it does),
    and :attr:`_sampling_min_per_class` how many samples of a class every
    batch must hold for the method (CRL's hard mining: 2).
    """

    _sampling_min_per_class = 0

    def _max_norm_refusal(self):
        return None

    def _net_kwargs(self, ctx):
        kwargs = dict(super()._net_kwargs(ctx))
        if self.sampling == "instance":
            return kwargs  # the plain shuffled epoch: every row once
        if ctx.n_tasks > 1:
            raise ValueError(
                f"sampling={self.sampling!r} draws a class and then one of its "
                "samples, which is not defined for a multi-label target (a "
                "sample holds several labels at once, so drawing it for one "
                "label changes the frequency of the others). Use "
                "sampling='instance' (or class_weight) for multi-label data."
            )
        kwargs["train_sampler_factory"] = ClassBalancedBatches(
            int(self.batch_size),
            self.sampling,
            int(self.max_epochs),
            self._sampling_min_per_class,
            1,
            int(ctx.seed),
        )
        return kwargs

    def _recipe_callbacks(self, ctx):
        callbacks = []
        if self.max_norm is not None:
            reason = self._max_norm_refusal()
            if reason is not None:
                raise ValueError(
                    f"max_norm={self.max_norm!r} projects the class vectors of a "
                    f"linear classifier head, but {reason} Leave max_norm=None."
                )
            callbacks.append(("max_norm", MaxNormProjection(float(self.max_norm))))
        if self.sampling != "instance":
            callbacks.append(("sampler_epoch", SamplerEpoch()))
        return callbacks
