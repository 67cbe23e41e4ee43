"""backbone="tabular" and "mlp" on every estimator: raw features, seeds, saving, ONNX."""

import numpy as np
import pytest
import torch
from guide_code import guide_code_blocks
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils._param_validation import InvalidParameterError

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    TabularBackbone,
    UncertaintyMarginClassifier,
    load_model,
    save_model,
)
from skimbalance.modules import MLPBackbone
from skimbalance.tabular import TabularNet

SMALL = TabularBackbone(
    hidden_layer_sizes=(32,), n_members=4, d_embedding=4, n_frequencies=4
)
FAST = {
    "CrossEntropyClassifier": (CrossEntropyClassifier, {}),
    "CRLClassifier": (CRLClassifier, {}),
    "CLMLEClassifier": (CLMLEClassifier, dict(warmup_epochs=2, n_cluster_rounds=1)),
    "UncertaintyMarginClassifier": (
        UncertaintyMarginClassifier,
        dict(
            warmup_epochs=1,
            class_weight_start_epoch=2,
            uncertainty_interval=2,
            n_mc_samples=3,
        ),
    ),
}


@pytest.fixture(scope="module")
def raw():
    """Raw, unscaled, skewed features (scales 1 to 1e5), 10 % minority."""
    rng = np.random.default_rng(0)
    n = 300
    y = (rng.random(n) < 0.1).astype(int)
    X = rng.lognormal(size=(n, 5)) + y[:, None] * [2.0, 0, 1.0, 0, 0]
    return X * [1, 10, 1e3, 1e4, 1e5], y


def make(name, backbone, **kwargs):
    cls, extra = FAST[name]
    return cls(
        backbone=backbone,
        max_epochs=4,
        batch_size=32,
        lr=3e-3,
        random_state=0,
        **extra,
        **kwargs,
    )


@pytest.mark.parametrize("name", sorted(FAST))
def test_every_estimator_trains_the_tabular_network(raw, name):
    X, y = raw
    clf = make(name, "tabular").fit(X, y)
    backbone = clf.net_.module_.backbone
    assert isinstance(backbone, TabularNet)
    assert backbone.ensemble.n_members == TabularBackbone().n_members
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(1), 1)
    # Same random_state, same predictions.
    np.testing.assert_array_equal(clone(clf).fit(X, y).predict_proba(X), proba)


@pytest.mark.parametrize("name", sorted(FAST))
def test_mlp_string_is_the_default_network(raw, name):
    X, y = raw
    default = make(name, None, hidden_layer_sizes=(16,)).fit(X / 1e3, y)
    mlp = make(name, "mlp", hidden_layer_sizes=(16,)).fit(X / 1e3, y)
    assert isinstance(mlp.net_.module_.backbone, MLPBackbone)
    np.testing.assert_array_equal(
        mlp.predict_proba(X / 1e3), default.predict_proba(X / 1e3)
    )


def test_raw_features_need_no_scaler(raw):
    # The quantile transform, fitted on the training rows, makes the network
    # blind to an increasing affine map of each feature.
    X, y = raw
    a = make("CrossEntropyClassifier", SMALL).fit(X, y)
    scale, shift = np.array([1e-5, 3.0, 1e2, 1e-1, 7.0]), np.arange(5.0)
    b = make("CrossEntropyClassifier", SMALL).fit(X * scale + shift, y)
    np.testing.assert_allclose(
        a.predict_proba(X), b.predict_proba(X * scale + shift), atol=2e-3
    )
    # The MLP on the same raw rows is swamped by the largest scales.
    tab = make("CrossEntropyClassifier", SMALL, class_weight="balanced").fit(X, y)
    mlp = make(
        "CrossEntropyClassifier",
        "mlp",
        hidden_layer_sizes=(16,),
        class_weight="balanced",
    ).fit(X, y)
    assert balanced_accuracy_score(y, tab.predict(X)) > 0.8
    assert balanced_accuracy_score(y, mlp.predict(X)) < 0.6


