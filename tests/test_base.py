"""Behaviour every estimator shares, exercised through the cross-entropy baseline."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from imblearn.over_sampling import ADASYN, SMOTE
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import NearMiss
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback
from torch import nn

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)

FAST = dict(
    hidden_layer_sizes=(32,), embedding_dim=8, max_epochs=4, lr=1e-2, batch_size=32
)


@pytest.fixture(scope="module")
def imbalanced():
    """Three overlapping classes with 80/15/5 % of the samples, string labels."""
    X, y = make_classification(
        n_samples=300,
        n_features=8,
        n_informative=5,
        n_classes=3,
        weights=[0.8, 0.15, 0.05],
        class_sep=0.8,
        random_state=0,
    )
    return X, np.array(["common", "rare", "very rare"])[y]


@pytest.mark.parametrize(
    "sampler",
    [SMOTE(random_state=0), ADASYN(random_state=0), NearMiss()],
    ids=["SMOTE", "ADASYN", "NearMiss"],
)
def test_pipeline_with_imblearn_sampler(imbalanced, sampler):
    X, y = imbalanced
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("sample", sampler),
            ("net", CrossEntropyClassifier(**FAST, random_state=0)),
        ]
    )
    assert X.dtype == np.float64
    pipe.fit(X, y)
    pred = pipe.predict(X)
    assert set(pred) <= set(y)
    proba = pipe.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert list(pipe.classes_) == ["common", "rare", "very rare"]


def test_grid_search_parallel(imbalanced):
    X, y = imbalanced
    pipe = Pipeline(
        [
            ("sample", SMOTE(random_state=0)),
            ("net", CrossEntropyClassifier(**FAST, random_state=0)),
        ]
    )
    search = GridSearchCV(
        pipe,
        {"net__lr": [1e-3, 1e-2], "net__class_weight": [None, "balanced"]},
        cv=2,
        n_jobs=2,
        scoring="balanced_accuracy",
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.predict(X[:5]).shape == (5,)


def test_clone_and_pickle_round_trip(imbalanced):
    X, y = imbalanced
    clf = CrossEntropyClassifier(**FAST, random_state=0)
    params = clf.get_params()
    clf.fit(X, y)
    assert clone(clf).get_params() == params
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.net_.history[-1, "epoch"] == FAST["max_epochs"]


def test_same_random_state_same_predictions_and_global_rng_untouched(imbalanced):
    X, y = imbalanced
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    p1 = CrossEntropyClassifier(**FAST, random_state=7).fit(X, y).predict_proba(X)
    p2 = CrossEntropyClassifier(**FAST, random_state=7).fit(X, y).predict_proba(X)
    p3 = CrossEntropyClassifier(**FAST, random_state=8).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)


def test_multilabel_fit_predict():
    X, y = load_digits(return_X_y=True)
    Y = np.stack([y % 2, y > 6, y == 0], axis=1).astype(int)
    clf = CrossEntropyClassifier(**FAST, random_state=0, class_weight="balanced").fit(
        X / 16, Y
    )
    pred = clf.predict(X / 16)
    proba = clf.predict_proba(X / 16)
    assert pred.shape == Y.shape and proba.shape == Y.shape
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert clf.n_outputs_ == 3 and clf.class_counts_.shape == (3, 2)
    assert (pred == Y).mean() > 0.8
    assert clf.decision_function(X[:4] / 16).shape == (4, 3)


def test_multilabel_class_weight_list():
    X, y = load_digits(return_X_y=True)
    Y = np.stack([y % 2, y == 0], axis=1).astype(int)
    cw = [{0: 1.0, 1: 1.0}, {0: 1.0, 1: 9.0}]
    clf = CrossEntropyClassifier(**FAST, random_state=0, class_weight=cw).fit(X / 16, Y)
    assert clf.predict(X[:3] / 16).shape == (3, 2)
    with pytest.raises(ValueError, match="one dict"):
        CrossEntropyClassifier(**FAST, class_weight=[{0: 1.0}]).fit(X / 16, Y)


def test_class_weight_and_sample_weight_shift_predictions(imbalanced):
    X, y = imbalanced
    plain = CrossEntropyClassifier(**FAST, random_state=0).fit(X, y)
    balanced = CrossEntropyClassifier(
        **FAST, random_state=0, class_weight="balanced"
    ).fit(X, y)
    assert (balanced.predict(X) == "very rare").sum() > (
        plain.predict(X) == "very rare"
    ).sum()
    # A zero weight on every "common" sample: the class is never learned.
    sw = (y != "common").astype(float)
    weighted = CrossEntropyClassifier(**FAST, random_state=0).fit(
        X, y, sample_weight=sw
    )
    assert (weighted.predict(X) == "common").mean() < 0.1
    with pytest.raises(ValueError, match="not a class"):
        CrossEntropyClassifier(**FAST, class_weight={"unknown": 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="non-zero"):
        CrossEntropyClassifier(**FAST).fit(X, y, sample_weight=np.zeros(len(y)))


def test_nothing_the_user_passed_is_mutated(imbalanced):
    X, y = imbalanced
    X_copy, y_copy, sw = X.copy(), y.copy(), np.ones(len(y))
    backbone = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
    weights = [p.detach().clone() for p in backbone.parameters()]
    callbacks = [Callback()]
    clf = CrossEntropyClassifier(
        **FAST, backbone=backbone, callbacks=callbacks, random_state=0
    )
    clf.fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(sw, 1.0)
    for before, after in zip(weights, backbone.parameters(), strict=True):
        assert torch.equal(before, after)
    assert clf.backbone is backbone and clf.callbacks is callbacks


def test_custom_backbone_with_input_shape_reshapes_flat_rows():
    X, y = load_digits(return_X_y=True)
    seen = {}

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(
                nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2)
            )

        def forward(self, x):
            seen["shape"] = tuple(x.shape[1:])
            return self.conv(x)

    clf = CrossEntropyClassifier(
        backbone=SmallCNN, input_shape=(1, 8, 8), max_epochs=3, lr=1e-2, random_state=0
    )
    pipe = Pipeline([("sample", SMOTE(random_state=0)), ("net", clf)]).fit(X / 16, y)
    assert seen["shape"] == (1, 8, 8)
    assert pipe.score(X / 16, y) > 0.3
    with pytest.raises(ValueError, match="input_shape"):
        clone(clf).set_params(input_shape=(1, 7, 7)).fit(X / 16, y)


def test_user_callbacks_run_and_verbose_shows_progress(imbalanced, capsys):
    X, y = imbalanced

    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    clf = CrossEntropyClassifier(
        **FAST, callbacks=[("count", CountEpochs())], random_state=0
    )
    clf.fit(X, y)
    assert dict(clf.net_.callbacks_)["count"].epochs == FAST["max_epochs"]
    assert capsys.readouterr().out == ""
    CrossEntropyClassifier(**FAST, verbose=1, random_state=0).fit(X, y)
    captured = capsys.readouterr()
    assert "train_loss" in captured.out
    assert "it/s" in captured.err or "batches" in captured.err or "%" in captured.err


def test_early_stopping_holds_out_a_stratified_fraction(imbalanced):
    X, y = imbalanced
    clf = CrossEntropyClassifier(
        **{**FAST, "max_epochs": 200, "lr": 5e-2},
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 200
    assert "valid_loss" in clf.net_.history[-1]
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    n_train = clf.net_.history[-1, "batches", 0, "train_batch_size"]
    assert n_train == FAST["batch_size"]


def test_threads_setting_is_restored(imbalanced):
    X, y = imbalanced
    before = torch.get_num_threads()
    clf = CrossEntropyClassifier(**FAST, n_threads=2, random_state=0).fit(X, y)
    clf.predict(X)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), [0, 1], "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), [0, 1], "infinity"),
        (np.zeros((0, 3)), [], "0 sample"),
        (np.ones((4, 2)), [1, 1, 1, 1], "one class"),
        (sp.csr_matrix(np.eye(4)), [0, 1, 0, 1], "[Ss]parse"),
        (np.zeros((4, 2, 2)), [0, 1, 0, 1], "dim 3"),
        (np.zeros((4, 2)), [0.5, 1.5, 2.5, 0.1], "Unknown label type"),
        (np.zeros((4, 2)), [0, 1, 0], "inconsistent numbers of samples"),
    ],
    ids=["nan", "inf", "empty", "one-class", "sparse", "3-d", "continuous-y", "length"],
)
def test_bad_input_raises_clear_errors(X, y, message):
    with pytest.raises((ValueError, TypeError), match=message):
        CrossEntropyClassifier(**FAST).fit(X, y)


def test_wrong_feature_count_and_unfitted_predict(imbalanced):
    X, y = imbalanced
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        CrossEntropyClassifier().predict(X)
    clf = CrossEntropyClassifier(**FAST, random_state=0).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 5 features, but CrossEntropyClassifier is expecting 8"
    ):
        clf.predict(X[:, :5])


def test_bad_parameter_values_are_named():
    X, y = np.zeros((4, 2)), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="'lr' parameter"):
        CrossEntropyClassifier(lr=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="'optimizer' parameter"):
        CrossEntropyClassifier(optimizer="lbfgs").fit(X, y)


def test_cuda_requested_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        CrossEntropyClassifier(**FAST, device="cuda").fit(
            np.zeros((4, 2)), [0, 1, 0, 1]
        )


def test_column_vector_y_warns_and_is_raveled(imbalanced):
    X, y = imbalanced
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning):
        clf = CrossEntropyClassifier(**FAST, random_state=0).fit(X, y[:, None])
    assert clf.predict(X).shape == (len(y),)


@pytest.mark.gpu
def test_fit_on_gpu_then_load_on_cpu_only_process(tmp_path, imbalanced):
    import subprocess
    import sys

    X, y = imbalanced
    clf = CrossEntropyClassifier(**FAST, device="cuda", random_state=0).fit(X, y)
    assert clf.net_.device == "cuda"
    expected = clf.predict_proba(X)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", expected)
    script = (
        "import pickle, warnings, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "warnings.simplefilter('ignore')\n"
        f"clf = pickle.load(open({str(path)!r}, 'rb'))\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
        f"expected = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-5)\n"
        "print('loaded on', clf.net_.device)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "loaded on cpu" in out.stdout


@pytest.mark.filterwarnings("ignore:warmup_epochs=10 >= max_epochs")
@pytest.mark.filterwarnings("ignore:CLMLEClassifier.max_epochs=2, warmup_epochs=5")
@pytest.mark.parametrize(
    "Estimator",
    [
        CrossEntropyClassifier,
        CRLClassifier,
        CLMLEClassifier,
        UncertaintyMarginClassifier,
    ],
)
def test_verbose_fit_prints_no_reinitialisation(Estimator, capsys):
    # Issue 16, item 6: the net is built initialised, and skorch's fit said
    # "Re-initializing module / criterion / optimizer." on every fit.
    X, y = make_classification(n_samples=80, n_features=6, random_state=0)
    Estimator(max_epochs=2, hidden_layer_sizes=(8,), verbose=1, random_state=0).fit(
        X, y
    )
    out = capsys.readouterr().out
    assert "Re-initializing" not in out
    assert "train_loss" in out  # the epoch table is still printed


@pytest.mark.filterwarnings("ignore:warmup_epochs=10 >= max_epochs")
@pytest.mark.filterwarnings("ignore:CLMLEClassifier.max_epochs=2, warmup_epochs=5")
@pytest.mark.parametrize(
    "Estimator",
    [
        CrossEntropyClassifier,
        CRLClassifier,
        CLMLEClassifier,
        UncertaintyMarginClassifier,
    ],
)
def test_subset_invariance_at_the_default_width(Estimator):
    # Issue 16, item 8: the common checks run narrow networks; at the default
    # width a row's decision_function depended on the rows predicted with it
    # (float32 kernels chosen by batch size). Prediction chunks are padded to
    # one size, so every row goes through the same kernels.
    from sklearn.utils.estimator_checks import check_methods_subset_invariance

    check_methods_subset_invariance(
        Estimator.__name__, Estimator(max_epochs=2, random_state=0)
    )


@pytest.mark.parametrize(
    "Estimator",
    [
        CrossEntropyClassifier,
        CRLClassifier,
        CLMLEClassifier,
        UncertaintyMarginClassifier,
    ],
)
def test_every_parameter_is_documented_and_constrained(Estimator):
    # The shared parameter docs are assembled from blocks (SHARED_PARAMETERS_DOC,
    # TRAINING_OPTIONS_DOC, ...): each parameter an estimator takes must be in
    # its docstring and in its _parameter_constraints, and no more.
    params = set(Estimator().get_params())
    documented = {
        line.strip().split(" : ")[0]
        for line in Estimator.__doc__.splitlines()
        if line.startswith("    ") and not line.startswith("     ") and " : " in line
    }
    assert params <= documented, sorted(params - documented)
    assert set(Estimator._parameter_constraints) == params


def test_sgd_keeps_momentum_0_9_by_default(imbalanced):
    X, y = imbalanced
    clf = CrossEntropyClassifier(**FAST, optimizer="sgd", random_state=0).fit(X, y)
    assert clf.net_.optimizer_.defaults["momentum"] == 0.9
    assert clf.net_.optimizer_.defaults["nesterov"] is False
