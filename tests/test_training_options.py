"""Continued training, early stopping on a score or a given validation set, and
optimizer settings (``warm_start``, ``scoring``, ``fit(X_val=...)``,
``optimizer_params``)."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score, make_scorer, recall_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)

FAST = dict(
    hidden_layer_sizes=(32,),
    embedding_dim=8,
    max_epochs=5,
    lr=1e-2,
    batch_size=32,
    device="cpu",
    n_threads=1,
)


@pytest.fixture(scope="module")
def data():
    """400 rows, 10 features, 85/15 % binary; 300 to train, 100 held out."""
    X, y = make_classification(
        n_samples=400,
        n_features=10,
        n_informative=5,
        weights=[0.85, 0.15],
        class_sep=0.8,
        random_state=0,
    )
    return X.astype(np.float32), y


class StartProbe(Callback):
    """Keeps a copy of the module's parameters as training begins."""

    def on_train_begin(self, net, **kwargs):
        self.start_ = {k: v.clone() for k, v in net.module_.state_dict().items()}


def adam_steps(clf):
    return {int(s["step"]) for s in clf.net_.optimizer_.state.values()}


# ------------------------------------------------------------------ warm_start
@pytest.mark.parametrize("cls", [CrossEntropyClassifier, CRLClassifier])
def test_warm_start_continues_the_fitted_network(cls, data):
    X, y = data
    clf = cls(**FAST, warm_start=True, random_state=0)
    clf.fit(X[:300], y[:300])
    end_of_first = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    first_losses = clf.net_.history[:, "train_loss"]
    assert adam_steps(clf) == {5 * 10}  # 5 epochs of 10 batches of 32 rows

    clf.set_params(callbacks=[("probe", StartProbe())]).fit(X[:300], y[:300])
    start_of_second = dict(clf.net_.callbacks_)["probe"].start_
    # The second fit starts from the first one's weights, not from new ones ...
    assert end_of_first.keys() == start_of_second.keys()
    for key, value in end_of_first.items():
        assert torch.equal(value, start_of_second[key]), key
    # ... with Adam's state (its step count goes on), and the history goes on.
    assert adam_steps(clf) == {10 * 10}
    assert len(clf.net_.history) == clf.n_iter_ == 10
    assert clf.net_.history[:, "epoch"] == list(range(1, 11))
    losses = clf.net_.history[:, "train_loss"]
    assert losses[:5] == first_losses
    # The loss goes on from where the first fit stopped (a new network's first
    # epoch would be back near losses[0]) and keeps decreasing.
    assert losses[5] < losses[0]
    assert np.mean(losses[5:]) < np.mean(losses[:5])


def test_without_warm_start_a_refit_is_a_fresh_fit(data):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, random_state=0).fit(X[:300], y[:300])
    clf.fit(X[:300], y[:300])
    fresh = CrossEntropyClassifier(**FAST, random_state=0).fit(X[:300], y[:300])
    assert clf.n_iter_ == len(clf.net_.history) == 5
    np.testing.assert_array_equal(
        clf.predict_proba(X[300:]), fresh.predict_proba(X[300:])
    )


def test_warm_start_on_an_unfitted_estimator_is_a_plain_fit(data):
    X, y = data
    warm = CrossEntropyClassifier(**FAST, warm_start=True, random_state=0)
    cold = CrossEntropyClassifier(**FAST, random_state=0)
    np.testing.assert_array_equal(
        warm.fit(X[:300], y[:300]).predict_proba(X[300:]),
        cold.fit(X[:300], y[:300]).predict_proba(X[300:]),
    )


def test_warm_start_changing_the_optimizer_or_lr_keeps_the_weights(data):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, warm_start=True, random_state=0)
    clf.fit(X[:300], y[:300])
    end_of_first = clf.net_.module_.state_dict()["embedding.weight"].clone()
    clf.set_params(optimizer="sgd", lr=1e-3, callbacks=[("probe", StartProbe())])
    clf.fit(X[:300], y[:300])
    start = dict(clf.net_.callbacks_)["probe"].start_
    assert torch.equal(start["embedding.weight"], end_of_first)
    optimizer = clf.net_.optimizer_
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["lr"] == 1e-3
    assert optimizer.param_groups[0]["momentum"] == 0.9
    assert len(clf.net_.history) == 10


