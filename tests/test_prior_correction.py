"""Post-hoc prior correction (issue 13, item 4; Menon et al., ICLR 2021)."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)

SMALL = dict(
    hidden_layer_sizes=(16,),
    max_epochs=15,
    batch_size=32,
    random_state=0,
    prior_correction=0.0,  # uncorrected unless a test sets it
)
#: SMALL with each estimator's own default correction.
DEFAULT = {k: v for k, v in SMALL.items() if k != "prior_correction"}


def imbalanced(n_classes=3, seed=0):
    weights = {2: [0.9, 0.1], 3: [0.8, 0.15, 0.05]}[n_classes]
    X, y = make_classification(
        n_samples=1200,
        n_features=8,
        n_informative=4,
        n_classes=n_classes,
        n_clusters_per_class=1,
        weights=weights,
        class_sep=0.6,
        random_state=seed,
    )
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=seed)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def test_scores_are_the_logits_minus_tau_log_prior():
    X, X_test, y, _ = imbalanced(3)
    clf = CrossEntropyClassifier(**SMALL).fit(X, y)
    logits = clf.decision_function(X_test)
    prior = np.bincount(y) / len(y)  # computed here, not from the estimator
    for tau in (0.5, 1.0, 2.0):
        clf.set_params(prior_correction=tau)  # no refit needed
        expected = logits - tau * np.log(prior)
        np.testing.assert_allclose(clf.decision_function(X_test), expected, atol=1e-9)
        np.testing.assert_allclose(
            clf.predict_proba(X_test), softmax(expected), atol=1e-9
        )
        assert (clf.predict(X_test) == clf.classes_[expected.argmax(axis=1)]).all()


def test_zero_leaves_the_predictions_as_trained():
    X, X_test, y, _ = imbalanced(2)
    plain = CrossEntropyClassifier(**DEFAULT).fit(X, y)
    zero = CrossEntropyClassifier(**{**SMALL, "prior_correction": 0.0}).fit(X, y)
    np.testing.assert_array_equal(
        plain.predict_proba(X_test), zero.predict_proba(X_test)
    )


@pytest.mark.parametrize("Estimator", [CrossEntropyClassifier, CRLClassifier])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_correction_raises_balanced_accuracy(Estimator, n_classes):
    # The reason to have it: the uncorrected network favours the majority.
    X, X_test, y, y_test = imbalanced(n_classes)
    clf = Estimator(**SMALL).fit(X, y)
    before = balanced_accuracy_score(y_test, clf.predict(X_test))
    after = balanced_accuracy_score(
        y_test, clf.set_params(prior_correction=1.0).predict(X_test)
    )
    assert after > before + 0.02, (before, after)


def test_multi_label_log_odds_shift_by_the_label_prior():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    Y = np.column_stack([X[:, 0] > 1.0, X[:, 1] > -0.5]).astype(int)
    clf = CrossEntropyClassifier(**SMALL).fit(X, Y)
    scores = clf.decision_function(X)
    rate = Y.mean(axis=0)
    clf.set_params(prior_correction=1.0)
    np.testing.assert_allclose(
        clf.decision_function(X), scores - np.log(rate / (1 - rate)), atol=1e-9
    )
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and ((proba > 0) & (proba < 1)).all()
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))


def test_mc_predictions_are_corrected_consistently():
    X, X_test, y, _ = imbalanced(3)
    clf = UncertaintyMarginClassifier(
        **SMALL, warmup_epochs=5, mc_predict=True, n_mc_samples=4
    ).fit(X, y)
    raw = clf.predict_proba(X_test)
    prior = np.bincount(y) / len(y)
    clf.set_params(prior_correction=1.0)
    proba = clf.predict_proba(X_test)
    expected = raw / prior
    np.testing.assert_allclose(
        proba, expected / expected.sum(1, keepdims=True), atol=1e-9
    )
    assert (clf.classes_[proba.argmax(1)] == clf.predict(X_test)).all()
    assert (clf.decision_function(X_test).argmax(1) == proba.argmax(1)).all()


def test_negative_tau_is_rejected():
    X, _, y, _ = imbalanced(2)
    with pytest.raises(ValueError, match="prior_correction"):
        CrossEntropyClassifier(**{**SMALL, "prior_correction": -1.0}).fit(X, y)


def test_clmle_scores_are_corrected_like_logits():
    X, X_test, y, _ = imbalanced(3)
    clf = CLMLEClassifier(**SMALL, warmup_epochs=5, cluster_size=20).fit(X, y)
    scores = clf.decision_function(X_test)
    prior = np.bincount(y) / len(y)
    clf.set_params(prior_correction=1.0)
    expected = scores - np.log(prior)
    np.testing.assert_allclose(clf.decision_function(X_test), expected, atol=1e-9)
    np.testing.assert_allclose(clf.predict_proba(X_test), softmax(expected), atol=1e-9)
    assert (clf.predict(X_test) == clf.classes_[expected.argmax(axis=1)]).all()


@pytest.mark.parametrize("Estimator, extra", [(CRLClassifier, {})])
def test_the_methods_default_targets_the_balanced_error(Estimator, extra):
    # Issue 13: CRL's default is the paper's training with the post-hoc
    # correction; prior_correction=0 is the paper's prediction. The baseline
    # keeps plain cross-entropy's. (The other methods' defaults rebalance
    # their training instead: tests/test_defaults.py.)
    assert Estimator().get_params()["prior_correction"] == "auto"
    assert CrossEntropyClassifier().get_params()["prior_correction"] == 0.0
    X, X_test, y, y_test = imbalanced(3)
    clf = Estimator(**DEFAULT, **extra).fit(X, y)
    proba = clf.predict_proba(X_test)
    default = balanced_accuracy_score(y_test, clf.predict(X_test))
    np.testing.assert_array_equal(
        clf.set_params(prior_correction=1.0).predict_proba(X_test), proba
    )
    paper = balanced_accuracy_score(
        y_test, clf.set_params(prior_correction=0.0).predict(X_test)
    )
    assert default > paper, (default, paper)


@pytest.mark.parametrize(
    "params",
    [
        {"class_weight": "balanced"},
        {"class_weight": {0: 1.0, 1: 2.0, 2: 4.0}},
        {"loss": "logit_adjusted"},
    ],
)
def test_auto_does_not_correct_a_training_that_was_rebalanced(params):
    # No double correction: class weights or a logit-adjusted loss already
    # move the decision toward the balanced error.
    X, X_test, y, _ = imbalanced(3)
    clf = CRLClassifier(**DEFAULT, **params).fit(X, y)
    auto = clf.predict_proba(X_test)
    clf.set_params(prior_correction=0.0)
    np.testing.assert_array_equal(clf.predict_proba(X_test), auto)
    np.testing.assert_array_equal(
        clf.set_params(prior_correction="auto").decision_function(X_test),
        clf.set_params(prior_correction=0.0).decision_function(X_test),
    )


def test_auto_is_accepted_by_the_baseline_and_bad_strings_are_not():
    X, X_test, y, _ = imbalanced(3)
    clf = CrossEntropyClassifier(**{**SMALL, "prior_correction": "auto"}).fit(X, y)
    expected = clf.predict_proba(X_test)
    clf.set_params(prior_correction=1.0)
    np.testing.assert_array_equal(clf.predict_proba(X_test), expected)
    with pytest.raises(ValueError, match="prior_correction"):
        CrossEntropyClassifier(**{**SMALL, "prior_correction": "balanced"}).fit(X, y)


# ---------------------------------------------------------------- target prior
TARGET = np.array([0.2, 0.3, 0.5])


def test_a_target_prior_moves_the_logits_by_its_log_ratio_to_the_training_prior():
    X, X_test, y, _ = imbalanced(3)
    clf = CrossEntropyClassifier(**SMALL).fit(X, y)
    logits = clf.decision_function(X_test)
    prior = np.bincount(y) / len(y)  # computed here, not from the estimator
    for tau in (0.5, 1.0):
        clf.set_params(prior_correction=tau, target_prior=TARGET * 7)  # normalised
        expected = logits - tau * (np.log(prior) - np.log(TARGET))
        np.testing.assert_allclose(clf.decision_function(X_test), expected, atol=1e-9)
        np.testing.assert_allclose(
            clf.predict_proba(X_test), softmax(expected), atol=1e-9
        )
    # The uniform target is today's correction; the training prior undoes it.
    clf.set_params(prior_correction=1.0, target_prior="uniform")
    np.testing.assert_allclose(
        clf.decision_function(X_test), logits - np.log(prior), atol=1e-9
    )
    clf.set_params(target_prior="train")
    np.testing.assert_allclose(clf.decision_function(X_test), logits, atol=1e-9)
    # tau = 0 leaves the scores as trained, whatever the target.
    clf.set_params(prior_correction=0.0, target_prior=TARGET)
    np.testing.assert_allclose(clf.decision_function(X_test), logits, atol=1e-9)


def test_auto_on_a_rebalanced_network_adds_only_the_target_log_prior():
    X, X_test, y, _ = imbalanced(3)
    clf = CRLClassifier(**DEFAULT, class_weight="balanced").fit(X, y)
    logits = clf.set_params(prior_correction=0.0).decision_function(X_test)
    clf.set_params(prior_correction="auto", target_prior=TARGET)
    np.testing.assert_allclose(
        clf.decision_function(X_test), logits + np.log(TARGET), atol=1e-9
    )
    prior = np.bincount(y) / len(y)
    clf.set_params(target_prior="train")
    np.testing.assert_allclose(
        clf.decision_function(X_test), logits + np.log(prior), atol=1e-9
    )


@pytest.mark.parametrize(
    "target, match",
    [
        ([0.5, 0.5], "one entry per class"),
        ([0.5, 0.5, 0.0], "positive"),
        ([0.5, np.nan, 0.5], "positive"),
        (["a", "b", "c"], "array of class shares"),
    ],
)
def test_a_bad_target_prior_is_named(target, match):
    X, X_test, y, _ = imbalanced(3)
    clf = CrossEntropyClassifier(**{**SMALL, "prior_correction": 1.0}).fit(X, y)
    clf.set_params(target_prior=target)
    with pytest.raises(ValueError, match=match):
        clf.predict(X_test)
    with pytest.raises(ValueError, match="target_prior"):
        CrossEntropyClassifier(**SMALL, target_prior="balanced").fit(X, y)


def test_a_multi_label_fit_takes_only_the_named_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    Y = np.column_stack([X[:, 0] > 1.0, X[:, 1] > -0.5]).astype(int)
    clf = CrossEntropyClassifier(**{**SMALL, "prior_correction": 1.0}).fit(X, Y)
    scores = clf.decision_function(X)
    clf.set_params(target_prior="train")
    np.testing.assert_allclose(
        clf.decision_function(X),
        clf.set_params(prior_correction=0.0).decision_function(X),
        atol=1e-9,
    )
    clf.set_params(prior_correction=1.0, target_prior=[0.5, 0.5])
    with pytest.raises(ValueError, match="multi-label"):
        clf.predict(X)
    assert scores.shape == Y.shape


def test_the_em_estimate_of_a_shifted_test_prior_recovers_it_and_helps():
    # Train at the prior (0.8, 0.15, 0.05); deploy on a split resampled to
    # (0.2, 0.3, 0.5). EM on the unlabelled deployment rows estimates that
    # prior, and predicting under it beats predicting under the training one.
    from sklearn.metrics import accuracy_score

    from skimbalance.prior_shift import estimate_target_prior

    # EM needs posteriors near calibration: a well-separated problem.
    X, y = make_classification(
        n_samples=3000,
        n_features=8,
        n_informative=4,
        n_classes=3,
        n_clusters_per_class=1,
        weights=[0.8, 0.15, 0.05],
        class_sep=1.5,
        random_state=1,
    )
    X, X_test, y, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=1
    )
    rng = np.random.default_rng(0)
    n_rare = np.bincount(y_test)[2]
    take = np.concatenate(
        [
            rng.choice(np.flatnonzero(y_test == c), size=int(n), replace=False)
            for c, n in enumerate(np.round(TARGET / TARGET[2] * n_rare))
        ]
    )
    X_shift, y_shift = X_test[take], y_test[take]
    true_prior = np.bincount(y_shift) / len(y_shift)
    clf = CrossEntropyClassifier(**SMALL).fit(X, y)
    estimate = estimate_target_prior(clf, X_shift)
    assert estimate.shape == (3,) and np.isclose(estimate.sum(), 1.0)
    assert np.abs(estimate - true_prior).max() < 0.06, (estimate, true_prior)
    train_prior_estimate = estimate_target_prior(clf, X)
    assert np.abs(train_prior_estimate - np.bincount(y) / len(y)).max() < 0.05
    as_trained = accuracy_score(y_shift, clf.predict(X_shift))
    clf.set_params(prior_correction=1.0, target_prior=estimate)
    shifted = accuracy_score(y_shift, clf.predict(X_shift))
    assert shifted > as_trained + 0.1, (as_trained, shifted)


def test_the_em_estimate_refuses_a_multi_label_fit():
    from skimbalance.prior_shift import estimate_target_prior

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    clf = CrossEntropyClassifier(**SMALL).fit(X, Y)
    with pytest.raises(ValueError, match="multi-label"):
        estimate_target_prior(clf, X)
