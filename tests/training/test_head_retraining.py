"""The decoupled head stage: ``head_retraining="crt" | "lws"`` (Kang et al. 2020)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from skimbalance._validation import fit_seed
from skimbalance.heads.decoupling import LearnableWeightScaling, retrain_head
from skimbalance.training.clmle import embed_in_chunks

FAST = dict(hidden_layer_sizes=(32,), max_epochs=15, batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=1500,
        n_features=8,
        n_informative=4,
        n_classes=3,
        n_clusters_per_class=1,
        weights=[0.85, 0.12, 0.03],
        class_sep=0.8,
        random_state=0,
    )
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)


def test_only_the_head_changes_and_it_is_the_balanced_fit_of_the_frozen_embedding(
    data,
):
    X, _, y, _ = data
    plain = CrossEntropyClassifier(**FAST).fit(X, y)
    crt = CrossEntropyClassifier(**FAST, head_retraining="crt").fit(X, y)
    before, after = plain.net_.module_.state_dict(), crt.net_.module_.state_dict()
    for key in before:
        if key.startswith("head."):
            assert not torch.equal(before[key], after[key]), key
        else:
            torch.testing.assert_close(before[key], after[key], rtol=0, atol=0)
    # The head is the class-balanced logistic fit of the frozen embedding:
    # its logits separate the rare class better than the plain head's.
    emb = embed_in_chunks(crt.net_.module_, X.astype(np.float32), "cpu", 512)[:, 0]
    logits = torch.einsum("nd,dc->nc", emb, crt.net_.module_.head.weight[0])
    logits = logits + crt.net_.module_.head.bias[0]
    np.testing.assert_allclose(
        crt.decision_function(X), logits.detach().numpy(), atol=1e-5
    )


@pytest.mark.parametrize("method", ["crt", "lws"])
def test_a_balanced_head_raises_balanced_accuracy(method, data):
    X, X_test, y, y_test = data
    plain = CrossEntropyClassifier(**FAST).fit(X, y)
    balanced = CrossEntropyClassifier(**FAST, head_retraining=method).fit(X, y)
    before = balanced_accuracy_score(y_test, plain.predict(X_test))
    after = balanced_accuracy_score(y_test, balanced.predict(X_test))
    assert after > before + 0.03, (before, after)


def test_lws_keeps_the_class_directions_and_learns_the_reference_scales(data):
    X, _, y, _ = data
    plain = CrossEntropyClassifier(**FAST).fit(X, y)
    lws = CrossEntropyClassifier(**FAST, head_retraining="lws").fit(X, y)
    w0 = plain.net_.module_.head.weight[0].detach()
    w1 = lws.net_.module_.head.weight[0].detach()
    scales = (w1 * w0).sum(0) / (w0 * w0).sum(0)
    np.testing.assert_allclose(w1.numpy(), (w0 * scales).numpy(), atol=1e-5)
    # The same scales as the building block trained on the same embedding
    # with the same seeded batches.
    emb = embed_in_chunks(plain.net_.module_, X.astype(np.float32), "cpu", 512)[:, 0]
    linear = torch.nn.Linear(w0.shape[0], w0.shape[1])
    with torch.no_grad():
        linear.weight.copy_(w0.T)
        linear.bias.copy_(plain.net_.module_.head.bias[0])
    reference = retrain_head(
        LearnableWeightScaling(linear, 3),
        emb,
        torch.as_tensor(y),
        epochs=10,
        batch_size=64,
        generator=torch.Generator().manual_seed(fit_seed(0)),
    )
    np.testing.assert_allclose(
        scales.numpy(), reference.scales.detach().numpy(), rtol=1e-4
    )
    assert scales[2] > scales[0]  # the rare class gains


def test_same_random_state_same_head_and_clone_keeps_the_options(data):
    X, X_test, y, _ = data
    a = CRLClassifier(**FAST, head_retraining="crt", head_retraining_epochs=3)
    b = clone(a)
    assert b.get_params()["head_retraining_epochs"] == 3
    np.testing.assert_array_equal(
        a.fit(X, y).predict_proba(X_test), b.fit(X, y).predict_proba(X_test)
    )


def test_auto_does_not_correct_a_rebalanced_head(data):
    X, X_test, y, _ = data
    clf = CRLClassifier(**FAST, head_retraining="crt").fit(X, y)  # "auto"
    auto = clf.predict_proba(X_test)
    np.testing.assert_array_equal(
        clf.set_params(prior_correction=0.0).predict_proba(X_test), auto
    )


@pytest.mark.parametrize(
    "estimator, match",
    [
        (CLMLEClassifier(head_retraining="crt", warmup_epochs=0), "k-nearest-cluster"),
        (
            UncertaintyMarginClassifier(
                head_retraining="crt", warmup_epochs=0, class_weight_start_epoch=0
            ),
            "margin loss",
        ),
        (CrossEntropyClassifier(loss="ldam", head_retraining="lws"), "cosine"),
    ],
)
def test_estimators_without_a_linear_head_refuse_it_before_training(
    estimator, match, data
):
    X, _, y, _ = data
    estimator.set_params(max_epochs=1, hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y)
    assert not hasattr(estimator, "n_iter_")


def test_a_multi_label_target_and_bad_values_are_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    with pytest.raises(ValueError, match="multi-label"):
        CrossEntropyClassifier(**FAST, head_retraining="crt").fit(X, Y)
    y = Y[:, 0]
    with pytest.raises(ValueError, match="head_retraining"):
        CrossEntropyClassifier(**FAST, head_retraining="tau").fit(X, y)
    with pytest.raises(ValueError, match="head_retraining_epochs"):
        CrossEntropyClassifier(**FAST, head_retraining_epochs=0).fit(X, y)


def test_a_saved_and_exported_model_keeps_the_retrained_head(data, tmp_path):
    from skimbalance import load_model, save_model

    X, X_test, y, _ = data
    clf = CrossEntropyClassifier(**FAST, head_retraining="lws").fit(X, y)
    save_model(clf, tmp_path / "model.safetensors")
    loaded = load_model(tmp_path / "model.safetensors")
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), clf.predict_proba(X_test)
    )


# ------------------------------------------------------------ tau-normalisation
def test_tau_normalization_is_the_building_blocks_rescaled_head(data):
    from skimbalance.heads.decoupling import tau_normalize

    X, X_test, y, _ = data
    clf = CrossEntropyClassifier(**FAST).fit(X, y)
    logits = clf.decision_function(X_test)
    head = clf.net_.module_.head
    emb = embed_in_chunks(clf.net_.module_, X_test.astype(np.float32), "cpu", 512)
    for tau in (0.5, 1.0):
        weight, bias = tau_normalize(head.weight, head.bias, tau=tau, dim=-2)
        expected = torch.einsum("ntd,tdc->ntc", emb.double(), weight.double())
        expected = (expected + bias.double())[:, 0].numpy()
        clf.set_params(tau_normalization=tau)  # at prediction, no refit
        np.testing.assert_allclose(clf.decision_function(X_test), expected, atol=1e-5)
        assert (clf.predict(X_test) == expected.argmax(1)).all()
    clf.set_params(tau_normalization=0.0)
    np.testing.assert_array_equal(clf.decision_function(X_test), logits)


def test_tau_normalization_comes_before_the_prior_correction(data):
    X, X_test, y, _ = data
    clf = CrossEntropyClassifier(**FAST, tau_normalization=1.0).fit(X, y)
    scaled = clf.decision_function(X_test)
    prior = np.bincount(y) / len(y)
    clf.set_params(prior_correction=1.0)
    np.testing.assert_allclose(
        clf.decision_function(X_test), scaled - np.log(prior), atol=1e-9
    )


def test_tau_normalization_is_refused_without_a_linear_head(data):
    X, X_test, y, _ = data
    clf = CLMLEClassifier(hidden_layer_sizes=(8,), max_epochs=2, warmup_epochs=1)
    clf.fit(X, y).set_params(tau_normalization=1.0)
    with pytest.raises(ValueError, match="tau_normalization"):
        clf.predict(X_test)
    ldam = CrossEntropyClassifier(**{**FAST, "max_epochs": 1}, loss="ldam").fit(X, y)
    with pytest.raises(ValueError, match="linear head"):
        ldam.set_params(tau_normalization=0.5).predict(X_test)
    with pytest.raises(ValueError, match="tau_normalization"):
        CrossEntropyClassifier(**FAST, tau_normalization=-1.0).fit(X, y)


def test_the_onnx_graph_carries_the_tau_normalization(data, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    X, X_test, y, _ = data
    clf = CRLClassifier(**FAST, tau_normalization=1.0).fit(X, y)
    path = tmp_path / "model.onnx"
    clf.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"X": X_test.astype(np.float32)})[0]
    np.testing.assert_allclose(out, clf.decision_function(X_test), atol=1e-4)
