import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs, make_multilabel_classification

from skimbalance import UncertaintyMarginClassifier
from skimbalance.losses.large_margin import MARGIN_TYPES
from skimbalance.training.uncertainty_margin import curriculum_stage
from skimbalance.uncertainty.class_margins import uncertainty_margins

FAST = dict(
    # The paper's method: these tests check the method itself (the default
    # defers balanced class weights and freezes the margins; tests/test_defaults.py).
    prior_correction=0.0,
    class_weight=None,
    hidden_layer_sizes=(32,),
    embedding_dim=8,
    max_epochs=8,
    warmup_epochs=2,
    sample_level_epochs=3,
    uncertainty_interval=2,
    n_mc_samples=5,
    lr=1e-2,
    batch_size=32,
    n_threads=1,
)


def _imbalanced_blobs(seed=0, rare=12):
    return make_blobs(
        n_samples=[200, 200, rare],
        centers=[[0, 0], [3, 0], [1.5, 2.6]],
        cluster_std=1.0,
        random_state=seed,
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_rare_class_is_the_most_uncertain_and_gets_the_largest_margin(seed):
    # The paper's Fig. 3 observation on a constructed three-class problem.
    X, y = _imbalanced_blobs(seed)
    clf = UncertaintyMarginClassifier(**{**FAST, "max_epochs": 10}, random_state=seed)
    clf.fit(X, y)
    u = clf.class_uncertainty_
    assert u.shape == (3,) and np.all(u > 0)
    assert int(np.argmax(u)) == 2
    assert u[2] > 1.5 * max(u[0], u[1])
    assert clf.class_margins_.tolist() == [1, 1, 3]
    # per-sample uncertainty is higher on the rare class's region too
    per_sample = clf.predict_uncertainty(X)
    assert per_sample.shape == (X.shape[0],)
    assert per_sample[y == 2].mean() > per_sample[y != 2].mean()


def test_multiclass_with_string_labels():
    X, y = _imbalanced_blobs(2)
    labels = np.array(["cat", "dog", "eel"])[y]
    clf = UncertaintyMarginClassifier(**FAST, random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["cat", "dog", "eel"]
    proba = clf.predict_proba(X)
    assert proba.shape == (X.shape[0], 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    pred = clf.predict(X)
    assert np.array_equal(pred, clf.classes_[proba.argmax(1)])
    assert clf.score(X, labels) > 0.8
    assert clf.class_margins_.dtype.kind == "i"
    assert set(clf.class_margins_.tolist()) <= {1, 2, 3}
    assert clf.decision_function(X).shape == (X.shape[0], 3)


def test_multilabel_indicator():
    X, Y = make_multilabel_classification(
        n_samples=150, n_features=6, n_classes=3, random_state=0
    )
    clf = UncertaintyMarginClassifier(**FAST, random_state=0).fit(X, Y)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and np.all((proba >= 0) & (proba <= 1))
    assert clf.predict(X).shape == (150, 3)
    assert clf.class_uncertainty_.shape == (3, 2)
    assert clf.class_margins_.shape == (3, 2)
    assert clf.predict_uncertainty(X).shape == (150, 3)
    assert clf.score(X, Y) >= 0.0


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_every_margin_type_fits(margin_type):
    X, y = _imbalanced_blobs(3)
    clf = UncertaintyMarginClassifier(
        **FAST, margin_type=margin_type, random_state=0
    ).fit(X, y)
    assert clf.score(X, y) > 0.8
    assert np.isfinite(clf.net_.history[-1, "train_loss"])


def test_curriculum_stage_boundaries():
    stages = [curriculum_stage(e, 30, 10, 10) for e in range(1, 31)]
    assert stages == ["softmax"] * 10 + ["class"] * 10 + ["sample"] * 10
    # the warm-up wins over the sample-level stage when they overlap
    assert [curriculum_stage(e, 4, 3, 3) for e in range(1, 5)] == [
        "softmax",
        "softmax",
        "softmax",
        "sample",
    ]
    assert curriculum_stage(5, 10, 0, 0) == "class"


def test_schedule_refreshes_and_stages_in_history():
    X, y = _imbalanced_blobs(4)
    params = {**FAST, "max_epochs": 9, "warmup_epochs": 2, "sample_level_epochs": 3}
    params["uncertainty_interval"] = 3
    clf = UncertaintyMarginClassifier(**params, random_state=0).fit(X, y)
    history = clf.net_.history
    refreshed = [row["epoch"] for row in history if "class_margins" in row]
    # first margin epoch (3), every 3 epochs (6), start of the sample stage (7)
    assert refreshed == [3, 6, 7]
    sample_epochs = [
        row["epoch"] for row in history if "misclassification_probability" in row
    ]
    assert sample_epochs == [7, 8, 9]
    last = [row for row in history if "class_margins" in row][-1]
    assert clf.class_margins_.tolist() == last["class_margins"]
    np.testing.assert_allclose(clf.class_uncertainty_, last["class_uncertainty"])
    # the per-sample caches and the training data are not kept in the model
    assert clf.net_.criterion_.feature_mean is None
    schedule = dict(clf.net_.callbacks_)["uncertainty_schedule"]
    assert schedule.X is None


@pytest.mark.parametrize("sample_level_epochs", [0, 2])
def test_fixed_margin_source_gives_every_class_max_margin(sample_level_epochs):
    X, y = _imbalanced_blobs(3)
    params = {
        **FAST,
        "margin_type": "cosface",
        "uncertainty_interval": 1,
        "sample_level_epochs": sample_level_epochs,
    }
    fixed = UncertaintyMarginClassifier(
        **params, margin_source="fixed", random_state=0
    ).fit(X, y)
    history = [
        row["class_margins"] for row in fixed.net_.history if "class_margins" in row
    ]
    assert len(history) == FAST["max_epochs"] - FAST["warmup_epochs"]
    assert all(m == [3, 3, 3] for m in history)
    np.testing.assert_array_equal(fixed.class_margins_, [3, 3, 3])
    assert np.all(np.isfinite(fixed.class_uncertainty_))
    # The default source derives the margins from the same uncertainties,
    # and the two fits share their softmax warm-up.
    uncertain = UncertaintyMarginClassifier(**params, random_state=0).fit(X, y)
    expected = uncertainty_margins(torch.as_tensor(uncertain.class_uncertainty_), 3)
    np.testing.assert_array_equal(uncertain.class_margins_, expected.numpy())
    assert uncertain.class_margins_.min() < 3
    for epoch in range(FAST["warmup_epochs"]):
        assert fixed.net_.history[epoch, "train_loss"] == pytest.approx(
            uncertain.net_.history[epoch, "train_loss"]
        )


def test_fixed_margin_source_without_dropout_warns_only_for_the_sample_term():
    X, y = _imbalanced_blobs(6)
    params = {**FAST, "dropout": 0.0, "margin_source": "fixed", "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf = UncertaintyMarginClassifier(**{**params, "sample_level_epochs": 0})
        clf.fit(X, y)
    assert clf.class_margins_.tolist() == [3, 3, 3]
    with pytest.warns(UserWarning, match="treats every sample as certain"):
        UncertaintyMarginClassifier(**params).fit(X, y)


def test_softmax_only_keeps_unit_margins_but_estimates_uncertainty():
    X, y = _imbalanced_blobs(5)
    params = {**FAST, "warmup_epochs": FAST["max_epochs"]}
    with pytest.warns(UserWarning, match="never leaves its softmax stage"):
        clf = UncertaintyMarginClassifier(**params, random_state=0).fit(X, y)
    assert clf.class_margins_.tolist() == [1, 1, 1]
    assert np.all(clf.class_uncertainty_ > 0)
    assert not any("class_margins" in row for row in clf.net_.history)


def test_no_dropout_warns_and_gives_unit_margins():
    X, y = _imbalanced_blobs(6)
    with pytest.warns(UserWarning, match="no dropout"):
        clf = UncertaintyMarginClassifier(**FAST, dropout=0.0, random_state=0)
        clf.fit(X, y)
    assert clf.class_margins_.tolist() == [1, 1, 1]
    np.testing.assert_allclose(clf.class_uncertainty_, 0.0, atol=1e-12)
    np.testing.assert_allclose(clf.predict_uncertainty(X[:5]), 0.0, atol=1e-12)


def test_reproducible_and_global_rng_untouched():
    X, y = _imbalanced_blobs(7)
    state = torch.random.get_rng_state()
    a = UncertaintyMarginClassifier(**FAST, random_state=3).fit(X, y)
    b = UncertaintyMarginClassifier(**FAST, random_state=3).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.class_uncertainty_, b.class_uncertainty_)
    np.testing.assert_array_equal(a.predict_uncertainty(X), b.predict_uncertainty(X))
    np.testing.assert_array_equal(a.predict_uncertainty(X), a.predict_uncertainty(X))


def test_mc_predict_averages_passes():
    X, y = _imbalanced_blobs(8)
    clf = UncertaintyMarginClassifier(**FAST, random_state=0).fit(X, y)
    deterministic = clf.predict_proba(X)
    clf.set_params(mc_predict=True)
    mc = clf.predict_proba(X)
    np.testing.assert_allclose(mc.sum(1), 1.0, atol=1e-6)
    assert not np.allclose(mc, deterministic)
    np.testing.assert_array_equal(mc, clf.predict_proba(X))
    assert np.array_equal(clf.predict(X), clf.classes_[mc.argmax(1)])
    assert np.mean(mc.argmax(1) == deterministic.argmax(1)) > 0.9


def test_pickle_round_trip_and_early_stopping_and_weights():
    X, y = _imbalanced_blobs(9)
    weights = np.ones(X.shape[0])
    weights[:20] = 0.0
    clf = UncertaintyMarginClassifier(
        **FAST, early_stopping=True, n_iter_no_change=20, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.fit(X, y, sample_weight=weights)
    schedule = dict(clf.net_.callbacks_)["uncertainty_schedule"]
    # class uncertainties come from the training part of the split only
    assert schedule.train_index_ is not None
    assert len(schedule.train_index_) < X.shape[0]
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.class_margins_, clf.class_margins_)


def test_invalid_parameters():
    X, y = _imbalanced_blobs(0)
    with pytest.raises(ValueError, match="margin_type"):
        UncertaintyMarginClassifier(margin_type="nope").fit(X, y)
    with pytest.raises(ValueError, match="max_margin"):
        UncertaintyMarginClassifier(max_margin=0).fit(X, y)
    with pytest.raises(ValueError, match="n_mc_samples"):
        UncertaintyMarginClassifier(n_mc_samples=0).fit(X, y)
    with pytest.raises(ValueError, match="margin_source"):
        UncertaintyMarginClassifier(margin_source="uniform").fit(X, y)


def test_curriculum_longer_than_the_fit_warns():
    X, y = make_blobs(n_samples=60, n_features=4, random_state=0)
    clf = UncertaintyMarginClassifier(
        hidden_layer_sizes=(8,), max_epochs=2, warmup_epochs=2, random_state=0
    )
    with pytest.warns(UserWarning, match="never leaves its softmax stage"):
        clf.fit(X, y)


@pytest.mark.parametrize("margin_type", MARGIN_TYPES)
def test_one_cell_of_1e30_leaves_the_model_finite(margin_type):
    rng = np.random.RandomState(0)
    X = rng.randn(120, 5).astype(np.float32)
    y = (rng.rand(120) < 0.3).astype(int)
    X_bad = X.copy()
    X_bad[0, 0] = 1e30
    params = {**FAST, "max_epochs": 4, "warmup_epochs": 1, "sample_level_epochs": 2}
    clf = UncertaintyMarginClassifier(
        **params, margin_type=margin_type, random_state=0
    ).fit(X_bad, y)
    assert np.isfinite(clf.net_.history[:, "train_loss"]).all()
    assert np.isfinite(clf.predict_proba(X)).all()
    assert np.isfinite(clf.predict_uncertainty(X)).all()


def test_mc_prediction_of_a_row_does_not_depend_on_the_other_rows():
    X, y = _imbalanced_blobs(9)
    clf = UncertaintyMarginClassifier(**FAST, mc_predict=True, random_state=0)
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    uncertainty = clf.predict_uncertainty(X)
    perm = np.random.RandomState(1).permutation(X.shape[0])
    np.testing.assert_array_equal(clf.predict_proba(X[perm]), proba[perm])
    np.testing.assert_array_equal(clf.predict_uncertainty(X[perm]), uncertainty[perm])
    np.testing.assert_array_equal(clf.predict(X[perm]), clf.predict(X)[perm])
    subset = slice(37, 45)
    np.testing.assert_array_equal(clf.predict_proba(X[subset]), proba[subset])
    np.testing.assert_array_equal(clf.predict_uncertainty(X[7:8]), uncertainty[7:8])
    # Identical rows get identical masks; the MC average is not the plain pass.
    doubled = clf.predict_proba(np.vstack([X[:5], X[:5]]))
    np.testing.assert_array_equal(doubled[:5], doubled[5:])
    assert not np.allclose(proba, clf.set_params(mc_predict=False).predict_proba(X))


def test_mc_prediction_is_keyed_by_the_fit_seed_and_leaves_torch_rng_alone():
    X, y = _imbalanced_blobs(10)
    a = UncertaintyMarginClassifier(**FAST, mc_predict=True, random_state=0).fit(X, y)
    b = UncertaintyMarginClassifier(**FAST, mc_predict=True, random_state=0).fit(X, y)
    state = torch.random.get_rng_state()
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(X))
    assert torch.equal(state, torch.random.get_rng_state())
    # The same network with another MC seed draws other masks.
    b._mc_seed += 1
    assert not np.array_equal(a.predict_uncertainty(X), b.predict_uncertainty(X))


@pytest.mark.parametrize("seed", [0, 1])
def test_balanced_weights_deferred_past_frozen_margins_keep_them_on_the_rare_class(
    seed,
):
    # Issue 19 item 11: with class_weight="balanced" from the first epoch the
    # class uncertainties flatten and the largest margin moves to a majority
    # class (on these blobs seeds 0 and 1 give [3, 2, 1] and [1, 3, 2]).
    # Estimating the margins once on the unweighted warm-up network and
    # switching the weights on after it keeps them on the rare class.
    X, y = _imbalanced_blobs(seed)
    params = {**FAST, "max_epochs": 10}
    clf = UncertaintyMarginClassifier(
        **{**params, "class_weight": "balanced"},
        class_weight_start_epoch=params["warmup_epochs"],
        freeze_margins=True,
        random_state=seed,
    ).fit(X, y)
    assert clf.class_margins_.tolist() == [1, 1, 3]
    records = [
        row["class_margins"] for row in clf.net_.history if "class_margins" in row
    ]
    assert len(records) > 1 and all(r == records[0] for r in records)
    # the margins are those an unweighted fit estimates at its first refresh
    plain = UncertaintyMarginClassifier(**params, random_state=seed).fit(X, y)
    first = next(r["class_margins"] for r in plain.net_.history if "class_margins" in r)
    assert clf.class_margins_.tolist() == first
    # the weights did switch on after the warm-up
    on = [row["class_weights_on"] for row in clf.net_.history]
    assert on == [False] * params["warmup_epochs"] + [True] * (
        params["max_epochs"] - params["warmup_epochs"]
    )
    # This recipe is the default: class weights from the warm-up's end, frozen
    # margins; the same fit, bit for bit.
    defaults = {k: v for k, v in params.items() if k != "class_weight"}
    default = UncertaintyMarginClassifier(
        **defaults, class_weight_start_epoch=params["warmup_epochs"], random_state=seed
    ).fit(X, y)
    np.testing.assert_array_equal(default.predict_proba(X), clf.predict_proba(X))


def test_frozen_margins_ignore_later_refreshes_but_update_uncertainty():
    X, y = _imbalanced_blobs(3)
    clf = UncertaintyMarginClassifier(**FAST, freeze_margins=True, random_state=0).fit(
        X, y
    )
    rows = [row for row in clf.net_.history if "class_margins" in row]
    assert len(rows) >= 3
    assert all(r["class_margins"] == rows[0]["class_margins"] for r in rows)
    assert rows[0]["class_uncertainty"] != rows[-1]["class_uncertainty"]
    np.testing.assert_allclose(clf.class_uncertainty_, rows[-1]["class_uncertainty"])


@pytest.mark.parametrize("margin_map", ["linear", "rank"])
def test_margin_map_is_applied_to_the_recorded_uncertainties(margin_map):
    X, y = _imbalanced_blobs(1)
    clf = UncertaintyMarginClassifier(
        **FAST, margin_map=margin_map, random_state=0
    ).fit(X, y)
    for row in clf.net_.history:
        if "class_margins" in row:
            expected = uncertainty_margins(
                torch.tensor(row["class_uncertainty"]), 3, margin_map
            )
            assert row["class_margins"] == expected.tolist()


def test_softmax_weight_is_annealed_over_the_class_stage():
    X, y = _imbalanced_blobs(0)
    params = {**FAST, "max_epochs": 8, "warmup_epochs": 2, "sample_level_epochs": 2}
    clf = UncertaintyMarginClassifier(
        **params, softmax_weight_start=99.0, softmax_weight=0.0, random_state=0
    ).fit(X, y)
    lam = [row["softmax_weight"] for row in clf.net_.history]
    # class stage: epochs 3-6; 1 + lambda falls geometrically from 100 to 1
    expected = [99.0, 99.0, 99.0, 100 ** (2 / 3) - 1, 100 ** (1 / 3) - 1, 0.0, 0, 0]
    np.testing.assert_allclose(lam, expected, atol=1e-12)
    assert clf.net_.criterion_.softmax_weight == 0.0
    constant = UncertaintyMarginClassifier(**params, random_state=0).fit(X, y)
    assert "softmax_weight" not in constant.net_.history[-1]


def test_full_sample_covariance_fits_and_logs_its_probability():
    X, y = _imbalanced_blobs(2)
    clf = UncertaintyMarginClassifier(
        **FAST, sample_covariance="full", random_state=0
    ).fit(X, y)
    probs = [
        row["misclassification_probability"]
        for row in clf.net_.history
        if "misclassification_probability" in row
    ]
    assert len(probs) == FAST["sample_level_epochs"]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert clf.net_.criterion_.feature_var is None  # released after fit
    assert clf.score(X, y) > 0.8


def test_invalid_new_parameters():
    X, y = _imbalanced_blobs(0)
    for name, value in [
        ("margin_map", "log"),
        ("freeze_margins", "yes"),
        ("softmax_weight_start", -1.0),
        ("sample_covariance", "low_rank"),
    ]:
        with pytest.raises(ValueError, match=name):
            UncertaintyMarginClassifier(**{name: value}).fit(X, y)


def test_criterion_pickled_before_sample_covariance_still_runs():
    # A criterion from a pickle of an earlier version has no sample_covariance.
    from skimbalance.training.uncertainty_margin import (
        MarginHead,
        UncertaintyMarginCriterion,
    )

    head = MarginHead(1, 3, 2, "large_margin", 30.0)
    crit = UncertaintyMarginCriterion("large_margin", 0.5, 30.0).bind(head)
    del crit.sample_covariance
    crit.stage, crit.margins = "sample", torch.tensor([[1, 3]])
    crit.feature_mean = torch.randn(4, 1, 3)
    crit.feature_var = torch.rand(4, 1, 3, dtype=torch.float64)
    emb = torch.randn(4, 1, 3)
    y = torch.tensor([[0], [1], [1], [0]])
    loss, logs = crit((head(emb), emb), y, {"index": torch.arange(4)})
    assert torch.isfinite(loss) and 0.0 <= logs["misclassification_probability"] <= 1


def test_the_short_curriculum_warning_is_issued_once_per_configuration():
    # Issue 16, item 5: it was issued on every fit (27 times in one search).
    import warnings

    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV

    X, y = make_classification(n_samples=90, n_features=5, random_state=0)
    est = UncertaintyMarginClassifier(
        hidden_layer_sizes=(8,), max_epochs=2, warmup_epochs=5, random_state=0
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GridSearchCV(est, {"lr": [1e-3, 1e-2, 3e-2]}, cv=2).fit(X, y)
    short = [w for w in caught if "never leaves its softmax stage" in str(w.message)]
    assert len(short) == 1


@pytest.mark.parametrize("sample_covariance", ["diagonal", "full"])
def test_streamed_refreshes_leave_the_fit_unchanged(monkeypatch, sample_covariance):
    # The fit with the streamed MC statistics (chunks, moments written in
    # place, no feature moments in the class stage, the backbone's first layer
    # once per chunk) against the same fit with the full computation of every
    # moment at every refresh: the same predictions to 1e-5.
    from uncertainty.mc_reference import reference_mc_dropout_statistics

    import skimbalance.training.uncertainty_margin as training

    X, y = _imbalanced_blobs(6)
    X = X.astype(np.float32)
    params = dict(
        hidden_layer_sizes=(32, 16),
        embedding_dim=8,
        max_epochs=6,
        warmup_epochs=1,
        class_weight_start_epoch=1,
        sample_level_epochs=2,
        uncertainty_interval=2,
        n_mc_samples=4,
        batch_size=100,  # MC chunks of 256 samples: 412 samples, two chunks
        sample_covariance=sample_covariance,
        n_threads=1,
        random_state=0,
    )
    streamed = UncertaintyMarginClassifier(**params).fit(X, y)
    monkeypatch.setattr(
        training, "mc_dropout_statistics", reference_mc_dropout_statistics
    )
    reference = UncertaintyMarginClassifier(**params).fit(X, y)
    refreshed = [r["epoch"] for r in streamed.net_.history if "class_margins" in r]
    assert refreshed == [2, 4, 5]  # class-stage refreshes and the sample stage's
    np.testing.assert_allclose(
        streamed.class_uncertainty_, reference.class_uncertainty_, atol=1e-6
    )
    np.testing.assert_array_equal(streamed.class_margins_, reference.class_margins_)
    np.testing.assert_allclose(
        streamed.predict_proba(X), reference.predict_proba(X), atol=1e-5, rtol=0
    )


def test_only_the_sample_stage_refreshes_keep_feature_moments(monkeypatch):
    import skimbalance.training.uncertainty_margin as training

    kept = []
    refresh = training.UncertaintySchedule.refresh

    def recording(self, net):
        refresh(self, net)
        mean, var = net.criterion_.feature_mean, net.criterion_.feature_var
        kept.append((self.stage_, None if mean is None else (mean.shape, var.dtype)))

    monkeypatch.setattr(training.UncertaintySchedule, "refresh", recording)
    X, y = _imbalanced_blobs(7)
    params = {**FAST, "max_epochs": 5, "warmup_epochs": 1, "sample_level_epochs": 2}
    params["uncertainty_interval"] = 1
    UncertaintyMarginClassifier(**params).fit(X, y)
    # the class stage reads no feature moments; the sample stage's are float32
    n = X.shape[0]
    expected_sample = (torch.Size([n, 1, FAST["embedding_dim"]]), torch.float32)
    assert kept == [
        ("class", None),
        ("class", None),
        ("sample", expected_sample),
        ("sample", expected_sample),
    ]
