"""The README's recommendation table and the results page's summary, from the
committed reports (``python -m benchmarks summary``)."""

import json
from pathlib import Path

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline

import skimbalance
import skimbalance.losses
from benchmarks.__main__ import main as benchmarks_main
from benchmarks.harness import front_door
from benchmarks.harness.cache import estimator_signature
from benchmarks.harness.front_door import (
    DATA_KINDS,
    README_END,
    README_START,
    SETTINGS,
    DataKind,
)
from benchmarks.harness.methods import all_rows

ROOT = Path(__file__).resolve().parents[3]


# --------------------------------------------------------------- committed
def test_committed_readme_and_results_summary_are_current():
    # A report re-run (or a row renamed) without `python -m benchmarks
    # summary` leaves the README's table stale: this fails until it is rerun.
    assert front_door.stale(ROOT) == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count(README_START) == readme.count(README_END) == 1
    page = (ROOT / "docs" / "results.rst").read_text(encoding="utf-8")
    assert ".. include:: results/summary_table.inc" in page
    assert page.index("summary_table.inc") < page.index("\n---")  # the opening


def test_every_data_kind_has_its_committed_report():
    for kind in DATA_KINDS:
        assert (ROOT / front_door.RESULTS / kind.report / "runs.jsonl").is_file()
        assert (ROOT / front_door.RESULTS / kind.report / "summary.md").is_file()


def _namespace(max_epochs):
    public = {
        name: getattr(module, name)
        for module in (skimbalance, skimbalance.losses)
        for name in dir(module)
        if not name.startswith("_")
    }
    return {
        **public,
        "make_pipeline": make_pipeline,
        "SMOTE": SMOTE,
        "max_epochs": max_epochs,
    }


@pytest.mark.parametrize("row", list(SETTINGS))
@pytest.mark.parametrize("max_epochs", [10, 30])
def test_settings_build_what_the_harness_ran(row, max_epochs):
    # The settings the table prints are the rows' estimators, parameter for
    # parameter (the seeds aside), at the profiles' epochs.
    rows = all_rows()
    assert row in rows, f"{row!r} is no row of the harness"
    ran = rows[row](0, max_epochs=max_epochs)
    written = eval(SETTINGS[row], _namespace(max_epochs))
    written.set_params(
        **{
            name: max_epochs
            for name in written.get_params()
            if name.endswith("max_epochs")
        }
    )
    assert estimator_signature(written) == estimator_signature(ran)


# --------------------------------------------------------------- synthetic
def _record(experiment, method, seed, fold, score, kind="holdout", classes=3):
    return {
        "profile": "toy",
        "experiment": experiment,
        "kind": kind,
        "seed": seed,
        "fold": fold,
        "method": method,
        "error": "",
        "balanced_accuracy": score,
        "classes": [str(c) for c in range(classes)],
        "train_counts": [100, 50, 10][:classes],
    }


def _write(results, report, records):
    folder = Path(results) / report
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "runs.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    (folder / "summary.md").write_text("# toy\n")


def _holdout(scores, experiments=("a", "b"), seeds=(0, 1)):
    """Records of ``{row: base score}``, shifted per experiment and seed."""
    return [
        _record(e, row, s, 0, base + 0.01 * i + 0.002 * s)
        for row, base in scores.items()
        for i, e in enumerate(experiments)
        for s in seeds
    ]


KIND = DataKind(label="toy data", report="toy", data="toy sets")


def test_best_row_and_the_other_family(tmp_path):
    _write(
        tmp_path,
        "toy",
        _holdout(
            {"CE": 0.70, "CE (logit-adjusted)": 0.75, "CRL(I)": 0.73, "Triplet+": 0.9}
        ),
    )
    finding = front_door.find(tmp_path, KIND)
    # Triplet+ is not a setting of the library: never recommended.
    assert [line.row for line in finding.lines] == ["CE (logit-adjusted)", "CRL(I)"]
    np.testing.assert_allclose(finding.lines[0].gain, [5.0] * 4)
    np.testing.assert_allclose(finding.lines[1].gain, [3.0] * 4)
    np.testing.assert_allclose(finding.lines[1].versus_best, [-2.0] * 4)
    assert finding.protocol == "toy sets, imbalance ratio 10, 2 seeds"
    assert finding.reference_score == pytest.approx(
        100 * np.mean([0.7, 0.702, 0.71, 0.712])
    )
    cells = front_door.cells(finding)
    assert cells[0][:3] == (
        "toy data",
        '`CrossEntropyClassifier(loss="logit_adjusted")`',
        "+5.0 ± 0.0 (4/4 runs above)",
    )
    assert cells[0][3].startswith("`toy`: toy sets")
    assert cells[1][0] == "↳ the best of the three methods"
    assert (
        cells[1][2]
        == "+3.0 ± 0.0 (4/4 above); against the line above: −2.0 ± 0.0 (0/4 above)"
    )


def test_a_method_first_then_the_best_cross_entropy_setting(tmp_path):
    _write(
        tmp_path,
        "toy",
        _holdout({"CE": 0.7, "CE (cost-sensitive)": 0.71, "CLMLE": 0.72}),
    )
    finding = front_door.find(tmp_path, KIND)
    assert [line.row for line in finding.lines] == ["CLMLE", "CE (cost-sensitive)"]
    assert front_door.cells(finding)[1][0] == "↳ the best cross-entropy setting"