def test_quantiles_come_from_the_training_rows_only(raw):
    X, y = raw
    clf = make("CrossEntropyClassifier", SMALL).fit(X[:200], y[:200])
    quantiles = clf.net_.module_.backbone.normalize.quantiles.numpy()
    np.testing.assert_allclose(
        quantiles, np.quantile(X[:200], np.linspace(0, 1, 64), axis=0).T, rtol=1e-5
    )


def test_a_factory_sets_the_network_and_is_left_as_it_was(raw):
    X, y = raw
    factory = TabularBackbone(
        hidden_layer_sizes=(8, 8), n_members=2, d_embedding=0, n_quantiles=None
    )
    clf = make("CRLClassifier", factory).fit(X / 1e4, y)
    net = clf.net_.module_.backbone
    assert net.normalize is None and net.embeddings is None
    assert net.ensemble.scaling.shape == (2, 5) and net.out_features == 8
    assert clf.backbone is factory
    assert factory == TabularBackbone(
        hidden_layer_sizes=(8, 8), n_members=2, d_embedding=0, n_quantiles=None
    )


@pytest.mark.parametrize("name", sorted(FAST))
def test_save_load_and_onnx_with_the_tabular_backbone(raw, name, tmp_path):
    X, y = raw
    clf = make(name, SMALL).fit(X, y)
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.backbone == SMALL
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    clf.export_onnx(tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    name_in = session.get_inputs()[0].name
    out = session.run(None, {name_in: X[:40].astype(np.float32)})[0]
    expected = clf.decision_function(X[:40])
    np.testing.assert_allclose(out.reshape(expected.shape), expected, atol=1e-4)


def test_string_backbone_saved_and_loaded(raw, tmp_path):
    X, y = raw
    clf = make("CrossEntropyClassifier", "tabular").fit(X, y)
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.backbone == "tabular"
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-5)


def test_unknown_string_and_input_shape_are_clear_errors(raw):
    X, y = raw
    with pytest.raises(InvalidParameterError, match="backbone"):
        CrossEntropyClassifier(backbone="tabm").fit(X, y)
    with pytest.raises(ValueError, match="leave input_shape=None"):
        CrossEntropyClassifier(
            backbone="tabular", input_shape=(5, 1), max_epochs=1
        ).fit(X, y)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(hidden_layer_sizes=()), "hidden_layer_sizes"),
        (dict(dropout=1.0), "dropout"),
        (dict(n_members=0), "n_members"),
        (dict(d_embedding=-1), "d_embedding"),
        (dict(n_frequencies=True), "n_frequencies"),
        (dict(frequency_scale=0), "frequency_scale"),
        (dict(n_quantiles=1), "n_quantiles"),
    ],
)
def test_bad_factory_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TabularBackbone(**kwargs)


def test_factory_needs_2d_rows():
    with pytest.raises(ValueError, match="2-D"):
        TabularBackbone()(np.zeros(3))
    assert isinstance(TabularBackbone()(np.zeros((0, 3))), torch.nn.Module)


def test_the_user_guide_examples_run():
    pytest.importorskip("pandas")
    blocks = guide_code_blocks("tabular.rst")
    assert len(blocks) == 2
    namespace = {}
    for block in blocks:
        exec(compile(block, "tabular.rst", "exec"), namespace)
    assert namespace["proba"].shape == (600, 2)
    model = namespace["model"]
    # The one-hot columns and the untouched numbers reach the network.
    assert model[-1].n_features_in_ == 5
    assert isinstance(model[-1].net_.module_.backbone, TabularNet)
    assert namespace["predicted"].shape == (400,)


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(FAST))
def test_fitted_on_cuda_loads_and_predicts_on_a_cpu(raw, name, tmp_path):
    X, y = raw
    clf = make(name, SMALL, device="cuda").fit(X, y)
    backbone = clf.net_.module_.backbone
    assert backbone.normalize.quantiles.is_cuda
    expected = clf.predict_proba(X)
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model", device="cpu")
    assert not loaded.net_.module_.backbone.normalize.quantiles.is_cuda
    np.testing.assert_allclose(loaded.predict_proba(X), expected, atol=1e-4)
