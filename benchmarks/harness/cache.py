"""The cache of finished runs: one JSON line per (profile, experiment, method,
seed, fold), so an interrupted benchmark resumes where it stopped.

Each line carries a ``config`` fingerprint of everything that shapes the run
(the experiment's data settings, the network settings, the row): a run whose
settings changed since it was cached is run again instead of being reused.
Lines are appended and flushed one at a time. Reading is tolerant: a line cut
short by an interruption, or one that does not decode (a stray non-UTF-8 byte,
a disk error), is skipped with a warning that names the file and the line
numbers, and its run is computed again.

Only what a re-run would reproduce is cached. A run that failed for a reason
of the moment rather than of the method -- out of memory on the host or on the
GPU, an interruption (see :func:`is_transient_error`) -- is reported in the
invocation that met it but never stored, so the next invocation tries it again;
such records in a cache written by an older harness are ignored on reading.
"""

import hashlib
import json
import os
import warnings
from pathlib import Path

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from skimbalance.class_weight import EffectiveNumberWeights
from skimbalance.training.ce_term import resolve_loss

#: Exception class names of failures that say nothing about the method.
TRANSIENT_ERRORS = (
    "MemoryError",
    "OutOfMemoryError",  # torch.cuda.OutOfMemoryError (and torch.OutOfMemoryError)
    "KeyboardInterrupt",
)

#: Fragments of the messages of transient failures torch raises as RuntimeError.
TRANSIENT_MESSAGES = (
    "out of memory",
    "can't allocate memory",
    "CUDA error",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_ALLOC_FAILED",
)


def is_transient_error(error):
    """Whether a run's failure is of the moment, not of the method.

    Parameters
    ----------
    error : BaseException or str
        The exception, or the ``"ClassName: message"`` text a run record keeps.

    Returns
    -------
    transient : bool
        True for out-of-memory errors (host or CUDA), CUDA runtime errors and
        interruptions: a re-run may well succeed, so such a run is not cached.

    Examples
    --------
    >>> is_transient_error(MemoryError("bad_alloc"))
    True
    >>> is_transient_error("RuntimeError: CUDA out of memory. Tried to allocate 2 GiB")
    True
    >>> is_transient_error("ValueError: Expected n_neighbors <= n_samples")
    False
    """
    if isinstance(error, BaseException):
        names = {cls.__name__ for cls in type(error).__mro__}
        text = str(error)
    else:
        name, _, text = str(error).partition(": ")
        names = {name}
    if names & set(TRANSIENT_ERRORS):
        return True
    return any(fragment in text for fragment in TRANSIENT_MESSAGES)


def read_json_lines(path, what="cache"):
    """The JSON objects of the lines of ``path`` that decode, in order.

    Lines that are not valid UTF-8 or not a JSON object are skipped, and a
    :class:`UserWarning` names the file and their line numbers.
    """
    path = Path(path)
    records, bad = [], []
    if not path.is_file():
        return records
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            bad.append(number)
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad.append(number)
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        warnings.warn(
            f"{path}: skipped {len(bad)} unreadable line(s) of the {what} "
            f"(line {shown}); their runs are computed again",
            stacklevel=2,
        )
    return records


