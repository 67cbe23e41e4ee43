"""Where the data sets live on disk, and how a missing one is downloaded."""

import importlib.util
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

#: Seconds a download waits for the server before giving up.
DOWNLOAD_TIMEOUT = 10.0


class DatasetNotFoundError(FileNotFoundError):
    """A data set is neither on disk nor downloadable; the message says how to get it."""


def get_data_home(data_home=None):
    """The folder where skimbalance keeps its data sets and caches.

    ``data_home`` when given, else the environment variable
    ``SKIMBALANCE_DATA``, else ``~/skimbalance_data``. The folder is created
    when it does not exist.

    Parameters
    ----------
    data_home : str or path-like, default=None
        An explicit folder; ``~`` is expanded.

    Returns
    -------
    path : pathlib.Path
        The data folder.

    Examples
    --------
    >>> import tempfile
    >>> from skimbalance.datasets import get_data_home
    >>> folder = tempfile.mkdtemp()
    >>> get_data_home(folder).is_dir()
    True
    """
    if data_home is None:
        data_home = os.environ.get("SKIMBALANCE_DATA", "~/skimbalance_data")
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def download(url, path, *, timeout=DOWNLOAD_TIMEOUT):
    """Download ``url`` to ``path`` (written whole or not at all).

    Raises :class:`OSError` (``urllib.error.URLError`` is one) when the server
    cannot be reached in ``timeout`` seconds or answers with an error.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": "skimbalance"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            shutil.copyfileobj(response, tmp)
    os.replace(tmp.name, path)
    os.chmod(path, 0o644)  # temporary files are created private
    return path


def download_first(urls, path):
    """Try each URL in turn; return ``path`` or raise the list of failures.

    Every attempt goes through :func:`download` (looked up at call time, so
    tests can replace it).
    """
    failures = []
    for url in urls:
        try:
            return download(url, path)
        except OSError as error:  # URLError, HTTPError, timeouts
            failures.append(f"{url}: {error}")
    raise OSError("; ".join(failures))


def package_folders(package):
    """The folders of an installed package, found without importing it.

    Parameters
    ----------
    package : str
        The package's import name (e.g. ``"river"``).

    Returns
    -------
    folders : list of Path
        Empty when the package is not installed.

    Examples
    --------
    >>> from skimbalance.datasets._home import package_folders
    >>> package_folders("no_such_package_here")
    []
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(folder) for folder in spec.submodule_search_locations]
