"""The long-tail training recipes as estimator options: ``max_norm`` and ``sampling``.

:class:`RecipeOptionsMixin` gives an estimator the parameters' constraints
and the skorch pieces they need in a fit (a callback, the net's training
sampler); each estimator says where a recipe does not apply to it.
"""

import numbers

from sklearn.utils._param_validation import Interval
from skorch.callbacks import Callback

from ..heads.decoupling import project_max_norm_
from ..modules import TaskLinear
from .uncertainty_margin import MarginHead

#: Constraints of the recipe options, merged into an estimator's.
RECIPE_CONSTRAINTS = {
    "max_norm": [None, Interval(numbers.Real, 0, None, closed="neither")],
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


class RecipeOptionsMixin:
    """``max_norm`` as an estimator option.

    The estimator stores ``max_norm`` in ``__init__`` and merges
    :data:`RECIPE_CONSTRAINTS`; :meth:`_max_norm_refusal` says, for its
    current parameters, why MaxNorm does not apply (None where it does).
    """

    def _max_norm_refusal(self):
        return None

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
        return callbacks
