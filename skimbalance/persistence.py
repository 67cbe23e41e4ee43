"""Save and load fitted estimators without pickle: :func:`save_model`, :func:`load_model`.

A model file is one `safetensors <https://huggingface.co/docs/safetensors>`_
file. Its tensors are the network's weights (``module.<name>``, the names of
``net_.module_.state_dict()``), the criterion's buffers (``criterion.<name>``)
and every numeric array of the fitted state (``data.<n>``); its metadata hold
one JSON document (key ``"skimbalance"``) with the format name and version,
the library version, the estimator's class, its ``get_params()``, its fitted
attributes, the optimizer's state and the training history. Nothing in the
file is ever unpickled or evaluated: loading parses the safetensors header
(a JSON table, read by the ``safetensors`` library) and that JSON document
with the standard library's decoder, and builds values only of the types
listed below, checking each field.

The JSON value encoding (:func:`encode_value`, :func:`decode_value`):

- ``null``, booleans, integers, strings, lists and objects (dicts with string
  keys) stand for themselves; a finite float for itself;
- every other value is an object with a ``"$type"`` key: ``"float"``
  (``"nan"``, ``"inf"``, ``"-inf"``), ``"tuple"``, ``"dict"`` (any keys, as
  ``[key, value]`` pairs), ``"numpy_scalar"``, ``"ndarray"`` (numeric arrays
  by the name of a tensor of the file; string and object arrays inline),
  ``"tensor"``, ``"RandomState"`` (its state), ``"torch_device"``,
  ``"object"`` (an instance of one of this library's value classes, by its
  class's dotted name and the arguments that rebuild it: a dataclass's
  fields, ``get_params()``, or the ``__init__`` arguments it keeps as
  attributes of the same names; e.g. :class:`~skimbalance.ConvNetBackbone`
  or a loss object) and ``"unstorable"`` (a parameter
  that cannot be stored without pickle: a custom backbone, callbacks, a
  callable; only its type's name is written).

Anything else in a file (an unknown ``"$type"``, a class from outside the
library, a duplicate key, ``NaN`` literals, a tensor nothing refers to) is
refused with a :class:`ValueError` that names it.
"""

import dataclasses
import importlib
import inspect
import json
import math
import os
import re
import uuid
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

#: Name of the format, in the file's metadata.
FORMAT_NAME = "skimbalance-model"
#: Version of the format this library writes and reads.
FORMAT_VERSION = 1

