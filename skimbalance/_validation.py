"""Validation and seeding helpers of the shared base (private).

What :class:`skimbalance.base.BaseDeepClassifier` checks before it builds a
network: parameter constraints scikit-learn has no ready-made form for (layer
widths, shapes, torch devices), the values of ``class_weight`` and
``sample_weight`` and their overflow-free normalisation, and the seed of a fit.
"""

import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Options

# Device types an estimator may train on ("auto" picks one of them).
_DEVICE_TYPES = ("cpu", "cuda", "mps")


# scikit-learn's ``make_constraint`` accepts only its own constraint classes, so
# the two constraints below subclass ``Options`` (a constraint on values) and
# override its test and its message.


class PositiveIntSequence(Options):
    """A parameter constraint: a tuple or list of integers ``>= 1``.

    Parameters
    ----------
    allow_empty : bool
        Whether the empty sequence is valid.
    what : str
        What the entries are, for the error message.
    """

    def __init__(self, *, allow_empty, what):
        super().__init__(tuple, set())
        self.allow_empty = allow_empty
        self.what = what

    def is_satisfied_by(self, val):
        if isinstance(val, np.ndarray):
            val = val.tolist() if val.ndim == 1 else None
        if not isinstance(val, (tuple, list)):
            return False
        if not val and not self.allow_empty:
            return False
        return all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
            for v in val
        )

    def __str__(self):
        empty = "a possibly empty" if self.allow_empty else "a non-empty"
        return f"{empty} tuple or list of integers >= 1 ({self.what})"


class TorchDevice(Options):
    """A parameter constraint: ``"auto"`` or a torch device on cpu, cuda[:n] or mps.

    A string must parse with :class:`torch.device`; a ``torch.device`` is
    accepted as it is. Whether CUDA is available is checked at ``fit``.
    """

    def __init__(self):
        super().__init__(str, {"auto"})

    def is_satisfied_by(self, val):
        if isinstance(val, str) and val == "auto":
            return True
        if not isinstance(val, (str, torch.device)):
            return False
        try:
            device = torch.device(val)
        except (RuntimeError, TypeError, ValueError):
            return False
        return device.type in _DEVICE_TYPES

    def __str__(self):
        return (
            "'auto' or a torch device string of type cpu, cuda (e.g. 'cuda:1') or mps"
        )


def check_weight_values(values, name):
    """Raise a ValueError naming the first NaN, infinite or negative weight.

    Parameters
    ----------
    values : dict
        Maps a key (shown in the message, e.g. ``"class_weight[0]"``) to a
        weight.
    name : str
        The parameter, for the message.
    """
    for key, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{key} is {value!r}, not a number; {name} values must be finite, "
                "non-negative numbers."
            ) from None
        if np.isnan(number):
            raise ValueError(
                f"{key} is NaN; {name} values must be finite and non-negative."
            )
        if not np.isfinite(number):
            raise ValueError(
                f"{key} is {number}; {name} values must be finite and non-negative."
            )
        if number < 0:
            raise ValueError(
                f"{key} is {number}, a negative weight; {name} values must be finite "
                "and non-negative."
            )


def _scaled_to_max(weight):
    largest = weight.max() if weight.size else 0.0
    return weight / largest if largest > 0 else weight


def normalized_weights(sample_weight, class_weight):
    """Per-sample weights ``sample_weight * class_weight`` scaled to mean 1.

    Each factor is divided by its largest value before the product and the
    product by its own before the mean, so no step can overflow however large
    the weights are (``1e308`` included): equal weights of any size give
    exactly 1.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,), float64
        Finite, non-negative sample weights.
    class_weight : ndarray of shape (n_samples, n_tasks), float64
        Finite, non-negative class weight of each sample in each task.

    Returns
    -------
    ndarray of shape (n_samples, n_tasks), float32, with mean 1

    Raises
    ------
    ValueError
        If every product is 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance._validation import normalized_weights
    >>> normalized_weights(np.full(3, 1e308), np.ones((3, 1))).ravel().tolist()
    [1.0, 1.0, 1.0]
    """
    weight = _scaled_to_max(sample_weight)[:, None] * _scaled_to_max(class_weight)
    weight = _scaled_to_max(weight)
    if not weight.size or not weight.max() > 0:
        raise ValueError(
            "The sample weights (times class weights) sum to zero: at least one "
            "training sample needs a positive weight."
        )
    return (weight / weight.mean()).astype(np.float32)


def fit_seed(random_state):
    """The int32 seed of one fit, without touching numpy's global random state.

    An int or a ``RandomState`` instance is used as scikit-learn does (an
    instance advances); ``None`` draws the seed from a fresh, OS-seeded
    :func:`numpy.random.default_rng`, so the caller's global ``np.random``
    stream is left as it was.
    """
    high = np.iinfo(np.int32).max
    if random_state is None:
        return int(np.random.default_rng().integers(high))
    return int(check_random_state(random_state).randint(high))
