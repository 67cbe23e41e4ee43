"""save_model / load_model: files without pickle (issue 34, items 1, 2 and 4)."""

import base64
import copy
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.base import BaseEstimator
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import LRScheduler
from small_estimators import ESTIMATORS, SMALL

import skimbalance
from skimbalance import (
    ConvNetBackbone,
    CrossEntropyClassifier,
    load_model,
    save_model,
)
from skimbalance._warnings import _WARNED
from skimbalance.class_weight import EffectiveNumberWeights
from skimbalance.losses import FocalLoss, LDAMLoss


@pytest.fixture(scope="module")
def multiclass():
    """Three imbalanced classes with string labels."""
    X, y = make_classification(
        n_samples=240,
        n_features=8,
        n_informative=5,
        n_classes=3,
        weights=[0.75, 0.18, 0.07],
        random_state=0,
    )
    return X, np.array(["common", "rare", "rarest"])[y]


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(
        n_samples=160, n_features=8, n_classes=3, random_state=0
    )
    return X, Y


def assert_same_value(a, b, where="value"):
    """``a`` and ``b`` equal, of the same types, arrays of the same dtype."""
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_value(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same_value(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    elif hasattr(a, "get_params"):  # a loss or class-weight object
        assert a is not b, where
        assert_same_value(a.get_params(), b.get_params(), f"{where}.get_params()")
    else:
        assert a == b, where


def assert_same_predictions(original, loaded, X, y):
    for method in ("predict", "predict_proba", "decision_function"):
        expected, got = getattr(original, method)(X), getattr(loaded, method)(X)
        assert got.dtype == expected.dtype, method
        assert np.array_equal(got, expected), method  # bitwise, on the CPU
    assert loaded.score(X, y) == original.score(X, y)


def round_trip(estimator, tmp_path, **kwargs):
    path = tmp_path / "model.safetensors"
    assert save_model(estimator, path) == path
    return load_model(path, **kwargs)


@pytest.mark.parametrize("target", ["multiclass", "multilabel"])
@pytest.mark.parametrize(
    "name, extra",
    [(name, {}) for name in sorted(ESTIMATORS)] + [("um", {"mc_predict": True})],
    ids=[*sorted(ESTIMATORS), "um-mc_predict"],
)
def test_round_trip_gives_the_same_estimator(name, extra, target, request, tmp_path):
    X, y = request.getfixturevalue(target)
    original = ESTIMATORS[name](random_state=0, device="cpu", **extra).fit(X, y)
    loaded = round_trip(original, tmp_path)

    assert type(loaded) is type(original)
    check_is_fitted(loaded)
    assert loaded.net_ is not original.net_
    # The parameters, of the same types (a tuple stays a tuple).
    assert_same_value(original.get_params(), loaded.get_params(), "params")
    assert type(loaded.hidden_layer_sizes) is tuple
    # Every fitted attribute, public and private, with its dtype.
    assert_same_value(original._fitted_state(), loaded._fitted_state(), "state")
    assert_same_value(
        original.net_.module_.state_dict(), loaded.net_.module_.state_dict()
    )
    assert list(loaded.net_.history) == list(original.net_.history)
    assert_same_predictions(original, loaded, X, y)
    if name == "clmle":
        assert np.array_equal(loaded.transform(X), original.transform(X))
    if name == "um":
        assert np.array_equal(
            loaded.predict_uncertainty(X), original.predict_uncertainty(X)
        )


@pytest.mark.parametrize(
    "name, options",
    [
        ("ce", dict(loss="ldam", class_weight="effective_number")),
        (
            "crl",
            dict(
                loss=LDAMLoss(max_margin=0.3, scale=10.0),
                class_weight=EffectiveNumberWeights(beta=0.99),
            ),
        ),
        ("ce", dict(loss=FocalLoss(gamma=1.0))),
        ("ce", dict(loss="logit_adjusted", optimizer="sgd")),
        ("ce", dict(loss="focal", class_weight={"common": 1.0, "rare": 2.5})),
        ("crl", dict(crl_weight="imbalance", prior_correction=0.5)),
        ("ce", dict(prior_correction=1.0, target_prior=np.array([0.5, 0.3, 0.2]))),
        ("crl", dict(target_prior="train")),
        ("clmle", dict(knc_algorithm="kd_tree", class_weight=None)),
        ("um", dict(margin_type="cosface", class_weight_start_epoch=None)),
    ],
)
def test_round_trip_of_options(name, options, multiclass, tmp_path):
    X, y = multiclass
    original = ESTIMATORS[name](random_state=0, device="cpu", **options).fit(X, y)
    loaded = round_trip(original, tmp_path)
    assert_same_value(original.get_params(), loaded.get_params(), "params")
    assert_same_value(
        original.net_.criterion_.state_dict(), loaded.net_.criterion_.state_dict()
    )
    assert_same_predictions(original, loaded, X, y)


def test_parameters_of_every_json_kind_come_back_as_they_were(multiclass, tmp_path):
    X, y = multiclass
    random_state = np.random.RandomState(7)
    original = CrossEntropyClassifier(
        **{**SMALL, "hidden_layer_sizes": (16, 8)},
        max_epochs=2,
        optimizer_params={"betas": (0.85, 0.995), "eps": 1e-7},
        class_weight={"common": 1, "rare": np.float64(2.0), "rarest": 4.0},
        input_shape=[8],
        device=torch.device("cpu"),
        random_state=random_state,
    ).fit(X, y)
    loaded = round_trip(original, tmp_path)
    params = loaded.get_params()
    assert params["hidden_layer_sizes"] == (16, 8)
    assert params["input_shape"] == [8] and type(params["input_shape"]) is list
    assert params["optimizer_params"] == {"betas": (0.85, 0.995), "eps": 1e-7}
    assert type(params["class_weight"]["rare"]) is np.float64
    assert params["device"] == torch.device("cpu")
    # The RandomState, in the state the fit left it in: a new instance.
    assert params["random_state"] is not random_state
    saved, restored = random_state.get_state(), params["random_state"].get_state()
    assert saved[0] == restored[0] and np.array_equal(saved[1], restored[1])
    assert saved[2:] == restored[2:]
    assert_same_predictions(original, loaded, X, y)


def test_the_library_cnn_backbone_is_stored_by_its_settings(tmp_path):
    X, y = make_classification(n_samples=120, n_features=16, random_state=0)
    backbone = ConvNetBackbone(input_shape=(1, 4, 4), channels=(4,), hidden=8)
    original = CrossEntropyClassifier(
        backbone=backbone, max_epochs=2, random_state=0, device="cpu"
    ).fit(X, y)
    loaded = round_trip(original, tmp_path)
    assert loaded.backbone == backbone and loaded.backbone is not backbone
    assert_same_predictions(original, loaded, X, y)


def test_library_objects_are_stored_by_the_arguments_that_rebuild_them():
    # The generic path for parameters that are objects of the library (a loss
    # object, a callback): a dataclass's fields, get_params(), or the
    # __init__ arguments kept as attributes of the same name.
    from skimbalance.losses.focal import FocalLoss
    from skimbalance.modules import TaskLinear
    from skimbalance.persistence import (
        UnstorableValueError,
        decode_value,
        encode_value,
    )

    tensors = {}
    doc = encode_value([FocalLoss(gamma=3.0)], tensors)
    assert doc[0] == {
        "$type": "object",
        "class": "skimbalance.losses.focal.FocalLoss",
        "params": {"gamma": 3.0},
    }
    (loss,) = decode_value(json.loads(json.dumps(doc)), tensors)
    assert type(loss) is FocalLoss and loss.gamma == 3.0
    # A module whose state is its weights is not data.
    with pytest.raises(UnstorableValueError, match="TaskLinear"):
        encode_value(TaskLinear(1, 2, 3), {})
    assert encode_value(TaskLinear(1, 2, 3), {}, placeholders=True) == {
        "$type": "unstorable",
        "class": "skimbalance.modules.TaskLinear",
    }


def test_library_callbacks_come_back_without_being_asked_for(multiclass, tmp_path):
    from skimbalance.training.deferred_reweighting import DeferredReweighting

    X, y = multiclass
    callback = DeferredReweighting(np.array([[1.0, 2.0, 4.0]]), 2)
    original = ESTIMATORS["ce"](
        random_state=0, device="cpu", callbacks=[("drw", callback)]
    ).fit(X, y)
    loaded = round_trip(original, tmp_path)
    ((name, restored),) = loaded.callbacks
    assert name == "drw" and type(restored) is DeferredReweighting
    assert_same_value(restored.get_params(), callback.get_params())
    assert_same_predictions(original, loaded, X, y)


def test_feature_names_come_back(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    original = CrossEntropyClassifier(**SMALL, max_epochs=2, random_state=0).fit(
        frame, y
    )
    loaded = round_trip(original, tmp_path)
    assert_same_value(original.feature_names_in_, loaded.feature_names_in_)
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame[["b", "a", "c", "d"]])


def test_saving_changes_nothing_and_loading_touches_no_global_state(
    multiclass, tmp_path
):
    X, y = multiclass
    original = ESTIMATORS["clmle"](random_state=0, device="cpu").fit(X, y)
    keys, params = set(original.__dict__), original.get_params()
    weights = copy.deepcopy(original.net_.module_.state_dict())
    path = save_model(original, tmp_path / "model.safetensors")
    assert set(original.__dict__) == keys
    assert_same_value(params, original.get_params())
    assert_same_value(weights, original.net_.module_.state_dict())

    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    warned = set(_WARNED)
    load_model(path)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    assert set(_WARNED) == warned


def test_loading_repeats_none_of_the_fit_warnings(tmp_path):
    # Rebuilding the network runs the fit's setup, whose warnings were given
    # at fit: loading shows none and leaves them to be given by the next fit.
    import warnings

    from skimbalance._warnings import reset_warned

    X, y = make_classification(n_samples=80, n_features=6, random_state=0)
    make = ESTIMATORS["um"]
    with pytest.warns(UserWarning, match="no dropout"):
        original = make(dropout=0.0, random_state=0, device="cpu").fit(X, y)
    path = save_model(original, tmp_path / "model.safetensors")
    reset_warned()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(path)
    assert caught == []
    with pytest.warns(UserWarning, match="no dropout"):
        make(dropout=0.0, random_state=0, device="cpu").fit(X, y)


def test_tensors_are_mapped_to_the_cpu(multiclass, tmp_path, monkeypatch):
    # A file written from a GPU names its device; on a machine without one
    # the network is built, and the tensors are read, on the CPU.
    X, y = multiclass
    original = ESTIMATORS["ce"](random_state=0, device="cpu").fit(X, y)
    path = save_model(original, tmp_path / "model.safetensors")
    rewrite(path, lambda doc: doc["net"].update(device="cuda:0"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = load_model(path)
    assert loaded.net_.device == "cpu"
    assert all(
        t.device.type == "cpu" for t in loaded.net_.module_.state_dict().values()
    )
    assert_same_predictions(original, loaded, X, y)
    with pytest.raises(ValueError, match="CUDA is not available"):
        load_model(path, device="cuda")


@pytest.mark.gpu
def test_a_model_saved_on_a_gpu_loads_in_a_cpu_only_process(multiclass, tmp_path):
    X, y = multiclass
    original = ESTIMATORS["clmle"](random_state=0, device="cuda").fit(X, y)
    path = save_model(original, tmp_path / "model.safetensors")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", original.decision_function(X))
    script = (
        "import numpy as np, torch\n"
        "from skimbalance import load_model\n"
        "assert not torch.cuda.is_available()\n"
        f"clf = load_model({str(path)!r})\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
        f"expected = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "np.testing.assert_allclose(clf.decision_function(X), expected, atol=1e-4)\n"
        "print('loaded on', clf.net_.device)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        cwd=os.getcwd(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "loaded on cpu" in out.stdout


# ------------------------------------------------------------- warm start
# The deferred class weights start in the continued fit (epoch 5 of 6).
@pytest.mark.filterwarnings("ignore:class_weight_start_epoch=4 >= max_epochs=3")
@pytest.mark.parametrize(
    "name, options",
    [
        ("ce", dict(class_weight="balanced", class_weight_start_epoch=4)),
        ("ce", dict(optimizer="sgd", random_state=np.random.RandomState(3))),
        ("crl", dict()),
    ],
)
def test_warm_start_after_loading_continues_as_without_the_round_trip(
    name, options, multiclass, tmp_path
):
    X, y = multiclass
    options = {"random_state": 0, **options}
    original = ESTIMATORS[name](device="cpu", **options).fit(X, y)
    loaded = round_trip(original, tmp_path)
    original.set_params(warm_start=True).fit(X, y)
    loaded.set_params(warm_start=True).fit(X, y)
    assert loaded.n_iter_ == original.n_iter_ == 6
    assert list(loaded.net_.history) != [] and (
        loaded.net_.history[:, "train_loss"] == original.net_.history[:, "train_loss"]
    )
    assert_same_value(
        original.net_.optimizer_.state_dict()["state"],
        loaded.net_.optimizer_.state_dict()["state"],
    )
    assert_same_predictions(original, loaded, X, y)


def test_the_optimizer_state_is_what_makes_the_continuation_exact(multiclass, tmp_path):
    # Without the saved optimizer state (Adam's moments) the continued fit
    # differs: the test above checks the state, not a no-op.
    X, y = multiclass
    original = ESTIMATORS["ce"](random_state=0, device="cpu").fit(X, y)
    loaded = round_trip(original, tmp_path)
    loaded.net_.optimizer_.state.clear()
    original.set_params(warm_start=True).fit(X, y)
    loaded.set_params(warm_start=True).fit(X, y)
    assert not np.array_equal(loaded.predict_proba(X), original.predict_proba(X))


@pytest.mark.parametrize("name", ["clmle", "um"])
def test_warm_start_after_loading_is_refused_where_it_is_refused_anyway(
    name, multiclass, tmp_path
):
    X, y = multiclass
    original = ESTIMATORS[name](random_state=0, device="cpu").fit(X, y)
    loaded = round_trip(original, tmp_path).set_params(warm_start=True)
    expected = loaded.predict_proba(X)
    with pytest.raises(ValueError, match="does not support warm_start=True"):
        loaded.fit(X, y)
    assert np.array_equal(loaded.predict_proba(X), expected)


# ----------------------------------------------------------- custom objects
def test_a_custom_backbone_is_asked_for_again(multiclass, tmp_path):
    X, y = multiclass

    def backbone():
        return torch.nn.Sequential(torch.nn.Linear(8, 12), torch.nn.ReLU())

    original = CrossEntropyClassifier(
        backbone=backbone(),
        callbacks=[("schedule", LRScheduler())],
        max_epochs=2,
        random_state=0,
        device="cpu",
    ).fit(X, y)
    path = save_model(original, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="custom objects") as error:
        load_model(path)
    message = str(error.value)
    assert "'backbone' (torch.nn.modules.container.Sequential)" in message
    assert "'callbacks' (skorch.callbacks.lr_scheduler.LRScheduler)" in message
    assert "params={'backbone': ..., 'callbacks': ...}" in message

    given = backbone()
    weights = copy.deepcopy(given.state_dict())
    loaded = load_model(path, params={"backbone": given, "callbacks": None})
    assert loaded.backbone is given
    assert_same_value(weights, given.state_dict())  # the user's module untouched
    assert_same_predictions(original, loaded, X, y)

    wrong = torch.nn.Sequential(torch.nn.Linear(8, 5), torch.nn.ReLU())
    with pytest.raises(ValueError, match="weights do not fit the network"):
        load_model(path, params={"backbone": wrong, "callbacks": None})
    with pytest.raises(ValueError, match="may give only the parameters"):
        load_model(path, params={"backbone": given, "callbacks": None, "lr": 1.0})


def test_save_refuses_what_it_cannot_store(multiclass, tmp_path):
    X, y = multiclass
    with pytest.raises(TypeError, match="saves the estimators of skimbalance"):
        save_model(LogisticRegression().fit(X, y), tmp_path / "m.safetensors")
    with pytest.raises(NotFittedError):
        save_model(CrossEntropyClassifier(), tmp_path / "m.safetensors")
    clf = ESTIMATORS["ce"](random_state=0).fit(X, y)
    clf.extra_ = LogisticRegression()
    with pytest.raises(ValueError, match="attribute 'extra_' is a sklearn"):
        save_model(clf, tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())  # no partial file left behind


# ------------------------------------------------------------ refusals
def rewrite(path, change, *, tensors=None):
    """Rewrite the model file at ``path`` with ``change(document)`` applied."""
    with safe_open(path, framework="pt") as handle:
        metadata = handle.metadata()
        stored = {key: handle.get_tensor(key) for key in handle.keys()}
    document = json.loads(metadata["skimbalance"])
    change(document)
    metadata["skimbalance"] = json.dumps(document)
    save_file({**stored, **(tensors or {})}, path, metadata)


@pytest.fixture
def saved(multiclass, tmp_path):
    X, y = multiclass
    clf = ESTIMATORS["ce"](random_state=0, device="cpu").fit(X, y)
    return save_model(clf, tmp_path / "model.safetensors")


class _WritesMarker:
    """A pickle payload: unpickling it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickled_payload(marker):
    return base64.b64encode(pickle.dumps(_WritesMarker(marker))).decode()


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d.update({"class": "LogisticRegression"}),
            "is not one of skimbalance's estimators",
        ),
        (
            lambda d: d.update({"class": "BaseDeepClassifier"}),
            "is not one of skimbalance's estimators",
        ),
        (lambda d: d.update(format_version=2), "not of format"),
        (
            lambda d: d["params"].update(lr={"$type": "pickle", "data": "gASV"}),
            "parameter 'lr' has the unknown value type 'pickle'",
        ),
        (
            lambda d: d["params"].update(
                backbone={"$type": "object", "class": "builtins.eval", "params": {}}
            ),
            "skimbalance's own classes only",
        ),
        (
            lambda d: d["params"].update(
                backbone={
                    "$type": "object",
                    "class": "skimbalance.base.torch",
                    "params": {},
                }
            ),
            "not a skimbalance class that a model file can hold",
        ),
        (
            lambda d: d["params"].update(
                backbone={
                    "$type": "object",
                    "class": "skimbalance.modules.MLPBackbone",
                    "params": {"n_features": 8},
                }
            ),
            "not a skimbalance class that a model file can hold",
        ),
        (
            lambda d: d["params"].update(lr="fast"),
            "not valid for CrossEntropyClassifier",
        ),
        (lambda d: d["params"].update(new_option=1), r"unknown \['new_option'\]"),
        (lambda d: d["params"].pop("lr"), r"missing \['lr'\]"),
        (
            lambda d: d["attributes"].update(predict=1),
            "'predict' cannot be a fitted attribute",
        ),
        (
            lambda d: d["attributes"].update(classes_={"$type": "tensor"}),
            "must have the fields",
        ),
        (
            lambda d: d["attributes"].update(
                classes_={"$type": "ndarray", "dtype": "float64", "tensor": "module.x"}
            ),
            "not a data tensor",
        ),
        (
            lambda d: d["attributes"].update(
                class_counts_={
                    "$type": "ndarray",
                    "dtype": "int64",
                    "tensor": "data.99",
                }
            ),
            "which the file lacks",
        ),
        (
            lambda d: d["attributes"].pop("n_features_in_"),
            "do not describe a fitted CrossEntropyClassifier",
        ),
        (lambda d: d.update(extra=1), "must have the fields"),
    ],
)
def test_load_refuses_files_that_save_does_not_write(saved, change, message):
    rewrite(saved, change)
    with pytest.raises(ValueError, match=message):
        load_model(saved)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["attributes"].pop("centroids_"),
        lambda d: d["attributes"].update(cluster_labels_=["not", "a", "class"]),
    ],
)
def test_load_refuses_clmle_state_that_does_not_fit(change, multiclass, tmp_path):
    X, y = multiclass
    clf = ESTIMATORS["clmle"](random_state=0, device="cpu").fit(X, y)
    path = save_model(clf, tmp_path / "model.safetensors")
    rewrite(path, change)
    with pytest.raises(ValueError, match="do not describe a fitted CLMLEClassifier"):
        load_model(path)


def test_load_refuses_unknown_tensors_and_mismatched_weights(saved):
    rewrite(saved, lambda d: None, tensors={"data.77": torch.zeros(2)})
    with pytest.raises(ValueError, match="tensors nothing refers to"):
        load_model(saved)
    rewrite(saved, lambda d: None, tensors={"module.head.weight": torch.zeros(2)})
    with pytest.raises(ValueError, match="module weights do not fit"):
        load_model(saved)


def test_load_refuses_json_tricks(saved):
    with safe_open(saved, framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    text = metadata["skimbalance"]
    for bad, message in [
        (text.replace('"lr":0.01', '"lr":NaN'), "literal NaN"),
        (text.replace('"lr":0.01', '"lr":0.01,"lr":1e9'), "'lr' is repeated"),
        (text[:-2], "does not parse"),
    ]:
        assert bad != text
        save_file(tensors, saved, {**metadata, "skimbalance": bad})
        with pytest.raises(ValueError, match=message):
            load_model(saved)


def test_load_refuses_other_files(tmp_path):
    plain = tmp_path / "weights.safetensors"
    save_file({"weight": torch.zeros(2)}, plain)
    with pytest.raises(ValueError, match="not a skimbalance model file"):
        load_model(plain)
    old = tmp_path / "old.safetensors"
    save_file({}, old, {"format": "skimbalance-model", "format_version": "0"})
    with pytest.raises(ValueError, match="format version '0'"):
        load_model(old)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.safetensors")


# ------------------------------------------------ files carrying a payload
def test_a_pickle_payload_in_the_json_never_runs(saved, tmp_path):
    marker = tmp_path / "payload_ran"
    payload = _pickled_payload(marker)
    # The payload as a typed value, as a string parameter and as a string
    # attribute: none is ever unpickled.
    attempts = [
        lambda d: d["params"].update(backbone={"$type": "pickle", "data": payload}),
        lambda d: d["params"].update(backbone=payload),
        lambda d: d["attributes"].update(classes_={"$type": "bytes", "data": payload}),
        lambda d: d["net"].update(history={"$type": "pickle", "data": payload}),
    ]
    for attempt in attempts:
        rewrite(saved, attempt)
        with pytest.raises(ValueError):
            load_model(saved)
    assert not marker.exists()
    # The payload is live: unpickling it does write the marker.
    pickle.loads(base64.b64decode(payload)).close()
    assert marker.exists()


@pytest.mark.parametrize("kind", ["torch.save", "pickle"])
def test_a_pickle_file_passed_as_a_model_never_runs(kind, tmp_path):
    marker = tmp_path / "payload_ran"
    path = tmp_path / "model.safetensors"
    payload = {"module.backbone.0.weight": _WritesMarker(marker)}
    if kind == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ValueError, match="not a safetensors file"):
        load_model(path)
    assert not marker.exists()


def test_the_file_is_plain_safetensors_with_named_weights(saved):
    with safe_open(saved, framework="pt") as handle:
        names = set(handle.keys())
        metadata = handle.metadata()
    assert metadata["format"] == "skimbalance-model"
    assert metadata["format_version"] == "1"
    document = json.loads(metadata["skimbalance"])
    assert document["class"] == "CrossEntropyClassifier"
    assert document["library_version"] == skimbalance.__version__
    assert document["params"]["hidden_layer_sizes"] == {
        "$type": "tuple",
        "items": [16],
    }
    assert "module.head.weight" in names and "module.backbone.0.weight" in names


def test_estimators_outside_the_library_are_never_built(saved, monkeypatch):
    # The class is looked up among skimbalance's public estimators only: a
    # scikit-learn estimator of the same name elsewhere is not reachable.
    built = []

    class Probe(BaseEstimator):
        def __init__(self):
            built.append(self)

    monkeypatch.setattr(skimbalance, "Probe", Probe, raising=False)
    rewrite(saved, lambda d: d.update({"class": "Probe"}))
    with pytest.raises(ValueError, match="is not one of skimbalance's estimators"):
        load_model(saved)
    assert not built
