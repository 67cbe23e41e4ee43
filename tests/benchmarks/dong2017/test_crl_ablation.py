"""Dong et al.'s Table 4 ablation (CRL mining x loss) on tiny configurations."""

import csv

import numpy as np
import pytest
from sklearn.datasets import load_digits

from benchmarks.dong2017 import attributes, crl_ablation
from benchmarks.dong2017.crl_ablation import (
    ABLATION_ROWS,
    DONG2017_TABLE4,
    VARIANTS,
    PowerLawFeatures,
    ablation_markdown,
    ablation_report,
    image_make_row,
    make_row,
    paired_gains,
)
from benchmarks.harness import runner
from benchmarks.harness.data import protocols as table5
from benchmarks.harness.data.protocols import PowerLawImages
from benchmarks.harness.end_to_end import CPU_CNN, GPU_CNN, INPUT_SHAPE
from benchmarks.harness.experiments import HoldoutExperiment
from benchmarks.harness.profile import Profile
from skimbalance import ConvNetBackbone, CRLClassifier, CrossEntropyClassifier


def test_six_variants_build_the_right_estimators():
    assert list(VARIANTS) == [
        "CRL(C+A)",
        "CRL(C+R)",
        "CRL(C+D)",
        "CRL(I+A)",
        "CRL(I+R)",
        "CRL(I+D)",
    ]
    for name, (mining, loss) in VARIANTS.items():
        final = make_row(name, 3, max_epochs=2).steps[-1][1]
        assert isinstance(final, CRLClassifier)
        assert (final.mining, final.crl_loss, final.random_state) == (mining, loss, 3)
        assert final.prior_correction == 0.0  # the paper's CRL: its term alone
        assert final.max_epochs == 2
    ce = make_row("CE", 0).steps[-1][1]
    assert type(ce) is CrossEntropyClassifier
    assert ABLATION_ROWS[0] == "CE" and len(ABLATION_ROWS) == 7


def _rec(exp, method, seed, fold, ba, error=""):
    return {
        "experiment": exp,
        "method": method,
        "seed": seed,
        "fold": fold,
        "error": error,
        "balanced_accuracy": ba,
    }


def test_gains_are_paired_and_laid_out_as_the_paper():
    records = [
        _rec("a", "CE", 0, 0, 0.60),
        _rec("a", "CE", 0, 1, 0.70),
        _rec("a", "CRL(I+R)", 0, 0, 0.65),
        _rec("a", "CRL(I+R)", 0, 1, 0.80),
        _rec("a", "CRL(C+D)", 0, 0, 0.55),
        _rec("a", "CRL(C+D)", 0, 1, float("nan"), error="boom"),
        _rec("b", "CE", 0, 0, 0.50),
        _rec("b", "CRL(I+R)", 0, 0, 0.40),
    ]
    np.testing.assert_allclose(paired_gains(records, "a", "CRL(I+R)"), [0.05, 0.10])
    np.testing.assert_allclose(paired_gains(records, "a", "CRL(C+D)"), [-0.05])
    assert paired_gains(records, "a", "CRL(I+A)").size == 0

    class Exp:
        def __init__(self, name):
            self.name, self.rows = name, ABLATION_ROWS

    ours, paper, csv_rows = ablation_markdown(records, [Exp("a"), Exp("b")])
    lines = ours.splitlines()
    assert lines[0] == (
        "| Mining | a: Absolute | a: Relative | a: Distribution "
        "| b: Absolute | b: Relative | b: Distribution |"
    )
    # Class level: C+D on a = -5 points; instance level: I+R = +7.5 [2.5] on a.
    assert lines[2] == "| Class level | — | — | -5.00 [0.00] | — | — | — |"
    assert (
        lines[3] == "| Instance level | — | +7.50 [2.50] | — | — | -10.00 [0.00] | — |"
    )
    assert (
        lines[4] == "| *CE balanced accuracy* | 65.0 [5.0] |  |  | 50.0 [0.0] |  |  |"
    )
    # The paper's Table 4, labelled, in the same layout.
    assert (
        "| *Instance level* | *+5.67* | *+5.85* | *+2.12* | *+4.92* | *+6.13* |"
        in paper
    )
    assert "CelebA: Absolute" in paper and "X-Domain: Distribution" in paper
    entry = next(
        r for r in csv_rows if r["experiment"] == "a" and r["method"] == "CRL(I+R)"
    )
    assert entry["runs"] == 2 and entry["gain_mean"] == pytest.approx(0.075)
    assert DONG2017_TABLE4["X-Domain"]["class"]["relative"] == 4.71


def test_power_law_features_keep_the_test_set(monkeypatch):
    rng = np.random.default_rng(0)
    y_train = np.repeat(np.arange(4), 100)
    X_train = rng.normal(size=(400, 5))
    X_test, y_test = rng.normal(size=(40, 5)), np.repeat(np.arange(4), 10)
    monkeypatch.setattr(
        table5, "image_features", lambda *a: (X_train, y_train, X_test, y_test)
    )
    X_imb, y_imb, X_te, y_te = PowerLawFeatures("fashion_mnist", gamma=0.5)(1)
    # gamma = 0.5: sizes 100 * c^-2 = 100, 25, 11, 6 in a seed-dependent order.
    assert sorted(np.bincount(y_imb).tolist()) == [6, 11, 25, 100]
    assert X_imb.shape == (142, 5) and X_te is X_test and y_te is y_test


def _toy_holdout(seed, device="cpu"):
    X, y = load_digits(n_class=4, return_X_y=True)
    X = X / 16
    from skimbalance.datasets import power_law_class_sizes

    X_tr, y_tr = power_law_class_sizes(X[::2], y[::2], gamma=1.0, random_state=seed)
    return X_tr, y_tr, X[1::2], y[1::2]