def test_warm_start_adam_state_with_a_new_lr_uses_the_new_lr(data):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, warm_start=True, random_state=0)
    clf.fit(X[:300], y[:300]).set_params(lr=1e-4).fit(X[:300], y[:300])
    assert clf.net_.optimizer_.param_groups[0]["lr"] == 1e-4
    assert adam_steps(clf) == {100}


def test_warm_start_rejects_other_classes_features_or_network(data):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, warm_start=True, random_state=0)
    clf.fit(X[:300], y[:300])
    before = clf.predict_proba(X[300:])
    y3 = y.copy()
    y3[:30] = 2
    with pytest.raises(
        ValueError, match=r"same classes as the previous fit \(\[0, 1\]\)"
    ):
        clf.fit(X, y3)
    with pytest.raises(ValueError, match="takes 10 features, but X has 6"):
        clf.fit(X[:, :6], y)
    with pytest.raises(ValueError, match="other parameter shapes"):
        clf.set_params(hidden_layer_sizes=(16,)).fit(X[:300], y[:300])
    # A rejected warm start leaves the fitted model as it was.
    clf.set_params(hidden_layer_sizes=(32,))
    np.testing.assert_array_equal(clf.predict_proba(X[300:]), before)
    assert clf.n_features_in_ == 10 and clf.classes_.tolist() == [0, 1]
    assert clf.n_iter_ == 5
    # warm_start=False trains a new network on the new problem.
    clf.set_params(warm_start=False).fit(X, y3)
    assert clf.classes_.tolist() == [0, 1, 2]


def test_warm_start_multilabel_needs_the_same_labels(data):
    X, y = data
    Y = np.column_stack([y, 1 - y, (X[:, 0] > 0).astype(int)])
    clf = CrossEntropyClassifier(**FAST, warm_start=True, random_state=0).fit(X, Y)
    clf.fit(X, Y)
    assert len(clf.net_.history) == 10
    with pytest.raises(ValueError, match="same labels"):
        clf.fit(X, Y[:, :2])


def test_warm_start_deferred_reweighting_counts_from_the_first_epoch(data):
    X, y = data
    clf = CrossEntropyClassifier(
        **{**FAST, "max_epochs": 3},
        class_weight="balanced",
        class_weight_start_epoch=4,
        warm_start=True,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="never apply"):
        clf.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 4 < 3 + 3: they apply in this fit
        clf.fit(X, y)
    assert clf.net_.history[:, "class_weights_on"] == [False] * 4 + [True] * 2


@pytest.mark.parametrize(
    "cls, params",
    [
        (CLMLEClassifier, dict(warmup_epochs=2, n_cluster_rounds=1)),
        (UncertaintyMarginClassifier, dict(warmup_epochs=1, sample_level_epochs=1)),
    ],
)
def test_warm_start_is_rejected_where_a_schedule_spans_the_fit(cls, params, data):
    X, y = data
    clf = cls(**FAST, **params, warm_start=True, random_state=0).fit(X, y)
    before = clf.predict_proba(X[300:])
    with pytest.raises(ValueError, match="does not support warm_start=True"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X[300:]), before)


# --------------------------------------------------------------------- scoring
def early(**params):
    settings = {
        **FAST,
        "max_epochs": 60,
        "lr": 3e-3,
        "early_stopping": True,
        "n_iter_no_change": 3,
        "random_state": 0,
    }
    return CrossEntropyClassifier(**{**settings, **params})


