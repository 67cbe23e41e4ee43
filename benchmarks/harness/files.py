"""Atomic writes of the harness's outputs.

A benchmark killed while it writes its report must not leave a half-written
``summary.md`` (or no ``summary.md`` at all) in place of the previous one: every
output is written to a temporary file in the same folder, flushed to disk, and
moved over its destination with :func:`os.replace`, which is atomic on POSIX
and Windows when both paths are on the same file system. A reader sees either
the old file or the new one, never a part of either.
"""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """A temporary path that replaces ``path`` when the block ends without error.

    The temporary file lies beside ``path`` and keeps its suffix (so that, e.g.,
    matplotlib infers the image format from it). If the block raises, the
    temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        The destination; its folder is created when missing.

    Yields
    ------
    tmp : pathlib.Path
        Where to write.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "summary.md") as tmp:
    ...     _ = tmp.write_text("# done")
    >>> (folder / "summary.md").read_text()
    '# done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb+") as f:  # on disk before it takes the name
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path, text):
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_figure(fig, path, **kwargs):
    """``fig.savefig(path, **kwargs)``, atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **kwargs)


@contextmanager
def atomic_open(path, mode="w", **kwargs):
    """``open(path, mode)`` whose content replaces ``path`` only when complete.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_open(path, newline="") as f:
    ...     _ = f.write("a,b\\n")
    >>> path.read_text()
    'a,b\\n'
    """
    with atomic_path(path) as tmp, tmp.open(mode, **kwargs) as f:
        yield f
