"""Huang et al.'s Table 8 protocol on tiny configurations, and ``--backbone``."""

import csv

import numpy as np
import pytest
from sklearn.datasets import load_digits

from benchmarks import __main__ as cli
from benchmarks.baselines.triplet import TRIPLET_PLUS
from benchmarks.harness import runner
from benchmarks.harness.end_to_end import CPU_CNN, GPU_CNN
from benchmarks.harness.methods import all_rows
from benchmarks.harness.profile import Profile
from benchmarks.huang2019.table8 import (
    BALANCED_ROWS,
    CNN_INPUT_SHAPE,
    PROFILES,
    ROWS,
    SUITE,
    ImagePool,
    PowerLawLoad,
    balanced_indices,
    feature_row,
    image_row,
    power_law_indices,
    report_table8,
    row_factories,
    table8_experiments,
)
from skimbalance import ConvNetBackbone


def _digits_pool(device="cpu"):
    """A stand-in for the features: digits, stratified halves (about 90 a class)."""
    X, y = load_digits(return_X_y=True)
    order = np.argsort(y, kind="stable")
    X, y = X[order] / 16, y[order]
    return X[::2], y[::2], X[1::2], y[1::2]


def _digit_images(device="cpu"):
    """The same, as 28 x 28 images (8 x 8 pixels blown up 3 times, padded)."""
    X_tr, y_tr, X_te, y_te = _digits_pool()

    def grow(X):
        images = np.kron(X.reshape(-1, 8, 8), np.ones((3, 3)))
        return np.pad(images, ((0, 0), (2, 2), (2, 2))).reshape(len(X), -1)

    return grow(X_tr).astype(np.float32), y_tr, grow(X_te).astype(np.float32), y_te


def expected_sizes(y, gamma):
    n_max = np.bincount(y).min()
    c = np.arange(1, len(np.unique(y)) + 1, dtype=float)
    return [int(max(1, round(n_max * k ** (-1 / gamma)))) for k in c]


@pytest.mark.parametrize("gamma", [1.0, 0.5])
def test_power_law_training_set_as_specified(gamma):
    y = np.repeat(np.arange(10), [600, 650, 700, 610, 620, 630, 640, 800, 900, 605])
    orders, picks = set(), set()
    for seed in range(4):
        index = power_law_indices(y, gamma, seed)
        counts = np.bincount(y[index], minlength=10)
        assert sorted(counts.tolist(), reverse=True) == expected_sizes(y, gamma)
        assert len(np.unique(index)) == len(index)  # without replacement
        orders.add(tuple(np.argsort(-counts, kind="stable")))
        picks.add(tuple(index[:20]))
        assert np.array_equal(index, power_law_indices(y, gamma, seed))  # repeatable
    assert len(orders) > 1 and len(picks) > 1  # the seed draws order and samples
    assert expected_sizes(y, 1.0)[:3] == [600, 300, 200]
    assert expected_sizes(y, 0.5)[:3] == [600, 150, 67]


def test_balanced_baseline_has_the_same_total_size():
    X_tr, y_tr, X_te, _ = _digits_pool()
    for gamma in (1.0, 0.5):
        _, y_imb, X_test, _ = PowerLawLoad(_digits_pool, gamma)(3)
        X_bal, y_bal, X_test2, _ = PowerLawLoad(_digits_pool, gamma, True)(3)
        assert len(y_bal) == len(y_imb) == sum(expected_sizes(y_tr, gamma))
        counts = np.bincount(y_bal)
        assert counts.max() - counts.min() <= 1
        assert np.array_equal(X_test, X_te) and np.array_equal(X_test2, X_te)
        # Drawn from the whole pool, without repeats, independently of the
        # power-law draw (the balanced set is not a subset of it).
        index = balanced_indices(y_tr, len(y_imb), 3)
        assert np.array_equal(X_bal, X_tr[index]) and len(set(index)) == len(index)
        assert not set(index) <= set(power_law_indices(y_tr, gamma, 3))
    with pytest.raises(ValueError, match="fewer"):
        balanced_indices(np.repeat([0, 1], [10, 3]), 10, 0)