def test_early_stopping_on_balanced_accuracy_stops_on_that_score(data):
    X, y = data
    # Balanced class weights: the score climbs from the first epochs (without
    # them the network predicts the majority class, 0.5, for a while).
    clf = early(scoring="balanced_accuracy", class_weight="balanced").fit(
        X[:300], y[:300], X_val=X[300:], y_val=y[300:]
    )
    history = clf.net_.history
    scores = history[:, "valid_balanced_accuracy"]
    assert "valid_loss" in history[-1]  # still recorded, but not monitored
    # It stopped n_iter_no_change epochs after the best score, not at the end
    # (an improvement must beat the best by more than 1e-4) ...
    best = int(np.argmax(scores))
    assert scores[best] > 0.8 and best > 0
    assert clf.n_iter_ < 60
    assert clf.n_iter_ == best + 1 + 3
    assert all(s <= scores[best] + 1e-4 for s in scores[best + 1 :])
    # ... and kept the parameters of the best epoch: the final model scores
    # what that epoch recorded.
    final = balanced_accuracy_score(y[300:], clf.predict(X[300:]))
    assert final == pytest.approx(scores[best], abs=1e-12)
    # On the loss it stops elsewhere: the score, not the loss, decided.
    on_loss = early(class_weight="balanced").fit(
        X[:300], y[:300], X_val=X[300:], y_val=y[300:]
    )
    assert "valid_balanced_accuracy" not in on_loss.net_.history[-1]
    assert on_loss.n_iter_ != clf.n_iter_


def test_scoring_on_the_held_out_fraction_is_reproducible(data):
    X, y = data
    fits = [early(scoring="roc_auc").fit(X[:300], y[:300]) for _ in range(2)]
    scores = [f.net_.history[:, "valid_roc_auc"] for f in fits]
    assert scores[0] == scores[1]
    assert all(0.5 <= s <= 1 for s in scores[0])
    np.testing.assert_array_equal(
        fits[0].predict_proba(X[300:]), fits[1].predict_proba(X[300:])
    )
    # The score is computed on the held-out 10 % (30 rows), not the training rows.
    assert (
        sum(b.get("valid_batch_size", 0) for b in fits[0].net_.history[-1, "batches"])
        == 30
    )


def test_scoring_takes_a_callable_and_sample_weight(data):
    X, y = data
    seen = []

    def minority_recall(estimator, X, y, sample_weight=None):
        seen.append((len(X), sample_weight is not None))
        return recall_score(y, estimator.predict(X), sample_weight=sample_weight)

    clf = early(scoring=minority_recall, max_epochs=4).fit(
        X[:300], y[:300], X_val=X[300:], y_val=y[300:], sample_weight_val=np.ones(100)
    )
    assert len(clf.net_.history[:, "valid_score"]) == clf.n_iter_
    assert seen == [(100, True)] * clf.n_iter_
    scorer = make_scorer(recall_score)
    clf = early(scoring=scorer, max_epochs=3).fit(X[:300], y[:300])
    assert len(clf.net_.history[:, "valid_score"]) == 3


def test_scoring_bad_name_and_without_early_stopping(data):
    X, y = data
    with pytest.raises(ValueError, match="not a valid scoring value"):
        early(scoring="balanced_acc").fit(X, y)
    with pytest.warns(UserWarning, match="no effect with early_stopping=False"):
        CrossEntropyClassifier(**FAST, scoring="roc_auc").fit(X, y)


def test_scoring_multilabel_roc_auc(data):
    X, y = data
    Y = np.column_stack([y, (X[:, 0] > 0).astype(int)])
    clf = early(scoring="roc_auc", max_epochs=3).fit(X, Y)
    assert len(clf.net_.history[:, "valid_roc_auc"]) == 3


# ----------------------------------------------------------- a validation set
def test_validation_set_is_validated(data):
    X, y = data
    clf = early(max_epochs=2)
    with pytest.raises(ValueError, match="early_stopping=False"):
        CrossEntropyClassifier(**FAST).fit(X, y, X_val=X, y_val=y)
    with pytest.raises(ValueError, match="X_val is passed to fit, but y_val is not"):
        clf.fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="y_val is passed to fit, but X_val is not"):
        clf.fit(X, y, y_val=y)
    with pytest.raises(ValueError, match="without X_val and y_val"):
        clf.fit(X, y, sample_weight_val=np.ones(len(y)))
    with pytest.raises(ValueError, match=r"y_val has labels \[7\]"):
        clf.fit(X, y, X_val=X[:5], y_val=[0, 1, 7, 0, 1])
    with pytest.raises(ValueError, match="10 features"):
        clf.fit(X, y, X_val=X[:, :4], y_val=y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y, X_val=X[:5], y_val=y[:6])


