"""The cache of finished runs: one JSON line per (profile, experiment, method,
seed, fold), so an interrupted benchmark resumes where it stopped.

Each line carries a ``config`` fingerprint of everything that shapes the run
(the experiment's data settings, the network settings, the row): a run whose
settings changed since it was cached is run again instead of being reused.
Lines are appended and flushed one at a time; a line cut short by an
interruption is ignored when the cache is read back.
"""

import hashlib
import json
import os
from pathlib import Path


def config_fingerprint(settings):
    """A short, stable hash of a JSON-serialisable ``settings`` object."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


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
        if resume and self.path.is_file():
            with self.path.open() as f:
                for line in f:
                    try:
                        record = json.loads(line)
                        self._runs[run_key(record)] = record
                    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                        continue  # a line cut short by an interruption
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
        """Store a finished run (appended to the file and flushed to disk)."""
        self._runs[run_key(record)] = record
        with self.path.open("a") as f:
            f.write(json.dumps(record, default=float) + "\n")
            f.flush()
            os.fsync(f.fileno())
