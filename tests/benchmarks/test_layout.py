"""The layout of ``benchmarks/``: one wing per concern, imports one way.

Every module's imports are read with :mod:`ast` (nothing is imported), so a
forbidden import anywhere in a module, even inside a function, fails here.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "benchmarks"

ENGINE = "harness"
PAPER_WINGS = ("khan2019", "huang2019", "dong2017", "tabular")
ROW_LIBRARIES = ("baselines",)
OTHER_WINGS = ("speed", "scale")
WINGS = (ENGINE, *PAPER_WINGS, *ROW_LIBRARIES, *OTHER_WINGS)
#: The only modules that may lie loose at ``benchmarks/``; ``__main__`` is the
#: registry of profiles and may import every wing.
TOP = ("__init__.py", "__main__.py")


def module_name(path, root=ROOT):
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_by_line(path, root=ROOT):
    """``{line: names}``: the ``benchmarks`` modules each import of ``path`` names."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = {}
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # ``from benchmarks.harness import runner`` imports a module too.
            names = {target} | {f"{target}.{alias.name}" for alias in node.names}
        else:
            continue
        names = {m for m in names if m == "benchmarks" or m.startswith("benchmarks.")}
        if names:
            found.setdefault(node.lineno, set()).update(names)
    return found


def imported_modules(path, root=ROOT):
    """Absolute names of the ``benchmarks`` modules that ``path`` imports."""
    return set().union(*imports_by_line(path, root).values())


def wing_of(module):
    """The wing a ``benchmarks`` module belongs to (None for the top)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in WINGS else None


def rule_broken(wing, target):
    """Why a module of ``wing`` may not import ``target`` (None: it may)."""
    if target == "benchmarks.__main__" or target.startswith("benchmarks.__main__."):
        return "a wing imports the top (the registry)"
    other = wing_of(target)
    if other is None or other == wing:  # the package ``benchmarks``, or its own wing
        return None
    if wing == ENGINE:
        return f"the engine imports wing {other}"
    if other == ENGINE or (wing in PAPER_WINGS and other in ROW_LIBRARIES):
        return None
    return f"wing {wing} imports wing {other}"


def forbidden_imports(root=ROOT):
    """``(module, line, rule)`` of every import statement that breaks the layering."""
    broken = []
    for path in sorted(root.rglob("*.py")):
        if "results" in path.relative_to(root).parts:
            continue
        module = module_name(path, root)
        wing = wing_of(module)
        if wing is None:  # the top: __init__ and the registry
            continue
        for line, targets in sorted(imports_by_line(path, root).items()):
            rules = sorted({r for t in targets if (r := rule_broken(wing, t))})
            if rules:
                broken.append((module, line, "; ".join(rules)))
    return broken


def test_no_module_lies_loose_at_the_top():
    loose = sorted(p.name for p in ROOT.glob("*.py") if p.name not in TOP)
    assert loose == []
    folders = sorted(
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and p.name not in ("results", "__pycache__")
    )
    assert folders == sorted(WINGS)
    for wing in WINGS:
        assert (ROOT / wing / "__init__.py").is_file(), wing


def test_imports_run_one_way():
    """The engine imports no wing; no paper wing imports another wing, except
    the row library ``baselines``; ``baselines``, ``speed`` and ``scale`` use only the
    engine; nothing but the top imports the registry."""
    assert forbidden_imports() == []


def test_the_registry_imports_every_profile_wing():
    registry = imported_modules(ROOT / "__main__.py")
    for wing in ("khan2019", "huang2019", "dong2017", "tabular"):
        assert any(wing_of(m) == wing for m in registry), wing


@pytest.mark.parametrize(
    ("where", "source", "rule"),
    [
        (
            "harness/bad.py",
            "from ..khan2019 import table5\n",
            "engine imports wing khan2019",
        ),
        ("harness/data/bad.py", "import benchmarks.tabular.keel\n", "the engine"),
        ("harness/bad.py", "from ..baselines.triplet import x\n", "the engine"),
        ("huang2019/bad.py", "from ..khan2019.table5 import x\n", "huang2019 imports"),
        ("dong2017/bad.py", "from benchmarks import tabular\n", "dong2017 imports"),
        ("tabular/bad.py", "import benchmarks.__main__\n", "the registry"),
        ("baselines/bad.py", "from ..huang2019 import table8\n", "baselines imports"),
        ("khan2019/bad.py", "def f():\n    from .. import __main__\n", "the registry"),
        ("speed/bad.py", "from ..dong2017 import attributes\n", "speed imports"),
    ],
)
def test_a_forbidden_import_is_caught(tmp_path, where, source, rule):
    """The checker itself: each kind of crossing, planted in a copy of the tree."""
    root = tmp_path / "benchmarks"
    for wing in WINGS:
        (root / wing).mkdir(parents=True)
        (root / wing / "__init__.py").write_text("")
    (root / "harness" / "data").mkdir()
    (root / "harness" / "data" / "__init__.py").write_text("")
    # Allowed imports, which must not be reported.
    (root / "huang2019" / "ok.py").write_text(
        "from ..harness.runner import x\nfrom ..baselines.triplet import y\n"
        "from .table8 import z\nimport numpy\n"
    )
    (root / "speed" / "ok.py").write_text("from ..harness.report import write_csv\n")
    (root / where).write_text(source)
    broken = forbidden_imports(root)
    assert len(broken) == 1, broken
    assert rule in broken[0][2]
    assert broken[0][0] == "benchmarks." + where[: -len(".py")].replace("/", ".")
