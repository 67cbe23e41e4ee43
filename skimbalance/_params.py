"""Parameter objects: ``get_params`` / ``set_params`` without scikit-learn.

A loss or a class-weight scheme given to an estimator as ``loss=FocalLoss(gamma=1.0)`` is one of the
estimator's parameters: scikit-learn's ``clone``, ``get_params(deep=True)``
(``loss__gamma``) and ``GridSearchCV`` read it through these two methods, as
they read a nested estimator's. The losses stay pure PyTorch: this mixin only
looks at the constructor's signature.
"""

import inspect
import math
import numbers


class ParamsMixin:
    """Mixin: the constructor's keyword parameters as ``get_params``.

    ``class_counts`` is not a parameter: it is the training set's, which an
    estimator binds at ``fit`` (a loss's ``with_class_counts``).
    """

    #: Whether the object (a loss, a class weighting) already targets the
    #: balanced error: then the estimators' ``prior_correction="auto"``
    #: corrects nothing.
    rebalances = False

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(
            name
            for name, p in signature.parameters.items()
            if name not in ("self", "class_counts")
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )

    def get_params(self, deep=True):
        """The loss's parameters, ``{name: value}`` (``deep`` is ignored)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters; returns ``self``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; valid "
                    f"parameters: {', '.join(valid) or 'none'}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        shown = ", ".join(
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not (name in defaults and _same(defaults[name], value))
        )
        return f"{type(self).__name__}({shown})"


def _same(default, value):
    try:
        return bool(default == value) and type(default) is type(value)
    except Exception:  # e.g. arrays
        return False


def check_number(obj, name, low, *, low_inclusive=True, high=None):
    """``getattr(obj, name)`` as a float, or a ValueError naming ``obj`` and ``name``.

    The value must be a finite real number ``>= low`` (``> low`` when
    ``low_inclusive`` is False) and, when ``high`` is given, ``< high``.

    Examples
    --------
    >>> from skimbalance.losses import FocalLoss
    >>> from skimbalance._params import check_number
    >>> check_number(FocalLoss(gamma=-1.0), "gamma", 0)
    Traceback (most recent call last):
    ...
    ValueError: FocalLoss(gamma=-1.0): gamma must be a finite number >= 0; got -1.0.
    """
    value = getattr(obj, name)
    bound = f">= {low}" if low_inclusive else f"> {low}"
    if high is not None:
        bound += f" and < {high}"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value >= low if low_inclusive else value > low)
        ok = ok and (high is None or value < high)
    if not ok:
        raise ValueError(
            f"{obj!r}: {name} must be a finite number {bound}; got {value!r}."
        )
    return value


def unbound_message(loss):
    """The error of a loss computed before it was given the class counts."""
    return (
        f"{loss!r} has no class counts: pass class_counts= when you build it, or "
        "give it to an estimator (loss=...), which binds it to its training set at "
        "fit."
    )
