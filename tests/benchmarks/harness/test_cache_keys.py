"""The run caches keep their keys through the rebalancing rename
(:func:`benchmarks.harness.cache.legacy_parameters`)."""

import importlib.util
from pathlib import Path

from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline

from benchmarks.__main__ import PROFILES
from benchmarks.harness.cache import estimator_signature, read_json_lines
from benchmarks.harness.runner import run_config, select
from skimbalance import (
    CLMLEClassifier,
    CRLClassifier,
    CrossEntropyClassifier,
    UncertaintyMarginClassifier,
)
from skimbalance.class_weight import EffectiveNumberWeights
from skimbalance.losses import FocalLoss, LDAMLoss, VSLoss

ROOT = Path(__file__).resolve().parents[3]


def test_loss_objects_are_described_by_the_flat_names():
    sig = estimator_signature(CrossEntropyClassifier(loss=FocalLoss(gamma=1.0)))
    assert sig["loss"] == "focal" and sig["focal_gamma"] == 1.0
    assert sig["ldam_scale"] == 30.0 and sig["effective_number_beta"] == 0.999
    assert not any(key.startswith("loss__") for key in sig)
    # A name and its object at the defaults are the same runs.
    assert estimator_signature(CRLClassifier(loss="ldam")) == estimator_signature(
        CRLClassifier(loss=LDAMLoss())
    )
    sig = estimator_signature(
        CrossEntropyClassifier(
            loss=LDAMLoss(max_margin=0.3), class_weight=EffectiveNumberWeights(0.99)
        )
    )
    assert (sig["ldam_max_margin"], sig["class_weight"]) == (0.3, "effective_number")
    assert sig["effective_number_beta"] == 0.99


def test_the_vs_loss_has_its_own_keys_and_leaves_the_others_alone():
    sig = estimator_signature(CrossEntropyClassifier(loss=VSLoss(gamma=0.3)))
    assert (sig["loss"], sig["vs_gamma"], sig["vs_tau"]) == ("vs", 0.3, 1.0)
    assert estimator_signature(CrossEntropyClassifier(loss="vs")) == (
        estimator_signature(CrossEntropyClassifier(loss=VSLoss()))
    )
    assert "vs_gamma" not in estimator_signature(CrossEntropyClassifier())


def test_the_recipe_options_are_in_the_key_only_away_from_their_defaults():
    for cls in (CrossEntropyClassifier, CRLClassifier, UncertaintyMarginClassifier):
        sig = estimator_signature(cls())
        assert "max_norm" not in sig and "sampling" not in sig
        assert estimator_signature(cls(max_norm=1.0))["max_norm"] == 1.0
        assert estimator_signature(cls(sampling="square_root"))["sampling"] == (
            "square_root"
        )


def test_the_estimators_in_a_pipeline_are_described_alike():
    pipe = make_pipeline(SMOTE(), CrossEntropyClassifier(loss=FocalLoss(gamma=0.5)))
    sig = estimator_signature(pipe)
    assert sig["crossentropyclassifier__loss"] == "focal"
    assert sig["crossentropyclassifier__focal_gamma"] == 0.5
    assert "crossentropyclassifier__loss__gamma" not in sig


def test_the_uncertainty_margins_start_with_the_margins_is_the_old_warmup():
    def start(**params):
        return estimator_signature(UncertaintyMarginClassifier(**params))[
            "class_weight_start_epoch"
        ]

    assert start() == "warmup"
    assert start(warmup_epochs=3, class_weight_start_epoch=3) == "warmup"
    assert start(warmup_epochs=3) == 10  # weights after the margins: a new run
    assert start(class_weight=None) == "warmup"
    assert start(class_weight=None, class_weight_start_epoch=None) is None
    assert "effective_number_beta" in estimator_signature(CLMLEClassifier())


def test_the_quick_profiles_keys_are_those_of_its_committed_runs():
    # Every run of the committed quick report is found under the key the
    # code computes now: renaming a parameter made no cached run stale.
    # Rows added since the committed runs (not in the file) have none yet.
    profile = PROFILES["quick"]
    records = read_json_lines(ROOT / "docs" / "results" / "quick" / "runs.jsonl")
    committed = {(r["experiment"], r["method"], r["config"]) for r in records}
    committed_rows = {(r["experiment"], r["method"]) for r in records}
    # pytabkit's rows are built only where it is installed (the benchmarks
    # extra, not the test extra CI installs).
    has_pytabkit = importlib.util.find_spec("pytabkit") is not None
    checked = 0
    for exp in select(profile, None, None):
        net = dict(profile.net_for(exp.suite))
        for row in exp.rows:
            if (exp.name, row) not in committed_rows:
                continue
            checked += 1
            if "pytabkit" in row and not has_pytabkit:
                continue
            assert (exp.name, row, run_config(exp, row, net)) in committed, (
                exp.name,
                row,
            )
    # Every committed row is still a row of the profile.
    assert checked == len(committed_rows)


def test_an_added_parameter_is_in_the_key_only_away_from_its_default():
    from benchmarks.harness.cache import estimator_signature
    from skimbalance import CrossEntropyClassifier

    plain = estimator_signature(CrossEntropyClassifier())
    assert "target_prior" not in plain
    assert plain == estimator_signature(CrossEntropyClassifier(target_prior="uniform"))
    shifted = estimator_signature(CrossEntropyClassifier(target_prior="train"))
    assert shifted != plain and shifted["target_prior"] == "train"
