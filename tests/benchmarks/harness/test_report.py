"""What the reports say (issue 16, item 7): one name per metric, failures
marked where they are read, no rank tests over too few data sets, figures
that show the data and say what their colours are."""

import matplotlib
import numpy as np

from benchmarks.harness import plots
from benchmarks.harness.metrics import METRICS, PER_CLASS
from benchmarks.harness.report import (
    LABELS,
    MIN_DATASETS_FOR_RANK_TESTS,
    format_table,
    suite_markdown,
    summarise,
    table5_markdown,
)


def record(experiment, method, fold, score, error=""):
    per_class = {m: [score, score] for m in PER_CLASS}
    return {
        "experiment": experiment,
        "method": method,
        "seed": 0,
        "fold": fold,
        "error": error,
        "fit_seconds": 1.0,
        "accuracy": score,
        "classes": ["a", "b"],
        "train_counts": [100, 10],
        "per_class": per_class,
        **dict.fromkeys(METRICS, score),
    }


def test_one_name_per_metric():
    # The scalar G-mean of a run and the per-class one-vs-rest G-mean were both
    # "G-mean" (86.4 on the console, 92.5 in summary.md for the same runs).
    names = [LABELS[m] for m in ("g_mean", "iba", "g_mean_ovr", "iba_ovr")]
    assert len(set(names)) == 4
    runs = [record("d", "CE", 0, 0.8)]
    console = format_table(summarise(runs, list(METRICS)), list(METRICS))
    assert "G-mean (multi-class)" in console and "IBA (multi-class)" in console
    table = table5_markdown(runs, ["CE"])
    assert "G-mean (one-vs-rest)" in table and "G-mean (multi-class)" not in table


def test_a_failed_row_is_explained_under_its_table():
    runs = [
        record("digits", "CE", 0, 0.8),
        *(
            record("digits", "ADASYN + CE", s, np.nan, "RuntimeError: no neighbours")
            for s in range(3)
        ),
    ]
    table = table5_markdown(runs, ["CE", "ADASYN + CE"])
    assert "failed (3/3)" in table
    assert "- ADASYN + CE: failed in 3 of 3 run(s): RuntimeError: no neighbours" in (
        table
    )
    adasyn = (
        "ValueError: No samples will be generated with the provided ratio settings."
    )
    explained = table5_markdown(
        [record("digits", "ADASYN + CE", 0, np.nan, adasyn)], ["ADASYN + CE"]
    )
    assert "rounds to none" in explained


def test_partly_failed_cells_are_marked():
    records = []
    for e in ("one", "two", "three"):
        for fold in range(3):
            records.append(record(e, "CE", fold, 0.7))
            records.append(record(e, "CRL(I)", fold, 0.8))
            error = "ValueError: x" if (e, fold) == ("two", 1) else ""
            records.append(record(e, "ADASYN + CE", fold, 0.9, error))
    describe = {
        e: {"imbalance_ratio": r}
        for e, r in zip(("one", "two", "three"), (2, 3, 4), strict=True)
    }
    summary, tables, _ = suite_markdown(
        records, ["one", "two", "three"], ["CE", "CRL(I)", "ADASYN + CE"], describe
    )
    assert "**90.0** (1/3 failed)" in tables
    assert tables.count("failed)") == len(("balanced_accuracy", "g_mean", "macro_f1"))
    assert "mean of the runs that did not fail" in summary


def _suite(n_datasets):
    rng = np.random.default_rng(0)
    names = [f"d{i}" for i in range(n_datasets)]
    records = [
        record(e, row, fold, float(rng.uniform(0.5, 1.0)))
        for e in names
        for row in ("CE", "CRL(I)", "SMOTE + CE")
        for fold in range(2)
    ]
    describe = {e: {"imbalance_ratio": 2.0 + i} for i, e in enumerate(names)}
    return suite_markdown(records, names, ["CE", "CRL(I)", "SMOTE + CE"], describe)


def test_no_rank_tests_over_too_few_data_sets():
    summary, _, analysis = _suite(3)
    assert "critical difference" not in summary and analysis["tests"] == {}
    assert "too few" in summary
    summary, _, analysis = _suite(MIN_DATASETS_FOR_RANK_TESTS)
    assert "Nemenyi critical difference" in summary and analysis["tests"]


def test_recall_panels_span_the_data_and_have_a_legend(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, **kw: drawn.append(fig))
    monkeypatch.setattr(plots.plt, "close", lambda fig: None)
    records = [
        record("d", "CE", 0, 0.35),
        record("e", "CE", 0, 0.95),
        record("d", "CRL(I)", 0, 0.6),
        record("d", "SMOTE + CE", 0, 0.9),
    ]
    plots.plot_recall_vs_class_size(
        records, ["CE", "CRL(I)", "SMOTE + CE"], tmp_path / "f.png", "t"
    )
    (fig,) = drawn
    low, high = fig.axes[0].get_ylim()
    assert 0.25 < low < 0.35 and 0.95 < high <= 1.03  # not the fixed -0.03..1.03
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0] == "a method of the library" and labels[1] == "a baseline"
    assert labels[2].startswith("CE")
    matplotlib.pyplot.close(fig)
