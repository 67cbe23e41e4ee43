"""scikit-learn's common estimator checks over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

import skimbalance
from skimbalance.base import BaseDeepClassifier
from skimbalance.losses import LDAMLoss

# Small, fast configurations: the checks fit a few hundred times on tiny data.
# Every public estimator must appear here (test_every_estimator_is_checked).
FAST_PARAMS = {
    "CLMLEClassifier": dict(
        hidden_layer_sizes=(32,),
        embedding_dim=16,
        max_epochs=8,
        lr=1e-2,
        batch_size=32,
        warmup_epochs=4,
        n_cluster_rounds=2,
    ),
    "CRLClassifier": dict(
        hidden_layer_sizes=(32,), embedding_dim=16, max_epochs=8, lr=1e-2, batch_size=32
    ),
    "CrossEntropyClassifier": dict(
        hidden_layer_sizes=(32,), embedding_dim=16, max_epochs=8, lr=1e-2, batch_size=32
    ),
    "UncertaintyMarginClassifier": dict(
        hidden_layer_sizes=(32,),
        embedding_dim=16,
        max_epochs=8,
        lr=1e-2,
        batch_size=32,
        warmup_epochs=2,
        class_weight_start_epoch=2,
        sample_level_epochs=3,
        uncertainty_interval=2,
        n_mc_samples=4,
    ),
}

SAMPLE_WEIGHT_REASON = (
    "minibatch SGD cannot make an integer sample weight k equivalent to k copies "
    "of the sample: the copies change the batches and the number of steps"
)


def public_estimators():
    return [
        getattr(skimbalance, name)
        for name in skimbalance.__all__
        if isinstance(getattr(skimbalance, name), type)
        and issubclass(getattr(skimbalance, name), BaseDeepClassifier)
    ]


# Options checked on top of an estimator's FAST_PARAMS, one instance each:
# the long-tail losses and class-weight schemes, and MC-dropout prediction,
# which goes through another prediction path (keyed masks, see the user guide).
OPTION_INSTANCES = [
    ("CrossEntropyClassifier", dict(loss="focal")),
    ("CrossEntropyClassifier", dict(loss="logit_adjusted")),
    # At the default LDAMLoss scale=30 a binary cosine classifier's logit gap reaches
    # 60, and the check's well-separated data push predict_proba to exactly 1.0
    # in float64 (the multi-label check wants 0 < p < 1): a smaller scale.
    ("CrossEntropyClassifier", dict(loss=LDAMLoss(scale=10.0))),
    (
        "CrossEntropyClassifier",
        dict(class_weight="effective_number", class_weight_start_epoch=4),
    ),
    ("CRLClassifier", dict(loss="logit_adjusted")),
    ("UncertaintyMarginClassifier", dict(mc_predict=True)),
    # The tabular backbone (quantile transform, embeddings, ensemble) under
    # every estimator, at its defaults.
    ("CrossEntropyClassifier", dict(backbone="tabular")),
    ("CRLClassifier", dict(backbone="tabular")),
    ("CLMLEClassifier", dict(backbone="tabular")),
    ("UncertaintyMarginClassifier", dict(backbone="tabular")),
]


def fast_instances():
    instances = [
        cls(**FAST_PARAMS[cls.__name__], random_state=0)
        for cls in public_estimators()
        if cls.__name__ in FAST_PARAMS
    ]
    by_name = {cls.__name__: cls for cls in public_estimators()}
    for name, options in OPTION_INSTANCES:
        instances.append(by_name[name](**FAST_PARAMS[name], **options, random_state=0))
    return instances


def expected_failed_checks(estimator):
    failed = {
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_REASON,
    }
    return failed


def test_every_estimator_is_checked():
    missing = {cls.__name__ for cls in public_estimators()} - set(FAST_PARAMS)
    assert not missing, f"add a FAST_PARAMS entry for {sorted(missing)}"


@parametrize_with_checks(
    fast_instances(), expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# scikit-learn 1.9's check_estimator does not run check_param_validation (its own
# test suite calls it directly): run it over every public estimator here.
@pytest.mark.parametrize("cls", public_estimators(), ids=lambda cls: cls.__name__)
def test_param_validation(cls):
    estimator = cls(**FAST_PARAMS[cls.__name__], random_state=0)
    check_param_validation(cls.__name__, estimator)
