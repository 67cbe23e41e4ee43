"""Sphinx configuration of the skimbalance documentation."""

import skimbalance

project = "skimbalance"
author = "The skimbalance developers"
copyright = "2026, The skimbalance developers"
release = skimbalance.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_default_options = {"inherited-members": False}
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples"]
html_theme = "alabaster"
html_static_path = []
# Intersphinx needs the network, which the build must not depend on: cross
# references to scikit-learn and friends render as plain text offline.
intersphinx_mapping = {}
suppress_warnings = ["ref.citation"]