def test_ablation_protocol_tiny(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5))
    Y = np.column_stack([X[:, 0] > 0.8, X[:, 1] > 0]).astype(np.int64)
    monkeypatch.setattr(attributes, "load_yeast", lambda: (X, Y))
    rows = ("CE", "CRL(C+D)", "CRL(I+A)")

    def experiments():
        yeast, holdout = crl_ablation.ablation_experiments()
        yeast.rows = holdout.rows = rows
        yeast.n_splits = 2
        return [
            yeast,
            HoldoutExperiment(
                name="toy_power_law",
                title="toy",
                load=_toy_holdout,
                rows=rows,
                suite="crl_ablation",
                make_row=make_row,
            ),
        ]

    profile = Profile(
        name="tiny_ablation",
        description="tiny",
        experiments=experiments,
        seeds=1,
        net=dict(hidden_layer_sizes=(8,), max_epochs=1, batch_size=32),
        reporters={"crl_ablation": ablation_report},
    )
    records = runner.run_profile(
        profile, out=tmp_path, progress=False, echo=lambda *a: None
    )["records"]
    assert len(records) == 3 * 2 + 3 and not [r for r in records if r["error"]]
    yeast_runs = [r for r in records if r["experiment"] == "yeast"]
    assert all(len(r["per_class"]["balanced_accuracy"]) == 2 for r in yeast_runs)
    summary = (tmp_path / "summary.md").read_text()
    assert "Table 4" in summary and "| Mining | yeast: Absolute |" in summary
    assert "*+5.85*" in summary  # the paper's CRL(I+R) on CelebA, labelled
    gains = list(csv.DictReader((tmp_path / "crl_ablation_gains.csv").open()))
    assert len(gains) == 6 * 2
    for entry in gains:
        runs = int(entry["runs"])
        if entry["method"] not in rows:
            assert runs == 0
            continue
        ce = {
            (r["seed"], r["fold"]): r["balanced_accuracy"]
            for r in records
            if r["experiment"] == entry["experiment"] and r["method"] == "CE"
        }
        diffs = [
            r["balanced_accuracy"] - ce[(r["seed"], r["fold"])]
            for r in records
            if r["experiment"] == entry["experiment"] and r["method"] == entry["method"]
        ]
        assert runs == len(diffs) and float(entry["gain_mean"]) == pytest.approx(
            np.mean(diffs)
        )
    assert (tmp_path / "crl_ablation_gains.png").stat().st_size > 1000


def test_profile_covers_the_issue():
    profile = crl_ablation.PROFILES["crl_ablation"]
    yeast, fmnist = runner.select(profile)
    assert yeast.rows == fmnist.rows == ABLATION_ROWS
    assert yeast.suite == fmnist.suite == "crl_ablation" and yeast.n_splits == 5
    assert yeast.fit_and_score is attributes.fit_and_score
    assert fmnist.fit_and_score is None  # single-label: the harness's scoring
    assert fmnist.load == PowerLawFeatures("fashion_mnist", gamma=0.5)
    assert profile.jobs == 2 and profile.reporters == {"crl_ablation": ablation_report}


def test_cnn_variant_covers_the_issue():
    profile = crl_ablation.PROFILES["crl_ablation"].backbones["cnn"]
    assert profile.name == "crl_ablation_cnn"
    (exp,) = runner.select(profile)
    assert exp.rows == ABLATION_ROWS and exp.suite == "crl_ablation"
    assert exp.load == PowerLawImages("fashion_mnist", gamma=0.5)
    assert exp.make_row is image_make_row
    assert profile.reporters == {"crl_ablation": ablation_report}
    assert profile.net["backbone"] == ConvNetBackbone(INPUT_SHAPE, **CPU_CNN)
    assert profile.sizing_records == ("docs/results/crl_ablation_cnn/runs.jsonl",)
    gpu = profile.at_scale("gpu")
    assert gpu.name == "crl_ablation_cnn_gpu"
    assert gpu.net["backbone"] == ConvNetBackbone(INPUT_SHAPE, **GPU_CNN)
    assert gpu.sizing_records == ()  # not yet run on a GPU
    # Raw pixels: the variants and CE without a scaler, on the CNN.
    for name in ABLATION_ROWS:
        estimator = image_make_row(name, 2, **profile.net)
        assert not hasattr(estimator, "steps")
        assert estimator.backbone == profile.net["backbone"]
        if name in VARIANTS:
            assert (estimator.mining, estimator.crl_loss) == VARIANTS[name]


def test_cnn_variant_tiny_run(tmp_path, digits_pixels, tiny_cnn):
    profile = tiny_cnn(crl_ablation.PROFILES["crl_ablation"].backbones["cnn"])
    records = runner.run_profile(
        profile,
        methods=["CE", "CRL(I+R)"],
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )["records"]
    assert [r["method"] for r in records] == ["CE", "CRL(I+R)"]
    assert not [r for r in records if r["error"]]
    counts = sorted(records[0]["train_counts"], reverse=True)
    assert counts[0] / counts[-1] > 50  # gamma = 0.5 on the digits
    summary = (tmp_path / "summary.md").read_text()
    assert "| Mining | fashion_mnist_power_law: Absolute |" in summary
    assert "## Sizing" in summary
    gains = list(csv.DictReader((tmp_path / "crl_ablation_gains.csv").open()))
    assert {g["method"]: int(g["runs"]) for g in gains}["CRL(I+R)"] == 1
