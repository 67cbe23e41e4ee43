"""The methods' defaults chosen by the ``defaults`` profile (issue 13), each the
paper's method plus a rebalanced head, with the paper one parameter away."""

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

SMALL = dict(hidden_layer_sizes=(32,), batch_size=32, lr=1e-2, n_threads=1)


def imbalanced(seed=0):
    X, y = make_classification(
        n_samples=900,
        n_features=8,
        n_informative=5,
        n_classes=3,
        weights=[0.8, 0.15, 0.05],
        class_sep=1.0,
        random_state=seed,
    )
    return train_test_split(X, y, test_size=0.4, stratify=y, random_state=seed)


def test_the_defaults_and_the_papers_settings():
    # The baseline stays the plain network.
    ce = CrossEntropyClassifier()
    assert (ce.class_weight, ce.prior_correction) == (None, 0.0)
    # CRL: the paper's training, prior-corrected prediction.
    assert CRLClassifier().get_params()["prior_correction"] == "auto"
    assert CRLClassifier().class_weight is None
    # CLMLE: class-weighted.
    assert CLMLEClassifier().class_weight == "balanced"
    assert CLMLEClassifier().prior_correction == 0.0
    # The uncertainty margin: weights deferred past the warm-up, margins frozen.
    um = UncertaintyMarginClassifier()
    assert (um.class_weight, um.class_weight_start_epoch, um.freeze_margins) == (
        "balanced",
        um.warmup_epochs,
        "auto",
    )
    assert um.prior_correction == 0.0
    # One parameter away, the paper: nothing deferred, nothing frozen.
    paper = UncertaintyMarginClassifier(class_weight=None)
    assert paper._class_weight_start() == 0 and paper._freeze_margins() is False
    assert um._class_weight_start() == um.warmup_epochs and um._freeze_margins()


def test_uncertainty_margin_defers_the_weights_to_the_end_of_the_warm_up():
    X, X_test, y, y_test = imbalanced()
    params = dict(SMALL, max_epochs=9, warmup_epochs=3, sample_level_epochs=3)
    default = UncertaintyMarginClassifier(
        **params, class_weight_start_epoch=3, random_state=0
    ).fit(X, y)
    paper = UncertaintyMarginClassifier(
        **params, class_weight=None, random_state=0
    ).fit(X, y)
    loss_default = default.net_.history[:, "train_loss"]
    loss_paper = paper.net_.history[:, "train_loss"]
    # The warm-up is the same unweighted softmax training, bit for bit ...
    np.testing.assert_allclose(loss_default[:3], loss_paper[:3], rtol=1e-6)
    # ... and the weights act from then on.
    assert not np.allclose(loss_default[3:], loss_paper[3:], rtol=1e-3)
    # The margins are those of the first refresh, on the unweighted network,
    # and stay frozen through the later refreshes.
    margins = [m for m in default.net_.history[:, "class_margins"] if m]
    assert len(margins) >= 2 and all(m == margins[0] for m in margins)
    first_paper = next(m for m in paper.net_.history[:, "class_margins"] if m)
    assert margins[0] == first_paper
    # What the default is for: the balanced error.
    assert balanced_accuracy_score(
        y_test, default.predict(X_test)
    ) > balanced_accuracy_score(y_test, paper.predict(X_test))


@pytest.mark.parametrize("seed", [0, 1])
def test_clmle_default_is_the_class_weighted_method(seed):
    X, X_test, y, _ = imbalanced(seed)
    params = dict(SMALL, max_epochs=8, warmup_epochs=3, cluster_size=20)
    default = CLMLEClassifier(**params, random_state=seed).fit(X, y)
    paper = CLMLEClassifier(**params, class_weight=None, random_state=seed).fit(X, y)
    same = CLMLEClassifier(**params, class_weight="balanced", random_state=seed)
    np.testing.assert_array_equal(
        default.decision_function(X_test), same.fit(X, y).decision_function(X_test)
    )
    assert not np.allclose(
        default.decision_function(X_test), paper.decision_function(X_test)
    )


def test_behind_a_balancing_sampler_the_defaults_do_not_rebalance_twice():
    # The prior and the balanced weights come from the counts the estimator is
    # fitted on; after SMOTE those are equal, so the correction is a constant
    # shift and the predictions are the paper's.
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import make_pipeline

    X, X_test, y, _ = imbalanced()
    pipe = make_pipeline(
        SMOTE(random_state=0), CRLClassifier(**SMALL, max_epochs=3, random_state=0)
    ).fit(X, y)
    crl = pipe[-1]
    assert len(set(crl.class_counts_.tolist())) == 1
    proba = pipe.predict_proba(X_test)
    pipe.set_params(crlclassifier__prior_correction=0.0)
    np.testing.assert_allclose(pipe.predict_proba(X_test), proba, atol=1e-12)
