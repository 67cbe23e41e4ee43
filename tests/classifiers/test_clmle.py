"""Estimator-level tests of CLMLEClassifier."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import (
    make_blobs,
    make_classification,
    make_multilabel_classification,
)
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split

from skimbalance import CLMLEClassifier, CrossEntropyClassifier
from skimbalance._warnings import reset_warned
from skimbalance.training.clmle import (
    PhaseBatchSampler,
    cluster_round_epochs,
    embed_in_chunks,
)

FAST = dict(
    # The paper's method: these tests check the method itself (the default is
    # class-weighted; tests/test_defaults.py).
    class_weight=None,
    hidden_layer_sizes=(32,),
    embedding_dim=8,
    max_epochs=6,
    warmup_epochs=2,
    n_cluster_rounds=2,
    cluster_size=10,
    samples_per_cluster=5,
    n_neighbor_clusters=3,
    lr=1e-2,
    batch_size=32,
    device="cpu",
)


@pytest.fixture(autouse=True)
def _fresh_warning_registry():
    # warnings of no-op settings are issued once per process: start each test anew
    reset_warned()
    yield
    reset_warned()


def _imbalanced_blobs(seed=0):
    X, y = make_blobs(
        n_samples=[120, 60, 15], n_features=6, cluster_std=1.5, random_state=seed
    )
    labels = np.array(["big", "mid", "rare"])[y]
    return X.astype(np.float64), labels


def test_multiclass_string_labels_and_fitted_attributes():
    X, y = _imbalanced_blobs()
    clf = CLMLEClassifier(**FAST, random_state=0).fit(X, y)
    assert list(clf.classes_) == ["big", "mid", "rare"]
    pred = clf.predict(X)
    assert set(pred) <= set(clf.classes_)
    assert (pred == y).mean() > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.allclose(proba.sum(1), 1)
    assert np.array_equal(clf.classes_[proba.argmax(1)], pred)
    # clusters: floor(L_c / l) per class (at least one), sizes differ by at most 1
    counts = {"big": 120, "mid": 60, "rare": 15}
    for label, n in counts.items():
        sizes = clf.cluster_sizes_[clf.cluster_labels_ == label]
        assert len(sizes) == max(1, n // 10)
        assert sizes.sum() == n and sizes.max() - sizes.min() <= 1
    assert clf.centroids_.shape == (12 + 6 + 1, 8)
    assert np.allclose(np.linalg.norm(clf.centroids_, axis=1), 1, atol=1e-5)
    assert clf.margin_within_.shape == (3,)
    assert clf.margin_between_ > 0
    assert clf.decision_function(X).shape == (len(X), 3)


def test_transform_is_the_unit_norm_embedding():
    X, y = _imbalanced_blobs(1)
    clf = CLMLEClassifier(**FAST, random_state=0)
    emb = clf.fit_transform(X, y)
    assert emb.shape == (len(X), 8)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1)
    assert np.array_equal(emb, clf.transform(X))
    # a sample's embedding does not depend on the batch it comes in
    assert np.array_equal(clf.transform(X[:7]), emb[:7])
    assert clf.get_feature_names_out().shape == (8,)


def test_training_uses_warmup_then_cluster_batches():
    X, y = _imbalanced_blobs(2)
    clf = CLMLEClassifier(**FAST, random_state=0).fit(X, y)
    history = clf.net_.history
    n = len(X)
    # warm-up: shuffled batches of batch_size; then batches of M clusters
    assert history[0, "train_batch_count"] == int(np.ceil(n / 32))
    m_times_s = FAST["samples_per_cluster"] * 12
    assert history[-1, "train_batch_count"] == int(np.ceil(n / m_times_s))
    assert "clmle_loss" not in history[1] and "clmle_loss" in history[2]
    rounds = [i + 1 for i, row in enumerate(history) if "n_clusters" in row]
    assert rounds == cluster_round_epochs(6, 2, 2) == [3, 5]
    assert history[2, "n_clusters"] == [19]
    # training data and caches are not kept in the fitted net
    schedule = dict(clf.net_.callbacks_)["cluster_schedule"]
    assert schedule.X is None and clf.net_.criterion_.cluster_of is None


def test_cluster_batches_are_cluster_based():
    X, y = _imbalanced_blobs(3)
    seen = []

    from skorch.callbacks import Callback

    class Record(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training and len(net.history) > 2:
                seen.append(np.asarray(batch[0]["index"]))

    CLMLEClassifier(**FAST, callbacks=[Record()], random_state=0).fit(X, y)
    assert seen
    for index in seen:
        # at most M clusters of at most samples_per_cluster samples each
        assert len(index) <= 12 * 5 and len(np.unique(index)) == len(index)
        assert len(np.unique(y[index])) >= 2  # other-class clusters retrieved


def test_multilabel_one_rule_per_label():
    X, Y = make_multilabel_classification(
        n_samples=150, n_features=8, n_classes=3, random_state=0
    )
    clf = CLMLEClassifier(**FAST, random_state=0).fit(X, Y)
    pred = clf.predict(X)
    proba = clf.predict_proba(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()
    assert np.array_equal(pred, (proba > 0.5).astype(int))
    assert len(clf.centroids_) == 3 and len(clf.cluster_labels_) == 3
    for t in range(3):
        assert set(np.unique(clf.cluster_labels_[t])) <= {0, 1}
        assert clf.cluster_sizes_[t].sum() == len(X)
    assert clf.transform(X).shape == (150, 3 * 8)
    assert clf.margin_within_.shape == (3, 2)
    assert (pred == Y).mean() > 0.7


def test_reproducible_and_global_rng_untouched():
    X, y = _imbalanced_blobs(4)
    torch.manual_seed(123)
    np.random.seed(7)
    state_t, state_n = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    a = CLMLEClassifier(**FAST, random_state=5).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), state_t)
    assert np.array_equal(np.random.get_state()[1], state_n)
    b = CLMLEClassifier(**FAST, random_state=5).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert np.array_equal(a.centroids_, b.centroids_)


@pytest.mark.parametrize(
    "params",
    [
        {"cluster_sampling": "uniform"},
        {"cost_sensitive": False},
        {"margin_between": 0.3, "margin_within": 0.1, "scale": 1.0},
        {"knc_algorithm": "ball_tree"},
        {"warmup_epochs": 6},
        {"cluster_assignment": "auction"},
        {"normalize_centroids": False},
        {"renormalize_cost_weights": False},
    ],
)
def test_options_run(params):
    X, y = _imbalanced_blobs(5)
    clf = CLMLEClassifier(**{**FAST, **params}, random_state=0)
    if clf.warmup_epochs >= clf.max_epochs:
        with pytest.warns(UserWarning, match="warmup_epochs"):
            clf.fit(X, y)
    else:
        clf.fit(X, y)
    assert (clf.predict(X) == y).mean() > 0.8
    if "margin_between" in params:
        assert clf.margin_between_ == 0.3
        assert np.allclose(clf.margin_within_, 0.1)


def test_class_weight_shifts_the_decision():
    # every cluster retrieved (N >= n_clusters), so every class has a finite ratio
    X, y = _imbalanced_blobs(6)
    params = {**FAST, "n_neighbor_clusters": 50}
    plain = CLMLEClassifier(**params, random_state=0).fit(X, y)
    heavy = CLMLEClassifier(**{**params, "class_weight": {"rare": 1e6}}, random_state=0)
    heavy.fit(X, y)
    # the weighted score is the rule's ratio r_c times w_c ** (1 / scale)
    emb = heavy._embedding(np.asarray(X, dtype=np.float32))
    ratios = heavy._knc_rules[0].predict_proba(emb[:, 0]).numpy()
    weights = heavy._score_weights[0] ** (1.0 / heavy.scale)
    expected = ratios * weights / (ratios * weights).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(heavy.predict_proba(X), expected, rtol=1e-6)
    rare = list(heavy.classes_).index("rare")
    assert weights[rare] > weights.max() / 2 and weights[rare] > 1
    assert (plain.predict(X) == "rare").mean() < 0.2
    # with scale=1 the shift is the full weight: "rare" is picked everywhere
    full = CLMLEClassifier(**{**params, "class_weight": {"rare": 1e6}}, scale=1.0)
    full.set_params(random_state=0).fit(X, y)
    assert (full.predict(X) == "rare").mean() > 0.9


def test_open_choices_reach_the_loss_and_the_clustering(monkeypatch):
    import skimbalance.classifiers.clmle as mod
    import skimbalance.training.clmle as training

    seen = {"assignment": set(), "loss": set()}
    cluster, loss = mod.cluster_by_class, training.clmle_loss

    def spy_cluster(*args, **kwargs):
        seen["assignment"].add(kwargs.get("assignment"))
        return cluster(*args, **kwargs)

    def spy_loss(*args, **kwargs):
        seen["loss"].add(
            (kwargs["normalize_centroids"], kwargs["renormalize_cost_weights"])
        )
        return loss(*args, **kwargs)

    # The final clustering (the estimator) and the rounds (its schedule).
    monkeypatch.setattr(mod, "cluster_by_class", spy_cluster)
    monkeypatch.setattr(training, "cluster_by_class", spy_cluster)
    monkeypatch.setattr(training, "clmle_loss", spy_loss)
    X, y = _imbalanced_blobs(9)
    CLMLEClassifier(
        **FAST,
        cluster_assignment="auction",
        normalize_centroids=False,
        renormalize_cost_weights=False,
        random_state=0,
    ).fit(X, y)
    assert seen == {"assignment": {"auction"}, "loss": {(False, False)}}


def test_two_retrieved_clusters_is_the_nearest_centroid_rule():
    # Eq. 10 with N = 2: both retrieved clusters of one class -> that class;
    # of two classes -> r = exp(s1 - s2) > 1 > its inverse: the nearer one's
    X, y = _imbalanced_blobs(10)
    clf = CLMLEClassifier(**{**FAST, "n_neighbor_clusters": 2}, random_state=0)
    clf.fit(X, y)
    emb = clf.transform(X)
    nearest = clf.cluster_labels_[np.argmax(emb @ clf.centroids_.T, axis=1)]
    assert np.array_equal(clf.predict(X), nearest)


def test_pickle_roundtrip():
    X, y = _imbalanced_blobs(7)
    clf = CLMLEClassifier(**FAST, random_state=0).fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(clone.predict_proba(X), clf.predict_proba(X))


def test_invalid_settings_raise():
    X, y = _imbalanced_blobs(8)
    with pytest.raises(ValueError, match="early_stopping"):
        CLMLEClassifier(**FAST, early_stopping=True).fit(X, y)
    with pytest.raises(ValueError):
        CLMLEClassifier(**{**FAST, "cluster_size": 0}).fit(X, y)
    with pytest.raises(ValueError):
        CLMLEClassifier(**{**FAST, "margin_between": "big"}).fit(X, y)


def test_schedule_helpers():
    assert cluster_round_epochs(30, 5, 5) == [6, 11, 16, 21, 26]
    assert cluster_round_epochs(5, 5, 5) == []
    assert cluster_round_epochs(7, 0, 3) == [1, 3, 5]
    batches = list(PhaseBatchSampler(10, 3, random_state=0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))

    class TwoOutputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 3)

        def forward(self, x):
            return x, self.linear(x).unsqueeze(1)

    net = TwoOutputs().train()
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    out = embed_in_chunks(net, x, "cpu", 4, pad=True)
    assert out.shape == (5, 1, 3) and net.training
    assert torch.equal(out[4], embed_in_chunks(net, x[4:], "cpu", 4, pad=True)[0])


@pytest.mark.gpu
def test_gpu_fit_pickles_to_cpu(tmp_path):
    X, y = _imbalanced_blobs(9)
    clf = CLMLEClassifier(**{**FAST, "device": "cuda"}, random_state=0).fit(X, y)
    assert clf.net_.device == "cuda"
    proba = clf.predict_proba(X)
    clone = pickle.loads(pickle.dumps(clf))
    assert np.allclose(clone.predict_proba(X), proba)


# ---------------------------------------------------------------- scores (issue 16)
def _assert_scores_consistent(clf, X):
    """predict == argmax(predict_proba) == the decision_function's choice, exactly."""
    pred = clf.predict(X)
    proba = clf.predict_proba(X)
    dec = clf.decision_function(X)
    if clf.n_outputs_ > 1:  # multi-label: one score per label, positive for 1
        assert dec.shape == pred.shape == proba.shape
        assert np.array_equal(pred, (dec > 0).astype(int))
        assert np.array_equal(pred, (proba > 0.5).astype(int))
    elif len(clf.classes_) == 2:
        assert dec.shape == (len(X),)
        assert np.array_equal(pred, clf.classes_[(dec > 0).astype(int)])
        assert np.array_equal(pred, clf.classes_[proba.argmax(1)])
    else:
        assert dec.shape == proba.shape
        assert np.array_equal(pred, clf.classes_[dec.argmax(1)])
        assert np.array_equal(pred, clf.classes_[proba.argmax(1)])
        # predict_proba is the softmax of decision_function
        soft = np.exp(dec - dec.max(1, keepdims=True))
        np.testing.assert_allclose(proba, soft / soft.sum(1, keepdims=True))
    assert np.isfinite(dec).all() and ((proba > 0) & (proba < 1)).all()
    return pred, proba, dec