def test_nothing_above_plain_ce_is_said(tmp_path):
    _write(tmp_path, "toy", _holdout({"CE": 0.8, "CE (focal)": 0.78, "CRL(I)": 0.79}))
    finding = front_door.find(tmp_path, KIND)
    assert [line.row for line in finding.lines] == ["CE", "CRL(I)"]
    first, second = front_door.cells(finding)
    assert first[2] == "none: no setting is above plain CE"
    assert second[2].startswith("−1.0 ± 0.0 (0/4 above)")


def test_cv_suites_pair_per_data_set(tmp_path):
    records = [
        _record(e, row, s, f, base + gain * (row != "CE"), kind="cv", classes=c)
        for e, c, gain in (("x", 2, 0.1), ("y", 3, -0.02), ("z", 2, 0.04))
        for row, base in (("CE", 0.6), ("CE (cost-sensitive)", 0.6))
        for s in (0, 1)
        for f in range(5)
    ]
    _write(tmp_path, "suite", records)
    kind = DataKind(label="tables", report="suite", data="toy sets", per_set=True)
    finding = front_door.find(tmp_path, kind)
    np.testing.assert_allclose(sorted(finding.lines[0].gain), [-2.0, 4.0, 10.0])
    assert finding.protocol == (
        "3 toy sets (2 binary, 1 multi-class), imbalance ratios 2 and 10, "
        "5-fold CV × 2 repeats"
    )
    assert front_door.cells(finding)[0][2] == "+4.0 ± 4.9 (2/3 sets above)"
    # No method ran: one line.
    assert len(finding.lines) == 1


def test_excluded_experiments_and_failed_runs_are_left_out(tmp_path):
    records = _holdout({"CE": 0.7, "CRL(I)": 0.72}, experiments=("a", "a_balanced"))
    records.append({**_record("a", "CRL(I)", 2, 0, 0.99), "error": "ValueError: no"})
    records.append(_record("a", "CE", 2, 0, 0.5))
    _write(tmp_path, "toy", records)
    kind = DataKind(label="toy", report="toy", data="toy", exclude=("_balanced",))
    finding = front_door.find(tmp_path, kind)
    assert len(finding.lines[0].gain) == 2  # seeds 0 and 1 of "a"
    assert finding.protocol.endswith("3 seeds")


def test_a_report_without_runs_or_without_ce_fails_loudly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no runs"):
        front_door.find(tmp_path, KIND)
    _write(tmp_path, "toy", _holdout({"CRL(I)": 0.7}))
    with pytest.raises(ValueError, match="no 'CE' row"):
        front_door.find(tmp_path, KIND)


def test_readme_block_is_replaced_between_the_markers():
    text = f"# title\n\n{README_START}\nold\ntable\n{README_END}\n\nrest\n"
    assert front_door.readme_with(text, "new") == (
        f"# title\n\n{README_START}\nnew\n{README_END}\n\nrest\n"
    )
    with pytest.raises(ValueError, match="no"):
        front_door.readme_with("# no markers\n", "new")


def test_write_then_check_round_trip(tmp_path, capsys):
    results = tmp_path / front_door.RESULTS
    _write(
        results,
        "toy",
        _holdout({"CE": 0.7, "CRL(I)": 0.72, "CE (logit-adjusted)": 0.71}),
    )
    (tmp_path / "README.md").write_text(f"# toy\n\n{README_START}\n{README_END}\n")
    kinds = (KIND,)
    assert set(front_door.stale(tmp_path, kinds)) == {
        front_door.README,
        front_door.INCLUDE,
        front_door.FIGURE,
    }
    front_door.write(tmp_path, kinds)
    assert front_door.stale(tmp_path, kinds) == []
    readme = (tmp_path / "README.md").read_text()
    assert "| toy data | `CRLClassifier()` | +2.0 ± 0.0 (4/4 runs above) |" in readme
    assert "[report](docs/results/toy/summary.md)" in readme
    include = (tmp_path / front_door.INCLUDE).read_text()
    assert ".. list-table::" in include and "``CRLClassifier()``" in include
    assert ".. image:: results/summary_gains.png" in include
    assert (tmp_path / front_door.FIGURE).read_bytes()[:4] == b"\x89PNG"
    # A new run changes the table: the check says which files are stale.
    _write(
        results,
        "toy",
        _holdout({"CE": 0.7, "CRL(I)": 0.69, "CE (logit-adjusted)": 0.71}),
    )
    assert front_door.stale(tmp_path, kinds) == [front_door.README, front_door.INCLUDE]


def test_the_command_line(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(front_door, "stale", lambda root: calls.append(root) or [])
    assert benchmarks_main(["summary", "--check", "--root", str(tmp_path)]) == 0
    assert calls == [str(tmp_path)]
    monkeypatch.setattr(front_door, "stale", lambda root: [front_door.README])
    assert benchmarks_main(["summary", "--check"]) == 1
    assert "stale: README.md" in capsys.readouterr().out