def tiny_profile(pools, net, rows=(TRIPLET_PLUS, "CE"), gammas=(1.0, 0.5), **kw):
    return Profile(
        name="tiny_table8",
        description="tiny Table 8",
        experiments=lambda: table8_experiments(
            pools, gammas=gammas, rows=rows, balanced_rows=("CE",), **kw
        ),
        seeds=1,
        net=net,
        reporters={SUITE: report_table8},
    )


def test_triplet_row_is_not_registered_globally():
    assert TRIPLET_PLUS not in all_rows()
    assert TRIPLET_PLUS in row_factories()


def test_tiny_protocol_end_to_end(tmp_path):
    profile = tiny_profile(
        {"fashion_mnist": _digits_pool},
        dict(hidden_layer_sizes=(16,), max_epochs=2, batch_size=32),
    )
    # Two worker processes: they build the "Triplet+" row through the
    # experiments' make_row (benchmarks.huang2019.table8), not through the registry.
    result = runner.run_profile(
        profile,
        out=tmp_path,
        device="cpu",
        jobs=2,
        progress=False,
        echo=lambda *a: None,
    )
    records = result["records"]
    assert not [r["error"] for r in records if r["error"]]
    by = {(r["experiment"], r["method"]): r for r in records}
    assert set(by) == {
        (f"fashion_mnist_{g}{b}", row)
        for g in ("g1", "g0.5")
        for b, rows in (("", (TRIPLET_PLUS, "CE")), ("_balanced", ("CE",)))
        for row in rows
    }
    y_pool = _digits_pool()[1]
    for g, gamma in (("g1", 1.0), ("g0.5", 0.5)):
        imbalanced = by[f"fashion_mnist_{g}", "CE"]
        balanced = by[f"fashion_mnist_{g}_balanced", "CE"]
        sizes = expected_sizes(y_pool, gamma)
        assert sorted(imbalanced["train_counts"], reverse=True) == sizes
        assert balanced["n_train"] == imbalanced["n_train"] == sum(sizes)
        assert imbalanced["n_test"] == balanced["n_test"] == len(_digits_pool()[3])
    summary = (tmp_path / "summary.md").read_text()
    assert "## Huang et al.'s Table 8 protocol" in summary
    header = next(line for line in summary.splitlines() if line.startswith("| Method"))
    assert header == (
        "| Method | Fashion-MNIST γ = 1 (paper: CIFAR-100) | Fashion-MNIST γ = 0.5 "
        "(paper: CIFAR-100) | fit s |"
    )
    labels = [
        line.split(" | ")[0][2:]
        for line in summary.split(header)[1].split("\n\n")[0].splitlines()[2:]
    ]
    assert labels[0] == "Triplet+"
    assert labels[1] == '*↳ the paper\'s "Triplet+" (CIFAR-100 / MNIST-rot-back-image)*'
    assert labels[2] == "CE"
    assert labels[3] == "Balanced baseline (CE)"
    # The paper's rows of methods not run here are printed, labelled as such.
    assert any('the paper\'s "CLMLE"' in label for label in labels)
    assert any("LMLE" in label and "not run here" in label for label in labels)
    assert "| *42.2* | *32.2* |" in summary and "| *48.2* | *48.2* |" in summary
    table = list(csv.DictReader((tmp_path / "table8.csv").open()))
    assert len(table) == 6 and {r["training_set"] for r in table} == {
        "power_law",
        "balanced",
    }
    ce = next(r for r in table if r["method"] == "CE" and r["gamma"] == "1.0")
    assert np.isclose(
        float(ce["balanced_accuracy"]),
        by["fashion_mnist_g1", "CE"]["balanced_accuracy"],
    )
    figure = tmp_path / "recall_vs_class_size_table8_fashion_mnist.png"
    assert figure.stat().st_size > 1000 and figure.name in summary


def _record(experiment, method, seed, score, error=""):
    return {
        "experiment": experiment,
        "method": method,
        "seed": seed,
        "fold": 0,
        "error": error,
        "balanced_accuracy": score,
        "fit_seconds": 1.0,
        "classes": ["0", "1"],
        "train_counts": [10, 5],
        "test_counts": [5, 5],
        "n_test": 10,
        "per_class": {"recall": [score, score]},
    }


