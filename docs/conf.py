"""Sphinx configuration of the skimbalance documentation."""

import re
import sys
from pathlib import Path

from sphinx.util.inventory import InventoryFile

import skimbalance

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

from make_inventories import BASE_URLS

project = "skimbalance"
author = "The skimbalance developers"
copyright = "2026, The skimbalance developers"
release = skimbalance.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "markdown_report",
    "mathml_math",
    "sphinx_gallery.gen_gallery",
]
# Maths as MathML, rendered at build time: no MathJax from a CDN (see
# docs/_ext/mathml_math.py).
html_math_renderer = "mathml"
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# No autodoc_default_options: {"inherited-members": False} there made the class
# template's own :inherited-members: drop every method defined in a base class
# (fit, predict, predict_proba ... were missing from the API reference).
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples"]
html_theme = "alabaster"
html_static_path = []
suppress_warnings = ["ref.citation"]

# Intersphinx: links to scikit-learn, imbalanced-learn, skorch, PyTorch, NumPy
# and Python, with no network. The build never downloads an inventory: each
# project's inventory is a local file (the second element below, a path
# relative to docs/) that docs/_ext/make_inventories.py writes from the
# installed packages. After upgrading one of them, regenerate and commit:
#
#     python docs/_ext/make_inventories.py
#
# The links point at each project's stable/ documentation (BASE_URLS there).
intersphinx_mapping = {
    key: (url, f"_inventories/{key}.inv") for key, url in BASE_URLS.items()
}


def _load_inventories():
    """``{project: {type: {name: item}}}`` of the local inventories, for the
    options below (the data intersphinx loads)."""
    return {
        key: InventoryFile.loads(
            (Path(__file__).parent / location).read_bytes(), uri=url
        ).data
        for key, (url, location) in intersphinx_mapping.items()
    }


_INVENTORIES = _load_inventories()


def _in_inventories(objtype, target):
    """Whether ``target`` (or ``"project:target"``) is an ``objtype`` entry of
    the inventories; terms match whatever their case, as intersphinx does."""
    project, _, name = target.partition(":")
    if name and project in _INVENTORIES:
        projects = [project]
    else:
        projects, name = list(_INVENTORIES), target
    for key in projects:
        names = _INVENTORIES[key].get(objtype, {})
        if name in names or (
            objtype == "std:term" and name.lower() in {n.lower() for n in names}
        ):
            return True
    return False


# Parameter types become links too ("array-like of shape (n, d)", "int,
# torch.Generator or None"), but only the words listed here: numpydoc's own
# list (Python's built-in types, None, ndarray ...), the dotted names of the
# classes the inventories know and the short names our docstrings use.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"  # the other words stay plain text
numpydoc_xref_aliases = {
    name: f":obj:`{name}`"
    for inventory in _INVENTORIES.values()
    for objtype in ("py:class", "py:exception")
    for name in inventory.get(objtype, {})
    if "." in name
}
numpydoc_xref_aliases.update(
    {
        "array-like": ":term:`array-like <sklearn:array-like>`",
        "array_like": ":term:`array_like <numpy:array_like>`",
        "path-like": ":term:`path-like <python:path-like object>`",
        "object": ":class:`python:object`",
        "Tensor": ":obj:`Tensor <torch.Tensor>`",
        "LongTensor": ":obj:`LongTensor <torch.Tensor>`",
        "BoolTensor": ":obj:`BoolTensor <torch.Tensor>`",
        "FloatTensor": ":obj:`FloatTensor <torch.Tensor>`",
        # numpydoc's defaults: a label no inventory here has, a "()" suffix.
        "bool": ":class:`python:bool`",
        "boolean": ":class:`bool <python:bool>`",
        "callable": ":obj:`callable <python:callable>`",
        "scalar": "scalar",
        # Shorter names than the ones the projects document them under.
        "skorch.NeuralNet": ":obj:`skorch.NeuralNet <skorch.net.NeuralNet>`",
        "skorch.NeuralNetClassifier": (
            ":obj:`skorch.NeuralNetClassifier <skorch.classifier.NeuralNetClassifier>`"
        ),
        "torch.nn.Parameter": (
            ":obj:`torch.nn.Parameter <torch.nn.parameter.Parameter>`"
        ),
    }
)

# The gallery: the scripts of examples/ (at the repository root, as in
# scikit-learn and imbalanced-learn) run at every build and their pages, output
# and figures are written to docs/auto_examples/ (git-ignored). Every example is
# small (one seed, a few epochs, one CPU thread) so the build stays quick.
# tests/test_docs.py builds with ``run_stale_examples=True``: the examples run
# even when sphinx-gallery's cache says they are unchanged.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    # Names in the code link to the API reference and, through the local
    # intersphinx inventories above, to scikit-learn, PyTorch ... (offline).
    "doc_module": ("skimbalance",),
    "backreferences_dir": None,
    "abort_on_example_error": True,
    "show_memory": False,
}


_SKLEARN_ROLE = re.compile(r":(ref|term):`([^`<]*?)(?:\s*<([^>]*)>)?`")


def _sklearn_role(match):
    role, text, target = match.groups()
    objtype = {"ref": "std:label", "term": "std:term"}[role]
    if _in_inventories(objtype, target or text):
        return match.group(0)
    return f"``{text.strip() or target}``"


def _plain_sklearn_roles(app, what, name, obj, options, lines):
    """Methods inherited from scikit-learn (``score``, ``get_params``) cite
    labels and glossary terms of its own docs: those the local inventory has
    link there, the others (an unresolved :ref: or :term: is a warning) render
    as literal text."""
    module = getattr(obj, "__module__", "") or ""
    if module.startswith("sklearn."):
        lines[:] = [_SKLEARN_ROLE.sub(_sklearn_role, line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_roles)
