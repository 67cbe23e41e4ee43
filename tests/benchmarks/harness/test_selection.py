"""The choice of defaults (issue 13): ranks, tie-breaks, the target margin, and
the profile's pieces that keep the choice off the reported test sets."""

import json

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from benchmarks.__main__ import PROFILES, defaults_experiments
from benchmarks.harness import methods
from benchmarks.harness.cache import config_fingerprint, estimator_signature
from benchmarks.harness.data.protocols import FeatureTable5
from benchmarks.harness.experiments import CVExperiment
from benchmarks.harness.selection import choose, selection_markdown, target_margin


def _records(table):
    """Runs from ``{experiment: {row: (balanced_accuracy, g_mean)}}``."""
    return [
        {
            "experiment": exp,
            "method": row,
            "balanced_accuracy": ba,
            "g_mean": gm,
            "error": None,
        }
        for exp, rows in table.items()
        for row, (ba, gm) in rows.items()
    ]


REFERENCES = ("CE", "CE (cost-sensitive)", "SMOTE + CE")


def test_the_best_mean_rank_is_chosen_and_the_target_margin_is_per_data_set(tmp_path):
    # Worked by hand: on a, b, c the candidate "m good" ranks 1, 1, 4 (mean
    # 2), "m bad" 5, 5, 5; its margins over the better of CS and SMOTE are
    # +0.05, +0.01, -0.03 (mean +1.00 points, 2 of 3 at or above).
    table = {
        "a": {"CE": (0.5, 0.5), "CE (cost-sensitive)": (0.6, 0.6),
              "SMOTE + CE": (0.55, 0.5), "m good": (0.65, 0.6), "m bad": (0.4, 0.4)},
        "b": {"CE": (0.5, 0.5), "CE (cost-sensitive)": (0.6, 0.6),
              "SMOTE + CE": (0.7, 0.7), "m good": (0.71, 0.7), "m bad": (0.3, 0.3)},
        "c": {"CE": (0.9, 0.9), "CE (cost-sensitive)": (0.8, 0.8),
              "SMOTE + CE": (0.82, 0.8), "m good": (0.79, 0.8), "m bad": (0.1, 0.1)},
    }  # fmt: skip
    markdown, choices = selection_markdown(
        _records(table), ["a", "b", "c"], {"m": ["m bad", "m good"]}, REFERENCES,
        out=tmp_path,
    )  # fmt: skip
    assert choices == {"m": "m good"}
    assert "**m good** (chosen)" in markdown
    line = next(s for s in markdown.splitlines() if s.startswith("| **m good**"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "2.00"
    assert cells[5] == "+1.00 (2/3)"
    saved = json.loads((tmp_path / "choice.json").read_text())
    assert saved["choices"] == {"m": "m good"}
    assert saved["mean_ranks"]["balanced_accuracy"]["m bad"] == pytest.approx(5.0)


def test_ties_on_balanced_accuracy_go_to_g_mean():
    rows = ["x", "y"]
    ranks = {"balanced_accuracy": np.array([1.5, 1.5]), "g_mean": np.array([2.0, 1.0])}
    assert choose(ranks, rows, ["x", "y"]) == "y"


def test_a_failed_target_row_gives_no_margin():
    scores = np.array([[0.7, np.nan, 0.6], [0.7, 0.5, 0.6]])
    rows = ["m", "CE (cost-sensitive)", "SMOTE + CE"]
    margin = target_margin(scores, rows, "m")
    assert np.isnan(margin[0]) and margin[1] == pytest.approx(0.1)


def test_cv_repeats_can_start_at_another_seed():
    X = np.arange(40.0)[:, None]
    y = np.repeat([0, 1], [30, 10])
    exp = CVExperiment(
        name="t", title="t", load=lambda: (X, y), rows=(), first_seed=100
    )
    expected = StratifiedKFold(5, shuffle=True, random_state=101).split(X, y)
    for (_, _, _, X_te, _), (_, test) in zip(exp.splits(1), expected, strict=True):
        np.testing.assert_array_equal(X_te[:, 0], X[test, 0])


def test_the_validation_split_leaves_the_test_set_untouched(digits_features):
    X_tr, y_tr, _, _ = FeatureTable5("mnist")(seed=0)
    _, y_fit, X_val, y_val = FeatureTable5("mnist", split="validation")(seed=0)
    assert len(y_fit) + len(y_val) == len(y_tr)
    assert abs(len(y_val) / len(y_tr) - 0.2) < 0.01
    # Validation rows come from the training set, none from the test set.
    train_rows = {row.tobytes() for row in X_tr}
    assert all(row.tobytes() in train_rows for row in X_val)
    # Stratified: the validation part keeps the training prior.
    np.testing.assert_allclose(
        np.bincount(y_val) / len(y_val), np.bincount(y_tr) / len(y_tr), atol=0.01
    )
    with pytest.raises(ValueError, match="split must be"):
        FeatureTable5("mnist", split="test set")


def test_the_defaults_profile_runs_every_candidate_beside_the_references():
    assert "defaults" in PROFILES
    exps = defaults_experiments()
    assert len(exps) == 26
    for exp in exps:
        assert set(methods.DEFAULT_REFERENCES) <= set(exp.rows)
        assert set(methods.CANDIDATES) <= set(exp.rows)
    keel = [e for e in exps if e.kind == "cv"]
    assert len(keel) == 24 and all(e.first_seed == 100 for e in keel)
    assert all(e.name.endswith("_validation") for e in exps if e.kind == "holdout")
    # Each method's candidates include the paper's own setting.
    for group in methods.DEFAULT_CANDIDATES.values():
        assert sum(row.endswith("[paper]") for row in group) == 1


def test_a_changed_default_changes_the_cache_fingerprint(monkeypatch):
    def fingerprint():
        estimator = methods.make_row("CE", 0, max_epochs=1)
        return config_fingerprint({"estimator": estimator_signature(estimator)})

    before = fingerprint()
    assert fingerprint() == before  # stable
    assert fingerprint() == config_fingerprint(
        {"estimator": estimator_signature(methods.make_row("CE", 7, max_epochs=1))}
    )  # the seed is not part of it
    original = methods.BASELINES["CE"]
    monkeypatch.setitem(
        methods.BASELINES,
        "CE",
        lambda random_state, **net: original(random_state, **net).set_params(
            dropout=0.25
        ),
    )
    assert fingerprint() != before


def test_the_probe_table_pairs_each_network_with_its_probe():
    from benchmarks.harness.selection import probe_markdown

    # CE 0.6 / probe 0.7 and 0.5 / 0.6; M 0.55 / 0.8 and 0.6 / 0.5: M's probe
    # minus its head is +0.25 and -0.1 (mean +7.50, 1 of 2 sets); against CE's
    # probe +0.1 and -0.1 (mean +0.00, 1 of 2).
    table = {
        "a": {"CE": (0.6, 0), "CE [balanced probe]": (0.7, 0),
              "M": (0.55, 0), "M [probe]": (0.8, 0)},
        "b": {"CE": (0.5, 0), "CE [balanced probe]": (0.6, 0),
              "M": (0.6, 0), "M [probe]": (0.5, 0)},
    }  # fmt: skip
    markdown = probe_markdown(
        _records(table),
        ["a", "b"],
        {("CE", "CE [balanced probe]"): None, ("M", "M [probe]"): None},
    )
    line = next(s for s in markdown.splitlines() if s.startswith("| M |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1:] == ["57.5", "65.0", "+7.50 (1/2)", "+0.00 (1/2)"]


def test_the_embedding_probe_reads_the_network_under_its_head():
    from sklearn.datasets import load_digits

    X, y = load_digits(n_class=3, return_X_y=True)
    row = methods.make_row("CE [balanced probe]", 0, max_epochs=2, batch_size=64)
    row.fit(X[:300], y[:300])
    probe = row[-1]
    assert probe._embed(X[:5]).shape == (5, probe.estimator_.embedding_dim)
    assert set(row.predict(X[300:])) <= set(probe.classes_)
    assert row.score(X[300:], y[300:]) > 0.8
