"""Write the intersphinx inventories of ``docs/_inventories/`` offline.

Run from the repository root, with the packages the docs cite installed::

    python docs/_ext/make_inventories.py

The documentation build has no network, so ``docs/conf.py`` cannot download
the ``objects.inv`` of scikit-learn, imbalanced-learn, skorch, PyTorch, NumPy
and Python. This script writes a local stand-in for each of them instead: it
introspects the *installed* package, lists its public API (the classes,
functions and methods its own documentation documents) and gives every object
the address that object has in that project's documentation. The files are
Sphinx inventories, version 2 (the format ``sphinx.util.inventory`` writes and
reads: a four-line header with the project and its installed version, then one
zlib-compressed line ``name domain:role priority uri display-name`` per
object, with ``$`` standing for a trailing ``name`` in the anchor), so
``sphinx.ext.intersphinx`` loads them as it would the real ones. The output is
the same on every run with the same package versions (sorted entries, fixed
compression level).

Each project's documentation lays its API out differently; the URL schemes
used here, relative to the ``stable/`` root that ``docs/conf.py`` gives, and
how they were checked (against the projects' own documentation sources and
published pages, read through a search of stored public documentation and
repository files, since the pages cannot be fetched from this machine):

scikit-learn (``https://scikit-learn.org/stable/``)
    One page per class or function, named after the public module that
    exports it: ``modules/generated/sklearn.pipeline.Pipeline.html#sklearn.
    pipeline.Pipeline``. The class page documents every public method,
    inherited ones included (its ``class.rst`` template has ``:members:`` and
    ``:inherited-members:``), as ``...Pipeline.html#sklearn.pipeline.Pipeline.
    fit``. Module pages: ``api/sklearn.pipeline.html#module-sklearn.pipeline``
    (submodules such as ``sklearn.utils.validation`` on their parent's page).
    Checked against ``_sources/modules/generated/sklearn.pipeline.Pipeline.
    rst.txt`` of the stable site and ``doc/api_reference.py`` of the
    scikit-learn repository, which lists each object under the shallowest
    public module exporting it (``sklearn.utils.check_array`` but
    ``sklearn.utils.validation.check_is_fitted``; ``sklearn.base.clone``, not
    ``sklearn.clone``): the rule used below. Glossary terms
    (``glossary.html#term-array-like``, the anchor Sphinx derives from the
    term: ``#term-n_jobs``, ``#term-CV-splitter``, as links to the stable
    glossary in public code show) for the terms its docstrings cite, and the
    two user-guide sections the docstrings this documentation inherits cite.
imbalanced-learn (``https://imbalanced-learn.org/stable/``)
    ``references/generated/imblearn.over_sampling.SMOTE.html#imblearn.
    over_sampling.SMOTE``, methods (inherited ones too) on the class page.
    Checked against ``doc/references/*.rst`` and ``doc/conf.py``
    (``autodoc_default_flags = ['members', 'inherited-members']``) of the
    repository and links to the stable pages. Module pages:
    ``references/over_sampling.html#module-imblearn.over_sampling``.
skorch (``https://skorch.readthedocs.io/en/stable/``)
    One page per module, ``net.html#skorch.net.NeuralNet``,
    ``classifier.html#skorch.classifier.NeuralNetClassifier``,
    ``callbacks.html#skorch.callbacks.EarlyStopping``: ``docs/net.rst``,
    ``docs/callbacks.rst`` ... of the repository are ``.. automodule::
    skorch.<module>`` with ``:members:`` (no ``:inherited-members:``), so a
    class's page anchors only the methods that class itself defines with a
    docstring, and a module with ``__all__`` (``skorch.callbacks``) documents
    the names it lists under its own name. Links to the stable pages in
    public code (``callbacks.html#skorch.callbacks.EarlyStopping``) agree.
PyTorch (``https://docs.pytorch.org/docs/stable/``)
    Mostly one page per object, ``generated/torch.nn.Module.html#torch.nn.
    Module``, ``generated/torch.nn.functional.cross_entropy.html#...``,
    ``generated/torch.optim.Adam.html``, ``generated/torch.optim.
    lr_scheduler.StepLR.html``, ``generated/torch.Tensor.sum.html#torch.
    Tensor.sum``, ``generated/torch.cat.html#torch.cat``; the exceptions, read
    off ``docs/source/*.md`` of the repository: ``torch.Tensor`` on
    ``tensors.html``, ``torch.device``/``dtype``/``layout``/``memory_format``
    on ``tensor_attributes.html``, ``torch.Size`` on ``size.html``,
    ``torch.utils.data`` on ``data.html`` (``.. autoclass::`` directly on the
    page, no methods), ``torch.nn.init`` on ``nn.init.html``,
    ``torch.random`` on ``random.html``, ``torch.optim.Optimizer`` on
    ``optim.html`` (its methods on ``generated/torch.optim.Optimizer.step.
    html``), ``Parameter``/``Buffer`` as ``torch.nn.parameter.Parameter`` and
    ``Flatten``/``Unflatten`` as ``torch.nn.modules.flatten.Flatten`` (the
    names ``nn.md`` documents them under). ``torch.nn`` classes use the
    ``classtemplate.rst`` (``:members:``, no ``:inherited-members:``): the
    methods a class defines itself with a docstring are anchored on its page.
NumPy (``https://numpy.org/doc/stable/``)
    ``reference/generated/numpy.unique.html#numpy.unique`` for the top-level
    functions and ``numpy.ndarray``/``numpy.dtype`` (and the ndarray methods,
    ``reference/generated/numpy.ndarray.sum.html``), scalar types on
    ``reference/arrays.scalars.html#numpy.float32``, constants on
    ``reference/constants.html#numpy.nan``, ``numpy.random.default_rng`` and
    ``Generator`` on ``reference/random/generator.html`` (the Generator
    methods on ``reference/random/generated/numpy.random.Generator.integers.
    html``), ``RandomState`` on ``reference/random/legacy.html``, and the
    glossary term ``array_like``. Checked against the published
    ``reference/random/generator.html`` pages.
Python (``https://docs.python.org/3/``)
    The built-in types and functions on ``library/functions.html#int``, the
    built-in constants on ``library/constants.html#None``, the built-in
    exceptions on ``library/exceptions.html#ValueError``, a few glossary
    terms (``glossary.html#term-iterable``) and ``pathlib.Path``/
    ``os.PathLike``, as the Python documentation lays them out.

An address that does not exist in the real documentation would only make a
link land on the page (or the site) without the anchor; names the real
inventory has but this one lacks render as plain text, as without intersphinx.
"""