@pytest.mark.parametrize("n_neighbors", [1, 2, 8])
def test_scores_agree_with_the_k_nearest_cluster_rule(n_neighbors):
    params = {**FAST, "n_neighbor_clusters": n_neighbors}
    # multi-class, with string labels and a class_weight shift
    X, y = _imbalanced_blobs(11)
    for cw in (None, {"rare": 5.0}) if n_neighbors == 2 else (None,):
        clf = CLMLEClassifier(**{**params, "class_weight": cw}, random_state=0)
        clf.fit(X, y)
        _, _, dec = _assert_scores_consistent(clf, X)
        # Eq. 10 itself decides (the raw ratio with its -inf / +inf; the small
        # class-weight shift moves no class past an infinite ratio on this data)
        emb = clf._embedding(np.asarray(X, dtype=np.float32))[:, 0]
        raw = clf._knc_rules[0].log_ratios(emb).numpy()
        shift = np.log(clf._score_weights[0]) / clf.scale
        assert np.array_equal(dec.argmax(1), (raw + shift).argmax(1))
    # binary, imbalanced
    Xb, yb = make_classification(
        n_samples=300, n_features=6, weights=[0.85], random_state=3
    )
    _assert_scores_consistent(CLMLEClassifier(**params, random_state=0).fit(Xb, yb), Xb)
    # multi-label
    Xm, Ym = make_multilabel_classification(
        n_samples=150, n_features=8, n_classes=3, random_state=1
    )
    clf = CLMLEClassifier(**params, random_state=0).fit(Xm, Ym)
    _assert_scores_consistent(clf, Xm)


