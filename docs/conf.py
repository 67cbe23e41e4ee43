"""Sphinx configuration of the skimbalance documentation."""

import re
import sys
from pathlib import Path

import skimbalance

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

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
# Intersphinx needs the network, which the build must not depend on: cross
# references to scikit-learn and friends render as plain text offline.
intersphinx_mapping = {}
suppress_warnings = ["ref.citation"]

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
    # Links from the code to the API reference of skimbalance only: external
    # references would need the network (no intersphinx).
    "doc_module": ("skimbalance",),
    "reference_url": {"skimbalance": None},
    "backreferences_dir": None,
    "abort_on_example_error": True,
    "show_memory": False,
}


_SKLEARN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)(?:\s*<[^>]*>)?`")


def _plain_sklearn_roles(app, what, name, obj, options, lines):
    """Methods inherited from scikit-learn (``score``, ``get_params``) cite its
    own docs' labels and glossary, which this build cannot resolve offline:
    render those references as literal text."""
    module = getattr(obj, "__module__", "") or ""
    if module.startswith("sklearn."):
        lines[:] = [_SKLEARN_ROLE.sub(r"``\1``", line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_roles)
