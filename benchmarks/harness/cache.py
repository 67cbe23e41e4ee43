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
    """
    return {
        name: _simple_value(value)
        for name, value in sorted(estimator.get_params(deep=True).items())
        if not name.endswith("random_state")
    }


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