def config_fingerprint(settings):
    """A short, stable hash of a JSON-serialisable ``settings`` object."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


_SIMPLE = (str, int, float, bool, type(None))


def _simple_value(value):
    if isinstance(value, _SIMPLE):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, _SIMPLE) for v in value):
        return list(value)
    if isinstance(value, dict) and all(
        isinstance(k, _SIMPLE) and isinstance(v, _SIMPLE) for k, v in value.items()
    ):
        return {str(k): v for k, v in value.items()}
    return type(value).__qualname__  # an estimator, a module, a callable


def estimator_signature(estimator):
    """The settings of an unfitted estimator or pipeline that shape its runs.

    Every parameter of ``get_params(deep=True)`` but the seeds, objects by
    their type's name: part of a run's cache fingerprint, so that a changed
    default of an estimator makes its cached runs stale instead of reused.
    The library's estimators are described by the names their parameters had
    when the committed caches were written (:func:`legacy_parameters`), so
    that a rename keeps the cached runs of the same training.
    """
    params = estimator.get_params(deep=True)
    own = {"": estimator} | {f"{name}__": value for name, value in params.items()}
    for prefix, obj in own.items():
        if isinstance(obj, _RENAMED):
            # The objects' own parameters (``loss__gamma``) are in the legacy
            # names of the estimator's.
            nested = (f"{prefix}loss__", f"{prefix}class_weight__")
            params = {k: v for k, v in params.items() if not k.startswith(nested)}
            legacy = legacy_parameters(obj)
            for name in _ADDED_DEFAULTS.keys() - legacy.keys():
                params.pop(prefix + name, None)
            params.update({prefix + k: v for k, v in legacy.items()})
    return {
        name: _simple_value(value)
        for name, value in sorted(params.items())
        if not name.endswith("random_state")
    }


#: The flat parameters of the cross-entropy term's losses before ``loss``
#: took objects, with their defaults, and the loss object each belonged to.
_LEGACY_LOSS_PARAMETERS = {
    "focal_gamma": ("FocalLoss", "gamma", 2.0),
    "logit_adjustment_tau": ("LogitAdjustedLoss", "tau", 1.0),
    "ldam_max_margin": ("LDAMLoss", "max_margin", 0.5),
    "ldam_scale": ("LDAMLoss", "scale", 30.0),
}
_LEGACY_LOSS_NAMES = {
    "WeightedCrossEntropy": "cross_entropy",
    "FocalLoss": "focal",
    "LogitAdjustedLoss": "logit_adjusted",
    "LDAMLoss": "ldam",
}


def legacy_parameters(estimator):
    """``estimator.get_params(deep=False)`` under the names the caches use.

    The rebalancing parameters were renamed once; a run cached under the old
    names trained the same network as the new names now describe:

    - ``loss`` (a string or a loss object) is the loss's name with the flat
      ``focal_gamma``, ``logit_adjustment_tau``, ``ldam_max_margin`` and
      ``ldam_scale`` beside it (their defaults where the loss has none);
    - ``class_weight=EffectiveNumberWeights(beta)`` is
      ``class_weight="effective_number"`` with ``effective_number_beta``
      (0.999 for every other ``class_weight``);
    - the uncertainty margin's ``class_weight_start_epoch`` equal to its
      ``warmup_epochs`` is the old ``"warmup"``, and so is its default, 10,
      with ``class_weight=None`` (where neither defers anything). The rows
      that spelled the start as an integer equal to ``warmup_epochs`` (the
      ``defaults`` profile's deferred-weights candidate, four rows of
      ``um_options``) got new keys: their cached runs are computed again.

    Parameters added since, at their defaults (:data:`_ADDED_DEFAULTS`), are
    left out: they train and predict as before they existed.

    A loss object outside the library keeps its type's name.
    """
    params = dict(estimator.get_params(deep=False))
    for name, default in _ADDED_DEFAULTS.items():
        if name in params and _is_default(params[name], default):
            del params[name]
    if "loss" in params:
        loss = resolve_loss(params["loss"])
        kind = type(loss).__name__
        params["loss"] = _LEGACY_LOSS_NAMES.get(kind, kind)
        for old, (owner, name, default) in _LEGACY_LOSS_PARAMETERS.items():
            params[old] = getattr(loss, name) if kind == owner else default
    weights = params.get("class_weight")
    if isinstance(weights, EffectiveNumberWeights):
        params["class_weight"] = "effective_number"
        params["effective_number_beta"] = weights.beta
    else:
        params["effective_number_beta"] = 0.999
    if isinstance(estimator, UncertaintyMarginClassifier):
        start = params["class_weight_start_epoch"]
        if start == params["warmup_epochs"] or (
            weights is None and start == _OLD_DEFAULT_START
        ):
            params["class_weight_start_epoch"] = "warmup"
    return params


#: Parameters added to the estimators after the caches were first keyed, and
#: the default at which each one changes nothing.
_ADDED_DEFAULTS = {
    "target_prior": "uniform",
    "head_retraining": None,
    "head_retraining_epochs": 10,
    "tau_normalization": 0.0,
}


def _is_default(value, default):
    """Whether a parameter's value is its default (compared by type and value:
    an array is never a string default, ``True`` is not ``1``)."""
    return type(value) is type(default) and value == default


#: The classes whose parameters were renamed (the library's four estimators).
_RENAMED = (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
#: The uncertainty margin's ``class_weight_start_epoch`` default that took the
#: place of ``"warmup"`` (with ``class_weight=None`` both defer nothing).
_OLD_DEFAULT_START = 10


def run_key(record):
    """The identity of a run in the cache."""
    return (
        record["profile"],
        record["experiment"],
        record["method"],
        int(record["seed"]),
        int(record["fold"]),
        record["config"],
    )


class RunCache:
    """Finished runs stored as JSON lines in ``path``.

    Parameters
    ----------
    path : path-like
        The JSON-lines file (created with its folder when missing).
    resume : bool, default=True
        Read the runs already in the file; ``False`` starts a new, empty file.
    """

    def __init__(self, path, resume=True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._runs = {}
        self.skipped = 0  # records that decode but cannot be used
        if resume and self.path.is_file():
            for record in read_json_lines(self.path):
                try:
                    key = run_key(record)
                except (KeyError, TypeError, ValueError):
                    self.skipped += 1
                    continue
                if is_transient_error(record.get("error") or ""):
                    self.skipped += 1  # an older harness cached it: run it again
                    continue
                self._runs[key] = record
        else:
            self.path.write_text("")
        # A line cut short has no newline: start the next line on a fresh one.
        if self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n"):
            with self.path.open("a") as f:
                f.write("\n")

    def __len__(self):
        return len(self._runs)

    def __contains__(self, key):
        return key in self._runs

    def get(self, key):
        """The cached record of ``key``, or None."""
        return self._runs.get(key)

    def add(self, record):
        """Store a finished run (appended to the file and flushed to disk).

        A run that failed transiently (see :func:`is_transient_error`) is not
        stored: returns False; otherwise True.
        """
        if is_transient_error(record.get("error") or ""):
            return False
        self._runs[run_key(record)] = record
        with self.path.open("a") as f:
            f.write(json.dumps(record, default=float) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return True
