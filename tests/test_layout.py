"""The layout of the library: pure modules, a training layer, thin classifiers.

Every module is read with :mod:`ast` (nothing is imported), so a forbidden
import or class anywhere in a module fails here.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "skimbalance"

#: Packages of pure PyTorch / NumPy code: no skorch, no scikit-learn (the
#: k-nearest-cluster rule may use scikit-learn's trees for its search).
PURE = {
    "losses": ("sklearn", "skorch"),
    "miners": ("sklearn", "skorch"),
    "cluster": ("sklearn", "skorch"),
    "samplers": ("sklearn", "skorch"),
    "uncertainty": ("sklearn", "skorch"),
    "neighbors": ("skorch",),
    "heads": ("sklearn", "skorch"),
    "optim": ("sklearn", "skorch"),
    "tabular": ("sklearn", "skorch"),
}

#: Single pure modules at the package's top level.
PURE_MODULES = ("prior_shift.py", "_arrays.py")

#: Base classes that belong to the training layer, not to the estimators.
TRAINING_BASES = {"Module", "Callback", "Sampler"}


def modules(package):
    return sorted((ROOT / package).glob("*.py"))


def imported(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


@pytest.mark.parametrize("package", sorted(PURE))
def test_pure_packages_import_no_estimator_machinery(package):
    bad = [
        (path.name, name)
        for path in modules(package)
        for name in imported(path)
        if name.split(".")[0] in PURE[package]
    ]
    assert not bad


@pytest.mark.parametrize("name", PURE_MODULES)
def test_pure_modules_import_no_estimator_machinery(name):
    bad = {n for n in imported(ROOT / name) if n.split(".")[0] in ("sklearn", "skorch")}
    assert not bad


def test_the_training_layer_does_not_import_the_estimators():
    bad = [
        (path.name, name)
        for path in modules("training")
        for name in imported(path)
        if "classifiers" in name
    ]
    assert modules("training") and not bad


def test_classifiers_hold_no_heads_criteria_schedules_or_samplers():
    found = []
    for path in modules("classifiers"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {
                    b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                    for b in node.bases
                }
                if bases & TRAINING_BASES or any(
                    n.name == "__iter__"
                    for n in node.body
                    if isinstance(n, ast.FunctionDef)
                ):
                    found.append((path.name, node.name))
    assert not found
