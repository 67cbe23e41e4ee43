"""The benchmark harness end to end on tiny configurations, resume included."""

import csv
import json
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_digits

from benchmarks.__main__ import PROFILES, main
from benchmarks.harness import runner
from benchmarks.harness.cache import config_fingerprint, estimator_signature
from benchmarks.harness.experiments import (
    CVExperiment,
    HoldoutExperiment,
    MeasurementExperiment,
)
from benchmarks.harness.profile import Profile
from benchmarks.harness.report import (
    average_ranks,
    format_table,
    friedman_test,
    summarise,
    table5_cells,
)


def test_quick_profile_tiny_run(tmp_path, capsys):
    main(
        [
            "quick",
            "--seeds",
            "1",
            "--max-epochs",
            "1",
            "--methods",
            "CE",
            "ADASYN + CE",
            "--experiments",
            "digits",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert "Balanced accuracy" in out and "G-mean (multi-class)" in out
    rows = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert [r["method"] for r in rows] == ["ADASYN + CE", "CE"]  # paper order
    assert 0.0 < float(rows[1]["balanced_accuracy"]) <= 1.0
    # ADASYN finds no majority neighbours on digits: recorded, not fatal.
    assert rows[0]["error"]
    markdown = (tmp_path / "summary.md").read_text()
    assert "| CE |" in markdown and "failed" in markdown
    # The paper's numbers sit beside ours, labelled as the paper's.
    assert (
        '*↳ the paper\'s "ADASYN NN" (CIFAR-10)*' in markdown and "*76.4*" in markdown
    )
    assert (tmp_path / "recall_vs_class_size_digits.png").stat().st_size > 1000
    per_class = list(csv.DictReader((tmp_path / "per_class.csv").open()))
    assert len(per_class) == 10 and {r["method"] for r in per_class} == {"CE"}
    assert (
        sorted(int(r["train_count"]) < 20 for r in per_class)
        == [False] * 5 + [True] * 5
    )


def _toy_holdout(seed, device="cpu"):
    X, y = load_digits(n_class=3, return_X_y=True)
    rng = np.random.default_rng(seed)
    keep = (y < 2) | (rng.random(len(y)) < 0.2)
    X, y = X[keep] / 16, y[keep]
    return X[::2], y[::2], X[1::2], y[1::2]


def _toy_cv():
    X, y = load_digits(n_class=2, return_X_y=True)
    keep = (y == 0) | (np.arange(len(y)) % 6 == 0)
    return X[keep] / 16, np.where(y[keep] == 0, "zero", "one")


def tiny_profile(rows=("CE", "Cost-sensitive SVM")):
    def experiments():
        return [
            HoldoutExperiment(
                name="toy",
                title="toy holdout",
                load=_toy_holdout,
                rows=rows,
                paper="khan2019_table5",
            ),
            CVExperiment(
                name="toy_cv",
                title="toy CV",
                load=_toy_cv,
                rows=rows,
                n_splits=3,
                suite="tabular",
            ),
            CVExperiment(
                name="toy_cv_b",
                title="toy CV b",
                load=lambda: (lambda X, y: (X[:, ::-1], y))(*_toy_cv()),
                rows=rows,
                n_splits=3,
                suite="tabular",
            ),
        ]

    return Profile(
        name="tiny",
        description="tiny test profile",
        experiments=experiments,
        seeds=1,
        net=dict(hidden_layer_sizes=(8,), max_epochs=1, batch_size=32),
    )


def _count_fits(monkeypatch):
    calls = []
    make_row = runner.make_row

    def counting(name, seed, **net):
        calls.append((name, seed))
        return make_row(name, seed, **net)

    monkeypatch.setattr(runner, "make_row", counting)
    return calls


# The line cut short below stays in the file: later reads skip it again.
@pytest.mark.filterwarnings("ignore:.*skipped 1 unreadable line")
def test_resume_from_the_cache(tmp_path, monkeypatch):
    calls = _count_fits(monkeypatch)
    profile = tiny_profile()
    first = runner.run_profile(
        profile, out=tmp_path, progress=False, echo=lambda *a: None
    )
    n_runs = 2 * (1 + 3 + 3)
    assert len(calls) == n_runs and len(first["records"]) == n_runs
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert len(lines) == n_runs
    for name in ("summary.md", "runs.csv", "per_class.csv", "summary.csv"):
        assert (tmp_path / name).is_file()
    assert (tmp_path / "gain_vs_imbalance_tabular.png").is_file()
    assert (tmp_path / "recall_vs_class_size_tabular.png").is_file()
    summary = (tmp_path / "summary.md").read_text()
    assert "Average rank over 2 data sets" in summary and "| toy_cv |" in summary
    # Provenance: each computed run and each invocation records where it ran.
    version = runner.code_version()
    assert all(r["commit"] == version for r in first["records"])
    invocations = (tmp_path / "invocations.jsonl").read_text().splitlines()
    assert len(invocations) == 1
    assert json.loads(invocations[0])["runs_computed"] == n_runs
    assert f"{n_runs} runs, wall" in summary and version in summary

    # Everything cached: nothing is fitted again, the records are identical.
    calls.clear()
    second = runner.run_profile(
        profile, out=tmp_path, progress=False, echo=lambda *a: None
    )
    assert calls == []
    assert json.dumps(second["records"]) == json.dumps(first["records"])

    # An interruption: 5 runs finished, the 6th line cut short.
    (tmp_path / "runs.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:40])
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable line\(s\).*line 6"):
        third = runner.run_profile(
            profile, out=tmp_path, progress=False, echo=lambda *a: None
        )
    assert len(calls) == n_runs - 5
    keys = ("experiment", "method", "seed", "fold", "balanced_accuracy")
    assert [[r[k] for k in keys] for r in third["records"][:5]] == [
        [r[k] for k in keys] for r in first["records"][:5]
    ]

    # Other settings (epochs): cached runs are not reused; --fresh ignores the cache.
    calls.clear()
    runner.run_profile(
        profile,
        out=tmp_path,
        max_epochs=2,
        methods=["CE"],
        experiments=["toy"],
        progress=False,
        echo=lambda *a: None,
    )
    assert calls == [("CE", 0)]
    calls.clear()
    runner.run_profile(
        profile,
        out=tmp_path,
        resume=False,
        methods=["Cost-sensitive SVM"],
        experiments=["toy"],
        progress=False,
        echo=lambda *a: None,
    )
    assert calls == [("Cost-sensitive SVM", 0)]
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 1
    # A fresh start forgets the earlier invocations too.
    invocations = (tmp_path / "invocations.jsonl").read_text().splitlines()
    assert [json.loads(line)["runs_computed"] for line in invocations] == [1]


def test_parallel_jobs_give_the_serial_results(tmp_path):
    profile = tiny_profile(rows=("Cost-sensitive SVM",))
    kw = dict(
        experiments=["toy_cv"], progress=False, figures=False, echo=lambda *a: None
    )
    serial = runner.run_profile(profile, out=tmp_path / "a", **kw)["records"]
    parallel = runner.run_profile(profile, out=tmp_path / "b", jobs=2, **kw)["records"]
    keys = ("method", "fold", "balanced_accuracy", "macro_f1")
    assert [[r[k] for k in keys] for r in parallel] == [
        [r[k] for k in keys] for r in serial
    ]


def test_unknown_names_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown methods"):
        main(["quick", "--methods", "nope", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="unknown experiments"):
        main(["quick", "--experiments", "nope", "--out", str(tmp_path)])


def test_profiles_cover_the_issue():
    full = PROFILES["full"].experiments()
    keel = [e for e in full if e.suite == "keel"]
    assert {e.name for e in full if e.kind == "holdout"} == {"fashion_mnist", "mnist"}
    assert len(keel) >= 20
    for exp in full:
        assert {
            "CE",
            "CE (cost-sensitive)",
            "IHT + CE",
            "ClusterCentroids + CE",
        } <= set(exp.rows)
        assert {"Cost-sensitive SVM", "Cost-sensitive linear SVM"} & set(exp.rows)
    assert all("Gradient boosting (balanced)" in e.rows for e in keel)
    # The KEEL networks get a budget of updates, not of epochs.
    net = PROFILES["full"].net_for("keel")
    assert runner.resolve_epochs(net, 171)["max_epochs"] == 100  # 3 batches an epoch
    assert runner.resolve_epochs(net, 1187)["max_epochs"] == 16  # 19 batches
    assert runner.resolve_epochs(net, 50_000)["max_epochs"] == 5  # the lower bound
    assert "target_steps" not in runner.resolve_epochs(net, 100)


def test_summary_mean_and_std():
    runs = [
        {"method": "A", "seed": 0, "error": "", "fit_seconds": 1.0, "acc": 0.5},
        {"method": "A", "seed": 1, "error": "", "fit_seconds": 3.0, "acc": 0.7},
    ]
    (row,) = summarise(runs, ["acc"])
    assert np.isclose(row["acc"], 0.6) and np.isclose(row["acc_std"], 0.1)
    assert "60.0 ± 10.0" in format_table([row], ["acc"])


def test_table5_cells_over_classes_and_seeds():
    def run(recall):
        per_class = {
            m: recall for m in ("precision", "f1", "recall", "g_mean_ovr", "iba_ovr")
        }
        return {"error": "", "accuracy": np.mean(recall), "per_class": per_class}

    cells = table5_cells([run([0.2, 0.4]), run([0.4, 0.6])])
    # class means 0.3 and 0.5; class stds 0.1 and 0.1
    assert cells[0] == "40.0 [10.0]" and cells[3] == "40.0 ± 10.0 [10.0]"
    assert table5_cells([{"error": "boom"}])[0] == "failed (1/1)"


def test_ranks_and_friedman_agree_with_scipy():
    rng = np.random.default_rng(0)
    scores = rng.random((12, 4)) + np.array([0.0, 0.1, 0.2, 0.3])
    ranks, _mean_ranks = average_ranks(scores)
    assert ranks[0].tolist() == (stats.rankdata(-scores[0])).tolist()
    result = friedman_test(ranks)
    reference = stats.friedmanchisquare(*scores.T)
    assert np.isclose(result["chi2"], reference.statistic)
    assert np.isclose(result["p_chi2"], reference.pvalue)
    # Demšar (2006): q_0.05 = 2.569 for k = 4.
    assert np.isclose(result["cd"], 2.569 * np.sqrt(4 * 5 / (6 * 12)), atol=1e-3)
    # A row that failed on a data set ranks last there.
    ranks, _ = average_ranks(np.array([[0.9, np.nan, 0.5]]))
    assert ranks.tolist() == [[1.0, 3.0, 2.0]]


# --------------------------------------------------------------- measures
def _train_size(estimator, X_train, y_train, X_test, y_test):
    return {"train_rows": float(len(y_train)), "labels_seen": float(y_train.max())}


def _clashing(estimator, X_train, y_train, X_test, y_test):
    return {"accuracy": 1.0}


def _measured_profile(measures):
    def experiments():
        return [
            HoldoutExperiment(
                name="toy",
                title="toy holdout",
                load=_toy_holdout,
                rows=("CE", "Cost-sensitive SVM"),
                measures=measures,
            )
        ]

    return Profile(
        name="measured",
        description="a profile with measures",
        experiments=experiments,
        seeds=2,
        net=dict(hidden_layer_sizes=(8,), max_epochs=1, batch_size=32),
    )


def test_measures_are_recorded_cached_and_summarised(tmp_path, monkeypatch):
    calls = _count_fits(monkeypatch)
    profile = _measured_profile((_train_size,))
    kw = dict(out=tmp_path, progress=False, figures=False, echo=lambda *a: None)
    records = runner.run_profile(profile, **kw)["records"]
    assert len(calls) == 4
    for r in records:
        assert r["train_rows"] == r["n_train"] and r["measured"] == [
            "labels_seen",
            "train_rows",
        ]
        # The measure saw the labels as the estimator did: encoded 0..K-1.
        assert r["labels_seen"] == len(r["classes"]) - 1
    summary = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert float(summary[0]["train_rows"]) == np.mean(
        [r["n_train"] for r in records if r["method"] == summary[0]["method"]]
    )
    assert "measured" not in (tmp_path / "runs.csv").read_text().splitlines()[0]
    # Cached with the values: a second invocation fits nothing.
    calls.clear()
    again = runner.run_profile(profile, **kw)["records"]
    assert calls == [] and [r["train_rows"] for r in again] == [
        r["train_rows"] for r in records
    ]
    # The measures enter the cache key: without them, the runs are new ones.
    plain = runner.run_profile(_measured_profile(()), **kw)["records"]
    assert len(calls) == 4 and "measured" not in plain[0]
    assert plain[0]["config"] != records[0]["config"]


def test_a_measure_that_clashes_with_the_record_fails_the_run(tmp_path):
    records = runner.run_profile(
        _measured_profile((_clashing,)),
        out=tmp_path,
        progress=False,
        figures=False,
        echo=lambda *a: None,
    )["records"]
    assert all("records ['accuracy']" in r["error"] for r in records)
    assert all(math.isnan(r["balanced_accuracy"]) for r in records)


def test_the_fingerprint_of_an_experiment_without_measures_is_unchanged():
    # The five parts it has always hashed, and nothing else: the cached runs
    # of every existing profile stay valid.
    exp = tiny_profile().experiments()[0]
    net = dict(hidden_layer_sizes=(8,), max_epochs=1, batch_size=32)
    estimator = runner.make_row("CE", 0, **net)
    expected = config_fingerprint(
        {
            "settings": exp.settings,
            "kind": exp.kind,
            "net": net,
            "row": "CE",
            "estimator": estimator_signature(estimator),
        }
    )
    assert runner.run_config(exp, "CE", net) == expected


# ----------------------------------------------------------- measurements
def _square(row, seed, offset=0.0):
    if row == "broken":
        raise ValueError("cannot measure")
    return {"square": float(int(row) ** 2 + offset), "seed_seen": float(seed)}


def _measurement_profile(offset=0.0, reporters=None):
    def experiments():
        return [
            MeasurementExperiment(
                name="squares",
                title="Squares of the rows",
                measure=_square,
                rows=("2", "3", "broken"),
                settings={"offset": offset},
                suite="numbers",
            )
        ]

    return Profile(
        name="measurements",
        description="a measurement",
        experiments=experiments,
        seeds=2,
        reporters=reporters or {},
    )


def test_a_measurement_runs_through_the_cache_and_the_report(tmp_path):
    kw = dict(out=tmp_path, progress=False, echo=lambda *a: None)
    first = runner.run_profile(_measurement_profile(), **kw)["records"]
    assert [(r["method"], r["seed"]) for r in first] == [
        (row, seed) for seed in (0, 1) for row in ("2", "3", "broken")
    ]
    two = first[0]
    assert two["square"] == 4.0 and two["kind"] == "measurement"
    assert two["measured"] == ["seed_seen", "square"] and two["measure_seconds"] >= 0
    assert two["commit"] == runner.code_version() and two["fold"] == 0
    assert first[2]["error"] == "ValueError: cannot measure"
    summary = (tmp_path / "summary.md").read_text()
    assert "## Squares of the rows" in summary and "numbers: 2 seeds" in summary
    assert "| 3 | 0.5000 ± 0.7071 [0.0000, 1.0000] | 9.0000 ± 0.0000" in summary
    assert "- squares / broken: failed in 2 run(s)" in summary
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert [float(r["square"]) for r in rows[:2]] == [4.0, 9.0]
    # Cached: the same records again; other settings are other runs.
    again = runner.run_profile(_measurement_profile(), **kw)["records"]
    assert json.dumps(again) == json.dumps(first)
    shifted = runner.run_profile(_measurement_profile(offset=1.0), **kw)["records"]
    assert shifted[0]["square"] == 5.0
    assert shifted[0]["config"] != first[0]["config"]


def test_a_measurement_in_parallel_and_selected_by_name(tmp_path):
    records = runner.run_profile(
        _measurement_profile(),
        methods=["3"],
        jobs=2,
        out=tmp_path,
        progress=False,
        echo=lambda *a: None,
    )["records"]
    assert [r["square"] for r in records] == [9.0, 9.0]
    with pytest.raises(SystemExit, match="unknown methods"):
        runner.select(_measurement_profile(), methods=["4"])


def _clashing_measurement(row, seed):
    return {"measured": 1.0}


def test_a_measurement_that_clashes_with_the_record_fails_its_run():
    _, result = runner.execute_measurement("a", 0, 1, _clashing_measurement, {})
    assert result["error"].startswith("ValueError: measure ")
    assert "records ['measured']" in result["error"]