def test_validation_set_replaces_the_held_out_fraction(data):
    X, y = data
    labels = np.array(["no", "yes"])[y]
    clf = early(max_epochs=3, scoring="balanced_accuracy").fit(
        X[:300], labels[:300], X_val=X[300:], y_val=labels[300:]
    )
    batches = clf.net_.history[-1, "batches"]
    assert sum(b.get("train_batch_size", 0) for b in batches) == 300  # nothing held out
    assert sum(b.get("valid_batch_size", 0) for b in batches) == 100
    # The fitted estimator keeps no validation data and still pickles.
    assert clf.net_.train_split is None
    assert dict(clf.net_.callbacks_)["validation_score"].X is None
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X[300:]), clf.predict(X[300:]))


def test_validation_set_through_a_pipeline_with_metadata_routing(data):
    X, y = data
    with config_context(enable_metadata_routing=True):
        net = early(max_epochs=3).set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("net", net)], transform_input=["X_val"]
        )
        pipe.fit(X[:300] * 100, y[:300], X_val=X[300:] * 100, y_val=y[300:])
    fitted = pipe.named_steps["net"]
    assert (
        sum(b.get("valid_batch_size", 0) for b in fitted.net_.history[-1, "batches"])
        == 100
    )
    # X_val went through the fitted scaler: its loss is on the training scale,
    # not 100 times larger.
    assert fitted.net_.history[-1, "valid_loss"] < 5


# ------------------------------------------------------------ optimizer_params
def test_optimizer_params_reach_the_optimizer(data):
    X, y = data
    sgd = CrossEntropyClassifier(**FAST, optimizer="sgd").fit(X, y)
    assert sgd.net_.optimizer_.defaults["momentum"] == 0.9  # the default
    assert sgd.net_.optimizer_.defaults["nesterov"] is False
    params = {"momentum": 0.5, "nesterov": True}
    clf = CrossEntropyClassifier(**FAST, optimizer="sgd", optimizer_params=params)
    clf.fit(X, y)
    assert clf.net_.optimizer_.defaults["momentum"] == 0.5
    assert clf.net_.optimizer_.defaults["nesterov"] is True
    assert params == {"momentum": 0.5, "nesterov": True}  # not modified
    adam = CrossEntropyClassifier(**FAST, optimizer_params={"betas": (0.5, 0.9)})
    assert adam.fit(X, y).net_.optimizer_.defaults["betas"] == (0.5, 0.9)
    assert clone(adam).optimizer_params == {"betas": (0.5, 0.9)}


def test_optimizer_params_change_training(data):
    X, y = data
    fits = [
        CrossEntropyClassifier(
            **FAST, optimizer="sgd", optimizer_params=p, random_state=0
        ).fit(X[:300], y[:300])
        for p in (None, {"momentum": 0.9}, {"momentum": 0.0})
    ]
    p0, p1, p2 = (f.predict_proba(X[300:]) for f in fits)
    np.testing.assert_array_equal(p0, p1)  # momentum 0.9 is the default
    assert not np.array_equal(p0, p2)


@pytest.mark.parametrize(
    "optimizer, params, message",
    [
        ("sgd", {"betas": (0.9, 0.99)}, "key 'betas', which torch.optim.SGD"),
        ("adam", {"momentum": 0.9}, "key 'momentum', which torch.optim.Adam "),
        (
            "adamw",
            {"lr": 0.1},
            r"key 'lr', which the estimator sets itself \(use lr=\)",
        ),
        ("sgd", {"weight_decay": 0.1}, r"use weight_decay=\)"),
        ("sgd", {"momentum": 0.0, "nesterov": True}, "not valid for torch.optim.SGD"),
        ("adam", {"betas": (2.0, 0.9)}, "not valid for torch.optim.Adam"),
    ],
)
def test_bad_optimizer_params_are_named(data, optimizer, params, message):
    X, y = data
    clf = CrossEntropyClassifier(**FAST, optimizer=optimizer, optimizer_params=params)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert "net_" not in vars(clf)
