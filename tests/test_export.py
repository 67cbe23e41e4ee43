"""export_onnx: decision_function as an ONNX graph, checked with onnxruntime (issue 34, item 3)."""

import copy
import json

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_multilabel_classification
from small_estimators import ESTIMATORS

from skimbalance import (
    CrossEntropyClassifier,
)
from skimbalance.export import decision_module
from skimbalance.losses import LDAMLoss

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _data(target):
    if target == "multilabel":
        X, y = make_multilabel_classification(
            n_samples=160, n_features=8, n_classes=3, random_state=0
        )
        return X.astype(np.float32), y
    X, y = make_classification(
        n_samples=240,
        n_features=8,
        n_informative=5,
        n_classes=3,
        weights=[0.75, 0.18, 0.07],
        random_state=0,
    )
    if target == "binary":
        y = np.where(y == 0, "no", "yes")
    return X.astype(np.float32), y


def run_onnx(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inputs,), (outputs,) = session.get_inputs(), session.get_outputs()
    assert (inputs.name, outputs.name) == ("X", "decision_function")
    return session.run(None, {"X": X})[0]


@pytest.mark.parametrize(
    "name, target, options",
    [
        ("ce", "multiclass", {}),
        ("ce", "binary", dict(prior_correction=1.0)),
        ("ce", "multilabel", dict(loss=LDAMLoss(scale=10.0))),
        ("crl", "multiclass", {}),  # prior_correction="auto": tau = 1
        ("crl", "multilabel", {}),
        ("clmle", "multiclass", {}),
        ("clmle", "binary", dict(prior_correction=0.5)),
        ("crl", "multiclass", dict(target_prior=[0.2, 0.3, 0.5])),
        (
            "ce",
            "multiclass",
            dict(
                class_weight="balanced", prior_correction="auto", target_prior="train"
            ),
        ),
        ("clmle", "multilabel", {}),
        ("um", "multiclass", dict(margin_type="arcface")),
        ("um", "multilabel", {}),
    ],
)
def test_the_graph_gives_decision_function(name, target, options, tmp_path):
    X, y = _data(target)
    clf = ESTIMATORS[name](random_state=0, device="cpu", **options).fit(X, y)
    path = tmp_path / "model.onnx"
    assert clf.export_onnx(path) == path
    expected = clf.decision_function(X)
    # Any number of rows, one included.
    for rows in (X, X[:1], X[:7]):
        got = run_onnx(path, rows)
        assert got.dtype == np.float64 and got.shape == expected[: len(rows)].shape
        np.testing.assert_allclose(got, expected[: len(rows)], rtol=1e-5, atol=1e-5)
    # The prediction a server derives from the scores is the estimator's.
    scores = run_onnx(path, X)
    if target == "multilabel":
        assert np.array_equal((scores > 0).astype(int), clf.predict(X))
    elif scores.ndim == 1:
        assert np.mean(clf.classes_[(scores > 0).astype(int)] == clf.predict(X)) > 0.99
    else:
        assert np.mean(clf.classes_[scores.argmax(1)] == clf.predict(X)) > 0.99


def test_the_prior_correction_is_inside_the_graph(tmp_path):
    X, y = _data("multiclass")
    clf = ESTIMATORS["ce"](random_state=0, device="cpu").fit(X, y)
    plain, corrected = tmp_path / "plain.onnx", tmp_path / "corrected.onnx"
    clf.export_onnx(plain)
    corrected_clf = copy.deepcopy(clf).set_params(prior_correction=1.0)
    corrected_clf.export_onnx(corrected)
    difference = run_onnx(plain, X) - run_onnx(corrected, X)
    log_prior = np.log(clf.class_counts_ / clf.class_counts_.sum())
    np.testing.assert_allclose(difference, np.tile(log_prior, (len(X), 1)), atol=1e-6)
    np.testing.assert_allclose(
        run_onnx(corrected, X), corrected_clf.decision_function(X), atol=1e-5
    )


def test_the_graph_carries_what_a_server_needs(tmp_path):
    X, y = _data("binary")
    clf = ESTIMATORS["crl"](random_state=0, device="cpu").fit(X, y)
    path = clf.export_onnx(tmp_path / "model.onnx")
    model = onnx.load(path)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["estimator"] == "CRLClassifier"
    assert json.loads(props["classes"]) == ["no", "yes"]
    assert float(props["prior_correction_tau"]) == 1.0
    assert json.loads(props["multi_label"]) is False
    # The batch axis is free, the features fixed.
    (dims,) = [i.type.tensor_type.shape.dim for i in model.graph.input]
    assert not dims[0].HasField("dim_value") and dims[1].dim_value == 8


def test_export_leaves_the_estimator_as_it_was(tmp_path):
    X, y = _data("multiclass")
    clf = ESTIMATORS["um"](random_state=0, device="cpu").fit(X, y)
    expected = clf.predict_proba(X)
    weights = copy.deepcopy(clf.net_.module_.state_dict())
    clf.net_.module_.train()  # whatever mode the user left it in
    clf.export_onnx(tmp_path / "model.onnx")
    assert clf.net_.module_.training
    module = clf.net_.module_.state_dict()
    assert all(torch.equal(module[k], v) for k, v in weights.items())
    assert all(p.requires_grad for p in clf.net_.module_.parameters())
    assert np.array_equal(clf.predict_proba(X), expected)


def test_mc_dropout_prediction_is_refused_with_the_way_out(tmp_path):
    X, y = _data("multiclass")
    clf = ESTIMATORS["um"](random_state=0, device="cpu", mc_predict=True).fit(X, y)
    with pytest.raises(ValueError, match=r"mc_predict=True.*set_params\(mc_predict"):
        clf.export_onnx(tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()
    deterministic = copy.deepcopy(clf).set_params(mc_predict=False)
    path = deterministic.export_onnx(tmp_path / "model.onnx")
    np.testing.assert_allclose(
        run_onnx(path, X), deterministic.decision_function(X), atol=1e-5
    )


def test_the_exported_module_matches_decision_function_in_torch():
    # What is exported, before the exporter: the same scores, for every estimator.
    X, y = _data("multiclass")
    for name, make in ESTIMATORS.items():
        clf = make(random_state=0, device="cpu").fit(X, y)
        with torch.no_grad():
            scores = decision_module(clf)(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(
            scores, clf.decision_function(X), rtol=0, atol=1e-12, err_msg=name
        )


def test_an_unfitted_estimator_is_refused(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        CrossEntropyClassifier().export_onnx(tmp_path / "model.onnx")