def test_scores_rank_held_out_data_as_well_as_cross_entropy():
    # issue 16: the clamped ratio tied most rows (909 of 1,000) and lost ROC AUC
    # to CE although its balanced accuracy was higher. Held-out binary 90/10 set,
    # fixed seeds, where the two balanced accuracies are comparable.
    X, y = make_classification(
        n_samples=2500, n_features=20, n_informative=10, weights=[0.9], random_state=2
    )
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=500, stratify=y, random_state=2
    )
    net = dict(hidden_layer_sizes=(128,), max_epochs=20, batch_size=128, device="cpu")
    ce = CrossEntropyClassifier(**net, random_state=0).fit(Xtr, ytr)
    clf = CLMLEClassifier(
        **net, warmup_epochs=5, n_cluster_rounds=3, random_state=0
    ).fit(Xtr, ytr)
    bacc_ce = balanced_accuracy_score(yte, ce.predict(Xte))
    bacc = balanced_accuracy_score(yte, clf.predict(Xte))
    assert abs(bacc - bacc_ce) < 0.02  # comparable (0.917 and 0.911)
    proba = clf.predict_proba(Xte)[:, 1]
    dec = clf.decision_function(Xte)
    auc, auc_ce = (
        roc_auc_score(yte, proba),
        roc_auc_score(yte, ce.predict_proba(Xte)[:, 1]),
    )
    assert auc >= auc_ce  # 0.9677 against 0.9636
    assert roc_auc_score(yte, dec) == auc  # same ranking
    # no ties: one distinct score per test row (the clamped ratio had 2 values
    # for most rows)
    assert len(np.unique(proba)) == len(Xte) == len(np.unique(dec))