def test_reporter_cells_are_mean_and_std_over_seeds(tmp_path):
    experiments = table8_experiments(
        {"mnist": None}, gammas=(0.5,), rows=("CLMLE", "CE"), balanced_rows=("CE",)
    )
    records = [
        _record("mnist_g0.5", "CLMLE", 0, 0.6),
        _record("mnist_g0.5", "CLMLE", 1, 0.8),
        _record("mnist_g0.5", "CE", 0, 0.5),
        _record("mnist_g0.5", "CE", 1, float("nan"), error="boom"),
        _record("mnist_g0.5_balanced", "CE", 0, 0.9),
        _record("mnist_g0.5_balanced", "CE", 1, 0.9),
    ]
    text, figures = report_table8(
        records, experiments, tmp_path, {e.name: 2 for e in experiments}
    )
    assert "| CLMLE | 70.0 ± 10.0 | 1.0 |" in text
    assert "| CE | 50.0 ± 0.0 (1 failed) | 1.0 |" in text
    assert "| Balanced baseline (CE) | 90.0 ± 0.0 | 1.0 |" in text
    assert "(paper: MNIST-rot-back-image)" in text
    assert "*68.8*" in text and "*78.3*" in text  # CLMLE and balanced, MNIST γ=0.5
    assert (
        "| MNIST γ = 0.5 (paper: MNIST-rot-back-image) | 15 | 10 5 | 2 | 10 |" in text
    )
    assert len(figures) == 1 and figures[0].is_file()


def test_paper_numbers_go_under_the_paper_setting_when_it_ran(tmp_path):
    """Huang et al.'s numbers are for their methods as published: printed under
    the ``(paper)`` row where it ran, under the library's default otherwise."""

    def paper_line_follows(text, label):
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith(f"| {label} |"))
        return 'the paper\'s "CLMLE"' in lines[at + 1]

    both = table8_experiments(
        {"mnist": None},
        gammas=(0.5,),
        rows=("CLMLE", "CLMLE (paper)"),
        balanced_rows=(),
    )
    records = [
        _record("mnist_g0.5", row, seed, 0.7)
        for row in ("CLMLE", "CLMLE (paper)")
        for seed in (0, 1)
    ]
    text, _ = report_table8(records, both, tmp_path, {e.name: 2 for e in both})
    assert paper_line_follows(text, "CLMLE, the paper's setting")
    assert not paper_line_follows(text, "CLMLE")
    default_only = table8_experiments(
        {"mnist": None}, gammas=(0.5,), rows=("CLMLE",), balanced_rows=()
    )
    text, _ = report_table8(
        records[:2], default_only, tmp_path, {e.name: 2 for e in default_only}
    )
    assert paper_line_follows(text, "CLMLE")


def test_profiles_cover_the_issue():
    profile = PROFILES["table8"]
    experiments = profile.experiments()  # built lazily: no data loaded
    assert len(experiments) == 8 and {e.suite for e in experiments} == {SUITE}
    power_law = [e for e in experiments if e.settings["train"] == "power_law"]
    assert {(e.settings["data"], e.settings["gamma"]) for e in power_law} == {
        (d, g) for d in ("fashion_mnist", "mnist") for g in (1.0, 0.5)
    }
    assert all(e.rows == ROWS for e in power_law)
    assert {
        TRIPLET_PLUS,
        "CRL(I)",
        "CLMLE",
        "Uncertainty margin",
        "CE",
        "CE (logit-adjusted)",
        "CE (post-hoc prior correction)",
        "CE (LDAM-DRW)",
        "CE (focal)",
        "CE (class-balanced)",
        "CE (class-balanced focal)",
        "CRL(I) (logit-adjusted)",
        "CRL(I) (paper)",
        "CLMLE (paper)",
        "Uncertainty margin (paper)",
    } == set(ROWS)
    assert all(
        e.rows == BALANCED_ROWS
        for e in experiments
        if e.settings["train"] == "balanced"
    )
    assert set(ROWS) | set(BALANCED_ROWS) <= set(row_factories())
    # The runner keeps them: select() keeps the rows of experiments with a make_row.
    assert [e.rows for e in runner.select(profile)] == [e.rows for e in experiments]
    assert profile.jobs == 2 and profile.reporters[SUITE] is report_table8
    cnn = profile.backbones["cnn"]
    assert cnn.net["input_shape"] == CNN_INPUT_SHAPE == (1, 28, 28)
    assert cnn.net["backbone"] == ConvNetBackbone(CNN_INPUT_SHAPE, **CPU_CNN)
    cnn_experiments = cnn.experiments()
    assert [e.name for e in cnn_experiments] == [e.name for e in experiments]
    assert all(isinstance(e.load.pool, ImagePool) for e in cnn_experiments)
    assert all(e.make_row is feature_row for e in experiments)
    assert all(e.make_row is image_row for e in cnn_experiments)
    # The backbone's repr enters the cache key: it must not change between runs.
    assert repr(cnn.net["backbone"]) == (
        "ConvNetBackbone(input_shape=(1, 28, 28), channels=(16, 32), hidden=256, "
        "dropout=0.5, batch_norm=False, channels_last=True)"
    )
    assert cnn.sizing_records == ("docs/results/table8_cnn/runs.jsonl",)
    gpu = cli.chosen_profile("table8", "cnn", "gpu")
    # Not yet run on a GPU: the CPU CNN's records do not size it.
    assert gpu.name == "table8_cnn_gpu" and gpu.sizing_records == ()
    assert gpu.net["backbone"] == ConvNetBackbone(CNN_INPUT_SHAPE, **GPU_CNN)
    assert gpu.net["max_epochs"] > cnn.net["max_epochs"] and gpu.seeds > cnn.seeds
    assert gpu.reporters == cnn.reporters