_DOCUMENT_KEY = "skimbalance"
_DOCUMENT_FIELDS = (
    "format",
    "format_version",
    "library_version",
    "class",
    "params",
    "attributes",
    "net",
)
_NET_FIELDS = ("device", "optimizer", "history")
_TYPE = "$type"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LIBRARY_MODULE = re.compile(r"skimbalance(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
# numpy dtypes of arrays stored as tensors (safetensors' numeric types).
_TENSOR_KINDS = "biuf"


class UnstorableValueError(ValueError):
    """A value that a model file cannot hold without pickle."""


# ---------------------------------------------------------------- encoding
class _Encoder:
    """Encode values as JSON, collecting their arrays as named tensors."""

    def __init__(self, tensors, placeholders=False):
        self.tensors = tensors
        self.placeholders = placeholders

    def tensor_name(self, tensor):
        n = 0
        while f"data.{n}" in self.tensors:
            n += 1
        name = f"data.{n}"
        self.tensors[name] = tensor.detach().to("cpu", copy=True).contiguous()
        return name

    def __call__(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if type(value) is int:
            return value
        if type(value) is float:
            if math.isfinite(value):
                return value
            return {_TYPE: "float", "value": repr(value)}
        if isinstance(value, np.generic):
            return self.numpy_scalar(value, where)
        if isinstance(value, np.ndarray):
            return self.ndarray(value, where)
        if isinstance(value, torch.Tensor):
            return {_TYPE: "tensor", "tensor": self.tensor_name(value)}
        if isinstance(value, torch.device):
            return {_TYPE: "torch_device", "value": str(value)}
        if type(value) is tuple:
            return {
                _TYPE: "tuple",
                "items": [self(v, f"{where}[{i}]") for i, v in enumerate(value)],
            }
        if type(value) is list:
            return [self(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if type(value) is dict:
            if all(type(k) is str for k in value) and _TYPE not in value:
                return {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {
                _TYPE: "dict",
                "items": [
                    [self(k, f"{where} key {k!r}"), self(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ],
            }
        if type(value) is np.random.RandomState:
            return {
                _TYPE: "RandomState",
                "state": self(value.get_state(legacy=True), f"{where} state"),
            }
        cls = type(value)
        fields = _object_fields(value) if _is_library_value_class(cls) else None
        if fields is not None and cls.__qualname__ == cls.__name__:
            return {
                _TYPE: "object",
                "class": f"{cls.__module__}.{cls.__name__}",
                "params": {
                    name: self(field, f"{where}.{name}")
                    for name, field in fields.items()
                },
            }
        kind = f"{cls.__module__}.{cls.__qualname__}"
        if self.placeholders:
            return {_TYPE: "unstorable", "class": kind}
        raise UnstorableValueError(
            f"{where} is a {kind}, which a model file cannot hold without pickle."
        )

    def numpy_scalar(self, value, where):
        dtype = value.dtype
        if dtype.kind == "U":
            return {_TYPE: "numpy_scalar", "dtype": "str", "value": str(value)}
        if dtype.kind not in _TENSOR_KINDS:
            raise UnstorableValueError(
                f"{where} is a numpy {dtype} scalar, which a model file cannot hold."
            )
        return {
            _TYPE: "numpy_scalar",
            "dtype": dtype.name,
            "value": self(value.item(), where),
        }

    def ndarray(self, value, where):
        dtype = value.dtype
        if dtype.kind in _TENSOR_KINDS:
            native = np.ascontiguousarray(value, dtype=dtype.newbyteorder("="))
            tensor = torch.from_numpy(native.reshape(-1)).reshape(value.shape)
            return {
                _TYPE: "ndarray",
                "dtype": dtype.name,
                "tensor": self.tensor_name(tensor),
            }
        if dtype.kind == "U":
            return {
                _TYPE: "ndarray",
                "dtype": f"U{dtype.itemsize // 4}",
                "shape": list(value.shape),
                "data": [str(v) for v in value.reshape(-1).tolist()],
            }
        if dtype.kind == "O":
            return {
                _TYPE: "ndarray",
                "dtype": "object",
                "shape": list(value.shape),
                "data": [
                    self(v, f"{where} element") for v in value.reshape(-1).tolist()
                ],
            }
        raise UnstorableValueError(
            f"{where} is an array of dtype {dtype}, which a model file cannot hold."
        )


def _is_library_value_class(cls):
    """Whether instances of ``cls`` may be stored by their class and fields:
    a class of this library (not an exception) that is a dataclass, has
    ``get_params``, or whose ``__init__`` takes named arguments only."""
    if not isinstance(cls, type) or issubclass(cls, BaseException):
        return False
    if not _LIBRARY_MODULE.match(getattr(cls, "__module__", "") or ""):
        return False
    if dataclasses.is_dataclass(cls) or callable(getattr(cls, "get_params", None)):
        return True
    return _init_arguments(cls) is not None


def _init_arguments(cls):
    """The names of ``cls.__init__``'s arguments, or None with ``*args`` or
    ``**kwargs`` (or no signature)."""
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return None
    names = []
    for name, param in list(signature.parameters.items())[1:]:  # past self
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            return None
        names.append(name)
    return names


def _object_fields(value):
    """The fields that rebuild ``value`` (a library value class's instance),
    or None: a dataclass's init fields, ``get_params()``, or else (the
    scikit-learn convention) every ``__init__`` argument kept as an instance
    attribute of the same name."""
    if dataclasses.is_dataclass(value):
        return {
            field.name: getattr(value, field.name)
            for field in dataclasses.fields(value)
            if field.init
        }
    if callable(getattr(value, "get_params", None)):
        return dict(value.get_params(deep=False))
    names = _init_arguments(type(value))
    own = vars(value)
    if names is None or not all(name in own for name in names):
        return None
    return {name: own[name] for name in names}


def encode_value(value, tensors, where="value", *, placeholders=False):
    """The JSON form of ``value``; its arrays and tensors go to ``tensors``.

    Parameters
    ----------
    value : object
        A value of one of the types the format lists (module docstring).
    tensors : dict
        Named CPU tensors of the file, extended with ``value``'s arrays.
    where : str, default="value"
        What ``value`` is, for error messages.
    placeholders : bool, default=False
        Write a value of another type as an ``"unstorable"`` placeholder
        (parameters) instead of raising.

    Returns
    -------
    object
        JSON-serialisable.

    Raises
    ------
    UnstorableValueError
        For a value of another type, unless ``placeholders``.

    Examples
    --------
    >>> import numpy as np
    >>> from skimbalance.persistence import decode_value, encode_value
    >>> tensors = {}
    >>> doc = encode_value({"sizes": (64, 32), 1: np.arange(3)}, tensors)
    >>> doc["$type"], sorted(tensors)
    ('dict', ['data.0'])
    >>> decode_value(doc, tensors)
    {'sizes': (64, 32), 1: array([0, 1, 2])}
    """
    return _Encoder(tensors, placeholders)(value, where)


# ---------------------------------------------------------------- decoding
class _Decoder:
    """Decode :func:`encode_value`'s JSON, checking every field."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.used = set()

    def fail(self, where, what):
        raise ValueError(f"Invalid model file: {where} {what}.")

    def fields(self, value, where, *names):
        keys = set(value) - {_TYPE}
        if keys != set(names):
            self.fail(
                where,
                f"of type {value[_TYPE]!r} must have the fields {sorted(names)}, "
                f"not {sorted(keys)}",
            )
        return [value[name] for name in names]

    def tensor(self, name, where):
        if not isinstance(name, str) or not name.startswith("data."):
            self.fail(where, f"names the tensor {name!r}, which is not a data tensor")
        if name not in self.tensors:
            self.fail(where, f"names the tensor {name!r}, which the file lacks")
        if name in self.used:
            self.fail(where, f"names the tensor {name!r} a second time")
        self.used.add(name)
        return self.tensors[name]

    def __call__(self, value, where):
        if value is None or isinstance(value, (bool, str)):
            return value
        if type(value) is int:
            return value
        if type(value) is float:
            return value
        if type(value) is list:
            return [self(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if type(value) is not dict:
            self.fail(where, f"is a {type(value).__name__}")
        if _TYPE not in value:
            return {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
        kind = value[_TYPE]
        method = getattr(self, f"decode_{kind}", None) if type(kind) is str else None
        if method is None or not _IDENTIFIER.match(kind):
            self.fail(where, f"has the unknown value type {kind!r}")
        return method(value, where)

    def decode_float(self, value, where):
        (text,) = self.fields(value, where, "value")
        if text not in ("nan", "inf", "-inf"):
            self.fail(where, f"is the float {text!r}, not 'nan', 'inf' or '-inf'")
        return float(text)

    def decode_tuple(self, value, where):
        (items,) = self.fields(value, where, "items")
        if type(items) is not list:
            self.fail(where, "has items that are not a list")
        return tuple(self(v, f"{where}[{i}]") for i, v in enumerate(items))

    def decode_dict(self, value, where):
        (items,) = self.fields(value, where, "items")
        if type(items) is not list or not all(
            type(pair) is list and len(pair) == 2 for pair in items
        ):
            self.fail(where, "has items that are not [key, value] pairs")
        out = {}
        for key, item in items:
            key = self(key, f"{where} key")
            try:
                hash(key)
            except TypeError:
                self.fail(where, f"has an unhashable key {key!r}")
            if key in out:
                self.fail(where, f"has the key {key!r} twice")
            out[key] = self(item, f"{where}[{key!r}]")
        return out

    def decode_numpy_scalar(self, value, where):
        dtype, item = self.fields(value, where, "dtype", "value")
        if dtype == "str":
            if type(item) is not str:
                self.fail(where, "is a numpy str scalar whose value is not a string")
            return np.str_(item)
        dtype = self.numeric_dtype(dtype, where)
        item = self(item, where)
        if type(item) not in (bool, int, float):
            self.fail(where, f"is a numpy {dtype} scalar of value {item!r}")
        return dtype.type(item)

    def numeric_dtype(self, name, where):
        try:
            dtype = np.dtype(name) if type(name) is str else None
        except TypeError:
            dtype = None
        if dtype is None or dtype.kind not in _TENSOR_KINDS or dtype.name != name:
            self.fail(where, f"has the dtype {name!r}, not a numeric numpy dtype")
        return dtype

    def decode_ndarray(self, value, where):
        dtype = value.get("dtype")
        if "tensor" in value:
            dtype, name = self.fields(value, where, "dtype", "tensor")
            dtype = self.numeric_dtype(dtype, where)
            array = self.tensor(name, where).numpy()
            if array.dtype != dtype:
                self.fail(where, f"is {dtype} but its tensor {name!r} is {array.dtype}")
            return array.copy()
        dtype, shape, data = self.fields(value, where, "dtype", "shape", "data")
        if (
            type(shape) is not list
            or not all(type(n) is int and n >= 0 for n in shape)
            or type(data) is not list
            or len(data) != math.prod(shape)
        ):
            self.fail(where, "has a shape that does not match its data")
        if dtype == "object":
            array = np.empty(len(data), dtype=object)
            for i, item in enumerate(data):
                array[i] = self(item, f"{where}[{i}]")
            return array.reshape(shape)
        if type(dtype) is not str or not re.fullmatch(r"U[0-9]+", dtype):
            self.fail(where, f"has the dtype {dtype!r}")
        if not all(type(item) is str for item in data):
            self.fail(where, "is a string array with items that are not strings")
        return np.array(data, dtype=dtype).reshape(shape)

    def decode_tensor(self, value, where):
        (name,) = self.fields(value, where, "tensor")
        return self.tensor(name, where).clone()

    def decode_torch_device(self, value, where):
        (text,) = self.fields(value, where, "value")
        try:
            return torch.device(text)
        except (TypeError, RuntimeError):
            self.fail(where, f"is the device {text!r}, which torch cannot parse")

    def decode_RandomState(self, value, where):
        (state,) = self.fields(value, where, "state")
        state = self(state, where)
        random_state = np.random.RandomState()
        try:
            random_state.set_state(state)
        except (TypeError, ValueError) as exc:
            self.fail(where, f"is not a RandomState state ({exc})")
        return random_state

    def decode_object(self, value, where):
        path, params = self.fields(value, where, "class", "params")
        cls = _library_class(path, where)
        if type(params) is not dict or _TYPE in params:
            self.fail(where, "has params that are not an object")
        kwargs = {k: self(v, f"{where}.{k}") for k, v in params.items()}
        try:
            # A torch module draws its initial weights: not from the global stream.
            with torch.random.fork_rng(devices=[]):
                built = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            self.fail(where, f"cannot rebuild a {path} ({exc})")
        if _object_fields(built) is None:  # what save_model would not write
            self.fail(
                where,
                f"is an object of class {path!r}, which is not a skimbalance class "
                "that a model file can hold",
            )
        return built

    def decode_unstorable(self, value, where):
        (kind,) = self.fields(value, where, "class")
        if type(kind) is not str:
            self.fail(where, "has a class name that is not a string")
        return _Unstorable(kind)


class _Unstorable:
    """A parameter the file could not store (see ``"unstorable"``)."""

    def __init__(self, kind):
        self.kind = kind


def _library_class(path, where):
    """The class of this library at dotted ``path``, if its instances are
    stored by their fields; a ValueError otherwise (nothing else imported)."""
    module, _, name = path.rpartition(".") if type(path) is str else ("", "", "")
    if not _LIBRARY_MODULE.match(module) or not _IDENTIFIER.match(name):
        raise ValueError(
            f"Invalid model file: {where} is an object of class {path!r}; a model "
            "file may hold objects of skimbalance's own classes only."
        )
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        cls = None
    if (
        not isinstance(cls, type)
        or cls.__module__ != module
        or not _is_library_value_class(cls)
    ):
        raise ValueError(
            f"Invalid model file: {where} is an object of class {path!r}, which is "
            "not a skimbalance class that a model file can hold."
        )
    return cls


def decode_value(value, tensors, where="value"):
    """The value :func:`encode_value` encoded, rebuilt from JSON and ``tensors``.

    Parameters
    ----------
    value : object
        Parsed JSON.
    tensors : dict
        The file's named tensors.
    where : str, default="value"
        What ``value`` is, for error messages.

    Returns
    -------
    object

    Raises
    ------
    ValueError
        For anything that :func:`encode_value` does not write.

    Examples
    --------
    >>> from skimbalance.persistence import decode_value
    >>> decode_value({"$type": "tuple", "items": [1, 2]}, {})
    (1, 2)
    >>> decode_value({"$type": "pickle", "data": "gASV..."}, {}, "params['lr']")
    Traceback (most recent call last):
    ...
    ValueError: Invalid model file: params['lr'] has the unknown value type 'pickle'.
    """
    return _Decoder(tensors)(value, where)


def _strict_json(text):
    """Parse ``text`` with the standard decoder: plain dicts and lists only,
    no ``NaN``/``Infinity`` literals, no key given twice."""

    def pairs(items):
        out = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"Invalid model file: the key {key!r} is repeated.")
            out[key] = value
        return out

    def constant(name):
        raise ValueError(f"Invalid model file: the JSON holds the literal {name}.")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"Invalid model file: its JSON does not parse ({exc})."
        ) from None


# --------------------------------------------------------------- the files
def _library_estimators():
    """The public estimator classes, by name."""
    import skimbalance

    from .base import BaseDeepClassifier

    return {
        name: getattr(skimbalance, name)
        for name in skimbalance.__all__
        if isinstance(getattr(skimbalance, name), type)
        and issubclass(getattr(skimbalance, name), BaseDeepClassifier)
    }


def save_model(estimator, path):
    """Save a fitted estimator to one file, without pickle.

    The file (a `safetensors <https://huggingface.co/docs/safetensors>`_ file)
    holds the estimator's class, its ``get_params()`` and its fitted
    attributes as JSON, and the network's weights, the criterion's buffers,
    the optimizer's state and every numeric array as tensors.
    :func:`load_model` rebuilds the estimator from it without running any
    code from the file. A parameter that is not data — your own ``backbone``
    module or factory, ``callbacks``, a callable ``scoring`` — is written as a
    placeholder naming its type, and :func:`load_model` asks you for it again.
    See the user guide, "Saving and serving".

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator of this library (one of
        :class:`~skimbalance.CrossEntropyClassifier`,
        :class:`~skimbalance.CRLClassifier`,
        :class:`~skimbalance.CLMLEClassifier`,
        :class:`~skimbalance.UncertaintyMarginClassifier`).
    path : str or path-like
        File to write (conventionally ``*.safetensors``); replaced if it
        exists. The file appears complete or not at all.

    Returns
    -------
    path : str or path-like
        ``path``, as given.

    Raises
    ------
    TypeError
        If ``estimator`` is not one of the library's estimators.
    sklearn.exceptions.NotFittedError
        If it is not fitted.
    ValueError
        If a fitted attribute is of a type the format cannot hold.

    See Also
    --------
    load_model : the estimator back from the file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import make_classification
    >>> from skimbalance import CrossEntropyClassifier, load_model, save_model
    >>> X, y = make_classification(200, weights=[0.9], random_state=0)
    >>> clf = CrossEntropyClassifier(hidden_layer_sizes=(16,), max_epochs=2,
    ...                              random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_model(clf, Path(folder) / "model.safetensors")
    ...     loaded = load_model(path)
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    from safetensors.torch import save_file

    from . import __version__

    estimators = _library_estimators()
    name = type(estimator).__name__
    if estimators.get(name) is not type(estimator):
        raise TypeError(
            f"save_model saves the estimators of skimbalance "
            f"({', '.join(sorted(estimators))}); got a {type(estimator).__qualname__}. "
            "For a Pipeline, save its skimbalance step with save_model and the "
            "other steps with their own tools (see the user guide)."
        )
    check_is_fitted(estimator)
    net = estimator.net_
    tensors = {}
    params = {
        key: encode_value(value, tensors, f"parameter {key!r}", placeholders=True)
        for key, value in estimator.get_params(deep=False).items()
    }
    attributes = {
        key: encode_value(value, tensors, f"attribute {key!r}")
        for key, value in estimator._fitted_state().items()
    }
    for prefix, part in _stateful_parts(net):
        for key, tensor in part.state_dict().items():
            tensors[f"{prefix}.{key}"] = tensor.detach().to("cpu", copy=True)
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": name,
        "params": params,
        "attributes": attributes,
        "net": {
            "device": str(net.device),
            "optimizer": encode_value(
                net.optimizer_.state_dict(), tensors, "the optimizer's state"
            ),
            "history": encode_value(list(net.history), tensors, "net_.history"),
        },
    }
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        _DOCUMENT_KEY: text,
    }
    # Written next to the target and renamed: the file appears whole or not
    # at all (with the permissions of any new file).
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        save_file({k: v.contiguous() for k, v in tensors.items()}, temporary, metadata)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _stateful_parts(net):
    """``(tensor-name prefix, torch module)`` of the net's stored state dicts:
    the module and, when it is a torch module, the criterion."""
    parts = [("module", net.module_)]
    if isinstance(net.criterion_, torch.nn.Module):
        parts.append(("criterion", net.criterion_))
    return parts


def _read_file(path):
    """The metadata and tensors (on the CPU) of a safetensors file."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(os.fspath(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("format") != FORMAT_NAME:
                raise ValueError(
                    f"{os.fspath(path)!r} is a safetensors file but not a skimbalance "
                    "model file (its metadata do not name the format "
                    f"{FORMAT_NAME!r}); save models with skimbalance.save_model."
                )
            version = metadata.get("format_version")
            if version != str(FORMAT_VERSION):
                raise ValueError(
                    f"{os.fspath(path)!r} is a skimbalance model file of format "
                    f"version {version!r}; this skimbalance reads version "
                    f"{FORMAT_VERSION} only. Load it with the skimbalance version "
                    "that wrote it (its metadata say which)."
                )
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except SafetensorError as exc:
        raise ValueError(
            f"{os.fspath(path)!r} is not a skimbalance model file: it is not a "
            f"safetensors file ({type(exc).__name__}: {exc}). Nothing of it was run."
        ) from None
    return metadata, tensors


def _check_fields(value, fields, where):
    if type(value) is not dict or set(value) != set(fields):
        got = sorted(value) if type(value) is dict else type(value).__name__
        raise ValueError(
            f"Invalid model file: {where} must have the fields {sorted(fields)}; "
            f"got {got}."
        )


def load_model(path, *, params=None, device=None):
    """Load an estimator saved by :func:`save_model`, without unpickling anything.

    The estimator is rebuilt from its class (one of the library's
    estimators), its parameters and its fitted attributes; its network is
    built from the parameters and the fitted shapes, without training, and
    the file's weights are loaded into it. The result is a fitted estimator:
    ``predict``, ``predict_proba``, ``decision_function`` and ``score`` give
    what the saved one gave (bitwise on the CPU), and a ``fit`` with
    ``warm_start=True`` continues its training as the saved one would have
    (optimizer state and history included), where the estimator supports
    warm starts.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.
    params : dict or None, default=None
        Values of the parameters the file could not store (a custom
        ``backbone``, ``callbacks``, a callable ``scoring``), rebuilt by you:
        e.g. ``{"backbone": MyCNN()}``, the same architecture as the saved
        model's; its weights come from the file. Only such parameters may be
        given (change the others with ``set_params`` after loading).
    device : str, torch.device or None, default=None
        Where to put the network. None: the device it was saved from when
        this machine has it, else the CPU (a model saved on a GPU loads on a
        CPU-only machine). The ``device`` parameter is kept as saved.

    Returns
    -------
    estimator : estimator instance
        The fitted estimator.

    Raises
    ------
    ValueError
        If the file is not a model file of this format version (e.g. a
        pickle), names a class that is not one of the library's estimators,
        holds a value that is not data, a parameter the class does not take
        or weights that do not fit the network; or if it holds a placeholder
        for a parameter that ``params`` does not give.

    See Also
    --------
    save_model : write the file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklearn.datasets import make_classification
    >>> from skimbalance import CRLClassifier, load_model, save_model
    >>> X, y = make_classification(200, weights=[0.9], random_state=0)
    >>> clf = CRLClassifier(hidden_layer_sizes=(16,), max_epochs=2,
    ...                     random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     loaded = load_model(save_model(clf, Path(folder) / "crl.safetensors"))
    >>> loaded.get_params() == clf.get_params()
    True
    >>> bool((loaded.decision_function(X) == clf.decision_function(X)).all())
    True
    """
    metadata, tensors = _read_file(path)
    if set(metadata) != {"format", "format_version", _DOCUMENT_KEY}:
        raise ValueError(
            "Invalid model file: its metadata must hold 'format', "
            f"'format_version' and {_DOCUMENT_KEY!r}; got {sorted(metadata)}."
        )
    document = _strict_json(metadata[_DOCUMENT_KEY])
    _check_fields(document, _DOCUMENT_FIELDS, "the JSON document")
    if (
        document["format"] != FORMAT_NAME
        or type(document["format_version"]) is not int
        or document["format_version"] != FORMAT_VERSION
    ):
        raise ValueError(
            "Invalid model file: its JSON document is not of format "
            f"{FORMAT_NAME!r} version {FORMAT_VERSION}."
        )
    estimators = _library_estimators()
    name = document["class"]
    if type(name) is not str or name not in estimators:
        raise ValueError(
            f"Invalid model file: its class {name!r} is not one of skimbalance's "
            f"estimators ({', '.join(sorted(estimators))}); load_model builds "
            "nothing else."
        )
    cls = estimators[name]
    decoder = _Decoder(tensors)
    values = _parameters(cls, document, decoder, dict(params or {}))
    estimator = cls(**values)
    try:
        estimator._validate_params()
    except ValueError as exc:
        raise ValueError(
            f"The file's parameters are not valid for {name}: {exc}"
        ) from None
    state = _attributes(cls, document["attributes"], set(values), decoder)
    try:
        estimator._restore_fitted_state(state)
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise ValueError(
            f"The file's fitted attributes do not describe a fitted {name}: {exc}"
        ) from None
    estimator.net_ = _network(estimator, document["net"], decoder, device)
    unused = sorted(set(tensors) - decoder.used)
    if unused:
        raise ValueError(
            f"Invalid model file: it holds tensors nothing refers to: {unused[:5]}."
        )
    return estimator


def _parameters(cls, document, decoder, given):
    """The estimator's parameters: the file's, with ``given`` in place of its
    placeholders (each of which must be given)."""
    stored = document["params"]
    if type(stored) is not dict or _TYPE in stored:
        raise ValueError("Invalid model file: 'params' must be a JSON object.")
    expected = set(cls().get_params(deep=False))
    if set(stored) != expected:
        unknown = sorted(set(stored) - expected)
        missing = sorted(expected - set(stored))
        raise ValueError(
            f"The file's parameters do not match {cls.__name__}'s in this "
            f"skimbalance: unknown {unknown}, missing {missing} (written by "
            f"skimbalance {document['library_version']!r})."
        )
    values = {
        key: decoder(value, f"parameter {key!r}") for key, value in stored.items()
    }
    unstorable = {
        key: kinds for key, value in values.items() if (kinds := _unstorable(value))
    }
    if set(given) - set(unstorable):
        extra = sorted(set(given) - set(unstorable))
        raise ValueError(
            f"params= may give only the parameters the file could not store "
            f"({sorted(unstorable) or 'none here'}), not {extra}: set the others "
            "with set_params after loading."
        )
    missing = {key: kinds for key, kinds in unstorable.items() if key not in given}
    if missing:
        listing = ", ".join(
            f"{key!r} ({', '.join(kinds)})" for key, kinds in missing.items()
        )
        raise ValueError(
            f"The model was saved with parameters that are custom objects, which a "
            f"model file cannot hold without pickle: {listing}. Rebuild them as they "
            "were and pass them, e.g. load_model(path, params={"
            + ", ".join(f"{key!r}: ..." for key in missing)
            + "}); the weights are loaded from the file into the rebuilt network."
        )
    return {**values, **given}


def _attributes(cls, stored, params, decoder):
    """The fitted attributes: data, under names that are neither parameters
    nor anything the class defines (methods, properties, class attributes)."""
    if type(stored) is not dict or _TYPE in stored:
        raise ValueError("Invalid model file: 'attributes' must be a JSON object.")
    state = {}
    for key, value in stored.items():
        if (
            not _IDENTIFIER.match(key)
            or key.startswith("__")
            or key in params
            or key == "net_"
            or hasattr(cls, key)
        ):
            raise ValueError(
                f"Invalid model file: {key!r} cannot be a fitted attribute of "
                f"{cls.__name__}."
            )
        state[key] = decoder(value, f"attribute {key!r}")
    return state


def _network(estimator, stored, decoder, device):
    """The fitted skorch net: built from the parameters and the fitted
    attributes, then the file's weights, optimizer state and history."""
    from skorch.history import History

    from .base import resolve_device

    _check_fields(stored, _NET_FIELDS, "'net'")
    if device is None:
        saved = stored["device"]
        if type(saved) is not str:
            raise ValueError("Invalid model file: net.device must be a string.")
        try:
            device = resolve_device(saved)
        except ValueError:  # e.g. saved on a GPU, loaded where there is none
            device = "cpu"
    else:
        device = resolve_device(str(device))
    try:
        net = estimator._build_fitted_net(device)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ValueError(
            "The file's fitted attributes do not describe a fitted "
            f"{type(estimator).__name__}: {exc}"
        ) from None
    for prefix, part in _stateful_parts(net):
        weights = {
            key[len(prefix) + 1 :]: tensor
            for key, tensor in decoder.tensors.items()
            if key.startswith(f"{prefix}.")
        }
        try:
            part.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"The file's {prefix} weights do not fit the network that its "
                f"parameters describe ({exc})."
            ) from None
        decoder.used.update(f"{prefix}.{key}" for key in weights)
    optimizer = decoder(stored["optimizer"], "the optimizer's state")
    try:
        net.optimizer_.load_state_dict(optimizer)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(
            "Invalid model file: the optimizer's state does not fit the network "
            f"({exc})."
        ) from None
    history = decoder(stored["history"], "net_.history")
    if type(history) is not list or not all(type(row) is dict for row in history):
        raise ValueError("Invalid model file: net_.history must be a list of objects.")
    net.history = History(history)
    return net


def _unstorable(value):
    """The type names of the placeholders in a decoded parameter value."""
    if isinstance(value, _Unstorable):
        return [value.kind]
    if isinstance(value, (list, tuple)):
        return [kind for v in value for kind in _unstorable(v)]
    if isinstance(value, dict):
        return [kind for v in value.values() for kind in _unstorable(v)]
    return []