def test_max_epochs_within_warmup_warns_once_per_configuration():
    X, y = _imbalanced_blobs(12)
    clf = CLMLEClassifier(**{**FAST, "max_epochs": 2, "warmup_epochs": 2})
    with pytest.warns(UserWarning, match=r"max_epochs=2, warmup_epochs=2") as rec:
        clf.set_params(random_state=0).fit(X, y)
        clf.fit(X, y)  # a second fit of the same instance: silent
    assert sum("warmup_epochs" in str(w.message) for w in rec) == 1
    assert "CLMLE loss is never applied" in str(rec[0].message)
    assert clf.net_.criterion_.stage == "warmup"
    # a grid search over 3 candidates sharing the no-op setting: one warning
    reset_warned()
    search = GridSearchCV(
        CLMLEClassifier(**{**FAST, "max_epochs": 1, "warmup_epochs": 3}),
        {"lr": [1e-2, 3e-3, 1e-3]},
        cv=2,
        n_jobs=1,
    )
    with pytest.warns(UserWarning) as rec:
        search.fit(X, y)
    assert sum("warmup_epochs=3" in str(w.message) for w in rec) == 1
    # another no-op configuration warns again, once; a working one never
    with pytest.warns(UserWarning, match="max_epochs=1, warmup_epochs=4"):
        CLMLEClassifier(**{**FAST, "max_epochs": 1, "warmup_epochs": 4}).fit(X, y)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CLMLEClassifier(**FAST, random_state=0).fit(X, y)