def test_backbone_option(monkeypatch):
    monkeypatch.setitem(cli.PROFILES, "table8", PROFILES["table8"])
    assert cli.chosen_profile("table8") is PROFILES["table8"]
    assert cli.chosen_profile("table8", "cnn").name == "table8_cnn"
    assert cli.parse_args(["table8", "--backbone", "cnn"]).backbone == "cnn"
    assert cli.parse_args(["table8"]).backbone is None
    with pytest.raises(
        SystemExit, match="no backbone 'nope'; available backbones: cnn"
    ):
        cli.main(["table8", "--backbone", "nope"])
    with pytest.raises(SystemExit, match="available backbones: none"):
        cli.main(["quick", "--backbone", "cnn"])


def test_cnn_variant_tiny_run_on_the_cpu(tmp_path):
    net = dict(PROFILES["table8"].backbones["cnn"].net)
    net.update(
        backbone=ConvNetBackbone(CNN_INPUT_SHAPE, channels=(4, 8), hidden=16),
        max_epochs=1,
    )
    profile = tiny_profile(
        {"mnist": _digit_images},
        net,
        gammas=(1.0,),
        make_row=image_row,
    )
    result = runner.run_profile(
        profile, out=tmp_path, device="cpu", progress=False, echo=lambda *a: None
    )
    records = result["records"]
    assert len(records) == 3 and not [r["error"] for r in records if r["error"]]
    assert all(0 <= r["balanced_accuracy"] <= 1 for r in records)
    assert (
        "MNIST γ = 1 (paper: MNIST-rot-back-image)"
        in (tmp_path / "summary.md").read_text()
    )


def test_cnn_profile_tiny_run_on_the_images(tmp_path, digits_pixels, tiny_cnn):
    """The registered cnn variant itself, on the tiny images, one epoch."""
    profile = tiny_cnn(PROFILES["table8"].backbones["cnn"])
    assert ImagePool("mnist")()[0].shape[1] == 784  # the monkeypatched images
    result = runner.run_profile(
        profile,
        methods=["CE", "CRL(I)"],
        experiments=["mnist_g1", "mnist_g1_balanced"],
        out=tmp_path,
        device="cpu",
        progress=False,
        echo=lambda *a: None,
    )
    records = result["records"]
    assert {(r["experiment"], r["method"]) for r in records} == {
        (e, m) for e in ("mnist_g1", "mnist_g1_balanced") for m in ("CE", "CRL(I)")
    }
    assert not [r["error"] for r in records if r["error"]]
    summary = (tmp_path / "summary.md").read_text()
    assert "## Huang et al.'s Table 8 protocol" in summary
    assert "## Sizing" in summary and (tmp_path / "table8.csv").is_file()