import argparse
import builtins
import importlib
import inspect
import pkgutil
import re
import sys
import warnings
import zlib
from pathlib import Path

# The function Sphinx derives a glossary term's anchor with (Sphinx 9).
from sphinx.util.nodes import _make_id

HERE = Path(__file__).resolve().parent
OUTPUT = HERE.parent / "_inventories"

# The address of each project's documentation; docs/conf.py maps the same.
BASE_URLS = {
    "sklearn": "https://scikit-learn.org/stable/",
    "imblearn": "https://imbalanced-learn.org/stable/",
    "skorch": "https://skorch.readthedocs.io/en/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "numpy": "https://numpy.org/doc/stable/",
    "python": "https://docs.python.org/3/",
}


class Inventory:
    """The entries of one project's inventory, written in Sphinx's format.

    Parameters
    ----------
    project : str
        The project name of the header.
    version : str
        The project version of the header.

    Examples
    --------
    >>> inv = Inventory("demo", "1.0")
    >>> inv.add("demo.f", "py:function", "api.html#demo.f")
    >>> inv.dumps().splitlines()[:3]
    [b'# Sphinx inventory version 2', b'# Project: demo', b'# Version: 1.0']
    >>> from sphinx.util.inventory import InventoryFile
    >>> item = InventoryFile.loads(inv.dumps(), uri="https://x/").data
    >>> item["py:function"]["demo.f"].uri
    'https://x/api.html#demo.f'
    """

    _PRIORITY = {"py:module": 0, "std:label": -1, "std:term": -1}

    def __init__(self, project, version):
        self.project = project
        self.version = version
        self.entries = {}

    def add(self, name, role, uri, display="-"):
        """Add ``name`` (first address wins: a name is documented once)."""
        self.entries.setdefault((role, name), (uri, display))

    def __len__(self):
        return len(self.entries)

    def dumps(self):
        """The inventory file's bytes."""
        header = (
            "# Sphinx inventory version 2\n"
            f"# Project: {self.project}\n"
            f"# Version: {self.version}\n"
            "# The remainder of this file is compressed using zlib.\n"
        )
        lines = []
        for (role, name), (uri, display) in sorted(self.entries.items()):
            if uri.endswith("#" + name):  # as Sphinx shortens its anchors
                uri = uri[: -len(name)] + "$"
            priority = self._PRIORITY.get(role, 1)
            lines.append(f"{name} {role} {priority} {uri} {display}\n")
        body = zlib.compress("".join(lines).encode(), 9)
        return header.encode() + body


