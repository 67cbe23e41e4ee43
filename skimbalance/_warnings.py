"""Warnings for settings that silently do nothing, issued once per configuration.

A setting that makes part of a method a no-op (e.g. a warm-up as long as the
whole training) deserves a warning, but not one per ``fit``: a grid search
fits each candidate once per fold, and refits, so a per-fit warning repeats
dozens of times for one mistake.

:func:`warn_once` issues a warning the first time a given ``(estimator class,
message)`` pair is seen in the process and stays silent afterwards. The
message names the offending parameters *with their values*, so the key is the
configuration of those parameters: a grid search whose candidates share the
no-op setting warns once, and candidates with different no-op values each warn
once. Keying on the instance instead would not do: scikit-learn's searches
and cross-validation fit clones, new instances every time.

Scope: one process. With ``n_jobs > 1`` every worker process (joblib's loky
workers, a Dask or Ray worker) warns once for itself. The pair is recorded
only after :func:`warnings.warn` returns, so under an ``"error"`` filter every
fit raises. :func:`reset_warned` forgets every pair (for tests).
"""

import threading
import warnings
from contextlib import contextmanager

__all__ = ["quiet", "reset_warned", "warn_once"]

_WARNED: set[tuple[str, str, type]] = set()
_LOCK = threading.Lock()


def warn_once(estimator, message, category=UserWarning, stacklevel=2):
    """Warn the first time ``message`` is issued for ``estimator``'s class.

    Parameters
    ----------
    estimator : object
        The estimator (its class, not the instance, is part of the key).
    message : str
        The warning; name the parameters and their values, and what to change.
    category : type of Warning, default=UserWarning
    stacklevel : int, default=2
        As in :func:`warnings.warn`, counted from the caller of this function.

    Returns
    -------
    bool
        Whether the warning was issued now.

    Examples
    --------
    >>> import warnings
    >>> from skimbalance._warnings import reset_warned, warn_once
    >>> class Est:
    ...     pass
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     first = warn_once(Est(), "max_epochs=3 <= warmup_epochs=5")
    ...     second = warn_once(Est(), "max_epochs=3 <= warmup_epochs=5")
    >>> first, second, len(caught)
    (True, False, 1)
    >>> reset_warned()
    """
    cls = type(estimator)
    key = (f"{cls.__module__}.{cls.__qualname__}", str(message), category)
    with _LOCK:
        if key in _WARNED:
            return False
    warnings.warn(message, category, stacklevel=stacklevel + 1)
    with _LOCK:
        _WARNED.add(key)
    return True


def reset_warned():
    """Forget every warning issued so far (each will be issued again once)."""
    with _LOCK:
        _WARNED.clear()


@contextmanager
def quiet():
    """Silence every warning in a block, and forget the pairs it recorded.

    For work that re-runs a fit's setup without fitting (rebuilding a loaded
    model's network): the setup's warnings were issued when the model was
    fitted, and must neither show again nor count as issued in this process.

    Examples
    --------
    >>> import warnings
    >>> from skimbalance._warnings import quiet, warn_once
    >>> class Est:
    ...     pass
    >>> with quiet():
    ...     warn_once(Est(), "silenced")
    True
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_once(Est(), "silenced")
    True
    >>> len(caught)
    1
    >>> reset_warned()
    """
    with _LOCK:
        before = set(_WARNED)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        with _LOCK:
            _WARNED.intersection_update(before)
