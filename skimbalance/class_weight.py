"""Class-weight schemes and the split of deferred re-weighting (DRW).

``class_weight="balanced"``, ``"effective_number"`` and
:class:`EffectiveNumberWeights` of every estimator are computed here from the
training-set class counts; ``class_weight_start_epoch`` defers them with the
split of :func:`deferred_weights` (applied in training by
:class:`skimbalance.training.deferred_reweighting.DeferredReweighting`).
"""

import numpy as np

from ._params import ParamsMixin, check_number

CLASS_WEIGHT_SCHEMES = ("balanced", "effective_number")


def balanced_class_weights(class_counts):
    """``n / (n_classes * n_j)`` per task, as scikit-learn's ``"balanced"``.

    Parameters
    ----------
    class_counts : array-like of shape (T, C)
        Training-set count of each class of each task.

    Returns
    -------
    weights : ndarray of shape (T, C)
        A class without training samples gets weight 1.

    Examples
    --------
    >>> from skimbalance.class_weight import balanced_class_weights
    >>> balanced_class_weights([[6, 2]]).tolist()
    [[0.6666666666666666, 2.0]]
    """
    counts = np.asarray(class_counts)
    n_samples = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        weights = n_samples / (counts.shape[1] * counts.astype(float))
    return np.where(counts > 0, weights, 1.0)


def effective_number_class_weights(class_counts, beta=0.999):
    """Class-balanced weights from the effective number of samples (Cui et al., 2019).

    The effective number of ``n_j`` samples is ``(1 - beta ** n_j) / (1 -
    beta)``; class ``j`` gets a weight proportional to its inverse,
    ``(1 - beta) / (1 - beta ** n_j)``, normalised as ``"balanced"`` is: the
    weights average 1 over the training samples of each task,
    ``sum_j n_j w_j = n``. ``beta = 0`` gives uniform weights, ``beta -> 1``
    the ``"balanced"`` weights.

    Parameters
    ----------
    class_counts : array-like of shape (T, C)
        Training-set count of each class of each task.
    beta : float, default=0.999
        Hyper-parameter in ``[0, 1)``; Cui et al. use 0.9, 0.99, 0.999 or 0.9999.

    Returns
    -------
    weights : ndarray of shape (T, C)
        A class without training samples gets weight 1.

    References
    ----------
    .. [1] Y. Cui, M. Jia, T.-Y. Lin, Y. Song and S. Belongie, "Class-Balanced
       Loss Based on Effective Number of Samples", CVPR 2019, Eq. 3 and 5.

    Examples
    --------
    >>> from skimbalance.class_weight import effective_number_class_weights
    >>> effective_number_class_weights([[6, 2]], beta=0.0).tolist()
    [[1.0, 1.0]]
    >>> effective_number_class_weights([[6, 2]], beta=0.5).round(4).tolist()
    [[0.9275, 1.2174]]
    """
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}.")
    counts = np.asarray(class_counts).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = (1.0 - beta) / -np.expm1(counts * np.log(beta) if beta > 0 else -np.inf)
    raw = np.where(counts > 0, raw, 0.0)
    total = counts.sum(axis=1, keepdims=True)
    weights = raw * total / (counts * raw).sum(axis=1, keepdims=True)
    return np.where(counts > 0, weights, 1.0)


def deferred_weights(sample_weight, y, class_weights):
    """Split the training weights into their deferred and their class-weight parts.

    The estimators train with ``w[i, t] = s[i] * c[t, y[i, t]]`` normalised to
    mean 1. With deferred re-weighting the first epochs use the sample
    weights alone, ``s[i] / mean(s)``; from the start epoch on every term is
    multiplied by ``table[t, y[i, t]]``, which gives back exactly the
    normalised ``w``.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,)
    y : ndarray of shape (n_samples, T)
        Encoded targets.
    class_weights : ndarray of shape (T, C)

    Returns
    -------
    early : ndarray of shape (n_samples, T), float32
        The weights of the epochs before the start epoch.
    table : ndarray of shape (T, C), float32
        The factor of each class of each task from the start epoch on.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.class_weight import deferred_weights
    >>> early, table = deferred_weights(np.ones(4), np.array([[0], [0], [0], [1]]),
    ...                                 np.array([[1.0, 3.0]]))
    >>> early.ravel().tolist(), table.tolist()
    ([1.0, 1.0, 1.0, 1.0], [[0.6666666865348816, 2.0]])
    """
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    n_tasks = y.shape[1]
    full = sample_weight[:, None] * np.take_along_axis(class_weights.T, y, axis=0)
    early = np.repeat(sample_weight[:, None], n_tasks, axis=1)
    if not early.sum() > 0:
        raise ValueError("The sample weights sum to zero.")
    table = class_weights * early.mean() / full.mean()
    return (early / early.mean()).astype(np.float32), table.astype(np.float32)


class EffectiveNumberWeights(ParamsMixin):
    """``class_weight`` of Cui et al. (2019) with a chosen ``beta``.

    ``class_weight="effective_number"`` is ``EffectiveNumberWeights()``
    (``beta=0.999``); give an instance to choose ``beta``, e.g.
    ``CrossEntropyClassifier(class_weight=EffectiveNumberWeights(beta=0.99))``
    (tuned in a search as ``class_weight__beta``). The weights are
    :func:`effective_number_class_weights` of the training set.

    Parameters
    ----------
    beta : float, default=0.999
        Hyper-parameter in ``[0, 1)``: 0 gives uniform weights, values near 1
        approach ``"balanced"``.

    References
    ----------
    .. [1] Y. Cui, M. Jia, T.-Y. Lin, Y. Song and S. Belongie, "Class-Balanced
       Loss Based on Effective Number of Samples", CVPR 2019.

    Examples
    --------
    >>> from skimbalance.class_weight import EffectiveNumberWeights
    >>> EffectiveNumberWeights(beta=0.5).weights([[6, 2]]).round(4).tolist()
    [[0.9275, 1.2174]]
    >>> EffectiveNumberWeights(beta=0.5)
    EffectiveNumberWeights(beta=0.5)
    """

    def __init__(self, beta=0.999):
        self.beta = beta

    def weights(self, class_counts):
        """Per-task, per-class weights ``(T, C)`` of ``class_counts``."""
        beta = check_number(self, "beta", 0, high=1)
        return effective_number_class_weights(class_counts, beta)