def _import(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except ImportError:  # an optional dependency is missing
            return None


def _public_modules(package, skip=()):
    """``package`` and its public submodules (no ``_private`` part, no tests)."""
    root = _import(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or "tests" in parts:
            continue
        if any(info.name == s or info.name.startswith(s + ".") for s in skip):
            continue
        names.append(info.name)
    return [(name, mod) for name in names if (mod := _import(name)) is not None]


def _is_api(obj):
    return inspect.isclass(obj) or inspect.isfunction(obj)


def _exported(module):
    """The public classes and functions ``module`` exports: those of
    ``__all__``, or else those defined in it or its private submodules."""
    name = module.__name__
    if hasattr(module, "__all__"):
        names = [n for n in module.__all__ if not n.startswith("_")]
    else:
        names = [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_")
            and _is_api(obj)
            and (
                getattr(obj, "__module__", None) == name
                or (getattr(obj, "__module__", None) or "").startswith(name + "._")
            )
        ]
    out = {}
    for n in names:
        obj = getattr(module, n, None)
        if _is_api(obj):
            out[n] = obj
    return out


def _methods(cls, *, inherited):
    """``(name, role)`` of the public methods and properties of ``cls`` that
    have a docstring (autodoc leaves the others out)."""
    names = dir(cls) if inherited else list(vars(cls))
    out = []
    for name in sorted(names):
        if name.startswith("_"):
            continue
        try:
            static = inspect.getattr_static(cls, name)
            value = getattr(cls, name)
        except AttributeError:
            continue
        if isinstance(static, property):
            role = "py:property"
        elif inspect.isclass(value):  # a class attribute, not a method
            continue
        elif isinstance(static, (classmethod, staticmethod)) or callable(value):
            role = "py:method"
        else:
            continue
        if not inspect.getdoc(value):
            continue
        out.append((name, role))
    return out


def _sklearn_like(inv, package, page, module_page, skip=(), top_level=(), only=None):
    """scikit-learn's and imbalanced-learn's layout (see the module docstring):
    each object under the shallowest public module exporting it, except the
    ``top_level`` names, documented under the package itself; ``only`` maps a
    module to the names of it that are documented, where not all are."""
    only = only or {}
    found = {}  # id(obj) -> (public path, obj)
    modules = _public_modules(package, skip)
    for name, module in modules:
        if name == package:
            continue
        parent = ".".join(name.split(".")[:2])
        inv.add(name, "py:module", module_page(parent) + f"#module-{name}")
        for attr, obj in _exported(module).items():
            if name in only and attr not in only[name]:
                continue
            path = f"{name}.{attr}"
            best = found.get(id(obj))
            if best is None or path.count(".") < best[0].count("."):
                found[id(obj)] = (path, obj)
    root = dict(modules)[package]
    for attr in top_level:
        obj = getattr(root, attr)
        found[id(obj)] = (f"{package}.{attr}", obj)
    for path, obj in found.values():
        uri = page(path)
        if inspect.isclass(obj):
            inv.add(path, "py:class", f"{uri}#{path}")
            for meth, role in _methods(obj, inherited=True):
                inv.add(f"{path}.{meth}", role, f"{uri}#{path}.{meth}")
        else:
            inv.add(path, "py:function", f"{uri}#{path}")


_TERM = re.compile(r":term:`(?:[^`<]*<)?([^`<>]+?)>?`")


def _glossary_terms(inv, docstrings, extra=()):
    """``std:term`` entries of ``glossary.html`` for the terms ``docstrings``
    cite (Sphinx anchors a term as ``term-`` + the term made an identifier)."""
    terms = set(extra)
    for doc in docstrings:
        terms.update(" ".join(t.split()) for t in _TERM.findall(doc))
    for term in terms:
        inv.add(term, "std:term", f"glossary.html#{_make_id('term-' + term)}")


def _docstrings(inv, packages):
    """The docstrings of the objects ``inv`` lists."""
    out = []
    for (role, name), _ in inv.entries.items():
        if not role.startswith("py:") or role == "py:module":
            continue
        obj = _resolve(name, packages)
        if obj is not None:
            out.append(inspect.getdoc(obj) or "")
    return out


def _resolve(name, packages):
    for package in packages:
        if name != package and not name.startswith(package + "."):
            continue
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            module = sys.modules.get(".".join(parts[:i]))
            if module is None:
                continue
            obj = module
            try:
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                break
            return obj
    return None


def sklearn_inventory():
    import sklearn

    inv = Inventory("scikit-learn", sklearn.__version__)
    inv.add("sklearn", "py:module", "api/sklearn.html#module-sklearn")
    _sklearn_like(
        inv,
        "sklearn",
        page=lambda path: f"modules/generated/{path}.html",
        module_page=lambda mod: f"api/{mod}.html",
        # Not in the API reference: the test configuration, data folders,
        # back-ports, and modules whose public names live elsewhere.
        skip=(
            "sklearn.conftest",
            "sklearn.datasets.data",
            "sklearn.datasets.descr",
            "sklearn.datasets.images",
            "sklearn.externals",
            "sklearn.utils.deprecation",
            "sklearn.utils.fixes",
            "sklearn.utils.murmurhash",
            "sklearn.utils.optimize",
            "sklearn.utils.stats",
        ),
        top_level=("config_context", "get_config", "set_config", "show_versions"),
    )
    _glossary_terms(
        inv, _docstrings(inv, ["sklearn"]), extra=("array-like", "sparse matrix")
    )
    # The user-guide sections the scikit-learn docstrings this documentation
    # inherits cite (``score``: accuracy; the metadata-routing methods).
    inv.add(
        "accuracy_score",
        "std:label",
        "modules/model_evaluation.html#accuracy-score",
        "Accuracy score",
    )
    inv.add(
        "metadata_routing",
        "std:label",
        "metadata_routing.html#metadata-routing",
        "Metadata Routing",
    )
    return inv


def imblearn_inventory():
    import imblearn

    inv = Inventory("imbalanced-learn", imblearn.__version__)
    _sklearn_like(
        inv,
        "imblearn",
        page=lambda path: f"references/generated/{path}.html",
        module_page=lambda mod: f"references/{mod.split('.')[-1]}.html",
        # The modules doc/references/ has no page for (base classes,
        # helpers); the optional back-ends (keras, tensorflow) are left out
        # when they are not installed.
        skip=(
            "imblearn.base",
            "imblearn.exceptions",
            "imblearn.over_sampling.base",
            "imblearn.under_sampling.base",
            "imblearn.utils.deprecation",
            "imblearn.utils.fixes",
            "imblearn.utils.testing",
        ),
        top_level=("FunctionSampler",),
        only={
            "imblearn.utils": {"check_neighbors_object", "check_sampling_strategy"},
            "imblearn.utils.estimator_checks": {"parametrize_with_checks"},
        },
    )
    return inv


_SKORCH_MODULES = (
    "callbacks",
    "classifier",
    "dataset",
    "exceptions",
    "helper",
    "history",
    "hf",
    "llm",
    "net",
    "probabilistic",
    "regressor",
    "scoring",
    "toy",
    "utils",
)


def skorch_inventory():
    import skorch

    inv = Inventory("skorch", skorch.__version__)
    for short in _SKORCH_MODULES:
        name = f"skorch.{short}"
        module = _import(name)
        if module is None:  # an optional dependency is missing
            continue
        page = f"{short}.html"
        inv.add(name, "py:module", f"{page}#module-{name}")
        for attr, obj in _exported(module).items():
            if not inspect.getdoc(obj):  # autodoc skips undocumented members
                continue
            path = f"{name}.{attr}"
            if inspect.isclass(obj):
                role = "py:exception" if issubclass(obj, BaseException) else "py:class"
                inv.add(path, role, f"{page}#{path}")
                for meth, mrole in _methods(obj, inherited=False):
                    inv.add(f"{path}.{meth}", mrole, f"{page}#{path}.{meth}")
            else:
                inv.add(path, "py:function", f"{page}#{path}")
    return inv


def _own_methods(inv, cls, path, uri):
    for meth, role in _methods(cls, inherited=False):
        inv.add(f"{path}.{meth}", role, f"{uri}#{path}.{meth}")


def torch_inventory():
    import torch
    import torch.nn.functional
    import torch.nn.init
    import torch.nn.utils
    import torch.optim
    import torch.optim.lr_scheduler
    import torch.random
    import torch.utils.data

    version = torch.__version__.split("+")[0]
    inv = Inventory("PyTorch", version)
    gen = "generated/{}.html"
    for name, page in (
        ("torch", "torch.html"),
        ("torch.nn", "nn.html"),
        ("torch.nn.functional", "nn.functional.html"),
        ("torch.nn.init", "nn.init.html"),
        ("torch.optim", "optim.html"),
        ("torch.random", "random.html"),
        ("torch.utils.data", "data.html"),
    ):
        inv.add(name, "py:module", f"{page}#module-{name}")

    # torch: the tensor, its attributes' classes, the generator, functions.
    inv.add("torch.Tensor", "py:class", "tensors.html#torch.Tensor")
    for meth, role in _methods(torch.Tensor, inherited=True):
        if role == "py:method":
            path = f"torch.Tensor.{meth}"
            inv.add(path, role, gen.format(path) + f"#{path}")
    for cls in ("device", "dtype", "layout", "memory_format"):
        inv.add(f"torch.{cls}", "py:class", f"tensor_attributes.html#torch.{cls}")
    inv.add("torch.Size", "py:class", "size.html#torch.Size")
    for cls in ("Generator", "Stream", "Event", "no_grad", "enable_grad"):
        path = f"torch.{cls}"
        inv.add(path, "py:class", gen.format(path) + f"#{path}")
    for name in torch.__all__:
        obj = getattr(torch, name, None)
        if name.startswith("_") or obj is None or inspect.isclass(obj):
            continue
        if callable(obj) and inspect.getdoc(obj):
            path = f"torch.{name}"
            inv.add(path, "py:function", gen.format(path) + f"#{path}")
    for name in torch.random.__all__:
        path = f"torch.random.{name}"
        inv.add(path, "py:function", f"random.html#{path}")

    # torch.nn: one page per class (a few under the name nn.md gives them).
    renamed = {
        "Parameter": "torch.nn.parameter",
        "Buffer": "torch.nn.parameter",
        "UninitializedParameter": "torch.nn.parameter",
        "UninitializedBuffer": "torch.nn.parameter",
        "Flatten": "torch.nn.modules.flatten",
        "Unflatten": "torch.nn.modules.flatten",
    }
    for name, obj in sorted(vars(torch.nn).items()):
        if name.startswith("_") or not inspect.isclass(obj):
            continue
        if not (obj.__module__ or "").startswith("torch.nn"):
            continue
        path = f"{renamed.get(name, 'torch.nn')}.{name}"
        uri = gen.format(path)
        inv.add(path, "py:class", f"{uri}#{path}")
        _own_methods(inv, obj, path, uri)
    functional = torch.nn.functional
    for name, obj in sorted(vars(functional).items()):
        if name.startswith("_") or inspect.isclass(obj) or not callable(obj):
            continue
        if getattr(obj, "__module__", None) not in (
            "torch",
            "torch.nn.functional",
            "torch._C._nn",
        ):
            continue
        if name in ("assert_int_or_pair",) or not inspect.getdoc(obj):
            continue
        path = f"torch.nn.functional.{name}"
        inv.add(path, "py:function", gen.format(path) + f"#{path}")
    for name in torch.nn.init.__all__:
        path = f"torch.nn.init.{name}"
        inv.add(path, "py:function", f"nn.init.html#{path}")
    for name in torch.nn.utils.__all__:
        obj = getattr(torch.nn.utils, name)
        if callable(obj) and not inspect.ismodule(obj):
            path = f"torch.nn.utils.{name}"
            inv.add(path, "py:function", gen.format(path) + f"#{path}")

    # torch.optim: the base class on optim.html, its methods and the
    # algorithms and schedulers on their own pages.
    inv.add("torch.optim.Optimizer", "py:class", "optim.html#torch.optim.Optimizer")
    for meth, role in _methods(torch.optim.Optimizer, inherited=False):
        path = f"torch.optim.Optimizer.{meth}"
        inv.add(path, role, gen.format(path) + f"#{path}")
    for name in torch.optim.__all__:
        obj = getattr(torch.optim, name)
        if inspect.isclass(obj) and name != "Optimizer":
            path = f"torch.optim.{name}"
            inv.add(path, "py:class", gen.format(path) + f"#{path}")
    schedulers = torch.optim.lr_scheduler
    for name in (*schedulers.__all__, "LRScheduler"):
        if inspect.isclass(getattr(schedulers, name, None)):
            path = f"torch.optim.lr_scheduler.{name}"
            inv.add(path, "py:class", gen.format(path) + f"#{path}")

    # torch.utils.data: everything on data.html (the datapipes are not).
    data = torch.utils.data
    for name in data.__all__:
        obj = getattr(data, name)
        module = getattr(obj, "__module__", "") or ""
        if name.startswith("_") or "datapipes" in module or not _is_api(obj):
            continue
        path = f"torch.utils.data.{name}"
        if name == "DistributedSampler":  # documented under its module
            path = "torch.utils.data.distributed.DistributedSampler"
        role = "py:class" if inspect.isclass(obj) else "py:function"
        inv.add(path, role, f"data.html#{path}")
    return inv


def numpy_inventory():
    import numpy

    inv = Inventory("NumPy", numpy.__version__)
    gen = "reference/generated/{}.html"
    inv.add("numpy", "py:module", "reference/index.html#module-numpy")
    inv.add(
        "numpy.random", "py:module", "reference/random/index.html#module-numpy.random"
    )
    for name in sorted(numpy.__all__):
        obj = getattr(numpy, name, None)
        path = f"numpy.{name}"
        if name.startswith("_") or obj is None or inspect.ismodule(obj):
            continue
        if inspect.isclass(obj) and issubclass(obj, numpy.generic):
            inv.add(path, "py:class", f"reference/arrays.scalars.html#{path}")
        elif inspect.isclass(obj) and name in ("ndarray", "dtype"):
            inv.add(path, "py:class", gen.format(path) + f"#{path}")
            for meth, role in _methods(obj, inherited=False):
                if role == "py:method":
                    mpath = f"{path}.{meth}"
                    inv.add(mpath, role, gen.format(mpath) + f"#{mpath}")
        elif not inspect.isclass(obj) and callable(obj):
            inv.add(path, "py:function", gen.format(path) + f"#{path}")
    for name in ("e", "euler_gamma", "inf", "nan", "newaxis", "pi"):
        inv.add(f"numpy.{name}", "py:data", f"reference/constants.html#numpy.{name}")
    random = numpy.random
    generator = "reference/random/generator.html"
    inv.add(
        "numpy.random.default_rng",
        "py:function",
        f"{generator}#numpy.random.default_rng",
    )
    for cls, page in (
        ("Generator", generator),
        ("RandomState", "reference/random/legacy.html"),
    ):
        path = f"numpy.random.{cls}"
        inv.add(path, "py:class", f"{page}#{path}")
        for meth, role in _methods(getattr(random, cls), inherited=False):
            if role == "py:method":
                mpath = f"{path}.{meth}"
                inv.add(mpath, role, f"reference/random/generated/{mpath}.html#{mpath}")
    inv.add("array_like", "std:term", "glossary.html#term-array_like")
    return inv


# Added by the site module and documented among the constants, not here.
_PYTHON_SITE_BUILTINS = ("copyright", "credits", "exit", "license", "quit")

_PYTHON_TERMS = (
    "file object",
    "generator",
    "iterable",
    "iterator",
    "mapping",
    "path-like object",
    "sequence",
)


def python_inventory():
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    inv = Inventory("Python", version)
    for name, obj in sorted(vars(builtins).items()):
        if name.startswith("_"):
            continue
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            inv.add(name, "py:exception", f"library/exceptions.html#{name}")
        elif inspect.isclass(obj):
            inv.add(name, "py:class", f"library/functions.html#{name}")
        elif callable(obj) and name not in _PYTHON_SITE_BUILTINS:
            inv.add(name, "py:function", f"library/functions.html#{name}")
    for name in ("None", "True", "False", "NotImplemented", "Ellipsis"):
        inv.add(name, "py:data", f"library/constants.html#{name}")
    for term in _PYTHON_TERMS:
        inv.add(term, "std:term", f"glossary.html#{_make_id('term-' + term)}")
    inv.add("pathlib", "py:module", "library/pathlib.html#module-pathlib")
    inv.add("pathlib.Path", "py:class", "library/pathlib.html#pathlib.Path")
    inv.add("os.PathLike", "py:class", "library/os.html#os.PathLike")
    inv.add("os.fspath", "py:function", "library/os.html#os.fspath")
    # numpydoc's default links of "contextmanager" and "namedtuple".
    inv.add(
        "contextlib.contextmanager",
        "py:function",
        "library/contextlib.html#contextlib.contextmanager",
    )
    inv.add(
        "collections.namedtuple",
        "py:function",
        "library/collections.html#collections.namedtuple",
    )
    return inv


BUILDERS = {
    "sklearn": sklearn_inventory,
    "imblearn": imblearn_inventory,
    "skorch": skorch_inventory,
    "torch": torch_inventory,
    "numpy": numpy_inventory,
    "python": python_inventory,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("projects", nargs="*", default=list(BUILDERS))
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    for key in args.projects:
        inv = BUILDERS[key]()
        data = inv.dumps()
        (args.output / f"{key}.inv").write_bytes(data)
        print(
            f"{key}.inv: {inv.project} {inv.version}, {len(inv)} entries, "
            f"{len(data) / 1024:.1f} KiB"
        )


if __name__ == "__main__":
    main()
